/**
 * Type tests of the Node/Bun/Deno entries' options (see typed-client.ts for how they are checked):
 * with the built-in client, `transport` is its own options, so a misspelt option is an error; with
 * another WebSocket class, that class's options pass as they are. Nothing here runs.
 */
import { ResilientWebSocket, json, type BuiltinResilientOptions } from "../../src/node.js";
import { ResilientWebSocket as DenoResilientWebSocket } from "../../src/deno.js";
import WS from "ws";

declare const url: string;
declare const ca: Uint8Array;
type In = { type: "quote"; bid: number };
type Out = { type: "subscribe" };

export function builtinOptions(): void {
  // The built-in client's options, all of them, with In and Out still inferred from the codec.
  const ws = new ResilientWebSocket(url, {
    codec: json<In, Out>(),
    transport: {
      headers: { Authorization: "Bearer t" },
      origin: "https://app.example.test",
      tls: { ca, rejectUnauthorized: true, servername: "feed.example.test" },
      proxy: new URL("http://proxy.example.test:3128"),
      proxyTls: { ca },
      handshakeTimeout: 5000,
      closeTimeout: 1000,
      maxPayload: 1 << 20,
      followRedirects: 3,
      perMessageDeflate: { serverNoContextTakeover: true },
    },
  });
  ws.on("message", (e) => e.data.bid.toFixed(2));
  ws.send({ type: "subscribe" });
  // @ts-expect-error a message the codec does not send
  ws.send({ type: "order" });
  const options: BuiltinResilientOptions = { transport: { proxy: false } };
  new DenoResilientWebSocket(url, options);
  new ResilientWebSocket(url, ["v12.stomp", "v11.stomp"]);

  // @ts-expect-error a misspelt option of the built-in client
  new ResilientWebSocket(url, { transport: { hedaers: { Authorization: "Bearer t" } } });
  // @ts-expect-error a misspelt TLS option
  new ResilientWebSocket(url, { transport: { tls: { rejectUnauthorised: false } } });
  // @ts-expect-error the same in the Deno entry
  new DenoResilientWebSocket(url, { transport: { hedaers: {} } });
  // @ts-expect-error proxy is a URL, a string or false
  new ResilientWebSocket(url, { transport: { proxy: 3128 } });

  // Another WebSocket class takes its own options (ws's agent and zlib options).
  const viaWs = new ResilientWebSocket(url, { WebSocket: WS, codec: json<In, Out>(), transport: { agent: undefined, perMessageDeflate: { zlibDeflateOptions: { level: 1 } } } });
  viaWs.on("message", (e) => e.data.bid);
}

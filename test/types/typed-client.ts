/**
 * Type tests: this file must compile (`tsc --noEmit -p test/types/tsconfig.json`), and every line
 * after a `@ts-expect-error` must be an error — tsc fails on an unused directive, and
 * test/node/types.test.ts also compiles a copy without the directives and checks each line fails.
 * Nothing here runs.
 */
import { ResilientWebSocket, correlate, messages, route, withSchema, type Requester } from "../../src/index.js";
import { binary, json, text } from "../../src/client/codecs.js";
import type { StandardSchemaV1 } from "../../src/client/schema.js";
import type { ServerFrame, ClientFrame } from "../../examples/stomp/codec.js";
import { stompCodecs } from "../../examples/stomp/codec.js";

type Quote = { type: "quote"; pair: string; bid: number; ask: number };
type Trade = { type: "trade"; id: string; qty: number };
/** A message tagged like an event: routing must not confuse it with the `open` event. */
type MarketOpen = { type: "open"; market: string };
type Reply = { type: "reply"; id: number; ok: boolean };
type ServerMsg = Quote | Trade | MarketOpen | Reply;
type ClientMsg = { type: "subscribe"; pairs: string[] } | { type: "order"; pair: string; qty: number; id?: number };

declare const url: string;
declare function use(...values: unknown[]): void;

export async function typedClient(): Promise<void> {
  // In and Out are inferred from the codec.
  const ws = new ResilientWebSocket(url, { codec: json<ServerMsg, ClientMsg>() });
  // correlate() takes In and Out from the client.
  const rpc: Requester<ServerMsg, ClientMsg> = correlate(ws, {
    setId: (msg, id) => ({ ...msg, id: Number(id) }),
    getId: (msg) => (msg.type === "reply" ? msg.id : undefined),
  });

  // send(msg: Out)
  ws.send({ type: "subscribe", pairs: ["EURUSD"] });
  ws.send({ type: "order", pair: "EURUSD", qty: 1 });
  // @ts-expect-error pairs must be an array
  ws.send({ type: "subscribe", pairs: "EURUSD" });
  // @ts-expect-error unknown message type
  ws.send({ type: "cancel" });
  // @ts-expect-error a raw string is not a ClientMsg once a codec is set
  ws.send("raw");

  // message events carry In
  ws.on("message", (event) => {
    const msg: ServerMsg = event.data;
    // @ts-expect-error data is a ServerMsg, not a string
    const s: string = event.data;
    use(msg, s);
  });
  ws.addEventListener("message", (event) => {
    // @ts-expect-error qty exists only on trades: narrow first
    use(event.data.qty);
    if (event.data.type === "trade") use(event.data.qty);
  });
  ws.onmessage = (event) => use(event.data.type);
  // @ts-expect-error not an event of this client
  ws.on("quote", () => undefined);

  // route() narrows by the tag and is separate from events
  route(ws, "quote", (q) => {
    const bid: number = q.bid;
    // @ts-expect-error quotes have no qty
    use(q.qty);
    use(bid);
  });
  route(ws, "open", (m) => {
    const market: string = m.market; // the message, not the open Event
    // @ts-expect-error an Event property: route("open") is not the open event
    use(m.timeStamp);
    use(market);
  });
  // @ts-expect-error no message has type "cancel"
  route(ws, "cancel", () => undefined);
  const unroute: () => void = route(ws, "trade", (t) => use(t.id));
  unroute();

  // request() returns a reply typed as In, or as the reply type asked for
  const reply = await rpc.request({ type: "order", pair: "EURUSD", qty: 1 }, { timeout: 5_000, signal: AbortSignal.timeout(1) });
  const anyServer: ServerMsg = reply;
  const ack = await rpc.request<Reply>({ type: "order", pair: "EURUSD", qty: 1 });
  const ok: boolean = ack.ok;
  use(anyServer, ok);
  // @ts-expect-error qty is missing
  await rpc.request({ type: "order", pair: "EURUSD" });
  // @ts-expect-error the reply type must be one of In
  await rpc.request<{ type: "other" }>({ type: "subscribe", pairs: [] });

  // messages() iterates In
  for await (const msg of messages(ws, { bufferSize: 10, overflow: "drop-oldest", ondrop: (m) => use(m.type) })) {
    const m: ServerMsg = msg;
    // @ts-expect-error not a property of every message
    use(msg.bid);
    use(m);
  }
  // @ts-expect-error no such overflow policy
  messages(ws, { overflow: "drop-all" });
}

export function routeByAnotherField(): void {
  type Msg = { kind: "a"; a: number } | { kind: "b"; b: string };
  const ws = new ResilientWebSocket(url, { codec: json<Msg, Msg>() });
  route(ws, "a", (m) => use(m.a satisfies number), { field: "kind" });
  // @ts-expect-error "b" messages have no `a`
  route(ws, "b", (m) => use(m.a), { field: "kind" });
  // @ts-expect-error without `field` the tag is read from "type", which Msg does not have
  route(ws, "a", () => undefined);
}

export function codecsMustMatch(): void {
  // @ts-expect-error a text codec does not produce ServerMsg
  new ResilientWebSocket<ServerMsg, ClientMsg>(url, { codec: text() });
  // @ts-expect-error every codec of the map must have the client's types
  new ResilientWebSocket<ServerMsg, ClientMsg>(url, { codecs: { "v1.json": json<ServerMsg, ClientMsg>(), "v1.text": text() } });
  new ResilientWebSocket<ServerMsg, ClientMsg>(url, { codecs: { "v2.json": json(), "v1.json": json() } });
  correlate(new ResilientWebSocket(url, { codec: json<ServerMsg, ClientMsg>() }), {
    setId: (msg) => msg,
    // @ts-expect-error getId reads a ServerMsg: an id must be a string or number
    getId: (msg) => (msg.type === "reply" ? msg.ok : undefined),
  });
  correlate(new ResilientWebSocket(url, { codec: json<ServerMsg, ClientMsg>() }), {
    // @ts-expect-error setId must return a ClientMsg
    setId: (msg, id) => ({ ...msg, id: String(id), extra: true }) as { type: "nope" },
    getId: () => undefined,
  });
}

export function withoutCodec(): void {
  // Without a codec: the W3C types.
  const ws = new ResilientWebSocket(url);
  ws.send("text");
  ws.send(new Uint8Array(2));
  ws.send(new ArrayBuffer(2));
  // @ts-expect-error objects are not W3C send data
  ws.send({ type: "order" });
  ws.on("message", (event) => {
    // @ts-expect-error raw data is not known to be a string
    const s: string = event.data;
    use(s);
  });
}

export function codecTypes(): void {
  const numberSchema: StandardSchemaV1<unknown, number> = {
    "~standard": { version: 1, vendor: "test", validate: (v) => (typeof v === "number" ? { value: v } : { issues: [{ message: "no" }] }) },
  };
  const validated = withSchema(json(), numberSchema);
  const n: number = validated.decode("1");
  // @ts-expect-error the schema's output is a number
  const s: string = validated.decode("1");
  const bytes: Uint8Array = binary({ as: "uint8array" }).decode(new ArrayBuffer(1));
  const buffer: ArrayBuffer = binary().decode(new ArrayBuffer(1));
  // @ts-expect-error uint8array gives views, not ArrayBuffers
  const wrong: ArrayBuffer = binary({ as: "uint8array" }).decode(new ArrayBuffer(1));
  // @ts-expect-error no such binary representation
  binary({ as: "blob" });
  // @ts-expect-error a schema's output is In: a client typed for strings cannot take it
  new ResilientWebSocket<string, string>(url, { codec: withSchema(json<unknown, string>(), numberSchema) });
  use(n, s, bytes, buffer, wrong);
}

export function stompTypes(): void {
  const ws = new ResilientWebSocket(url, { protocols: ["v12.stomp"], codecs: stompCodecs(), requireProtocol: true });
  route(ws, "MESSAGE", (frame) => use(frame.headers.destination, frame.body), { field: "command" });
  // @ts-expect-error SEND is a client frame: the server never sends it
  route(ws, "SEND", () => undefined, { field: "command" });
  ws.send({ command: "SEND", headers: { destination: "/queue/a" }, body: "hi" });
  // @ts-expect-error MESSAGE is a server frame: a client cannot send it
  ws.send({ command: "MESSAGE", headers: {}, body: "" });
  const typed: ResilientWebSocket<ServerFrame, ClientFrame> = ws;
  use(typed);
}

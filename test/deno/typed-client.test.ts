// Typed messages in Deno, from source, over the built-in RFC 6455 client (what the deno entry uses
// by default); the peer is a Deno.serve + Deno.upgradeWebSocket server on 127.0.0.1, port 0.
// Routing, request/response across a server drop, messages(), codecs by subprotocol, and
// binaryType "blob" / "arraybuffer" as in browsers.
// Run: deno test --sloppy-imports --allow-net=127.0.0.1 --allow-read --allow-env test/deno/
import assert from "node:assert/strict";
import { binary, correlate, json, messages, ResilientWebSocket, route } from "../../src/index.js";
import { WebSocket as BuiltIn } from "../../src/node-client.js";
import type { TransportConstructor } from "../../src/adapters/transport.js";

const WebSocket = BuiltIn as unknown as TransportConstructor;

type Quote = { type: "quote"; bid: number };
type MarketOpen = { type: "open"; market: string };
type Req = { type: "req"; op: string; id?: number };
type Msg = Quote | MarketOpen | Req;

/**
 * Echoes; selects the first offered subprotocol; the text "push:<json array>" sends each element;
 * a `req` with op "lose-once" is not answered the first time and its connection is dropped.
 */
function startServer() {
  const sockets = new Set<WebSocket>();
  const received: string[] = [];
  const lost = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const offered = request.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim();
    const { socket, response } = Deno.upgradeWebSocket(request, offered ? { protocol: offered } : {});
    sockets.add(socket);
    socket.onclose = () => sockets.delete(socket);
    socket.onerror = () => {};
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") return socket.send(event.data);
      received.push(event.data);
      if (event.data.startsWith("push:")) {
        for (const m of JSON.parse(event.data.slice(5)) as unknown[]) socket.send(typeof m === "string" ? m : JSON.stringify(m));
        return;
      }
      const msg = JSON.parse(event.data) as Req;
      if (msg.op === "lose-once" && !lost.has(String(msg.id))) {
        lost.add(String(msg.id));
        return socket.close(1012, "restart");
      }
      socket.send(event.data);
    };
    return response;
  });
  return {
    url: `ws://127.0.0.1:${server.addr.port}`,
    received,
    async stop() {
      const closing = [...sockets].map((s) => new Promise((resolve) => s.addEventListener("close", resolve, { once: true })));
      for (const s of sockets) s.close(1001);
      await Promise.all(closing);
      await server.shutdown();
    },
  };
}

/** A client whose raw pushes ("push:…") bypass the codec: json encodes the string as-is would quote it. */
function typed(url: string) {
  return new ResilientWebSocket(url, {
    WebSocket,
    codec: { ...json<Msg, Msg | string>(), encode: (m: Msg | string) => (typeof m === "string" ? m : JSON.stringify(m)) },
    reconnect: { minDelay: 10, maxDelay: 50 },
  });
}

/** Request/response: the server echoes a request, so the echo (same id) is the reply. */
function requester(ws: ReturnType<typeof typed>) {
  return correlate(ws, {
    setId: (msg: Msg | string, id: string | number) => (typeof msg === "string" ? msg : { ...msg, id: Number(id) }),
    getId: (msg: Msg) => (msg.type === "req" ? msg.id : undefined),
    timeout: 5_000,
  });
}

async function closeFinally(ws: { state: string; close(): void; addEventListener(t: string, l: () => void): void }) {
  if (ws.state === "closed") return;
  const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
  ws.close();
  await closed;
}

Deno.test("typed (Deno): route by tag, request/response across a server drop, messages()", async () => {
  const server = startServer();
  const ws = typed(server.url);
  const rpc = requester(ws);
  try {
    const bids: number[] = [];
    let openEvents = 0;
    ws.on("open", () => openEvents++);
    route(ws, "quote", (q: Quote) => bids.push(q.bid));
    const stream = messages(ws, { bufferSize: 10 });
    await ws.opened();
    ws.send(`push:${JSON.stringify([{ type: "quote", bid: 1 }, { type: "open", market: "FX" }, { type: "quote", bid: 2 }])}`);

    const reply = await rpc.request({ type: "req", op: "lose-once" });
    assert.deepEqual(reply, { type: "req", op: "lose-once", id: 1 });
    assert.equal(server.received.filter((r) => r.includes("lose-once")).length, 2, "re-sent after the drop");
    assert.equal(openEvents, 2);

    const seen: string[] = [];
    for await (const msg of stream) {
      seen.push(msg.type);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ["quote", "open", "quote"], "replies are not messages");
    assert.deepEqual(bids, [1, 2]);
  } finally {
    await closeFinally(ws);
    await server.stop();
  }
});

Deno.test("typed (Deno): codec chosen by subprotocol; binaryType blob and arraybuffer as in browsers", async () => {
  const server = startServer();
  const bin = new ResilientWebSocket(server.url, {
    WebSocket,
    protocols: ["v2.bin", "v1.json"],
    codecs: { "v2.bin": binary({ as: "uint8array" }), "v1.json": json() as never },
    requireProtocol: true,
  });
  const raw = new ResilientWebSocket(server.url, { WebSocket });
  try {
    await Promise.all([bin.opened(), raw.opened()]);
    assert.equal(bin.protocol, "v2.bin");
    const decoded = new Promise<unknown>((resolve) => bin.on("message", (e: MessageEvent) => resolve(e.data)));
    bin.send(new Uint8Array([4, 5]));
    const data = await decoded;
    assert.ok(data instanceof Uint8Array);
    assert.deepEqual([...data], [4, 5]);

    assert.equal(raw.binaryType, "blob");
    let reply = new Promise<unknown>((resolve) => raw.addEventListener("message", (e) => resolve((e as MessageEvent).data), { once: true }));
    raw.send(new Blob([new Uint8Array([1, 2, 3])]));
    const blob = await reply;
    assert.ok(blob instanceof Blob, "blob by default");
    assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [1, 2, 3]);
    raw.binaryType = "arraybuffer";
    reply = new Promise<unknown>((resolve) => raw.addEventListener("message", (e) => resolve((e as MessageEvent).data), { once: true }));
    raw.send(new DataView(new Uint8Array([9, 9, 7]).buffer, 1));
    const buffer = await reply;
    assert.ok(buffer instanceof ArrayBuffer, "arraybuffer when asked");
    assert.deepEqual([...new Uint8Array(buffer)], [9, 7]);
  } finally {
    await closeFinally(bin);
    await closeFinally(raw);
    await server.stop();
  }
});

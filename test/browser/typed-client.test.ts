// Typed messages in Chromium (the browser's own WebSocket) against the runner's `ws` server, which
// echoes and can push text (ws:send), drop connections (ws:drop) and stop answering (ws:mute).
import { ResilientWebSocket, correlate, json, messages, route, type Requester } from "../../src/index.js";
import { binary } from "../../src/client/codecs.js";
import { deepEqual, equal, eventually, nextEvent, ok, server, uniquePath } from "./helpers.js";

type Quote = { type: "quote"; pair: string; bid: number };
type MarketOpen = { type: "open"; market: string };
type Req = { type: "req"; op: string; id?: number };
type Msg = Quote | MarketOpen | Req;

const clients: Array<{ close(): void }> = [];
const requesters = new WeakMap<object, Requester<Msg, Msg>>();
const rpc = (ws: object) => requesters.get(ws)!;
afterEach(() => {
  for (const ws of clients.splice(0)) ws.close();
});

function typed(url: string) {
  const ws = new ResilientWebSocket(url, {
    codec: json<Msg, Msg>(),
    reconnect: { minDelay: 10, maxDelay: 50 },
  });
  // The echo server sends a request back as it came: the echo is the reply.
  requesters.set(
    ws,
    correlate(ws, {
      setId: (msg, id) => ({ ...msg, id: Number(id) }),
      getId: (msg) => (msg.type === "req" ? msg.id : undefined),
      timeout: 5_000,
    }),
  );
  clients.push(ws);
  return ws;
}

describe("typed messages in Chromium", () => {
  it('route() gets only its tag, typed; a message tagged "open" is not the open event', async () => {
    const path = uniquePath("route");
    const ws = typed(await server.url(path));
    const bids: number[] = [];
    const markets: string[] = [];
    let openEvents = 0;
    ws.on("open", () => openEvents++);
    route(ws, "quote", (q) => bids.push(q.bid));
    route(ws, "open", (m) => markets.push(m.market));
    await ws.opened();
    const last = nextEvent(ws, "message", 5_000, (e) => (e as MessageEvent<Msg>).data.type === "open");
    await server.send(path, JSON.stringify({ type: "quote", pair: "EURUSD", bid: 1.08 }));
    await server.send(path, JSON.stringify({ type: "open", market: "FX" }));
    await last;
    deepEqual(bids, [1.08], "quotes routed");
    deepEqual(markets, ["FX"], "open messages routed");
    equal(openEvents, 1, "open events");
  });

  it("a malformed message raises decodeerror with the raw data; the next message still arrives", async () => {
    const path = uniquePath("decodeerror");
    const ws = typed(await server.url(path));
    await ws.opened();
    const bad = nextEvent<Event & { data: unknown; error: { code?: string } }>(ws, "decodeerror");
    const good = nextEvent<MessageEvent<Msg>>(ws, "message");
    await server.send(path, "{oops");
    await server.send(path, JSON.stringify({ type: "quote", pair: "X", bid: 2 }));
    const event = await bad;
    equal(event.data, "{oops", "raw data");
    equal(event.error.code, "ERR_DECODE", "error code");
    deepEqual((await good).data, { type: "quote", pair: "X", bid: 2 }, "later message");
    equal(ws.state, "open", "state");
  });

  it("request() resolves with the reply, which is not delivered as a message", async () => {
    const ws = typed(await server.url(uniquePath("request")));
    const messages: unknown[] = [];
    ws.on("message", (e) => messages.push(e.data));
    const reply = await rpc(ws).request({ type: "req", op: "ping" });
    deepEqual(reply, { type: "req", op: "ping", id: 1 }, "reply");
    await rpc(ws).request({ type: "req", op: "second" });
    deepEqual(messages, [], "replies are consumed");
  });

  it("a pending request survives a dropped connection: re-sent with the same id, matched once", async () => {
    const path = uniquePath("resend");
    const ws = typed(await server.url(path));
    await ws.opened();
    await server.mute(); // the server reads but no longer answers this connection
    const pending = rpc(ws).request({ type: "req", op: "survive" });
    await eventually(() => server.received(path), (log) => log.length === 1);
    await server.drop();
    const reply = await pending;
    equal((reply as Req).op, "survive", "reply");
    const log = await server.received(path);
    deepEqual(log, [{ text: '{"type":"req","op":"survive","id":1}' }, { text: '{"type":"req","op":"survive","id":1}' }], "server saw it twice, same id");
    ok(ws.stats.reconnects >= 1, "reconnected");
  });

  it("request() rejects with ERR_REQUEST_TIMEOUT and ERR_ABORTED", async () => {
    const ws = typed(await server.url(uniquePath("timeout")));
    await ws.opened();
    await server.mute();
    const timedOut = await rpc(ws).request({ type: "req", op: "t" }, { timeout: 50 }).catch((e: { code?: string }) => e.code);
    equal(timedOut, "ERR_REQUEST_TIMEOUT", "timeout");
    const aborted = await rpc(ws).request({ type: "req", op: "a" }, { signal: AbortSignal.timeout(20) }).catch((e: { code?: string }) => e.code);
    equal(aborted, "ERR_ABORTED", "abort");
  });

  it("for await over messages() yields in order and ends when the client closes", async () => {
    const path = uniquePath("iterate");
    const ws = typed(await server.url(path));
    await ws.opened();
    const stream = messages(ws, { bufferSize: 10 });
    for (let i = 0; i < 5; i++) await server.send(path, JSON.stringify({ type: "quote", pair: "P", bid: i }));
    const bids: number[] = [];
    for await (const msg of stream) {
      if (msg.type === "quote") bids.push(msg.bid);
      if (bids.length === 5) ws.close();
    }
    deepEqual(bids, [0, 1, 2, 3, 4], "bids");
    equal(ws.state, "closed", "state");
  });

  it("the codec is chosen by the subprotocol the server selected", async () => {
    const ws = new ResilientWebSocket(await server.url(uniquePath("protocols")), {
      protocols: ["v2.bin", "v1.json"],
      codecs: { "v1.json": json<unknown, unknown>() as never, "v2.bin": binary({ as: "uint8array" }) },
      requireProtocol: true,
    });
    clients.push(ws);
    await ws.opened();
    equal(ws.protocol, "v2.bin", "selected");
    const reply = nextEvent<MessageEvent<Uint8Array>>(ws, "message");
    ws.send(new Uint8Array([1, 2, 3]));
    const data = (await reply).data;
    ok(data instanceof Uint8Array, "binary codec decoded to Uint8Array");
    deepEqual([...data], [1, 2, 3], "bytes");
  });
});

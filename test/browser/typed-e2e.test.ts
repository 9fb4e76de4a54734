// Issue 4 end to end in Chromium: the built browser entry (dist/index.js, so run `npm run build`
// first) over the browser's own WebSocket, against the runner's real `ws` server
// (server-plugin.mjs). Each test connects on its own path; the server echoes unless told otherwise
// and is driven with commands: push text (ws:send, ws:burst) or bytes (ws:send-binary), stop
// echoing a path (ws:echo), drop a path's connections (ws:drop-path), pick the subprotocol
// (ws:select) and report what was offered (ws:offered).
import { executeServerCommand } from "@web/test-runner-commands";
import {
  ResilientWebSocket,
  binary,
  correlate,
  isResilientError,
  json,
  messages,
  route,
  text,
  withSchema,
} from "../../dist/index.js";
import { collectEvents, deepEqual, equal, eventually, nextEvent, ok, server, takeTracked, track, uniquePath, type Received } from "./helpers.js";
import { QuoteSchema, REQ_IDS, type Msg, type Req } from "../shared/quote-schema.js";

const command = <T>(name: string, payload: Record<string, unknown>) => executeServerCommand<T, Record<string, unknown>>(name, payload);
const burst = (path: string, texts: string[]) => command<number>("ws:burst", { path, texts });
const sendBinary = (path: string, bytes: number[]) => command<number>("ws:send-binary", { path, bytes });
const dropPath = (path: string) => command<number>("ws:drop-path", { path });
const select = (path: string, choice: "first" | "last" | "none") => command<boolean>("ws:select", { path, select: choice });
const offered = (path: string) => command<string[]>("ws:offered", { path });
const echo = (path: string, on: boolean) => command<boolean>("ws:echo", { path, echo: on });


type DecodeError = Event & { data: unknown; error: unknown };
const codeOf = (error: unknown) => (isResilientError(error) ? error.code : `not a ResilientError: ${String(error)}`);
const fast = { minDelay: 10, maxDelay: 50 };

afterEach(async () => {
  // Only ResilientWebSockets are tracked here; state and close() do not depend on the codec types.
  for (const ws of takeTracked() as ResilientWebSocket[]) {
    if (ws.state === "closed") continue;
    const closed = nextEvent(ws, "close");
    ws.close();
    await closed;
  }
});

async function typedClient(path: string) {
  return track(new ResilientWebSocket(await server.url(path), { codec: json<Msg, Msg>(), reconnect: fast }));
}

/**
 * The reason a built-in codec gives: ERR_DECODE whose message names the codec and carries the
 * underlying error's message, which is the `cause` (JSON.parse's SyntaxError, TextDecoder's TypeError).
 */
function assertReason(error: unknown, cause: new () => Error) {
  equal(codeOf(error), "ERR_DECODE", "code");
  const { message, cause: original } = error as Error;
  ok(original instanceof cause, `cause is a ${cause.name}: ${String(original)}`);
  ok(message.startsWith("json(): ") && message.includes(original.message), `reason: ${message}`);
}

describe("typed e2e (Chromium, dist/index.js): codecs", () => {
  it("json sends typed messages as text frames and delivers decoded ones, also from binary UTF-8 frames", async () => {
    const path = uniquePath("json");
    const ws = await typedClient(path);
    await ws.opened();
    const echoed = nextEvent<MessageEvent<Msg>>(ws, "message");
    equal(ws.send({ type: "quote", pair: "EURUSD", bid: 1.5 }), "sent", "send result");
    deepEqual((await echoed).data, { type: "quote", pair: "EURUSD", bid: 1.5 }, "decoded echo");
    deepEqual(await server.received(path), [{ text: '{"type":"quote","pair":"EURUSD","bid":1.5}' }], "text frame on the wire");
    const fromBinary = nextEvent<MessageEvent<Msg>>(ws, "message");
    await sendBinary(path, [...new TextEncoder().encode('{"type":"open","market":"FX"}')]);
    deepEqual((await fromBinary).data, { type: "open", market: "FX" }, "binary frame decoded as UTF-8 JSON");
  });

  it("text sends and receives strings", async () => {
    const path = uniquePath("text");
    const ws = track(new ResilientWebSocket(await server.url(path), { codec: text() }));
    await ws.opened();
    const echoed = nextEvent<MessageEvent<string>>(ws, "message");
    ws.send("héllo");
    equal((await echoed).data, "héllo", "echo");
    const fromBinary = nextEvent<MessageEvent<string>>(ws, "message");
    await sendBinary(path, [0x6f, 0x6b]);
    equal((await fromBinary).data, "ok", "binary UTF-8 read as text");
  });

  it("binary delivers ArrayBuffer or Uint8Array; a text frame is a decodeerror", async () => {
    const path = uniquePath("binary");
    const buffers = track(new ResilientWebSocket(await server.url(path), { codec: binary() }));
    const views = track(new ResilientWebSocket(await server.url(path), { codec: binary({ as: "uint8array" }) }));
    await Promise.all([buffers.opened(), views.opened()]);
    const asBuffer = nextEvent<MessageEvent<ArrayBuffer>>(buffers, "message");
    const asView = nextEvent<MessageEvent<Uint8Array>>(views, "message");
    await sendBinary(path, [0, 7, 255]);
    const buffer = (await asBuffer).data;
    const view = (await asView).data;
    ok(buffer instanceof ArrayBuffer, "binary(): ArrayBuffer");
    ok(view instanceof Uint8Array, 'binary({ as: "uint8array" }): Uint8Array');
    deepEqual([...new Uint8Array(buffer)], [0, 7, 255], "buffer bytes");
    deepEqual([...view], [0, 7, 255], "view bytes");
    const bad = nextEvent<DecodeError>(views, "decodeerror");
    await server.send(path, "not bytes");
    const event = await bad;
    equal(event.data, "not bytes", "raw text frame");
    equal(codeOf(event.error), "ERR_DECODE", "code");
    const echoed = nextEvent<MessageEvent<Uint8Array>>(views, "message");
    views.send(new Uint8Array([9, 8]));
    deepEqual([...(await echoed).data], [9, 8], "still up");
  });

  it('without a codec binaryType is "blob" by default and "arraybuffer" when set, as in browsers', async () => {
    const path = uniquePath("binary-type");
    const ws = track(new ResilientWebSocket(await server.url(path)));
    await ws.opened();
    equal(ws.binaryType, "blob", "default");
    let reply = nextEvent<MessageEvent>(ws, "message");
    ws.send(new Uint8Array([1, 2, 3]));
    const blob: unknown = (await reply).data;
    ok(blob instanceof Blob, "Blob by default");
    deepEqual([...new Uint8Array(await blob.arrayBuffer())], [1, 2, 3], "blob bytes");
    ws.binaryType = "arraybuffer";
    equal(ws.binaryType, "arraybuffer", "set");
    reply = nextEvent<MessageEvent>(ws, "message");
    ws.send(new Blob([new Uint8Array([4, 5])]));
    const buffer: unknown = (await reply).data;
    ok(buffer instanceof ArrayBuffer, "ArrayBuffer when asked");
    deepEqual([...new Uint8Array(buffer)], [4, 5], "buffer bytes");
  });
});

describe("typed e2e (Chromium, dist/index.js): decodeerror", () => {
  it("malformed JSON: decodeerror with raw data and reason; connection stays up; other listeners get only the next good message", async () => {
    const path = uniquePath("malformed");
    const ws = await typedClient(path);
    const first: unknown[] = [];
    const second: unknown[] = [];
    const quotes: number[] = [];
    ws.on("message", (e) => first.push(e.data));
    ws.on("message", (e) => second.push(e.data));
    route(ws, "quote", (q) => quotes.push(q.bid));
    await ws.opened();
    const bad = nextEvent<DecodeError>(ws, "decodeerror");
    const good = nextEvent<MessageEvent<Msg>>(ws, "message");
    await burst(path, ['{"type":"quote","bid":', JSON.stringify({ type: "quote", pair: "X", bid: 2 })]);
    const event = await bad;
    equal(event.data, '{"type":"quote","bid":', "raw data");
    assertReason(event.error, SyntaxError);
    deepEqual((await good).data, { type: "quote", pair: "X", bid: 2 }, "next good message");
    deepEqual(first, [{ type: "quote", pair: "X", bid: 2 }], "first listener");
    deepEqual(second, first, "second listener");
    deepEqual(quotes, [2], "route");
    equal(ws.state, "open", "state");
    equal(ws.stats.connects, 1, "same connection");
  });

  it("invalid UTF-8 in a binary frame is a decodeerror carrying the ArrayBuffer", async () => {
    const path = uniquePath("bad-utf8");
    const ws = await typedClient(path);
    await ws.opened();
    const bad = nextEvent<DecodeError>(ws, "decodeerror");
    await sendBinary(path, [0x7b, 0xff, 0x7d]);
    const event = await bad;
    ok(event.data instanceof ArrayBuffer, "raw bytes");
    deepEqual([...new Uint8Array(event.data)], [0x7b, 0xff, 0x7d], "bytes");
    assertReason(event.error, TypeError);
    equal(ws.state, "open", "state");
  });

  it("withSchema: a schema-invalid message raises decodeerror with the issues; valid ones arrive transformed", async () => {
    const path = uniquePath("schema");
    const ws = track(new ResilientWebSocket(await server.url(path), { codec: withSchema(json<unknown, Msg>(), QuoteSchema) }));
    const seen: unknown[] = [];
    ws.on("message", (e) => seen.push(e.data));
    await ws.opened();
    const errors = collectEvents<DecodeError>(ws, "decodeerror", 2);
    const good = nextEvent<MessageEvent>(ws, "message");
    await burst(path, [
      JSON.stringify({ type: "quote", pair: "X", bid: "high" }),
      JSON.stringify({ type: "fill" }),
      JSON.stringify({ type: "quote", pair: "Y", bid: 3 }),
    ]);
    const [badBid, notQuote] = await errors;
    equal(badBid!.data, '{"type":"quote","pair":"X","bid":"high"}', "raw data of the first");
    equal(codeOf(badBid!.error), "ERR_DECODE", "code");
    ok(/bid must be a number at bid/.test((badBid!.error as Error).message), `reason: ${(badBid!.error as Error).message}`);
    deepEqual((badBid!.error as Error).cause, [{ message: "bid must be a number", path: ["bid"] }], "issues as cause");
    ok(/not a quote/.test((notQuote!.error as Error).message), "second reason");
    deepEqual((await good).data, { type: "quote", pair: "Y", bid: 3, checked: true }, "validated output");
    deepEqual(seen, [{ type: "quote", pair: "Y", bid: 3, checked: true }], "listeners saw only the valid one");
    equal(ws.state, "open", "state");
  });
});

describe("typed e2e (Chromium, dist/index.js): subprotocols", () => {
  async function negotiated(path: string, choice: "first" | "last") {
    await select(path, choice);
    // Both codecs take and give strings, so one client can be either; "hi" queued before the
    // handshake is encoded by whichever codec the selected protocol names.
    const ws = track(new ResilientWebSocket(await server.url(path), {
      protocols: ["chat.text", "chat.json"],
      codecs: { "chat.text": text(), "chat.json": json<string, string>() },
      requireProtocol: true,
    }));
    equal(ws.send("hi"), "queued", "queued before open");
    const echoed = nextEvent<MessageEvent<string>>(ws, "message");
    await ws.opened();
    return { ws, reply: (await echoed).data };
  }

  it("protocols are offered in order and the codec follows the one the server selected", async () => {
    const first = uniquePath("select-first");
    const a = await negotiated(first, "first");
    equal(a.ws.protocol, "chat.text", "first selected");
    equal(a.reply, "hi", "text codec");
    deepEqual(await server.received(first), [{ text: "hi" }], "text on the wire");
    deepEqual(await offered(first), ["chat.text, chat.json"], "offer order");

    const last = uniquePath("select-last");
    const b = await negotiated(last, "last");
    equal(b.ws.protocol, "chat.json", "last selected");
    equal(b.reply, "hi", "json codec decoded the echo");
    deepEqual(await server.received(last), [{ text: '"hi"' }], "queued message encoded as JSON");
  });

  // Chromium is stricter than RFC 6455 §4.1 (which allows a reply without Sec-WebSocket-Protocol):
  // it fails such a handshake itself ("Sent non-empty 'Sec-WebSocket-Protocol' header but no
  // response was received") and reports only error + close 1006, like an unreachable server. So in
  // this browser a server that selects none never opens, with or without requireProtocol, and the
  // client retries as after any failed handshake; ERR_PROTOCOL_NOT_SELECTED cannot be raised here
  // (Deno's and the built-in client's behaviour is in test/deno/typed-e2e.test.ts).
  for (const requireProtocol of [true, false]) {
    it(`a server that selects none of the offered protocols: Chromium fails the handshake, the client retries (requireProtocol: ${requireProtocol})`, async () => {
      const path = uniquePath(`no-protocol-${requireProtocol}`);
      await select(path, "none");
      const ws = track(new ResilientWebSocket(await server.url(path), {
        protocols: ["v1.json"],
        codec: json<Msg, Msg>(),
        requireProtocol,
        reconnect: { ...fast, maxRetries: 1 },
      }));
      const codes: string[] = [];
      let opens = 0;
      ws.on("error", (e) => codes.push(codeOf(e.error)));
      ws.on("open", () => opens++);
      const retried = nextEvent(ws, "reconnecting");
      const final = nextEvent<Event & { code: number }>(ws, "close", 5_000, () => ws.state === "closed");
      await retried;
      equal((await final).code, 1006, "close code of a failed handshake");
      equal(opens, 0, "never opened");
      ok(!codes.includes("ERR_PROTOCOL_NOT_SELECTED"), `errors: ${codes.join(", ")}`);
      deepEqual(await offered(path), ["v1.json", "v1.json"], "offered on both attempts");
    });
  }

  it("a server that selects none when none was offered: protocol is empty and the fallback codec is used", async () => {
    const path = uniquePath("no-protocol-ok");
    await select(path, "none");
    const ws = track(new ResilientWebSocket(await server.url(path), {
      codecs: { "v1.bin": binary() as never },
      codec: json<Msg, Msg>(),
    }));
    await ws.opened();
    equal(ws.protocol, "", "no protocol selected");
    const echoed = nextEvent<MessageEvent<Msg>>(ws, "message");
    ws.send({ type: "open", market: "FX" });
    deepEqual((await echoed).data, { type: "open", market: "FX" }, "json fallback");
    deepEqual(await offered(path), [""], "nothing offered");
  });
});

describe("typed e2e (Chromium, dist/index.js): route", () => {
  it('route(ws, "quote") gets only quotes; a tag named "open" is a message, never the open event', async () => {
    const path = uniquePath("route");
    const ws = await typedClient(path);
    const quotes: string[] = [];
    const markets: string[] = [];
    const kinds: string[] = [];
    let openEvents = 0;
    ws.on("open", () => openEvents++);
    route(ws, "quote", (q) => quotes.push(q.pair));
    const offOpen = route(ws, "open", (m) => markets.push(m.market));
    route(ws, "req", (r) => kinds.push(r.op), { field: "type" });
    await ws.opened();
    const all = collectEvents<MessageEvent<Msg>>(ws, "message", 4);
    await burst(path, [
      JSON.stringify({ type: "quote", pair: "A", bid: 1 }),
      JSON.stringify({ type: "open", market: "FX" }),
      JSON.stringify({ type: "req", op: "x" }),
      JSON.stringify({ type: "quote", pair: "B", bid: 2 }),
    ]);
    await all;
    deepEqual(quotes, ["A", "B"], "quotes only");
    deepEqual(markets, ["FX"], "open-tagged messages");
    deepEqual(kinds, ["x"], "req");
    equal(openEvents, 1, "one open event");
    offOpen();
    const after = nextEvent(ws, "message");
    await server.send(path, JSON.stringify({ type: "open", market: "EQ" }));
    await after;
    deepEqual(markets, ["FX"], "unsubscribed");
  });

  it("route with a custom tag field", async () => {
    type Event2 = { kind: "a"; n: number } | { kind: "b"; s: string };
    const path = uniquePath("route-field");
    const ws = track(new ResilientWebSocket(await server.url(path), { codec: json<Event2, Event2>() }));
    const got: number[] = [];
    route(ws, "a", (m) => got.push(m.n), { field: "kind" });
    await ws.opened();
    const both = collectEvents(ws, "message", 2);
    ws.send({ kind: "b", s: "x" });
    ws.send({ kind: "a", n: 5 });
    await both;
    deepEqual(got, [5], "kind a only");
  });
});

describe("typed e2e (Chromium, dist/index.js): request/response", () => {
  async function rpcClient(path: string) {
    const ws = await typedClient(path);
    const rpc = correlate(ws, REQ_IDS);
    const delivered: Msg[] = [];
    ws.on("message", (e) => delivered.push(e.data));
    await ws.opened();
    return { ws, rpc, delivered };
  }
  const requestsIn = (log: Received[]) => log.map((r) => JSON.parse((r as { text: string }).text) as Req);

  it("replies are matched by id (answered out of order) and not delivered as messages", async () => {
    const path = uniquePath("rpc-match");
    await echo(path, false);
    const { rpc, delivered } = await rpcClient(path);
    const one = rpc.request<Req>({ type: "req", op: "one" });
    const two = rpc.request<Req>({ type: "req", op: "two" });
    const log = requestsIn(await eventually(() => server.received(path), (l) => l.length === 2));
    deepEqual(log.map((r) => [r.op, r.id]), [["one", 1], ["two", 2]], "ids set");
    await burst(path, [
      JSON.stringify({ ...log[1], result: "second" }),
      JSON.stringify({ type: "quote", pair: "P", bid: 1 }),
      JSON.stringify({ ...log[0], result: "first" }),
    ]);
    equal((await one).result, "first", "reply to one");
    equal((await two).result, "second", "reply to two");
    await eventually(async () => delivered.length, (n) => n >= 1);
    deepEqual(delivered, [{ type: "quote", pair: "P", bid: 1 }], "only the non-reply is a message");
    equal(rpc.size, 0, "nothing pending");
  });

  it("timeout rejects with ERR_REQUEST_TIMEOUT; a late reply is swallowed", async () => {
    const path = uniquePath("rpc-timeout");
    await echo(path, false);
    const { rpc, delivered } = await rpcClient(path);
    const error = await rpc.request({ type: "req", op: "slow" }, { timeout: 100 }).then(() => undefined, (e: unknown) => e);
    equal(codeOf(error), "ERR_REQUEST_TIMEOUT", "code");
    const [sent] = requestsIn(await server.received(path));
    await burst(path, [JSON.stringify({ ...sent, result: "late" }), JSON.stringify({ type: "open", market: "after" })]);
    await eventually(async () => delivered.length, (n) => n >= 1);
    deepEqual(delivered, [{ type: "open", market: "after" }], "late reply not delivered");
  });

  it("abort rejects with ERR_ABORTED, the signal's reason as cause", async () => {
    const path = uniquePath("rpc-abort");
    await echo(path, false);
    const { rpc } = await rpcClient(path);
    const controller = new AbortController();
    const pending = rpc.request({ type: "req", op: "cancel-me" }, { signal: controller.signal }).then(() => undefined, (e: unknown) => e);
    await eventually(() => server.received(path), (l) => l.length === 1);
    controller.abort("user gave up");
    const error = await pending;
    equal(codeOf(error), "ERR_ABORTED", "code");
    equal((error as Error).cause, "user gave up", "cause");
    equal(rpc.size, 0, "nothing pending");
  });

  it("a server drop while pending: re-sent after reconnect with the same id, resolves once; duplicates swallowed", async () => {
    const path = uniquePath("rpc-resend");
    await echo(path, false);
    const { ws, rpc, delivered } = await rpcClient(path);
    let settled = 0;
    const pending = rpc.request<Req>({ type: "req", op: "survive" }).then((r) => (settled++, r));
    await eventually(() => server.received(path), (l) => l.length === 1);
    const reopened = nextEvent(ws, "open");
    equal(await dropPath(path), 1, "dropped");
    await reopened;
    const log = requestsIn(await eventually(() => server.received(path), (l) => l.length === 2));
    deepEqual(log[1], log[0], "same message, same id");
    const reply = JSON.stringify({ ...log[0], result: "done" });
    await burst(path, [reply, reply, JSON.stringify({ type: "open", market: "sentinel" })]);
    equal((await pending).result, "done", "resolved");
    await eventually(async () => delivered.length, (n) => n >= 1);
    deepEqual(delivered, [{ type: "open", market: "sentinel" }], "duplicate reply not delivered");
    equal(settled, 1, "resolved once");
    equal(ws.stats.reconnects, 1, "one reconnect");
    equal(await server.connections(path), 2, "two connections");
  });

  it("resend: false rejects with ERR_CONNECTION when the connection drops, and is not sent again", async () => {
    const path = uniquePath("rpc-no-resend");
    await echo(path, false);
    const { ws, rpc } = await rpcClient(path);
    const pending = rpc.request({ type: "req", op: "once" }, { resend: false }).then(() => undefined, (e: unknown) => e);
    await eventually(() => server.received(path), (l) => l.length === 1);
    const reopened = nextEvent(ws, "open");
    await dropPath(path);
    equal(codeOf(await pending), "ERR_CONNECTION", "code");
    await reopened;
    // A message sent after the reconnect arrives after anything the client would have re-sent.
    ws.send({ type: "open", market: "marker" });
    const log = await eventually(() => server.received(path), (l) => l.length === 2);
    deepEqual(requestsIn(log).map((m) => m.type), ["req", "open"], "request went out once");
  });
});

describe("typed e2e (Chromium, dist/index.js): messages()", () => {
  const quote = (bid: number) => JSON.stringify({ type: "quote", pair: "P", bid });
  const bidOf = (m: Msg) => (m.type === "quote" ? m.bid : NaN);

  it("for await yields in order; aborting the signal ends the loop", async () => {
    const path = uniquePath("iterate");
    const ws = await typedClient(path);
    await ws.opened();
    const controller = new AbortController();
    const stream = messages(ws, { signal: controller.signal });
    const arrived = collectEvents(ws, "message", 5);
    await burst(path, [0, 1, 2, 3, 4].map(quote));
    await arrived;
    const bids: number[] = [];
    for await (const msg of stream) {
      bids.push(bidOf(msg));
      if (bids.length === 3) controller.abort();
    }
    deepEqual(bids, [0, 1, 2], "in order, then ended by abort");
    equal(stream.buffered, 0, "buffer discarded");
    equal(ws.state, "open", "the client stays open");
    const later = messages(ws);
    ws.send({ type: "open", market: "again" });
    deepEqual((await later.next()).value, { type: "open", market: "again" }, "a new stream still works");
    await later.return();
  });

  it('slow consumer, overflow "drop-oldest": the newest bufferSize messages are kept, drops reported', async () => {
    const path = uniquePath("drop-oldest");
    const ws = await typedClient(path);
    await ws.opened();
    const droppedBids: number[] = [];
    const stream = messages(ws, { bufferSize: 3, ondrop: (m) => droppedBids.push(bidOf(m)) });
    const arrived = collectEvents(ws, "message", 8);
    await burst(path, [0, 1, 2, 3, 4, 5, 6, 7].map(quote));
    await arrived; // the consumer has not read anything yet
    equal(stream.dropped, 5, "dropped");
    equal(stream.buffered, 3, "buffered");
    deepEqual(droppedBids, [0, 1, 2, 3, 4], "ondrop");
    const bids: number[] = [];
    for await (const msg of stream) {
      bids.push(bidOf(msg));
      if (bids.length === 3) ws.close();
    }
    deepEqual(bids, [5, 6, 7], "newest kept");
  });

  it('slow consumer, overflow "drop-newest" keeps the first messages', async () => {
    const path = uniquePath("drop-newest");
    const ws = await typedClient(path);
    await ws.opened();
    const stream = messages(ws, { bufferSize: 3, overflow: "drop-newest" });
    const arrived = collectEvents(ws, "message", 6);
    await burst(path, [0, 1, 2, 3, 4, 5].map(quote));
    await arrived;
    equal(stream.dropped, 3, "dropped");
    const bids = [];
    for (let i = 0; i < 3; i++) bids.push(bidOf((await stream.next()).value as Msg));
    deepEqual(bids, [0, 1, 2], "oldest kept");
    await stream.return();
  });

  it('slow consumer, overflow "error": buffered messages first, then ERR_QUEUE_FULL', async () => {
    const path = uniquePath("overflow-error");
    const ws = await typedClient(path);
    await ws.opened();
    const stream = messages(ws, { bufferSize: 2, overflow: "error" });
    const arrived = collectEvents(ws, "message", 4);
    await burst(path, [0, 1, 2, 3].map(quote));
    await arrived;
    const bids: number[] = [];
    const error = await (async () => {
      for await (const msg of stream) bids.push(bidOf(msg));
    })().then(() => undefined, (e: unknown) => e);
    deepEqual(bids, [0, 1], "buffered first");
    equal(codeOf(error), "ERR_QUEUE_FULL", "then the error");
    equal(ws.state, "open", "the client is unaffected");
  });
});

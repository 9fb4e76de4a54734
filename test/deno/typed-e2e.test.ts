// Issue 4 end to end in Deno, from the built package as a Deno user gets it (dist/deno.js, so run
// `npm run build` first): every typed feature over the built-in RFC 6455 client (the default
// transport of the deno entry) and over Deno's own WebSocket (the `WebSocket` option), against a
// real Deno server (test/fixtures/deno-typed-server.ts) on 127.0.0.1, port 0.
// Run: deno test --sloppy-imports --allow-net=127.0.0.1 --allow-read --allow-env test/deno/typed-e2e.test.ts
import assert from "node:assert/strict";
import {
  binary,
  correlate,
  isResilientError,
  json,
  messages,
  ResilientWebSocket,
  route,
  text,
  withSchema,
} from "../../dist/deno.js";
import { TypedServer } from "../fixtures/deno-typed-server.ts";
import { collectEvents as collect, nextEvent as next } from "../shared/events.ts";
import { QuoteSchema, REQ_IDS, type Msg, type Req } from "../shared/quote-schema.ts";

type DecodeError = Event & { data: unknown; error: unknown };

interface Client {
  readonly state: string;
  close(): void;
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
}

const codeOf = (error: unknown) => (isResilientError(error) ? error.code : `not a ResilientError: ${String(error)}`);
const fast = { minDelay: 10, maxDelay: 50 };
const quote = (bid: number) => JSON.stringify({ type: "quote", pair: "P", bid });
const bidOf = (m: Msg) => (m.type === "quote" ? m.bid : NaN);

/**
 * The reason a built-in codec gives: ERR_DECODE whose message names the codec and carries the
 * underlying error's message, which is the `cause` (JSON.parse's SyntaxError, TextDecoder's TypeError).
 */
function assertReason(error: unknown, cause: new () => Error) {
  assert.equal(codeOf(error), "ERR_DECODE");
  const { message, cause: original } = error as Error;
  assert.ok(original instanceof cause, `cause is a ${cause.name}: ${String(original)}`);
  assert.ok(message.startsWith("json(): ") && message.includes(original.message), `reason: ${message}`);
}

/** A server and the clients of one test; `done()` closes every client (waiting for its final close) and the server. */
function scene() {
  const server = new TypedServer().start();
  const clients: Client[] = [];
  return {
    server,
    track<T extends Client>(ws: T): T {
      clients.push(ws);
      return ws;
    },
    async done() {
      for (const ws of clients) {
        if (ws.state === "closed") continue;
        const closed = next(ws, "close", 5_000, () => ws.state === "closed");
        ws.close();
        await closed;
      }
      await server.stop();
    },
  };
}

const transports: Array<[string, { WebSocket?: typeof globalThis.WebSocket }]> = [
  ["built-in client", {}],
  ["Deno WebSocket", { WebSocket: globalThis.WebSocket }],
];

for (const [name, transport] of transports) {
  const typed = (s: ReturnType<typeof scene>, path: string) =>
    s.track(new ResilientWebSocket(s.server.url(path), { ...transport, codec: json<Msg, Msg>(), reconnect: fast }));

  Deno.test(`typed e2e (${name}): json, text and binary codecs`, async () => {
    const s = scene();
    try {
      const j = typed(s, "/json");
      const t = s.track(new ResilientWebSocket(s.server.url("/text"), { ...transport, codec: text() }));
      const b = s.track(new ResilientWebSocket(s.server.url("/bin"), { ...transport, codec: binary() }));
      const v = s.track(new ResilientWebSocket(s.server.url("/bin"), { ...transport, codec: binary({ as: "uint8array" }) }));
      await Promise.all([j.opened(), t.opened(), b.opened(), v.opened()]);

      const decoded = next<MessageEvent<Msg>>(j, "message");
      assert.equal(j.send({ type: "quote", pair: "EURUSD", bid: 1.5 }), "sent");
      assert.deepEqual((await decoded).data, { type: "quote", pair: "EURUSD", bid: 1.5 });
      assert.deepEqual(s.server.received.get("/json"), ['{"type":"quote","pair":"EURUSD","bid":1.5}'], "a text frame");
      const fromBinary = next<MessageEvent<Msg>>(j, "message");
      s.server.pushBinary("/json", [...new TextEncoder().encode('{"type":"open","market":"FX"}')]);
      assert.deepEqual((await fromBinary).data, { type: "open", market: "FX" }, "binary UTF-8 JSON decoded");

      const str = next<MessageEvent<string>>(t, "message");
      t.send("héllo");
      assert.equal((await str).data, "héllo");

      const asBuffer = next<MessageEvent<ArrayBuffer>>(b, "message");
      const asView = next<MessageEvent<Uint8Array>>(v, "message");
      s.server.pushBinary("/bin", [0, 7, 255]);
      const buffer = (await asBuffer).data;
      const view = (await asView).data;
      assert.ok(buffer instanceof ArrayBuffer, "binary(): ArrayBuffer");
      assert.ok(view instanceof Uint8Array, 'binary({ as: "uint8array" }): Uint8Array');
      assert.deepEqual([...new Uint8Array(buffer)], [0, 7, 255]);
      assert.deepEqual([...view], [0, 7, 255]);

      const bad = next<DecodeError>(v, "decodeerror");
      s.server.push("/bin", "not bytes");
      const event = await bad;
      assert.equal(event.data, "not bytes", "a text frame is not bytes");
      assert.equal(codeOf(event.error), "ERR_DECODE");
      const echoed = next<MessageEvent<Uint8Array>>(v, "message");
      v.send(new Uint8Array([9, 8]));
      assert.deepEqual([...(await echoed).data], [9, 8], "still up");
    } finally {
      await s.done();
    }
  });

  Deno.test(`typed e2e (${name}): binaryType "blob" by default and "arraybuffer" when set, as in browsers`, async () => {
    const s = scene();
    try {
      const ws = s.track(new ResilientWebSocket(s.server.url("/raw"), transport));
      await ws.opened();
      assert.equal(ws.binaryType, "blob");
      let reply = next<MessageEvent>(ws, "message");
      ws.send(new Uint8Array([1, 2, 3]));
      const blob: unknown = (await reply).data;
      assert.ok(blob instanceof Blob, "Blob by default");
      assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [1, 2, 3]);
      ws.binaryType = "arraybuffer";
      assert.equal(ws.binaryType, "arraybuffer");
      reply = next<MessageEvent>(ws, "message");
      ws.send(new Blob([new Uint8Array([4, 5])]));
      const buffer: unknown = (await reply).data;
      assert.ok(buffer instanceof ArrayBuffer, "ArrayBuffer when asked");
      assert.deepEqual([...new Uint8Array(buffer)], [4, 5]);
    } finally {
      await s.done();
    }
  });

  Deno.test(`typed e2e (${name}): decodeerror for malformed JSON, invalid UTF-8 and a schema-invalid message; the connection stays up`, async () => {
    const s = scene();
    try {
      const ws = typed(s, "/malformed");
      const first: unknown[] = [];
      const second: unknown[] = [];
      const quotes: number[] = [];
      ws.on("message", (e) => first.push(e.data));
      ws.on("message", (e) => second.push(e.data));
      route(ws, "quote", (q) => quotes.push(q.bid));
      await ws.opened();
      const errors = collect<DecodeError>(ws, "decodeerror", 2);
      const good = next<MessageEvent<Msg>>(ws, "message");
      s.server.push("/malformed", '{"type":"quote","bid":');
      s.server.pushBinary("/malformed", [0x7b, 0xff, 0x7d]);
      s.server.push("/malformed", JSON.stringify({ type: "quote", pair: "X", bid: 2 }));
      const [malformed, badUtf8] = await errors;
      assert.equal(malformed!.data, '{"type":"quote","bid":', "raw text");
      assert.equal(codeOf(malformed!.error), "ERR_DECODE");
      assertReason(malformed!.error, SyntaxError);
      assert.ok(badUtf8!.data instanceof ArrayBuffer, "raw bytes");
      assert.deepEqual([...new Uint8Array(badUtf8!.data)], [0x7b, 0xff, 0x7d]);
      assertReason(badUtf8!.error, TypeError);
      assert.deepEqual((await good).data, { type: "quote", pair: "X", bid: 2 }, "next good message");
      assert.deepEqual(first, [{ type: "quote", pair: "X", bid: 2 }], "first listener");
      assert.deepEqual(second, first, "second listener");
      assert.deepEqual(quotes, [2], "route");
      assert.equal(ws.state, "open");
      assert.equal(ws.stats.connects, 1, "same connection");

      const checked = s.track(new ResilientWebSocket(s.server.url("/schema"), { ...transport, codec: withSchema(json<unknown, Msg>(), QuoteSchema) }));
      const seen: unknown[] = [];
      checked.on("message", (e) => seen.push(e.data));
      await checked.opened();
      const invalid = collect<DecodeError>(checked, "decodeerror", 2);
      const valid = next<MessageEvent>(checked, "message");
      s.server.push("/schema", JSON.stringify({ type: "quote", pair: "X", bid: "high" }), JSON.stringify({ type: "fill" }), JSON.stringify({ type: "quote", pair: "Y", bid: 3 }));
      const [badBid, notQuote] = await invalid;
      assert.equal(badBid!.data, '{"type":"quote","pair":"X","bid":"high"}', "raw data");
      assert.equal(codeOf(badBid!.error), "ERR_DECODE");
      assert.match((badBid!.error as Error).message, /bid must be a number at bid/);
      assert.deepEqual((badBid!.error as Error).cause, [{ message: "bid must be a number", path: ["bid"] }], "issues as cause");
      assert.match((notQuote!.error as Error).message, /not a quote/);
      assert.deepEqual((await valid).data, { type: "quote", pair: "Y", bid: 3, checked: true }, "validated output");
      assert.deepEqual(seen, [{ type: "quote", pair: "Y", bid: 3, checked: true }]);
      assert.equal(checked.state, "open");
    } finally {
      await s.done();
    }
  });

  Deno.test(`typed e2e (${name}): protocols offered in order; the codec follows the selected one`, async () => {
    const s = scene();
    try {
      const results: string[] = [];
      for (const choice of ["first", "last"] as const) {
        const path = `/select-${choice}`;
        s.server.select.set(path, choice);
        // Both codecs take and give strings: "hi" queued before the handshake is encoded by
        // whichever codec the selected protocol names.
        const ws = s.track(new ResilientWebSocket(s.server.url(path), {
          ...transport,
          protocols: ["chat.text", "chat.json"],
          codecs: { "chat.text": text(), "chat.json": json<string, string>() },
          requireProtocol: true,
        }));
        assert.equal(ws.send("hi"), "queued");
        const echoed = next<MessageEvent<string>>(ws, "message");
        await ws.opened();
        assert.equal((await echoed).data, "hi", `${choice}: decoded by the selected codec`);
        results.push(`${ws.protocol} ${s.server.received.get(path)}`);
      }
      assert.deepEqual(results, ["chat.text hi", 'chat.json "hi"']);
      assert.deepEqual(s.server.offered.get("/select-first"), ["chat.text, chat.json"], "offer order");
    } finally {
      await s.done();
    }
  });

  Deno.test(`typed e2e (${name}): requireProtocol and a server that selects none`, async () => {
    const s = scene();
    try {
      s.server.select.set("/none", "none");
      const strict = s.track(new ResilientWebSocket(s.server.url("/none"), {
        ...transport,
        protocols: ["v1.json"],
        codec: json<Msg, Msg>(),
        requireProtocol: true,
        reconnect: fast,
      }));
      let reconnecting = 0;
      let opens = 0;
      strict.on("reconnecting", () => reconnecting++);
      strict.on("open", () => opens++);
      const error = next<Event & { error: unknown }>(strict, "error", 5_000, (e) => codeOf(e.error) === "ERR_PROTOCOL_NOT_SELECTED");
      const closed = next<Event & { code: number }>(strict, "close");
      const failed = strict.opened().then(() => "opened", (e: unknown) => codeOf(e));
      await error;
      assert.equal((await closed).code, 1002, "failed with 1002");
      assert.equal(await failed, "ERR_CLOSED");
      assert.equal(strict.state, "closed", "final");
      assert.equal(reconnecting, 0, "not retried");
      assert.equal(opens, 0, "no open event");
      assert.equal(s.server.connections("/none"), 1, "one attempt");

      const lenient = s.track(new ResilientWebSocket(s.server.url("/none"), {
        ...transport,
        protocols: ["v1.bin"],
        codecs: { "v1.bin": binary() as never },
        codec: json<Msg, Msg>(),
      }));
      await lenient.opened();
      assert.equal(lenient.protocol, "", "none selected");
      const echoed = next<MessageEvent<Msg>>(lenient, "message");
      lenient.send({ type: "open", market: "FX" });
      assert.deepEqual((await echoed).data, { type: "open", market: "FX" }, "fallback codec");
    } finally {
      await s.done();
    }
  });

  Deno.test(`typed e2e (${name}): route gets only its tag; a tag named "open" is not the open event`, async () => {
    const s = scene();
    try {
      const ws = typed(s, "/route");
      const quotes: string[] = [];
      const markets: string[] = [];
      let openEvents = 0;
      ws.on("open", () => openEvents++);
      route(ws, "quote", (q) => quotes.push(q.pair));
      const offOpen = route(ws, "open", (m) => markets.push(m.market));
      await ws.opened();
      const all = collect(ws, "message", 4);
      s.server.push(
        "/route",
        JSON.stringify({ type: "quote", pair: "A", bid: 1 }),
        JSON.stringify({ type: "open", market: "FX" }),
        JSON.stringify({ type: "req", op: "x" }),
        JSON.stringify({ type: "quote", pair: "B", bid: 2 }),
      );
      await all;
      assert.deepEqual(quotes, ["A", "B"]);
      assert.deepEqual(markets, ["FX"]);
      assert.equal(openEvents, 1);
      offOpen();
      const after = next(ws, "message");
      s.server.push("/route", JSON.stringify({ type: "open", market: "EQ" }));
      await after;
      assert.deepEqual(markets, ["FX"], "unsubscribed");

      type Kinded = { kind: "a"; n: number } | { kind: "b"; s: string };
      const k = s.track(new ResilientWebSocket(s.server.url("/kind"), { ...transport, codec: json<Kinded, Kinded>() }));
      const got: number[] = [];
      route(k, "a", (m) => got.push(m.n), { field: "kind" });
      await k.opened();
      const both = collect(k, "message", 2);
      k.send({ kind: "b", s: "x" });
      k.send({ kind: "a", n: 5 });
      await both;
      assert.deepEqual(got, [5], "custom tag field");
    } finally {
      await s.done();
    }
  });

  Deno.test(`typed e2e (${name}): request/response matched by id, timeout, abort, resend after a drop, resend: false`, async () => {
    const s = scene();
    const rpcClient = async (path: string) => {
      s.server.silent.add(path);
      const ws = typed(s, path);
      const rpc = correlate(ws, REQ_IDS);
      const delivered: Msg[] = [];
      ws.on("message", (e) => delivered.push(e.data));
      await ws.opened();
      return { ws, rpc, delivered };
    };
    const requestsIn = (log: string[]) => log.map((t) => JSON.parse(t) as Req);
    try {
      // Matched by id, answered out of order; a reply is not a message.
      const a = await rpcClient("/match");
      const one = a.rpc.request<Req>({ type: "req", op: "one" });
      const two = a.rpc.request<Req>({ type: "req", op: "two" });
      const sent = requestsIn(await s.server.receivedCount("/match", 2));
      assert.deepEqual(sent.map((r) => [r.op, r.id]), [["one", 1], ["two", 2]]);
      const marker = next(a.ws, "message");
      s.server.push("/match", JSON.stringify({ ...sent[1], result: "second" }), quote(1), JSON.stringify({ ...sent[0], result: "first" }));
      assert.equal((await one).result, "first");
      assert.equal((await two).result, "second");
      await marker;
      assert.deepEqual(a.delivered, [{ type: "quote", pair: "P", bid: 1 }], "only the non-reply is a message");

      // Timeout, and the late reply is swallowed.
      const b = await rpcClient("/timeout");
      const timedOut = await b.rpc.request({ type: "req", op: "slow" }, { timeout: 100 }).then(() => undefined, (e: unknown) => e);
      assert.equal(codeOf(timedOut), "ERR_REQUEST_TIMEOUT");
      const [slow] = requestsIn(s.server.received.get("/timeout")!);
      const after = next(b.ws, "message");
      s.server.push("/timeout", JSON.stringify({ ...slow, result: "late" }), JSON.stringify({ type: "open", market: "after" }));
      await after;
      assert.deepEqual(b.delivered, [{ type: "open", market: "after" }], "late reply not delivered");

      // Abort: ERR_ABORTED with the reason as cause.
      const c = await rpcClient("/abort");
      const controller = new AbortController();
      const aborted = c.rpc.request({ type: "req", op: "cancel-me" }, { signal: controller.signal }).then(() => undefined, (e: unknown) => e);
      await s.server.receivedCount("/abort", 1);
      controller.abort("user gave up");
      const abortError = await aborted;
      assert.equal(codeOf(abortError), "ERR_ABORTED");
      assert.equal((abortError as Error).cause, "user gave up");
      assert.equal(c.rpc.size, 0);

      // The server goes away while the request is pending: re-sent with the same id, resolved once.
      const d = await rpcClient("/resend");
      let settled = 0;
      const survived = d.rpc.request<Req>({ type: "req", op: "survive" }).then((r) => (settled++, r));
      await s.server.receivedCount("/resend", 1);
      const reopened = next(d.ws, "open");
      assert.equal(s.server.drop("/resend"), 1);
      await reopened;
      const log = requestsIn(await s.server.receivedCount("/resend", 2));
      assert.deepEqual(log[1], log[0], "same message, same id");
      const sentinel = next(d.ws, "message");
      const reply = JSON.stringify({ ...log[0], result: "done" });
      s.server.push("/resend", reply, reply, JSON.stringify({ type: "open", market: "sentinel" }));
      assert.equal((await survived).result, "done");
      await sentinel;
      assert.deepEqual(d.delivered, [{ type: "open", market: "sentinel" }], "duplicate reply not delivered");
      assert.equal(settled, 1, "resolved once");
      assert.equal(d.ws.stats.reconnects, 1);

      // resend: false rejects when the connection is lost and is not sent again.
      const e = await rpcClient("/no-resend");
      const once = e.rpc.request({ type: "req", op: "once" }, { resend: false }).then(() => undefined, (err: unknown) => err);
      await s.server.receivedCount("/no-resend", 1);
      const back = next(e.ws, "open");
      s.server.drop("/no-resend");
      assert.equal(codeOf(await once), "ERR_CONNECTION");
      await back;
      // Sent after the reconnect, so it arrives after anything the client would have re-sent.
      e.ws.send({ type: "open", market: "marker" });
      const noResend = requestsIn(await s.server.receivedCount("/no-resend", 2));
      assert.deepEqual(noResend.map((m) => m.type), ["req", "open"], "the request went out once");
    } finally {
      await s.done();
    }
  });

  Deno.test(`typed e2e (${name}): messages() in order, ended by abort, overflow policies with a slow consumer`, async () => {
    const s = scene();
    try {
      const ws = typed(s, "/iterate");
      await ws.opened();
      const controller = new AbortController();
      const stream = messages(ws, { signal: controller.signal });
      let arrived = collect(ws, "message", 5);
      s.server.push("/iterate", ...[0, 1, 2, 3, 4].map(quote));
      await arrived;
      const bids: number[] = [];
      for await (const msg of stream) {
        bids.push(bidOf(msg));
        if (bids.length === 3) controller.abort();
      }
      assert.deepEqual(bids, [0, 1, 2], "in order, then ended by abort");
      assert.equal(stream.buffered, 0, "the rest discarded");
      assert.equal(ws.state, "open");

      // The consumer reads nothing until the whole burst has arrived: a consumer slower than the stream.
      const burst = async (count: number) => {
        const all = collect(ws, "message", count);
        s.server.push("/iterate", ...Array.from({ length: count }, (_, i) => quote(i)));
        await all;
      };
      const droppedBids: number[] = [];
      const oldest = messages(ws, { bufferSize: 3, ondrop: (m) => droppedBids.push(bidOf(m)) });
      const newest = messages(ws, { bufferSize: 3, overflow: "drop-newest" });
      const failing = messages(ws, { bufferSize: 2, overflow: "error" });
      await burst(8);
      assert.equal(oldest.dropped, 5);
      assert.deepEqual(droppedBids, [0, 1, 2, 3, 4], "drop-oldest reports each drop");
      assert.equal(newest.dropped, 5);
      const take = async (it: AsyncIterator<Msg>, n: number) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push(bidOf((await it.next()).value as Msg));
        return out;
      };
      assert.deepEqual(await take(oldest, 3), [5, 6, 7], "drop-oldest keeps the newest");
      assert.deepEqual(await take(newest, 3), [0, 1, 2], "drop-newest keeps the oldest");
      assert.deepEqual(await take(failing, 2), [0, 1], "error: buffered first");
      const overflow = await failing.next().then(() => undefined, (e: unknown) => e);
      assert.equal(codeOf(overflow), "ERR_QUEUE_FULL", "then the error");
      await newest.return();

      // drop-oldest keeps listening; the stream ends when the client closes for good.
      arrived = collect(ws, "message", 1);
      s.server.push("/iterate", quote(42));
      await arrived;
      const tail: number[] = [];
      const ended = (async () => {
        for await (const msg of oldest) tail.push(bidOf(msg));
      })();
      ws.close();
      await ended;
      assert.deepEqual(tail, [42], "ended by the final close");
    } finally {
      await s.done();
    }
  });
}

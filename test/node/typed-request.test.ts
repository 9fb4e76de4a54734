import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { attachRequests, correlate, createRequests, type RequestClock } from "../../src/client/request.js";
import { INTERCEPT, ResilientWebSocket } from "../../src/client/client.js";
import WS from "ws";
import { createError, isResilientError, type ErrorCode } from "../../src/errors.js";

type Out = { op: string; id?: string | number };
type In = { type: "reply"; id: number; result: string } | { type: "push"; id: number };
type Reply = Extract<In, { type: "reply" }>;

/** Manual clock: timers fire only when the test advances time. */
function fakeClock(): RequestClock & { advance(ms: number): void; readonly timers: number } {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 0;
  return {
    setTimeout(fn, ms) {
      timers.set(++next, { at: now + ms, fn });
      return next;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      now += ms;
      for (const [id, timer] of [...timers]) {
        if (timer.at <= now) {
          timers.delete(id);
          timer.fn();
        }
      }
    },
    get timers() {
      return timers.size;
    },
  };
}

function setup(options: { resend?: boolean; timeout?: number } = {}) {
  const sent: Out[] = [];
  const clock = fakeClock();
  const requests = createRequests<In, Out>(
    {
      setId: (msg, id) => ({ ...msg, id }),
      getId: (msg) => (msg.type === "reply" ? msg.id : undefined),
      ...options,
    },
    (msg) => sent.push(msg),
    clock,
  );
  return { sent, clock, requests };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isResilientError(error), `ResilientError, got ${String(error)}`);
    assert.equal(error.code, code);
    return error;
  }
  assert.fail(`expected rejection with ${code}`);
}

describe("Requests", () => {
  it("sends with a fresh id and resolves with the matching reply, which is consumed", async () => {
    const { sent, requests } = setup();
    requests.opened();
    const a = requests.request({ op: "a" });
    const b = requests.request({ op: "b" });
    assert.deepEqual(sent, [{ op: "a", id: 1 }, { op: "b", id: 2 }]);
    assert.equal(requests.match({ type: "reply", id: 2, result: "B" }), true);
    assert.equal(requests.match({ type: "reply", id: 1, result: "A" }), true);
    assert.deepEqual(await a, { type: "reply", id: 1, result: "A" });
    assert.deepEqual(await b, { type: "reply", id: 2, result: "B" });
    assert.equal(requests.size, 0);
  });

  it("messages that are not replies, or replies to unknown ids, are not consumed", () => {
    const { requests } = setup();
    requests.opened();
    void requests.request({ op: "a" });
    assert.equal(requests.match({ type: "push", id: 1 }), false);
    assert.equal(requests.match({ type: "reply", id: 99, result: "?" }), false);
    assert.equal(requests.size, 1);
  });

  it("a getId that throws on a message means: not a reply", () => {
    const requests = createRequests<unknown, Out>(
      { setId: (m, id) => ({ ...m, id }), getId: (m) => (m as { id: number }).id },
      () => undefined,
      fakeClock(),
    );
    assert.equal(requests.match(null), false);
  });

  it("a duplicate reply is matched once and swallowed (not delivered as a message)", async () => {
    const { requests } = setup();
    requests.opened();
    const p = requests.request({ op: "a" });
    assert.equal(requests.match({ type: "reply", id: 1, result: "first" }), true);
    assert.equal(requests.match({ type: "reply", id: 1, result: "second" }), true);
    assert.equal((await p).type, "reply");
    assert.equal(((await p) as { result: string }).result, "first");
  });

  it("times out with ERR_REQUEST_TIMEOUT and clears its timer on reply", async () => {
    const { clock, requests } = setup({ timeout: 1000 });
    requests.opened();
    const slow = requests.request({ op: "slow" });
    const fast = requests.request({ op: "fast" }, { timeout: 5000 });
    clock.advance(999);
    assert.equal(requests.size, 2);
    clock.advance(1);
    const error = await rejectsWith(slow, "ERR_REQUEST_TIMEOUT");
    assert.match(error.message, /request 1: no reply within 1000 ms/);
    requests.match({ type: "reply", id: 2, result: "ok" });
    await fast;
    assert.equal(clock.timers, 0);
    // The late reply to the timed-out request is swallowed, not delivered as an ordinary message.
    assert.equal(requests.match({ type: "reply", id: 1, result: "late" }), true);
  });

  it("abort rejects with ERR_ABORTED carrying the reason; an aborted signal rejects before sending", async () => {
    const { sent, clock, requests } = setup();
    requests.opened();
    const controller = new AbortController();
    const p = requests.request({ op: "a" }, { signal: controller.signal });
    controller.abort("user left");
    const error = await rejectsWith(p, "ERR_ABORTED");
    assert.equal(error.cause, "user left");
    assert.equal(clock.timers, 0);
    await rejectsWith(requests.request({ op: "b" }, { signal: AbortSignal.abort() }), "ERR_ABORTED");
    assert.equal(sent.length, 1);
  });

  it("re-sends a pending request once on the next connection, same id, and matches one reply", async () => {
    const { sent, requests } = setup();
    requests.opened();
    const p = requests.request({ op: "a" });
    requests.disconnected();
    assert.equal(sent.length, 1);
    requests.opened();
    assert.deepEqual(sent, [{ op: "a", id: 1 }, { op: "a", id: 1 }]);
    requests.match({ type: "reply", id: 1, result: "A" });
    assert.equal(((await p) as { result: string }).result, "A");
    requests.disconnected();
    requests.opened();
    assert.equal(sent.length, 2, "settled requests are not re-sent");
  });

  it("a request made while disconnected (queued by the client) is not sent twice when the link opens", () => {
    const { sent, requests } = setup();
    void requests.request({ op: "early" });
    assert.equal(sent.length, 1); // handed to the client, which queues it and flushes on open
    requests.opened();
    assert.equal(sent.length, 1);
    requests.disconnected();
    void requests.request({ op: "during-outage" });
    requests.opened();
    assert.deepEqual(sent.map((m) => m.op), ["early", "during-outage", "early"]);
  });

  it("resend: false rejects with ERR_CONNECTION when its connection is lost", async () => {
    const { sent, requests } = setup({ resend: false });
    requests.opened();
    const p = requests.request({ op: "pay" });
    const q = requests.request({ op: "read" }, { resend: true });
    requests.disconnected();
    await rejectsWith(p, "ERR_CONNECTION");
    requests.opened();
    assert.deepEqual(sent.map((m) => m.op), ["pay", "read", "read"]);
    requests.match({ type: "reply", id: 2, result: "r" });
    await q;
  });

  it("final close rejects pending and later requests with ERR_CLOSED", async () => {
    const { clock, requests } = setup();
    requests.opened();
    const p = requests.request({ op: "a" });
    requests.closed();
    await rejectsWith(p, "ERR_CLOSED");
    await rejectsWith(requests.request({ op: "b" }), "ERR_CLOSED");
    assert.equal(clock.timers, 0);
  });

  it("a send that throws (the codec cannot encode the message) rejects with ERR_INVALID_ARGUMENT, the exception as its cause", async () => {
    const refusal = new Error("cannot encode");
    const requests = createRequests<In, Out>(
      { setId: (m, id) => ({ ...m, id }), getId: (m) => m.id },
      () => {
        throw refusal;
      },
      fakeClock(),
    );
    const error = await rejectsWith(requests.request({ op: "a" }), "ERR_INVALID_ARGUMENT");
    assert.match(error.message, /cannot encode/);
    assert.equal(error.cause, refusal);
  });

  it("uses nextId and compares ids as strings", async () => {
    let n = 0;
    const requests = createRequests<{ id: string }, Out>(
      { setId: (m, id) => ({ ...m, id }), getId: (m) => m.id, nextId: () => 10 + n++ },
      () => undefined,
      fakeClock(),
    );
    requests.opened();
    const p = requests.request({ op: "a" });
    assert.equal(requests.match({ id: "10" }), true);
    assert.deepEqual(await p, { id: "10" });
  });

  it("a request whose queued message is dropped rejects with ERR_QUEUE_FULL", async () => {
    const { sent, requests } = setup();
    const p = requests.request({ op: "a" });
    requests.dropped({ op: "other" }, "overflow");
    assert.equal(requests.size, 1);
    requests.dropped(sent[0] as Out, "ttl");
    assert.match((await rejectsWith(p, "ERR_QUEUE_FULL")).message, /\(ttl\)/);
  });

  it("a message dropped as unsent leaves its request to the connection's loss: re-sent (resend), else ERR_CONNECTION", async () => {
    const { sent, requests } = setup();
    requests.opened();
    const again = requests.request({ op: "a" });
    const once = requests.request({ op: "b" }, { resend: false });
    requests.dropped(sent[0] as Out, "unsent");
    requests.dropped(sent[1] as Out, "unsent");
    assert.equal(requests.size, 2, "neither rejected by the drop itself");
    requests.disconnected();
    await rejectsWith(once, "ERR_CONNECTION");
    requests.opened();
    assert.deepEqual(sent.map((m) => m.id), [1, 2, 1], "re-sent with the same id");
    assert.equal(requests.match({ type: "reply", id: 1, result: "ok" }), true);
    assert.ok(await again);
  });

  it("a message dropped as encode rejects with the codec's error; as closed with ERR_CLOSED", async () => {
    const { sent, requests } = setup();
    const codecError = createError("ERR_INVALID_ARGUMENT", "json(): undefined");
    const a = requests.request({ op: "a" });
    const b = requests.request({ op: "b" });
    const c = requests.request({ op: "c" });
    requests.dropped(sent[0] as Out, "encode", codecError);
    assert.equal(await a.catch((e: unknown) => e), codecError);
    const plain = new TypeError("circular");
    requests.dropped(sent[1] as Out, "encode", plain);
    assert.equal((await rejectsWith(b, "ERR_INVALID_ARGUMENT")).cause, plain);
    requests.dropped(sent[2] as Out, "closed", createError("ERR_CLOSED", "closed"));
    await rejectsWith(c, "ERR_CLOSED");
  });
});

describe("Requests and the client's queue", () => {
  it('a message the client queued while "open" (socket already closing) is not re-sent on top of its flush', () => {
    const sent: Out[] = [];
    let queue = false;
    const requests = createRequests<In, Out>(
      { setId: (m, id) => ({ ...m, id }), getId: (m) => (m.type === "reply" ? m.id : undefined) },
      (m) => (sent.push(m), queue ? "queued" : "sent"),
      fakeClock(),
      true,
    );
    queue = true;
    void requests.request({ op: "late" });
    requests.disconnected();
    requests.opened();
    assert.equal(sent.length, 1, "the queue flush sends it; no second copy");
  });
});

/** A client as attachRequests sees it: events, readyState OPEN, and the messages it was given. */
function fakeHost() {
  return Object.assign(new EventTarget(), {
    readyState: 1,
    sent: [] as Out[],
    send(m: Out) {
      this.sent.push(m);
    },
  });
}

/** The receive hook attachRequests installed on `host`. */
const hookOf = (host: object) => (m: In) => (host as { [INTERCEPT]?: (m: In) => boolean })[INTERCEPT]!(m);

/** Correlation through the `id` field of requests and replies. */
const idInField = () => ({ setId: (m: Out, id: number | string) => ({ ...m, id }), getId: (m: In) => (m.type === "reply" ? m.id : undefined) });

describe("attachRequests", () => {
  it("follows the client's events: open re-sends, leaving open disconnects, closed is final, drop rejects", async () => {
    const host = fakeHost();
    const emit = (type: string, fields: object = {}) => host.dispatchEvent(Object.assign(new Event(type), fields));
    const requests = attachRequests<In, Out>(
      host,
      { setId: (m, id) => ({ ...m, id }), getId: (m) => (m.type === "reply" ? m.id : undefined) },
      fakeClock(),
    );
    const a = requests.request({ op: "a" });
    const b = requests.request({ op: "b" }, { resend: false });
    emit("statechange", { from: "open", to: "reconnecting" });
    await rejectsWith(b, "ERR_CONNECTION");
    emit("statechange", { from: "reconnecting", to: "connecting" });
    emit("statechange", { from: "connecting", to: "open" });
    emit("open");
    assert.deepEqual(host.sent.map((m) => m.op), ["a", "b", "a"]);
    const c = requests.request({ op: "c" });
    emit("drop", { message: host.sent[3], reason: "overflow" });
    await rejectsWith(c, "ERR_QUEUE_FULL");
    emit("statechange", { from: "open", to: "closed" });
    await rejectsWith(a, "ERR_CLOSED");
  });
});

describe("correlate", () => {
  it("takes replies in the client's receive hook, chained: each correlator consumes only its own replies", async () => {
    const host = fakeHost();
    const clock = fakeClock();
    const first = attachRequests<In, Out>(host, { setId: (m, id) => ({ ...m, id }), getId: (m) => (m.type === "reply" ? m.id : undefined), nextId: () => 1 }, clock);
    const second = attachRequests<In, Out>(host, { setId: (m, id) => ({ ...m, id }), getId: (m) => (m.type === "reply" ? m.id : undefined), nextId: () => 2 }, clock);
    const a = first.request({ op: "a" });
    const b = second.request({ op: "b" });
    const hook = (host as { [INTERCEPT]?: (m: In) => boolean })[INTERCEPT]!;
    assert.equal(hook({ type: "push", id: 1 }), false, "not a reply: dispatched as a message");
    assert.equal(hook({ type: "reply", id: 2, result: "B" }), true);
    assert.equal(hook({ type: "reply", id: 1, result: "A" }), true);
    assert.equal(hook({ type: "reply", id: 3, result: "?" }), false, "an id nobody used is an ordinary message");
    assert.deepEqual([(await a).id, (await b).id], [1, 2]);
    assert.equal(clock.timers, 0);
  });

  it("correlators of one client: default ids never collide, and a reply reaches the one waiting before another's memory of a settled id", async () => {
    const host = fakeHost();
    const hook = hookOf(host);
    const clock = fakeClock();
    const options = idInField();
    const first = attachRequests<In, Out>(host, options, clock);
    const second = attachRequests<In, Out>(host, options, clock);
    const a = first.request<Reply>({ op: "a" });
    assert.equal(hook({ type: "reply", id: 1, result: "A" }), true);
    assert.equal((await a).result, "A");
    // With a counter per correlator, the second one's first id was 1 too, and the first one's
    // memory of settled id 1 swallowed its reply: the request timed out.
    const b = second.request<Reply>({ op: "b" });
    assert.deepEqual(host.sent.map((m) => m.id), [1, 2], "ids are unique across the client's correlators");
    assert.equal(hook({ type: "reply", id: 2, result: "B" }), true);
    assert.equal((await b).result, "B");
    // Ids chosen by the application may repeat across correlators: the waiting one still gets it.
    const fixed = { ...options, nextId: () => "same" };
    const third = attachRequests<In, Out>(host, fixed, clock);
    const fourth = attachRequests<In, Out>(host, fixed, clock);
    const c = third.request<Reply>({ op: "c" });
    hook({ type: "reply", id: "same" as never, result: "C" });
    await c;
    const d = fourth.request<Reply>({ op: "d" });
    assert.equal(hook({ type: "reply", id: "same" as never, result: "D" }), true);
    assert.equal((await d).result, "D", "not swallowed by the third's settled id");
  });

  it("detach(): pending and later requests reject with ERR_CLOSED, its replies become messages, and many correlators add no listeners", async () => {
    const host = fakeHost();
    const hook = hookOf(host);
    const options = idInField();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const many = Array.from({ length: 50 }, () => attachRequests<In, Out>(host, options, fakeClock()));
      for (const type of ["open", "drop", "statechange"]) assert.equal(getEventListeners(host, type).length, 1, `${type}: one listener for all correlators`);
      const rpc = many[7]!;
      const pending = rpc.request({ op: "p" });
      const id = host.sent.at(-1)!.id as number;
      rpc.detach();
      await rejectsWith(pending, "ERR_CLOSED");
      await rejectsWith(rpc.request({ op: "later" }), "ERR_CLOSED");
      assert.equal(hook({ type: "reply", id, result: "late" }), false, "a detached correlator takes nothing: the reply is a message");
      const other = many[8]!.request<Reply>({ op: "q" });
      assert.equal(hook({ type: "reply", id: host.sent.at(-1)!.id as number, result: "Q" }), true);
      assert.equal((await other).result, "Q", "the others still work");
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, [], "no MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("a correlator made in an open listener sends its request once, and re-sends it once per new connection", async () => {
    const { FakeClock, flush, transport } = await import("./client-helpers.js");
    const clock = new FakeClock();
    const t = transport();
    const ws = new ResilientWebSocket<In, Out>("ws://test.invalid/", { WebSocket: t.WebSocket, clock, random: () => 0.5, window: null });
    correlate(ws, { ...idInField(), clock }); // another correlator of the client, made before it opened
    ws.onopen = () => {
      if (t.sockets.length > 1) return;
      const rpc = correlate(ws, { ...idInField(), clock });
      void rpc.request({ op: "hello" }).catch(() => {});
    };
    await flush();
    t.last().serverOpen();
    assert.deepEqual(t.last().sent, [{ op: "hello", id: 1 }], "sent once on the connection it was made on");
    t.last().serverClose(1006);
    await clock.advance(1000);
    t.last().serverOpen();
    assert.deepEqual(t.last().sent, [{ op: "hello", id: 1 }], "re-sent once on the next connection");
    ws.close();
  });

  it("a request flushed on a connection that a statechange listener abandons before open is re-sent on the next one", async () => {
    const { FakeClock, flush, transport } = await import("./client-helpers.js");
    const clock = new FakeClock();
    const t = transport();
    const ws = new ResilientWebSocket<In, Out>("ws://test.invalid/", { WebSocket: t.WebSocket, clock, random: () => 0.5, window: null });
    const rpc = correlate(ws, { ...idInField(), clock });
    let once = false;
    ws.on("statechange", (e) => {
      if (e.to == "open" && !once) (once = true), ws.reconnect();
    });
    const reply = rpc.request<Reply>({ op: "early" }); // queued while connecting
    await flush();
    t.last().serverOpen(); // flushed on socket 1, then the listener reconnects: no open event for it
    assert.deepEqual(t.sockets[0]!.sent, [{ op: "early", id: 1 }]);
    await clock.advance(0);
    t.last().serverOpen();
    assert.deepEqual(t.last().sent, [{ op: "early", id: 1 }], "re-sent on socket 2 (it stayed pending on no connection before)");
    hookOf(ws)({ type: "reply", id: 1, result: "ok" });
    assert.equal((await reply).result, "ok");
    ws.close();
  });

  it("correlate(ws) uses the client's queue and events; a client closed for good rejects with ERR_CLOSED", async () => {
    // The URL never resolves: the client stays connecting, so requests wait in its queue.
    const ws = new ResilientWebSocket<In, Out>(() => new Promise<string>(() => undefined), { WebSocket: WS, window: null, connectTimeout: 60_000 });
    const rpc = correlate(ws, { setId: (m, id) => ({ ...m, id }), getId: (m) => m.id, clock: fakeClock() });
    const pending = rpc.request({ op: "queued" });
    assert.equal(rpc.size, 1);
    assert.equal(ws.stats.queued, 1, "sent while connecting: queued like any message");
    ws.close();
    await rejectsWith(pending, "ERR_CLOSED");
    assert.equal(rpc.size, 0);
  });
});

describe("correlate() with a codec that cannot encode the request", () => {
  it("rejects with ERR_INVALID_ARGUMENT and the codec's exception as its cause, as request() documents", async () => {
    const refusal = new Error("cannot encode");
    const { transport, FakeClock } = await import("./client-helpers.js");
    const t = transport();
    const ws = new ResilientWebSocket<{ re?: string }, { op: string; id?: string }>("ws://test.invalid/", {
      WebSocket: t.WebSocket,
      clock: new FakeClock(),
      window: null,
      codec: {
        frame: "text",
        encode: () => {
          throw refusal;
        },
        decode: (d) => JSON.parse(String(d)),
      },
    });
    const rpc = correlate(ws, { setId: (m, id) => ({ ...m, id: String(id) }), getId: (m) => m.re });
    const error = await rpc.request({ op: "x" }).then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(isResilientError(error) && error.code == "ERR_INVALID_ARGUMENT", String(error));
    assert.equal(error.cause, refusal);
    ws.close();
  });
});

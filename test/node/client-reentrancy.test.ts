/**
 * ResilientWebSocket when its own listeners call close() or reconnect() in the middle of a
 * transition (statechange, close, reconnecting, error): the client ends in one consistent state,
 * with one attempt at most, no timer of an abandoned attempt left to fire, and nothing thrown.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { ResilientWebSocket } from "../../src/client/client.js";
import type { ResilientOptions } from "../../src/client/options.js";
import { FakeClock, flush, transport } from "./client-helpers.js";

const URL_ = "ws://test.invalid/";

// An exception thrown from a timer or a transport callback would surface here, not in the test.
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);
beforeEach(() => {
  escaped.length = 0;
  process.on("unhandledRejection", onEscape);
  process.on("uncaughtException", onEscape);
});
afterEach(() => {
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
  assert.deepEqual(escaped, [], "nothing thrown outside the client");
});

function client(opts: ResilientOptions = {}) {
  const clock = new FakeClock();
  const t = transport();
  const ws = new ResilientWebSocket(URL_, {
    WebSocket: t.WebSocket,
    clock,
    random: () => 0.5,
    window: null,
    connectTimeout: 1000,
    reconnect: { minDelay: 300, maxDelay: 300, jitter: "none" },
    ...opts,
  });
  return { ws, clock, ...t };
}

test("close() in a reconnecting listener: closed, and the backoff timer never fires", async () => {
  const { ws, clock, sockets, last } = client();
  ws.on("reconnecting", () => ws.close());
  await flush();
  last().serverOpen();
  last().serverClose(1006);
  assert.equal(ws.state, "closed");
  assert.equal(clock.timers.size, 1, "only the close event's own task");
  await clock.advance(10_000);
  assert.equal(sockets.length, 1, "no attempt after close()");
  assert.equal(clock.timers.size, 0);
});

test("close() in a statechange listener as a retry starts: closed, no socket made", async () => {
  const { ws, clock, sockets, last } = client();
  let closes = 0;
  ws.on("close", () => closes++);
  ws.on("statechange", (e) => e.to == "connecting" && ws.close(4000, "shutting down"));
  await flush();
  last().serverOpen();
  last().serverClose(1006);
  await clock.advance(10_000);
  assert.equal(ws.state, "closed");
  assert.equal(sockets.length, 1, "the attempt is not made");
  assert.deepEqual(sockets[0]!.closeCalls, [], "the old, dead socket is not the one close() acted on");
  assert.equal(closes, 2, "the lost connection's close, then the final one");
  assert.equal(clock.timers.size, 0);
});

test("reconnect() in a reconnecting listener: one attempt now, and no stray connect timeout later", async () => {
  const { ws, clock, sockets, last } = client();
  let once = false;
  ws.on("reconnecting", () => {
    if (!once) (once = true), ws.reconnect();
  });
  await flush();
  last().serverOpen();
  last().serverClose(1006);
  await flush();
  assert.equal(sockets.length, 2, "one new attempt, at once");
  last().serverOpen();
  await clock.advance(10_000);
  assert.equal(ws.state, "open", "no connect timeout of an abandoned attempt kills the new connection");
  assert.equal(sockets.length, 2);
  assert.equal(clock.timers.size, 0);
  ws.close();
  last().serverClose(1000);
  assert.equal(ws.state, "closed");
  assert.ok(sockets.every((s) => s.readyState >= 2), "no socket left open");
});

test("reconnect() twice in a row from listeners of a reconnect() leaves no socket behind", async () => {
  const { ws, clock, sockets, last } = client();
  let calls = 0;
  ws.on("reconnecting", () => {
    if (++calls == 1) ws.reconnect();
  });
  await flush();
  last().serverOpen();
  ws.reconnect();
  await clock.advance(0);
  for (const s of sockets.slice(0, -1)) assert.ok(s.readyState >= 2 || s.closeCalls.length > 0 || s.terminated, "every abandoned socket was closed");
  last().serverOpen();
  await clock.advance(10_000);
  assert.equal(ws.state, "open");
  const count = sockets.length;
  ws.close();
  last().serverClose(1000);
  await clock.advance(10_000);
  assert.equal(sockets.length, count);
  assert.equal(clock.timers.size, 0);
});

test("reconnect() in a statechange listener as an attempt starts: one attempt, no stray timeout", async () => {
  const { ws, clock, sockets, last } = client();
  let once = false;
  ws.on("statechange", (e) => {
    if (e.to == "connecting" && !once) (once = true), ws.reconnect();
  });
  await flush();
  last().serverOpen();
  last().serverClose(1006);
  await clock.advance(300);
  last().serverOpen();
  await clock.advance(10_000);
  assert.equal(ws.state, "open");
  assert.equal(sockets.length, 2);
  ws.close();
});

test("reconnect() or close() in an error listener of a failed attempt: one outcome", async () => {
  {
    const { ws, clock, sockets } = client();
    let once = false;
    ws.on("error", () => {
      if (!once) (once = true), ws.reconnect();
    });
    await clock.advance(1000); // connect timeout: error, then the listener reconnects
    assert.equal(sockets.length, 2, "the listener's attempt, not a second one from the failure");
    sockets[1]!.serverOpen();
    await clock.advance(10_000);
    assert.equal(ws.state, "open");
    assert.equal(sockets.length, 2);
    ws.close();
  }
  {
    const { ws, clock, sockets } = client();
    ws.on("error", () => ws.close());
    await clock.advance(1000);
    assert.equal(ws.state, "closed");
    await clock.advance(10_000);
    assert.equal(sockets.length, 1);
    assert.equal(clock.timers.size, 0);
  }
});

test("reconnect() or close() in a drop listener of the unsent messages of a lost connection: one outcome", async () => {
  for (const act of ["reconnect", "close"] as const) {
    const { ws, clock, sockets, last } = client();
    await flush();
    last().serverOpen();
    last().bufferedAmount = 5; // the transport still holds what send() gave it
    ws.send("x");
    ws.on("drop", () => (act == "reconnect" ? ws.reconnect() : ws.close()));
    last().serverClose(1006);
    await clock.advance(0);
    if (act == "reconnect") {
      assert.equal(sockets.length, 2, "the listener's attempt, and no other");
      last().serverOpen();
      await clock.advance(10_000);
      assert.equal(ws.state, "open");
      assert.equal(sockets.length, 2);
      ws.close();
    } else {
      assert.equal(ws.state, "closed");
      assert.equal(sockets.length, 1);
    }
    assert.equal(clock.timers.size, 0);
  }
});

test("reconnect() in a drop listener of a dead connection's unsent messages (keepalive timeout): one new attempt", async () => {
  const { ws, clock, sockets, last } = client({ keepalive: { interval: 1000, timeout: 500, message: "ping" }, reconnect: { minDelay: 300, maxDelay: 300, jitter: "none" } });
  await flush();
  last().serverOpen();
  last().bufferedAmount = 5;
  ws.send("x");
  let once = false;
  ws.on("drop", () => {
    if (!once) (once = true), ws.reconnect();
  });
  await clock.advance(1600); // heartbeat at 1000, unanswered: dead at 1500
  assert.equal(once, true, "the unsent message was reported");
  await clock.advance(0);
  assert.equal(sockets.length, 2);
  last().serverOpen();
  await clock.advance(900); // within the new connection's keepalive interval
  assert.equal(ws.state, "open");
  assert.equal(sockets.length, 2, "no second attempt from the dead connection's own failure");
  ws.close();
});

test("close() in a drop listener while the queue is flushed on open (a message the codec cannot encode): closed, not opened", async () => {
  const refusing = { frame: "text" as const, encode: (m: unknown) => JSON.stringify(m), decode: (d: unknown) => d };
  const strict = { frame: "text" as const, encode: () => { throw new Error("v2 cannot encode a v1 message"); }, decode: (d: unknown) => d };
  const { ws, clock, last } = client({ protocols: ["v1", "v2"], codecs: { v1: refusing, v2: strict } } as never);
  ws.send({ a: 1 } as never); // queued, encoded with v1
  ws.on("drop", () => ws.close());
  const states: string[] = [];
  ws.on("statechange", (e) => states.push(e.to));
  await flush();
  last().serverOpen("v2");
  last().serverClose(1000);
  await clock.advance(1000);
  assert.equal(ws.state, "closed");
  assert.deepEqual(states, ["closing", "closed"], "never open");
});

test("close() in a statechange listener as the client starts reconnecting: one close event, the final one", async () => {
  const { ws, clock, last } = client();
  const closes: number[] = [];
  ws.on("close", (e) => closes.push(e.code));
  ws.on("statechange", (e) => e.to == "reconnecting" && ws.close());
  await flush();
  last().serverOpen();
  last().serverClose(1006);
  await clock.advance(1000);
  assert.equal(ws.state, "closed");
  assert.deepEqual(closes, [1005], "not the lost connection's 1006 after the client is closed, then 1005");
});

test("close() in a drop listener while send() queues (overflow): the message is dropped as closed, not left in a closed client", async () => {
  const { ws, clock } = client({ queue: { maxMessages: 1 } });
  const drops: string[] = [];
  ws.on("drop", (e) => {
    drops.push(`${String(e.message)}:${e.reason}`);
    if (e.reason == "overflow") ws.close();
  });
  assert.equal(ws.send("a"), "queued");
  assert.equal(ws.send("b"), "dropped", "b pushed a out, and a's drop listener closed the client");
  await clock.advance(1000);
  assert.equal(ws.state, "closed");
  assert.deepEqual(drops, ["a:overflow", "b:closed"]);
  assert.equal(ws.stats.queued, 0);
  assert.equal(ws.bufferedAmount, 0);
});

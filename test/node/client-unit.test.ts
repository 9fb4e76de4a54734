/**
 * ResilientWebSocket with a scripted transport and a fake clock: every timing and policy branch,
 * deterministic and fast.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { test } from "node:test";
import { ResilientWebSocket } from "../../src/client/client.js";
import type { ResilientOptions } from "../../src/client/options.js";
import type { Codec } from "../../src/client/codec.js";
import { isResilientError } from "../../src/errors.js";
import { FakeClock, PingSocket, flush, record, transport } from "./client-helpers.js";

const URL_ = "ws://test.invalid/";

function client<In = unknown, Out = unknown>(opts: ResilientOptions<In, Out> = {}, ping = false) {
  const clock = new FakeClock();
  const t = ping ? transport(PingSocket) : transport();
  const ws = new ResilientWebSocket<In, Out>(URL_, {
    WebSocket: t.WebSocket,
    clock,
    random: () => 0.5,
    window: null,
    ...opts,
  });
  return { ws, clock, ...t };
}

const states = (ws: EventTarget) => record(ws, ["statechange"], (e) => `${e.from}>${e.to}`);
const jsonCodec: Codec<unknown, unknown> = {
  frame: "text",
  encode: (m) => JSON.stringify(m),
  decode: (d) => JSON.parse(d as string),
};

test("statechange sequence: connect, drop, reconnect, close", async () => {
  const { ws, clock, sockets, last } = client();
  const log = states(ws);
  assert.equal(ws.readyState, 0);
  await flush();
  last().serverOpen();
  assert.equal(ws.readyState, 1);
  last().serverClose(1006);
  assert.equal(ws.state, "reconnecting");
  assert.equal(ws.readyState, 0, "CONNECTING while waiting to reconnect");
  await clock.advance(1000);
  assert.equal(sockets.length, 2);
  last().serverOpen();
  ws.close();
  assert.equal(ws.readyState, 2);
  last().serverClose(1000);
  assert.equal(ws.readyState, 3);
  assert.deepEqual(log, [
    "statechange:connecting>open",
    "statechange:open>reconnecting",
    "statechange:reconnecting>connecting",
    "statechange:connecting>open",
    "statechange:open>closing",
    "statechange:closing>closed",
  ]);
});

test("every underlying close reaches onclose, then reconnecting; readyState CLOSED only when final", async () => {
  const { ws, clock, last } = client({ reconnect: { maxRetries: 1 } });
  const seen: string[] = [];
  ws.onclose = (e) => seen.push(`close ${e.code} rs=${ws.readyState}`);
  ws.on("reconnecting", (e) => seen.push(`reconnecting ${e.attempt} ${e.delay} ${e.code}`));
  await flush();
  last().serverClose(1006);
  await clock.advance(10_000);
  last().serverClose(1006);
  assert.deepEqual(seen, ["close 1006 rs=0", "reconnecting 1 750 1006", "close 1006 rs=3"]);
  assert.equal(ws.state, "closed");
});

test("backoff delays grow per failed attempt and reset after stable uptime", async () => {
  const { ws, clock, last } = client({ reconnect: { jitter: "none", resetAfter: 5000 } });
  const delays = record(ws, ["reconnecting"], (e) => `${e.attempt}/${e.delay}`);
  await flush();
  for (let i = 0; i < 3; i++) {
    last().serverClose(1006);
    await clock.advance(10_000);
  }
  last().serverOpen();
  await clock.advance(4_999);
  last().serverClose(1000);
  await clock.advance(10_000);
  last().serverOpen();
  await clock.advance(5_000);
  last().serverClose(1000);
  assert.deepEqual(delays, [
    "reconnecting:1/500",
    "reconnecting:2/1000",
    "reconnecting:3/2000",
    "reconnecting:4/4000",
    "reconnecting:1/500",
  ]);
  assert.equal(ws.attempt, 1);
  ws.close();
});

test("a failed handshake reported by an error event alone (undici 6: no close event, readyState stays CONNECTING) is retried after the backoff, not the connect timeout", async () => {
  const { ws, clock, sockets, last } = client({ connectTimeout: 10_000 });
  const seen = record(ws, ["error", "close", "reconnecting"], (e) => (e.type == "close" ? `${e.code}` : e.type == "reconnecting" ? `${e.attempt} ${e.delay}` : ""));
  await flush();
  last().onerror?.({ type: "error" });
  assert.deepEqual(seen, ["error", "close:1006", "reconnecting:1 750"]);
  assert.deepEqual(sockets[0]!.closeCalls, [[undefined, undefined]], "the stuck socket is closed");
  await clock.advance(750);
  assert.equal(sockets.length, 2);
  ws.close();
});

test("connectTimeout abandons a hanging attempt (error ERR_CONNECT_TIMEOUT) and retries", async () => {
  const { ws, clock, sockets } = client({ connectTimeout: 2000 });
  const errors: unknown[] = [];
  ws.onerror = (e) => errors.push(e.error);
  await flush();
  await clock.advance(1999);
  assert.equal(sockets.length, 1);
  await clock.advance(1);
  assert.equal(sockets[0]!.closeCalls.length, 1, "the hanging socket is closed");
  assert.ok(isResilientError(errors[0]) && errors[0].code == "ERR_CONNECT_TIMEOUT");
  assert.equal(ws.state, "reconnecting");
  await clock.advance(750);
  assert.equal(sockets.length, 2);
  // a late open from the abandoned socket is ignored
  sockets[0]!.serverOpen();
  assert.equal(ws.state, "connecting");
  sockets[1]!.serverOpen();
  assert.equal(ws.state, "open");
  await clock.advance(10_000);
  assert.equal(sockets.length, 2, "the timer was cleared on open");
  ws.close();
});

for (const [code, retried] of [
  [1000, true],
  [1001, true],
  [1006, true],
  [1011, true],
  [1012, true],
  [1008, false],
  [4000, false],
  [4999, false],
  [3000, true],
] as const) {
  test(`close code ${code} from the server is ${retried ? "" : "not "}retried`, async () => {
    const { ws, clock, sockets, last } = client();
    await flush();
    last().serverOpen();
    last().serverClose(code);
    assert.equal(ws.state, retried ? "reconnecting" : "closed");
    await clock.advance(1000);
    assert.equal(sockets.length, retried ? 2 : 1);
    ws.close();
  });
}

test("shouldReconnect overrides the policy; undefined keeps the default", async () => {
  const { ws, clock, sockets, last } = client({
    reconnect: { shouldReconnect: (e) => (e.code == 4001 ? true : e.code == 1006 ? false : undefined) },
  });
  await flush();
  last().serverClose(4001);
  assert.equal(ws.state, "reconnecting");
  await clock.advance(2000);
  last().serverClose(1008);
  assert.equal(ws.state, "closed", "1008 not retried by default");
  assert.equal(sockets.length, 2);

  const b = client({ reconnect: { shouldReconnect: (e) => (e.code == 1006 ? false : undefined) } });
  await flush();
  b.last().serverClose(1006);
  assert.equal(b.ws.state, "closed");
});

test("1013 (try again later) waits at least maxDelay", async () => {
  const { ws, clock, sockets, last } = client({ reconnect: { maxDelay: 8000 } });
  const delays = record(ws, ["reconnecting"], (e) => String(e.delay));
  await flush();
  last().serverOpen();
  last().serverClose(1013);
  await clock.advance(7999);
  assert.equal(sockets.length, 1);
  await clock.advance(1);
  assert.equal(sockets.length, 2);
  assert.deepEqual(delays, ["reconnecting:8000"]);
  ws.close();
});

test("maxRetries: the client gives up and closes for good", async () => {
  const { ws, clock, sockets, last } = client({ reconnect: { maxRetries: 2 } });
  await flush();
  for (let i = 0; i < 3; i++) {
    last().serverClose(1006);
    await clock.advance(60_000);
  }
  assert.equal(sockets.length, 3);
  assert.equal(ws.state, "closed");
});

test("reconnect: false behaves like a plain WebSocket", async () => {
  const { ws, last } = client({ reconnect: false });
  await flush();
  last().serverOpen();
  last().serverClose(1006);
  assert.equal(ws.state, "closed");
});

test("application close() is final: even a server's 1000 is not retried, and no timer remains", async () => {
  const { ws, clock, sockets, last } = client();
  await flush();
  last().serverOpen();
  ws.close(4001, "bye");
  assert.deepEqual(last().closeCalls, [[4001, "bye"]]);
  last().serverClose(1000);
  assert.equal(ws.state, "closed");
  ws.reconnect();
  await clock.advance(60_000);
  assert.equal(sockets.length, 1);
  assert.equal(clock.timers.size, 0);
});

test("send() after close() does not throw (as WebSocket.send): it returns dropped and raises drop (closed, ERR_CLOSED)", async () => {
  const { ws, last } = client();
  const drops: Array<[unknown, string, unknown]> = [];
  ws.on("drop", (e) => drops.push([e.message, e.reason, (e.error as { code?: string } | undefined)?.code]));
  await flush();
  last().serverOpen();
  ws.close();
  assert.equal(ws.send("while closing"), "dropped");
  last().serverClose(1000);
  assert.equal(ws.readyState, 3);
  assert.equal(ws.send("after close"), "dropped");
  assert.deepEqual(drops, [
    ["while closing", "closed", "ERR_CLOSED"],
    ["after close", "closed", "ERR_CLOSED"],
  ]);
  assert.deepEqual(last().sent, [], "nothing reached the transport");
  assert.equal(ws.stats.dropped, 2);
});

test("close() while waiting to reconnect ends at once; its close event comes in a task of its own, like a browser's", async () => {
  const { ws, clock, sockets, last } = client();
  await flush();
  last().serverClose(1006);
  ws.close(1000, "done");
  assert.equal(ws.state, "closed");
  // Added after close() returned, as code written for browsers does.
  const closes = record(ws, ["close"], (e) => String(e.code));
  assert.deepEqual(closes, []);
  await clock.advance(0);
  assert.deepEqual(closes, ["close:1000"]);
  await clock.advance(60_000);
  assert.equal(sockets.length, 1);
});

test("close() validates like the browser", async () => {
  const { ws } = client();
  assert.throws(() => ws.close(1001), { name: "InvalidAccessError" });
  assert.throws(() => ws.close(2999), { name: "InvalidAccessError" });
  assert.throws(() => ws.close(5000), { name: "InvalidAccessError" });
  assert.throws(() => ws.close(1000, "é".repeat(62)), { name: "SyntaxError" });
  assert.equal(ws.state, "connecting");
  ws.close(1000, "é".repeat(61));
  assert.equal(ws.state, "closed");
});

test("abort signal = close(1000), final; an already aborted signal never connects", async () => {
  const ac = new AbortController();
  const { ws, clock, sockets, last } = client({ signal: ac.signal });
  await flush();
  last().serverOpen();
  ac.abort();
  assert.deepEqual(last().closeCalls, [[1000, undefined]]);
  last().serverClose(1000);
  assert.equal(ws.state, "closed");
  await clock.advance(60_000);
  assert.equal(sockets.length, 1);

  const b = client({ signal: AbortSignal.abort() });
  await flush();
  assert.equal(b.sockets.length, 0);
  assert.equal(b.ws.state, "closed");
});

for (const kind of ["sync", "async"] as const) {
  test(`a URL provider that throws (${kind}) is a failed attempt, retried; it is called before every attempt`, async () => {
    let calls = 0;
    const url = kind == "sync"
      ? () => {
          if (++calls == 1) throw new Error("token service down");
          return `ws://test.invalid/?token=${calls}`;
        }
      : async () => {
          if (++calls == 1) throw new Error("token service down");
          return new URL(`ws://test.invalid/?token=${calls}`);
        };
    const clock = new FakeClock();
    const t = transport();
    const ws = new ResilientWebSocket(url, { WebSocket: t.WebSocket, clock, random: () => 0, window: null });
    const errors: unknown[] = [];
    ws.onerror = (e) => errors.push(e.error);
    await flush();
    assert.equal(t.sockets.length, 0);
    assert.ok(isResilientError(errors[0]) && errors[0].code == "ERR_URL_PROVIDER" && /token service down/.test(errors[0].message));
    assert.equal(ws.state, "reconnecting");
    await clock.advance(500);
    assert.equal(t.last().url, "ws://test.invalid/?token=2");
    assert.equal(ws.url, "ws://test.invalid/?token=2");
    t.last().serverOpen();
    t.last().serverClose(1006);
    await clock.advance(1000);
    assert.equal(t.last().url, "ws://test.invalid/?token=3");
    ws.close();
  });
}

test("protocols provider is evaluated per attempt and transport options are passed as 3rd argument", async () => {
  let n = 0;
  const { clock, sockets, last, ws } = client({ protocols: async () => [`v${++n}`], transport: { headers: { a: "b" } } });
  await flush();
  assert.deepEqual(last().protocols, ["v1"]);
  assert.deepEqual(last().options, { headers: { a: "b" } });
  last().serverClose(1006);
  await clock.advance(1000);
  assert.deepEqual(sockets[1]!.protocols, ["v2"]);
  ws.close();
  const b = client();
  assert.equal(b.sockets.length, 0);
  await flush();
  assert.equal(b.last().options, undefined, "no 3rd argument without transport options");
  b.ws.close();
});

test("send while not open queues; the queue flushes in order before open listeners run", async () => {
  const { ws, last } = client();
  assert.equal(ws.send("a"), "queued");
  assert.equal(ws.send("b"), "queued");
  assert.equal(ws.bufferedAmount, 2);
  assert.equal(ws.stats.queued, 2);
  await flush();
  let atOpen: unknown[] = [];
  ws.onopen = () => {
    atOpen = [...last().sent];
    ws.send("c");
  };
  last().serverOpen();
  assert.deepEqual(atOpen, ["a", "b"]);
  assert.deepEqual(last().sent, ["a", "b", "c"]);
  assert.equal(ws.send("d"), "sent");
  assert.equal(ws.bufferedAmount, 0);
  const s = ws.stats;
  assert.equal(s.messagesOut, 4);
  assert.equal(s.bytesOut, 4);
  ws.close();
});

test("messages sent during an outage go out once, in order, after the reconnect", async () => {
  const { ws, clock, sockets, last } = client();
  await flush();
  last().serverOpen();
  ws.send("1");
  last().serverClose(1006);
  for (const m of ["2", "3", "4"]) assert.equal(ws.send(m), "queued");
  await clock.advance(1000);
  last().serverOpen();
  assert.deepEqual(sockets[0]!.sent, ["1"]);
  assert.deepEqual(sockets[1]!.sent, ["2", "3", "4"]);
  ws.close();
});

test("a socket that is closing but not yet closed queues instead of reporting sent", async () => {
  const { ws, clock, sockets, last } = client();
  await flush();
  last().serverOpen();
  last().readyState = 2;
  assert.equal(ws.send("x"), "queued");
  last().serverClose(1006);
  await clock.advance(1000);
  last().serverOpen();
  assert.deepEqual(sockets[1]!.sent, ["x"]);
  ws.close();
});

test("overflow policies through send(): drop-oldest, drop-newest, error; byte accounting with multibyte text", async () => {
  const a = client({ queue: { maxMessages: 2 } });
  const dropsA = record(a.ws, ["drop"], (e) => `${e.message}/${e.reason}`);
  assert.deepEqual(["x", "y", "z"].map((m) => a.ws.send(m)), ["queued", "queued", "queued"]);
  assert.deepEqual(dropsA, ["drop:x/overflow"]);
  assert.equal(a.ws.stats.dropped, 1);

  const b = client({ queue: { maxBytes: 7, overflow: "drop-newest" } });
  const dropsB = record(b.ws, ["drop"], (e) => `${e.message}/${e.reason}`);
  assert.equal(b.ws.send("€€"), "queued"); // 6 bytes
  assert.equal(b.ws.bufferedAmount, 6);
  assert.equal(b.ws.send("é"), "dropped"); // 2 more bytes: 8 > 7
  assert.deepEqual(dropsB, ["drop:é/overflow"]);

  const c = client({ queue: { maxMessages: 1, overflow: "error" } });
  const dropsC = record(c.ws, ["drop"]);
  c.ws.send("1");
  assert.throws(() => c.ws.send("2"), (e: unknown) => isResilientError(e) && e.code == "ERR_QUEUE_FULL");
  assert.deepEqual(dropsC, []);
  for (const x of [a, b, c]) x.ws.close();
});

test("ttl drops stale messages at flush, with reason ttl", async () => {
  const { ws, clock, last } = client({ queue: { ttl: 1000 } });
  const drops = record(ws, ["drop"], (e) => `${e.message}/${e.reason}`);
  ws.send("old");
  await clock.advance(800);
  ws.send("new");
  await clock.advance(300);
  last().serverOpen();
  assert.deepEqual(last().sent, ["new"]);
  assert.deepEqual(drops, ["drop:old/ttl"]);
  ws.close();
});

test("final close drops what is still queued, each with a drop event", async () => {
  const { ws, clock } = client();
  const log = record(ws, ["drop", "close"], (e) => String(e.reason ?? ""));
  ws.send("a");
  ws.send("b");
  ws.close();
  await clock.advance(0);
  assert.deepEqual(log, ["drop:closed", "drop:closed", "close"]);
  assert.equal(ws.stats.dropped, 2);
});

test("keepalive with a ping transport: pongs keep it, silence replaces the connection within interval + timeout", async () => {
  const { ws, clock, sockets, last } = client({ keepalive: { interval: 1000, timeout: 500 } }, true);
  await flush();
  const s0 = last() as PingSocket;
  s0.serverOpen();
  await clock.advance(1000);
  assert.equal(s0.pings, 1);
  await clock.advance(20);
  s0.serverPong();
  assert.equal(ws.stats.lastRtt, 20);
  for (let i = 0; i < 5; i++) {
    await clock.advance(1000);
    s0.serverPong();
  }
  assert.equal(s0.pings, 6);
  assert.equal(ws.state, "open", "answered pings keep the connection");
  const pingsBefore = s0.pings;
  const log = record(ws, ["close", "reconnecting"], (e) => String(e.reason));
  const t0 = clock.t;
  // the server goes silent: the next probe is not answered
  let deadAt = -1;
  ws.on("statechange", (e) => e.to == "reconnecting" && (deadAt = clock.t));
  await clock.advance(3000);
  assert.ok(s0.pings > pingsBefore);
  assert.ok(deadAt > 0 && deadAt - t0 <= 1500, `dead after ${deadAt - t0} ms`);
  assert.deepEqual(log.slice(0, 2), ["close:keepalive timeout", "reconnecting:keepalive timeout"]);
  assert.equal(sockets.length, 2);
  ws.close();
});

test("a connection the client abandons (keepalive timeout) after a stable uptime resets the attempt count", async () => {
  const { ws, clock, last } = client({ reconnect: { jitter: "none", resetAfter: 5000 }, keepalive: { interval: 10_000, timeout: 500 } }, true);
  const delays = record(ws, ["reconnecting"], (e) => `${e.attempt}/${e.delay}`);
  await flush();
  for (let i = 0; i < 2; i++) {
    last().serverClose(1006);
    await clock.advance(10_000);
  }
  last().serverOpen();
  // Silent for interval + timeout (> resetAfter): declared dead by the client itself.
  await clock.advance(10_500);
  assert.deepEqual(delays, ["reconnecting:1/500", "reconnecting:2/1000", "reconnecting:1/500"]);
  ws.close();
});

test("keepalive with an application heartbeat: message/isPong, replies not delivered", async () => {
  const { ws, clock, last } = client({
    keepalive: { interval: 1000, timeout: 500, message: "ping", isPong: (d) => d == "pong" },
  });
  const messages = record(ws, ["message"], (e) => String(e.data));
  await flush();
  last().serverOpen();
  await clock.advance(1000);
  assert.deepEqual(last().sent, ["ping"]);
  last().serverMessage("pong");
  last().serverMessage("hello");
  assert.deepEqual(messages, ["message:hello"]);
  // Heartbeat probes and replies are counted in neither direction (protocol pings are not either).
  const { messagesIn, bytesIn, messagesOut, bytesOut } = ws.stats;
  assert.deepEqual({ messagesIn, bytesIn, messagesOut, bytesOut }, { messagesIn: 1, bytesIn: 5, messagesOut: 0, bytesOut: 0 });
  await clock.advance(1000);
  assert.deepEqual(last().sent, ["ping", "ping"]);
  await clock.advance(500);
  assert.equal(ws.state, "reconnecting", "unanswered heartbeat: dead");
  ws.close();
});

test("keepalive: bytes the transport receives while a probe waits (a large message arriving) keep the connection; once they stop, it is dead", async () => {
  // The pong comes after the message (TCP keeps order), and no message event fires until the
  // message is complete: the built-in client's bytesReceived shows the link is busy, not dead.
  const { ws, clock, last } = client({ keepalive: { interval: 1000, timeout: 500 } }, true);
  await flush();
  const s = last() as PingSocket & { bytesReceived: number };
  s.bytesReceived = 0;
  s.serverOpen();
  await clock.advance(1000);
  assert.equal(s.pings, 1);
  for (let i = 0; i < 8; i++) {
    s.bytesReceived += 65536;
    await clock.advance(250);
  }
  assert.equal(ws.state, "open", "4 timeouts later, bytes still arriving");
  let deadAt = -1;
  ws.on("statechange", (e) => e.to == "reconnecting" && (deadAt = clock.t));
  const stoppedAt = clock.t;
  await clock.advance(2000);
  assert.ok(deadAt > 0 && deadAt - stoppedAt <= 500, `dead ${deadAt - stoppedAt} ms after the bytes stopped`);
  ws.close();
});

test("keepalive: a send backlog that drains (bufferedAmount falls) keeps the connection; a stuck one does not", async () => {
  // The probe waits behind the backlog; bytes leaving a transport that had to hold them mean the
  // peer acknowledges them, in browsers (heartbeat message) as with pings.
  for (const ping of [true, false]) {
    const { ws, clock, last } = client(ping ? { keepalive: { interval: 1000, timeout: 500 } } : { keepalive: { interval: 1000, timeout: 500, message: "hb", isPong: (d) => d == "hb-ok" } }, ping);
    await flush();
    const s = last();
    s.serverOpen();
    s.bufferedAmount = 4_000_000;
    ws.send(new Uint8Array(4_000_000));
    await clock.advance(1000);
    for (let i = 0; i < 6; i++) {
      s.bufferedAmount -= 500_000;
      await clock.advance(250);
    }
    assert.equal(ws.state, "open", `${ping ? "ping" : "heartbeat"}: the backlog drains, the link is busy`);
    // The backlog stops draining: the link died.
    const stuckAt = clock.t;
    let deadAt = -1;
    ws.on("statechange", (e) => e.to == "reconnecting" && (deadAt = clock.t));
    await clock.advance(2000);
    assert.ok(deadAt > 0 && deadAt - stuckAt <= 1000, `${ping ? "ping" : "heartbeat"}: dead ${deadAt - stuckAt} ms after the backlog stuck`);
    ws.close();
  }
});

test("keepalive: a peer that reads but never answers is not kept alive by our own sending (only bytes ahead of the probe count)", async () => {
  // The browser chaos test's muted server: it keeps reading, so a backlog of later messages keeps
  // leaving, but the heartbeat went out with nothing ahead of it and is never answered.
  for (const ping of [true, false]) {
    const { ws, clock, last } = client(ping ? { keepalive: { interval: 1000, timeout: 500 } } : { keepalive: { interval: 1000, timeout: 500, message: "hb", isPong: (d) => d == "hb-ok" } }, ping);
    await flush();
    const s = last();
    s.serverOpen();
    let deadAt = -1;
    ws.on("statechange", (e) => e.to == "reconnecting" && deadAt < 0 && (deadAt = clock.t));
    await clock.advance(1000); // the probe, behind nothing
    for (let i = 0; i < 20 && deadAt < 0; i++) {
      s.bufferedAmount += 400_000;
      ws.send(new Uint8Array(400_000));
      await clock.advance(50);
      s.bufferedAmount -= 300_000;
      await clock.advance(50);
    }
    assert.equal(deadAt, 1500, `${ping ? "ping" : "heartbeat"}: dead one timeout after the probe`);
    ws.close();
  }
});

test("keepalive: sends the transport takes at once prove nothing (free socket buffers), so a dead link is still dead within interval + timeout", async () => {
  // On a dead link the kernel still takes writes until its buffer is full: bufferedAmount stays 0.
  const { ws, clock, last } = client({ keepalive: { interval: 1000, timeout: 500 } }, true);
  await flush();
  const s = last() as PingSocket;
  s.serverOpen();
  let deadAt = -1;
  ws.on("statechange", (e) => e.to == "reconnecting" && (deadAt = clock.t));
  for (let i = 0; i < 12; i++) {
    ws.send(new Uint8Array(10_000));
    await clock.advance(125);
  }
  assert.equal(deadAt, 1500);
  ws.close();
});

test("a sent message is never converted to a primitive: a 40 MiB Uint8Array is not joined into a string, a message's toString is not called", async () => {
  // `m != HEARTBEAT` (loose, against a symbol) ran ToPrimitive on every message sent, and again on
  // each one reported unsent: for a typed array that is Array#join, 600 ms for 40 MiB in Node,
  // 2.8 s in Bun; a message whose valueOf or toString throws made send() throw.
  const conversions: string[] = [];
  const message = {
    n: 1,
    [Symbol.toPrimitive](hint: string) {
      conversions.push(hint);
      throw new Error("converted");
    },
  };
  const { ws, clock, last } = client<unknown, unknown>({ codec: jsonCodec, keepalive: { interval: 1000, timeout: 500 } }, true);
  const drops = record(ws, ["drop"], (e) => String(e.reason));
  await flush();
  const s = last();
  s.serverOpen();
  s.bufferedAmount = 100;
  assert.equal(ws.send(message), "sent");
  // The dead connection reports it unsent: the second place that compared it.
  await clock.advance(1500);
  assert.deepEqual(drops, ["drop:unsent"]);
  assert.deepEqual(conversions, []);
  const big = new Uint8Array(40 << 20);
  const join = Uint8Array.prototype.join;
  let joined = 0;
  Uint8Array.prototype.join = function (this: Uint8Array, ...args: [string?]) {
    joined++;
    return join.apply(this, args);
  };
  try {
    await clock.advance(1000);
    const raw = client({ keepalive: { interval: 1000, timeout: 500 } }, true);
    await flush();
    raw.last().serverOpen();
    raw.last().bufferedAmount = big.length;
    raw.ws.send(big);
    await raw.clock.advance(1500);
    assert.equal(joined, 0);
    raw.ws.close();
  } finally {
    Uint8Array.prototype.join = join;
  }
  ws.close();
});

test("without ping and without heartbeat an idle link is never declared dead", async () => {
  const { ws, clock, last } = client({ keepalive: { interval: 1000, timeout: 500 } });
  await flush();
  last().serverOpen();
  await clock.advance(3_600_000);
  assert.equal(ws.state, "open");
  assert.equal(clock.timers.size, 0, "no timers at all");
  ws.close();
});

test("any inbound message is liveness for ping transports too", async () => {
  const { ws, clock, last } = client({ keepalive: { interval: 1000, timeout: 500 } }, true);
  await flush();
  last().serverOpen();
  for (let i = 0; i < 20; i++) {
    await clock.advance(400);
    last().serverMessage("tick");
  }
  assert.equal((last() as PingSocket).pings, 0);
  assert.equal(ws.state, "open");
  ws.close();
});

test("offline pauses attempts without spending the budget; online reconnects at once", async () => {
  const win = new EventTarget();
  const { ws, clock, sockets, last } = client({ window: win, reconnect: { maxRetries: 1 } });
  await flush();
  last().serverOpen();
  win.dispatchEvent(new Event("offline"));
  last().serverClose(1006);
  assert.equal(ws.state, "reconnecting");
  await clock.advance(600_000);
  assert.equal(sockets.length, 1, "no attempt while offline");
  assert.equal(ws.attempt, 0);
  win.dispatchEvent(new Event("online"));
  await flush();
  assert.equal(sockets.length, 2, "online: at once");
  last().serverClose(1006);
  assert.equal(ws.state, "reconnecting", "budget still available");
  win.dispatchEvent(new Event("offline"));
  await clock.advance(600_000);
  assert.equal(sockets.length, 2, "a scheduled attempt is paused by offline");
  win.dispatchEvent(new Event("online"));
  await flush();
  assert.equal(sockets.length, 3);
  ws.close();
});

test("back to visible: a stale socket is replaced, an open one is probed", async () => {
  const win = Object.assign(new EventTarget(), { document: { visibilityState: "visible" } });
  const { ws, clock, sockets, last } = client({ window: win, keepalive: { interval: 60_000, timeout: 500 } }, true);
  await flush();
  last().serverOpen();
  win.dispatchEvent(new Event("visibilitychange"));
  assert.equal((last() as PingSocket).pings, 1, "probed at once");
  (last() as PingSocket).serverPong();
  await clock.advance(1000);
  assert.equal(ws.state, "open");
  win.document.visibilityState = "hidden";
  win.dispatchEvent(new Event("visibilitychange"));
  assert.equal((last() as PingSocket).pings, 1, "hidden: nothing");
  win.document.visibilityState = "visible";
  last().readyState = 3; // died in the background, close event never came
  win.dispatchEvent(new Event("visibilitychange"));
  assert.equal(ws.state, "reconnecting");
  await clock.advance(1000);
  assert.equal(sockets.length, 2);
  ws.close();
});

test("reconnect() drops the connection and connects again at once", async () => {
  const { ws, clock, sockets, last } = client();
  await flush();
  last().serverOpen();
  const log = record(ws, ["close", "reconnecting"], (e) => `${e.code} ${e.reason}`);
  ws.reconnect();
  // A clean close (1000), not a terminate; the next attempt does not wait for the server's reply.
  assert.deepEqual(sockets[0]!.closeCalls, [[1000, "reconnect()"]]);
  assert.equal(sockets[0]!.terminated, false);
  await clock.advance(0);
  assert.equal(sockets.length, 2);
  assert.deepEqual(log, ["close:1000 reconnect()", "reconnecting:1000 reconnect()"]);
  // A code and reason of the caller's, checked like close()'s.
  last().serverOpen();
  assert.throws(() => ws.reconnect(1001), { name: "InvalidAccessError" });
  ws.reconnect(4001, "switch region");
  assert.deepEqual(sockets[1]!.closeCalls, [[4001, "switch region"]]);
  assert.deepEqual(log.slice(2), ["close:4001 switch region", "reconnecting:4001 switch region"]);
  // During an attempt (nothing open yet) it is abandoned like a failed attempt.
  await clock.advance(0);
  ws.reconnect();
  assert.deepEqual(log.slice(4), ["close:1006 reconnect()", "reconnecting:1006 reconnect()"]);
  ws.close();
});

test("codec: send encodes, messages are decoded, binaryType arraybuffer; decodeerror keeps the connection", async () => {
  const { ws, last } = client({ codec: jsonCodec });
  const log = record(ws, ["message", "decodeerror"], (e) => JSON.stringify(e.data));
  const other: string[] = [];
  ws.addEventListener("message", () => other.push("ok"));
  ws.send({ a: 1 });
  await flush();
  assert.equal(last().binaryType, "arraybuffer");
  last().serverOpen();
  assert.deepEqual(last().sent, ['{"a":1}']);
  last().serverMessage('{"b":2}');
  last().serverMessage("{not json");
  last().serverMessage("[3]");
  assert.deepEqual(log, ['message:{"b":2}', 'decodeerror:"{not json"', "message:[3]"]);
  assert.deepEqual(other, ["ok", "ok"]);
  assert.equal(ws.state, "open");
  ws.close();
});

test("codecs by subprotocol: chosen after the handshake; queued messages re-encoded if needed", async () => {
  const upper: Codec<string, string> = { frame: "text", encode: (m) => m.toUpperCase(), decode: (d) => `up:${d}` };
  const lower: Codec<string, string> = { frame: "text", encode: (m) => m.toLowerCase(), decode: (d) => `low:${d}` };
  const { ws, clock, last } = client<string, string>({ protocols: ["up", "low"], codecs: { up: upper, low: lower } });
  const msgs = record(ws, ["message"], (e) => String(e.data));
  ws.send("Hello");
  await flush();
  last().serverOpen("low");
  assert.equal(ws.protocol, "low");
  assert.deepEqual(last().sent, ["hello"], "queued with the first codec, re-encoded with the selected one");
  last().serverMessage("x");
  last().serverClose(1006);
  await clock.advance(1000);
  last().serverOpen("up");
  ws.send("Hi");
  last().serverMessage("y");
  assert.deepEqual(last().sent, ["HI"]);
  assert.deepEqual(msgs, ["message:low:x", "message:up:y"]);
  ws.close();
});

test("requireProtocol: none selected fails the connection, not retried, error ERR_PROTOCOL_NOT_SELECTED", async () => {
  const { ws, clock, sockets, last } = client({ protocols: ["a", "b"], requireProtocol: true });
  const log = record(ws, ["open", "error", "close"], (e) =>
    e.type == "error" ? String((e.error as { code?: string }).code) : e.type == "close" ? String(e.code) : "");
  await flush();
  last().serverOpen("");
  assert.deepEqual(log, ["error:ERR_PROTOCOL_NOT_SELECTED", "close:1002"]);
  assert.deepEqual(last().closeCalls, [[1002, "subprotocol not selected"]]);
  assert.equal(ws.state, "closed");
  await clock.advance(60_000);
  assert.equal(sockets.length, 1);

  const b = client({ protocols: ["a"], requireProtocol: true });
  await flush();
  b.last().serverOpen("a");
  assert.equal(b.ws.state, "open");
  b.ws.close();
});

test("on() returns an unsubscribe; on* handlers and addEventListener both run; dispatchEvent reaches onX", async () => {
  const { ws, last } = client();
  const seen: string[] = [];
  const off = ws.on("message", (e) => seen.push(`on:${e.data}`));
  ws.onmessage = (e) => seen.push(`onmessage:${e.data}`);
  await flush();
  last().serverOpen();
  last().serverMessage("1");
  off();
  last().serverMessage("2");
  ws.onmessage = null;
  last().serverMessage("3");
  assert.deepEqual(seen, ["on:1", "onmessage:1", "onmessage:2"]);
  let opened = 0;
  ws.onopen = () => opened++;
  ws.dispatchEvent(new Event("open"));
  assert.equal(opened, 1);
  ws.close();
});

test("on* handlers are HTML event handlers: one listener, placed when first set, as WebSocket's", async () => {
  const { ws, last } = client();
  await flush();
  last().serverOpen();
  const calls: string[] = [];
  const callsFor = (message: string): string[] => {
    calls.length = 0;
    last().serverMessage(message);
    return [...calls];
  };
  const a = (): number => calls.push("a");
  const b = (): number => calls.push("b");
  const c = (): number => calls.push("c");
  ws.addEventListener("message", a);
  ws.onmessage = b;
  ws.addEventListener("message", c);
  assert.deepEqual(callsFor("1"), ["a", "b", "c"], "a handler runs where it was set, not before every listener");
  ws.onmessage = a;
  assert.deepEqual(callsFor("2"), ["a", "a", "c"], "a replaced handler keeps the place of the first one");
  ws.onmessage = null;
  ws.onmessage = b;
  assert.deepEqual(callsFor("3"), ["a", "c", "b"], "a handler set again after null comes last");
  (ws as unknown as { onmessage: unknown }).onmessage = "not a function";
  assert.equal(ws.onmessage, null);
  assert.deepEqual(callsFor("4"), ["a", "c"]);
  ws.removeEventListener("message", a);
  ws.removeEventListener("message", c);
  ws.close();
});

test("opened() resolves on open, at once when already open", async () => {
  const { ws, last } = client();
  const p = ws.opened();
  await flush();
  last().serverOpen();
  await p;
  await ws.opened();
  assert.equal(ws.stats.connects, 1);
  ws.close();
});

test("opened() waiters share one promise and one listener; each wait period gets a fresh one", async () => {
  const { ws, clock, last } = client();
  const before = getEventListeners(ws, "statechange").length;
  const waits = Array.from({ length: 50 }, () => ws.opened());
  assert.equal(getEventListeners(ws, "statechange").length, before + 1, "50 waiters, one listener (Node warns past 10)");
  await flush();
  last().serverOpen();
  await Promise.all(waits);
  assert.equal(getEventListeners(ws, "statechange").length, before);
  // After a drop, a new wait must not get the settled promise of the last period.
  last().serverClose(1006);
  let settled = false;
  const again = ws.opened().then(() => (settled = true));
  await flush();
  assert.equal(settled, false, "not open: still waiting");
  await clock.advance(1000);
  last().serverOpen();
  await again;
  await ws.opened();
  ws.close();
  const lost = [ws.opened(), ws.opened()]; // closing: they wait for the end, then reject
  last().serverClose(1000);
  lost.push(ws.opened());
  for (const p of lost) await assert.rejects(p, (e: unknown) => isResilientError(e) && e.code == "ERR_CLOSED");
});

test("stats count connects, reconnects, messages and bytes", async () => {
  const { ws, clock, last } = client();
  await flush();
  last().serverOpen();
  last().serverMessage("€uro");
  last().serverMessage(new ArrayBuffer(10));
  last().serverClose(1006);
  await clock.advance(1000);
  last().serverOpen();
  ws.send("é");
  assert.deepEqual({ ...ws.stats }, {
    connects: 2,
    reconnects: 1,
    messagesIn: 2,
    messagesOut: 1,
    bytesIn: 16,
    bytesOut: 2,
    queued: 0,
    dropped: 0,
    lastRtt: undefined,
  });
  ws.close();
});

test("W3C surface: constants, url, protocol, extensions, binaryType", async () => {
  const { ws, last } = client({ protocols: "chat" });
  assert.equal(ResilientWebSocket.OPEN, 1);
  assert.equal(ws.CLOSED, 3);
  assert.equal(ws.url, URL_);
  assert.equal(ws.binaryType, "blob");
  ws.binaryType = "arraybuffer";
  // WebIDL enum attribute: a value outside the enum is ignored, before the socket exists too.
  (ws as { binaryType: string }).binaryType = "text";
  assert.equal(ws.binaryType, "arraybuffer");
  await flush();
  assert.equal(last().binaryType, "arraybuffer");
  last().extensions = "permessage-deflate";
  last().serverOpen("chat");
  assert.equal(ws.protocol, "chat");
  assert.equal(ws.extensions, "permessage-deflate");
  ws.close();
});

test("without any WebSocket class the constructor says so", () => {
  assert.throws(() => new ResilientWebSocket(URL_, { window: null }), (e: unknown) => isResilientError(e) && e.code == "ERR_INVALID_ARGUMENT");
});

test("a close listener calling close() is final: no reconnecting event, no timer", async () => {
  const { ws, clock, sockets, last } = client();
  const log = record(ws, ["reconnecting"]);
  ws.onclose = () => ws.close();
  await flush();
  last().serverClose(1006);
  assert.equal(ws.state, "closed");
  assert.deepEqual(log, []);
  await clock.advance(60_000);
  assert.equal(sockets.length, 1);
});

test("plain JS new ResilientWebSocket(url, protocols) works like new WebSocket(url, protocols)", async () => {
  const t = transport();
  class Global extends ResilientWebSocket {
    static override defaultWebSocket = t.WebSocket;
  }
  // TypeScript code passes { protocols }; JS code written for the W3C signature passes them directly
  const a = new Global(URL_, "chat" as never);
  const b = new Global(URL_, ["v2", "v1"] as never);
  await flush();
  assert.deepEqual(t.sockets.map((s) => s.protocols), ["chat", ["v2", "v1"]]);
  a.close();
  b.close();
});

test("connectTimeout also covers a URL provider that never settles: the attempt is retried", async () => {
  let calls = 0;
  const clock = new FakeClock();
  const t = transport();
  const ws = new ResilientWebSocket(() => (++calls == 1 ? new Promise<string>(() => {}) : URL_), {
    WebSocket: t.WebSocket,
    clock,
    random: () => 0,
    connectTimeout: 1000,
    window: null,
  });
  const errors: unknown[] = [];
  ws.onerror = (e) => errors.push(e.error);
  await clock.advance(999);
  assert.equal(ws.state, "connecting");
  await clock.advance(1);
  assert.ok(isResilientError(errors[0]) && errors[0].code == "ERR_CONNECT_TIMEOUT");
  await clock.advance(500);
  assert.equal(calls, 2);
  assert.equal(t.sockets.length, 1);
  t.last().serverOpen();
  assert.equal(ws.state, "open");
  ws.close();
});

test("a handshake refused with Retry-After (429) waits at least that long before the next attempt", async () => {
  const { ws, clock, sockets, last } = client({ reconnect: { minDelay: 100, maxDelay: 60_000 } });
  const delays = record(ws, ["reconnecting"], (e) => String(e.delay));
  await flush();
  const refused = Object.assign(new Error("HTTP 429"), { status: 429, retryAfter: 9_000 });
  last().readyState = 3;
  last().onerror!({ type: "error", error: refused });
  last().onclose!({ type: "close", code: 1006, reason: "", wasClean: false });
  assert.deepEqual(delays, ["reconnecting:9000"]);
  await clock.advance(8_999);
  assert.equal(sockets.length, 1);
  await clock.advance(1);
  assert.equal(sockets.length, 2);
  // The floor applies once: the next failure without Retry-After backs off normally.
  await flush();
  last().serverClose(1006);
  assert.deepEqual(delays, ["reconnecting:9000", "reconnecting:250"]);
  ws.close();
});

test("a transport's close code 0 (Deno's failed handshake) is reported as 1006, like browsers", async () => {
  const { ws, last } = client();
  const closes = record(ws, ["close"], (e) => String(e.code));
  await flush();
  last().readyState = 3;
  last().onclose!({ type: "close", code: 0, reason: "", wasClean: false });
  assert.deepEqual(closes, ["close:1006"]);
  ws.close();
});

test("the queue is flushed before statechange: a send or close() in a statechange listener comes after it", async () => {
  const { ws, clock, last } = client();
  ws.send("q1");
  ws.send("q2");
  await flush();
  ws.on("statechange", (e) => e.to == "open" && ws.send("from-statechange"));
  last().serverOpen();
  assert.deepEqual(last().sent, ["q1", "q2", "from-statechange"]);
  ws.close();

  // close() from the listener: the queued messages already went out, nothing is lost unreported.
  const b = client();
  const log = record(b.ws, ["open", "drop", "close"]);
  b.ws.send("q1");
  await flush();
  b.ws.on("statechange", (e) => e.to == "open" && b.ws.close(1000));
  b.last().serverOpen();
  assert.deepEqual(b.last().sent, ["q1"]);
  assert.deepEqual(b.last().closeCalls, [[1000, undefined]]);
  assert.equal(b.ws.state, "closing");
  b.last().serverClose(1000);
  await b.clock.advance(0);
  assert.deepEqual(log, ["close"], "no open event for a connection closed before it was announced");
  await clock.advance(0);
});

test("a queued message the negotiated codec cannot encode is dropped with reason encode; the rest go out", async () => {
  const strict: Codec<unknown, unknown> = {
    frame: "text",
    encode: (m) => {
      if (typeof m != "string") throw new TypeError("strict: strings only");
      return m;
    },
    decode: (d) => d,
  };
  const { ws, last } = client<unknown, unknown>({ protocols: ["json", "strict"], codecs: { json: jsonCodec, strict } });
  const drops: Array<{ message: unknown; reason: string; error: unknown }> = [];
  ws.on("drop", (e) => drops.push({ message: e.message, reason: e.reason, error: e.error }));
  const opens = record(ws, ["open"]);
  ws.send("first");
  ws.send({ obj: 1 });
  ws.send("third");
  await flush();
  last().serverOpen("strict");
  assert.deepEqual(last().sent, ["first", "third"]);
  assert.equal(drops.length, 1);
  assert.deepEqual(drops[0]!.message, { obj: 1 });
  assert.equal(drops[0]!.reason, "encode");
  assert.match(String(drops[0]!.error), /strings only/);
  assert.equal(ws.stats.dropped, 1);
  assert.equal(ws.stats.queued, 0);
  assert.deepEqual(opens, ["open"]);
  assert.equal(ws.state, "open");
  ws.close();
});

test("a static URL no attempt can use throws SyntaxError in the constructor, like new WebSocket(url)", () => {
  const { WebSocket } = transport();
  for (const bad of ["ftp://127.0.0.1/x", "ws://127.0.0.1/#frag", "ws://127.0.0.1/#", "not a url", "/relative/without/base"])
    assert.throws(() => new ResilientWebSocket(bad, { WebSocket, window: null }), { name: "SyntaxError" }, bad);
  for (const good of ["ws://127.0.0.1/", "wss://example.com:8443/p?q=1", "http://127.0.0.1/", "HTTPS://example.com/", new URL("ws://127.0.0.1/")]) {
    const ws = new ResilientWebSocket(good, { WebSocket, window: null, clock: new FakeClock() });
    ws.close();
  }
});

test("attempt goes back to 0 once the connection has stayed open resetAfter ms", async () => {
  const { ws, clock, last } = client({ reconnect: { resetAfter: 200 } });
  await flush();
  last().serverClose(1006);
  assert.equal(ws.attempt, 1);
  await clock.advance(1000);
  last().serverOpen();
  assert.equal(ws.attempt, 1, "a connection open for less than resetAfter may still be a flapping one");
  await clock.advance(199);
  assert.equal(ws.attempt, 1);
  await clock.advance(1);
  assert.equal(ws.attempt, 0);
  ws.close();
});

test("reconnect() reconnects even with reconnect: false (which stops automatic retries only)", async () => {
  const { ws, clock, sockets, last } = client({ reconnect: false });
  await flush();
  last().serverOpen();
  ws.reconnect();
  await clock.advance(0);
  assert.equal(sockets.length, 2);
  last().serverOpen();
  assert.equal(ws.state, "open");
  last().serverClose(1006);
  assert.equal(ws.state, "closed", "an unasked drop is still final");
  await clock.advance(0);
});

test("an already aborted signal: the close event comes after the constructor returns", async () => {
  const { ws, clock, sockets } = client({ signal: AbortSignal.abort() });
  const closes = record(ws, ["close"], (e) => String(e.code));
  assert.equal(ws.state, "closed");
  await clock.advance(0);
  assert.deepEqual(closes, ["close:1000"]);
  assert.equal(sockets.length, 0);
});

test("ttl: an expired queued message raises drop when it expires; stats and bufferedAmount stop counting it", async () => {
  const { ws, clock } = client({ queue: { ttl: 1000 } });
  const drops = record(ws, ["drop"], (e) => `${e.message}/${e.reason}`);
  ws.send("old");
  assert.equal(ws.bufferedAmount, 3);
  await clock.advance(1001);
  assert.deepEqual(drops, ["drop:old/ttl"]);
  assert.equal(ws.stats.queued, 0);
  assert.equal(ws.bufferedAmount, 0);
  ws.close();
  await clock.advance(0);
  assert.deepEqual(drops, ["drop:old/ttl"], "reported once, as ttl, not again as closed");
});

test("messages the transport had not sent when the connection ended raise drop (reason unsent), oldest first", async () => {
  const { ws, clock, last } = client({ reconnect: { minDelay: 10, maxDelay: 10 } });
  const drops = record(ws, ["drop", "close"], (e) => (e.type == "drop" ? `${e.message}/${e.reason}` : String(e.code)));
  await flush();
  const s = last();
  s.serverOpen();
  s.bufferedAmount = 1000; // the transport is still sending
  ws.send("a");
  ws.send("bb");
  ws.send("ccc");
  // Its buffer shrank to the last 4 bytes: "ccc" and one byte of "bb" never left.
  s.bufferedAmount = 4;
  s.serverClose(1006);
  assert.deepEqual(drops, ["drop:bb/unsent", "drop:ccc/unsent", "close:1006"]);
  assert.equal(ws.stats.dropped, 2);
  // A connection whose transport sent everything reports nothing.
  await clock.advance(10);
  last().serverOpen();
  ws.send("d");
  last().serverClose(1006);
  assert.deepEqual(drops.slice(3), ["close:1006"]);
  ws.close();
  await clock.advance(0);
});

test("reconnect() of an open connection reports its unsent messages only if that connection then closes uncleanly", async () => {
  const { ws, clock, last } = client({ reconnect: { minDelay: 10, maxDelay: 10 } });
  const drops = record(ws, ["drop"], (e) => `${e.message}/${e.reason}`);
  await flush();
  const first = last();
  first.serverOpen();
  first.bufferedAmount = 5;
  ws.send("hello");
  ws.reconnect();
  assert.deepEqual(first.closeCalls, [[1000, "reconnect()"]]);
  // The transport sends what it holds before its close frame: a clean close means it all arrived.
  first.serverClose(1000);
  assert.deepEqual(drops, []);
  await clock.advance(0);
  const second = last();
  assert.notEqual(second, first);
  second.serverOpen();
  second.bufferedAmount = 5;
  ws.send("again");
  ws.reconnect();
  // This one never completes its closing handshake: "again" may not have left.
  second.serverClose(1006);
  assert.deepEqual(drops, ["drop:again/unsent"]);
  ws.close();
  await clock.advance(0);
});

test("a connection the client abandons (keepalive timeout) reports its unsent messages before dropping it", async () => {
  const { ws, clock, last } = client({ keepalive: { interval: 1000, timeout: 500 } }, true);
  const drops = record(ws, ["drop"], (e) => `${e.message}/${e.reason}`);
  await flush();
  const s = last() as PingSocket;
  s.serverOpen();
  s.bufferedAmount = 5;
  ws.send("hello");
  await clock.advance(1500);
  assert.equal(s.terminated || s.closeCalls.length > 0, true, "the dead connection was dropped");
  assert.deepEqual(drops, ["drop:hello/unsent"]);
  ws.close();
  await clock.advance(0);
});

test("a message re-sent from the drop (unsent) listener of a dead connection is queued for the next one, not handed to the dead socket", async () => {
  const { ws, clock, last } = client({ keepalive: { interval: 1000, timeout: 500 }, reconnect: { minDelay: 10, maxDelay: 10 } }, true);
  const results: string[] = [];
  ws.on("drop", (e) => e.reason == "unsent" && results.push(ws.send(`${e.message} again`)));
  await flush();
  const dead = last() as PingSocket;
  dead.serverOpen();
  dead.bufferedAmount = 5;
  ws.send("hello");
  await clock.advance(1500); // keepalive timeout: "hello" is reported unsent, and re-sent
  assert.deepEqual(results, ["queued"]);
  assert.deepEqual(dead.sent, ["hello"], "nothing more for the socket being dropped");
  await clock.advance(10);
  last().serverOpen();
  assert.deepEqual(last().sent, ["hello again"]);
  ws.close();
  await clock.advance(0);
});

test("the queue's ttl defaults to 60 s (API.md): a message queued longer is dropped, reason ttl", async () => {
  const { ws, clock } = client({ reconnect: false, connectTimeout: 1e9 });
  const drops = record(ws, ["drop"], (e) => `${e.message}/${e.reason}`);
  ws.send("old");
  await clock.advance(59_999);
  assert.deepEqual(drops, []);
  assert.equal(ws.stats.queued, 1);
  await clock.advance(2);
  assert.deepEqual(drops, ["drop:old/ttl"]);
  assert.equal(ws.stats.queued, 0);
  ws.close();
  await clock.advance(0);
});

test("a heartbeat probe still in bufferedAmount when the connection ends is not reported as an unsent message", async () => {
  const { ws, clock, last } = client({ keepalive: { interval: 1000, timeout: 500, message: "ping" }, reconnect: { minDelay: 10, maxDelay: 10 } });
  const drops = record(ws, ["drop"], (e) => `${e.message}/${e.reason}`);
  await flush();
  const s = last();
  s.serverOpen();
  s.bufferedAmount = 5;
  ws.send("hello");
  s.bufferedAmount = 9; // "hello" and the probe
  await clock.advance(1000);
  assert.deepEqual(s.sent, ["hello", "ping"]);
  s.bufferedAmount = 4; // "hello" left; the probe did not
  s.serverClose(1006);
  assert.deepEqual(drops, []);
  assert.deepEqual([ws.stats.messagesOut, ws.stats.bytesOut], [1, 5]);
  ws.close();
  await clock.advance(0);
});

test("a keepalive.message() that throws is an error event, not an exception out of a timer; the probe counts as unanswered", async () => {
  const boom = new Error("no heartbeat");
  const { ws, clock, last } = client({
    keepalive: {
      interval: 1000,
      timeout: 500,
      message: () => {
        throw boom;
      },
    },
    reconnect: { minDelay: 10, maxDelay: 10 },
  });
  const log = record(ws, ["error", "reconnecting"], (e) => (e.type == "error" ? String((e.error as Error).message) : String(e.reason)));
  await flush();
  last().serverOpen();
  await clock.advance(1000);
  assert.deepEqual(log, ["error:no heartbeat"]);
  assert.deepEqual(last().sent, []);
  await clock.advance(500);
  assert.deepEqual(log, ["error:no heartbeat", "reconnecting:keepalive timeout"]);
  ws.close();
  await clock.advance(0);
});

test("a shouldReconnect that throws is an error event, the default policy applies, and close() still completes", async () => {
  const boom = new Error("policy bug");
  const { ws, clock, sockets, last } = client({
    reconnect: {
      minDelay: 10,
      maxDelay: 10,
      shouldReconnect: () => {
        throw boom;
      },
    },
  });
  const log = record(ws, ["error", "close", "reconnecting"], (e) => (e.type == "error" ? (e.error as Error).message : String(e.code)));
  await flush();
  last().serverOpen();
  last().serverClose(1001); // retried by the default policy
  assert.deepEqual(log, ["error:policy bug", "close:1001", "reconnecting:1001"]);
  await clock.advance(10);
  last().serverOpen();
  assert.equal(ws.state, "open");
  last().serverClose(4000); // not retried by the default policy
  assert.deepEqual(log.slice(3), ["error:policy bug", "close:4000"]);
  assert.equal(ws.state, "closed");
  assert.equal(sockets.length, 2);
});

test("an error listener that calls close() while a failed attempt is being handled ends the client once", async () => {
  const clock = new FakeClock();
  const t = transport();
  const ws = new ResilientWebSocket(() => Promise.reject(new Error("no token")), { WebSocket: t.WebSocket, clock, window: null });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  ws.on("error", () => ws.close());
  const closes = record(ws, ["close"], (e) => String(e.code));
  await clock.advance(0); // the provider fails: an error event, during which close() is called
  await clock.advance(0);
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, []);
  assert.equal(ws.state, "closed");
  assert.equal(closes.length, 1);
  assert.equal(t.sockets.length, 0);
});

test("close() with requests pending: all reject with ERR_CLOSED when the client reaches closed, whatever their resend", async () => {
  const { ws, last } = client<{ id?: number }, { id?: number }>({ codec: jsonCodec as Codec<{ id?: number }, { id?: number }> });
  const { correlate } = await import("../../src/client/request.js");
  const rpc = correlate(ws, { setId: (m, id) => ({ ...m, id: id as number }), getId: (m) => m.id });
  await flush();
  last().serverOpen();
  const outcome: string[] = [];
  const settle = (p: Promise<unknown>, name: string) => p.then(() => outcome.push(`${name}:ok`), (e) => outcome.push(`${name}:${e.code}`));
  const a = settle(rpc.request({}, { resend: true }), "resend");
  const b = settle(rpc.request({}, { resend: false }), "no-resend");
  ws.close();
  await flush();
  assert.deepEqual(outcome, [], "still pending while closing: the reply may still come");
  last().serverClose(1000);
  await Promise.all([a, b]);
  assert.deepEqual(outcome, ["resend:ERR_CLOSED", "no-resend:ERR_CLOSED"]);
});

test("static subprotocols that are not RFC 6455 tokens, or are repeated, throw SyntaxError in the constructor, as new WebSocket does", () => {
  const t = transport();
  for (const protocols of [["a b"], ["chat", "chat"], [""], ["é"], ["a,b"], "x y"]) {
    assert.throws(
      () => new ResilientWebSocket(URL_, { WebSocket: t.WebSocket, window: null, protocols }),
      (e: unknown) => e instanceof DOMException && e.name == "SyntaxError",
      JSON.stringify(protocols),
    );
    const Plain = class extends ResilientWebSocket {
      static override defaultWebSocket = t.WebSocket;
    };
    assert.throws(() => new Plain(URL_, protocols as string[]), (e: unknown) => e instanceof DOMException && e.name == "SyntaxError");
  }
  assert.equal(t.sockets.length, 0);
  for (const protocols of ["chat", ["v12.stomp", "v11.stomp"], ["!#$%&'*+-.^_`|~09AZaz"], []]) {
    const ws = new ResilientWebSocket(URL_, { WebSocket: t.WebSocket, clock: new FakeClock(), window: null, protocols });
    ws.close();
  }
});

test("a transport constructor that refuses static options fails the client for good (error, then close 1006), instead of retrying forever", async () => {
  const refusal = new TypeError("maxPayload must be a positive number");
  class Refusing {
    constructor() {
      throw refusal;
    }
  }
  const clock = new FakeClock();
  const ws = new ResilientWebSocket(URL_, { WebSocket: Refusing as never, clock, window: null, transport: { maxPayload: -1 } });
  const log = record(ws, ["error", "reconnecting", "close", "statechange"], (e) => (e.type == "statechange" ? `${e.from}>${e.to}` : e.type == "close" ? String(e.code) : ""));
  const errors: unknown[] = [];
  ws.on("error", (e) => errors.push(e.error));
  await flush();
  await clock.advance(60_000);
  assert.deepEqual(log, ["error", "statechange:connecting>closed", "close:1006"]);
  assert.deepEqual(errors, [refusal]);
  assert.equal(ws.state, "closed");
});

test("the same refusal with a URL provider is a failed attempt, retried (the next URL may differ)", async () => {
  let calls = 0;
  class Refusing {
    constructor() {
      calls++;
      throw new TypeError("refused");
    }
  }
  const clock = new FakeClock();
  const ws = new ResilientWebSocket(() => URL_, { WebSocket: Refusing as never, clock, random: () => 0, window: null });
  const errors: unknown[] = [];
  ws.on("error", (e) => errors.push(e.error));
  await flush();
  await clock.advance(2_000);
  assert.ok(calls >= 3, `attempts: ${calls}`);
  assert.ok(isResilientError(errors[0]) && errors[0].code == "ERR_URL_PROVIDER");
  assert.equal(ws.state, "reconnecting");
  ws.close();
});

test("reconnect() while waiting to reconnect starts a fresh backoff series and retry budget, as from open or connecting", async () => {
  const { ws, clock, sockets, last } = client({ reconnect: { minDelay: 100, factor: 2, maxDelay: 10_000, jitter: "none", maxRetries: 3 } });
  const waits = record(ws, ["reconnecting"], (e) => `a${e.attempt},d${e.delay}`);
  await flush();
  // Three failures in a row: the last retry of the budget is scheduled, 400 ms away.
  last().serverClose(1006);
  await clock.advance(100);
  last().serverClose(1006);
  await clock.advance(200);
  last().serverClose(1006);
  assert.deepEqual(waits, ["reconnecting:a1,d100", "reconnecting:a2,d200", "reconnecting:a3,d400"]);
  assert.equal(ws.state, "reconnecting");
  const before = sockets.length;
  ws.reconnect();
  await flush();
  assert.equal(sockets.length, before + 1, "connects at once");
  last().serverClose(1006);
  // Before, the series went on: the failure closed the client for good (budget spent).
  assert.equal(ws.state, "reconnecting");
  assert.equal(waits.at(-1), "reconnecting:a2,d200", "the series started again");
  await clock.advance(200);
  last().serverClose(1006);
  assert.equal(waits.at(-1), "reconnecting:a3,d400");
  ws.close();
});

test("a codec that decodes a frame to undefined delivers undefined, not MessageEvent's default null", async () => {
  const codec: Codec<string | undefined, string> = { frame: "text", encode: (m) => m, decode: (d) => (d === "hb" ? undefined : String(d)) };
  const { ws, last } = client<string | undefined, string>({ codec });
  await flush();
  last().serverOpen();
  const seen: unknown[] = [];
  ws.on("message", (e) => seen.push(e.data));
  last().serverMessage("hb");
  last().serverMessage("x");
  assert.deepEqual(seen, [undefined, "x"]);
  ws.close();
});

test("requireProtocol: a transport's subprotocol refusal is final; other errors whose text says \"subprotocol\" (a URL, a reason phrase) are retried", async () => {
  const cases: Array<[string, Error & { code?: string }, "closed" | "reconnecting"]> = [
    ["built-in: selected one not offered", Object.assign(new Error('server selected subprotocol "x" that was not offered'), { code: "ERR_PROTOCOL_NOT_SELECTED" }), "closed"],
    ["ws: none selected", new Error("Server sent no subprotocol"), "closed"],
    ["ws: not offered", new Error("Server sent an invalid subprotocol"), "closed"],
    ["ws: none requested", new Error("Server sent a subprotocol but none was requested"), "closed"],
    ["a timeout of a URL naming it", Object.assign(new Error("opening handshake with ws://h/feed?subprotocol=v2 timed out"), { code: "ERR_HANDSHAKE_TIMEOUT" }), "reconnecting"],
    ["a 503 whose reason phrase names it", Object.assign(new Error("Unexpected server response: 503 subprotocol backend restarting"), { code: "ERR_HANDSHAKE_STATUS" }), "reconnecting"],
    ["a message naming it elsewhere", new Error("connect ECONNREFUSED (subprotocol v2)"), "reconnecting"],
  ];
  for (const [name, error, state] of cases) {
    const { ws, last } = client({ protocols: ["v2"], requireProtocol: true });
    await flush();
    last().onerror?.({ type: "error", error });
    last().serverClose(1006);
    assert.equal(ws.state, state, name);
    ws.close();
  }
});

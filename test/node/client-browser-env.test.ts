/**
 * ResilientWebSocket and the browser around it, with a scripted transport, a fake clock and a
 * window-like EventTarget: offline at start, the back/forward cache (pagehide/pageshow with
 * `persisted`), a network change while open, and transport options a browser WebSocket would ignore.
 * The same behaviours against real Chromium and a real server are in test/browser/page-lifecycle.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ResilientWebSocket } from "../../src/client/client.js";
import type { ResilientOptions } from "../../src/client/options.js";
import { binary } from "../../src/client/codecs.js";
import { isResilientError } from "../../src/errors.js";
import { FakeClock, PingSocket, flush, record, transport } from "./client-helpers.js";

const URL_ = "ws://test.invalid/";

/** A window-like target: navigator.onLine and document.visibilityState as a page has them. */
function fakeWindow(onLine = true) {
  return Object.assign(new EventTarget(), { navigator: { onLine }, document: { visibilityState: "visible" } });
}

/** pagehide / pageshow as browsers fire them: PageTransitionEvent with `persisted`. */
function pageEvent(type: "pagehide" | "pageshow", persisted: boolean) {
  return Object.assign(new Event(type), { persisted });
}

function client<In = unknown, Out = unknown>(win: EventTarget, opts: ResilientOptions<In, Out> = {}, ping = false) {
  const clock = new FakeClock();
  const t = ping ? transport(PingSocket) : transport();
  const ws = new ResilientWebSocket<In, Out>(URL_, { WebSocket: t.WebSocket, clock, random: () => 0.5, window: win, ...opts });
  return { ws, clock, ...t };
}

test("created while navigator.onLine is false: one attempt, then it waits for online without spending the budget", async () => {
  const win = fakeWindow(false);
  const { ws, clock, sockets, last } = client(win, { reconnect: { minDelay: 100, maxDelay: 400, maxRetries: 2 } });
  await flush();
  assert.equal(sockets.length, 1, "the first attempt is still made: onLine false can be wrong");
  last().serverClose(1006);
  assert.equal(ws.state, "reconnecting");
  await clock.advance(60_000);
  assert.equal(sockets.length, 1, "no attempt while offline");
  assert.equal(ws.attempt, 0);
  win.navigator.onLine = true;
  win.dispatchEvent(new Event("online"));
  await flush();
  assert.equal(sockets.length, 2, "online: at once");
  last().serverOpen();
  assert.equal(ws.state, "open");
  ws.close();
});

test("created while navigator.onLine is false, then connected: the flag was wrong, and a later drop reconnects as usual", async () => {
  const win = fakeWindow(false);
  const { ws, clock, sockets, last } = client(win, { reconnect: { minDelay: 100, maxDelay: 100, jitter: "none" } });
  await flush();
  last().serverOpen();
  last().serverClose(1006);
  await clock.advance(100);
  assert.equal(sockets.length, 2, "retried after the backoff delay, not parked until an online event that never comes");
  ws.close();
});

test("a stable connection lost while offline starts a fresh backoff series: the pause keeps no stale attempt count", async () => {
  // Found by test/browser/chaos.test.ts: the offline pause kept the attempt count of the failures
  // before the stable connection, so the first failure after `online` waited as the 4th retry.
  const win = fakeWindow();
  const { ws, clock, sockets, last } = client(win, { reconnect: { minDelay: 100, maxDelay: 100_000, jitter: "none", resetAfter: 1000 } });
  const log = record(ws, ["reconnecting"], (e) => `${e.attempt} ${e.delay}`);
  await flush();
  for (const delay of [100, 200, 400]) last().serverClose(1006), await clock.advance(delay);
  last().serverOpen();
  await clock.advance(5000); // stable: the failures before it no longer count
  win.dispatchEvent(new Event("offline"));
  last().serverClose(1006);
  assert.equal(ws.attempt, 0, "paused after a stable connection: no retry spent yet");
  win.dispatchEvent(new Event("online"));
  await flush();
  assert.equal(sockets.length, 5, "online: at once");
  last().serverClose(1006);
  assert.deepEqual(log, ["reconnecting:1 100", "reconnecting:2 200", "reconnecting:3 400", "reconnecting:1 100"]);
  ws.close();
});

test("pagehide (persisted) closes with 1000 and waits; pageshow connects at once, without spending attempts", async () => {
  const win = fakeWindow();
  const { ws, clock, sockets, last } = client(win, { reconnect: { minDelay: 20_000, maxDelay: 30_000 } });
  const log = record(ws, ["close", "reconnecting", "open"], (e) => (e.type == "close" ? `${e.code} ${e.reason}` : ""));
  await flush();
  last().serverOpen();
  ws.send("before");
  win.dispatchEvent(pageEvent("pagehide", true));
  assert.deepEqual(sockets[0]!.closeCalls, [[1000, "page hidden"]], "the server is told, not left holding the cached page's socket");
  assert.equal(ws.state, "reconnecting");
  assert.equal(ws.send("while cached"), "queued", "what is sent meanwhile waits for the next connection");
  await clock.advance(50_000); // within the queue's default ttl (60 s)
  assert.equal(sockets.length, 1, "no attempt while the page is cached");
  win.dispatchEvent(pageEvent("pageshow", true));
  await flush();
  assert.equal(sockets.length, 2, "pageshow: at once, not after the 20 s backoff");
  last().serverOpen();
  assert.deepEqual(last().sent, ["while cached"]);
  assert.equal(ws.attempt, 0);
  assert.deepEqual(log, ["open", "close:1000 page hidden", "open"], "no reconnecting event while cached");
  ws.close();
});

test("pagehide and pageshow that are not persisted change nothing (an unload closes sockets itself)", async () => {
  const win = fakeWindow();
  const { ws, clock, sockets, last } = client(win);
  await flush();
  last().serverOpen();
  win.dispatchEvent(pageEvent("pagehide", false));
  win.dispatchEvent(pageEvent("pageshow", false));
  await clock.advance(10_000);
  assert.equal(ws.state, "open");
  assert.deepEqual(sockets[0]!.closeCalls, []);
  ws.close();
});

test("pagehide while waiting to reconnect pauses the timer; during an attempt it abandons the attempt", async () => {
  const win = fakeWindow();
  const { ws, clock, sockets, last } = client(win, { reconnect: { minDelay: 1000, maxDelay: 1000, jitter: "none" } });
  await flush();
  last().serverClose(1006);
  assert.equal(ws.state, "reconnecting");
  win.dispatchEvent(pageEvent("pagehide", true));
  await clock.advance(60_000);
  assert.equal(sockets.length, 1, "the scheduled attempt waits for pageshow");
  win.dispatchEvent(pageEvent("pageshow", true));
  await flush();
  assert.equal(sockets.length, 2);
  // An attempt in progress (CONNECTING) is abandoned: no socket of a cached page stays open.
  win.dispatchEvent(pageEvent("pagehide", true));
  assert.deepEqual(sockets[1]!.closeCalls, [[1000, "page hidden"]]);
  assert.equal(ws.state, "reconnecting");
  await clock.advance(60_000);
  assert.equal(sockets.length, 2);
  ws.close();
  assert.equal(ws.state, "closed");
});

test("pageshow while offline waits for online; online while the page is cached waits for pageshow", async () => {
  const win = fakeWindow();
  const { ws, clock, sockets, last } = client(win);
  await flush();
  last().serverOpen();
  win.dispatchEvent(pageEvent("pagehide", true));
  win.dispatchEvent(new Event("offline"));
  win.dispatchEvent(pageEvent("pageshow", true));
  await clock.advance(60_000);
  assert.equal(sockets.length, 1, "shown but offline");
  win.dispatchEvent(pageEvent("pagehide", true));
  win.dispatchEvent(new Event("online"));
  await clock.advance(60_000);
  assert.equal(sockets.length, 1, "online but cached");
  win.dispatchEvent(pageEvent("pageshow", true));
  await flush();
  assert.equal(sockets.length, 2);
  ws.close();
});

test("after close() page lifecycle events do nothing", async () => {
  const win = fakeWindow();
  const { ws, clock, sockets, last } = client(win);
  await flush();
  last().serverOpen();
  ws.close();
  last().serverClose(1000);
  win.dispatchEvent(pageEvent("pagehide", true));
  win.dispatchEvent(pageEvent("pageshow", true));
  await clock.advance(10_000);
  assert.equal(sockets.length, 1);
  assert.equal(ws.state, "closed");
});

test("online while open probes the link: a network change can leave the socket half-open", async () => {
  const win = fakeWindow();
  const { ws, clock, last } = client(win, { keepalive: { interval: 60_000, timeout: 500 } }, true);
  await flush();
  last().serverOpen();
  await clock.advance(5000);
  win.dispatchEvent(new Event("online"));
  assert.equal((last() as PingSocket).pings, 1, "probed at once");
  await clock.advance(1000);
  assert.equal(ws.state, "reconnecting", "no answer within the timeout: the link is dead");
  ws.close();
});

test("online again while a probe is unanswered does not postpone the verdict: a flapping network cannot hide a dead link", async () => {
  const win = fakeWindow();
  const { ws, clock, last } = client(win, { keepalive: { interval: 60_000, timeout: 500 } }, true);
  await flush();
  last().serverOpen();
  await clock.advance(5000);
  win.dispatchEvent(new Event("online"));
  await clock.advance(300);
  win.dispatchEvent(new Event("online"));
  assert.equal((last() as PingSocket).pings, 1, "the unanswered probe stands");
  await clock.advance(200);
  assert.equal(ws.state, "reconnecting", "dead timeout after the first probe");
  ws.close();
});

test("transport options with the runtime's own WebSocket class are an error, not silently ignored", async () => {
  const g = globalThis as { WebSocket?: unknown };
  const saved = g.WebSocket;
  const { WebSocket } = transport();
  g.WebSocket = WebSocket;
  try {
    assert.throws(
      // A fake clock and no retries: a build that does not throw leaves nothing running.
      () => new ResilientWebSocket(URL_, { transport: { headers: { authorization: "Bearer x" } }, window: null, clock: new FakeClock(), reconnect: false }).close(),
      (e: unknown) => isResilientError(e) && e.code == "ERR_INVALID_ARGUMENT" && /ignores them/.test(e.message),
    );
    // Another class may take them (the built-in client, ws).
    const other = transport();
    const ws = new ResilientWebSocket(URL_, { WebSocket: other.WebSocket, transport: { headers: { a: "b" } }, window: null, reconnect: false });
    await flush();
    assert.deepEqual(other.last().options, { headers: { a: "b" } });
    ws.close();
  } finally {
    g.WebSocket = saved;
  }
});

test("binaryType set on a client with a codec leaves the socket on arraybuffer: decoded data stays bytes", async () => {
  const { ws, last } = client(null as never, { codec: binary({ as: "uint8array" }) });
  assert.equal(ws.binaryType, "arraybuffer", "before the first socket too");
  const got: unknown[] = [];
  ws.addEventListener("message", (e) => got.push((e as MessageEvent).data));
  await flush();
  last().serverOpen();
  ws.binaryType = "blob";
  assert.equal(last().binaryType, "arraybuffer", "the socket is not switched to blob");
  assert.equal(ws.binaryType, "arraybuffer", "and the client says so, connected or not");
  last().serverMessage(new Uint8Array([1, 2, 3]).buffer);
  assert.deepEqual(got.map((d) => [...(d as Uint8Array)]), [[1, 2, 3]]);
  ws.close();
});

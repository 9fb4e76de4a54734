// Reconnect, backoff and the outage queue in Chromium against the runner's real `ws` server.
import { ResilientWebSocket } from "../../src/index.js";
import { collectEvents, deepEqual, equal, nextEvent, ok, server, takeTracked, track, uniquePath } from "./helpers.js";

interface ReconnectingEvent extends Event {
  readonly attempt: number;
  readonly delay: number;
}

afterEach(async () => {
  for (const ws of takeTracked()) ws.close();
  // A test that stopped the server must not leave the next one without it.
  await server.start();
});

const fast = { minDelay: 20, maxDelay: 200, factor: 2 };

describe("reconnect in Chromium", () => {
  it("server drop → reconnects and works again", async () => {
    const path = uniquePath("drop");
    const ws = track(new ResilientWebSocket(await server.url(path), { reconnect: fast }));
    await ws.opened();
    const reconnecting = nextEvent<ReconnectingEvent>(ws, "reconnecting");
    const reopened = collectEvents(ws, "open", 1);
    equal(await server.drop(), 1, "server dropped one connection");
    const event = await reconnecting;
    equal(event.attempt, 1, "first reconnect attempt");
    ok(event.delay >= 0 && event.delay <= fast.maxDelay, `delay ${event.delay} within [0, maxDelay]`);
    await reopened;
    equal(ws.state, "open", "state after reconnect");
    equal(await server.connections(path), 2, "server saw the original and the new connection");
    const echo = nextEvent<MessageEvent>(ws, "message");
    ws.send("after reconnect");
    equal((await echo).data, "after reconnect", "echo on the new connection");
  });

  it("server down at start → backs off with growing bounded delays, connects once it is started", async () => {
    const path = uniquePath("down");
    const url = await server.url(path);
    await server.stop();
    const ws = track(new ResilientWebSocket(url, { reconnect: { minDelay: 20, maxDelay: 160, factor: 2, jitter: "none" } }));
    const attempts = await collectEvents<ReconnectingEvent>(ws, "reconnecting", 4, 8_000);
    deepEqual(
      attempts.map((e) => e.attempt),
      [1, 2, 3, 4],
      "attempt numbers",
    );
    // jitter "none": exactly min * factor^(attempt-1), capped at maxDelay.
    deepEqual(
      attempts.map((e) => e.delay),
      [20, 40, 80, 160],
      "backoff delays",
    );
    equal(ws.readyState, WebSocket.CONNECTING, "readyState while waiting to reconnect");
    equal(await server.connections(path), 0, "nothing connected while down");
    const opened = ws.opened();
    await server.start();
    await opened;
    equal(ws.state, "open", "state once the server is up");
    equal(await server.connections(path), 1, "one connection once up");
  });

  it("messages sent during the outage arrive in order exactly once after the server is back", async () => {
    const path = uniquePath("outage");
    const ws = track(new ResilientWebSocket(await server.url(path), { reconnect: fast }));
    await ws.opened();
    ws.send("m0");
    await nextEvent(ws, "message");
    const closed = nextEvent(ws, "reconnecting");
    await server.stop();
    await closed;
    const sent = ["m1", "m2", "m3", "m4", "m5"];
    for (const message of sent) ws.send(message);
    equal(ws.stats.queued, sent.length, "queued while down");
    ok(ws.bufferedAmount >= 10, `bufferedAmount counts queued bytes, got ${ws.bufferedAmount}`);
    const echoes = collectEvents<MessageEvent>(ws, "message", sent.length, 8_000);
    await server.start();
    deepEqual((await echoes).map((e) => e.data), sent, "echoes of the queued messages, in order");
    // The server log is the ground truth for exactly-once: every echo has arrived, so every send has.
    deepEqual(await server.received(path), [{ text: "m0" }, ...sent.map((text) => ({ text }))], "server received each once, in order");
    equal(ws.stats.queued, 0, "queue empty after flush");
  });
});

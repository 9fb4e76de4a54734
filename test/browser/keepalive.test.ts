// Application heartbeat in Chromium (browsers cannot send protocol pings): keepalive.message is
// sent every interval, the runner's server answers {"type":"ping"} with {"type":"pong"}, and
// keepalive.isPong recognises the answer.
import { ResilientWebSocket } from "../../src/index.js";
import { deepEqual, equal, eventually, nextEvent, ok, server, takeTracked, track, uniquePath } from "./helpers.js";

const PING = '{"type":"ping"}';
const PONG = '{"type":"pong"}';
const heartbeat = (interval: number, timeout: number) => ({
  interval,
  timeout,
  message: PING,
  isPong: (data: unknown) => data === PONG,
});

afterEach(() => {
  for (const ws of takeTracked()) ws.close();
});

describe("keepalive heartbeat in Chromium", () => {
  it("sends keepalive.message, the answered heartbeat keeps the link, replies are not messages", async () => {
    const path = uniquePath("heartbeat");
    const ws = track(new ResilientWebSocket(await server.url(path), { keepalive: heartbeat(100, 1_000) }));
    const messages: unknown[] = [];
    ws.addEventListener("message", (event) => messages.push((event as MessageEvent).data));
    let reconnects = 0;
    ws.addEventListener("reconnecting", () => {
      reconnects += 1;
    });
    await ws.opened();
    // Three heartbeats answered by the server (ground truth from its log).
    const log = await eventually(
      () => server.received(path),
      (entries) => entries.filter((e) => "text" in e && e.text === PING).length >= 3,
    );
    ok(log.every((e) => "text" in e && e.text === PING), "only heartbeats were sent");
    const echo = nextEvent<MessageEvent>(ws, "message");
    ws.send("data");
    equal((await echo).data, "data", "application echo");
    deepEqual(messages, ["data"], "heartbeat replies were not delivered as messages");
    equal(reconnects, 0, "an answered heartbeat never triggers a reconnect");
    equal(await server.connections(path), 1, "one connection throughout");
  });

  it("a half-open link (server stops answering) is detected within interval + timeout and replaced", async () => {
    const path = uniquePath("half-open");
    const interval = 150;
    const timeout = 150;
    const ws = track(
      new ResilientWebSocket(await server.url(path), {
        keepalive: heartbeat(interval, timeout),
        reconnect: { minDelay: 10, maxDelay: 20 },
      }),
    );
    await ws.opened();
    equal(await server.mute(), 1, "muted one connection");
    const muted = performance.now();
    await nextEvent(ws, "reconnecting", 5_000);
    const detected = performance.now() - muted;
    // Bound: interval + timeout, plus slack for timer granularity and the runner round trip.
    ok(detected <= interval + timeout + 400, `dead link detected after ${Math.round(detected)} ms`);
    await nextEvent(ws, "open", 5_000);
    equal(await server.connections(path), 2, "the dead connection was replaced");
    const echo = nextEvent<MessageEvent>(ws, "message", 5_000, (e) => e.data === "alive");
    ws.send("alive");
    await echo;
  });
});

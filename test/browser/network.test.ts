// Browser offline/online through CDP Network.overrideNetworkState (flips navigator.onLine and fires
// the window events, as a laptop leaving Wi-Fi does), against the runner's real `ws` server.
import { ResilientWebSocket } from "../../src/index.js";
import { equal, nextEvent, ok, server, takeTracked, track, uniquePath } from "./helpers.js";

afterEach(async () => {
  for (const ws of takeTracked()) ws.close();
  await server.setOnline(true);
});

/** Flips the emulated network state and waits until this page has seen the window event. */
async function goOnline(online: boolean): Promise<void> {
  const seen = nextEvent(window, online ? "online" : "offline");
  await server.setOnline(online);
  await seen;
  equal(navigator.onLine, online, "navigator.onLine");
}

describe("offline / online in Chromium", () => {
  it("offline pauses attempts without spending the retry budget; online reconnects", async () => {
    const path = uniquePath("offline");
    const ws = track(new ResilientWebSocket(await server.url(path), { reconnect: { minDelay: 10, maxDelay: 20 } }));
    await ws.opened();
    await goOnline(false);
    let attempts = 0;
    ws.addEventListener("reconnecting", () => {
      attempts += 1;
    });
    const closed = nextEvent(ws, "close");
    equal(await server.drop(), 1, "server dropped the connection");
    await closed;
    // A window of 25x maxDelay: an unpaused client would have tried many times in it. The server
    // answers a fresh probe connection meanwhile, so the link itself works; only the page is offline.
    const probe = track(new ResilientWebSocket(await server.url(uniquePath("probe"))));
    await probe.opened();
    await new Promise((resolve) => setTimeout(resolve, 500));
    equal(await server.connections(path), 1, "no new connection while offline");
    ok(attempts <= 1, `at most the one scheduled reconnect announced while offline, got ${attempts}`);
    equal(ws.state === "open", false, "not open while offline");
    const reopened = ws.opened();
    await goOnline(true);
    await reopened;
    equal(await server.connections(path), 2, "reconnected once online");
    equal(ws.attempt <= 1, true, `retry budget untouched by the offline period, attempt ${ws.attempt}`);
  });

  it("online reconnects at once instead of waiting out a long backoff", async () => {
    const path = uniquePath("online-now");
    const ws = track(new ResilientWebSocket(await server.url(path), { reconnect: { minDelay: 20_000, maxDelay: 30_000 } }));
    await ws.opened();
    await goOnline(false);
    const closed = nextEvent(ws, "close");
    await server.drop();
    await closed;
    const started = performance.now();
    const reopened = ws.opened();
    await goOnline(true);
    await reopened;
    const took = performance.now() - started;
    ok(took < 5_000, `reconnected ${Math.round(took)} ms after online, far below the 20 s backoff`);
  });
});

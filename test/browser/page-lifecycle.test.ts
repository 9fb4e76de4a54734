// The page lifecycle in Chromium against the runner's real `ws` server: the back/forward cache
// (a real navigation away and back, in a page of its own, with the <script src> build), and a client
// created while the browser is already offline. Unit tests of the same rules, with a fake window and
// clock: test/node/client-browser-env.test.ts.
import { ResilientWebSocket } from "../../src/index.js";
import { deepEqual, equal, eventually, nextEvent, ok, server, takeTracked, track, uniquePath } from "./helpers.js";

afterEach(async () => {
  for (const ws of takeTracked()) ws.close();
  await server.setOnline(true);
  await server.start();
});

describe("page lifecycle in Chromium", () => {
  it("back/forward cache: the cached page's connection is closed (1000), and reopened at once on return", async () => {
    const path = uniquePath("bfcache");
    const wsUrl = await server.url(path);
    const fixtures = `${location.origin}/test/browser/fixtures`;
    const result = await server.backForward({
      url: `${fixtures}/back-forward.html?ws=${encodeURIComponent(wsUrl)}`,
      away: `${fixtures}/away.html`,
      stayMs: 1000,
      path,
      push: "sent while the page was cached",
    });
    ok(result.restored, `the page came back from the back/forward cache; events: ${JSON.stringify(result.events)}`);
    // While cached the server held no connection of the page: nothing it sends can be lost there.
    deepEqual(result.closes, [[1000, "page hidden"]], "the server saw a clean close when the page was hidden");
    // The first load's pageshow and the first open race (a fast server opens before the load
    // event), so that pageshow is left out of the order.
    deepEqual(
      result.events.filter((e) => e !== "pageshow false"),
      // The client's own pagehide listener (added when it was made) runs before the page's.
      ["open", "close 1000 page hidden", "pagehide true reconnecting", "pageshow true", "open"],
      "closed on pagehide, reopened on pageshow without waiting out the 60 s backoff",
    );
    ok(result.events.includes("pageshow false"), `the first load's pageshow was seen: ${JSON.stringify(result.events)}`);
    equal(await server.connections(path), 2, "one connection before, one after");
  });

  it("a client created while offline makes one attempt, then waits for online", async () => {
    const path = uniquePath("born-offline");
    const url = await server.url(path);
    await server.stop();
    const offline = nextEvent(window, "offline");
    await server.setOnline(false);
    await offline;
    equal(navigator.onLine, false, "navigator.onLine");
    const ws = track(new ResilientWebSocket(url, { reconnect: { minDelay: 10, maxDelay: 20 } }));
    let reconnecting = 0;
    ws.addEventListener("reconnecting", () => reconnecting++);
    await nextEvent(ws, "close");
    await new Promise((resolve) => setTimeout(resolve, 500));
    equal(reconnecting, 0, "no retries while offline (an unpaused client would have made about 25)");
    equal(ws.state, "reconnecting");
    equal(ws.attempt, 0, "retry budget untouched");
    await server.start();
    const reopened = ws.opened();
    await server.setOnline(true);
    await reopened;
    await eventually(() => server.connections(path), (n) => n === 1);
  });
});

/**
 * route(): the routes of a client share one message listener. Tagged messages reach exactly their
 * routes, in the order the routes were added; removal and errors behave as with event listeners.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { getEventListeners } from "node:events";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ResilientWebSocket } from "../../src/client/client.js";
import { json } from "../../src/client/codecs.js";
import { route } from "../../src/client/route.js";
import { FakeClock, flush, transport } from "./client-helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

type Msg = { type: "quote"; bid: number } | { type: "open"; market: string } | { kind: 1; x: true } | { type: "t"; n: number };

/** An open JSON client; `receive` is the server sending `data` as JSON. */
async function open<In = Msg>() {
  const t = transport();
  const ws = new ResilientWebSocket<In, never>("ws://test.invalid/", { WebSocket: t.WebSocket, clock: new FakeClock(), window: null, codec: json<In, never>() });
  await flush();
  t.last().serverOpen();
  const base = getEventListeners(ws, "message").length;
  return { ws, receive: (data: unknown) => t.last().serverMessage(JSON.stringify(data)), routeListeners: () => getEventListeners(ws, "message").length - base };
}

describe("route()", () => {
  it("calls the handler only for messages with the tag, typed; an open-tagged message is not the open event", async () => {
    const { ws, receive } = await open();
    const bids: number[] = [];
    const markets: string[] = [];
    let opens = 0;
    ws.on("open", () => opens++);
    route(ws, "quote", (q) => bids.push(q.bid));
    route(ws, "open", (m) => markets.push(m.market));
    for (const data of [{ type: "quote", bid: 1 }, { type: "open", market: "fx" }, { type: "quote", bid: 2 }]) receive(data);
    assert.deepEqual(bids, [1, 2]);
    assert.deepEqual(markets, ["fx"]);
    assert.equal(opens, 0);
    ws.close();
  });

  it("routes by another field and non-string tags", async () => {
    const { ws, receive } = await open();
    let hits = 0;
    route(
      ws,
      1,
      (m) => {
        assert.equal(m.x, true);
        hits++;
      },
      { field: "kind" },
    );
    receive({ kind: 1, x: true });
    receive({ kind: "1", x: true });
    receive({ type: "quote", bid: 1 });
    assert.equal(hits, 1);
    ws.close();
  });

  it("ignores messages that are not objects (strings, null, numbers, booleans, arrays) without throwing", async () => {
    const { ws, receive } = await open<unknown>();
    route(ws as ResilientWebSocket<{ type: "x" }, never>, "x", () => assert.fail("not routed"));
    for (const data of ["type", "x", null, 5, true, ["x"]]) receive(data);
    ws.close();
  });

  it("twenty routes are one message listener (no MaxListenersExceededWarning), and the last removal removes it", async () => {
    const { ws, receive, routeListeners } = await open<{ type: string; n: number }>();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const got: string[] = [];
      const offs = Array.from({ length: 20 }, (_, i) => route(ws, `t${i}`, (m) => got.push(`t${i}:${m.n}`)));
      assert.equal(routeListeners(), 1);
      for (let i = 0; i < 20; i++) receive({ type: `t${19 - i}`, n: i });
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `t${19 - i}:${i}`));
      for (const off of offs.slice(1)) off();
      assert.equal(routeListeners(), 1, "one route left");
      offs[0]!();
      offs[0]!();
      assert.equal(routeListeners(), 0, "no route left, no listener");
      receive({ type: "t0", n: 99 });
      assert.equal(got.length, 20);
      // A route added afterwards works again.
      route(ws, "t0", (m) => got.push(`again:${m.n}`));
      receive({ type: "t0", n: 100 });
      assert.deepEqual(got.slice(20), ["again:100"]);
      await flush();
      assert.deepEqual(warnings.filter((w) => w.name === "MaxListenersExceededWarning"), []);
    } finally {
      process.off("warning", onWarning);
      ws.close();
    }
  });

  it("routes of one tag run in the order they were added, across fields too", async () => {
    const { ws, receive } = await open<{ type: "a"; kind: 1 } | { type: "a" } | { type: "b"; kind: 1 }>();
    const order: string[] = [];
    route(ws, "a", () => order.push("type=a #1"));
    route(ws, 1, () => order.push("kind=1 #2"), { field: "kind" });
    route(ws, "a", () => order.push("type=a #3"));
    route(ws, 1, () => order.push("kind=1 #4"), { field: "kind" });
    receive({ type: "a", kind: 1 });
    assert.deepEqual(order, ["type=a #1", "kind=1 #2", "type=a #3", "kind=1 #4"]);
    order.length = 0;
    receive({ type: "a" });
    assert.deepEqual(order, ["type=a #1", "type=a #3"]);
    ws.close();
  });

  it("removal during a dispatch: a route removed before its turn is not called; one added waits for the next message", async () => {
    const { ws, receive } = await open<{ type: string; n: number }>();
    const got: string[] = [];
    let offSecond: () => void = () => {};
    let added = false;
    route(ws, "x", (m) => {
      got.push(`first:${m.n}`);
      offSecond();
      if (!added) {
        added = true;
        route(ws, "x", (m2) => got.push(`added:${m2.n}`));
      }
    });
    offSecond = route(ws, "x", (m) => got.push(`second:${m.n}`));
    receive({ type: "x", n: 1 });
    assert.deepEqual(got, ["first:1"]);
    receive({ type: "x", n: 2 });
    assert.deepEqual(got, ["first:1", "first:2", "added:2"]);
    ws.close();
  });

  it("a route that removes the last route mid-dispatch: the message listener goes, the rest of the dispatch is skipped", async () => {
    const { ws, receive, routeListeners } = await open<{ type: string }>();
    const got: string[] = [];
    const offs: Array<() => void> = [];
    offs.push(route(ws, "x", () => (got.push("a"), offs.forEach((off) => off()))));
    offs.push(route(ws, "x", () => got.push("b")));
    receive({ type: "x" });
    assert.deepEqual(got, ["a"]);
    assert.equal(routeListeners(), 0);
    ws.close();
  });

  it("a handler that throws is reported (reportError where the runtime has it) and the other routes still run", async () => {
    const { ws, receive } = await open<{ type: string }>();
    const g = globalThis as { reportError?: (e: unknown) => void };
    const had = Object.getOwnPropertyDescriptor(g, "reportError");
    const reported: unknown[] = [];
    g.reportError = (e) => reported.push(e);
    try {
      const got: string[] = [];
      const boom = new Error("boom");
      route(ws, "x", () => {
        throw boom;
      });
      route(ws, "x", () => got.push("after"));
      ws.on("message", () => got.push("listener"));
      receive({ type: "x" });
      assert.deepEqual(got, ["after", "listener"]);
      assert.deepEqual(reported, [boom]);
    } finally {
      if (had) Object.defineProperty(g, "reportError", had);
      else delete g.reportError;
      ws.close();
    }
  });

  it("without reportError (Node), a throwing handler is an uncaught exception, as a throwing event listener is", () => {
    const script = `
      import { ResilientWebSocket } from "./src/client/client.ts";
      import { route } from "./src/client/route.ts";
      class Socket { readyState = 0; onopen = null; onmessage = null; onclose = null; onerror = null; constructor() { setTimeout(() => { this.readyState = 1; this.onopen?.({ type: "open" }); this.onmessage?.({ type: "message", data: { type: "x" } }); }, 0); } send() {} close() {} }
      process.on("uncaughtException", (e) => { console.log("uncaught:" + e.message); process.exit(0); });
      const ws = new ResilientWebSocket("ws://test.invalid/", { WebSocket: Socket, window: null });
      route(ws, "x", () => { throw new Error("boom"); });
      route(ws, "x", () => console.log("second route ran"));
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    assert.equal(child.stdout, "second route ran\nuncaught:boom\n", child.stderr);
  });
});

// Wiring (issue 3 item 3): the Node entry's ResilientWebSocket uses the built-in client by default,
// passes `transport` options to it, and its keepalive sends real protocol pings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ResilientWebSocket } from "../../src/node.js";
import { WebSocket } from "../../src/node-client.js";
import { wsServer } from "./node-client-helpers.js";

test("the node entry's ResilientWebSocket defaults to the built-in client", () => {
  assert.equal(ResilientWebSocket.defaultWebSocket, WebSocket);
});

test("transport options reach the built-in client and keepalive uses protocol pings", async () => {
  const peer = await wsServer();
  const connected = peer.nextConnection();
  const ws = new ResilientWebSocket(peer.url, {
    transport: { headers: { "x-from": "resilient" } },
    keepalive: { interval: 50, timeout: 1000 },
    reconnect: false,
  });
  await ws.opened();
  const server = await connected;
  assert.equal(peer.requests[0]?.["x-from"], "resilient");
  // ws answers pings automatically; seeing one proves the probe is a protocol ping, not a message.
  await new Promise<void>((resolve) => server.once("ping", () => resolve()));
  const echoed = new Promise<unknown>((resolve) => ws.addEventListener("message", (event) => resolve((event as MessageEvent).data), { once: true }));
  ws.send("still alive");
  assert.equal(await echoed, "still alive");
  const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve(), { once: true }));
  ws.close();
  await closed;
  await peer.close();
});

/**
 * ResilientWebSocket over the built-in RFC 6455 client (resilient-ws/node) against a real `ws`
 * server: the transport the Node and Deno entries use by default. Its pongs arrive as a `pong`
 * event through addEventListener, which keepalive must see.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type AddressInfo, type Socket as NetSocket } from "node:net";
import { test } from "node:test";
import { WebSocketServer, type WebSocket as ServerSocket } from "ws";
import { ResilientWebSocket } from "../../src/client/client.js";
import { WebSocket } from "../../src/node-client.js";
import { rawServer } from "./node-client-helpers.js";

async function server() {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(wss, "listening");
  return {
    wss,
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}
const next = <T extends Event>(target: EventTarget, type: string) =>
  new Promise<T>((resolve) => target.addEventListener(type, (e) => resolve(e as T), { once: true }));

test("built-in client: echo, server drop then reconnect, messages from the outage in order", async () => {
  const srv = await server();
  const received: string[] = [];
  let n = 0;
  srv.wss.on("connection", (s) => {
    const mine = ++n;
    s.on("message", (d) => {
      received.push(String(d));
      if (mine == 1 && String(d) == "drop") s.terminate();
      else s.send(String(d));
    });
  });
  const ws = new ResilientWebSocket(srv.url, { WebSocket, reconnect: { minDelay: 10, maxDelay: 50 }, window: null });
  // one persistent listener: two messages in one TCP chunk are dispatched back to back
  const echoes: unknown[] = [];
  let echoed = () => {};
  ws.on("message", (e) => {
    echoes.push(e.data);
    echoed();
  });
  const echoCount = (n: number) =>
    new Promise<void>((r) => {
      echoed = () => echoes.length >= n && r();
      echoed();
    });
  ws.send("a");
  await echoCount(1);
  ws.send("drop");
  await next(ws, "reconnecting");
  ws.send("b");
  ws.send("c");
  await echoCount(3);
  assert.deepEqual(echoes, ["a", "b", "c"]);
  assert.deepEqual(received, ["a", "drop", "b", "c"], "each message once, in order");
  const closed = next(ws, "close");
  ws.close();
  await closed;
  assert.equal(ws.readyState, 3);
  await srv.stop();
});

test("built-in client: keepalive pings see pongs, and a server that stops reading is replaced", async () => {
  const srv = await server();
  const conns: ServerSocket[] = [];
  let pings = 0;
  let secondPing!: () => void;
  const twoPings = new Promise<void>((r) => (secondPing = r));
  srv.wss.on("connection", (s) => {
    conns.push(s);
    s.on("ping", () => ++pings == 2 && secondPing());
  });
  const ws = new ResilientWebSocket(srv.url, {
    WebSocket,
    keepalive: { interval: 100, timeout: 100 },
    reconnect: { minDelay: 10, maxDelay: 50 },
    window: null,
  });
  await ws.opened();
  await twoPings;
  assert.equal(ws.state, "open");
  assert.ok(ws.stats.lastRtt !== undefined, "a pong was seen");
  (conns[0] as unknown as { _socket: NetSocket })._socket.pause();
  const t0 = Date.now();
  const close = await next<Event & { reason: string }>(ws, "close");
  assert.equal(close.reason, "keepalive timeout");
  assert.ok(Date.now() - t0 <= 400);
  await ws.opened();
  assert.equal(conns.length, 2);
  const closed = next(ws, "close");
  ws.close();
  await closed;
  await srv.stop();
});

test("built-in client: a Retry-After too long for a timer (35 days) is a long wait, not a tight loop", async () => {
  let handshakes = 0;
  const refuse = createServer((socket) => {
    handshakes++;
    socket.once("data", () => socket.end("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3000000\r\nContent-Length: 0\r\n\r\n"));
  });
  refuse.listen(0, "127.0.0.1");
  await once(refuse, "listening");
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on("warning", onWarning);
  const ws = new ResilientWebSocket(`ws://127.0.0.1:${(refuse.address() as AddressInfo).port}/`, {
    WebSocket,
    reconnect: { minDelay: 10, maxDelay: 50 },
    window: null,
  });
  try {
    const reconnecting = await next<Event & { delay: number }>(ws, "reconnecting");
    assert.equal(reconnecting.delay, 3_000_000_000, "the server's wish is kept");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(handshakes, 1);
    assert.deepEqual(warnings, []);
  } finally {
    process.off("warning", onWarning);
    ws.close();
    await new Promise((resolve) => refuse.close(resolve));
  }
});

test("built-in client: a dead link's unsent messages are reported (drop, reason unsent), the newest ones, in order", async () => {
  // A peer that completes the upgrade, then never reads and never answers a ping.
  const peer = await rawServer({ onUpgrade: (socket) => socket.pause() });
  const ws = new ResilientWebSocket<ArrayBuffer, Uint8Array>(peer.url, {
    WebSocket,
    keepalive: { interval: 200, timeout: 200 },
    reconnect: false,
    window: null,
  });
  const unsent: number[] = [];
  ws.on("drop", (e) => e.reason == "unsent" && unsent.push(e.message[0]! | (e.message[1]! << 8)));
  try {
    await ws.opened();
    const count = 128;
    for (let i = 0; i < count; i++) {
      const message = new Uint8Array(256 * 1024);
      message[0] = i & 0xff;
      message[1] = i >> 8;
      ws.send(message);
    }
    const left = ws.bufferedAmount;
    assert.ok(left > 8 << 20, `most of the 32 MiB waits in the client: ${left}`);
    await next(ws, "close");
    // The kernel's buffers took the first few MiB; what the client still held is reported.
    assert.ok(unsent.length >= Math.floor(left / (256 * 1024)), `${unsent.length} reported for ${left} bytes unsent`);
    assert.deepEqual(unsent, Array.from({ length: unsent.length }, (_, k) => count - unsent.length + k), "the newest, oldest first");
  } finally {
    ws.close();
    await peer.close();
  }
});

test("resilient-ws (node and deno entries): a refused handshake's error narrows with isHandshakeStatusError from the same import", async () => {
  const node = await import("../../src/node.js");
  const deno = await import("../../src/deno.js");
  const refuse = createServer((socket) => {
    socket.once("data", () => socket.end("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n"));
  });
  refuse.listen(0, "127.0.0.1");
  await once(refuse, "listening");
  const ws = new node.ResilientWebSocket(`ws://127.0.0.1:${(refuse.address() as AddressInfo).port}/`, { window: null });
  try {
    const { error } = await next<Event & { error?: unknown }>(ws, "error");
    assert.ok(node.isHandshakeStatusError(error) && deno.isHandshakeStatusError(error));
    const status: import("../../src/node.js").HandshakeStatusError = error;
    assert.equal(status.status, 503);
    assert.equal(status.retryAfter, 7000);
  } finally {
    ws.close();
    await new Promise((resolve) => refuse.close(resolve));
  }
});

// bufferedAmount of the built-in client as WHATWG WebSockets defines it: the bytes of application
// data (UTF-8 text, binary) given to send() and not yet transmitted, without framing overhead, and
// not reset when the connection closes. Each test makes the peer stop reading, so that what we send
// stays in our own buffers once the kernel's are full.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import type { Socket } from "node:net";
import { WebSocket } from "../../src/node-client.js";
import { acceptFor, closed, next, rawServer, testCertificate, wsServer } from "./node-client-helpers.js";

const FILL = 32 << 20;

/** Sends FILL bytes to a peer that does not read, until bufferedAmount shows bytes the kernel did not take. */
async function stalled(ws: WebSocket): Promise<void> {
  ws.send(new Uint8Array(FILL));
  // The kernel's buffers (both ends of the loopback) take at most a few MiB.
  assert.ok(ws.bufferedAmount > FILL / 2, `the kernel took more than expected: ${ws.bufferedAmount} left of ${FILL}`);
}

test("bufferedAmount grows by the UTF-8 or binary length of each message: no frame headers, pings not at all", async () => {
  let server: Socket | undefined;
  const peer = await rawServer({ onUpgrade: (socket) => ((server = socket), socket.pause()) });
  const ws = new WebSocket(peer.url);
  await next(ws, "open");
  try {
    await stalled(ws);
    const grows = (send: () => void): number => {
      const before = ws.bufferedAmount;
      send();
      return ws.bufferedAmount - before;
    };
    assert.equal(grows(() => ws.send("é".repeat(1000))), 2000);
    assert.equal(grows(() => ws.send("hello")), 5);
    assert.equal(grows(() => ws.send(new Uint8Array(100))), 100);
    assert.equal(grows(() => ws.send(new Uint8Array(70_000))), 70_000);
    assert.equal(grows(() => ws.send(new Uint8Array(3 << 20))), 3 << 20, "a frame written in pieces");
    assert.equal(grows(() => ws.send("")), 0);
    assert.equal(grows(() => ws.ping("abc")), 0, "control frames are not application data");
    assert.ok(server !== undefined);
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("bufferedAmount counts a compressed message at its uncompressed length, queued or written", async () => {
  // A raw peer that accepts permessage-deflate (RFC 7692 §5) and never reads.
  const peer = await rawServer({
    respond: (key) =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
    onUpgrade: (socket) => socket.pause(),
  });
  const ws = new WebSocket(peer.url, undefined, { perMessageDeflate: true });
  await next(ws, "open");
  assert.match(ws.extensions, /permessage-deflate/);
  try {
    // Incompressible bytes fill the kernel's buffers, so that what follows stays in ours.
    const noise = randomFillSync(new Uint8Array(FILL));
    ws.send(noise);
    assert.equal(ws.bufferedAmount, FILL, "while it waits for the compressor");
    // Compressed and written once the kernel has taken a first part of it.
    for (let turns = 0; turns < 400 && ws.bufferedAmount === FILL; turns++) await new Promise((resolve) => setTimeout(resolve, 10));
    const before = ws.bufferedAmount;
    assert.ok(before > FILL / 2, `the kernel took more than expected: ${before} left of ${FILL}`);
    ws.send("a".repeat(100_000));
    assert.equal(ws.bufferedAmount - before, 100_000, "while it waits for the compressor");
    // Once compressed (to a few hundred bytes, in well under the half second waited here) and
    // written, it still counts what the application sent.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(ws.bufferedAmount - before, 100_000, "after compression");
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("bufferedAmount keeps the unsent bytes after the connection is gone, and counts sends after close", async () => {
  const peer = await rawServer({ onUpgrade: (socket) => socket.pause() });
  const ws = new WebSocket(peer.url);
  try {
    await next(ws, "open");
    await stalled(ws);
    ws.send("tail");
    const unsent = ws.bufferedAmount;
    const done = closed(ws);
    ws.terminate();
    assert.equal((await done).code, 1006);
    assert.equal(ws.bufferedAmount, unsent, "WHATWG: bufferedAmount does not reset to zero once the connection closes");
    ws.send("12345");
    assert.equal(ws.bufferedAmount, unsent + 5);
  } finally {
    await peer.close();
  }
});

test("bufferedAmount falls to exactly 0 once the peer has read everything", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = new WebSocket(peer.url);
  await next(ws, "open");
  const server = await connected;
  const socket = (server as unknown as { _socket: Socket })._socket;
  socket.pause();
  await stalled(ws);
  for (let i = 0; i < 50; i++) ws.send(i % 2 ? "x".repeat(i * 100) : new Uint8Array(i * 1000));
  const got = new Promise<void>((resolve) => {
    let count = 0;
    server.on("message", () => ++count === 51 && resolve());
  });
  socket.resume();
  await got;
  for (let turns = 0; ws.bufferedAmount > 0 && turns < 100; turns++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(ws.bufferedAmount, 0);
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("close() behind a backlog the peer never reads: the connection is dropped after closeTimeout", async () => {
  const peer = await rawServer({ onUpgrade: (socket) => socket.pause() });
  const ws = new WebSocket(peer.url, undefined, { closeTimeout: 200 });
  try {
    await next(ws, "open");
    await stalled(ws);
    const started = Date.now();
    const done = closed(ws);
    ws.close(1000);
    const event = await done;
    assert.deepEqual([event.code, event.wasClean], [1006, false]);
    assert.ok(Date.now() - started < 5000, "a dead peer does not hold the connection open");
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("over TLS (whose writes complete later), bufferedAmount is 0 after a clean close", async () => {
  const certificate = testCertificate();
  const peer = await wsServer({ echo: false, tls: certificate });
  const ws = new WebSocket(peer.url, undefined, { tls: { ca: certificate.cert } });
  try {
    await next(ws, "open");
    ws.send("0:");
    ws.send(new Uint8Array(100));
    const done = closed(ws);
    ws.close(1000);
    assert.equal((await done).wasClean, true);
    assert.equal(ws.bufferedAmount, 0);
  } finally {
    ws.terminate();
    await peer.close();
  }
});

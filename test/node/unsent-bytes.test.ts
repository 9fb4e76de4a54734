// Node only (not run by test/deno/ or test/bun/): bufferedAmount while the kernel takes one large
// writev bit by bit. Node gathers everything queued behind a pending write into one writev, and
// writableLength counts it whole until it completes; the libuv handle's writeQueueSize says how
// much of it is still unwritten (src/adapters/node/unsent-bytes.ts). Deno, Bun and TLS have no such
// count, and there the Sender gives the socket a piece or two at a time, so bufferedAmount falls as
// each completes (node-client-close-backlog.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import type net from "node:net";
import { Buffer } from "node:buffer";
import { WebSocket } from "../../src/node-client.js";
import { next, rawServer } from "./node-client-helpers.js";

const MiB = 1 << 20;
const FRAME_HEADER = 14; // a masked frame with a 64-bit length (RFC 6455 §5.2)

/** Resolves once `read()` has not changed for `quietMs`. */
async function settled(read: () => number, quietMs = 150): Promise<number> {
  let last = read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = read();
    if (now === last) return now;
    last = now;
  }
}

test("bufferedAmount falls while the kernel takes a large writev in parts, not only when all of it is written", async () => {
  let peerSocket: net.Socket | undefined;
  let received = 0;
  let limit = 0;
  const peer = await rawServer({
    onUpgrade: (socket) => {
      peerSocket = socket;
      socket.pause();
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received >= limit) socket.pause();
      });
    },
  });
  const ws = new WebSocket(peer.url);
  try {
    await next(ws, "open");
    const count = 40;
    // The first send is written at once and the kernel takes part of it; the other 39 wait in the
    // socket behind it and go out as one writev when it completes.
    for (let i = 0; i < count; i++) ws.send(new Uint8Array(MiB));
    const total = count * MiB;
    assert.ok(ws.bufferedAmount > total - 8 * MiB, `most of it waits (${ws.bufferedAmount})`);

    // The peer reads 12 MiB, then stops; the client's writev moves on as far as the kernel lets it.
    limit = 12 * MiB;
    peerSocket!.resume();
    const buffered = await settled(() => ws.bufferedAmount);
    const readPayload = received - FRAME_HEADER * Math.ceil(received / (MiB + FRAME_HEADER));
    // What the peer read has left the client, and so has whatever the kernel buffers hold now.
    // Counting the pending writev whole would leave bufferedAmount above total - readPayload.
    assert.ok(received >= limit, `the peer read ${received} bytes`);
    assert.ok(buffered <= total - readPayload, `bufferedAmount ${buffered} <= ${total - readPayload} (the peer read ${received})`);

    // And everything still leaves: once the peer reads all of it, nothing is buffered.
    limit = Infinity;
    peerSocket!.resume();
    const drained = await settled(() => ws.bufferedAmount);
    assert.equal(drained, 0);
    assert.equal(received, count * (MiB + FRAME_HEADER));
  } finally {
    ws.terminate();
    await peer.close();
  }
});

// close() behind a large message to a peer that reads slowly but steadily, in every runtime (Node,
// and through test/deno/ and test/bun/, Deno and Bun). The close timer waits while sending makes
// progress (Sender.unwritten()). Node's libuv handle shows progress inside one large write; Deno's
// and Bun's sockets do not, and their streams gather a whole backlog into one writev, so there the
// Sender hands the socket a few pieces at a time (sender.ts, PacedWrites) and each completed piece
// is progress. Without that, the timer saw nothing move and cut the message off after two periods.
import { test } from "node:test";
import assert from "node:assert/strict";
import type net from "node:net";
import { Buffer } from "node:buffer";
import { WebSocket } from "../../src/node-client.js";
import { FRAGMENT_BYTES } from "../../src/adapters/node/sender.js";
import { closed, next, rawServer, serverFrame } from "./node-client-helpers.js";

const MiB = 1 << 20;

/**
 * Lets `socket` read on average `bytesPerTick` every `tickMs`: a peer that reads slowly but
 * steadily. A chunk larger than what is left of a tick's budget (Bun reads up to 512 KiB at once)
 * is paid for by the ticks after it. `onChunk` sees every chunk read. Returns a function that stops
 * the pacing.
 */
function readSlowly(socket: net.Socket, bytesPerTick: number, tickMs: number, onChunk: (chunk: Buffer) => void): () => void {
  let budget = bytesPerTick;
  socket.on("data", (chunk: Buffer) => {
    onChunk(chunk);
    budget -= chunk.length;
    if (budget <= 0) socket.pause();
  });
  const ticks = setInterval(() => {
    budget = Math.min(budget + bytesPerTick, bytesPerTick);
    if (budget > 0) socket.resume();
  }, tickMs);
  return () => clearInterval(ticks);
}

test("close() behind a large message to a slow, steady reader: the peer gets all of it and a clean close; bufferedAmount falls as it drains", async () => {
  // The peer reads about 8 MiB/s, so the 40 MiB take about 5 s, several closeTimeouts: a timer that
  // saw no progress until the whole backlog was written gave up after two periods (2 s). Once our
  // side is empty, the kernel's buffers (a few MiB on loopback) drain within one period.
  const size = 40 * MiB;
  const closeTimeout = 1000;
  // The message in fragments of FRAGMENT_BYTES (sender.ts), each with a 14-byte header, then a
  // masked close frame with code 1000.
  const expected = Math.ceil(size / FRAGMENT_BYTES) * 14 + size + 8;
  let received = 0;
  let tail: Buffer = Buffer.alloc(0);
  let stopReading = (): void => {};
  const peer = await rawServer({
    onUpgrade: (socket) => {
      stopReading = readSlowly(socket, 160 * 1024, 20, (chunk) => {
        received += chunk.length;
        tail = chunk.length >= 8 ? chunk.subarray(-8) : Buffer.concat([tail, chunk]).subarray(-8);
        if (received === expected) socket.end(serverFrame(0x8, Buffer.from([0x03, 0xe8])));
      });
    },
  });
  const ws = new WebSocket(peer.url, undefined, { closeTimeout });
  const samples: number[] = [];
  let sampling: ReturnType<typeof setInterval> | undefined;
  try {
    await next(ws, "open");
    ws.send(new Uint8Array(size).fill(7));
    const done = closed(ws);
    ws.close(1000);
    sampling = setInterval(() => samples.push(ws.bufferedAmount), 100);
    const event = await done;
    clearInterval(sampling);
    assert.deepEqual([event.code, event.wasClean], [1000, true], `the close was clean (peer read ${received} of ${expected} bytes)`);
    assert.equal(received, expected, "all of the message and the close frame reached the peer");
    // The close frame came last: 0x88 (FIN, close), masked 2-byte payload, code 1000 under its key.
    const code = ((tail[6]! ^ tail[2]!) << 8) | (tail[7]! ^ tail[3]!);
    assert.deepEqual([tail[0], tail[1], code], [0x88, 0x82, 1000]);
    assert.equal(ws.bufferedAmount, 0, "nothing is left unsent after a clean close");

    // bufferedAmount fell while the peer read, not in one step once everything was written.
    const draining = samples.filter((amount) => amount > 0);
    const steps = new Set(draining).size;
    let largestDrop = 0;
    for (let i = 1; i < samples.length; i++) largestDrop = Math.max(largestDrop, samples[i - 1]! - samples[i]!);
    assert.ok(steps >= 10, `bufferedAmount took ${steps} distinct values while draining: ${samples.join(" ")}`);
    assert.ok(largestDrop <= size / 4, `bufferedAmount fell by at most a quarter at once (${largestDrop}): ${samples.join(" ")}`);
  } finally {
    clearInterval(sampling);
    stopReading();
    ws.terminate();
    await peer.close();
  }
});

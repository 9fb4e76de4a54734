// Node only (not run by test/deno/ or test/bun/): close() behind a large backlog on a slow link,
// on Node's plain sockets, which show progress inside one large write (the libuv handle's
// writeQueueSize; Sender.unwritten) and are given the backlog a fragment or two at a time, as they
// drain (sender.ts). Deno, Bun and TLS
// show progress only when a write completes, so there the Sender gives the socket a piece or two
// at a time (PacedWrites); node-client-close-backlog.test.ts tests that in all three runtimes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { WebSocket } from "../../src/node-client.js";
import { FRAGMENT_BYTES } from "../../src/adapters/node/sender.js";
import { closed, next, rawServer, serverFrame } from "./node-client-helpers.js";

test("close() behind a backlog: a slow reader gets every byte and the close frame; closeTimeout counts while nothing moves", async () => {
  // The peer reads at most 1.5 MiB per 50 ms (30 MiB/s), so the 96 MiB take about 3 s, twice
  // closeTimeout: a timer counted from close() gives up halfway. The kernel's buffers (a few MiB)
  // drain well within closeTimeout once our own backlog is empty.
  const size = 96 << 20;
  const quota = 1.5 * (1 << 20);
  // The message in fragments of FRAGMENT_BYTES (sender.ts), each with a 14-byte header, then a
  // masked close frame with code 1000.
  const expected = Math.ceil(size / FRAGMENT_BYTES) * 14 + size + 8;
  let received = 0;
  let budget = quota;
  let reads: ReturnType<typeof setInterval> | undefined;
  const peer = await rawServer({
    onUpgrade: (socket) => {
      reads = setInterval(() => {
        budget = quota;
        socket.resume();
      }, 50);
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        budget -= chunk.length;
        if (budget <= 0) socket.pause();
        if (received === expected) socket.end(serverFrame(0x8, Buffer.from([0x03, 0xe8])));
      });
    },
  });
  const ws = new WebSocket(peer.url, undefined, { closeTimeout: 1500 });
  try {
    await next(ws, "open");
    ws.send(new Uint8Array(size));
    const done = closed(ws);
    ws.close(1000);
    const event = await done;
    assert.equal(received, expected, "all of the backlog and the close frame reached the peer");
    assert.deepEqual([event.code, event.wasClean], [1000, true]);
  } finally {
    clearInterval(reads);
    ws.terminate();
    await peer.close();
  }
});

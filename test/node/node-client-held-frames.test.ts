// HeldFrames: mapping the socket's writableLength (frame bytes) back to application bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HeldFrames } from "../../src/adapters/node/held-frames.js";

test("HeldFrames: whole and partly written frames, headers not counted, compressed frames in proportion", () => {
  const held = new HeldFrames();
  // A 100-byte binary frame (6-byte header) of which the kernel took 10 bytes: the header went
  // first, so the 96 bytes left are all payload.
  held.add(106, 100, 96);
  assert.equal(held.unwrittenPayload(96), 96);
  // A compressed frame: 1,000 application bytes in 50 frame bytes, behind the first.
  held.add(50, 1000, 146);
  assert.equal(held.unwrittenPayload(146), 96 + 1000);
  // The kernel took the first frame and 25 bytes of the second: half of its payload remains.
  held.forgetWritten(25);
  assert.equal(held.frameBytes, 50);
  assert.equal(held.unwrittenPayload(25), 500);
  // Destroyed: what it held when last told.
  assert.equal(held.unwrittenPayload(undefined), 500);
  held.forgetWritten(0);
  assert.equal(held.frameBytes, 0);
  assert.equal(held.unwrittenPayload(0), 0);
});

test("HeldFrames: a long backlog of small frames is forgotten as the socket drains, and stays exact", () => {
  const held = new HeldFrames();
  let socketBytes = 0;
  for (let i = 0; i < 5000; i++) {
    socketBytes += 6 + 10;
    held.add(16, 10, socketBytes);
  }
  assert.equal(held.unwrittenPayload(socketBytes), 50_000);
  // Drain 3,000 frames and a half: 2,000 frames remain, the oldest with 8 of its 16 bytes.
  socketBytes = 2000 * 16 - 8;
  held.forgetWritten(socketBytes);
  assert.equal(held.frameBytes, 2000 * 16);
  assert.equal(held.unwrittenPayload(socketBytes), 1999 * 10 + 8);
  held.add(16, 10, socketBytes + 16);
  assert.equal(held.unwrittenPayload(socketBytes + 16), 2000 * 10 + 8);
});

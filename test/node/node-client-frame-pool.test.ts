// The free list of large frame buffers (src/adapters/node/frame-pool.ts) and the frames built in
// it: reuse only after release, a fitting size, bounds on what stays pooled. The end-to-end checks
// (buffers never reused while the socket still holds them) are in node-client-basic.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  acquireFrameBuffer,
  FREE_MAX_BYTES,
  FREE_MAX_COUNT,
  pooledBytes,
  POOLED_MAX_BYTES,
  POOLED_MIN_BYTES,
  releaseFrameBuffer,
} from "../../src/adapters/node/frame-pool.js";
import { buildFrame, frameWritten } from "../../src/adapters/node/frame.js";

const MIB = 1024 * 1024;

/** Take everything out of the pool, so each test starts from an empty free list. */
function drain(): void {
  // A request of `size` takes a free buffer of `size` to `2 * size` bytes: doubling sizes cover all.
  for (let size = POOLED_MIN_BYTES; size <= POOLED_MAX_BYTES; size *= 2) {
    while (pooledBytes() > 0) {
      const before = pooledBytes();
      acquireFrameBuffer(size);
      if (pooledBytes() === before) break;
    }
  }
  assert.equal(pooledBytes(), 0);
}

test("a released buffer is handed out again; one still in use never is", () => {
  drain();
  const a = acquireFrameBuffer(MIB + 16);
  const b = acquireFrameBuffer(MIB + 16);
  assert.notEqual(a, b);
  assert.ok(a.byteLength >= MIB + 16 && a.byteLength % (64 * 1024) === 0, `capacity ${a.byteLength}`);
  releaseFrameBuffer(a);
  assert.equal(pooledBytes(), a.byteLength);
  const c = acquireFrameBuffer(MIB + 16);
  assert.equal(c, a);
  assert.equal(pooledBytes(), 0);
  const d = acquireFrameBuffer(MIB + 16);
  assert.notEqual(d, a);
  assert.notEqual(d, b);
});

test("a pooled buffer serves requests up to its size and down to half of it", () => {
  drain();
  const big = acquireFrameBuffer(2 * MIB);
  releaseFrameBuffer(big);
  assert.notEqual(acquireFrameBuffer(MIB / 2), big, "a 2 MiB buffer is not wasted on 512 KiB");
  assert.notEqual(acquireFrameBuffer(2 * MIB + 64 * 1024 + 1), big, "too small");
  assert.equal(acquireFrameBuffer(MIB + 1), big);
});

test("the free list keeps at most FREE_MAX_COUNT buffers and FREE_MAX_BYTES, the latest returned", () => {
  drain();
  const small = Array.from({ length: FREE_MAX_COUNT + 3 }, () => acquireFrameBuffer(POOLED_MIN_BYTES));
  for (const buffer of small) releaseFrameBuffer(buffer);
  assert.equal(pooledBytes(), FREE_MAX_COUNT * POOLED_MIN_BYTES);
  const kept = new Set(Array.from({ length: FREE_MAX_COUNT }, () => acquireFrameBuffer(POOLED_MIN_BYTES)));
  assert.deepEqual(kept, new Set(small.slice(3)));

  drain();
  const large = Array.from({ length: FREE_MAX_COUNT }, () => acquireFrameBuffer(POOLED_MAX_BYTES));
  for (const buffer of large) releaseFrameBuffer(buffer);
  assert.ok(pooledBytes() <= FREE_MAX_BYTES, `${pooledBytes()} bytes pooled`);
  assert.equal(pooledBytes(), Math.floor(FREE_MAX_BYTES / POOLED_MAX_BYTES) * POOLED_MAX_BYTES);
});

test("frames: small ones are not pooled, large ones are until POOLED_MAX_BYTES, and their payload is 8-byte aligned", () => {
  drain();
  for (const length of [0, 125, 65535]) {
    const frame = buildFrame(0x2, new Uint8Array(length), false);
    assert.equal(frameWritten(frame), undefined, `${length} bytes`);
  }
  const largest = POOLED_MAX_BYTES - 16;
  for (const length of [65536, MIB, largest]) {
    const frame = buildFrame(0x2, new Uint8Array(length), false);
    assert.equal(frame.length, 14 + length);
    assert.equal((frame.byteOffset + 14) % 8, 0, "payload aligned");
    const written = frameWritten(frame);
    assert.equal(typeof written, "function", `${length} bytes`);
    const before = pooledBytes();
    written!();
    assert.equal(pooledBytes(), before + frame.buffer.byteLength, `${length} bytes returned`);
    assert.equal(acquireFrameBuffer(14 + length + 2), frame.buffer, "the same buffer serves the next frame");
  }
  const oversized = buildFrame(0x2, new Uint8Array(largest + 1), false);
  assert.equal(frameWritten(oversized), undefined);
  assert.equal((oversized.byteOffset + 14) % 8, 0, "payload aligned");
});

test("a pooled frame is a correct masked frame whatever the buffer held before", () => {
  drain();
  const stale = acquireFrameBuffer(MIB + 16);
  new Uint8Array(stale).fill(0xa5);
  releaseFrameBuffer(stale);
  const payload = new Uint8Array(MIB + 3);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 0xff;
  const frame = buildFrame(0x2, payload, false);
  assert.equal(frame.buffer, stale);
  // RFC 6455 §5.2: FIN + binary, MASK + 127, 64-bit length, then the key (§5.3).
  assert.equal(frame[0], 0x82);
  assert.equal(frame[1], 0x80 | 127);
  assert.equal(Number(frame.readBigUInt64BE(2)), payload.length);
  const mask = frame.subarray(10, 14);
  for (let i = 0; i < payload.length; i++) {
    if ((frame[14 + i]! ^ mask[i & 3]!) !== payload[i]) assert.fail(`payload byte ${i}`);
  }
});

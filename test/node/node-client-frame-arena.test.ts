// The memory for large outgoing frames (src/adapters/node/frame-arena.ts) and the WebAssembly SIMD
// mask that works in it (simd-mask.ts): regions never overlap and come back only on release, a full
// arena falls back to plain buffers, and frames masked by SIMD are byte for byte what RFC 6455 §5.3
// says, at every length mod 64 and on top of stale contents. The end-to-end checks (regions never
// reused while the socket still holds them, regions of dropped frames come back) are in
// node-client-basic.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import v8 from "node:v8";
import vm from "node:vm";
import fc from "fast-check";
import { ARENA_BYTES, FrameArena, frameArena, GRANULE, POOLED_MAX_BYTES, POOLED_MIN_BYTES } from "../../src/adapters/node/frame-arena.js";
import { buildFrame, buildTextFrame, frameWritten } from "../../src/adapters/node/frame.js";

const MIB = 1024 * 1024;

/** What RFC 6455 §5.3 says the masked payload is: byte i XOR key[i mod 4]. */
function expectMasked(frame: Uint8Array, offset: number, payload: Uint8Array): void {
  const key = frame.subarray(offset - 4, offset);
  for (let i = 0; i < payload.length; i++) {
    if ((frame[offset + i]! ^ key[i & 3]!) !== payload[i]) assert.fail(`payload byte ${i} of ${payload.length}`);
  }
}

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 13 + seed * 71 + (i >>> 8)) & 0xff;
  return bytes;
}

test("the arena uses WebAssembly SIMD in this runtime, and can be made without it", () => {
  // Node 20, Deno and Bun all have WebAssembly SIMD: if this fails, the fast path silently went away.
  assert.equal(new FrameArena().simd, true);
  assert.equal(new FrameArena({ simd: false }).simd, false);
});

test("regions never overlap, are reused only after release, and are counted", () => {
  const arena = new FrameArena();
  const a = arena.acquire(MIB + 14)!;
  const b = arena.acquire(MIB + 14)!;
  assert.equal(a.length, MIB + 14);
  assert.ok(b.byteOffset >= a.byteOffset + a.length, "b starts after a");
  // A frame starts 2 bytes into its region: 1 MiB + 16 bytes take 17 granules of 64 KiB.
  assert.equal(arena.usedBytes, 2 * 17 * GRANULE);
  a.fill(1);
  assert.ok(b.every((byte) => byte === 0), "writing a leaves b alone");
  arena.release(a);
  assert.equal(arena.usedBytes, 17 * GRANULE);
  const c = arena.acquire(MIB)!;
  assert.equal(c.byteOffset, a.byteOffset, "first fit takes the freed region again");
  arena.release(b);
  arena.release(c);
  assert.equal(arena.usedBytes, 0);
  assert.ok(arena.owns(c));
  assert.ok(!arena.owns(Buffer.alloc(16)));
  // Releasing a frame that is not the arena's, or a stale frame whose region now serves another
  // frame, changes nothing: d keeps c's old region.
  const d = arena.acquire(MIB)!;
  assert.equal(d.byteOffset, c.byteOffset);
  arena.release(Buffer.alloc(MIB));
  arena.release(c);
  arena.release(a);
  assert.equal(arena.usedBytes, 17 * GRANULE);
  assert.notEqual(arena.acquire(MIB)!.byteOffset, d.byteOffset, "d's region is still in use");
});

test("a full arena says no until a region long enough is free again", () => {
  const arena = new FrameArena();
  const granules = ARENA_BYTES / GRANULE;
  const held = Array.from({ length: granules }, () => arena.acquire(GRANULE - 2)!);
  assert.ok(held.every((frame) => frame !== undefined));
  assert.equal(arena.usedBytes, ARENA_BYTES);
  assert.equal(arena.acquire(100), undefined);
  // Every other granule free: plenty of bytes, but no run of two.
  for (let i = 0; i < granules; i += 2) arena.release(held[i]!);
  assert.equal(arena.acquire(GRANULE + 100), undefined);
  assert.ok(arena.acquire(GRANULE - 2) !== undefined);
  for (let i = 1; i < granules; i += 2) arena.release(held[i]!);
  assert.ok(arena.acquire(POOLED_MAX_BYTES - 2) !== undefined, "the largest pooled frame fits again");
});

test("SIMD and JavaScript arenas mask alike, at every length mod 64, over stale contents", () => {
  for (const simd of [true, false]) {
    const arena = new FrameArena({ simd });
    for (let length = 65536; length < 65536 + 130; length++) {
      const frame = arena.acquire(14 + length)!;
      frame.fill(0xa5);
      frame[10] = (length * 7) & 0xff;
      frame[11] = 0x80 | length;
      frame[12] = 0x3c;
      frame[13] = 0xff;
      const payload = pattern(length, length);
      arena.mask(payload, frame, 14);
      expectMasked(frame, 14, payload);
      arena.release(frame);
    }
  }
});

test("property: a SIMD-masked payload XORed with its key gives the payload back", () => {
  const arena = new FrameArena();
  fc.assert(
    fc.property(
      fc.integer({ min: 65536, max: 65536 + 4096 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 255 }),
      (length, key, seed) => {
        const frame = arena.acquire(14 + length)!;
        try {
          frame.set(key, 10);
          const payload = pattern(length, seed);
          arena.mask(payload, frame, 14);
          expectMasked(frame, 14, payload);
        } finally {
          arena.release(frame);
        }
      },
    ),
    { numRuns: 60 },
  );
});

test("frames: small ones stay out of the arena, large ones are in it up to POOLED_MAX_BYTES, payload 16-byte aligned", () => {
  const arena = frameArena();
  for (const length of [0, 125, 65535]) {
    const frame = buildFrame(0x2, new Uint8Array(length), false);
    assert.equal(frameWritten(frame), undefined, `${length} bytes`);
    assert.ok(!arena.owns(frame));
  }
  const largest = POOLED_MAX_BYTES - 16;
  for (const length of [POOLED_MIN_BYTES, MIB + 5, largest]) {
    const before = arena.usedBytes;
    const payload = pattern(length, 3);
    const frame = buildFrame(0x2, payload, false);
    assert.ok(arena.owns(frame), `${length} bytes`);
    assert.equal(frame.length, 14 + length);
    assert.equal((frame.byteOffset + 14) % 16, 0, "payload aligned");
    // RFC 6455 §5.2: FIN + binary, MASK + 127, 64-bit length, then the key (§5.3).
    assert.equal(frame[0], 0x82);
    assert.equal(frame[1], 0x80 | 127);
    assert.equal(Number(frame.readBigUInt64BE(2)), length);
    expectMasked(frame, 14, payload);
    assert.ok(arena.usedBytes > before);
    const written = frameWritten(frame);
    assert.equal(typeof written, "function", `${length} bytes`);
    written!();
    assert.equal(arena.usedBytes, before, `${length} bytes returned`);
  }
  const oversized = buildFrame(0x2, new Uint8Array(largest + 1), false);
  assert.ok(!arena.owns(oversized));
  assert.equal(frameWritten(oversized), undefined);
  assert.equal((oversized.byteOffset + 14) % 8, 0, "payload aligned");
});

test("large text frames are encoded into the arena and masked in place; small ones are not", () => {
  const arena = frameArena();
  const small = buildTextFrame("héllo");
  assert.ok(!arena.owns(small));
  assert.equal(frameWritten(small), undefined);
  for (const text of ["é".repeat(40_000), "a".repeat(65_536) + "👋", "κόσμε ".repeat(50_001)]) {
    const bytes = Buffer.from(text, "utf8");
    const before = arena.usedBytes;
    const frame = buildTextFrame(text);
    assert.ok(arena.owns(frame), `${bytes.length} bytes`);
    // RFC 6455 §5.2: FIN + text, MASK + 127, 64-bit length.
    assert.equal(frame[0], 0x81);
    assert.equal(frame[1], 0x80 | 127);
    assert.equal(Number(frame.readBigUInt64BE(2)), bytes.length);
    expectMasked(frame, 14, bytes);
    frameWritten(frame)!();
    assert.equal(arena.usedBytes, before);
  }
});

test("frames built while the arena is full get their own buffer and are still correct", () => {
  const arena = frameArena();
  const held: Buffer[] = [];
  for (let frame = arena.acquire(GRANULE - 2); frame !== undefined; frame = arena.acquire(GRANULE - 2)) held.push(frame);
  try {
    const payload = pattern(MIB + 3, 9);
    const frame = buildFrame(0x2, payload, false);
    assert.ok(!arena.owns(frame));
    assert.equal(frameWritten(frame), undefined);
    expectMasked(frame, 14, payload);
  } finally {
    for (const frame of held) arena.release(frame);
  }
});

test("a region whose frame is garbage-collected without a release comes back", async () => {
  // Expose gc() to this test only (node:v8 and node:vm work the same in Deno).
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const arena = new FrameArena();
  (() => {
    // Dropped without release(), as if a runtime never called a write callback.
    arena.acquire(MIB);
  })();
  assert.ok(arena.usedBytes > 0);
  for (let i = 0; i < 50 && arena.usedBytes > 0; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(arena.usedBytes, 0);
});

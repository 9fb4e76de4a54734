// The memory for large outgoing frames (src/adapters/node/frame-arena.ts) and the WebAssembly SIMD
// mask that works in it (simd-mask.ts): regions never overlap and come back only on release, a full
// arena falls back to plain buffers, and frames masked by SIMD are byte for byte what RFC 6455 §5.3
// says, at every length mod 64 and on top of stale contents; writeFrame (frame.ts) cuts large frames
// into pieces that are right byte for byte whether each piece's region is freed at once or held.
// The end-to-end checks (regions never reused while the socket still holds them, freed during
// send() when the kernel took them, regions of dropped frames come back) are in
// node-client-basic.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import v8 from "node:v8";
import vm from "node:vm";
import fc from "fast-check";
import { ARENA_BYTES, FrameArena, frameArena, GRANULE, POOLED_MAX_BYTES, POOLED_MIN_BYTES } from "../../src/adapters/node/frame-arena.js";
import { buildTextFrame, frameWritten, PIECE_BYTES, writeFrame, type FrameOutput } from "../../src/adapters/node/frame.js";

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

/** A FrameOutput that keeps a copy of each chunk, as the kernel would, and what came with it. */
class CapturedFrame implements FrameOutput {
  readonly chunks: Buffer[] = [];
  readonly copies: Buffer[] = [];
  readonly releases: ((() => void) | undefined)[] = [];
  /** `taken`: every chunk is taken by the kernel during its write, so it is released at once. */
  constructor(private readonly taken: boolean) {}

  writeChunk(chunk: Buffer, release: (() => void) | undefined): void {
    this.chunks.push(chunk);
    this.copies.push(Buffer.from(chunk));
    this.releases.push(release);
    if (this.taken) release?.();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.copies);
  }

  releaseAll(): void {
    for (const release of this.releases) release?.();
  }
}

/** Piece lengths writeFrame should use for `length` payload bytes: PIECE_BYTES, a rest of up to 1.5 whole. */
function expectedPieces(length: number): number[] {
  const pieces: number[] = [];
  let rest = length;
  while (rest > PIECE_BYTES * 1.5) {
    pieces.push(PIECE_BYTES);
    rest -= PIECE_BYTES;
  }
  return [...pieces, rest];
}

test("writeFrame: small frames are one Buffer outside the arena", () => {
  const arena = frameArena();
  for (const length of [0, 125, 126, 65535]) {
    const out = new CapturedFrame(false);
    const payload = pattern(length, 1);
    writeFrame(out, 0x2, payload, false);
    assert.equal(out.chunks.length, 1, `${length} bytes`);
    assert.equal(out.releases[0], undefined);
    assert.ok(!arena.owns(out.chunks[0]!));
    // RFC 6455 §5.2: FIN + binary; MASK and a 7-bit length, or 126 and a 16-bit one.
    const frame = out.bytes;
    assert.equal(frame[0], 0x82);
    assert.equal(frame[1], 0x80 | (length < 126 ? length : 126));
    const offset = length < 126 ? 6 : 8;
    if (length >= 126) assert.equal(frame.readUInt16BE(2), length);
    assert.equal(frame.length, offset + length);
    expectMasked(frame, offset, payload);
  }
});

test("writeFrame: large frames go out in pieces, each masked into an arena region, payload 16-byte aligned", () => {
  const arena = frameArena();
  const before = arena.usedBytes;
  // One piece (64 KiB, 700 KiB, 1.5 pieces), two, several, and more than the arena holds at once:
  // with no piece released, the last ones of 9 MiB get their own buffers and must still be right.
  const lengths = [POOLED_MIN_BYTES, 700 * 1024, PIECE_BYTES * 1.5, PIECE_BYTES * 1.5 + 1, MIB + 5, 4 * MIB + 48 * 1024 + 3, 9 * MIB + 3];
  for (const length of lengths) {
    const out = new CapturedFrame(false);
    const payload = pattern(length, length & 0xff);
    writeFrame(out, 0x2, payload, length === MIB + 5);
    const pieces = expectedPieces(length);
    assert.deepEqual(
      out.chunks.map((chunk, i) => chunk.length - (i === 0 ? 14 : 0)),
      pieces,
      `${length} bytes: piece lengths`,
    );
    const frame = out.bytes;
    // RFC 6455 §5.2: FIN + binary (RSV1 when asked, for permessage-deflate), MASK + 127, 64-bit length.
    assert.equal(frame[0], length === MIB + 5 ? 0xc2 : 0x82);
    assert.equal(frame[1], 0x80 | 127);
    assert.equal(Number(frame.readBigUInt64BE(2)), length);
    expectMasked(frame, 14, payload);
    const pooled = out.chunks.map((chunk) => arena.owns(chunk));
    assert.ok(pooled[0], `${length} bytes: the first piece is in the arena`);
    assert.deepEqual(
      pooled.map((inArena, i) => inArena === (out.releases[i] !== undefined)),
      pooled.map(() => true),
      "a release exactly for pieces in the arena",
    );
    out.chunks.forEach((chunk, i) => {
      if (pooled[i]) assert.equal((chunk.byteOffset + (i === 0 ? 14 : 0)) % 16, 0, `piece ${i} aligned`);
    });
    if (length > ARENA_BYTES) assert.ok(!pooled.at(-1), "9 MiB: the last pieces do not fit and have their own buffer");
    out.releaseAll();
    assert.equal(arena.usedBytes, before, `${length} bytes: regions returned`);
  }
});

test("writeFrame: a piece released during its write lends its region to the next piece", () => {
  const arena = frameArena();
  const before = arena.usedBytes;
  const out = new CapturedFrame(true);
  const payload = pattern(4 * MIB + 1000, 5);
  writeFrame(out, 0x2, payload, false);
  assert.equal(out.chunks.length, 8);
  // Every piece after the first is written from 14 bytes into the same region as the first.
  for (const chunk of out.chunks.slice(1)) assert.equal(chunk.byteOffset - 14, out.chunks[0]!.byteOffset);
  // Each piece overwrote the region after the one before had been copied out, as the kernel does.
  expectMasked(out.bytes, 14, payload);
  assert.equal(arena.usedBytes, before);
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

test("writeFrame: with the arena full, every piece gets its own buffer and the frame is still right", () => {
  const arena = frameArena();
  const held: Buffer[] = [];
  for (let frame = arena.acquire(GRANULE - 2); frame !== undefined; frame = arena.acquire(GRANULE - 2)) held.push(frame);
  try {
    const out = new CapturedFrame(false);
    const payload = pattern(MIB + 3, 9);
    writeFrame(out, 0x2, payload, false);
    assert.equal(out.chunks.length, 2);
    assert.ok(out.chunks.every((chunk) => !arena.owns(chunk)));
    assert.ok(out.releases.every((release) => release === undefined));
    expectMasked(out.bytes, 14, payload);
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

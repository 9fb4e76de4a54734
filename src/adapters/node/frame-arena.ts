/**
 * Memory for large outgoing frames: one fixed block per process, handed out in 64 KiB granules.
 *
 * Why not a fresh Buffer per frame: its pages fault in on first touch (allocating and touching
 * 1 MiB took 400-480 µs in the benchmark VM, masking it 110-150 µs). Why one block rather than a
 * free list of ArrayBuffers: the block is WebAssembly memory where the runtime has it, so
 * simd-mask.ts can XOR payloads in place 16 bytes at a time (it only sees its own memory). Without
 * WebAssembly SIMD the block is a plain ArrayBuffer and frames are masked by the JavaScript loop.
 *
 * A region goes back to the arena once the kernel (or TLS, which encrypts into its own buffers) has
 * taken every byte of it, so a region is never rewritten while its bytes can still be sent: right
 * after socket.write when the socket queued nothing (sender.ts), else in the write's callback.
 * Should a runtime ever drop a write without calling back, the frame Buffer becomes garbage and a
 * FinalizationRegistry returns its region instead.
 *
 * Bounded for the whole process, not per connection: ARENA_BYTES, created on the first large
 * frame. Pages never touched cost no memory, and first fit keeps the touched ones at the low end.
 * When the arena is full (many large frames in flight at once), frames fall back to their own
 * buffer and the JavaScript mask.
 */
import { Buffer } from "node:buffer";
import { maskWithKeyAt } from "../../protocol/mask.js";
import { createSimdMask, type SimdMask } from "./simd-mask.js";

/** Frames smaller than this use Buffer.allocUnsafe (Node's own 8 KiB pool or a plain allocation). */
export const POOLED_MIN_BYTES = 64 * 1024;
/** Frames larger than this get their own buffer, left to the GC. */
export const POOLED_MAX_BYTES = 4 * 1024 * 1024 + 64 * 1024;
/** Granule of the arena: a region is a run of whole granules. */
export const GRANULE = 64 * 1024;
/** The arena's size: room for eight 1 MiB frames, or two of the largest pooled size. */
export const ARENA_BYTES = 8 * 1024 * 1024 + 512 * 1024;

/**
 * Where in its region a frame starts: 2 bytes in, so that after a 14-byte header (payloads of
 * 64 KiB and more) the payload starts 16 bytes into the granule, aligned for the 16-byte SIMD
 * loads and for mask.ts's 8-byte words.
 */
const FRAME_OFFSET = 2;
/** Payloads are copied in and masked in blocks of this size (a multiple of the SIMD loop's 64). */
const COPY_BLOCK = 16 * 1024;
const GRANULES = ARENA_BYTES / GRANULE;

export class FrameArena {
  readonly #bytes: Uint8Array;
  readonly #simd: SimdMask | undefined;
  // Per granule: 0 when free; at the first granule of a region, the region's length in granules;
  // at its other granules -1.
  readonly #regions = new Int16Array(GRANULES);
  // Per first granule, how many times a region starting there was handed out; a frame remembers
  // its number, so that releasing a stale frame can never free a region that now serves another.
  readonly #handouts = new Float64Array(GRANULES);
  readonly #frames = new WeakMap<Uint8Array, number>();
  #usedGranules = 0;
  readonly #finalizer = new FinalizationRegistry<number>((ticket) => this.#free(ticket % GRANULES, Math.floor(ticket / GRANULES)));

  /** `simd: false` forces the JavaScript mask (tests compare both paths). */
  constructor(options: { simd?: boolean } = {}) {
    let memory: WebAssembly.Memory | undefined;
    if (options.simd !== false && typeof WebAssembly === "object") {
      try {
        const pages = ARENA_BYTES / 65536;
        memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      } catch {
        // No address space for it (e.g. a ulimit on virtual memory): use an ArrayBuffer.
        memory = undefined;
      }
    }
    const simd = memory === undefined ? undefined : createSimdMask(memory);
    // The memory is never grown, so this view (and every frame Buffer over it) stays valid.
    this.#bytes = simd === undefined ? new Uint8Array(ARENA_BYTES) : new Uint8Array(memory!.buffer);
    this.#simd = simd;
  }

  /** Whether frames here are masked by WebAssembly SIMD. */
  get simd(): boolean {
    return this.#simd !== undefined;
  }

  /** Bytes of the arena in regions handed out and not yet released. */
  get usedBytes(): number {
    return this.#usedGranules * GRANULE;
  }

  /**
   * A frame buffer of `size` bytes (POOLED_MIN_BYTES - 14 < size <= POOLED_MAX_BYTES - 2) in a free
   * region, or undefined when no run of free granules is long enough. Its contents are arbitrary.
   */
  acquire(size: number): Buffer | undefined {
    const need = Math.ceil((size + FRAME_OFFSET) / GRANULE);
    const regions = this.#regions;
    // First fit: keeps the regions in use, and so the pages ever touched, at the low end.
    let run = 0;
    for (let g = 0; g < GRANULES; g++) {
      if (regions[g] !== 0) {
        run = 0;
        continue;
      }
      if (++run < need) continue;
      const first = g - need + 1;
      regions[first] = need;
      for (let i = first + 1; i <= g; i++) regions[i] = -1;
      this.#usedGranules += need;
      const bytes = this.#bytes;
      const frame = Buffer.from(bytes.buffer, bytes.byteOffset + first * GRANULE + FRAME_OFFSET, size);
      const handout = ++this.#handouts[first]!;
      this.#frames.set(frame, handout);
      this.#finalizer.register(frame, handout * GRANULES + first, frame);
      return frame;
    }
    return undefined;
  }

  /** Whether `frame` came from acquire() of this arena. */
  owns(frame: Uint8Array): boolean {
    return frame.buffer === this.#bytes.buffer;
  }

  /** Give a frame's region back: only once nothing reads the frame any more (its write callback). */
  release(frame: Uint8Array): void {
    const handout = this.#frames.get(frame);
    // Not a frame of this arena, or released already: nothing to do.
    if (handout === undefined) return;
    this.#frames.delete(frame);
    this.#finalizer.unregister(frame);
    this.#free((frame.byteOffset - this.#bytes.byteOffset - FRAME_OFFSET) / GRANULE, handout);
  }

  /**
   * Write `payload` masked with the key at frame[offset - 4, offset) into frame[offset, ...). For
   * frames from acquire(), whose payload (after a 14-byte header) starts 16-byte aligned.
   */
  mask(payload: Uint8Array, frame: Buffer, offset: number): void {
    const simd = this.#simd;
    if (simd === undefined) {
      maskWithKeyAt(payload, frame, offset - 4, frame, offset);
      return;
    }
    // Copy and XOR one 16 KiB block at a time, so that the XOR reads each block from L1 right
    // after the copy wrote it, rather than the whole frame back from L2 or L3 after a 1 MiB copy.
    // In the send benchmark: 455-503 vs 495-512 µs of CPU per MiB (A/B runs of 16-20 repetitions).
    const bytes = this.#bytes;
    const length = payload.length;
    const address = frame.byteOffset + offset;
    const key = maskKey(frame, offset);
    for (let at = 0; at < length; at += COPY_BLOCK) {
      const end = Math.min(at + COPY_BLOCK, length);
      bytes.set(payload.subarray(at, end), address + at);
      simd(address + at, end - at, key);
    }
    this.#maskTail(frame, offset, length);
  }

  /** Mask frame[offset, offset + length) in place with the key at frame[offset - 4, offset). */
  maskInPlace(frame: Buffer, offset: number, length: number): void {
    const simd = this.#simd;
    if (simd === undefined) {
      maskWithKeyAt(frame.subarray(offset, offset + length), frame, offset - 4, frame, offset);
      return;
    }
    this.#simdMask(simd, frame, offset, length);
  }

  #simdMask(simd: SimdMask, frame: Buffer, offset: number, length: number): void {
    simd(frame.byteOffset + offset, length, maskKey(frame, offset));
    this.#maskTail(frame, offset, length);
  }

  /** The SIMD module XORs whole 64-byte runs; this does the last length % 64 bytes. */
  #maskTail(frame: Buffer, offset: number, length: number): void {
    const bytes = this.#bytes;
    const address = frame.byteOffset + offset;
    // The tail starts at a multiple of 64, so at key byte 0.
    for (let i = length & ~63; i < length; i++) bytes[address + i]! ^= frame[offset - 4 + (i & 3)]!;
  }

  #free(first: number, handout: number): void {
    const regions = this.#regions;
    const length = regions[first];
    // The region must still be the one this frame was handed (not released and handed out again).
    if (length === undefined || !(length > 0) || this.#handouts[first] !== handout) return;
    regions.fill(0, first, first + length);
    this.#usedGranules -= length;
  }
}

/** The masking key at frame[offset - 4, offset) as the little-endian word simd-mask.ts takes. */
function maskKey(frame: Buffer, offset: number): number {
  return frame[offset - 4]! | (frame[offset - 3]! << 8) | (frame[offset - 2]! << 16) | (frame[offset - 1]! << 24);
}

let shared: FrameArena | undefined;

/** The process-wide arena, created on the first large frame (nothing happens at import time). */
export function frameArena(): FrameArena {
  return (shared ??= new FrameArena());
}

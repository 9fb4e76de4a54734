/**
 * A small module-level free list of buffers for large outgoing frames. A fresh 1 MiB buffer per
 * frame costs more than masking it: the new pages fault in on first touch (allocating and touching
 * 1 MiB took 400-480 µs in the benchmark VM, masking it 110-150 µs). A buffer goes back to the list
 * only in the socket.write callback, when the kernel (or TLS, which encrypts into its own buffers)
 * has taken every byte, so a buffer is never rewritten while its bytes can still be sent.
 *
 * Bounded for the whole process, not per connection: at most FREE_MAX_COUNT buffers and
 * FREE_MAX_BYTES bytes wait in the list; the most recently returned ones are kept.
 */
import { Buffer } from "node:buffer";

/** Frames smaller than this use Buffer.allocUnsafe (Node's own 8 KiB pool or a plain allocation). */
export const POOLED_MIN_BYTES = 64 * 1024;
/** Frames larger than this are allocated each time and left to the GC. */
export const POOLED_MAX_BYTES = 4 * 1024 * 1024 + 64 * 1024;
/** At most this many buffers wait in the free list. */
export const FREE_MAX_COUNT = 8;
/** At most this many bytes wait in the free list. */
export const FREE_MAX_BYTES = 8 * 1024 * 1024 + 512 * 1024;

// Capacities are rounded up to 64 KiB so that messages of slightly different sizes share buffers.
const GRANULE = 64 * 1024;

const free: ArrayBuffer[] = [];
let freeBytes = 0;

/** Bytes waiting in the free list (for tests and diagnostics). */
export function pooledBytes(): number {
  return freeBytes;
}

/**
 * A buffer of at least `size` bytes (POOLED_MIN_BYTES <= size <= POOLED_MAX_BYTES): a free one at
 * most twice that size, or a new one. Its contents are arbitrary.
 */
export function acquireFrameBuffer(size: number): ArrayBuffer {
  for (let i = free.length - 1; i >= 0; i--) {
    const buffer = free[i]!;
    if (buffer.byteLength >= size && buffer.byteLength <= 2 * size) {
      free[i] = free[free.length - 1]!;
      free.pop();
      freeBytes -= buffer.byteLength;
      return buffer;
    }
  }
  // Not zero-filled: every byte a frame uses is written before it is sent.
  return Buffer.allocUnsafeSlow(Math.ceil(size / GRANULE) * GRANULE).buffer as ArrayBuffer;
}

/**
 * Give a buffer from acquireFrameBuffer back. Only once nothing reads it any more: after the
 * socket.write callback of the frame that used it.
 */
export function releaseFrameBuffer(buffer: ArrayBuffer): void {
  if (buffer.byteLength > POOLED_MAX_BYTES) return;
  free.push(buffer);
  freeBytes += buffer.byteLength;
  // Over the bounds: drop the buffers returned longest ago.
  while (free.length > FREE_MAX_COUNT || freeBytes > FREE_MAX_BYTES) {
    freeBytes -= free.shift()!.byteLength;
  }
}

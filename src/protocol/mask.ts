/**
 * RFC 6455 §5.3 client-to-server masking. Pure JS, tuned for V8/JSC: the bulk of the payload is
 * XORed as 32-bit words through an Int32Array view on the (4-aligned part of the) target.
 */

/** Below this many bytes, a plain byte loop beats creating typed-array views. */
const WORD_THRESHOLD = 32;

const keyBytes = new Uint8Array(4);
const keyWord = new Int32Array(keyBytes.buffer);

/**
 * XOR `source` with the 4-byte `key` into `target` starting at `targetOffset`. `source` may be the
 * very same bytes as the target region (in-place masking); any other overlap is not supported.
 */
export function applyMask(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void {
  const length = source.length;
  if (length < WORD_THRESHOLD) {
    for (let i = 0; i < length; i++) target[targetOffset + i] = source[i]! ^ key[i & 3]!;
    return;
  }
  // Copy first (memcpy speed), then mask in place: this lets the word loop run on the target's
  // alignment whatever the source's alignment is.
  const inPlace = source.buffer === target.buffer && source.byteOffset === target.byteOffset + targetOffset;
  if (!inPlace) target.set(source, targetOffset);
  maskInPlace(target, targetOffset, length, key);
}

/** Mask `length` bytes of `buf` starting at `start`, in place. */
function maskInPlace(buf: Uint8Array, start: number, length: number, key: Uint8Array): void {
  const absolute = buf.byteOffset + start;
  // Bytes before the first 4-aligned address.
  let head = (4 - (absolute & 3)) & 3;
  if (head > length) head = length;
  for (let i = 0; i < head; i++) buf[start + i]! ^= key[i & 3]!;
  const words = (length - head) >>> 2;
  if (words > 0) {
    // The key rotated so that word j covers key bytes (head + 4j) & 3 onward.
    keyBytes[0] = key[head & 3]!;
    keyBytes[1] = key[(head + 1) & 3]!;
    keyBytes[2] = key[(head + 2) & 3]!;
    keyBytes[3] = key[(head + 3) & 3]!;
    const k = keyWord[0]!;
    const view = new Int32Array(buf.buffer, absolute + head, words);
    let j = 0;
    const unrolled = words - (words & 3);
    for (; j < unrolled; j += 4) {
      view[j]! ^= k;
      view[j + 1]! ^= k;
      view[j + 2]! ^= k;
      view[j + 3]! ^= k;
    }
    for (; j < words; j++) view[j]! ^= k;
  }
  for (let i = head + words * 4; i < length; i++) buf[start + i]! ^= key[i & 3]!;
}

const POOL_SIZE = 4096;
let pool: Uint8Array<ArrayBuffer> | undefined;
let poolOffset = POOL_SIZE;

/**
 * Four fresh random bytes for a frame's masking key (RFC 6455 §5.3: unpredictable, from a strong
 * source). Drawn from a pool refilled with `crypto.getRandomValues` when used up; nothing happens at
 * import time. The returned view is valid until the pool is refilled: copy it (as the encoder does,
 * into the frame header) before asking for more than POOL_SIZE / 4 keys.
 */
export function nextMaskKey(): Uint8Array {
  if (poolOffset >= POOL_SIZE || pool === undefined) {
    pool ??= new Uint8Array(POOL_SIZE);
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const key = pool.subarray(poolOffset, poolOffset + 4);
  poolOffset += 4;
  return key;
}

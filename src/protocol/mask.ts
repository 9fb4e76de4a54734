/**
 * RFC 6455 §5.3 client-to-server masking, pure JS. Large payloads are XORed 8 bytes at a time
 * through BigUint64Array views (V8 compiles `a = b ^ k` on them to plain 64-bit XORs, faster than
 * Int32Array words); small ones byte by byte, where creating a view would cost more than it saves.
 */

/** Below this many bytes, the byte loop beats creating a typed-array view. */
const WORD_THRESHOLD = 128;

// An 8-byte scratch to build the repeated key in the platform's byte order.
const scratch = new ArrayBuffer(8);
const scratchBytes = new Uint8Array(scratch);
const scratchWord = new BigUint64Array(scratch);

/**
 * XOR `source` with the 4-byte `key` into `target` starting at `targetOffset`. `source` may be the
 * very same bytes as the target region (in-place masking); any other overlap is not supported.
 */
export function applyMask(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void {
  maskWithKeyAt(source, key, 0, target, targetOffset);
}

/** applyMask with the key read from `key[keyOffset..keyOffset + 4)` (e.g. a frame header). */
export function maskWithKeyAt(source: Uint8Array, key: Uint8Array, keyOffset: number, target: Uint8Array, targetOffset: number): void {
  const length = source.length;
  const k0 = key[keyOffset]!;
  const k1 = key[keyOffset + 1]!;
  const k2 = key[keyOffset + 2]!;
  const k3 = key[keyOffset + 3]!;
  if (length < WORD_THRESHOLD) {
    let i = 0;
    for (; i + 4 <= length; i += 4) {
      target[targetOffset + i] = source[i]! ^ k0;
      target[targetOffset + i + 1] = source[i + 1]! ^ k1;
      target[targetOffset + i + 2] = source[i + 2]! ^ k2;
      target[targetOffset + i + 3] = source[i + 3]! ^ k3;
    }
    if (i < length) target[targetOffset + i] = source[i]! ^ k0;
    if (i + 1 < length) target[targetOffset + i + 1] = source[i + 1]! ^ k1;
    if (i + 2 < length) target[targetOffset + i + 2] = source[i + 2]! ^ k2;
    return;
  }
  const start = targetOffset;
  const absolute = target.byteOffset + start;
  // Bytes before the first 8-aligned target address are masked one by one.
  const head = (8 - (absolute & 7)) & 7;
  const words = (length - head) >>> 3;
  // The key repeated twice, rotated so that each word starts at key byte (head & 3).
  for (let i = 0; i < 8; i++) scratchBytes[i] = key[keyOffset + ((head + i) & 3)]!;
  const k = scratchWord[0]!;
  const view = new BigUint64Array(target.buffer, absolute + head, words);
  const inPlace = source.buffer === target.buffer && source.byteOffset === absolute;
  if (!inPlace && (source.byteOffset & 7) === (absolute & 7)) {
    // Source and target share their alignment (the usual case: frame.ts places large payloads
    // 8-byte aligned, like the caller's own buffers): XOR source words straight into the target,
    // one pass over each instead of a copy and then a second pass over the target.
    for (let i = 0; i < head; i++) target[start + i] = source[i]! ^ key[keyOffset + (i & 3)]!;
    const from = new BigUint64Array(source.buffer, source.byteOffset + head, words);
    let j = 0;
    for (; j + 4 <= words; j += 4) {
      view[j] = from[j]! ^ k;
      view[j + 1] = from[j + 1]! ^ k;
      view[j + 2] = from[j + 2]! ^ k;
      view[j + 3] = from[j + 3]! ^ k;
    }
    for (; j < words; j++) view[j] = from[j]! ^ k;
    for (let i = head + words * 8; i < length; i++) target[start + i] = source[i]! ^ key[keyOffset + (i & 3)]!;
    return;
  }
  // Different alignments: copy first (memcpy speed), then mask in place on the target's alignment.
  if (!inPlace) target.set(source, targetOffset);
  for (let i = 0; i < head; i++) target[start + i]! ^= key[keyOffset + (i & 3)]!;
  let j = 0;
  for (; j + 4 <= words; j += 4) {
    view[j]! ^= k;
    view[j + 1]! ^= k;
    view[j + 2]! ^= k;
    view[j + 3]! ^= k;
  }
  for (; j < words; j++) view[j]! ^= k;
  for (let i = head + words * 8; i < length; i++) target[start + i]! ^= key[keyOffset + (i & 3)]!;
}

const POOL_SIZE = 4096;
let pool: Uint8Array<ArrayBuffer> | undefined;
let poolOffset = POOL_SIZE;

function refill(): Uint8Array {
  pool ??= new Uint8Array(POOL_SIZE);
  globalThis.crypto.getRandomValues(pool);
  poolOffset = 0;
  return pool;
}

/**
 * Four fresh random bytes for a frame's masking key (RFC 6455 §5.3: unpredictable, from a strong
 * source). Drawn from a pool refilled with `crypto.getRandomValues` when used up; nothing happens at
 * import time. The returned view is valid until the pool is refilled: copy it (as the encoder does,
 * into the frame header) before asking for more than POOL_SIZE / 4 keys.
 */
export function nextMaskKey(): Uint8Array {
  const bytes = poolOffset >= POOL_SIZE || pool === undefined ? refill() : pool;
  const key = bytes.subarray(poolOffset, poolOffset + 4);
  poolOffset += 4;
  return key;
}

/** Write a fresh masking key into `target[offset..offset + 4)` without allocating. */
export function writeMaskKey(target: Uint8Array, offset: number): void {
  const bytes = poolOffset >= POOL_SIZE || pool === undefined ? refill() : pool;
  const p = poolOffset;
  target[offset] = bytes[p]!;
  target[offset + 1] = bytes[p + 1]!;
  target[offset + 2] = bytes[p + 2]!;
  target[offset + 3] = bytes[p + 3]!;
  poolOffset = p + 4;
}

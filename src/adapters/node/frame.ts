/**
 * Build one complete client frame (header + masked payload) in a single Buffer so it goes out with
 * one socket write. Masking into that buffer is the copy we must make anyway (the caller's bytes
 * are never changed), so a 1 MiB send costs one pass. Unlike the portable encodeFrameBytes of
 * src/protocol, this uses Buffer.allocUnsafe (Node's pool, not zero-filled) and Buffer#write for
 * small messages, and regions of frame-arena.ts for large ones (see frameWritten).
 */
import { Buffer } from "node:buffer";
import { headerLength } from "../../protocol/encoder.js";
import { maskWithKeyAt, writeMaskKey } from "../../protocol/mask.js";
import { frameArena, POOLED_MAX_BYTES, POOLED_MIN_BYTES } from "./frame-arena.js";

function isPooled(length: number): boolean {
  return length >= POOLED_MIN_BYTES && length + 16 <= POOLED_MAX_BYTES;
}

/** A region of the arena for a frame of `length` payload bytes (14-byte header), if it is large and one is free. */
function arenaFrame(length: number): Buffer | undefined {
  return isPooled(length) ? frameArena().acquire(length + 14) : undefined;
}

/** Writes the header for `length` payload bytes at the start of `target`; returns its length. */
function writeHeader(target: Buffer, opcode: number, length: number, rsv1: boolean): number {
  // RFC 6455 §5.2: FIN set (we never fragment), RSV1 only for permessage-deflate (RFC 7692 §6).
  target[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  let offset: number;
  if (length < 126) {
    target[1] = 0x80 | length;
    offset = 2;
  } else if (length < 65536) {
    target[1] = 0x80 | 126;
    target[2] = length >>> 8;
    target[3] = length & 0xff;
    offset = 4;
  } else {
    // RFC 6455 §5.2: 64-bit length, most significant bit 0. Payloads stay below 2^53.
    target[1] = 0x80 | 127;
    target.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    target.writeUInt32BE(length >>> 0, 6);
    offset = 10;
  }
  // RFC 6455 §5.3: every client frame is masked with a fresh unpredictable key.
  writeMaskKey(target, offset);
  return offset + 4;
}

/**
 * Frame of `payload` (a masked copy; `payload` itself is untouched). Pass the frame's
 * frameWritten(frame) as its socket.write callback.
 */
export function buildFrame(opcode: number, payload: Uint8Array, rsv1: boolean): Buffer {
  const length = payload.length;
  const pooled = arenaFrame(length);
  if (pooled !== undefined) {
    frameArena().mask(payload, pooled, writeHeader(pooled, opcode, length, rsv1));
    return pooled;
  }
  let frame: Buffer;
  if (length < 65536) {
    frame = Buffer.allocUnsafe(headerLength(length) + length);
  } else {
    // A 14-byte header would leave a large payload 2 bytes off 8-byte alignment: start the frame 2
    // bytes into its buffer so the payload is aligned like the caller's bytes usually are, which
    // lets masking XOR whole words from source to target in one pass.
    frame = Buffer.allocUnsafeSlow(length + 16).subarray(2);
  }
  const offset = writeHeader(frame, opcode, length, rsv1);
  if (length > 0) maskWithKeyAt(payload, frame, offset - 4, frame, offset);
  return frame;
}

/**
 * The socket.write callback for a frame from buildFrame: for a frame in the arena, one that gives
 * its region back once the socket is done with it (written to the kernel, or dropped with the
 * socket); for any other frame undefined (nothing to do).
 */
export function frameWritten(frame: Buffer): (() => void) | undefined {
  if (!isPooled(frame.length - 14)) return undefined;
  const arena = frameArena();
  if (!arena.owns(frame)) return undefined;
  return () => arena.release(frame);
}

/**
 * Text frame: the string is encoded straight into the frame and masked in place (for large ones,
 * in the arena, by SIMD). Pass frameWritten(frame) as its socket.write callback.
 */
export function buildTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const pooled = arenaFrame(length);
  if (pooled !== undefined) {
    const offset = writeHeader(pooled, 0x1, length, false);
    pooled.write(text, offset, "utf8");
    frameArena().maskInPlace(pooled, offset, length);
    return pooled;
  }
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const offset = writeHeader(frame, 0x1, length, false);
  if (length > 0) {
    frame.write(text, offset, "utf8");
    // In place: the source is the very bytes being masked.
    maskWithKeyAt(frame.subarray(offset), frame, offset - 4, frame, offset);
  }
  return frame;
}


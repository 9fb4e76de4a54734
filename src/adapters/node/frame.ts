/**
 * Build one complete client frame (header + masked payload) in a single Buffer so it goes out with
 * one socket write. Masking into the new buffer is the copy we must make anyway (the caller's bytes
 * are never changed), so a 1 MiB send costs one allocation and one pass. Unlike the portable
 * encodeFrameBytes of src/protocol, this uses Buffer.allocUnsafe (pooled, not zero-filled) and
 * Buffer#write, which matter for small messages.
 */
import { Buffer } from "node:buffer";
import { headerLength } from "../../protocol/encoder.js";
import { maskWithKeyAt, writeMaskKey } from "../../protocol/mask.js";

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

/** Frame of `payload` (a masked copy; `payload` itself is untouched). */
export function buildFrame(opcode: number, payload: Uint8Array, rsv1: boolean): Buffer {
  const length = payload.length;
  // A 14-byte header would leave a large payload 2 bytes off 8-byte alignment: start the frame 2
  // bytes into its buffer so the payload is aligned like the caller's bytes usually are, which
  // lets masking work in whole words.
  const frame = length < 65536 ? Buffer.allocUnsafe(headerLength(length) + length) : Buffer.allocUnsafe(length + 16).subarray(2);
  const offset = writeHeader(frame, opcode, length, rsv1);
  if (length > 0) maskWithKeyAt(payload, frame, offset - 4, frame, offset);
  return frame;
}

/** Text frame: the string is encoded straight into the frame and masked in place. */
export function buildTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const offset = writeHeader(frame, 0x1, length, false);
  if (length > 0) {
    frame.write(text, offset, "utf8");
    // In place: the source is the very bytes being masked.
    maskWithKeyAt(frame.subarray(offset), frame, offset - 4, frame, offset);
  }
  return frame;
}


/**
 * Client frames (header + masked payload), built so that each goes out with as few socket writes
 * as the payload allows. Masking into the frame is the copy we must make anyway (the caller's bytes
 * are never changed), so a send costs one pass over the payload. Unlike the portable
 * encodeFrameBytes of src/protocol, this uses Buffer.allocUnsafe (Node's pool, not zero-filled) and
 * Buffer#write for small messages, and regions of frame-arena.ts for large ones.
 *
 * A large binary frame is built and written in pieces of about PIECE_BYTES: each piece is masked
 * into a region and handed to the socket before the next is built. Where the kernel takes a piece
 * during the write (the usual case unless the peer reads slower than we send: see Sender#write),
 * its region is free again at once, so the next piece is masked into memory the CPU has just used
 * instead of into a region last touched several frames ago. In bench/send-anatomy.mjs (1 MiB
 * frames) that saved 7-53 µs of CPU per MiB in three runs; in full runs of bench/run.mjs, 1 MiB
 * sends went from 65-75% of raw node:net (twelve runs) to 74-89% (eight runs).
 * Pieces of 256 KiB cost more than they save (every write is a system call that runs TCP's loopback
 * delivery and wakes the reader), and 768 KiB pieces saved nothing.
 */
import { Buffer } from "node:buffer";
import { headerLength } from "../../protocol/encoder.js";
import { maskWithKeyAt, writeMaskKey } from "../../protocol/mask.js";
import { frameArena, POOLED_MAX_BYTES, POOLED_MIN_BYTES } from "./frame-arena.js";

/** Payload bytes per piece of a large binary frame (a multiple of 64: see writeFrame). */
export const PIECE_BYTES = 512 * 1024;

/** Where writeFrame sends a frame's bytes (the connection's Sender). */
export interface FrameOutput {
  /**
   * Write `chunk` to the socket. `release` (if any) gives the chunk's memory back: it must run once
   * the socket is done with the chunk, at the latest from the write's callback, and right away when
   * the kernel took the whole chunk during the write. It may run twice; the second call does nothing.
   */
  writeChunk(chunk: Buffer, release: (() => void) | undefined): void;
}

function isPooled(length: number): boolean {
  return length >= POOLED_MIN_BYTES && length + 16 <= POOLED_MAX_BYTES;
}

/** A region of the arena for a frame of `length` payload bytes (14-byte header), if it is large and one is free. */
function arenaFrame(length: number): Buffer | undefined {
  return isPooled(length) ? frameArena().acquire(length + 14) : undefined;
}

/** Writes the header for `length` payload bytes at the start of `target`; returns its length. */
function writeHeader(target: Buffer, opcode: number, length: number, rsv1: boolean, fin = true): number {
  // RFC 6455 §5.2: FIN on the last frame of a message (all but large messages have one, see
  // sender.ts), RSV1 only on the first frame of a compressed message (RFC 7692 §6.1).
  target[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
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
 * Frame of `payload` in one Buffer (a masked copy; `payload` itself is untouched): for payloads
 * below POOLED_MIN_BYTES, i.e. control frames and small messages. Larger ones go through writeFrame.
 */
export function buildFrame(opcode: number, payload: Uint8Array, rsv1: boolean, fin = true): Buffer {
  const length = payload.length;
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const offset = writeHeader(frame, opcode, length, rsv1, fin);
  if (length > 0) maskWithKeyAt(payload, frame, offset - 4, frame, offset);
  return frame;
}

/** The masking key of the frame being written in pieces (pieces after the first carry no header). */
const pieceKey = Buffer.alloc(4);

/**
 * Write a frame of `payload` (a masked copy; `payload` itself is untouched) to `out`: small ones
 * as one Buffer, large ones in pieces of about PIECE_BYTES, all before this returns, so no other
 * frame's bytes can come between them. `fin` false makes it a fragment other than the last of its
 * message (RFC 6455 §5.4: the Sender cuts large messages into such frames).
 */
export function writeFrame(out: FrameOutput, opcode: number, payload: Uint8Array, rsv1: boolean, fin = true): void {
  const length = payload.length;
  if (length < POOLED_MIN_BYTES) {
    out.writeChunk(buildFrame(opcode, payload, rsv1, fin), undefined);
    return;
  }
  const arena = frameArena();
  for (let at = 0; at < length; ) {
    const rest = length - at;
    // No short last piece: a rest of up to 1.5 pieces goes out whole. Every piece but the last
    // is a multiple of 64 bytes long, so each starts at key byte 0 and 16-byte aligned.
    const size = rest <= PIECE_BYTES + PIECE_BYTES / 2 ? rest : PIECE_BYTES;
    // Every piece has a 14-byte head: the frame header in the first, the key alone in the others
    // (only the payload after it is written), so that the payload starts 16-byte aligned in a region.
    const pooled = arena.acquire(size + 14);
    const piece = pooled ?? Buffer.allocUnsafeSlow(size + 16).subarray(2);
    if (at === 0) {
      writeHeader(piece, opcode, length, rsv1, fin);
      piece.copy(pieceKey, 0, 10, 14);
    } else {
      piece.set(pieceKey, 10);
    }
    const source = payload.subarray(at, at + size);
    if (pooled !== undefined) arena.mask(source, pooled, 14);
    else maskWithKeyAt(source, piece, 10, piece, 14);
    out.writeChunk(at === 0 ? piece : piece.subarray(14), pooled === undefined ? undefined : () => arena.release(pooled));
    at += size;
  }
}

/**
 * What gives a frame from buildTextFrame back (FrameOutput's `release`): for a frame in the arena,
 * a function that returns its region; for any other frame undefined (nothing to do).
 */
export function frameWritten(frame: Buffer): (() => void) | undefined {
  if (!isPooled(frame.length - 14)) return undefined;
  const arena = frameArena();
  if (!arena.owns(frame)) return undefined;
  return () => arena.release(frame);
}

/**
 * Text frame: the string is encoded straight into the frame and masked in place (for large ones,
 * in the arena, by SIMD), in one piece (a string cannot be cut at a byte offset without encoding
 * it first). Write it with frameWritten(frame) as its release. `length` is the text's UTF-8 length,
 * if the caller knows it already.
 */
export function buildTextFrame(text: string, length = Buffer.byteLength(text)): Buffer {
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


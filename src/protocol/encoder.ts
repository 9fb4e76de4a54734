/**
 * RFC 6455 §5.2/§5.3 client frame encoder. Client frames are always masked; the caller's payload
 * is never modified unless it hands the bytes over with `owned: true`.
 */
import { createError } from "../errors.js";
import { isValidCloseCode } from "./close.js";
import { MAX_CLOSE_REASON_BYTES, MAX_CONTROL_PAYLOAD } from "./constants.js";
import { maskWithKeyAt, writeMaskKey } from "./mask.js";
import { Opcode } from "./types.js";

export interface EncodeOptions {
  /** Last frame of the message (RFC 6455 §5.4). @default true */
  fin?: boolean;
  /** RSV1, set on the first frame of a compressed message (RFC 7692 §6). @default false */
  rsv1?: boolean;
  /** The caller gives up the payload bytes, so they are masked in place. @default false */
  owned?: boolean;
}

/** Bytes of a masked client frame header for a payload of `length` bytes. */
export function headerLength(length: number): number {
  return length < 126 ? 6 : length < 0x10000 ? 8 : 14;
}

function checkFrame(opcode: Opcode, length: number, fin: boolean, rsv1: boolean): void {
  if (opcode >= Opcode.Close) {
    // RFC 6455 §5.5: control frames are at most 125 bytes and never fragmented; RFC 7692 §6.1:
    // RSV1 only on data frames.
    if (length > MAX_CONTROL_PAYLOAD) {
      throw createError("ERR_INVALID_ARGUMENT", `Control frame payload of ${length} bytes exceeds 125 (RFC 6455 §5.5)`);
    }
    if (!fin || rsv1) {
      throw createError("ERR_INVALID_ARGUMENT", "Control frames cannot be fragmented or compressed (RFC 6455 §5.5)");
    }
  } else if (opcode !== Opcode.Text && opcode !== Opcode.Binary && opcode !== Opcode.Continuation) {
    throw createError("ERR_INVALID_ARGUMENT", `Unknown opcode ${opcode as number}`);
  }
}

/**
 * Write a masked frame header into `target` at `offset`, with a fresh key at its end, and return
 * the key's offset; the header is headerLength(length) bytes long.
 */
function writeHeader(target: Uint8Array, offset: number, opcode: Opcode, length: number, fin: boolean, rsv1: boolean): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  let p = offset + 2;
  if (length < 126) {
    target[offset + 1] = 0x80 | length;
  } else if (length < 0x10000) {
    target[offset + 1] = 0x80 | 126;
    target[p++] = length >>> 8;
    target[p++] = length & 0xff;
  } else {
    target[offset + 1] = 0x80 | 127;
    // RFC 6455 §5.2: 64-bit length, most significant bit 0. JS lengths stay below 2^53.
    const high = Math.floor(length / 0x100000000);
    target[p++] = 0;
    target[p++] = 0;
    target[p++] = (high >>> 8) & 0xff;
    target[p++] = high & 0xff;
    target[p++] = (length >>> 24) & 0xff;
    target[p++] = (length >>> 16) & 0xff;
    target[p++] = (length >>> 8) & 0xff;
    target[p++] = length & 0xff;
  }
  // RFC 6455 §5.3: every client frame is masked with a fresh, unpredictable key.
  writeMaskKey(target, p);
  return p;
}

/**
 * Encode one client frame as `[header, maskedPayload]`, for a vectored write. Throws
 * ERR_INVALID_ARGUMENT for a control frame over 125 bytes, fragmented or with RSV1.
 */
export function encodeFrame(
  opcode: Opcode,
  payload: Uint8Array,
  options?: { fin?: boolean; rsv1?: boolean; owned?: boolean },
): [header: Uint8Array, payload: Uint8Array] {
  const fin = options?.fin ?? true;
  const rsv1 = options?.rsv1 ?? false;
  const length = payload.length;
  checkFrame(opcode, length, fin, rsv1);
  const header = new Uint8Array(headerLength(length));
  const keyOffset = writeHeader(header, 0, opcode, length, fin, rsv1);
  if (length === 0) return [header, payload];
  const masked = options?.owned === true ? payload : new Uint8Array(length);
  maskWithKeyAt(payload, header, keyOffset, masked, 0);
  return [header, masked];
}

/**
 * Encode one client frame into a single new buffer (header followed by the masked payload): one
 * allocation and one write for small messages. The caller's payload is not modified.
 */
export function encodeFrameBytes(opcode: Opcode, payload: Uint8Array, options?: { fin?: boolean; rsv1?: boolean }): Uint8Array {
  const fin = options?.fin ?? true;
  const rsv1 = options?.rsv1 ?? false;
  const length = payload.length;
  checkFrame(opcode, length, fin, rsv1);
  const headerLen = headerLength(length);
  const frame = new Uint8Array(headerLen + length);
  const keyOffset = writeHeader(frame, 0, opcode, length, fin, rsv1);
  maskWithKeyAt(payload, frame, keyOffset, frame, headerLen);
  return frame;
}

let encoder: TextEncoder | undefined;

/** Strings up to this many UTF-16 units are encoded straight into the frame buffer. */
const DIRECT_TEXT_LIMIT = 8192;

/**
 * Encode a whole text message as one frame in a single buffer. Short strings are UTF-8 encoded
 * directly into the frame (no intermediate copy); long ones are encoded, then masked in place.
 */
export function encodeTextFrame(text: string): Uint8Array {
  const n = text.length;
  if (n < 126) {
    // Short ASCII (the common small message): encode and mask in one pass into an exact buffer.
    const frame = new Uint8Array(6 + n);
    writeHeader(frame, 0, Opcode.Text, n, true, false);
    const k0 = frame[2]!;
    const k1 = frame[3]!;
    const k2 = frame[4]!;
    const k3 = frame[5]!;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      const k = (i & 3) === 0 ? k0 : (i & 3) === 1 ? k1 : (i & 3) === 2 ? k2 : k3;
      frame[6 + i] = c ^ k;
    }
    if (i === n) return frame;
  }
  encoder ??= new TextEncoder();
  if (text.length > DIRECT_TEXT_LIMIT) {
    const bytes = encoder.encode(text);
    const [header, masked] = encodeFrame(Opcode.Text, bytes, { owned: true });
    const frame = new Uint8Array(header.length + masked.length);
    frame.set(header, 0);
    frame.set(masked, header.length);
    return frame;
  }
  // UTF-8 needs at most 3 bytes per UTF-16 unit. Reserve the largest header that length could
  // need, encode after it, then write the real (possibly shorter) header right before the payload.
  const maxHeader = headerLength(text.length * 3);
  const buffer = new Uint8Array(maxHeader + text.length * 3);
  const length = encoder.encodeInto(text, buffer.subarray(maxHeader)).written;
  const start = maxHeader - headerLength(length);
  const keyOffset = writeHeader(buffer, start, Opcode.Text, length, true, false);
  const payload = buffer.subarray(maxHeader, maxHeader + length);
  maskWithKeyAt(payload, buffer, keyOffset, payload, 0);
  return buffer.subarray(start, maxHeader + length);
}

/**
 * Body of a close frame (RFC 6455 §5.5.1): a 2-byte code then a UTF-8 reason of at most 123 bytes.
 * With no code the body is empty (and a reason is not allowed). Throws ERR_INVALID_ARGUMENT for a
 * code that may not be sent (RFC 6455 §7.4) or a reason that is too long.
 */
export function encodeClosePayload(code?: number, reason?: string): Uint8Array {
  if (code === undefined) {
    if (reason !== undefined && reason !== "") {
      throw createError("ERR_INVALID_ARGUMENT", "A close reason requires a close code (RFC 6455 §5.5.1)");
    }
    return new Uint8Array(0);
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw createError("ERR_INVALID_ARGUMENT", `Invalid close code ${code} (RFC 6455 §7.4)`);
  }
  encoder ??= new TextEncoder();
  const reasonBytes = reason === undefined || reason === "" ? new Uint8Array(0) : encoder.encode(reason);
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw createError("ERR_INVALID_ARGUMENT", `Close reason is ${reasonBytes.length} bytes of UTF-8, more than 123 (RFC 6455 §5.5)`);
  }
  const body = new Uint8Array(2 + reasonBytes.length);
  body[0] = code >>> 8;
  body[1] = code & 0xff;
  body.set(reasonBytes, 2);
  return body;
}

/**
 * Shared helpers for the protocol codec tests: hex vectors, a recording FrameHandler, a raw server
 * frame builder and a test-side unmasker for client frames (independent of src/protocol).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { ResilientError } from "../../src/errors.js";
import { FrameDecoder } from "../../src/protocol/decoder.js";
import type { DecoderOptions, FrameHandler } from "../../src/protocol/types.js";

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

const known: Buffer[] = [];

/**
 * Hex for small payloads. A large payload is named by its index among the large payloads seen so
 * far, compared natively (memcmp): tests first name the expected payload, then the decoded one gets
 * the same name only if it is byte-for-byte equal. Fast enough for all 65,537 splits of 64 KiB.
 */
export function digest(bytes: Uint8Array): string {
  if (bytes.length <= 512) return toHex(bytes);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let index = known.findIndex((candidate) => candidate.equals(view));
  if (index === -1) index = known.push(Buffer.from(view)) - 1;
  return `${bytes.length} bytes #${index}`;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** What the decoder reported, with payloads as hex so assertion diffs are readable. */
export type Event =
  | ["message", "text" | "binary", boolean, string]
  | ["ping", string]
  | ["pong", string]
  | ["close", number | undefined, string]
  | ["error", string, number | undefined];

export function recorder(): { handler: FrameHandler; events: Event[]; errors: ResilientError[] } {
  const events: Event[] = [];
  const errors: ResilientError[] = [];
  const handler: FrameHandler = {
    onMessage: (data, isText, compressed) => events.push(["message", isText ? "text" : "binary", compressed, digest(data)]),
    onPing: (data) => events.push(["ping", digest(data)]),
    onPong: (data) => events.push(["pong", digest(data)]),
    onClose: (code, reason) => events.push(["close", code, reason]),
    onProtocolError: (error) => {
      errors.push(error);
      events.push(["error", error.code, error.closeCode]);
    },
  };
  return { handler, events, errors };
}

export const OPTIONS: DecoderOptions = { maxPayload: 100 * 1024 * 1024, maxFragments: 131_072, allowRsv1: false };

/**
 * Decode `chunks` in order with a fresh decoder and return what it reported. Each chunk is pushed
 * as a private copy that is overwritten right after push() returns, as a reused read buffer would
 * be: a decoder that kept a view of an old chunk (without retainChunks) reports garbage.
 */
export function decode(chunks: Iterable<Uint8Array>, options: Partial<DecoderOptions> = {}): Event[] {
  const { handler, events } = recorder();
  const decoder = new FrameDecoder(handler, { ...OPTIONS, ...options });
  const scribble = options.retainChunks !== true;
  for (const chunk of chunks) {
    const copy = chunk.slice();
    decoder.push(copy);
    if (scribble) copy.fill(0xee);
  }
  return events;
}

/**
 * Assert that `bytes` decodes to `expected` whole, byte by byte, and split in two at every
 * possible point.
 */
export function assertEverySplit(bytes: Uint8Array, expected: Event[], options: Partial<DecoderOptions> = {}): void {
  assert.deepEqual(decode([bytes], options), expected, "whole input");
  assert.deepEqual(decode(Array.from(bytes, (b) => Uint8Array.of(b)), options), expected, "one byte per chunk");
  for (let split = 0; split <= bytes.length; split++) {
    const events = decode([bytes.subarray(0, split), bytes.subarray(split)], options);
    assert.deepEqual(events, expected, `split at ${split} of ${bytes.length}`);
  }
}

/** `bytes` cut at the given points (taken modulo length + 1, sorted, each once): points + 1 pieces at most. */
export function cut<T extends Uint8Array>(bytes: T, points: number[]): T[] {
  const cuts = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: T[] = [];
  let previous = 0;
  for (const c of cuts) {
    chunks.push(bytes.subarray(previous, c) as T);
    previous = c;
  }
  chunks.push(bytes.subarray(previous) as T);
  return chunks;
}

/** Chunks of the given sizes, cycling through them. */
export function chunked(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]!);
    chunks.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  return chunks;
}

export interface RawFrame {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  opcode: number;
  payload?: Uint8Array;
  /** Set the MASK bit (servers must not) with this key. */
  mask?: Uint8Array;
  /** Force a length encoding: 7-bit, 16-bit or 64-bit. */
  lengthForm?: 7 | 16 | 64;
  /** Override the 64-bit length field's high 32 bits (to test the MSB rule). */
  lengthHigh?: number;
}

/** Build a frame as a server would send it, written independently of src/protocol/encoder. */
export function frame(f: RawFrame): Uint8Array {
  const payload = f.payload ?? new Uint8Array(0);
  const length = payload.length;
  const form = f.lengthForm ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const header: number[] = [
    (f.fin === false ? 0 : 0x80) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) | f.opcode,
  ];
  const maskBit = f.mask ? 0x80 : 0;
  if (form === 7) header.push(maskBit | length);
  else if (form === 16) header.push(maskBit | 126, length >> 8, length & 255);
  else {
    const high = f.lengthHigh ?? Math.floor(length / 2 ** 32);
    header.push(maskBit | 127, high >>> 24, (high >>> 16) & 255, (high >>> 8) & 255, high & 255);
    header.push(length >>> 24 & 255, (length >>> 16) & 255, (length >>> 8) & 255, length & 255);
  }
  let body = payload;
  if (f.mask) {
    header.push(...f.mask);
    body = payload.map((b, i) => b ^ f.mask![i % 4]!);
  }
  return concat(Uint8Array.from(header), body);
}

export interface ParsedClientFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  key: Uint8Array;
  payload: Uint8Array;
  length: number;
}

/** Parse and unmask one client frame (test-side, independent of the decoder). */
export function parseClientFrame(bytes: Uint8Array): ParsedClientFrame {
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  let length = b1 & 0x7f;
  let p = 2;
  if (length === 126) {
    length = (bytes[2]! << 8) | bytes[3]!;
    p = 4;
  } else if (length === 127) {
    length = 0;
    for (let i = 2; i < 10; i++) length = length * 256 + bytes[i]!;
    p = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  const key = masked ? bytes.slice(p, p + 4) : new Uint8Array(4);
  if (masked) p += 4;
  const payload = bytes.slice(p, p + length).map((b, i) => b ^ key[i % 4]!);
  assert.equal(bytes.length, p + length, "frame has exactly header + payload bytes");
  return { fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, masked, key, payload, length };
}

/** A client frame re-sent as a server frame: same bits, MASK cleared, payload unmasked. */
export function asServerFrame(clientFrame: Uint8Array): Uint8Array {
  const parsed = parseClientFrame(clientFrame);
  return frame({ fin: parsed.fin, rsv1: parsed.rsv1, opcode: parsed.opcode, payload: parsed.payload });
}

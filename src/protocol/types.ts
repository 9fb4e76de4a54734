/**
 * Contract between the pure RFC 6455 codec (src/protocol) and the adapters that own sockets
 * (src/adapters/node, src/adapters/deno). Types only.
 */
import type { ResilientError } from "../errors.js";

/** RFC 6455 §5.2 opcodes. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** What the decoder reports to its owner. Tests pass a plain object. */
export interface FrameHandler {
  /**
   * A complete message (fragments reassembled). `data` may be a view into the input chunk: the
   * owner must use or copy it before the next `push()`. Text that was not compressed has already
   * been validated as UTF-8 (fail-fast, per fragment). When `compressed` is true (RSV1 on the first
   * frame, RFC 7692 §6) the owner inflates and then validates text itself. `owned` is true when
   * `data` lies in a buffer the decoder allocated for this message alone (never a view of an
   * input chunk): the owner may keep it, and when it spans its whole `ArrayBuffer` hand that
   * buffer out without copying (as ws does for binaryType "arraybuffer").
   */
  onMessage(data: Uint8Array, isText: boolean, compressed: boolean, owned?: boolean): void;
  /**
   * Optional: an unfragmented, uncompressed text message, already validated as UTF-8, as the range
   * `source[start, end)` (valid only during the call, like onMessage's view). When the owner has it,
   * the decoder calls it instead of onMessage for such messages, so an owner that decodes straight
   * from its chunk (Node's Buffer#utf8Slice) creates no view per message.
   */
  onText?(source: Uint8Array, start: number, end: number): void;
  /** RFC 6455 §5.5.2; the owner answers with a pong carrying the same data. */
  onPing(data: Uint8Array): void;
  onPong(data: Uint8Array): void;
  /** RFC 6455 §5.5.1 and §7.4: code is undefined when the close frame had no body (1005). */
  onClose(code: number | undefined, reason: string): void;
  /** A violation; `error.closeCode` is 1002, 1007 or 1009. The decoder stops after this. */
  onProtocolError(error: ResilientError): void;
}

export interface DecoderOptions {
  /** Largest message (sum of fragments) accepted, in bytes; larger closes with 1009. */
  maxPayload: number;
  /** Most fragments one message may have; more closes with 1009. */
  maxFragments: number;
  /** RSV1 is allowed only when permessage-deflate was negotiated (RFC 7692 §6). */
  allowRsv1: boolean;
  /**
   * The owner promises never to modify a chunk after passing it to `push()` (true for Node socket
   * chunks, false for a reused read buffer as with `Deno.Conn.read`). The decoder may then keep
   * views of earlier chunks for fragmented messages instead of copying each fragment.
   * @default false
   */
  retainChunks?: boolean;
  /**
   * A native whole-buffer UTF-8 validator to use for larger text payloads, e.g. `isUtf8` from
   * `node:buffer` (Node >= 18.14, Deno), about 10x faster than the built-in pure JS one. Fail-fast
   * validation of fragments is kept: the codec checks characters split across pieces itself.
   * @default undefined (pure JS)
   */
  validateUtf8?: (bytes: Uint8Array) => boolean;
  /**
   * Allocates the buffer a frame spanning chunks, or a fragmented message, is gathered in. Every
   * byte of it is overwritten before use, so an allocator that skips zero-filling is safe, e.g.
   * `Buffer.allocUnsafe` (which also makes messages Buffers).
   * @default (size) => new Uint8Array(size)
   */
  allocate?: (size: number) => Uint8Array;
}

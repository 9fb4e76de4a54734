/**
 * RFC 6455 §5 frame decoder for the client side: a resumable state machine fed with arbitrary
 * chunks of the byte stream, reporting complete messages and control frames to a FrameHandler.
 */
import { createError, type ResilientError } from "../errors.js";
import { parseClosePayload } from "./close.js";
import { MAX_CONTROL_PAYLOAD } from "./constants.js";
import type { DecoderOptions, FrameHandler } from "./types.js";
import { Utf8Validator } from "./utf8.js";

const READ_HEADER = 0;
const READ_LENGTH_16 = 1;
const READ_LENGTH_64 = 2;
const READ_PAYLOAD = 3;

const EMPTY = new Uint8Array(0);

/** Fragments up to this size are coalesced into a shared buffer rather than kept one by one. */
const SMALL_FRAGMENT = 1024;
/** First capacity of that buffer; each next one doubles. */
const TAIL_CAPACITY = 1024;
/** A frame spanning chunks is kept as views of them while they average at least this many bytes. */
const MIN_VIEW_BYTES = 8 * 1024;
/** Larger frames get their buffer at the first part (see #readPayload). */
const MAX_VIEWED_FRAME = 4 * 1024 * 1024;

export class FrameDecoder {
  readonly #handler: FrameHandler;
  readonly #hasOnText: boolean;
  readonly #maxPayload: number;
  readonly #maxFragments: number;
  readonly #allowRsv1: boolean;
  readonly #retainChunks: boolean;
  readonly #allocate: (size: number) => Uint8Array;
  #closed = false;
  /** True while a handler callback runs, to tell the owner's exceptions from our own. */
  #inHandler = false;

  #state = READ_HEADER;
  /** The chunk being parsed and the read position in it; released when push() returns. */
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  /**
   * Header bytes that arrived split across chunks (at most the 8-byte extended length); created on
   * first need, which keeps idle connections small.
   */
  #scratch: Uint8Array | null = null;
  #scratchLength = 0;
  /** Where take() left the bytes it gathered: the chunk itself, or the scratch buffer. */
  #src: Uint8Array = EMPTY;
  #srcPos = 0;

  // The frame being read.
  #fin = false;
  #opcode = 0;
  #payloadLength = 0;
  /** Whether this frame's payload must be UTF-8 validated as it arrives. */
  #validate = false;
  /** Payload of a frame that spans chunks: a buffer filled as bytes arrive, or (retainChunks) views of them. */
  #frameBuffer: Uint8Array | null = null;
  #frameParts: Uint8Array[] | null = null;
  /** Payload bytes of a frame that spans chunks received so far; 0 while none. */
  #frameFilled = 0;

  // The message being read (possibly across fragments, RFC 6455 §5.4).
  /** Opcode of a fragmented message in progress, 0 when none. */
  #messageOpcode = 0;
  #messageText = false;
  #messageCompressed = false;
  #messageLength = 0;
  /** Completed pieces of the message, in order. */
  #fragments: Uint8Array[] = [];
  /** Whether #fragments holds a view of an owner's chunk (retainChunks). */
  #borrowed = false;
  /** Small fragments are copied into this buffer back to back (one piece, no per-fragment view). */
  #tail: Uint8Array | null = null;
  #tailLength = 0;
  // DataViews to copy small fragments 4 bytes at a time (see #append): over #tail, and over the
  // chunk being decoded (#viewed), dropped at the end of push() so no old chunk stays pinned.
  #tailView: DataView | null = null;
  #viewed: Uint8Array | null = null;
  #view: DataView | null = null;
  #fragmentCount = 0;
  readonly #utf8: Utf8Validator;

  constructor(handler: FrameHandler, options: DecoderOptions) {
    this.#handler = handler;
    this.#hasOnText = typeof handler.onText === "function";
    this.#maxPayload = options.maxPayload;
    this.#maxFragments = options.maxFragments;
    this.#allowRsv1 = options.allowRsv1;
    this.#retainChunks = options.retainChunks ?? false;
    this.#utf8 = new Utf8Validator(options.validateUtf8);
    this.#allocate = options.allocate ?? allocate;
  }

  /** True after a close frame or a protocol error: further input is ignored. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Ignore all further input, the rest of the chunk being parsed included: the owner dropped the
   * connection (a handler may call this while push() runs).
   */
  stop(): void {
    this.#stop();
  }

  /**
   * Parse the next bytes of the stream. Never throws for any input: violations are reported
   * through `onProtocolError`. An exception thrown by a handler callback propagates to the caller
   * and stops the decoder (the stream position would otherwise be lost).
   */
  push(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#chunk = chunk;
    this.#pos = 0;
    try {
      this.#run();
    } catch (error) {
      if (this.#inHandler) {
        this.#inHandler = false;
        this.#stop();
        throw error;
      }
      // Only reachable through an allocation failure or a bug: still never throw.
      this.#fail(createError("ERR_PROTOCOL", `Frame decoder failure: ${String(error)}`, 1011, error));
    } finally {
      // Do not pin the owner's chunk between calls.
      this.#chunk = EMPTY;
      this.#src = EMPTY;
      this.#viewed = null;
      this.#view = null;
    }
  }

  #run(): void {
    while (!this.#closed) {
      let progressed: boolean;
      switch (this.#state) {
        case READ_HEADER:
          progressed = this.#readHeader();
          break;
        case READ_LENGTH_16:
          progressed = this.#readLength16();
          break;
        case READ_LENGTH_64:
          progressed = this.#readLength64();
          break;
        default:
          progressed = this.#readPayload();
      }
      if (!progressed) return;
    }
  }

  /** Gather `n` header bytes into #src at #srcPos; false when the chunk ran out first. */
  #take(n: number): boolean {
    const chunk = this.#chunk;
    const available = chunk.length - this.#pos;
    if (this.#scratchLength === 0 && available >= n) {
      this.#src = chunk;
      this.#srcPos = this.#pos;
      this.#pos += n;
      return true;
    }
    const scratch = (this.#scratch ??= new Uint8Array(8));
    while (this.#scratchLength < n && this.#pos < chunk.length) scratch[this.#scratchLength++] = chunk[this.#pos++]!;
    if (this.#scratchLength < n) return false;
    this.#src = scratch;
    this.#srcPos = 0;
    this.#scratchLength = 0;
    return true;
  }

  #readHeader(): boolean {
    if (!this.#take(2)) return false;
    const b0 = this.#src[this.#srcPos]!;
    const b1 = this.#src[this.#srcPos + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    const length7 = b1 & 0x7f;

    // RFC 6455 §5.2: RSV2/RSV3 must be 0 without an extension defining them.
    if ((b0 & 0x30) !== 0) return this.#protocolError("RSV2 and RSV3 must be clear");
    // RFC 6455 §5.1: a client must close the connection on a masked frame from the server.
    if ((b1 & 0x80) !== 0) return this.#protocolError("Server frames must not be masked");

    if (opcode >= 0x8) {
      // RFC 6455 §5.2: opcodes 0xB-0xF are reserved for further control frames.
      if (opcode > 0xa) return this.#protocolError(`Reserved opcode 0x${opcode.toString(16)}`);
      // RFC 6455 §5.5: control frames must not be fragmented and carry at most 125 bytes.
      if (!fin) return this.#protocolError("Control frames must not be fragmented");
      if (length7 > MAX_CONTROL_PAYLOAD) return this.#protocolError("Control frame payload exceeds 125 bytes");
      // RFC 7692 §6: RSV1 only ever marks a data message as compressed.
      if (rsv1) return this.#protocolError("RSV1 must be clear on control frames");
      this.#validate = false;
    } else if (opcode === 0x0) {
      // RFC 6455 §5.4: a continuation frame needs a fragmented message in progress.
      if (this.#messageOpcode === 0) return this.#protocolError("Continuation frame without a message to continue");
      // RFC 7692 §6.1: RSV1 is set on the first frame of a message only.
      if (rsv1) return this.#protocolError("RSV1 must be clear on continuation frames");
      this.#validate = this.#messageText && !this.#messageCompressed;
    } else if (opcode <= 0x2) {
      // RFC 6455 §5.4: fragments of one message must not be interleaved with another message.
      if (this.#messageOpcode !== 0) return this.#protocolError("New data frame inside a fragmented message");
      // RFC 6455 §5.2 / RFC 7692 §6: RSV1 only when permessage-deflate was negotiated.
      if (rsv1 && !this.#allowRsv1) return this.#protocolError("RSV1 must be clear");
      this.#messageText = opcode === 0x1;
      this.#messageCompressed = rsv1;
      if (!fin) this.#messageOpcode = opcode;
      this.#validate = this.#messageText && !rsv1;
    } else {
      // RFC 6455 §5.2: opcodes 0x3-0x7 are reserved for further data frames.
      return this.#protocolError(`Reserved opcode 0x${opcode.toString(16)}`);
    }

    this.#fin = fin;
    this.#opcode = opcode;
    if (length7 === 126) {
      this.#state = READ_LENGTH_16;
      return true;
    }
    if (length7 === 127) {
      this.#state = READ_LENGTH_64;
      return true;
    }
    return this.#startPayload(length7);
  }

  #readLength16(): boolean {
    if (!this.#take(2)) return false;
    return this.#startPayload((this.#src[this.#srcPos]! << 8) | this.#src[this.#srcPos + 1]!);
  }

  #readLength64(): boolean {
    if (!this.#take(8)) return false;
    const s = this.#src;
    const p = this.#srcPos;
    const high = ((s[p]! << 24) | (s[p + 1]! << 16) | (s[p + 2]! << 8) | s[p + 3]!) >>> 0;
    const low = ((s[p + 4]! << 24) | (s[p + 5]! << 16) | (s[p + 6]! << 8) | s[p + 7]!) >>> 0;
    // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
    if (high >= 0x80000000) return this.#protocolError("64-bit payload length has its most significant bit set");
    // Beyond 2^53 a length is not a safe JS integer; no limit could allow it anyway.
    if (high > 0x1fffff) return this.#tooBig(Number.MAX_SAFE_INTEGER);
    return this.#startPayload(high * 0x100000000 + low);
  }

  #startPayload(length: number): boolean {
    if (this.#opcode < 0x8) {
      const total = this.#messageLength + length;
      if (total > this.#maxPayload) return this.#tooBig(total);
      if (this.#messageOpcode !== 0 && ++this.#fragmentCount > this.#maxFragments) {
        this.#fail(createError("ERR_PAYLOAD_TOO_BIG", `Message has more than ${this.#maxFragments} fragments`, 1009));
        return false;
      }
    }
    this.#payloadLength = length;
    this.#state = READ_PAYLOAD;
    return true;
  }

  /**
   * A copy of `source[start..end)`. Not `source.slice()`: the owner's chunk may be a Node Buffer,
   * whose slice() is a view of the same bytes, not a copy.
   */
  #copy(source: Uint8Array, start: number, end: number): Uint8Array {
    const copy = this.#allocate(end - start);
    copy.set(source.subarray(start, end));
    return copy;
  }

  #readPayload(): boolean {
    const length = this.#payloadLength;
    const chunk = this.#chunk;
    const start = this.#pos;
    if (this.#frameFilled === 0) {
      const available = chunk.length - start;
      if (available >= length) {
        // The whole payload is in this chunk: work on it in place, no copy.
        this.#pos = start + length;
        this.#state = READ_HEADER;
        return this.#frame(chunk, start, start + length, false, false);
      }
      if (available === 0) return false;
      // The frame spans chunks. An owner that never reuses its chunks lets us keep views of them
      // and copy once, when the frame is complete, as ws does: allocating the frame's buffer at
      // its first part, between the socket's own 64 KiB read buffers, measured 10-25% more CPU
      // per MiB on 1 MiB messages. Only up to MAX_VIEWED_FRAME: the views pin as many bytes as the
      // frame has until the copy, so a huge frame would need twice its size. Otherwise the bytes
      // are copied as they arrive.
      if (this.#retainChunks && length <= MAX_VIEWED_FRAME) this.#frameParts = [];
      else this.#frameBuffer = this.#allocate(length);
    }
    const n = Math.min(length - this.#frameFilled, chunk.length - start);
    let parts = this.#frameParts;
    if (parts !== null) {
      parts.push(chunk.subarray(start, start + n));
      // Views pay only while the reads are large. A peer trickling a frame in tiny reads would
      // have us hold one view object per read, far more memory than its bytes: gather what we
      // have into the frame's buffer and copy the rest as it arrives.
      if (parts.length > 2 + (this.#frameFilled + n) / MIN_VIEW_BYTES) {
        this.#frameBuffer = gather(parts, this.#allocate(length));
        parts = this.#frameParts = null;
      }
    } else {
      this.#frameBuffer!.set(chunk.subarray(start, start + n), this.#frameFilled);
    }
    this.#frameFilled += n;
    this.#pos = start + n;
    // RFC 6455 §8.1: fail as soon as the received part of a text payload cannot be UTF-8.
    if (this.#validate && !this.#utf8.pushRange(chunk, start, start + n, false)) return this.#invalidUtf8();
    if (this.#frameFilled < length) return false;
    this.#frameParts = null;
    this.#frameFilled = 0;
    this.#state = READ_HEADER;
    const opcode = this.#opcode;
    // A large fragment of a longer message keeps its views until the message is complete, which
    // is then copied once, rather than once for the frame and again for the message.
    if (parts !== null && (opcode === 0x0 || !this.#fin) && opcode < 0x8 && length > SMALL_FRAGMENT) return this.#fragmentParts(parts, length);
    const buffer = parts !== null ? concat(parts, length, this.#allocate) : this.#frameBuffer!;
    this.#frameBuffer = null;
    return this.#frame(buffer, 0, length, true, true);
  }

  /** A complete large fragment as views of retained chunks; its UTF-8 was checked as it arrived. */
  #fragmentParts(parts: Uint8Array[], length: number): boolean {
    const fin = this.#fin;
    // RFC 6455 §5.6/§8.1: a text message must not end inside a UTF-8 sequence.
    if (this.#validate && fin && !this.#utf8.push(EMPTY, true)) return this.#invalidUtf8();
    this.#sealTail();
    this.#borrowed = true;
    for (const part of parts) this.#fragments.push(part);
    this.#messageLength += length;
    return fin ? this.#completeMessage() : true;
  }

  /**
   * A complete frame whose payload is `source[start..end)`. `owned`: source is our own buffer,
   * not the owner's chunk; `validated`: its UTF-8 was already checked as it arrived.
   */
  #frame(source: Uint8Array, start: number, end: number, owned: boolean, validated: boolean): boolean {
    const opcode = this.#opcode;
    if (opcode >= 0x8) return this.#controlFrame(opcode, source.subarray(start, end));

    const fin = this.#fin;
    const length = end - start;
    let appended = false;
    if (this.#validate) {
      // RFC 6455 §5.6/§8.1: text must be UTF-8; a sequence may continue in the next fragment,
      // but must be complete at the end of the message.
      let ok: boolean;
      if (validated) {
        ok = !fin || this.#utf8.push(EMPTY, true);
      } else if ((opcode === 0x0 || !fin) && length <= 64 && length > 0 && this.#utf8.idle) {
        // A small fragment between characters: copying it also tells whether it is all ASCII,
        // which is valid as is; only other bytes need the validator.
        appended = true;
        ok = this.#append(source, start, end) || this.#utf8.pushRange(source, start, end, fin);
      } else {
        ok = this.#utf8.pushRange(source, start, end, fin);
      }
      if (!ok) return this.#invalidUtf8();
    }

    if (opcode !== 0x0 && fin) {
      // Unfragmented: the common case, delivered as a view (or as a range, to an owner that takes
      // text that way).
      this.#inHandler = true;
      if (this.#hasOnText && this.#messageText && !this.#messageCompressed) {
        this.#handler.onText!(source, start, end);
      } else {
        this.#handler.onMessage(owned ? source : source.subarray(start, end), this.#messageText, this.#messageCompressed, owned);
      }
      this.#inHandler = false;
      return true;
    }

    // A fragment (RFC 6455 §5.4): keep its bytes until the final one arrives.
    if (appended) {
      // Already copied above.
    } else if (length > SMALL_FRAGMENT) {
      this.#sealTail();
      // Views of the owner's chunk are kept only when it promised not to reuse chunks.
      if (!owned && this.#retainChunks) this.#borrowed = true;
      this.#fragments.push(owned ? source : this.#retainChunks ? source.subarray(start, end) : this.#copy(source, start, end));
    } else if (length > 0) {
      this.#append(source, start, end);
    }
    this.#messageLength += length;
    return fin ? this.#completeMessage() : true;
  }

  /** The final fragment has been kept: hand the whole message over. */
  #completeMessage(): boolean {
    this.#sealTail();
    // A single piece is handed out as is: owned unless it is a view of a retained chunk.
    const messageOwned = this.#fragments.length !== 1 || !this.#borrowed;
    const message = concat(this.#fragments, this.#messageLength, this.#allocate);
    const isText = this.#messageText;
    const compressed = this.#messageCompressed;
    this.#messageOpcode = 0;
    this.#messageLength = 0;
    this.#fragments = [];
    this.#borrowed = false;
    this.#fragmentCount = 0;
    this.#inHandler = true;
    this.#handler.onMessage(message, isText, compressed, messageOwned);
    this.#inHandler = false;
    return true;
  }

  /**
   * Copy a small fragment after the previous ones. Returns true when it was copied word by word
   * and every byte was ASCII.
   */
  #append(source: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    let tail = this.#tail;
    if (tail === null || this.#tailLength + length > tail.length) {
      const grown = tail === null ? TAIL_CAPACITY : tail.length * 2;
      this.#sealTail();
      // Never reserve more than the rest of maxPayload allows this message to have.
      const room = this.#maxPayload - this.#messageLength;
      tail = this.#tail = this.#allocate(Math.max(length, Math.min(grown, room)));
      this.#tailView = null;
    }
    let t = this.#tailLength;
    this.#tailLength += length;
    if (length > 64) {
      tail.set(source.subarray(start, end), t);
      return false;
    }
    // Four bytes per step through DataViews (unaligned access is fine there): a quarter of the
    // loads and stores of a byte loop, and no subarray() per fragment as set() would need.
    let view = this.#view;
    if (this.#viewed !== source || view === null) {
      view = this.#view = new DataView(source.buffer, source.byteOffset, source.byteLength);
      this.#viewed = source;
    }
    const tailView = (this.#tailView ??= new DataView(tail.buffer, tail.byteOffset, tail.byteLength));
    let bits = 0;
    let i = start;
    for (; i + 4 <= end; i += 4, t += 4) {
      const word = view.getInt32(i, true);
      bits |= word;
      tailView.setInt32(t, word, true);
    }
    for (; i < end; i++) {
      const b = source[i]!;
      bits |= b;
      tail[t++] = b;
    }
    return (bits & 0x80808080) === 0;
  }

  #sealTail(): void {
    if (this.#tail !== null && this.#tailLength > 0) this.#fragments.push(this.#tail.subarray(0, this.#tailLength));
    this.#tail = null;
    this.#tailView = null;
    this.#tailLength = 0;
  }

  #controlFrame(opcode: number, payload: Uint8Array): boolean {
    if (opcode === 0x8) {
      const parsed = parseClosePayload(payload);
      if (parsed instanceof Error) {
        this.#fail(parsed);
        return false;
      }
      // RFC 6455 §5.5.1: nothing follows a close frame; ignore whatever else arrives.
      this.#stop();
      this.#inHandler = true;
      this.#handler.onClose(parsed.code, parsed.reason);
      this.#inHandler = false;
      return false;
    }
    this.#inHandler = true;
    if (opcode === 0x9) this.#handler.onPing(payload);
    else this.#handler.onPong(payload);
    this.#inHandler = false;
    return true;
  }

  #protocolError(message: string): boolean {
    this.#fail(createError("ERR_PROTOCOL", `${message} (RFC 6455 §5)`, 1002));
    return false;
  }

  #invalidUtf8(): boolean {
    this.#fail(createError("ERR_INVALID_UTF8", "Invalid UTF-8 in text message", 1007));
    return false;
  }

  #tooBig(size: number): boolean {
    this.#fail(createError("ERR_PAYLOAD_TOO_BIG", `Message of ${size} bytes exceeds maxPayload ${this.#maxPayload}`, 1009));
    return false;
  }

  /** Stop for good and drop buffered message data. */
  #stop(): void {
    this.#closed = true;
    this.#fragments = [];
    this.#borrowed = false;
    this.#tail = null;
    this.#tailView = null;
    this.#tailLength = 0;
    this.#frameBuffer = null;
    this.#frameParts = null;
    this.#frameFilled = 0;
    this.#utf8.reset();
  }

  #fail(error: ResilientError): void {
    this.#stop();
    this.#inHandler = true;
    this.#handler.onProtocolError(error);
    this.#inHandler = false;
  }
}

function allocate(size: number): Uint8Array {
  return new Uint8Array(size);
}

function concat(pieces: Uint8Array[], length: number, alloc: (size: number) => Uint8Array): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  return gather(pieces, alloc(length));
}

/** Copy `pieces` back to back to the start of `out`; returns `out`. */
function gather(pieces: Uint8Array[], out: Uint8Array): Uint8Array {
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

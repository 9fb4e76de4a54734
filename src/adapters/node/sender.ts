/**
 * Outbound data messages in send() order. The common case (no compression, nothing queued) writes
 * one frame synchronously; a Blob (read asynchronously) or a compressed message waits in a queue
 * and everything sent after it waits behind it, so order is preserved.
 */
import type net from "node:net";
import { Buffer } from "node:buffer";
import { createError, type ResilientError } from "../../errors.js";
import { Opcode } from "../../protocol/types.js";
import { headerLength } from "../../protocol/encoder.js";
import { HeldFrames } from "./held-frames.js";
import { handleQueueSize, unsentBytes } from "./unsent-bytes.js";
import { POOLED_MIN_BYTES } from "./frame-arena.js";
import { buildTextFrame, frameWritten, writeFrame, type FrameOutput } from "./frame.js";
import type { DeflateCallback, PerMessageDeflate } from "./deflate.js";

// Batching states (see beginBatch).
const BATCH_OFF = 0;
const BATCH_OPEN = 1;
const BATCH_WROTE = 2;
const BATCH_CORKED = 3;

interface Job {
  opcode: number;
  data: Uint8Array | Blob;
  size: number;
}

/** What the Sender reports back to its connection. */
export interface SenderOwner {
  onSendFailure(error: ResilientError): void;
  onCloseWritten(): void;
}

export class Sender implements FrameOutput {
  readonly #socket: net.Socket;
  readonly #deflate: PerMessageDeflate | undefined;
  readonly #threshold: number;
  readonly #owner: SenderOwner;
  #queue: Job[] | undefined;
  #queuedBytes = 0;
  #busy = false;
  #closed = false;
  #batch = BATCH_OFF;
  #compressed: DeflateCallback | undefined;
  /** Frames the socket still holds part of (see held-frames.ts); made when a write first leaves some. */
  #held: HeldFrames | undefined;

  constructor(socket: net.Socket, deflate: PerMessageDeflate | undefined, threshold: number, owner: SenderOwner) {
    this.#socket = socket;
    this.#deflate = deflate?.canCompress === true ? deflate : undefined;
    this.#threshold = threshold;
    this.#owner = owner;
  }

  /**
   * Application bytes (UTF-8 text, binary data; before compression, without frame headers) given to
   * send() and not yet written to the kernel, as WHATWG WebSockets defines bufferedAmount. Once the
   * socket is destroyed it stays at what was unwritten then (the standard does not reset it).
   */
  get bufferedAmount(): number {
    this.settle();
    const socket = this.#socket;
    return this.#queuedBytes + (this.#held?.unwrittenPayload(socket.destroyed ? undefined : unsentBytes(socket)) ?? 0);
  }

  /**
   * A reading of what is not yet written to the kernel, [queued + unsent socket bytes, bytes of the
   * current write still in the handle]: sending made progress when the first fell, or stayed and the
   * second fell. On a plain Node socket the first already falls while the kernel takes a large
   * writev bit by bit (unsent-bytes.ts); a TLS socket's handle shows it only in the second; Deno
   * and Bun have no handle, and there progress shows once a write completes.
   */
  unwritten(): [number, number] {
    const socket = this.#socket;
    return [this.#queuedBytes + (socket.destroyed ? 0 : unsentBytes(socket)), handleQueueSize(socket) ?? 0];
  }

  /** Count what the socket holds now, before a caller destroys it (which empties the socket's buffer). */
  settle(): void {
    const socket = this.#socket;
    if (this.#held === undefined) return;
    // A socket ended and flushed (a clean close) wrote everything, though a destroyed socket no
    // longer says how much it held, and TLS reports its last writes as held until their callbacks.
    if (socket.writableFinished) this.#held.forgetWritten(0);
    else if (!socket.destroyed) this.#held.forgetWritten(unsentBytes(socket));
  }

  sendText(text: string): void {
    // Short strings cannot reach the threshold even at 3 bytes per UTF-16 unit: skip encoding twice.
    if (this.#queue === undefined && (this.#deflate === undefined || text.length * 3 < this.#threshold)) {
      const frame = buildTextFrame(text);
      this.writeChunk(frame, frameWritten(frame));
      this.#wrote(frame.length, textPayloadLength(frame.length));
      return;
    }
    const bytes = Buffer.from(text, "utf8");
    this.#enqueue(Opcode.Text, bytes, bytes.length);
  }

  sendBinary(bytes: Uint8Array): void {
    if (this.#queue === undefined && (this.#deflate === undefined || bytes.length < this.#threshold)) {
      writeFrame(this, Opcode.Binary, bytes, false);
      this.#wroteFrame(bytes.length, bytes.length);
      return;
    }
    // The caller may reuse its buffer after send() returns: keep a copy while the message waits.
    this.#enqueue(Opcode.Binary, Buffer.from(bytes), bytes.length);
  }

  sendBlob(blob: Blob): void {
    this.#enqueue(Opcode.Binary, blob, blob.size);
  }

  /** The close frame goes after every data message sent before close() (RFC 6455 §5.5.1). */
  sendClose(payload: Uint8Array): void {
    if (this.#queue !== undefined) {
      this.#enqueue(Opcode.Close, payload, 0);
      return;
    }
    writeFrame(this, Opcode.Close, payload, false);
    this.#wroteFrame(payload.length, 0);
    this.#owner.onCloseWritten();
  }

  /** Control frames may be interleaved with data (RFC 6455 §5.4); they never wait in the queue. */
  sendControl(opcode: number, payload: Uint8Array): void {
    writeFrame(this, opcode, payload, false);
    this.#wroteFrame(payload.length, 0);
  }

  /**
   * Sends made while the connection handles one socket read (replies from message listeners) are
   * batched: the first frame goes out at once, later ones are corked and leave together in one
   * writev when the read is done. A burst of replies then costs two system calls instead of one
   * each, and a lone reply costs nothing extra. Large chunks (pieces of a large frame) are written
   * at once whatever the state: a system call is nothing next to copying them, and a corked piece
   * would hold its region until the batch ends instead of giving it back to the next piece.
   */
  beginBatch(): void {
    this.#batch = BATCH_OPEN;
  }

  endBatch(): void {
    if (this.#batch === BATCH_CORKED) this.#socket.uncork();
    this.#batch = BATCH_OFF;
  }

  /** Every frame's bytes go out here (FrameOutput: see there for `release`). */
  writeChunk(chunk: Buffer, release: (() => void) | undefined): void {
    const socket = this.#socket;
    // Large chunks are not batched (see beginBatch); behind corked frames they still wait their turn.
    if (chunk.length < POOLED_MIN_BYTES) {
      if (this.#batch === BATCH_WROTE) {
        this.#batch = BATCH_CORKED;
        socket.cork();
      } else if (this.#batch === BATCH_OPEN) {
        this.#batch = BATCH_WROTE;
      }
    }
    socket.write(chunk, release);
    // Nothing left in the socket's queue: the write went to the kernel in full during the call
    // (net.Socket tries the system call at once; the callback is only deferred to the next tick),
    // so nothing reads the frame any more and its memory can be reused right away, while it is in
    // cache. A frame the socket still holds (a full kernel buffer, a corked batch, TLS, whose
    // writes complete later) counts in writableLength and waits for the callback.
    if (release !== undefined && socket.writableLength === 0) release();
  }

  /** Drop everything still queued (the connection is gone); bufferedAmount keeps counting it. */
  destroy(): void {
    this.#closed = true;
    this.#queue = undefined;
  }

  /** #wrote for a frame built by writeFrame: its header is headerLength(payloadLength) bytes. */
  #wroteFrame(payloadLength: number, payloadBytes: number): void {
    this.#wrote(headerLength(payloadLength) + payloadLength, payloadBytes);
  }

  /** After a frame's bytes went to the socket: remember the frame while the socket holds part of it. */
  #wrote(frameBytes: number, payloadBytes: number): void {
    const socketBytes = unsentBytes(this.#socket);
    if (socketBytes === 0) {
      // The usual case: the kernel took everything, this frame and all before it.
      if (this.#held !== undefined && this.#held.frameBytes !== 0) this.#held.forgetWritten(0);
      return;
    }
    (this.#held ??= new HeldFrames()).add(frameBytes, payloadBytes, socketBytes);
  }

  #enqueue(opcode: number, data: Uint8Array | Blob, size: number): void {
    (this.#queue ??= []).push({ opcode, data, size });
    this.#queuedBytes += size;
    this.#pump();
  }

  #pump(): void {
    while (!this.#busy && !this.#closed && this.#queue !== undefined) {
      const job = this.#queue[0];
      if (job === undefined) {
        this.#queue = undefined;
        return;
      }
      const data = job.data;
      if (data instanceof Uint8Array) {
        if (job.opcode !== Opcode.Close && this.#deflate !== undefined && data.length >= this.#threshold) {
          this.#busy = true;
          this.#deflate.compress(data, (this.#compressed ??= (payload) => this.#onCompressed(payload)));
          return;
        }
        this.#writeJob(job, data, false);
        continue;
      }
      this.#busy = true;
      data.arrayBuffer().then(
        (buffer) => {
          job.data = new Uint8Array(buffer);
          this.#busy = false;
          this.#pump();
        },
        (cause: unknown) => {
          this.#busy = false;
          if (!this.#closed) this.#owner.onSendFailure(createError("ERR_INVALID_ARGUMENT", "could not read the Blob passed to send()", undefined, cause));
        },
      );
      return;
    }
  }

  #writeJob(job: Job, payload: Uint8Array, rsv1: boolean): void {
    this.#queue?.shift();
    this.#queuedBytes -= job.size;
    writeFrame(this, job.opcode, payload, rsv1);
    this.#wroteFrame(payload.length, job.size);
    if (job.opcode === Opcode.Close) this.#owner.onCloseWritten();
  }

  #onCompressed(payload: Buffer): void {
    this.#busy = false;
    const job = this.#queue?.[0];
    if (this.#closed || job === undefined) return;
    // RFC 7692 §6: RSV1 marks the first (here: only) frame of a compressed message.
    this.#writeJob(job, payload, true);
    this.#pump();
  }
}

/** Payload length of a client text frame of `frameBytes` bytes (RFC 6455 §5.2: 2, 4 or 10 header bytes, then a 4-byte key). */
function textPayloadLength(frameBytes: number): number {
  return frameBytes <= 125 + 6 ? frameBytes - 6 : frameBytes <= 65535 + 8 ? frameBytes - 8 : frameBytes - 14;
}

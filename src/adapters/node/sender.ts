/**
 * Outbound data messages in send() order. The common case (no compression, nothing queued, a socket
 * that holds little) writes one frame synchronously; a Blob (read asynchronously), a compressed
 * message, a message larger than FRAGMENT_BYTES, or any message sent while the socket holds
 * SOCKET_MARK unsent bytes waits in a queue and everything sent after it waits behind it, so order
 * is preserved. Where the socket shows no progress inside a write (Deno, Bun, TLS), frame bytes go
 * to it a few pieces at a time (PacedWrites), still in the order they were written.
 *
 * Why fragment: a control frame cannot enter the middle of a frame, so a 32 MiB message written as
 * one frame held every pong behind it for as long as the link took to carry it (4 s at 8 MiB/s), and
 * servers that ping every 30 s dropped a healthy client whose upload took longer. Large messages go
 * out in FRAGMENT_BYTES frames (RFC 6455 §5.4), each handed to the socket only once it holds less
 * than SOCKET_MARK, so a ping or pong (sendControl, written at once) waits behind at most about
 * two fragments, never behind the rest of the message (§5.4 allows control frames between fragments).
 */
import type net from "node:net";
import { Buffer } from "node:buffer";
import { createError, type ResilientError } from "../../errors.js";
import { Opcode } from "../../protocol/types.js";
import { headerLength } from "../../protocol/encoder.js";
import { HeldFrames } from "./held-frames.js";
import { handleQueueSize, showsWriteProgress, unsentBytes } from "./unsent-bytes.js";
import { POOLED_MIN_BYTES } from "./frame-arena.js";
import { buildTextFrame, frameWritten, PIECE_BYTES, writeFrame, type FrameOutput } from "./frame.js";
import type { DeflateCallback, PerMessageDeflate } from "./deflate.js";

// Batching states (see beginBatch).
const BATCH_OFF = 0;
const BATCH_OPEN = 1;
const BATCH_WROTE = 2;
const BATCH_CORKED = 3;

/**
 * How much a paced socket (see PacedWrites) may hold before it is given more: about two pieces of a
 * large frame, so that it has the next piece at hand when one completes. The piece that crosses
 * the mark is still given whole, so the socket holds up to one piece more.
 */
const PACED_IN_FLIGHT = 2 * PIECE_BYTES;
/** A paced socket holding less than this takes small frames without a callback (see PacedWrites.write). */
const UNTRACKED_BYTES = POOLED_MIN_BYTES;

/**
 * Payload bytes per fragment of a large data message; messages up to this size are one frame. A
 * control frame waits behind at most about two of them (SOCKET_MARK, plus the fragment that crossed
 * it): 0.25 s at 8 MiB/s. 1 MiB messages (the send benchmark's) stay one frame, as before.
 */
export const FRAGMENT_BYTES = 1024 * 1024;
/**
 * Data frames are handed to the socket only while it holds fewer unsent bytes than this (Node's
 * buffer, or PacedWrites' queue and the socket's: #unsentFrameBytes); beyond it they wait in the
 * queue, where a control frame can pass them. One fragment: the socket then still has the next one
 * at hand while the kernel takes the last.
 */
const SOCKET_MARK = FRAGMENT_BYTES;
/**
 * Above this many unsent socket bytes a pong waits for 'drain' (Connection.onPing), so a flood of
 * pings from a peer that does not read costs one pending pong, not unbounded memory. The data the
 * Sender lets into the socket (SOCKET_MARK plus the frame that crossed it) does not count against it.
 */
const CONTROL_HIGH_WATER = 64 * 1024 + SOCKET_MARK + FRAGMENT_BYTES;

interface Job {
  opcode: number;
  data: Uint8Array | Blob;
  /** Application bytes (bufferedAmount) of the message. */
  size: number;
}

/** The message at the queue's head while it goes out in fragments (RFC 6455 §5.4). */
interface Fragments {
  /** The whole payload: the message's bytes (a copy: see sendBinary), or their compressed form. */
  readonly payload: Uint8Array;
  /** Opcode of the first frame (text or binary); the others are continuation frames. */
  readonly opcode: number;
  /** RFC 7692 §6.1: RSV1 marks a compressed message on its first frame only. */
  readonly rsv1: boolean;
  /** Application bytes of the message (bufferedAmount); compressed payload is counted in proportion. */
  readonly size: number;
  /** Payload bytes written so far. */
  at: number;
  /** Application bytes of the fragments written so far (taken off #queuedBytes). */
  counted: number;
}

/** What the Sender reports back to its connection. */
export interface SenderOwner {
  onSendFailure(error: ResilientError): void;
  onCloseWritten(): void;
  /** The queued close frame waits behind data the socket cannot take yet: for the peer to read. */
  onCloseWaiting(): void;
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
  /** The message at the queue's head, once it is going out in fragments. */
  #fragments: Fragments | undefined;
  /** A 'drain' listener waits to continue the queue (plain sockets: see #awaitProgress). */
  #awaitingDrain = false;
  #drained: (() => void) | undefined;
  /** The close frame is in the queue (sendClose). */
  #closeQueued = false;
  /** Frames the socket still holds part of (see held-frames.ts); made when a write first leaves some. */
  #held: HeldFrames | undefined;
  /** Where the socket shows no progress inside a write: what it is given, a few pieces at a time. */
  readonly #paced: PacedWrites | undefined;

  constructor(socket: net.Socket, deflate: PerMessageDeflate | undefined, threshold: number, owner: SenderOwner) {
    this.#socket = socket;
    this.#deflate = deflate?.canCompress === true ? deflate : undefined;
    this.#threshold = threshold;
    this.#owner = owner;
    this.#paced = showsWriteProgress(socket) ? undefined : new PacedWrites(socket, () => this.#pacedProgress());
  }

  /**
   * Application bytes (UTF-8 text, binary data; before compression, without frame headers) given to
   * send() and not yet written to the kernel, as WHATWG WebSockets defines bufferedAmount. Once the
   * socket is destroyed it stays at what was unwritten then (the standard does not reset it).
   */
  get bufferedAmount(): number {
    this.settle();
    const socket = this.#socket;
    return this.#queuedBytes + (this.#held?.unwrittenPayload(socket.destroyed ? undefined : this.#unsentFrameBytes()) ?? 0);
  }

  /**
   * A reading of what is not yet written to the kernel, [queued + unsent socket bytes, bytes of the
   * current write still in the handle]: sending made progress when the first fell, or stayed and the
   * second fell. On a plain Node socket the first already falls while the kernel takes a large
   * writev bit by bit (unsent-bytes.ts). Elsewhere (TLS, Deno, Bun) it falls each time a write
   * completes, and PacedWrites keeps those writes a piece or two long.
   */
  unwritten(): [number, number] {
    const socket = this.#socket;
    return [this.#queuedBytes + (socket.destroyed ? 0 : this.#unsentFrameBytes()), handleQueueSize(socket) ?? 0];
  }

  /** Count what the socket holds now, before a caller destroys it (which empties the socket's buffer). */
  settle(): void {
    const socket = this.#socket;
    if (this.#held === undefined) return;
    // A socket ended and flushed (a clean close) wrote everything, though a destroyed socket no
    // longer says how much it held, and TLS reports its last writes as held until their callbacks.
    if (socket.writableFinished) this.#held.forgetWritten(0);
    else if (!socket.destroyed) this.#held.forgetWritten(this.#unsentFrameBytes());
  }

  sendText(text: string): void {
    // Short strings cannot reach the threshold (or FRAGMENT_BYTES) even at 3 bytes per UTF-16 unit:
    // skip encoding twice.
    if (this.#writesNow() && (this.#deflate === undefined || text.length * 3 < this.#threshold)) {
      const length = text.length * 3 <= FRAGMENT_BYTES ? undefined : Buffer.byteLength(text);
      if (length === undefined || length <= FRAGMENT_BYTES) {
        const frame = buildTextFrame(text, length);
        this.writeChunk(frame, frameWritten(frame));
        this.#wrote(frame.length, textPayloadLength(frame.length));
        return;
      }
    }
    // Large text goes out in fragments like binary data: a fragment may end inside a UTF-8
    // sequence, which RFC 6455 §5.6 allows (the receiver validates the whole message).
    const bytes = Buffer.from(text, "utf8");
    this.#enqueue(Opcode.Text, bytes, bytes.length);
  }

  sendBinary(bytes: Uint8Array): void {
    if (this.#writesNow() && bytes.length <= FRAGMENT_BYTES && (this.#deflate === undefined || bytes.length < this.#threshold)) {
      writeFrame(this, Opcode.Binary, bytes, false);
      this.#wroteFrame(bytes.length, bytes.length);
      return;
    }
    // The caller may reuse its buffer after send() returns: keep a copy while the message waits
    // (a large one is written a fragment at a time, long after send() returned).
    this.#enqueue(Opcode.Binary, Buffer.from(bytes), bytes.length);
  }

  sendBlob(blob: Blob): void {
    this.#enqueue(Opcode.Binary, blob, blob.size);
  }

  /** The close frame goes after every data message sent before close() (RFC 6455 §5.5.1). */
  sendClose(payload: Uint8Array): void {
    if (this.#queue !== undefined) {
      this.#closeQueued = true;
      this.#enqueue(Opcode.Close, payload, 0);
      return;
    }
    writeFrame(this, Opcode.Close, payload, false);
    this.#wroteFrame(payload.length, 0);
    this.#owner.onCloseWritten();
  }

  /**
   * Control frames may be interleaved with data (RFC 6455 §5.4); they never wait in the queue. The
   * socket has only whole frames (a fragment's pieces are all written at once), so this one lands
   * between two frames, at most about two fragments behind the data being sent.
   */
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

  /** Whether a pong may be written now: the socket holds less than CONTROL_HIGH_WATER (see there). */
  hasRoomForControl(): boolean {
    return this.#unsentFrameBytes() < CONTROL_HIGH_WATER;
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
    if (this.#paced !== undefined) {
      this.#paced.write(chunk, release);
      return;
    }
    socket.write(chunk, release);
    // Nothing left in the socket's queue: the write went to the kernel in full during the call
    // (net.Socket tries the system call at once; the callback is only deferred to the next tick),
    // so nothing reads the frame any more and its memory can be reused right away, while it is in
    // cache. A frame the socket still holds (a full kernel buffer, a corked batch, TLS, whose
    // writes complete later) counts in writableLength and waits for the callback.
    if (release !== undefined && socket.writableLength === 0) release();
  }

  /** Half-close the socket once it has every frame written before (the close frame is the last). */
  end(): void {
    if (this.#paced !== undefined) this.#paced.end();
    else this.#socket.end();
  }

  /**
   * Drop the messages still queued (the connection failed or is gone); bufferedAmount keeps
   * counting them. Frames already written, in part or whole, still go out while the socket lives:
   * a close frame written next must not land inside one of them.
   */
  destroy(): void {
    this.#closed = true;
    this.#queue = undefined;
    // A message cut off between two fragments: its unwritten bytes stay in #queuedBytes.
    this.#fragments = undefined;
    if (this.#socket.destroyed) this.#paced?.drop();
  }

  /** Frame bytes written here that the kernel does not have yet: waiting for a paced socket, or in the socket. */
  #unsentFrameBytes(): number {
    return (this.#paced?.waitingBytes ?? 0) + unsentBytes(this.#socket);
  }

  /**
   * A paced write completed: keep the count of held frames current (it is kept once the socket is
   * destroyed), and give the socket what waits in the queue if it now holds less than SOCKET_MARK.
   */
  #pacedProgress(): void {
    if (this.#socket.destroyed) return;
    this.#held?.forgetWritten(this.#unsentFrameBytes());
    if (this.#queue !== undefined) this.#pump();
  }

  /**
   * Whether a data message may skip the queue and be written now: nothing waits before it, and the
   * socket holds less than SOCKET_MARK. Else a burst of messages would fill the socket with data that
   * every control frame has to wait behind; queued, they are copied (see sendBinary), but there
   * they go to the socket as it empties, and a pong passes them.
   */
  #writesNow(): boolean {
    return this.#queue === undefined && this.#unsentFrameBytes() < SOCKET_MARK;
  }

  /** The socket holds SOCKET_MARK or more: data waits in the queue until it holds less. */
  #full(): boolean {
    return this.#unsentFrameBytes() >= SOCKET_MARK;
  }

  /**
   * Continue the queue once the socket took some of what it holds. A paced socket reports each
   * completed write (#pacedProgress). A plain socket holding SOCKET_MARK is far above its
   * highWaterMark, so it emits 'drain' once it has handed everything to the kernel; the kernel's
   * buffer then still holds what it took, so the link does not go idle while the next fragment is
   * built.
   */
  #awaitProgress(): void {
    // From here on the close frame waits for the peer to read, not for us: its timer may run.
    if (this.#closeQueued) this.#owner.onCloseWaiting();
    if (this.#paced !== undefined || this.#awaitingDrain) return;
    this.#awaitingDrain = true;
    this.#socket.once(
      "drain",
      (this.#drained ??= () => {
        this.#awaitingDrain = false;
        this.#pump();
      }),
    );
  }

  /** #wrote for a frame built by writeFrame: its header is headerLength(payloadLength) bytes. */
  #wroteFrame(payloadLength: number, payloadBytes: number): void {
    this.#wrote(headerLength(payloadLength) + payloadLength, payloadBytes);
  }

  /** After a frame's bytes went to the socket: remember the frame while the socket holds part of it. */
  #wrote(frameBytes: number, payloadBytes: number): void {
    const socketBytes = this.#unsentFrameBytes();
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
    // A destroyed socket takes nothing more; what is queued stays counted in bufferedAmount.
    while (!this.#busy && !this.#closed && this.#queue !== undefined && !this.#socket.destroyed) {
      const fragments = this.#fragments;
      if (fragments !== undefined) {
        if (!this.#writeFragments(fragments)) return;
        continue;
      }
      const job = this.#queue[0];
      if (job === undefined) {
        this.#queue = undefined;
        return;
      }
      // Data waits while the socket is full (a control frame may then pass it); the close frame
      // need not, as everything before it is written.
      if (job.opcode !== Opcode.Close && this.#full()) {
        this.#awaitProgress();
        return;
      }
      const data = job.data;
      if (data instanceof Uint8Array) {
        if (job.opcode !== Opcode.Close && this.#deflate !== undefined && data.length >= this.#threshold) {
          this.#busy = true;
          this.#deflate.compress(data, (this.#compressed ??= (payload) => this.#onCompressed(payload)));
          return;
        }
        this.#writeMessage(job, data, false);
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

  /** Write the queue's head: as one frame, or (a large data message) start its fragments, which #pump writes. */
  #writeMessage(job: Job, payload: Uint8Array, rsv1: boolean): void {
    if (payload.length <= FRAGMENT_BYTES || job.opcode === Opcode.Close) {
      this.#writeJob(job, payload, rsv1);
      return;
    }
    this.#fragments = { payload, opcode: job.opcode, rsv1, size: job.size, at: 0, counted: 0 };
  }

  /**
   * Write fragments of the message at the queue's head while the socket holds less than
   * SOCKET_MARK; true once its last fragment is written (the message leaves the queue).
   */
  #writeFragments(fragments: Fragments): boolean {
    while (!this.#full()) {
      if (!this.#writeFragment(fragments)) continue;
      this.#fragments = undefined;
      this.#queue?.shift();
      return true;
    }
    this.#awaitProgress();
    return false;
  }

  /** Write the next fragment of `fragments`; true when it was the last (FIN). */
  #writeFragment(fragments: Fragments): boolean {
    const { payload, size } = fragments;
    const length = payload.length;
    const start = fragments.at;
    const end = length - start <= FRAGMENT_BYTES ? length : start + FRAGMENT_BYTES;
    const fin = end === length;
    // RFC 6455 §5.4: the first frame has the message's opcode, the others are continuation frames,
    // the last has FIN. RFC 7692 §6.1: RSV1 on the first frame only. The payload is cut anywhere:
    // for text inside a UTF-8 sequence too, as the receiver checks the reassembled message (§5.6).
    writeFrame(this, start === 0 ? fragments.opcode : Opcode.Continuation, payload.subarray(start, end), start === 0 && fragments.rsv1, fin);
    // bufferedAmount counts application bytes: a fragment of compressed payload carries its share
    // of them (the last one the rest, so the shares add up to the message exactly).
    const counted = fin ? size : Math.floor((size / length) * end);
    const appBytes = counted - fragments.counted;
    fragments.at = end;
    fragments.counted = counted;
    this.#queuedBytes -= appBytes;
    this.#wroteFrame(end - start, appBytes);
    return fin;
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
    // RFC 7692 §6: RSV1 marks the first frame of a compressed message.
    this.#writeMessage(job, payload, true);
    this.#pump();
  }
}

/** Payload length of a client text frame of `frameBytes` bytes (RFC 6455 §5.2: 2, 4 or 10 header bytes, then a 4-byte key). */
function textPayloadLength(frameBytes: number): number {
  return frameBytes <= 125 + 6 ? frameBytes - 6 : frameBytes <= 65535 + 8 ? frameBytes - 8 : frameBytes - 14;
}

/**
 * The Sender's writes to a socket that shows no progress inside a write (showsWriteProgress: Deno,
 * Bun, TLS). Such a socket counts a write whole until it completes, and its stream gathers all
 * that is queued behind a pending write into one writev: a 40 MiB backlog then looked unmoved for
 * as long as the peer took to read it, to bufferedAmount and to the close timer alike, which cut
 * it off. Here the socket is given about PACED_IN_FLIGHT bytes at a time; the rest waits in write
 * order, and each completed write hands it the next. Every completion is then visible progress,
 * and the runtime's stream never holds more than that. Chunks go out only in the order written,
 * whole or in consecutive parts, so no frame's bytes come between another's (RFC 6455 §5.4).
 */
class PacedWrites {
  readonly #socket: net.Socket;
  readonly #progress: () => void;
  /** Chunks and their releases (FrameOutput): [#head, #next) are in the socket, [#next, length) wait. */
  readonly #chunks: Array<Buffer | undefined> = [];
  readonly #releases: Array<(() => void) | undefined> = [];
  #head = 0;
  #next = 0;
  #inFlight = 0;
  #waiting = 0;
  /** end() came while chunks were waiting: the socket is ended once it has them all. */
  #ending = false;
  /** The callback of every write counted in #inFlight (one per socket): they complete in the order written. */
  readonly #written = (): void => this.#onWritten();

  constructor(socket: net.Socket, progress: () => void) {
    this.#socket = socket;
    this.#progress = progress;
  }

  /** Bytes written here that the socket has not been given yet. */
  get waitingBytes(): number {
    return this.#waiting;
  }

  write(chunk: Buffer, release: (() => void) | undefined): void {
    const socket = this.#socket;
    // A small frame while the socket holds little (most messages): nothing to pace, so no callback
    // and no bookkeeping per message. What the socket holds this way stays below UNTRACKED_BYTES;
    // beyond that every write is counted and paced, so a backlog of small frames moves visibly too.
    if (release === undefined && this.#next === this.#chunks.length && socket.writableLength + chunk.length < UNTRACKED_BYTES) {
      socket.write(chunk);
      return;
    }
    // A chunk larger than the socket may hold (a large text frame is built whole) goes in parts,
    // which are views of it; its memory is given back after the last one.
    let at = 0;
    for (; chunk.length - at > PACED_IN_FLIGHT; at += PIECE_BYTES) this.#push(chunk.subarray(at, at + PIECE_BYTES), undefined);
    this.#push(at === 0 ? chunk : chunk.subarray(at), release);
    this.#flush();
  }

  end(): void {
    if (this.#next === this.#chunks.length) this.#socket.end();
    else this.#ending = true;
  }

  /** The socket is destroyed: give back the chunks that never reached it (in-flight ones come back in their callbacks). */
  drop(): void {
    const releases = this.#releases;
    for (let i = this.#next; i < releases.length; i++) releases[i]?.();
    this.#chunks.length = this.#next;
    releases.length = this.#next;
    this.#waiting = 0;
    this.#ending = false;
  }

  #push(chunk: Buffer, release: (() => void) | undefined): void {
    this.#chunks.push(chunk);
    this.#releases.push(release);
    this.#waiting += chunk.length;
  }

  #flush(): void {
    const socket = this.#socket;
    const chunks = this.#chunks;
    if (socket.destroyed) {
      this.drop();
      return;
    }
    while (this.#next < chunks.length && this.#inSocket() < PACED_IN_FLIGHT) {
      const chunk = chunks[this.#next]!;
      const release = this.#releases[this.#next];
      this.#next++;
      this.#waiting -= chunk.length;
      this.#inFlight += chunk.length;
      socket.write(chunk, this.#written);
      // As in Sender.writeChunk: the kernel took it all during the call, so its memory is free now.
      if (release !== undefined && socket.writableLength === 0) release();
    }
    if (this.#ending && this.#next === chunks.length) {
      this.#ending = false;
      socket.end();
    }
  }

  /**
   * Bytes given to the socket and not yet written: its writableLength, which falls at once when the
   * kernel takes a write during the call (Deno tries that), or what our callbacks have not
   * confirmed, should a runtime count a write until after its callback.
   */
  #inSocket(): number {
    return Math.min(this.#inFlight, this.#socket.writableLength);
  }

  #onWritten(): void {
    const head = this.#head;
    const chunk = this.#chunks[head];
    // A write after the arrays were compacted away (cannot happen while they stay in order).
    if (chunk === undefined || head >= this.#next) return;
    const release = this.#releases[head];
    this.#chunks[head] = undefined;
    this.#releases[head] = undefined;
    this.#head = head + 1;
    this.#inFlight -= chunk.length;
    release?.();
    this.#compact();
    this.#flush();
    this.#progress();
  }

  /** Forget the written chunks once there are many, or none waits. */
  #compact(): void {
    const head = this.#head;
    const chunks = this.#chunks;
    if (head === chunks.length) {
      chunks.length = 0;
      this.#releases.length = 0;
    } else if (head >= 1024 && head * 2 >= chunks.length) {
      chunks.splice(0, head);
      this.#releases.splice(0, head);
    } else {
      return;
    }
    this.#next -= head;
    this.#head = 0;
  }
}

/**
 * An open WebSocket connection: socket bytes into the frame decoder, decoded frames out as W3C
 * events on the owner, automatic pongs, the close handshake (RFC 6455 §7) and failure (§7.1.7).
 */
import type net from "node:net";
import { Buffer, constants as bufferConstants, isUtf8 } from "node:buffer";
import { createError, type ResilientError } from "../../errors.js";
import { encodeClosePayload } from "../../protocol/encoder.js";
import { FrameDecoder } from "../../protocol/decoder.js";
import { DEFAULT_MAX_FRAGMENTS } from "../../protocol/constants.js";
import { Opcode, type FrameHandler } from "../../protocol/types.js";
import { CloseEvent, ErrorEvent, PongEvent } from "./events.js";
import type { InflateCallback, PerMessageDeflate } from "./deflate.js";
import { Sender } from "./sender.js";

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** UTF-16 units in the longest string the runtime can make (V8: 2^29 - 24); a UTF-8 text of at most this many bytes always fits. */
const MAX_STRING_LENGTH: number = bufferConstants?.MAX_STRING_LENGTH ?? 2 ** 29 - 24;

/** What the connection needs of its W3C owner. */
export interface ConnectionOwner extends EventTarget {
  readonly binaryType: "blob" | "arraybuffer";
  /** The WebSocket URL (not that of a redirect target): MessageEvent.origin is its origin. */
  readonly url: string;
}

export interface ConnectionConfig {
  maxPayload: number;
  closeTimeout: number;
  deflate: PerMessageDeflate | undefined;
  deflateThreshold: number;
}

interface Inbound {
  data: Uint8Array;
  isText: boolean;
  compressed: boolean;
  /** A pong that arrived behind the messages before it: its event keeps the wire order. */
  pong: boolean;
}

/** The socket's back reference, so its listeners are shared functions instead of closures per connection (as in ws). */
const kConnection = Symbol("resilient-ws.connection");
type TaggedSocket = net.Socket & { [kConnection]: Connection };

function socketOnData(this: TaggedSocket, chunk: Buffer): void {
  this[kConnection].onData(chunk);
}

function socketOnClose(this: TaggedSocket): void {
  this[kConnection].onSocketClose();
}

function socketOnError(): void {
  // 'close' follows; like browsers, a dropped TCP connection is reported by close code 1006.
}

let textDecoder: TextDecoder | undefined;

type Utf8Sliceable = Uint8Array & { utf8Slice?: (start: number, end: number) => string };

/** UTF-8 already validated by the decoder. */
function toText(data: Utf8Sliceable, start = 0, end = data.length): string {
  // Buffer's utf8Slice (Node and Deno) is about twice as fast as TextDecoder or toString() for
  // short messages, and decodes a range without a view; plain Uint8Arrays use TextDecoder.
  return typeof data.utf8Slice === "function" ? data.utf8Slice(start, end) : (textDecoder ??= new TextDecoder()).decode(data.subarray(start, end));
}

export class Connection implements FrameHandler {
  readonly #owner: ConnectionOwner;
  readonly #socket: net.Socket;
  readonly #decoder: FrameDecoder;
  readonly #sender: Sender;
  readonly #closeTimeout: number;
  readonly #deflate: PerMessageDeflate | undefined;
  /** See #messageOrigin(). */
  #origin: string | undefined;
  /** W3C readyState once open: OPEN, CLOSING, CLOSED. */
  #readyState = OPEN;
  /** Messages waiting behind an inflate, in arrival order; undefined when none (the common case). */
  #inbox: Inbound[] | undefined;
  /** The inbox waits for the event loop's next turn after `open` (see start()). */
  #holding = false;
  #inflating = false;
  #inflated: InflateCallback | undefined;
  #pendingPong: Uint8Array | undefined;
  #waitingDrain = false;
  #closeSent = false;
  #closeWritten = false;
  #closeReceived: { code: number; reason: string } | undefined;
  /** A protocol error found in frames after messages that are still inflating: failed once they are delivered. */
  #failureBehindInbox: ResilientError | undefined;
  #failure: ResilientError | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #tcpClosed = false;
  #finished = false;
  /** Bytes read after the handshake's response head (see WebSocket#bytesReceived). */
  bytesReceived = 0;

  constructor(owner: ConnectionOwner, socket: net.Socket, config: ConnectionConfig) {
    this.#owner = owner;
    this.#socket = socket;
    this.#closeTimeout = config.closeTimeout;
    this.#deflate = config.deflate;
    this.#decoder = new FrameDecoder(this, {
      maxPayload: config.maxPayload,
      maxFragments: DEFAULT_MAX_FRAGMENTS,
      allowRsv1: config.deflate !== undefined,
      // Node hands every 'data' event a fresh Buffer, so views of it stay valid.
      retainChunks: true,
      validateUtf8: isUtf8,
      // Every byte is overwritten before use; large buffers are then exactly one message each.
      allocate: Buffer.allocUnsafe,
    });
    this.#sender = new Sender(socket, config.deflate, config.deflateThreshold, this);
  }

  get readyState(): number {
    return this.#readyState;
  }

  get bufferedAmount(): number {
    return this.#sender.bufferedAmount;
  }

  get sender(): Sender {
    return this.#sender;
  }

  /**
   * False once TCP closed (or our side ended after the peer's FIN), though the connection may still be OPEN while it delivers messages that
   * arrived before (inflating): what is sent then is counted in bufferedAmount and discarded.
   */
  get writable(): boolean {
    return !this.#tcpClosed && this.#socket.writable;
  }

  /** Start reading; `rest` are bytes that followed the handshake response head. */
  start(rest: Uint8Array): void {
    const socket = this.#socket as TaggedSocket;
    socket[kConnection] = this;
    socket.on("data", socketOnData);
    socket.on("close", socketOnClose);
    socket.on("error", socketOnError);
    // WHATWG WebSockets queues `open` and each message as tasks of their own. Frames that came with
    // the 101 response, or that the paused socket already holds (a resume() would emit them in a
    // nextTick, before promise callbacks), wait in the inbox for one turn of the event loop, so
    // code that adds its message listener after `await`ing open still gets a server's greeting.
    this.#inbox = [];
    this.#holding = true;
    this.bytesReceived += rest.length;
    if (rest.length > 0) this.#decoder.push(rest);
    setImmediate(() => {
      this.#holding = false;
      this.#pumpInbox();
    });
    // A socket that already emitted 'close' will not emit it again.
    if (socket.closed) this.onSocketClose();
    else if (!this.#finished) this.#updateFlow();
  }

  /** close() by the application: RFC 6455 §7.1.2, start the closing handshake. */
  close(code: number | undefined, reason: string | undefined): void {
    if (this.#closeSent || this.#finished) return;
    // WHATWG WebSocket close(): a reason without a code is sent with 1000.
    this.#sendClose(encodeClosePayload(code === undefined && reason ? 1000 : code, reason));
  }

  /** Drop the TCP connection now, without a closing handshake (close event 1006). */
  terminate(): void {
    // CLOSING from now on, as after close(): send() counts its data in bufferedAmount and drops it
    // instead of writing to a destroyed socket. Nothing received is processed any more, even from
    // the chunk being parsed (terminate() called from a message listener): no message event once
    // not OPEN (WHATWG), and no close frame answered into the destroyed socket, which made the
    // close look clean.
    if (this.#readyState === OPEN) this.#readyState = CLOSING;
    this.#closeSent = true;
    this.#decoder.stop();
    this.#inbox = undefined;
    this.#sender.settle();
    this.#socket.destroy();
    // TCP closed already, while received messages were still inflating: onSocketClose() waited for
    // them, and a destroyed socket emits no second 'close'.
    if (this.#tcpClosed) this.#finish();
  }

  ping(payload: Uint8Array): void {
    if (this.#closeSent || this.#finished) return;
    this.#sender.sendControl(Opcode.Ping, payload);
  }

  // FrameHandler: called by the decoder, synchronously inside push().

  onMessage(data: Uint8Array, isText: boolean, compressed: boolean): void {
    if (this.#closeSent || this.#failure !== undefined) return;
    if (!compressed && this.#inbox === undefined) {
      this.#deliver(data, isText);
      return;
    }
    // The decoder's view is only valid during this call: keep a copy while it waits.
    (this.#inbox ??= []).push({ data: Buffer.from(data), isText, compressed, pong: false });
    this.#updateFlow();
    this.#pumpInbox();
  }

  /** Unfragmented uncompressed text: decoded straight from the socket chunk, no view per message. */
  onText(source: Uint8Array, start: number, end: number): void {
    if (this.#closeSent || this.#failure !== undefined) return;
    if (this.#inbox === undefined) {
      const text = this.#text(source, start, end);
      if (text !== undefined) this.#owner.dispatchEvent(new MessageEvent("message", { data: text, origin: this.#messageOrigin() }));
      return;
    }
    // Behind a compressed message that is still inflating: wait in order, as a copy.
    this.onMessage(source.subarray(start, end), true, false);
  }

  onPing(data: Uint8Array): void {
    if (this.#closeSent || this.#failure !== undefined) return;
    // RFC 6455 §5.5.2: answer with a pong carrying the same application data. Once the socket holds
    // more than the Sender lets data fill it with (Sender.hasRoomForControl), the pong waits for
    // 'drain' and reading pauses: a flood of pings then costs one pending pong (the latest, RFC
    // 6455 §5.5.3 allows that), not unbounded memory.
    if (!this.#waitingDrain && this.#sender.hasRoomForControl()) {
      this.#sender.sendControl(Opcode.Pong, data);
      return;
    }
    this.#pendingPong = Buffer.from(data);
    if (!this.#waitingDrain) {
      this.#waitingDrain = true;
      this.#socket.once("drain", () => this.#onDrain());
      this.#updateFlow();
    }
  }

  onPong(data: Uint8Array): void {
    // RFC 6455 §7.1.7: once the connection is failed (an inflate error), nothing more of the peer's
    // data is processed; only its close frame is still read.
    if (this.#failure !== undefined) return;
    // Behind messages that wait (inflating, or held after open), the pong waits too: events come in
    // the order their frames did.
    if (this.#inbox !== undefined) this.#inbox.push({ data: Buffer.from(data), isText: false, compressed: false, pong: true });
    else this.#owner.dispatchEvent(new PongEvent("pong", Buffer.from(data)));
  }

  onClose(code: number | undefined, reason: string): void {
    // RFC 6455 §7.1.5: no body means status 1005.
    this.#closeReceived = { code: code ?? 1005, reason };
    if (this.#inbox !== undefined) return; // handled once the messages before it are delivered
    this.#afterCloseReceived();
  }

  onProtocolError(error: ResilientError): void {
    // Messages that arrived complete before the faulty frame are delivered first, compressed ones
    // too (as uncompressed ones are, synchronously); an inflate error among them comes first.
    if (this.#inbox !== undefined) this.#failureBehindInbox ??= error;
    else this.#fail(error);
  }

  // Internals.

  #afterCloseReceived(): void {
    const received = this.#closeReceived;
    if (received === undefined || this.#finished) return;
    if (!this.#closeSent) {
      // RFC 6455 §5.5.1: answer a close frame with a close frame, echoing the status code.
      this.#sendClose(encodeClosePayload(received.code === 1005 ? undefined : received.code));
    } else if (this.#closeWritten) {
      // Both close frames are exchanged; the server should now close TCP (RFC 6455 §7.1.1).
      this.#sender.end();
    }
  }

  #sendClose(payload: Uint8Array): void {
    this.#closeSent = true;
    this.#readyState = CLOSING;
    // The close frame goes out behind every message sent before it (WHATWG close() discards
    // nothing); the close timer starts once it is written (onCloseWritten).
    this.#sender.sendClose(payload);
  }

  /** Called by the Sender when our close frame has been handed to the socket. */
  onCloseWritten(): void {
    // Handed to a socket that had closed already, or ended its side after the peer's FIN (a close()
    // while messages received before it were still inflating): the peer never got it, so the close
    // is not clean.
    if (!this.writable) return;
    this.#closeWritten = true;
    if (this.#closeReceived !== undefined) this.#sender.end();
    // Only now: time spent compressing or reading Blobs queued before the close frame is ours,
    // not the peer's (a 24 MiB compressed send then close() with closeTimeout 300 lost the message).
    if (!this.#finished) this.#startCloseTimer();
  }

  /**
   * Called by the Sender when our queued close frame waits behind data the socket cannot take yet
   * (the rest of a large message, written as the peer reads): that wait is the peer's, so the close
   * timer runs, and it sees the queue shrink as the peer reads (Sender.unwritten).
   */
  onCloseWaiting(): void {
    if (!this.#finished && this.writable) this.#startCloseTimer();
  }

  /** Called by the Sender when a queued message cannot be sent (a Blob that cannot be read). */
  onSendFailure(error: ResilientError): void {
    this.#fail(error);
  }

  /**
   * RFC 6455 §7.1.1: do not wait forever for the peer to finish the closing handshake, unless
   * closeTimeout: Infinity asked for exactly that (setTimeout would turn Infinity into 1 ms).
   * The wait is for the peer, not for our own backlog: WHATWG close() does not discard what was
   * sent before it, and our close frame goes out behind that. While the backlog shrank during the
   * last period (a slow link, not a dead one), wait another period; the period in which it emptied
   * counts too, so the peer always has a whole closeTimeout to answer the close frame it just got.
   */
  #startCloseTimer(): void {
    if (this.#closeTimeout === Infinity || this.#closeTimer !== undefined) return;
    let [queued, inHandle] = this.#sender.unwritten();
    const timedOut = (): void => {
      const [nowQueued, nowInHandle] = this.#sender.unwritten();
      const progress = nowQueued < queued || (nowQueued === queued && nowInHandle < inHandle);
      [queued, inHandle] = [nowQueued, nowInHandle];
      if (progress && !this.#finished) {
        this.#closeTimer = setTimeout(timedOut, this.#closeTimeout);
        return;
      }
      this.#sender.settle();
      this.#socket.destroy();
    };
    this.#closeTimer = setTimeout(timedOut, this.#closeTimeout);
  }

  /** RFC 6455 §7.1.7 Fail the WebSocket Connection: close frame with the error's code, then TCP. */
  #fail(error: ResilientError): void {
    if (this.#failure !== undefined || this.#finished) return;
    this.#failure = error;
    this.#inbox = undefined;
    this.#sender.destroy();
    // Keep reading (and discarding) so the peer's close frame and TCP FIN reach us.
    if (!this.#tcpClosed) this.#socket.resume();
    if (!this.#closeSent && error.closeCode !== undefined) {
      this.#closeSent = true;
      this.#sender.sendControl(Opcode.Close, encodeClosePayload(error.closeCode));
    }
    // The error event waits for #finish(): WHATWG fires it when the connection is closed, not now.
    this.#readyState = CLOSING;
    if (this.#tcpClosed) {
      this.#finish();
      return;
    }
    this.#sender.end();
    this.#startCloseTimer();
  }

  #deliver(data: Uint8Array, isText: boolean): void {
    let value: string | ArrayBuffer | Blob;
    if (isText) {
      const text = this.#text(data, 0, data.length);
      if (text === undefined) return;
      value = text;
    } else if (this.#owner.binaryType === "arraybuffer") {
      // A buffer that is exactly this message (the decoder's own, or a socket chunk holding just
      // this message) is handed over as is, like ws; anything shared is copied out.
      value =
        data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
          ? (data.buffer as ArrayBuffer)
          : (data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer);
    } else {
      value = new Blob([data as Uint8Array<ArrayBuffer>]);
    }
    this.#owner.dispatchEvent(new MessageEvent("message", { data: value, origin: this.#messageOrigin() }));
  }

  /**
   * A text message's string, or undefined when it is longer than the runtime's longest string:
   * then the connection fails with 1009, a message too big to process (RFC 6455 §7.4.1), instead
   * of an exception escaping from the socket's data handler. Only reachable with a maxPayload
   * above 512 MiB.
   */
  #text(data: Uint8Array, start: number, end: number): string | undefined {
    if (end - start <= MAX_STRING_LENGTH) return toText(data, start, end);
    try {
      return toText(data, start, end);
    } catch (error) {
      this.#fail(createError("ERR_PAYLOAD_TOO_BIG", `a text message of ${end - start} bytes is longer than the longest string this runtime can make`, 1009, error));
      return undefined;
    }
  }

  /** MessageEvent.origin (WHATWG WebSockets): the origin of the owner's URL, made at the first message. */
  #messageOrigin(): string {
    return (this.#origin ??= new URL(this.#owner.url).origin);
  }

  #pumpInbox(): void {
    if (this.#holding) return;
    const deflate = this.#deflate;
    while (this.#inbox !== undefined && !this.#inflating) {
      const head = this.#inbox[0];
      if (head === undefined) {
        this.#inbox = undefined;
        if (this.#failureBehindInbox !== undefined) {
          this.#fail(this.#failureBehindInbox);
          return;
        }
        this.#updateFlow();
        if (this.#closeReceived !== undefined) this.#afterCloseReceived();
        if (this.#tcpClosed) this.#finish();
        return;
      }
      if (head.pong) {
        this.#inbox.shift();
        if (this.#failure === undefined) this.#owner.dispatchEvent(new PongEvent("pong", head.data));
        continue;
      }
      if (head.compressed && deflate !== undefined) {
        this.#inflating = true;
        deflate.decompress(head.data, (this.#inflated ??= (error, data) => this.#onInflated(error, data)));
        return;
      }
      this.#inbox.shift();
      if (!this.#closeSent && this.#failure === undefined) this.#deliver(head.data, head.isText);
    }
  }

  #onInflated(error: ResilientError | null, data: Buffer | null): void {
    this.#inflating = false;
    const head = this.#inbox?.shift();
    if (head === undefined || this.#finished) return;
    if (error !== null || data === null) {
      this.#fail(error ?? createError("ERR_PROTOCOL", "inflate produced no data", 1007));
      return;
    }
    // RFC 6455 §8.1: text must be valid UTF-8; compressed text is checked after inflating.
    if (head.isText && !isUtf8(data)) {
      this.#fail(createError("ERR_INVALID_UTF8", "Invalid UTF-8 in a compressed text message", 1007));
      return;
    }
    if (!this.#closeSent && this.#failure === undefined) this.#deliver(data, head.isText);
    this.#pumpInbox();
  }

  /** Read while nothing is behind: no queued inbound messages, no pong waiting for drain. */
  #updateFlow(): void {
    if (this.#tcpClosed) return;
    if (this.#inbox !== undefined || this.#waitingDrain) this.#socket.pause();
    else this.#socket.resume();
  }

  #onDrain(): void {
    this.#waitingDrain = false;
    const pong = this.#pendingPong;
    this.#pendingPong = undefined;
    if (pong !== undefined && !this.#closeSent && !this.#finished) this.#sender.sendControl(Opcode.Pong, pong);
    this.#updateFlow();
  }

  onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    const sender = this.#sender;
    sender.beginBatch();
    try {
      this.#decoder.push(chunk);
    } finally {
      sender.endBatch();
    }
  }

  onSocketClose(): void {
    this.#tcpClosed = true;
    // Messages already received (waiting for inflate) are delivered before the close event.
    if (this.#inbox !== undefined && this.#failure === undefined) return;
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#sender.destroy();
    this.#deflate?.close();
    this.#socket.destroy();
    const received = this.#closeReceived;
    // RFC 6455 §7.1.5/§7.4.1: without a close frame from the peer the code is 1006.
    const wasClean = received !== undefined && this.#closeWritten && this.#failure === undefined;
    // WHATWG "when the WebSocket connection is closed", one task: readyState CLOSED, then error
    // if the connection was failed (RFC 6455 §7.1.7), then close.
    this.#readyState = CLOSED;
    if (this.#failure !== undefined) this.#owner.dispatchEvent(new ErrorEvent("error", this.#failure));
    this.#owner.dispatchEvent(
      new CloseEvent("close", {
        code: this.#failure === undefined && received !== undefined ? received.code : 1006,
        reason: this.#failure === undefined && received !== undefined ? received.reason : "",
        wasClean,
      }),
    );
  }
}

/**
 * `WebSocket` of `resilient-ws/node`: the W3C/WHATWG WebSocket API over our own RFC 6455 client,
 * plus `ping()` and a `pong` event. The connection itself lives in connection.ts; this class keeps
 * the W3C state and validates arguments the way browsers do.
 */
import type net from "node:net";
import { Buffer } from "node:buffer";
import { createError, isResilientError, type ResilientError } from "../../errors.js";
import type { AnyEventListener, ListenerOptions, RemoveListenerOptions } from "../../dom-types.js";
import { isToken } from "../../protocol/extensions.js";
import { Connection } from "./connection.js";
import { PerMessageDeflate } from "./deflate.js";
import { CloseEvent, ErrorEvent, type PongEvent } from "./events.js";
import { invalidAccessError, invalidStateError, syntaxError, withoutCredentials } from "./errors.js";
import { handshake, type HandshakeResult } from "./handshake-io.js";
import { normalizeOptions, type NodeWebSocketOptions, type NormalizedOptions } from "./options.js";

export interface WebSocketEventMap {
  open: Event;
  message: MessageEvent;
  close: CloseEvent;
  error: ErrorEvent;
  pong: PongEvent;
}

/**
 * `this` of an on* handler: the W3C members of the socket, named structurally. The class itself
 * (with its #private fields) there would make the DOM's WebSocket, whose handlers take
 * `this: WebSocket`, unassignable from an instance of ours. The state constants are `number`:
 * Deno declares them so, where the DOM and our class have literals, and both fit `number`.
 */
type W3CSelf = Pick<WebSocket, "url" | "readyState" | "protocol" | "extensions" | "binaryType" | "bufferedAmount" | "send" | "close"> & {
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly CLOSING: number;
  readonly CLOSED: number;
};
type Handler<E> = ((this: W3CSelf, event: E) => unknown) | null;
type HandlerName = "open" | "message" | "close" | "error";

interface Pending {
  socket: net.Socket | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  options: NormalizedOptions;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

function parseUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw syntaxError(`Invalid WebSocket URL: ${withoutCredentials(input)}`);
  }
  // WHATWG WebSocket: http(s) URLs are accepted and mean ws(s).
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw syntaxError(`WebSocket URL scheme must be ws: or wss:, got ${url.protocol}`);
  if (url.hash !== "" || url.href.endsWith("#")) throw syntaxError(`WebSocket URL must not have a fragment: ${withoutCredentials(url)}`);
  return url;
}

function parseProtocols(protocols: string | readonly string[] | undefined): string[] {
  const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : [...protocols];
  const seen = new Set<string>();
  for (const protocol of list) {
    // RFC 6455 §4.1: each subprotocol is a token (RFC 7230 §3.2.6), offered once.
    if (!isToken(protocol) || seen.has(protocol)) throw syntaxError(`Invalid or repeated subprotocol: "${protocol}"`);
    seen.add(protocol);
  }
  return list;
}

/** WebIDL `[Clamp] unsigned short`: ToNumber (TypeError for BigInt, Symbol), NaN is 0, 0-65535, rounded half to even. */
function clampUnsignedShort(value: unknown): number {
  const number = +(value as number);
  if (Number.isNaN(number)) return 0;
  const clamped = Math.min(Math.max(number, 0), 65535);
  const floor = Math.floor(clamped);
  const fraction = clamped - floor;
  return fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

function toBytes(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

export class WebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  // On the prototype, as in browsers (no per-instance fields).
  get CONNECTING(): typeof CONNECTING {
    return CONNECTING;
  }
  get OPEN(): typeof OPEN {
    return OPEN;
  }
  get CLOSING(): typeof CLOSING {
    return CLOSING;
  }
  get CLOSED(): typeof CLOSED {
    return CLOSED;
  }

  readonly #href: string;
  /** CONNECTING until open or failed; once open the connection keeps the state. */
  #readyState = CONNECTING;
  #protocol = "";
  #extensions = "";
  #binaryType: "blob" | "arraybuffer" = "blob";
  #connection: Connection | undefined;
  /** Bytes passed to send() after closing started: counted, never sent (WHATWG WebSocket). */
  #discarded = 0;
  /** Handshake phase only: dropped once open or failed, so an open connection keeps none of it. */
  #pending: Pending | undefined;
  #onopen: Handler<Event> = null;
  #onmessage: Handler<MessageEvent> = null;
  #onclose: Handler<CloseEvent> = null;
  #onerror: Handler<ErrorEvent> = null;
  /**
   * The one listener per type through which an on* handler runs (HTML §8.1.8.1). Shared by every
   * instance: EventTarget calls a listener with `this` set to the target, so no instance pays for
   * closures of its own.
   */
  static readonly #handlerListeners: Record<HandlerName, (this: WebSocket, event: Event) => void> = {
    open(event) {
      this.#onopen?.call(this, event);
    },
    message(event) {
      this.#onmessage?.call(this, event as MessageEvent);
    },
    close(event) {
      this.#onclose?.call(this, event as CloseEvent);
    },
    error(event) {
      this.#onerror?.call(this, event as ErrorEvent);
    },
  };

  /**
   * @param url `ws://` or `wss://` (http/https are accepted and mapped)
   * @param protocols subprotocols offered, in preference order
   * @param options transport options: headers, origin, tls, proxy, handshakeTimeout, maxPayload,
   *   followRedirects, perMessageDeflate
   * @example new WebSocket("wss://example.com/feed", ["v2.json"], { handshakeTimeout: 5000 })
   */
  constructor(url: string | URL, protocols?: string | readonly string[], options?: NodeWebSocketOptions) {
    super();
    const target = parseUrl(url);
    this.#href = target.href;
    const offered = parseProtocols(protocols);
    const normalized = normalizeOptions(options);
    const pending: Pending = (this.#pending = { socket: undefined, timer: undefined, options: normalized });
    // handshakeTimeout: Infinity is no timer (setTimeout would turn Infinity into 1 ms).
    if (normalized.handshakeTimeout !== Infinity) {
      pending.timer = setTimeout(() => {
        pending.timer = undefined;
        this.#abortHandshake(createError("ERR_HANDSHAKE_TIMEOUT", `WebSocket handshake with ${withoutCredentials(this.#href)} timed out after ${normalized.handshakeTimeout} ms`));
      }, normalized.handshakeTimeout);
    }
    const track = (socket: net.Socket): void => {
      // A socket opened after close() or the timeout (e.g. TLS over a proxy tunnel) is not wanted.
      if (this.#pending !== pending) socket.destroy();
      else pending.socket = socket;
    };
    handshake(target, offered, normalized, track).then(
      (result) => this.#opened(result),
      (error: unknown) => this.#handshakeFailed(error),
    );
  }

  get url(): string {
    return this.#href;
  }

  get readyState(): number {
    return this.#connection?.readyState ?? this.#readyState;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get binaryType(): "blob" | "arraybuffer" {
    return this.#binaryType;
  }

  set binaryType(value: string) {
    // WebIDL enum attribute: other values are ignored, as in browsers.
    if (value === "blob" || value === "arraybuffer") this.#binaryType = value;
  }

  /**
   * WHATWG: bytes of application data (UTF-8 text, binary; no frame headers, before compression,
   * no control frames) given to send() and not yet written to the kernel, kept once the connection
   * is gone, plus what was sent after close(). Node writes a backlog as one writev and reports its
   * bytes written only when all of it is, so under backpressure the count falls in steps.
   */
  get bufferedAmount(): number {
    return (this.#connection?.bufferedAmount ?? 0) + this.#discarded;
  }

  /**
   * Bytes received after the handshake (frames, as they arrive: a large message counts while it is
   * still arriving). Not in the W3C API: ResilientWebSocket's keepalive reads it, so a link busy
   * delivering a long message is not taken for dead; it can also show a download's progress.
   */
  get bytesReceived(): number {
    return this.#connection?.bytesReceived ?? 0;
  }

  get onopen(): Handler<Event> {
    return this.#onopen;
  }
  set onopen(handler: Handler<Event>) {
    this.#onopen = this.#setHandler("open", this.#onopen, handler);
  }
  get onmessage(): Handler<MessageEvent> {
    return this.#onmessage;
  }
  set onmessage(handler: Handler<MessageEvent>) {
    this.#onmessage = this.#setHandler("message", this.#onmessage, handler);
  }
  get onclose(): Handler<CloseEvent> {
    return this.#onclose;
  }
  set onclose(handler: Handler<CloseEvent>) {
    this.#onclose = this.#setHandler("close", this.#onclose, handler);
  }
  /** Read as the DOM types it (an `Event` handler), so an instance fits where a DOM WebSocket is expected; set with an ErrorEvent one. */
  get onerror(): Handler<Event> {
    return this.#onerror as Handler<Event>;
  }
  set onerror(handler: Handler<ErrorEvent>) {
    this.#onerror = this.#setHandler("error", this.#onerror, handler);
  }

  override addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: ((this: WebSocket, event: WebSocketEventMap[K]) => unknown) | null,
    options?: boolean | ListenerOptions,
  ): void;
  override addEventListener(type: string, listener: AnyEventListener | null, options?: boolean | ListenerOptions): void;
  override addEventListener(type: string, listener: AnyEventListener | null, options?: boolean | ListenerOptions): void {
    super.addEventListener(type, listener, options);
  }

  override removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: ((this: WebSocket, event: WebSocketEventMap[K]) => unknown) | null,
    options?: boolean | RemoveListenerOptions,
  ): void;
  override removeEventListener(type: string, listener: AnyEventListener | null, options?: boolean | RemoveListenerOptions): void;
  override removeEventListener(type: string, listener: AnyEventListener | null, options?: boolean | RemoveListenerOptions): void {
    super.removeEventListener(type, listener, options);
  }

  /**
   * Send a text (string) or binary (ArrayBuffer, view, Blob) message. Throws InvalidStateError while
   * CONNECTING; after close() the data is counted in bufferedAmount and discarded, like browsers.
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#readyState === CONNECTING) throw invalidStateError("send() while CONNECTING: wait for the open event");
    const connection = this.#connection;
    const sender = connection !== undefined && connection.readyState === OPEN && connection.writable ? connection.sender : undefined;
    if (typeof data === "string") {
      if (sender === undefined) this.#discarded += Buffer.byteLength(data);
      else sender.sendText(data);
      return;
    }
    if (typeof Blob !== "undefined" && data instanceof Blob) {
      if (sender === undefined) this.#discarded += data.size;
      else sender.sendBlob(data);
      return;
    }
    if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer)) {
      const bytes = toBytes(data);
      if (sender === undefined) this.#discarded += bytes.length;
      else sender.sendBinary(bytes);
      return;
    }
    // WebIDL: `data` is required, so send() throws; send(undefined) sends "undefined". Only the
    // length of `arguments` is read, so V8's optimized code does not allocate the object.
    if (data === undefined && arguments.length === 0) throw new TypeError("send() requires 1 argument, but 0 were given");
    // WebIDL (BufferSource or Blob or USVString): anything else is converted to a string, which
    // throws a TypeError for a Symbol (a template literal converts as WebIDL does; String() would not).
    this.send(`${data as unknown as string}`);
  }

  /**
   * Start the closing handshake. `code` must be 1000 or 3000-4999 (InvalidAccessError) and `reason`
   * at most 123 bytes of UTF-8 (SyntaxError), as in browsers.
   */
  close(code?: number, reason?: string): void {
    // WebIDL `optional [Clamp] unsigned short code`: converted before the check, so 1000.4 is 1000.
    const status = code === undefined ? undefined : clampUnsignedShort(code);
    if (status !== undefined && status !== 1000 && !(status >= 3000 && status <= 4999)) {
      throw invalidAccessError(`close code must be 1000 or in 3000-4999, got ${String(code)}`);
    }
    // WebIDL `optional USVString reason`: converted to a string (a Symbol throws a TypeError).
    if (reason !== undefined) reason = `${reason}`;
    if (reason !== undefined && Buffer.byteLength(reason) > 123) throw syntaxError("close reason must be at most 123 bytes of UTF-8");
    const state = this.readyState;
    if (state === CLOSING || state === CLOSED) return;
    if (state === CONNECTING) {
      this.#abortHandshake(createError("ERR_ABORTED", `WebSocket to ${withoutCredentials(this.#href)} was closed before the connection was established`));
      return;
    }
    this.#connection?.close(status, reason);
  }

  /**
   * Drop the connection at once, without the closing handshake (as ws's `terminate()`): for a
   * connection known to be dead, where close() would wait closeTimeout for an answer. The close
   * event follows with 1006.
   */
  terminate(): void {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (this.#connection === undefined) {
      if (state === CONNECTING) this.#abortHandshake(createError("ERR_ABORTED", `WebSocket to ${withoutCredentials(this.#href)} was terminated before the connection was established`));
      return;
    }
    this.#connection.terminate();
  }

  /** Send a ping (RFC 6455 §5.5.2) with at most 125 bytes of data; the answer is a `pong` event. */
  ping(data?: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.#readyState === CONNECTING) throw invalidStateError("ping() while CONNECTING: wait for the open event");
    const payload = data === undefined ? new Uint8Array(0) : typeof data === "string" ? Buffer.from(data) : toBytes(data);
    if (payload.length > 125) throw createError("ERR_INVALID_ARGUMENT", `ping data is ${payload.length} bytes, more than 125 (RFC 6455 §5.5)`);
    if (this.readyState === OPEN) this.#connection?.ping(payload);
  }

  /**
   * HTML §8.1.8.1 event handlers: one listener per type, added when a handler is first set and kept
   * in its place among the other listeners when the handler is replaced; null (or anything not a
   * function) removes it. It is not the handler itself, so the same function added with
   * addEventListener runs twice and removeEventListener(type, ws.onmessage) leaves the handler.
   */
  #setHandler<E>(type: HandlerName, previous: Handler<E>, value: unknown): Handler<E> {
    const listener = WebSocket.#handlerListeners[type] as EventListener;
    if (typeof value !== "function") {
      if (previous !== null) super.removeEventListener(type, listener);
      return null;
    }
    if (previous === null) super.addEventListener(type, listener);
    return value as Handler<E>;
  }

  #opened(result: HandshakeResult): void {
    const pending = this.#pending;
    if (pending === undefined || this.#readyState !== CONNECTING) {
      result.socket.destroy();
      return;
    }
    clearTimeout(pending.timer);
    this.#pending = undefined;
    const options = pending.options;
    const deflateOptions = options.perMessageDeflate;
    const deflate =
      result.deflate === undefined || deflateOptions === undefined ? undefined : new PerMessageDeflate(result.deflate, deflateOptions.maxInflatedSize);
    const connection = new Connection(this, result.socket, {
      maxPayload: options.maxPayload,
      closeTimeout: options.closeTimeout,
      deflate,
      deflateThreshold: deflateOptions?.threshold ?? 0,
    });
    this.#connection = connection;
    this.#protocol = result.protocol;
    this.#extensions = result.extensions;
    this.#readyState = OPEN;
    this.dispatchEvent(new Event("open"));
    // Frames that came with the handshake response are delivered only after `open`.
    connection.start(result.rest);
  }

  #handshakeFailed(error: unknown): void {
    if (this.#readyState !== CONNECTING) return;
    const failure = isResilientError(error)
      ? error
      : createError("ERR_HANDSHAKE", `WebSocket handshake with ${withoutCredentials(this.#href)} failed: ${String(error)}`, undefined, error);
    this.#failHandshake(failure);
  }

  #abortHandshake(error: ResilientError): void {
    if (this.#readyState !== CONNECTING) return;
    this.#readyState = CLOSING;
    this.#pending?.socket?.destroy();
    // WHATWG: failing a connection fires error then close as tasks, after close() returns.
    queueMicrotask(() => this.#failHandshake(error));
  }

  /** A handshake that did not open: error then close 1006, and nothing else ever (WHATWG §"fail"). */
  #failHandshake(error: ResilientError): void {
    if (this.#readyState === CLOSED) return;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      pending.socket?.destroy();
    }
    this.#readyState = CLOSED;
    this.dispatchEvent(new ErrorEvent("error", error));
    this.dispatchEvent(new CloseEvent("close", { code: 1006, reason: "", wasClean: false }));
  }
}

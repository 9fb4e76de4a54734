import type {
  BinaryTypeName,
  CloseEventLike,
  MessageEventLike,
  SendData,
  TransportConstructor,
  TransportSocket,
} from "../adapters/transport.js";
import type { AnyEventListener, ListenerOptions, RemoveListenerOptions } from "../dom-types.js";
import { createError, type ErrorCode } from "../errors.js";
import { systemClock } from "../reliability/clock.js";
import { keepalive, type Keepalive } from "../reliability/keepalive.js";
import { outbox, sizeOf, type DropReason, type Outbox } from "../reliability/outbox.js";
import { nextAttempt } from "../reliability/reconnect.js";
import { ABNORMAL, NORMAL, TRY_AGAIN_LATER, checkClose, retryable } from "./close-codes.js";
import type { Codec } from "./codec.js";
import { type ResilientCloseEvent, type ResilientErrorEvent, type ResilientEventMap, type ResilientMessageEvent } from "./events.js";
import { normalize, type EnvironmentTarget, type Normalized, type Provider, type ResilientOptions, type UrlProvider, type WebSocketClass } from "./options.js";
import { S, canMove, readyStates, stateNames, type State } from "./state.js";

/** Data of a message event without a codec: what the transport delivers. */
export type RawData = string | ArrayBuffer | Blob | ArrayBufferView;

/**
 * What send() did with the message: "dropped" when it was discarded at once (queue overflow with
 * "drop-newest", or sent after close()), which its `drop` event reports.
 */
export type SendResult = "sent" | "queued" | "dropped";

export interface Stats {
  /** Connections opened, the first one included. */
  connects: number;
  /** Connections opened after the first one. */
  reconnects: number;
  /** Messages, not heartbeat probes and replies (which, like protocol pings, count in neither direction). */
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Messages waiting in the queue now. */
  queued: number;
  /** Messages discarded so far, each with a `drop` event (overflow, ttl, closed, encode, unsent). */
  dropped: number;
  /** Round-trip time of the last answered keepalive probe, in ms. */
  lastRtt: number | undefined;
}

/** Sees each decoded message before it is dispatched; true consumes it. */
export type Interceptor<In> = (message: In) => boolean;
/**
 * Key of the client's one receive hook, for request/response (`correlate()`): a symbol, so it is
 * neither a name users can collide with nor code the core carries beyond one optional call.
 */
export const INTERCEPT: unique symbol = Symbol();
/**
 * Key of the client's send hook: called with each message as it is handed to a socket (sent at
 * once, or flushed from the queue), so `correlate()` knows which connection a request went out on.
 */
export const ON_SEND: unique symbol = Symbol();

type Socket = TransportSocket & { terminate?(): void };
type Handler<E> = ((event: E) => unknown) | null;

const resolve = async <T>(p: Provider<T>): Promise<T> => (typeof p == "function" ? (p as () => T | Promise<T>)() : p);

/** Stands for a heartbeat probe in the list of frames the transport may not have sent (#sent). */
const HEARTBEAT: unique symbol = Symbol();

/**
 * The URL as WebSocket.url serializes it (WHATWG WebSockets, the constructor): resolved against the
 * page, http(s) mapped to ws(s); a scheme other than these, or a fragment, is a SyntaxError.
 */
const parse = (url: string | URL): URL => {
  let u: URL | undefined;
  try {
    u = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {}
  if (!u || !/^(wss?|https?):$/.test(u.protocol) || u.href.includes("#")) throw new DOMException(`invalid WebSocket URL: ${url}`, "SyntaxError");
  u.protocol = u.protocol.replace("http", "ws");
  return u;
};

/**
 * A WebSocket that stays connected: the W3C surface (code written for `new WebSocket(url)` keeps
 * working) over any W3C-compatible transport, plus reconnect with backoff, keepalive, an outgoing
 * queue, codecs and explicit state. Only `#set()` changes state.
 */
export class ResilientWebSocket<In = RawData, Out = SendData> extends EventTarget {
  /** Transport used when the `WebSocket` option is absent; the Node/Deno entries set it. */
  static defaultWebSocket?: WebSocketClass;
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  // Accessors defined per instance in the constructor (HTML event handlers).
  declare onopen: Handler<Event>;
  declare onmessage: Handler<ResilientMessageEvent<In>>;
  declare onclose: Handler<ResilientCloseEvent>;
  declare onerror: Handler<ResilientErrorEvent>;

  declare [INTERCEPT]?: Interceptor<In>;
  declare [ON_SEND]?: (message: Out) => void;
  #o: Normalized<In, Out>;
  #WS: TransportConstructor;
  #url: UrlProvider;
  #href = "";
  /** `origin` of message events: the URL's origin, as browsers give it. */
  #origin = "";
  #state = S.Connecting;
  #attempt = 0;
  /** Generation: bumped whenever the current attempt or socket is abandoned; stale events are ignored. */
  #n = 0;
  #s?: Socket;
  #offered?: string[];
  #codec?: Codec<In, Out>;
  #q: Outbox<Out, SendData>;
  #timer: unknown;
  #ka?: Keepalive;
  #up = 0;
  /** Floor for the next reconnect delay from the server (Retry-After), in ms. */
  #wait?: number;
  /** The browser says it is offline: no attempts until `online`. */
  #off?: boolean;
  /** The page is in the back/forward cache (pagehide, persisted): no connection until pageshow. */
  #hid?: boolean;
  #win?: EnvironmentTarget | null;
  #bt?: string;
  /** [message, bytes] handed to the transport and maybe not transmitted yet, oldest first (see #send). */
  #sent: Array<[Out | typeof HEARTBEAT, number]> = [];
  #sentBytes = 0;
  /** Bytes handed to transports, heartbeats included (keepalive compares it with bufferedAmount). */
  #out = 0;
  /** What opened() returns while the client is not open yet. */
  #opening?: Promise<void>;
  #st = { connects: 0, reconnects: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, lastRtt: undefined as number | undefined };

  // The options form first: a failed overload would fix the inference of calls in the literal (json()).
  constructor(url: UrlProvider, options?: ResilientOptions<In, Out>);
  /** `new WebSocket(url, protocols)`'s form: the subprotocols offered, all options default. */
  constructor(url: UrlProvider, protocols?: string | string[]);
  constructor(url: UrlProvider, p: ResilientOptions<In, Out> | string | string[] = {}) {
    super();
    const o = (this.#o = normalize(typeof p == "string" || Array.isArray(p) ? { protocols: p } : p, systemClock));
    const WS = o.WebSocket ?? (new.target as typeof ResilientWebSocket).defaultWebSocket ?? globalThis.WebSocket;
    if (!WS) throw createError("ERR_INVALID_ARGUMENT", "no WebSocket class");
    // A URL that no attempt can use fails here, as `new WebSocket(url)` does, instead of being
    // retried forever. A URL provider's result is checked per attempt.
    if (typeof url != "function") this.#href = parse(url).href;
    // The same for static subprotocols (WHATWG WebSocket constructor step: a value that is not an
    // RFC 6455 §4.1 token, or one offered twice, is a SyntaxError).
    const p0 = o.protocols;
    if (typeof p0 != "function")
      [p0 ?? []].flat().forEach((v, i, all) => {
        if (!/^[!#-'*+.^-`|~\w-]+$/.test(v) || all.indexOf(v) != i) throw new DOMException(`invalid or repeated subprotocol: ${v}`, "SyntaxError");
      });
    // A browser's WebSocket takes no options: headers, TLS or a proxy given to it would be ignored.
    if (o.transport && WS == globalThis.WebSocket) throw createError("ERR_INVALID_ARGUMENT", "transport options need a WebSocket class that takes them (resilient-ws/node); this runtime's WebSocket ignores them");
    this.#WS = WS as unknown as TransportConstructor;
    this.#url = url;
    // Without `codec`, the first of `codecs` encodes what is sent before the first handshake, and
    // stays the codec when the server selects no subprotocol or one without a codec (see #open).
    this.#codec = o.codec ??= Object.values(o.codecs ?? {})[0];
    this.#q = outbox(o.queue, o.clock, this.#drop);
    // on* are HTML event handlers (HTML §8.1.8.1): setting one to a function adds one listener,
    // which keeps its place among addEventListener's listeners when the handler is replaced; null
    // (or any non-function) removes it, and setting one again appends it. A throwing handler is
    // reported like any listener's exception instead of unwinding the client.
    for (const t of ["open", "message", "close", "error"]) {
      let h: Handler<Event> = null;
      const l = (e: Event) => h?.call(this, e);
      Object.defineProperty(this, "on" + t, {
        get: () => h,
        set: (v: unknown) => {
          const f = typeof v == "function" ? (v as Handler<Event>) : null;
          f ? h || this.addEventListener(t, l) : this.removeEventListener(t, l);
          h = f;
        },
      });
    }
    const win = (this.#win = o.window === undefined ? (globalThis as unknown as EnvironmentTarget) : o.window);
    // A page loaded offline gets no `offline` event: after the first attempt it waits for `online`.
    this.#off = win?.navigator?.onLine === false;
    this.#env("addEventListener");
    o.signal?.addEventListener("abort", this.#abort);
    o.signal?.aborted ? this.#abort() : this.#go();
  }

  /** The URL of the current (or last) attempt, serialized as WebSocket.url; "" before a URL provider's first result. */
  get url(): string {
    return this.#href;
  }
  /** CONNECTING (0) while connecting or waiting to reconnect, CLOSED (3) only when final. */
  get readyState(): number {
    return readyStates[this.#state]!;
  }
  get state(): State {
    return stateNames[this.#state]!;
  }
  /** Reconnect attempt number (0 until the first retry; back to 0 after a stable connection). */
  get attempt(): number {
    const o = this.#o;
    return this.#state == S.Open && o.clock.now() - this.#up >= (o.retry?.resetAfter ?? 0) ? 0 : this.#attempt;
  }
  get protocol(): string {
    return this.#s?.protocol ?? "";
  }
  get extensions(): string {
    return this.#s?.extensions ?? "";
  }
  /**
   * Typed with the W3C values, so a client fits where a DOM WebSocket is expected; a transport's own
   * value set here (ws: "nodebuffer", "fragments") reads back as it is.
   */
  get binaryType(): "blob" | "arraybuffer" {
    return (this.#coded() ? "arraybuffer" : this.#s?.binaryType ?? this.#bt ?? "blob") as "blob";
  }
  set binaryType(type: BinaryTypeName) {
    // WebIDL enum attribute: another value is ignored, as a browser's WebSocket does.
    if (!/^(blob|arraybuffer|nodebuffer|fragments)$/.test(type)) return;
    this.#bt = type;
    // Codecs decode string | ArrayBuffer: with one the socket stays on "arraybuffer" (see #go).
    if (this.#s && !this.#coded()) this.#s.binaryType = type;
  }
  /** Bytes the transport has not sent yet plus bytes waiting in the queue. */
  get bufferedAmount(): number {
    return (this.#s?.bufferedAmount ?? 0) + this.#q.bytes;
  }
  get stats(): Stats {
    return { ...this.#st, queued: this.#q.q.length };
  }

  /**
   * Sends now when open, else queues (flushed in order on the next open, before `open` listeners
   * run). With a codec, `message` is encoded first. After close() it sends nothing and does not
   * throw, as WebSocket.send() once closing: it returns "dropped" and raises `drop` (reason
   * "closed", error ERR_CLOSED). Throws ERR_QUEUE_FULL when the queue is full and its overflow
   * policy is "error".
   */
  send(message: Out): SendResult {
    const c = this.#codec;
    if (this.#final()) return this.#drop(message, "closed"), "dropped";
    const d = c ? c.encode(message) : (message as SendData);
    return this.#state == S.Open && this.#s!.readyState == 1
      ? (this.#send(d, message), "sent")
      : this.#q.push(message, d, c)
        ? // A drop listener (overflow, ttl) may have closed the client meanwhile: then this one goes too.
          this.#final()
          ? (this.#q.clear("closed"), "dropped")
          : "queued"
        : "dropped";
  }

  /** Final: no reconnect after it, ever. Validates like the browser's close(). */
  close(code?: number, reason?: string): void {
    const s = this.#s;
    checkClose(code, reason);
    if (this.#final()) return;
    if (s && this.#state != S.Reconnecting) {
      this.#set(S.Closing);
      s.close(code, reason);
    } else this.#end({ code: code ?? 1005, reason: reason ?? "", wasClean: false }, true);
  }

  /**
   * Connects again now, starting a fresh backoff series. An open connection is closed cleanly (a
   * close frame with `code`, default 1000, and `reason`) without waiting for the server's reply;
   * its `close` event carries them, with wasClean false. An attempt in progress is abandoned like
   * a failed one (close 1006). Validates like close().
   */
  reconnect(code?: number, reason = "reconnect()"): void {
    checkClose(code, reason);
    if (this.#final()) return;
    // A fresh series from every state: from reconnecting too (a "retry now" during an outage).
    this.#state == S.Reconnecting ? ((this.#attempt = 1), this.#now()) : this.#fail(this.#s, reason, undefined, this.#state == S.Open ? code ?? NORMAL : ABNORMAL, true);
  }

  /**
   * Resolves when open (at once if open now); rejects with ERR_CLOSED if the client closes for good
   * first. Callers waiting at the same time share one promise (and one listener).
   */
  opened(): Promise<void> {
    const closed = () => createError("ERR_CLOSED", "closed");
    const s = this.#state;
    return s == S.Open
      ? Promise.resolve()
      : s == S.Closed
        ? Promise.reject(closed())
        : (this.#opening ??= new Promise<void>((ok, fail) => {
            const off = this.on("statechange", (): void => {
              const t = this.#state;
              if (t == S.Open || t == S.Closed) off(), (this.#opening = undefined), t == S.Open ? ok() : fail(closed());
            });
          }));
  }

  /** addEventListener with types; returns the function that removes the listener. */
  on<K extends keyof ResilientEventMap<In, Out>>(
    type: K,
    listener: (this: this, event: ResilientEventMap<In, Out>[K]) => unknown,
  ): () => void {
    this.addEventListener(type, listener as EventListener);
    return () => this.removeEventListener(type, listener as EventListener);
  }


  async #go() {
    const n = ++this.#n;
    const o = this.#o;
    // Uptime is that of the last connection until a new attempt starts, so a connection that
    // #fail() abandons (keepalive timeout) still counts its uptime for the attempt reset.
    this.#up = 0;
    // Detached before statechange: a listener's close() must not act on the last, dead socket.
    this.#s = undefined;
    if (this.#state != S.Connecting) this.#set(S.Connecting);
    // A statechange listener closed or reconnected: this attempt is no longer the current one.
    if (n != this.#n) return;
    // The attempt's deadline covers the providers too: a token fetch that hangs is retried.
    this.#arm(() => this.#fail(this.#s, "connect timeout", createError("ERR_CONNECT_TIMEOUT", "connect timeout")), o.connectTimeout);
    let built = false;
    try {
      const u = parse(await resolve(this.#url));
      const p = await resolve(o.protocols);
      if (n != this.#n) return;
      const url = (this.#href = u.href);
      this.#origin = u.origin;
      this.#offered = [p ?? []].flat();
      built = true;
      const s: Socket = (this.#s = o.transport ? new this.#WS(url, p, o.transport as never) : new this.#WS(url, p));
      // Codecs decode string | ArrayBuffer, never Blob.
      if (this.#coded()) s.binaryType = "arraybuffer";
      else if (this.#bt) s.binaryType = this.#bt;
      // Events of an abandoned attempt or socket (generation changed) are ignored.
      const live = () => n == this.#n;
      s.onmessage = (e: MessageEventLike) => live() && this.#receive(e.data);
      s.onopen = () => live() && this.#open(s);
      // Deno's WebSocket reports 0 for a failed handshake where browsers say 1006.
      // A drop listener (of the unsent messages) may have called reconnect(): then it took over.
      s.onclose = ({ code, reason, wasClean }: CloseEventLike) => live() && (this.#unsent(this.#takeSent(), s.bufferedAmount), live() && this.#lost({ code: code || ABNORMAL, reason, wasClean }));
      // WHATWG: an error event means the connection failed, and close follows. undici 6 (Node 22's
      // WebSocket) sends no close after a failed handshake and stays CONNECTING: end the attempt.
      s.onerror = (e: Event) => live() && (this.#error(s, (e as { error?: Error }).error), live() && !s.readyState && this.#fail(s, ""));
    } catch (error) {
      // A URL/protocols provider or the transport constructor threw: a failed attempt, retried.
      // Unless the constructor refused what every attempt would give it again (static URL and
      // subprotocols, the same options: an option the transport rejects), which is final, as the
      // constructor's SyntaxError is for `new WebSocket`.
      if (n != this.#n) return;
      if (built && typeof this.#url != "function" && typeof o.protocols != "function") this.#stop(), this.#lost({ code: ABNORMAL, reason: "transport refused the options", wasClean: false }, error, false, true);
      else this.#fail(undefined, "attempt failed", createError("ERR_URL_PROVIDER", "" + error, undefined, error));
    }
  }

  #error(s: Socket, error?: Error) {
    // A handshake refused with Retry-After (built-in client: 429, 503) sets the next delay's floor.
    this.#wait = (error as { retryAfter?: number } | undefined)?.retryAfter;
    this.#emit("error", { error });
    // Transports that check the subprotocol themselves fail the handshake instead of opening: with
    // requireProtocol that is the same final failure. Told by the built-in client's code, or by ws's
    // own messages; any message naming "subprotocol" also matched URLs and servers' reason phrases.
    const e = error as (Error & { code?: string }) | undefined;
    if (this.#o.requireProtocol && e && (e.code == "ERR_PROTOCOL_NOT_SELECTED" || (!e.code && /^Server sent (an invalid |a |no )subprotocol/.test(e.message))))
      this.#noProtocol(s, e.message);
  }

  #open(s: Socket) {
    const o = this.#o;
    const k = o.keepalive;
    const m = k?.message;
    const c = o.clock;
    const p = s.protocol;
    const n = this.#n;
    // A transport that opens after close() was called on it while connecting.
    if (this.#final()) return;
    c.clearTimeout(this.#timer);
    // The browser said offline (at construction, say), yet a connection opened: it was wrong.
    this.#off = false;
    // RFC 6455 §4.1: the server selects one of the offered subprotocols, or none.
    if (o.requireProtocol && !this.#offered!.includes(p)) return this.#noProtocol(s, `server selected "${p}"`);
    const codec = (this.#codec = o.codecs?.[p] ?? o.codec);
    this.#up = c.now();
    if (this.#st.connects++) this.#st.reconnects++;
    // The queue goes out first: statechange and open listeners may send (after it) or close.
    for (let e; (e = this.#q.take()); ) {
      let d: SendData;
      try {
        d = e.by === codec ? e.d : codec ? codec.encode(e.m) : (e.m as SendData);
      } catch (error) {
        // The negotiated protocol's codec cannot encode a message queued under another one.
        this.#drop(e.m, "encode", error);
        // Its drop listener may have called close() or reconnect(): the rest stays queued.
        if (n != this.#n || this.#final()) return;
        continue;
      }
      this.#send(d, e.m);
    }
    // A drop listener (encode) may have called close() or reconnect().
    if (n != this.#n || this.#final()) return;
    this.#set(S.Open);
    // A statechange listener closed or reconnected.
    if (this.#state != S.Open) return;
    // The heartbeat goes through #send, so the unsent-bytes bookkeeping knows its bytes are no
    // message's. A message() that throws is reported; the unanswered probe then times out.
    const probe =
      k &&
      (s.ping
        ? () => s.ping!()
        : m != null &&
          (() => {
            const d = typeof m == "function" ? this.#call(m, 0) : m;
            if (d != null) this.#send(d, HEARTBEAT);
          }));
    if (probe) {
      const n = this.#n;
      // Bytes moved since last asked (see keepalive()): received (only the built-in client counts
      // them before a message is complete), or bytes ahead of the probe leaving the transport's
      // backlog. `due` is what was handed over up to the probe: while less than that has left
      // (bufferedAmount > 0 then), the probe waits behind it, and its leaving means the peer's TCP
      // takes it. Messages sent after the probe leaving would only show that, not that the peer
      // answers: a peer that reads but never answers must not be kept alive by our own sending.
      let r = 0, left = 0, due = 0;
      const probing = () => (probe(), (due = this.#out));
      const moving = () => {
        const r2 = s.bytesReceived ?? 0, left2 = this.#out - s.bufferedAmount;
        const moved = r2 > r || (left2 > left && left < due);
        r = r2, left = left2;
        return moved;
      };
      const ka = (this.#ka = keepalive(k, c, probing, () => this.#fail(s, "keepalive timeout"), (rtt) => (this.#st.lastRtt = rtt), moving));
      const pong = () => n == this.#n && ka.alive(true);
      s.on ? s.on("pong", pong) : s.addEventListener?.("pong", pong);
    }
    this.#emit("open");
  }

  /** The one receive path: liveness, heartbeat replies, stats, decoding, delivery. */
  #receive(data: unknown) {
    const st = this.#st;
    const c = this.#codec;
    // An isPong that throws is reported, and the data is a message: nothing is lost.
    const pong = !!this.#call(this.#o.keepalive?.isPong, data);
    this.#ka?.alive(pong);
    if (pong) return;
    st.messagesIn++;
    st.bytesIn += sizeOf(data);
    if (c)
      try {
        data = c.decode(data as string | ArrayBuffer);
      } catch (error) {
        return this.#emit("decodeerror", { data, error });
      }
    // A reply taken by correlate() (request/response) is not also a message.
    if (this[INTERCEPT]?.(data as In)) return;
    const e = new MessageEvent("message", { data, origin: this.#origin });
    // MessageEventInit's data defaults to null: a codec's undefined would arrive as null.
    if (data === undefined) Object.defineProperty(e, "data", { value: data });
    this.dispatchEvent(e);
  }

  #send(d: SendData, m: Out | typeof HEARTBEAT) {
    const s = this.#s!;
    const st = this.#st;
    const n = sizeOf(d);
    const sent = this.#sent;
    s.send(d);
    this.#out += n;
    if (m !== HEARTBEAT) st.messagesOut++, (st.bytesOut += n), this[ON_SEND]?.(m);
    // Remember the messages the transport's bufferedAmount still covers (the newest ones).
    const b = s.bufferedAmount;
    if (b > 0) sent.push([m, n]), (this.#sentBytes += n);
    while (sent.length && this.#sentBytes - sent[0]![1] >= b) this.#sentBytes -= sent.shift()![1];
  }

  /**
   * The connection to `s` is ending: the messages its bufferedAmount still covers never fully left
   * (WHATWG: bytes not yet transmitted), so they are reported, newest last, each with a `drop`
   * (reason "unsent"), instead of vanishing. They may not have reached the server; whether to send
   * them again is the application's call, as a resend could duplicate one that did.
   */
  #unsent(sent: Array<[Out | typeof HEARTBEAT, number]>, left: number) {
    let i = sent.length;
    for (; i && left > 0; ) left -= sent[--i]![1];
    for (const [m] of sent.splice(i)) m !== HEARTBEAT && this.#drop(m, "unsent");
  }

  /** The messages `s` may not have sent yet (see #send), taken from the current connection's count. */
  #takeSent() {
    const sent = this.#sent;
    this.#sent = [];
    this.#sentBytes = 0;
    return sent;
  }

  /** A connection or attempt ended: retry per policy (`now`: at once), or end for good (`final`: always). */
  #lost(ev: CloseEventLike, error?: unknown, now?: boolean, final?: boolean) {
    const o = this.#o;
    const r = o.retry;
    const up = this.#up && o.clock.now() - this.#up;
    this.#stop();
    const n = this.#n;
    if (error) this.#emit("error", { error });
    // reconnect() reconnects even with `reconnect: false`: that option stops automatic retries. A
    // shouldReconnect that throws is reported and the default policy applies.
    const retry = now || (r && (this.#call(r.shouldReconnect, ev) ?? retryable(ev.code)));
    // An error listener or shouldReconnect may have called close() (that ends it, once) or
    // reconnect() (that took over).
    if (this.#state == S.Closed || n != this.#n) return;
    const next =
      !final &&
      this.#state != S.Closing &&
      retry &&
      // Paused (offline, cached page): no attempt spent, but a stable connection still resets the
      // count (without reconnect options, `up >= undefined` is false).
      (now && !this.#hid ? { attempt: 1, delay: 0 } : this.#off || this.#hid ? { attempt: up >= r?.resetAfter! ? 0 : this.#attempt, delay: -1 } : nextAttempt(this.#attempt, up, r!, ev.code == TRY_AGAIN_LATER, o.random, this.#wait));
    this.#wait = 0;
    if (!next) return this.#end(ev);
    this.#set(S.Reconnecting);
    this.#attempt = next.attempt;
    // A statechange listener may have called close() (its close event is the one) or reconnect().
    if (this.#state != S.Reconnecting || n != this.#n) return;
    this.#emit("close", ev);
    // A close listener may have called close() or reconnect(); offline (or a cached page) waits for
    // `online` (or `pageshow`) without spending attempts.
    if (this.#state != S.Reconnecting || n != this.#n || next.delay < 0) return;
    this.#emit("reconnecting", { ...next, ...ev });
    // A reconnecting listener may have called close() or reconnect().
    if (n == this.#n && this.#state == S.Reconnecting) this.#arm(() => this.#go(), next.delay);
  }

  /**
   * Final close: release listeners, drop what is queued (each with a `drop` event), then `close`;
   * `later` when close() ended it without a socket to wait for: the event comes in a task of its
   * own, as a browser's does, so a listener added right after close() (or after `new` with an
   * aborted signal) still gets it.
   */
  #end(ev: CloseEventLike, later?: boolean) {
    const o = this.#o;
    this.#stop();
    this.#set(S.Closed);
    this.#env("removeEventListener");
    o.signal?.removeEventListener("abort", this.#abort);
    this.#q.clear("closed");
    later ? o.clock.setTimeout(() => this.#emit("close", ev), 0) : this.#emit("close", ev);
  }

  #drop = (message: Out, reason: DropReason, error: unknown = reason == "closed" ? createError("ERR_CLOSED", "closed") : undefined) => {
    this.#st.dropped++;
    this.#emit("drop", { message, reason, error });
  };

  /**
   * Abandon socket `s` (if any) without waiting for its close event. `code` 1006 (connect timeout,
   * dead link, an attempt reconnect() abandons): no closing handshake, the transport is terminated
   * where it can be. Else a close frame with it: reconnect() of an open connection, and 1002 for a
   * subprotocol not selected, which is final.
   */
  #fail(s: Socket | undefined, reason: string, error?: unknown, code = ABNORMAL, now?: boolean) {
    this.#stop();
    const n = this.#n;
    const sent = this.#takeSent();
    const left = s?.bufferedAmount;
    // What `s` had not sent yet is reported (see #unsent): a socket dropped now, once it is
    // dropped (with what it held before), so that a drop listener's send() is queued for the next
    // connection instead of going to `s`; one closed with a close frame, only if it does not close
    // cleanly, since the transport sends what it holds before the close frame and a clean close
    // means the server got it (a clean reconnect() does not report, nor duplicate, what went out).
    if (s && code != ABNORMAL) s.onclose = (e: CloseEventLike) => e.wasClean || this.#unsent(sent, s.bufferedAmount);
    try {
      code != ABNORMAL ? s?.close(code, reason) : s?.terminate ? s.terminate() : s?.close();
    } catch {
      // Browsers refuse protocol close codes such as 1002.
      s!.close();
    }
    if (s && code == ABNORMAL) this.#unsent(sent, left!);
    // A drop listener (of the unsent messages) may have called reconnect(): then it took over.
    if (n == this.#n) this.#lost({ code, reason, wasClean: false }, error, now, code == 1002);
  }

  #noProtocol(s: Socket, why: string) {
    this.#fail(s, "subprotocol not selected", createError("ERR_PROTOCOL_NOT_SELECTED", why, 1002), 1002);
  }

  /** Runs a user callback; what it throws is reported as an `error` event and reads as undefined. */
  #call<A, R>(f: ((a: A) => R) | undefined, a: A): R | undefined {
    try {
      return f?.(a);
    } catch (error) {
      this.#emit("error", { error });
    }
  }

  /** Detach from the current attempt: its late events and timers are ignored from now on. */
  #stop() {
    ++this.#n;
    this.#o.clock.clearTimeout(this.#timer);
    this.#ka = this.#ka?.stop();
  }

  /**
   * The one timer of the current attempt (connect timeout, or the wait before the next attempt):
   * replaces any other, and does nothing once the attempt is no longer current.
   */
  #arm(f: () => void, ms: number) {
    const c = this.#o.clock;
    const n = this.#n;
    c.clearTimeout(this.#timer);
    this.#timer = c.setTimeout(() => n == this.#n && f(), ms);
  }

  /** Skip the wait: the next attempt starts now. */
  #now() {
    this.#stop();
    this.#go();
  }

  #final() {
    return this.#state >= S.Closing;
  }

  #coded() {
    return !!(this.#o.codec || this.#o.codecs);
  }

  #set(to: S) {
    const from = this.#state;
    if (!canMove(from, to)) throw createError("ERR_INVALID_STATE", `${from} -> ${to}`);
    this.#state = to;
    this.#emit("statechange", { from: stateNames[from], to: stateNames[to] });
  }

  #emit(type: string, fields?: object) {
    this.dispatchEvent(Object.assign(new Event(type), fields));
  }

  #abort = () => this.close(NORMAL);

  #env(method: "addEventListener" | "removeEventListener") {
    for (const t of ["online", "offline", "visibilitychange", "pagehide", "pageshow"]) this.#win?.[method]?.(t, this.#onEnv);
  }

  #onEnv = (e: Event) => {
    const t = e.type;
    const s = this.#s;
    const state = this.#state;
    const waiting = state == S.Reconnecting;
    if (t[0] == "p") {
      // Back/forward cache (pagehide/pageshow with persisted): the server would hold the cached
      // page's connection, and what it sent meanwhile would be lost. Close it (1000) and wait, like
      // offline, then connect at once when the page is shown again. A page being unloaded is not
      // persisted: the browser closes its sockets itself.
      if (!(e as Event & { persisted?: boolean }).persisted) return;
      if ((this.#hid = t == "pagehide")) waiting ? this.#o.clock.clearTimeout(this.#timer) : state < S.Closing && this.#fail(s, "page hidden", undefined, s ? NORMAL : ABNORMAL, true);
      else if (waiting && !this.#off) this.#now();
    } else if (t != "visibilitychange") {
      this.#off = t == "offline";
      if (waiting) this.#off ? this.#o.clock.clearTimeout(this.#timer) : this.#hid || this.#now();
      // A changed network can leave the socket half-open: probe it, as after the background.
      else if (state == S.Open && !this.#off) this.#ka?.probe();
    } else if (state == S.Open && this.#win!.document?.visibilityState != "hidden") {
      // Back from the background: probe instead of trusting a socket that may have died meanwhile.
      s!.readyState != 1 ? this.#fail(s, "stale socket") : this.#ka?.probe();
    }
  };
}

export interface ResilientWebSocket<In = RawData, Out = SendData> {
  addEventListener<K extends keyof ResilientEventMap<In, Out>>(
    type: K,
    listener: (this: ResilientWebSocket<In, Out>, event: ResilientEventMap<In, Out>[K]) => unknown,
    options?: boolean | ListenerOptions,
  ): void;
  addEventListener(type: string, listener: AnyEventListener | null, options?: boolean | ListenerOptions): void;
  removeEventListener<K extends keyof ResilientEventMap<In, Out>>(
    type: K,
    listener: (this: ResilientWebSocket<In, Out>, event: ResilientEventMap<In, Out>[K]) => unknown,
    options?: boolean | RemoveListenerOptions,
  ): void;
  removeEventListener(type: string, listener: AnyEventListener | null, options?: boolean | RemoveListenerOptions): void;
}

/**
 * Request/response over a message stream: the user says where the correlation id goes in an
 * outgoing message and how to read it from a reply; this part keeps the pending table, timeouts,
 * aborts, re-sending after a reconnect and the "matched once" rule. `correlate(ws, options)` wires
 * it to a client through its events and the client's one receive hook (`INTERCEPT`), so a bundle
 * that never calls it carries none of this code. Closures rather than a class: local names minify,
 * `#private` names do not.
 */
import { createError, isResilientError, type ResilientError } from "../errors.js";
import { systemClock } from "../reliability/clock.js";
import { INTERCEPT, ON_SEND, type Interceptor, type ResilientWebSocket } from "./client.js";

export type RequestId = string | number;

export interface RequestsOptions<In, Out> {
  /**
   * Return the message to send with the correlation id in it.
   * @example setId: (msg, id) => ({ ...msg, id })
   */
  setId(message: Out, id: RequestId): Out;
  /**
   * The correlation id of a received message, or undefined when it is not a reply. Must return
   * undefined for server-initiated messages, or a message whose id collides with a pending
   * request would be taken as its reply.
   * @example getId: (msg) => (msg.type === "reply" ? msg.id : undefined)
   */
  getId(message: In): RequestId | undefined;
  /**
   * Make a fresh id. Ids are compared as strings, so 7 and "7" match.
   * @default a per-client counter: 1, 2, 3, …
   */
  nextId?: () => RequestId;
  /**
   * Milliseconds from `request()` to the reply, across reconnects; then it rejects with
   * ERR_REQUEST_TIMEOUT. `Infinity` waits forever.
   * @default 30_000
   */
  timeout?: number;
  /**
   * Send a pending request again (same id) on the next connection when the one it went out on is
   * lost, also when that connection ended before the transport sent all of it (`drop` reason
   * "unsent"). `false` rejects it with ERR_CONNECTION instead (for requests that must not run twice).
   * @default true
   */
  resend?: boolean;
  /**
   * Timers, for tests.
   * @default setTimeout and clearTimeout of globalThis
   */
  clock?: RequestClock;
}

export interface RequestOptions {
  /** Overrides `requests.timeout` for this request. */
  timeout?: number;
  /** Abort: rejects with ERR_ABORTED (the reason is the error's `cause`). */
  signal?: AbortSignal;
  /** Overrides `requests.resend` for this request. */
  resend?: boolean;
}

/** Timers, injectable so tests drive time (the reliability `Clock` has this shape). */
export interface RequestClock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What `correlate()` returns: request/response over one client. */
export interface Requester<In, Out> {
  /** Requests waiting for their reply. */
  readonly size: number;
  /**
   * Sends `message` with a fresh correlation id and resolves with the reply carrying it; that
   * reply is not also a `message` event. Re-sent after a reconnect unless `resend: false`. Rejects
   * with ResilientErrors: ERR_REQUEST_TIMEOUT, ERR_ABORTED, ERR_CONNECTION (connection lost with
   * `resend: false`), ERR_QUEUE_FULL (dropped from the send queue: overflow or ttl), the codec's
   * error (or ERR_INVALID_ARGUMENT with it as cause) when the selected subprotocol's codec cannot
   * encode it, ERR_CLOSED (the client closed for good before the reply).
   */
  request<Reply extends In = In>(message: Out, options?: RequestOptions): Promise<Reply>;
  /**
   * Stops taking replies from the client and following its events; requests still pending reject
   * with ERR_CLOSED, and so do later ones. For a correlator made per session or unit of work on a
   * long-lived client.
   */
  detach(): void;
}

/** The full table: `Requester` plus the notifications its owner feeds it. */
export interface Requests<In, Out> extends Requester<In, Out> {
  /**
   * Offer a received message: true when it answered a request, or (unless `late` is false) was a
   * late or duplicate reply to one already settled.
   */
  match(message: In, late?: boolean): boolean;
  /** A connection opened (after the queue flushed): re-send what went out on a lost connection. */
  opened(): void;
  /** The client handed `message` to a socket (its send hook): a request's message is on the current connection. */
  sent(message: Out): void;
  /** The current connection is gone (a reconnect may follow). */
  disconnected(): void;
  /**
   * A message was discarded (`drop` event): its request, if any, rejects (ERR_QUEUE_FULL for
   * overflow and ttl), except for "unsent", which is a lost connection's request.
   */
  dropped(message: Out, reason: string, error?: unknown): void;
  /** The client closed for good (or `why`): every pending and later request rejects with ERR_CLOSED. */
  closed(why?: string): void;
}

interface Pending<In, Out> {
  m: Out;
  resend: boolean;
  /** Number of the connection the message last went out on; 0 while it waits in the client's queue. */
  on: number;
  ok(reply: In): void;
  fail(error: ResilientError): void;
}

/** Settled ids remembered so a late or duplicate reply is swallowed, not delivered as a message. */
const MEMORY = 1024;

export function createRequests<In, Out>(
  o: RequestsOptions<In, Out>,
  /** Sends or queues; returning "queued" says the message waits for the next connection. */
  send: (message: Out) => unknown,
  clock: RequestClock,
  open = false,
  /** Default ids (without `nextId`); shared by the correlators of one client, so theirs never collide. */
  nextDefaultId: () => number = ((n) => () => ++n)(0),
  /**
   * The client's own count of connections opened (ResilientWebSocket's `stats.connects`, counted
   * before its queue is flushed). Without it, `opened()` and `disconnected()` count them here, which
   * holds only while those notifications come once per connection, in order: a listener that
   * reconnects in the middle of an open can skip or reorder them.
   */
  connections?: () => number,
): Requests<In, Out> {
  const pending = new Map<string, Pending<In, Out>>();
  /** The pending requests by their message, for the client's send hook (it is called for every message). */
  const byMessage = new Map<Out, Pending<In, Out>>();
  const settled = new Set<string>();
  /** Connections opened so far, when the client does not say (see `connections`). */
  let own = open ? 1 : 0;
  /** The current connection's number while open; else the last one's. */
  const conn = () => connections?.() ?? own;
  let closed: ResilientError | undefined;

  const close = (why = "the client is closed") => {
    open = false;
    closed = createError("ERR_CLOSED", `request(): ${why}`);
    for (const p of pending.values()) p.fail(closed);
  };

  const transmit = (key: string, p: Pending<In, Out>) => {
    try {
      // The client queues while its socket is not open even if it was open a moment ago: then the
      // message goes out with a later flush, and must not be re-sent on top of it. A client with a
      // send hook (see `sent`) numbers what it hands to a socket, when it does.
      // Without the hook, a queued message is taken to go out on the next connection.
      if (send(p.m) === "queued") p.on = connections ? 0 : own + 1;
    } catch (error) {
      // send() throws ERR_QUEUE_FULL, or the codec's exception when it cannot encode the message.
      p.fail(isResilientError(error) ? error : createError("ERR_INVALID_ARGUMENT", `request ${key}: cannot encode: ${error}`, undefined, error));
    }
  };

  return {
    get size() {
      return pending.size;
    },

    request<Reply extends In>(message: Out, options: RequestOptions = {}) {
      const signal = options.signal;
      const aborted = () => createError("ERR_ABORTED", "request(): aborted", undefined, signal!.reason);
      if (closed || signal?.aborted) return Promise.reject(closed ?? aborted());
      const id = o.nextId ? o.nextId() : nextDefaultId();
      const key = String(id);
      if (pending.has(key)) return Promise.reject(createError("ERR_INVALID_ARGUMENT", `request(): id ${key} is already pending`));
      const timeout = options.timeout ?? o.timeout ?? 30_000;

      return new Promise<Reply>((resolve, reject) => {
        let timer: unknown;
        const onAbort = () => p.fail(aborted());
        const done = () => {
          pending.delete(key);
          byMessage.delete(p.m);
          settled.add(key);
          if (settled.size > MEMORY) settled.delete(settled.values().next().value as string);
          clock.clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        };
        const p: Pending<In, Out> = {
          m: o.setId(message, id),
          resend: options.resend ?? o.resend ?? true,
          // With the client's send hook: set when it goes out. Without: this connection while open,
          // else the next one, which flushes the client's queue.
          on: connections ? 0 : open ? own : own + 1,
          ok: (reply) => (done(), resolve(reply as Reply)),
          fail: (error) => (done(), reject(error)),
        };
        pending.set(key, p);
        byMessage.set(p.m, p);
        signal?.addEventListener("abort", onAbort);
        if (timeout < Infinity)
          timer = clock.setTimeout(() => p.fail(createError("ERR_REQUEST_TIMEOUT", `request ${key}: no reply within ${timeout} ms`)), timeout);
        transmit(key, p);
      });
    },

    match(message, late = true) {
      let id: RequestId | undefined;
      try {
        id = o.getId(message);
      } catch {
        return false; // a getId that cannot read this message says it is not a reply
      }
      if (id === undefined) return false;
      const key = String(id);
      const p = pending.get(key);
      p?.ok(message);
      return !!p || (late && settled.has(key));
    },

    opened() {
      if (!connections) {
        // Made while open (say, by an earlier `open` listener of this very event): nothing was lost.
        if (open) return;
        own++;
        open = true;
      }
      // What went out on an earlier connection goes out again (re-queued if the client has moved on
      // since, as when an open listener reconnected).
      const now = conn();
      for (const [key, p] of pending)
        if (p.on && p.on < now) {
          p.on = now;
          transmit(key, p);
        }
    },

    sent(message) {
      const p = byMessage.get(message);
      if (p) p.on = conn();
    },

    disconnected() {
      if (!connections) {
        if (!open) return;
        open = false;
      }
      const now = conn();
      for (const [key, p] of pending)
        if (!p.resend && p.on && p.on <= now) p.fail(createError("ERR_CONNECTION", `request ${key}: connection lost before the reply (resend: false)`));
    },

    dropped(message, reason, error) {
      // "unsent" went out on a connection that is ending: like any request on a lost connection,
      // disconnected() or closed() settles it next (re-sent, ERR_CONNECTION or ERR_CLOSED).
      if (reason != "unsent")
        for (const [key, p] of pending)
          if (p.m === message)
            p.fail(
              reason == "overflow" || reason == "ttl"
                ? createError("ERR_QUEUE_FULL", `request ${key}: dropped from the send queue (${reason})`)
                : // "closed" carries ERR_CLOSED; "encode" the codec's error
                  isResilientError(error)
                  ? error
                  : createError("ERR_INVALID_ARGUMENT", `request ${key}: not sent (${reason}): ${error}`, undefined, error),
            );
    },

    closed: close,
    detach: () => close("the correlator is detached"),
  };
}

/** The client surface `attachRequests` needs (ResilientWebSocket has it). */
export interface RequestHost<In, Out> {
  readonly readyState: number;
  /** Connections opened so far (ResilientWebSocket's stats); without it the correlators count `open` events. */
  readonly stats?: { readonly connects: number };
  send(message: Out): unknown;
  addEventListener(type: string, listener: (event: Event) => void): void;
  /** The client's receive hook: a received message it returns true for is not dispatched. */
  [INTERCEPT]?: Interceptor<In>;
  /** The client's send hook (see ON_SEND). */
  [ON_SEND]?: (message: Out) => void;
}

/** The correlators of each client, and the default-id counter they share. */
const correlators = new WeakMap<object, { all: Set<Requests<never, never>>; id: number }>();

/**
 * Requests bound to a client: its `open` event re-sends (so a protocol handshake sent by an earlier
 * `open` listener goes first), leaving "open" is a disconnect (but for "closing": close() is final,
 * and the reply may still come until "closed"), reaching "closed" is final, and a `drop` of a
 * request's message rejects it. Replies are taken in the client's receive hook, after any hook
 * already there. All the correlators of one client share one hook and one listener per event (so
 * many of them cost no listeners), and default ids: a reply goes to the correlator waiting for it
 * before another one's memory of a settled id can swallow it.
 */
export function attachRequests<In, Out>(host: RequestHost<In, Out>, o: RequestsOptions<In, Out>, clock: RequestClock): Requests<In, Out> {
  let shared = correlators.get(host);
  if (!shared) {
    const all = new Set<Requests<In, Out>>();
    correlators.set(host, (shared = { all: all as Set<Requests<never, never>>, id: 0 }));
    const each = (f: (r: Requests<In, Out>) => void) => all.forEach(f);
    const previous = host[INTERCEPT];
    host[INTERCEPT] = (message) => {
      if (previous?.(message)) return true;
      for (const r of all) if (r.match(message, false)) return true;
      for (const r of all) if (r.match(message)) return true;
      return false;
    };
    const sending = host[ON_SEND];
    host[ON_SEND] = (message) => (sending?.(message), each((r) => r.sent(message)));
    host.addEventListener("open", () => each((r) => r.opened()));
    host.addEventListener("drop", (e) => {
      const { message, reason, error } = e as Event & { message: Out; reason: string; error?: unknown };
      each((r) => r.dropped(message, reason, error));
    });
    host.addEventListener("statechange", (e) => {
      const { from, to } = e as Event & { from: string; to: string };
      if (from == "open" && to != "closing") each((r) => r.disconnected());
      if (to == "closed") each((r) => r.closed());
    });
  }
  const { all } = shared as unknown as { all: Set<Requests<In, Out>> };
  const counter = shared;
  const r = createRequests<In, Out>(
    o,
    (m) => host.send(m),
    clock,
    host.readyState == 1,
    () => ++counter.id,
    host.stats && (() => host.stats!.connects),
  );
  all.add(r);
  const detach = r.detach;
  r.detach = () => {
    all.delete(r);
    detach();
  };
  return r;
}

/**
 * Request/response for a client: where the correlation id goes in an outgoing message (`setId`),
 * how to read it from a received one (`getId`), the default timeout and resend policy.
 * @example
 * const rpc = correlate(ws, { setId: (msg, id) => ({ ...msg, id }), getId: (msg) => (msg.type === "reply" ? msg.id : undefined) });
 * const ack = await rpc.request({ type: "order", qty: 1 }, { timeout: 5_000 });
 */
export function correlate<In, Out>(ws: ResilientWebSocket<In, Out>, options: RequestsOptions<In, Out>): Requester<In, Out> {
  return attachRequests<In, Out>(ws as unknown as RequestHost<In, Out>, options, options.clock ?? systemClock);
}

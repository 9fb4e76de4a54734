/**
 * Request/response over a message stream: the user says where the correlation id goes in an
 * outgoing message and how to read it from a reply; this part keeps the pending table, timeouts,
 * aborts, re-sending after a reconnect and the "matched once" rule. The client only forwards its
 * sends and its connection changes (`opened`, `disconnected`, `closed`) and offers every received
 * message to `match` before dispatching it.
 */
import { createError, isResilientError, type ResilientError } from "../errors.js";

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
   * lost. `false` rejects it with ERR_CONNECTION instead (for requests that must not run twice).
   * @default true
   */
  resend?: boolean;
}

export interface RequestOptions {
  /** Overrides `requests.timeout` for this request. */
  timeout?: number;
  /** Abort: rejects with ERR_ABORTED (the reason is the error's `cause`). */
  signal?: AbortSignal;
  /** Overrides `requests.resend` for this request. */
  resend?: boolean;
}

/** Timers, injectable so tests drive time (the reliability clock satisfies this shape). */
export interface RequestClock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: RequestClock = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Pending<In, Out> {
  readonly message: Out;
  readonly resend: boolean;
  /** Number of the connection the message went (or will go) out on. */
  sentOn: number;
  resolve(reply: In): void;
  reject(error: ResilientError): void;
}

/** How many settled ids are remembered, so a late or duplicate reply is swallowed, not delivered. */
const SETTLED_MEMORY = 1024;
const DEFAULT_TIMEOUT = 30_000;

export class Requests<In, Out> {
  readonly #options: RequestsOptions<In, Out>;
  readonly #send: (message: Out) => unknown;
  readonly #clock: RequestClock;
  readonly #pending = new Map<string, Pending<In, Out>>();
  readonly #settled = new Set<string>();
  #counter = 0;
  /** Connections opened so far; while open, the current one's number. */
  #connection = 0;
  #open = false;
  #closed: ResilientError | undefined;

  constructor(options: RequestsOptions<In, Out>, send: (message: Out) => unknown, clock: RequestClock = realClock) {
    this.#options = options;
    this.#send = send;
    this.#clock = clock;
  }

  /** Requests waiting for their reply. */
  get size(): number {
    return this.#pending.size;
  }

  request<Reply extends In = In>(message: Out, options: RequestOptions = {}): Promise<Reply> {
    const { signal } = options;
    if (this.#closed) return Promise.reject(this.#closed);
    if (signal?.aborted) return Promise.reject(aborted(signal));
    const id = this.#options.nextId ? this.#options.nextId() : ++this.#counter;
    const key = String(id);
    if (this.#pending.has(key)) {
      return Promise.reject(createError("ERR_INVALID_ARGUMENT", `request(): id ${key} is already pending`));
    }
    const timeout = options.timeout ?? this.#options.timeout ?? DEFAULT_TIMEOUT;

    return new Promise<Reply>((resolve, reject) => {
      let timer: unknown;
      const onAbort = () => settle(aborted(signal as AbortSignal));
      const finish = () => {
        this.#pending.delete(key);
        this.#remember(key);
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const settle = (error: ResilientError) => {
        finish();
        reject(error);
      };
      const entry: Pending<In, Out> = {
        message: this.#options.setId(message, id),
        resend: options.resend ?? this.#options.resend ?? true,
        // Sent while open: this connection; otherwise the client queues it for the next one.
        sentOn: this.#open ? this.#connection : this.#connection + 1,
        resolve: (reply) => {
          finish();
          resolve(reply as Reply);
        },
        reject: settle,
      };
      this.#pending.set(key, entry);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (Number.isFinite(timeout)) {
        timer = this.#clock.setTimeout(
          () => settle(createError("ERR_REQUEST_TIMEOUT", `request ${key}: no reply within ${timeout} ms`)),
          timeout,
        );
      }
      this.#transmit(key, entry);
    });
  }

  /** Offer a received message: true when it was the reply to a request (or a late/duplicate one). */
  match(message: In): boolean {
    let id: RequestId | undefined;
    try {
      id = this.#options.getId(message);
    } catch {
      return false; // a getId that cannot read this message says it is not a reply
    }
    if (id === undefined) return false;
    const key = String(id);
    const entry = this.#pending.get(key);
    if (entry) {
      entry.resolve(message);
      return true;
    }
    return this.#settled.has(key);
  }

  /** A connection opened (after the queue flushed): re-send what went out on a lost connection. */
  opened(): void {
    this.#connection++;
    this.#open = true;
    for (const [key, entry] of this.#pending) {
      if (entry.sentOn < this.#connection) {
        entry.sentOn = this.#connection;
        this.#transmit(key, entry);
      }
    }
  }

  /** The current connection is gone (a reconnect may follow). */
  disconnected(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const [key, entry] of this.#pending) {
      if (!entry.resend && entry.sentOn <= this.#connection) {
        entry.reject(
          createError("ERR_CONNECTION", `request ${key}: connection lost before the reply (resend: false)`),
        );
      }
    }
  }

  /** The client closed for good: every pending and later request rejects with ERR_CLOSED. */
  closed(reason = "the client is closed"): void {
    this.#open = false;
    this.#closed = createError("ERR_CLOSED", `request(): ${reason}`);
    for (const entry of this.#pending.values()) entry.reject(this.#closed);
  }

  #transmit(key: string, entry: Pending<In, Out>): void {
    try {
      this.#send(entry.message);
    } catch (error) {
      entry.reject(
        isResilientError(error)
          ? error
          : createError("ERR_INVALID_STATE", `request ${key}: could not send: ${String(error)}`, undefined, error),
      );
    }
  }

  #remember(key: string): void {
    this.#settled.add(key);
    if (this.#settled.size > SETTLED_MEMORY) {
      const oldest = this.#settled.values().next().value as string;
      this.#settled.delete(oldest);
    }
  }
}

function aborted(signal: AbortSignal): ResilientError {
  return createError("ERR_ABORTED", "request(): aborted", undefined, signal.reason);
}

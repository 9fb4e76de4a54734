/**
 * `for await (const msg of messages(ws))`: an async iterator over received messages with a
 * bounded buffer between the socket (which cannot wait) and a consumer that may be slower. It
 * subscribes when created, so nothing is missed between `messages()` and the first `next()`.
 * Closures rather than a class: local names minify, `#private` names do not.
 */
import { createError } from "../errors.js";
import type { ResilientWebSocket } from "./client.js";

export type MessagesOverflow = "drop-oldest" | "drop-newest" | "error";

export interface MessagesOptions<In> {
  /** Abort ends the iteration at once (`done`), discarding what is buffered. */
  signal?: AbortSignal;
  /**
   * Messages held while the consumer is busy.
   * @default 1000
   */
  bufferSize?: number;
  /**
   * When a message arrives and the buffer is full: "drop-oldest" discards the oldest buffered
   * message, "drop-newest" the arriving one (both call `ondrop` and count in `dropped`); "error"
   * stops listening and, after the buffered messages, throws a ResilientError ERR_QUEUE_FULL.
   * @default "drop-oldest"
   * @example messages(ws, { bufferSize: 100, overflow: "error" })
   */
  overflow?: MessagesOverflow;
  /** Called with each message discarded by the overflow policy. */
  ondrop?: (message: In) => void;
}

export interface MessageStream<In> extends AsyncIterableIterator<In> {
  /** Messages discarded by the overflow policy so far. */
  readonly dropped: number;
  /** Messages waiting to be consumed. */
  readonly buffered: number;
  /** Stop listening (what `break` in a for-await loop calls). */
  return(): Promise<IteratorResult<In>>;
}

/**
 * Connects the stream to its source: call `push` for each message and `end` when the source is
 * finished (the client closed for good); return a function that unsubscribes.
 */
export type MessageSubscribe<In> = (push: (message: In) => void, end: () => void) => () => void;

const DONE = { value: undefined, done: true } as const;

export function createMessageStream<In>(subscribe: MessageSubscribe<In>, options: MessagesOptions<In> = {}): MessageStream<In> {
  const { signal, ondrop, bufferSize: size = 1000, overflow = "drop-oldest" } = options;
  if (!(size >= 1)) throw createError("ERR_INVALID_ARGUMENT", `messages(): bufferSize must be >= 1, got ${size}`);
  let buffer: In[] = [];
  let head = 0;
  let dropped = 0;
  const waiters: Array<[(result: IteratorResult<In>) => void, (error: unknown) => void]> = [];
  /** Set when the source ended or overflowed: drain the buffer, then finish (throwing `error` once). */
  let ending: { error?: unknown } | undefined;
  let unsubscribe: (() => void) | undefined;

  const count = () => buffer.length - head;
  const shift = () => {
    const message = buffer[head++] as In;
    // Compact now and then instead of Array#shift on every read (O(n) each).
    if (head >= 64 && head * 2 >= buffer.length) (buffer = buffer.slice(head)), (head = 0);
    return message;
  };
  const drop = (message: In) => {
    dropped++;
    ondrop?.(message);
  };
  /**
   * The abort listener stays while abort still has something to discard (messages or an error not
   * yet read): the source ending is not the consumer being done.
   */
  const release = () => {
    if (ending && !count() && ending.error === undefined) signal?.removeEventListener("abort", stop);
  };
  /** The source ended (client closed for good, or overflow "error"): stop listening to it. */
  const end = (error?: unknown) => {
    if (ending) return;
    ending = { error };
    unsubscribe?.();
    // Waiters exist only while the buffer is empty, so they get the ending now.
    for (const [resolve, reject] of waiters.splice(0)) {
      if (ending.error === undefined) resolve(DONE);
      else reject(ending.error), (ending = {});
    }
    release();
  };
  /** return() or abort: done at once, whatever is buffered or pending is discarded. */
  const stop = () => {
    buffer = [];
    head = 0;
    end();
    ending = {};
    release();
  };
  const push = (message: In) => {
    if (ending) return;
    const waiter = waiters.shift();
    if (waiter) waiter[0]({ value: message, done: false });
    else if (count() < size) buffer.push(message);
    else if (overflow == "drop-newest") drop(message);
    else if (overflow == "drop-oldest") buffer.push(message), drop(shift());
    else end(createError("ERR_QUEUE_FULL", `messages(): the consumer fell ${size} messages behind (overflow: "error")`, undefined, message));
  };

  const stream: MessageStream<In> = {
    get dropped() {
      return dropped;
    },
    get buffered() {
      return count();
    },
    next() {
      if (count()) {
        const value = shift();
        release();
        return Promise.resolve({ value, done: false });
      }
      if (!ending) return new Promise((resolve, reject) => waiters.push([resolve, reject]));
      const { error } = ending;
      ending = {}; // throw once, then report done like any finished iterator
      release();
      return error === undefined ? Promise.resolve(DONE) : Promise.reject(error);
    },
    return() {
      stop();
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };

  if (signal?.aborted) ending = {};
  else {
    signal?.addEventListener("abort", stop);
    unsubscribe = subscribe(push, end);
    // The source may have ended inside subscribe (the client was already closed).
    if (ending) unsubscribe();
  }
  return stream;
}

/** The client surface `messages` needs (ResilientWebSocket has it). */
export interface MessagesHost<In> {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: Event & { data?: In; to?: string }) => void): void;
  removeEventListener(type: string, listener: (event: Event & { data?: In; to?: string }) => void): void;
}

/** A stream of a host's `message` events that ends when it reaches the closed state. */
export function clientMessages<In>(host: MessagesHost<In>, options?: MessagesOptions<In>): MessageStream<In> {
  return createMessageStream<In>((push, end) => {
    const onMessage = (e: Event & { data?: In }) => push(e.data as In);
    const onState = (e: Event & { to?: string }) => e.to == "closed" && end();
    host.addEventListener("message", onMessage);
    host.addEventListener("statechange", onState);
    if (host.readyState == 3) end();
    return () => {
      host.removeEventListener("message", onMessage);
      host.removeEventListener("statechange", onState);
    };
  }, options);
}

/**
 * Received messages of `ws` as an async iterator with a bounded buffer; ends when the client closes
 * for good. Subscribes at once, so nothing is missed before the first `next()`.
 * @example for await (const msg of messages(ws, { signal })) handle(msg);
 */
export function messages<In, Out>(ws: ResilientWebSocket<In, Out>, options?: MessagesOptions<In>): MessageStream<In> {
  return clientMessages<In>(ws as unknown as MessagesHost<In>, options);
}

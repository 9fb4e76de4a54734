/**
 * `for await (const msg of ws.messages())`: an async iterator over received messages with a
 * bounded buffer between the socket (which cannot wait) and a consumer that may be slower. It
 * subscribes when created, so nothing is missed between `messages()` and the first `next()`.
 */
import { createError } from "../errors.js";

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
   * What happens when a message arrives and the buffer is full: "drop-oldest" discards the oldest
   * buffered message, "drop-newest" the arriving one (both call `ondrop` and count in `dropped`),
   * "error" ends the iteration by throwing ERR_QUEUE_FULL after the buffered messages.
   * @default "drop-oldest"
   */
  overflow?: MessagesOverflow;
  /** Called with each message discarded by the overflow policy. */
  ondrop?: (message: In) => void;
}

/**
 * Connects the stream to its source: call `push` for each message and `end` when the source is
 * finished (the client closed for good); return a function that unsubscribes.
 */
export type MessageSubscribe<In> = (push: (message: In) => void, end: () => void) => () => void;

const DEFAULT_BUFFER = 1000;

export class MessageStream<In> implements AsyncIterableIterator<In> {
  readonly #size: number;
  readonly #overflow: MessagesOverflow;
  readonly #ondrop: ((message: In) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  #buffer: In[] = [];
  #head = 0;
  #waiters: Array<{ resolve(result: IteratorResult<In>): void; reject(error: unknown): void }> = [];
  /** Set when the source ended or overflowed: drain the buffer, then finish with this. */
  #ending: { error?: unknown } | undefined;
  #unsubscribe: (() => void) | undefined;
  #dropped = 0;

  constructor(subscribe: MessageSubscribe<In>, options: MessagesOptions<In> = {}) {
    const size = options.bufferSize ?? DEFAULT_BUFFER;
    if (!(size >= 1)) throw createError("ERR_INVALID_ARGUMENT", `messages(): bufferSize must be >= 1, got ${size}`);
    this.#size = size;
    this.#overflow = options.overflow ?? "drop-oldest";
    this.#ondrop = options.ondrop;
    this.#signal = options.signal;
    if (this.#signal?.aborted) {
      this.#ending = {};
      return;
    }
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#unsubscribe = subscribe(
      (message) => this.#push(message),
      () => this.#end({}),
    );
    // The source may have ended synchronously inside subscribe (client already closed).
    if (this.#ending) this.#detach();
  }

  /** Messages discarded by the overflow policy so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Messages waiting to be consumed. */
  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  next(): Promise<IteratorResult<In>> {
    if (this.buffered > 0) return Promise.resolve({ value: this.#shift(), done: false });
    if (this.#ending) {
      const { error } = this.#ending;
      if (error !== undefined) {
        this.#ending = {}; // throw once, then report done like any finished iterator
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Called by `break` / `return` in a for-await loop: stop listening. */
  return(): Promise<IteratorResult<In>> {
    this.#finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #push(message: In): void {
    if (this.#ending) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ value: message, done: false });
      return;
    }
    if (this.buffered < this.#size) {
      this.#buffer.push(message);
      return;
    }
    switch (this.#overflow) {
      case "drop-oldest":
        this.#buffer.push(message);
        this.#drop(this.#shift());
        return;
      case "drop-newest":
        this.#drop(message);
        return;
      case "error":
        this.#end({
          error: createError(
            "ERR_QUEUE_FULL",
            `messages(): the consumer fell ${this.#size} messages behind (overflow: "error")`,
            undefined,
            message,
          ),
        });
    }
  }

  #drop(message: In): void {
    this.#dropped++;
    this.#ondrop?.(message);
  }

  #shift(): In {
    const message = this.#buffer[this.#head] as In;
    this.#head++;
    // Compact now and then instead of Array#shift on every read (O(n) each).
    if (this.#head >= 64 && this.#head * 2 >= this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    return message;
  }

  #end(ending: { error?: unknown }): void {
    if (this.#ending) return;
    this.#ending = ending;
    this.#detach();
    // Waiters exist only when the buffer is empty, so they get the ending right away.
    for (const waiter of this.#waiters.splice(0)) {
      if (ending.error !== undefined) {
        this.#ending = {};
        waiter.reject(ending.error);
        ending = {};
      } else {
        waiter.resolve({ value: undefined, done: true });
      }
    }
  }

  #finish(): void {
    this.#buffer = [];
    this.#head = 0;
    this.#end({});
  }

  #detach(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    unsubscribe?.();
  }

  readonly #onAbort = (): void => this.#finish();
}

import { createError } from "../errors.js";
import type { Clock } from "./clock.js";

export type Overflow = "drop-oldest" | "drop-newest" | "error";
/**
 * Why a message was discarded: the queue was full, it waited longer than ttl, the client closed for
 * good (it was queued, or sent after close()), (at the flush) the negotiated subprotocol's codec could not encode it, or it was given to a
 * connection that ended before sending all of it ("unsent": it may not have reached the server).
 */
export type DropReason = "overflow" | "ttl" | "closed" | "encode" | "unsent";

export interface OutboxOptions {
  maxMessages: number;
  maxBytes: number;
  /** Absent is "drop-oldest". */
  overflow?: Overflow;
  /** Milliseconds a message may wait; `Infinity` or absent for no limit. */
  ttl?: number;
}

/** A queued message: the application message, its encoded frame, its size, when, and who encoded it. */
export interface Entry<M, D> {
  m: M;
  d: D;
  n: number;
  at: number;
  by: unknown;
}

export interface Outbox<M, D> {
  readonly q: Entry<M, D>[];
  /** Bytes queued. */
  readonly bytes: number;
  /** Queue a message. Returns false when it was discarded (drop-newest, or too big); throws for "error". */
  push(m: M, d: D, by: unknown): boolean;
  /** Next message to send, oldest first; expired ones are dropped on the way. */
  take(): Entry<M, D> | undefined;
  /** Drop everything (final close). */
  clear(why: DropReason): void;
}

/**
 * UTF-8 byte length of a string without encoding it (the queue bounds bytes, not UTF-16 units).
 * Lone surrogates count 3 bytes, as the U+FFFD that WebSocket.send() sends in their place.
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (const c of s) {
    const p = c.codePointAt(0)!;
    n += p < 0x80 ? 1 : p < 0x800 ? 2 : p < 0x10000 ? 3 : 4;
  }
  return n;
}

/** Bytes a frame puts on the wire: UTF-8 length for text, byte length for binary. */
export const sizeOf = (d: unknown): number =>
  typeof d == "string" ? utf8Length(d) : ((d as ArrayBuffer).byteLength ?? (d as Blob).size ?? 0);

/**
 * The outgoing queue: FIFO, bounded by count and bytes, with a named overflow policy and an
 * optional ttl. Every message it discards goes to `drop`; nothing is lost silently. An expired
 * message is discarded when it expires (one timer, for the oldest message), so `drop`, the byte
 * count and bufferedAmount say at once that it will not be sent.
 */
export function outbox<M, D>(o: OutboxOptions, clock: Clock, drop: (m: M, why: DropReason) => void): Outbox<M, D> {
  const q: Entry<M, D>[] = [];
  let timer: unknown;
  const box = {
    q,
    bytes: 0,
    push(m: M, d: D, by: unknown) {
      const n = sizeOf(d);
      expire();
      while (q.length >= o.maxMessages || box.bytes + n > o.maxBytes) {
        if (o.overflow == "error") throw createError("ERR_QUEUE_FULL", "queue full");
        if (o.overflow == "drop-newest" || n > o.maxBytes || !q.length) return drop(m, "overflow"), false;
        remove("overflow");
      }
      q.push({ m, d, n, at: clock.now(), by });
      box.bytes += n;
      arm();
      return true;
    },
    take() {
      expire();
      const e = q.shift();
      if (e) box.bytes -= e.n;
      arm();
      return e;
    },
    clear(why: DropReason) {
      while (q.length) remove(why);
      arm();
    },
  };
  const remove = (why: DropReason) => {
    const e = q.shift()!;
    box.bytes -= e.n;
    drop(e.m, why);
  };
  const expire = () => {
    // An absent ttl makes the bound NaN, which no timestamp is below: no expiry.
    while (q.length && q[0]!.at < clock.now() - o.ttl!) remove("ttl");
  };
  // The timer follows the oldest message: set when one waits (finite ttl), gone when none does.
  const arm = () => {
    clock.clearTimeout(timer);
    timer = q.length && o.ttl! < Infinity ? clock.setTimeout(() => (expire(), arm()), q[0]!.at + o.ttl! + 1 - clock.now()) : undefined;
  };
  return box;
}

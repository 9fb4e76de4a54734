import { createError } from "../errors.js";
import type { Clock } from "./clock.js";

export type Overflow = "drop-oldest" | "drop-newest" | "error";
/** Why a queued message was discarded. */
export type DropReason = "overflow" | "ttl" | "closed";

export interface OutboxOptions {
  maxMessages: number;
  maxBytes: number;
  overflow: Overflow;
  /** Milliseconds a message may wait; `Infinity` for no limit. */
  ttl: number;
}

/** A queued message: the application message, its encoded frame, its size and who encoded it. */
export interface Entry<M, D> {
  m: M;
  d: D;
  n: number;
  at: number;
  by: unknown;
}

/**
 * UTF-8 byte length of a string without encoding it (the queue bounds bytes, not UTF-16 units).
 * Lone surrogates count 3 bytes, as U+FFFD which WebSocket.send() sends in their place.
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && (s.charCodeAt(i + 1) & 0xfc00) == 0xdc00) n += 2, i++;
    else n += 2;
  }
  return n;
}

/** Bytes a frame puts on the wire: UTF-8 length for text, byte length for binary. */
export const sizeOf = (d: unknown): number =>
  typeof d == "string" ? utf8Length(d) : ((d as ArrayBuffer).byteLength ?? (d as Blob).size ?? 0);

/**
 * The outgoing queue: FIFO, bounded by count and bytes, with a named overflow policy and an
 * optional ttl. Every message it discards goes to `drop`; nothing is lost silently. Expired
 * messages are discarded when the queue is next touched (a send while not open, or the flush).
 */
export class Outbox<M, D> {
  q: Entry<M, D>[] = [];
  bytes = 0;

  constructor(
    private o: OutboxOptions,
    private clock: Clock,
    private drop: (m: M, why: DropReason) => void,
  ) {}

  /** Queue a message. Returns false when it was discarded (drop-newest); throws for "error". */
  push(m: M, d: D, by: unknown): boolean {
    const o = this.o;
    const n = sizeOf(d);
    this.expire();
    while (this.q.length >= o.maxMessages || this.bytes + n > o.maxBytes) {
      if (o.overflow == "error")
        throw createError("ERR_QUEUE_FULL", `send() while not open: queue full (${this.q.length} messages, ${this.bytes} + ${n} bytes; limits ${o.maxMessages} messages, ${o.maxBytes} bytes)`);
      if (o.overflow == "drop-newest" || n > o.maxBytes || !this.q.length) {
        this.drop(m, "overflow");
        return false;
      }
      this.#remove("overflow");
    }
    this.q.push({ m, d, n, at: this.clock.now(), by });
    this.bytes += n;
    return true;
  }

  /** Next message to send, oldest first; expired ones are dropped on the way. */
  take(): Entry<M, D> | undefined {
    this.expire();
    const e = this.q.shift();
    if (e) this.bytes -= e.n;
    return e;
  }

  expire(): void {
    const limit = this.clock.now() - this.o.ttl;
    while (this.q.length && this.q[0]!.at < limit) this.#remove("ttl");
  }

  clear(why: DropReason): void {
    while (this.q.length) this.#remove(why);
  }

  #remove(why: DropReason) {
    const e = this.q.shift()!;
    this.bytes -= e.n;
    this.drop(e.m, why);
  }
}

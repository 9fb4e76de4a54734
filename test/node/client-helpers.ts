/**
 * Test doubles for the client unit tests: a fake clock the test advances, and a scripted
 * W3C-like transport whose "server side" the test drives (open, message, drop, pong).
 */
import type { Clock } from "../../src/reliability/clock.js";

/** Lets pending promise callbacks and microtasks run (the client awaits URL providers). */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeClock implements Clock {
  t = 0;
  #id = 0;
  timers = new Map<number, { at: number; fn: () => void }>();
  /** `runaway`: advance() throws after firing that many timers in one call instead of looping forever. */
  constructor(readonly runaway = Infinity) {}
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.#id;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers.delete(id as number);
  };
  /** Runs every timer due within `ms`, in time order, letting microtasks settle between them. */
  async advance(ms: number) {
    const end = this.t + ms;
    for (let fired = 0; ; fired++) {
      await flush();
      if (fired > this.runaway) throw new Error(`runaway: more than ${this.runaway} timers fired in one advance()`);
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
    await flush();
  }
}

type Listener = (event: { type: string; [k: string]: unknown }) => unknown;

/** One scripted socket. Methods without `server` in their purpose are what the client calls. */
export class FakeSocket {
  readyState = 0;
  protocol = "";
  extensions = "";
  bufferedAmount = 0;
  binaryType = "blob";
  onopen: Listener | null = null;
  onmessage: Listener | null = null;
  onclose: Listener | null = null;
  onerror: Listener | null = null;
  sent: unknown[] = [];
  closeCalls: Array<[number | undefined, string | undefined]> = [];
  terminated = false;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
    readonly options?: unknown,
  ) {}
  send(data: unknown) {
    if (this.readyState != 1) throw new Error(`FakeSocket.send in readyState ${this.readyState}`);
    this.sent.push(data);
  }
  close(code?: number, reason?: string) {
    this.closeCalls.push([code, reason]);
    if (this.readyState < 2) this.readyState = 2;
  }
  // server side
  serverOpen(protocol = "") {
    this.protocol = protocol;
    this.readyState = 1;
    this.onopen?.({ type: "open" });
  }
  serverMessage(data: unknown) {
    this.onmessage?.({ type: "message", data });
  }
  serverClose(code = 1006, reason = "") {
    this.readyState = 3;
    this.onerror && code == 1006 && this.onerror({ type: "error" });
    this.onclose?.({ type: "close", code, reason, wasClean: code != 1006 });
  }
}

/** A socket with protocol pings, reporting pongs as an EventTarget-style `pong` event (the built-in client's way). */
export class PingSocket extends FakeSocket {
  pings = 0;
  #pong = new Set<() => void>();
  ping() {
    this.pings++;
  }
  addEventListener(type: string, fn: () => void) {
    if (type == "pong") this.#pong.add(fn);
  }
  removeEventListener(type: string, fn: () => void) {
    if (type == "pong") this.#pong.delete(fn);
  }
  serverPong() {
    for (const fn of this.#pong) fn();
  }
}

/** A transport class recording every socket it makes, optionally with pings. */
export function transport<S extends FakeSocket = FakeSocket>(Base: new (url: string, protocols?: string | string[], options?: unknown) => S = FakeSocket as never) {
  const sockets: S[] = [];
  const WebSocket = class extends (Base as new (url: string, protocols?: string | string[], options?: unknown) => FakeSocket) {
    constructor(url: string, protocols?: string | string[], options?: unknown) {
      super(url, protocols, options);
      sockets.push(this as unknown as S);
    }
  };
  return { WebSocket: WebSocket as never, sockets, last: () => sockets[sockets.length - 1]! };
}

/** Records events of the given types, in order, as "type" or "type:detail". */
export function record(target: EventTarget, types: string[], detail: (e: Event & Record<string, unknown>) => string = () => "") {
  const log: string[] = [];
  for (const t of types)
    target.addEventListener(t, (e) => {
      const d = detail(e as Event & Record<string, unknown>);
      log.push(d ? `${t}:${d}` : t);
    });
  return log;
}

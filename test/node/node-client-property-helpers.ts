// Shared by the fast-check properties of the built-in client that drive one WebSocket per run
// against a raw TCP server (node-client-reentrancy-property.test.ts, node-client-deflate-property.test.ts):
// the environment knobs, the run's log and problems, waiting with a hang deadline, the server side
// (reading and answering the client's frames, writing bursts in pieces), the client's events, the
// run's ending and the invariants both properties check in the same way. What differs between the
// properties (generators, the model of what the frames imply, deflate) stays in their files.
// Not a *.test.ts file: the Bun and Deno suites run every node-client-*.test.ts as tests.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type net from "node:net";
import fc from "fast-check";
import type { WebSocket } from "../../src/node-client.js";
import { closeBody, closeCodeOf, serverFrame, takeClientFrame, type ClientFrame } from "./node-client-helpers.js";

// ---------------------------------------------------------------------------------------------
// Environment

const env = (name: string): string | undefined => globalThis.process?.env?.[name];
/** PROP_RUNS: runs per property (default 200). */
export const NUM_RUNS = Number(env("PROP_RUNS") ?? 200);
/** PROP_SEED: fast-check's seed, to replay a failure. */
export const SEED = env("PROP_SEED") === undefined ? undefined : Number(env("PROP_SEED"));
/** PROP_IGNORE: substrings of failure messages to look past (comma-separated), to find the next failure behind a known one. */
export const IGNORE = (env("PROP_IGNORE") ?? "").split(",").filter((s) => s !== "");
/** PROP_VERBOSE=1 prints every run's step log (where a property supports it). */
export const VERBOSE = env("PROP_VERBOSE") === "1";

/** PROP_STATS=1: how often each outcome was reached, printed after the property. One per property, so each prints its own. */
export class Stats {
  readonly #counts = env("PROP_STATS") === "1" ? new Map<string, number>() : undefined;

  get on(): boolean {
    return this.#counts !== undefined;
  }

  readonly stat = (key: string): void => {
    this.#counts?.set(key, (this.#counts.get(key) ?? 0) + 1);
  };

  print(): void {
    if (this.#counts !== undefined) console.log([...this.#counts].sort().map(([k, n]) => `${String(n).padStart(5)}  ${k}`).join("\n"));
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const hex = (b: Uint8Array, max = 24): string => (b.length > max ? `${Buffer.from(b.subarray(0, max)).toString("hex")}…(${b.length})` : Buffer.from(b).toString("hex"));

/** Pieces of `bytes` cut at `cutAt` (positions modulo its length + 1; none empty). */
export function cut(bytes: Buffer, cutAt: number[]): Buffer[] {
  const points = [...new Set(cutAt.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

/** `length` bytes starting with `tag` (a uint32) that differ from message to message. */
export function pattern(tagByte: number, tag: number, length: number): Buffer<ArrayBuffer> {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + tag * 101 + (i >>> 10)) & 0xff;
  return tagged(bytes, tagByte, tag);
}

/** `bytes` with `tagByte` then `tag` (a uint32) written over its first five bytes, where it has them: messages tell apart in a log. */
export function tagged<T extends Buffer>(bytes: T, tagByte: number, tag: number): T {
  if (bytes.length >= 5) {
    bytes[0] = tagByte;
    bytes.writeUInt32BE(tag, 1);
  }
  return bytes;
}

/** A string `prefix` + `unit` repeated, about `length` UTF-8 bytes long (at least the prefix). */
export function textOf(prefix: string, length: number, unit: string): string {
  return prefix + unit.repeat(Math.max(0, Math.floor((length - prefix.length) / Buffer.byteLength(unit))));
}

/** Bytes of a server frame's header for a payload of `length` bytes. */
export const headerBytes = (length: number): number => (length < 126 ? 2 : length < 65536 ? 4 : 10);

/**
 * Sends `bytes` as an ArrayBuffer, a Uint8Array view at `offset` into a larger buffer, or a Blob,
 * then overwrites the caller's copy: the caller may reuse its buffer once send() returns, so the
 * client must have taken what it sends by then.
 */
export function sendBinary(ws: WebSocket, type: "arraybuffer" | "u8" | "blob", bytes: Uint8Array<ArrayBuffer>, offset = 0): void {
  if (type === "arraybuffer") {
    const buffer = new ArrayBuffer(bytes.length);
    new Uint8Array(buffer).set(bytes);
    ws.send(buffer);
    new Uint8Array(buffer).fill(0xee);
  } else if (type === "u8") {
    const view = new Uint8Array(new ArrayBuffer(bytes.length + offset + 3), offset, bytes.length);
    view.set(bytes);
    ws.send(view);
    view.fill(0xee);
  } else {
    ws.send(new Blob([bytes]));
  }
}

/**
 * The application's send() calls in a run: tagged payloads of about the size asked (text from
 * `text`, binary from pattern(), at least `minBinary` bytes), shrunk to 16 bytes once the run's
 * `budget` of bytes is spent (time, not coverage).
 */
export class Sends {
  /** Numbers the payloads; other tagged calls of the run (ping payloads) take theirs from it too. */
  tag = 0;
  #spent = 0;
  readonly #ws: WebSocket;
  readonly #budget: number;
  readonly #text: (prefix: string, length: number, unit: string) => string;
  readonly #minBinary: number;

  constructor(ws: WebSocket, options: { budget: number; text: (prefix: string, length: number, unit: string) => string; minBinary: number }) {
    this.#ws = ws;
    this.#budget = options.budget;
    this.#text = options.text;
    this.#minBinary = options.minBinary;
  }

  /**
   * Sends `a`; `before` learns the message (its bytes copied: the caller's buffer is overwritten
   * after the call) and its description before the call, so the model is right even when it throws.
   */
  send(a: { type: "text" | "arraybuffer" | "u8" | "blob"; size: number; unit: string; offset?: number }, before: (message: { text: boolean; bytes: Buffer }, describe: string) => void): void {
    const tag = this.tag++;
    let length = a.size;
    if (this.#spent + length > this.#budget) length = Math.min(length, 16);
    this.#spent += length;
    if (a.type === "text") {
      const text = this.#text(`C${tag}:`, length, a.unit);
      const bytes = Buffer.from(text);
      before({ text: true, bytes }, `send(text ${bytes.length} B #${tag})`);
      this.#ws.send(text);
    } else {
      const bytes = pattern(0xc1, tag, Math.max(length, this.#minBinary));
      before({ text: false, bytes: Buffer.from(bytes) }, `send(${a.type} ${bytes.length} B #${tag})`);
      sendBinary(this.#ws, a.type, bytes, a.offset);
    }
  }
}

/** close() with exactly the arguments given: close(), close(code) or close(code, reason). */
export function closeWith(ws: WebSocket, code: number | undefined, reason: string | undefined): void {
  if (code === undefined && reason === undefined) ws.close();
  else if (reason === undefined) ws.close(code);
  else ws.close(code, reason);
}

// ---------------------------------------------------------------------------------------------
// The property: process-level failures, fast-check, the report

// What escapes the client (uncaughtException / unhandledRejection), recorded for the run in
// progress. One list for both properties: they never run at the same time, and each run clears it.
const escaped: string[] = [];
const onUncaught = (error: unknown): void => {
  escaped.push(`uncaughtException: ${(error as Error)?.stack ?? String(error)}`);
};
const onRejection = (reason: unknown): void => {
  escaped.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`);
};

/**
 * fc.assert of `run` over `scenarios` with the PROP_RUNS and PROP_SEED settings, catching what
 * escapes the client meanwhile; `setup` runs first and `teardown` before the statistics print.
 */
export async function assertProperty<T>(
  scenarios: fc.Arbitrary<T>,
  run: (scenario: T) => Promise<void>,
  options: { interruptAfterTimeLimit: number; stats: Stats; setup?: () => void; teardown?: () => void },
): Promise<void> {
  const proc = globalThis.process;
  proc?.on("uncaughtException", onUncaught);
  proc?.on("unhandledRejection", onRejection);
  options.setup?.();
  try {
    await fc.assert(fc.asyncProperty(scenarios, run), {
      numRuns: NUM_RUNS,
      ...(SEED === undefined ? {} : { seed: SEED }),
      // A hang costs seconds per shrinking step: report what was found rather than shrink for minutes.
      interruptAfterTimeLimit: options.interruptAfterTimeLimit,
      markInterruptAsFailure: false,
    });
  } catch (error) {
    // fast-check keeps the run's own error (with its step log) as the cause: show it.
    const cause = (error as { cause?: unknown }).cause;
    if (cause === undefined) throw error;
    throw new Error(`${(error as Error).message}\n${(cause as Error)?.message ?? String(cause)}`);
  } finally {
    options.teardown?.();
    options.stats.print();
    proc?.off("uncaughtException", onUncaught);
    proc?.off("unhandledRejection", onRejection);
  }
}

/** The process's timers, immediates and sockets by kind (empty where the runtime does not tell). */
export function resources(): Map<string, number> {
  const info = (globalThis.process as { getActiveResourcesInfo?: () => string[] } | undefined)?.getActiveResourcesInfo?.() ?? [];
  const counts = new Map<string, number>();
  for (const name of info) if (/Timeout|Immediate|TCP|Pipe/.test(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

function exceeds(after: Map<string, number>, before: Map<string, number>): string | undefined {
  const extra = [...after].filter(([name, n]) => n > (before.get(name) ?? 0)).map(([name, n]) => `${name}: ${before.get(name) ?? 0} -> ${n}`);
  return extra.length === 0 ? undefined : extra.join(", ");
}

/**
 * One run's step log, its problems (all collected, the first reported, PROP_IGNORE looked past),
 * waiting under the run's deadline, and the checks after it: resources left, escapes, a hang.
 */
export class PropertyRun {
  readonly log: string[] = [];
  readonly problems: string[] = [];
  /** A run (steps, then closing) that takes longer than this is a hang. */
  readonly runMs: number;
  /** Waits inside a run (the server's frames processed, a ping answered) fail after this. */
  readonly waitMs: number;
  readonly #t0 = Date.now();
  readonly #before: Map<string, number>;
  #deadline = Number.POSITIVE_INFINITY;
  #hung = false;

  constructor(timing: { runMs: number; waitMs: number }) {
    this.runMs = timing.runMs;
    this.waitMs = timing.waitMs;
    escaped.length = 0;
    this.#before = resources();
  }

  readonly say = (line: string): void => {
    this.log.push(`${String(Date.now() - this.#t0).padStart(4)}ms ${line}`);
  };

  readonly problem = (message: string): void => {
    if (IGNORE.some((s) => message.includes(s))) {
      this.say(`(ignored) ${message}`);
      return;
    }
    this.problems.push(message);
    this.say(`!! ${message}`);
  };

  /** A wait ran into the run's deadline. */
  get hung(): boolean {
    return this.#hung;
  }

  /** The run's deadline starts now (once the server is up). */
  startClock(): void {
    this.#deadline = Date.now() + this.runMs;
  }

  /** Polls `cond` until true; false after `ms` (or the run's deadline, which marks a hang). */
  readonly until = async (cond: () => boolean, ms = this.waitMs): Promise<boolean> => {
    const limit = Math.min(Date.now() + ms, this.#deadline);
    while (!cond()) {
      if (Date.now() >= limit) {
        if (Date.now() >= this.#deadline) this.#hung = true;
        return false;
      }
      await sleep(1);
    }
    return true;
  };

  /** No timer, immediate or socket of the client left behind (call once the server is closed: its are gone too). */
  async checkLeftovers(): Promise<void> {
    let leak: string | undefined;
    for (let i = 0; i < 50; i++) {
      await sleep(i < 10 ? 0 : 2);
      leak = exceeds(resources(), this.#before);
      if (leak === undefined) break;
    }
    if (leak !== undefined) this.problem(`active resources left: ${leak}`);
  }

  /** The last checks (escapes, a hang unless `hung` is false), then fails with the first problem and the step log. */
  finish(options: { hung: boolean; verbose: boolean }): void {
    if (escaped.length > 0) this.problem(`escaped from the client:\n${escaped.join("\n")}`);
    if (options.hung) this.problem(`the run hung (over ${this.runMs} ms)`);
    if (options.verbose) console.log(`--- run ---\n${this.log.join("\n")}`);
    const { log, problems } = this;
    if (problems.length > 0) {
      const lines = log.length > 300 ? [...log.slice(0, 100), `… ${log.length - 250} lines …`, ...log.slice(-150)] : log;
      assert.fail(`${problems[0]}${problems.length > 1 ? `\n(and ${problems.length - 1} more: ${problems.slice(1, 4).join(" | ")})` : ""}\n--- step log ---\n${lines.join("\n")}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The server side: entries written (in wire order) and the client's frames

/**
 * What the shared server code writes itself, in each property's log of entries: control frames
 * and close frames (its close echo and the ending's close are valid ones).
 */
export type CommonEntry = { kind: "ping" | "pong"; data: Buffer } | { kind: "close"; code: number; reason: string; valid: boolean };
/** The entries a property logs: `data` where the entry is a message or a control frame. */
export type EntryLike = { kind: string; data?: Buffer };
/** An entry and the byte offset in its burst from which the client can know it. */
export type Placed<W> = { entry: W; at: number };

/**
 * The server's side of one connection: it reads the client's frames (unmasked), answers pings
 * with pongs and the client's close frame with a close frame then FIN (RFC 6455 §5.5.2, §5.5.1,
 * §7.1.1), and writes bursts whole or in pieces. `written` logs what it wrote, in wire order;
 * subclasses look at each client frame first through inspect().
 */
export class ServerPeer<W extends EntryLike> {
  readonly written: Array<W | CommonEntry> = [];
  readonly frames: ClientFrame[] = [];
  socket: net.Socket | undefined;
  sentClose = false;
  ended = false;
  tcpClosed = false;
  protected readonly log: (line: string) => void;
  #buffer: Buffer = Buffer.alloc(0);
  #busy = false;
  #pending: Array<() => void> = [];

  constructor(log: (line: string) => void) {
    this.log = log;
  }

  attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    socket.on("close", () => {
      this.tcpClosed = true;
      this.log("server: TCP closed");
    });
  }

  get writable(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && !this.ended && this.socket.writable;
  }

  /** The server's side of TCP is still up: neither its FIN nor a destroy yet. */
  get open(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && !this.ended;
  }

  get gotClose(): ClientFrame | undefined {
    return this.frames.find((f) => f.opcode === 8);
  }

  /** The server's FIN or TCP destroy (whether or not its side was still up). */
  drop(how: "end" | "destroy"): void {
    if (how === "end") {
      this.ended = true;
      this.socket?.end();
    } else {
      this.socket?.destroy();
    }
  }

  /**
   * Writes `bytes` (logging the entries now, in the order the client can know them: their bytes
   * precede anything written later) whole or in pieces; with `cutoff` only its first `at` bytes
   * (and the entries placed within them, then its own), then FIN or destroy.
   */
  async burst(bytes: Buffer, placed: ReadonlyArray<Placed<W | CommonEntry>>, pieces: number[] | undefined, cutoff?: { at: number; how: "end" | "destroy"; entry: W }): Promise<void> {
    if (!this.writable) {
      this.log("server: (not writable, burst skipped)");
      return;
    }
    let data = bytes;
    // Entries in the order the client can know them (a header violation before the controls after it).
    const sorted = [...placed].sort((a, b) => a.at - b.at);
    if (cutoff !== undefined) {
      const at = cutoff.at % (bytes.length + 1);
      data = bytes.subarray(0, at);
      for (const p of sorted) if (p.at <= at) this.written.push(p.entry);
      this.written.push(cutoff.entry);
      this.log(`server: burst cut after ${at} of ${bytes.length} bytes, then ${cutoff.how}`);
    } else {
      for (const p of sorted) this.written.push(p.entry);
    }
    this.#busy = true;
    try {
      if (pieces === undefined) {
        if (data.length > 0) this.socket!.write(data);
      } else {
        for (const piece of cut(data, pieces)) {
          if (!this.writable) return;
          this.socket!.write(piece);
          await tick();
        }
      }
      if (cutoff !== undefined) {
        this.ended = true;
        if (cutoff.how === "end") this.socket!.end();
        else this.socket!.destroy();
      }
    } finally {
      this.#busy = false;
      for (const pending of this.#pending.splice(0)) pending();
    }
  }

  /** Called for each client frame as it is read, before the server answers it. */
  protected inspect(_frame: ClientFrame, _index: number): void {}

  /** A server reply (pong, close echo, FIN) goes out between bursts, never inside a frame. */
  #reply(write: () => void): void {
    if (this.#busy) this.#pending.push(write);
    else write();
  }

  #parse(): void {
    for (let taken; (taken = takeClientFrame(this.#buffer)); ) {
      const { frame, rest } = taken;
      this.#buffer = rest;
      this.frames.push(frame);
      this.log(`server got: op ${frame.opcode}${frame.fin ? "" : " (no fin)"}${frame.rsv ? ` rsv ${frame.rsv}` : ""} ${hex(frame.payload)}`);
      this.inspect(frame, this.frames.length - 1);
      if (frame.opcode === 9) {
        // RFC 6455 §5.5.2: answer with the same data (not once our close is out).
        this.#reply(() => {
          if (!this.writable || this.sentClose) return;
          this.written.push({ kind: "pong", data: frame.payload });
          this.socket!.write(serverFrame(10, frame.payload));
        });
      } else if (frame.opcode === 8) {
        // RFC 6455 §5.5.1: echo the status code; §7.1.1: the server then closes TCP first.
        this.#reply(() => {
          if (!this.writable) return;
          if (!this.sentClose) {
            this.sentClose = true;
            const code = closeCodeOf(frame.payload);
            this.written.push({ kind: "close", code: code ?? 1005, reason: "", valid: true });
            this.socket!.write(serverFrame(8, closeBody(code, undefined)));
            this.log(`server: echoed close ${code ?? "(empty)"}`);
          }
          this.ended = true;
          this.socket!.end();
        });
      }
    }
  }
}

/** Control frames between the fragments of a server message. */
export interface Control {
  ping: boolean;
  size: number;
}

/** The frames of one server burst and its entries, placed at the byte offset from which the client can know them. */
export class BurstBuilder<W> {
  readonly placed: Array<Placed<W | CommonEntry>> = [];
  /** For the step log. */
  readonly descr: string[] = [];
  /** The burst ends with a close frame: nothing after it. */
  closing = false;
  lastPing: Buffer | undefined;
  #offset = 0;
  readonly #chunks: Buffer[] = [];
  readonly #tag: () => number;

  /** `tag` numbers the server's payloads (a run-wide counter: pings and messages differ across bursts). */
  constructor(tag: () => number) {
    this.#tag = tag;
  }

  /** Bytes so far. */
  get offset(): number {
    return this.#offset;
  }

  get bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  push(frame: Buffer): void {
    this.#chunks.push(frame);
    this.#offset += frame.length;
  }

  /** Logs `entry`, by default where the bytes so far end. */
  place(entry: W | CommonEntry, at = this.#offset): void {
    this.placed.push({ entry, at });
  }

  /** A ping or pong with a tagged payload of `length` bytes. */
  control(ping: boolean, length: number): void {
    const data = Buffer.from(`${ping ? "i" : "o"}${this.#tag()}:${"y".repeat(125)}`).subarray(0, length);
    this.push(serverFrame(ping ? 9 : 10, data));
    this.place({ kind: ping ? "ping" : "pong", data });
    if (ping) this.lastPing = data;
  }

  /**
   * A data message of `payload` in fragments cut at `cutAt`, RSV1 on its first frame when `rsv1`;
   * `controls` between the fragments (logged before the message, which completes after them).
   * `rsv1At`: a continuation that wrongly carries RSV1; `violationAt` is where its payload starts.
   */
  message(text: boolean, payload: Buffer, rsv1: boolean, cutAt: number[], controls: Control[], rsv1At?: number): { parts: number; violationAt: number | undefined } {
    const parts = cut(payload, cutAt);
    if (parts.length === 0) parts.push(Buffer.alloc(0));
    let violationAt: number | undefined;
    parts.forEach((part, i) => {
      const fin = i === parts.length - 1;
      const rsv = (i === 0 && rsv1) || (rsv1At !== undefined && i === rsv1At) ? 4 : 0;
      if (rsv1At !== undefined && i === rsv1At) violationAt ??= this.#offset + headerBytes(part.length);
      this.push(serverFrame(i === 0 ? (text ? 1 : 2) : 0, part, { fin, rsv }));
      const c = fin ? undefined : controls[i];
      if (c !== undefined) this.control(c.ping, c.size);
    });
    return { parts: parts.length, violationAt };
  }
}

// ---------------------------------------------------------------------------------------------
// The client side: its events, in order, with the state it was in

export const LISTENED = ["open", "message", "pong", "error", "close"] as const;
export type Listened = (typeof LISTENED)[number];

export interface Ev {
  type: Listened;
  readyState: number;
  binaryType: string;
  data?: unknown;
  code?: number;
  reason?: string;
  wasClean?: boolean;
  errorCode?: number | undefined;
  errorMessage?: string | undefined;
}

/**
 * Records every event of `ws` (its listeners are added first, so before any the scripts add) and
 * samples its state: readyState only moves forward, and with `bufferedAmount` that it is never
 * negative. Reading bufferedAmount settles the client's sender, so a property that does not check
 * it does not read it either (it would change when the client writes).
 */
export class ClientRecord {
  readonly events: Ev[] = [];
  close: Ev | undefined;
  #lastReadyState = 0;
  readonly #ws: WebSocket;
  readonly #problem: (message: string) => void;
  readonly #bufferedAmount: boolean;

  constructor(ws: WebSocket, run: Pick<PropertyRun, "say" | "problem">, options: { bufferedAmount: boolean }) {
    this.#ws = ws;
    this.#problem = run.problem;
    this.#bufferedAmount = options.bufferedAmount;
    for (const type of LISTENED) {
      ws.addEventListener(type, (event: Event) => {
        const e = event as Event & { data?: unknown; code?: number; reason?: string; wasClean?: boolean; error?: { closeCode?: number; message?: string } };
        const ev: Ev = { type, readyState: ws.readyState, binaryType: ws.binaryType };
        if (type === "message" || type === "pong") ev.data = e.data;
        if (type === "close") Object.assign(ev, { code: e.code, reason: e.reason, wasClean: e.wasClean });
        if (type === "error") Object.assign(ev, { errorCode: e.error?.closeCode, errorMessage: e.error?.message });
        if (this.close !== undefined) run.problem(`${type} event after the close event`);
        if (type === "close") this.close = ev;
        this.events.push(ev);
        const detail =
          type === "message"
            ? typeof e.data === "string"
              ? `text ${hex(Buffer.from(e.data.slice(0, 12)))} (${Buffer.byteLength(e.data)} B)`
              : e.data instanceof ArrayBuffer
                ? `arraybuffer ${hex(new Uint8Array(e.data))}`
                : `blob ${(e.data as Blob).size} B`
            : type === "pong"
              ? hex(e.data as Uint8Array)
              : type === "close"
                ? `${e.code} ${JSON.stringify(e.reason?.slice(0, 8))} wasClean=${e.wasClean}`
                : type === "error"
                  ? `${e.error?.message} (closeCode ${e.error?.closeCode})`
                  : "";
        run.say(`event ${type} ${detail} [readyState ${ev.readyState}${this.#bufferedAmount ? `, bufferedAmount ${ws.bufferedAmount}` : ""}]`);
        this.sample(`${type} event`);
      });
    }
  }

  get opened(): boolean {
    return this.events.some((e) => e.type === "open");
  }

  readonly sample = (where: string): void => {
    const rs = this.#ws.readyState;
    if (rs < this.#lastReadyState) this.#problem(`readyState went back from ${this.#lastReadyState} to ${rs} (${where})`);
    this.#lastReadyState = Math.max(this.#lastReadyState, rs);
    if (this.#bufferedAmount) {
      const buffered = this.#ws.bufferedAmount;
      if (!(buffered >= 0)) this.#problem(`bufferedAmount ${buffered} (${where})`);
    }
  };
}

/** The listeners' scripts: the n-th call of each on* handler (and a pong listener) does scripts[type][n]. */
export function runScripts<A>(ws: WebSocket, scripts: Record<Listened, A[]>, act: (a: A, where: string) => void): void {
  const counts: Record<Listened, number> = { open: 0, message: 0, pong: 0, error: 0, close: 0 };
  const script = (type: Listened) => (): void => {
    const a = scripts[type][counts[type]++];
    if (a !== undefined) act(a, `on${type} script`);
  };
  ws.onopen = script("open");
  ws.onmessage = script("message");
  ws.onerror = script("error");
  ws.onclose = script("close");
  ws.addEventListener("pong", script("pong"));
}

// ---------------------------------------------------------------------------------------------
// Driving a run

/** Everything a run drives and watches. */
export interface RunContext<W extends EntryLike> {
  run: PropertyRun;
  rec: ClientRecord;
  peer: ServerPeer<W>;
  ws: WebSocket;
  /** Probe pongs written so far. */
  probes: number;
}

/** The steps both properties have; each adds its "frames" step. */
export type CommonStep<A> = { kind: "app"; act: A } | { kind: "wait"; ms: number } | { kind: "end" } | { kind: "destroy" };

/** Runs `steps` until the run hangs; after each, a tick and a state sample. */
export async function runSteps<W extends EntryLike, A, F extends { kind: "frames" }>(
  ctx: RunContext<W>,
  steps: ReadonlyArray<CommonStep<A> | F>,
  handle: { act: (a: A, where: string) => void; drop: (how: "end" | "destroy") => void; frames: (step: F) => Promise<void> },
): Promise<void> {
  const { run, rec } = ctx;
  for (const st of steps) {
    if (run.hung) break;
    if (st.kind === "frames") {
      await handle.frames(st as F);
    } else {
      const common = st as CommonStep<A>;
      switch (common.kind) {
        case "app":
          handle.act(common.act, "step");
          break;
        case "wait":
          run.say(`step: wait ${common.ms} ms`);
          await sleep(common.ms);
          break;
        case "end":
        case "destroy":
          handle.drop(common.kind);
          break;
      }
    }
    await tick();
    rec.sample("after step");
  }
}

/**
 * A "frames" step: the burst `build` makes (skipped once the server closed), with a probe pong at
 * its end when `sync` (and the burst neither closes nor is cut): the run then waits until the
 * client has processed the whole burst, and while OPEN until it answers the burst's last ping.
 */
export async function writeFrames<W extends EntryLike>(
  ctx: RunContext<W>,
  build: () => BurstBuilder<W> | Promise<BurstBuilder<W>>,
  options: { pieces: number[] | undefined; sync: boolean; cutoff?: { at: number; how: "end" | "destroy"; entry: W } | undefined },
): Promise<void> {
  const { run, rec, peer, ws } = ctx;
  if (!peer.writable || peer.sentClose) {
    run.say(`step: frames skipped (${peer.sentClose ? "server closed" : "socket gone"})`);
    return;
  }
  const burst = await build();
  const { pieces, cutoff } = options;
  // A probe pong at the end tells when the client has processed the whole burst.
  const probe = options.sync && !burst.closing && cutoff === undefined ? Buffer.from(`probe${ctx.probes++}`) : undefined;
  if (probe !== undefined) {
    burst.push(serverFrame(10, probe));
    burst.place({ kind: "pong", data: probe });
  }
  run.say(`step: server writes ${burst.descr.join(", ")}${probe ? " + probe" : ""}${pieces ? ` in pieces ${JSON.stringify(pieces)}` : ""}`);
  await peer.burst(burst.bytes, burst.placed, pieces, cutoff);
  if (probe === undefined) return;
  const seen = (): Ev | undefined => rec.events.find((e) => e.type === "pong" && Buffer.from(e.data as Uint8Array).equals(probe));
  const ok = await run.until(() => seen() !== undefined || rec.close !== undefined || peer.tcpClosed);
  if (!ok && !run.hung) run.problem(`the client did not process the server's frames within ${run.waitMs} ms (readyState ${ws.readyState})`);
  const probeEvent = seen();
  // Processed while OPEN: the last ping of the burst must be answered unless the client starts closing.
  const ping = burst.lastPing;
  if (ok && probeEvent !== undefined && probeEvent.readyState === 1 && ping !== undefined) {
    const answered = (): boolean => peer.frames.some((f) => f.opcode === 10 && f.payload.equals(ping));
    const fine = await run.until(() => answered() || ws.readyState !== 1 || peer.tcpClosed);
    if (!fine && !run.hung) run.problem(`ping ${hex(ping, 8)} processed while OPEN but not answered within ${run.waitMs} ms`);
  }
}

/**
 * The end of a run: unless the client already closed, the server's close frame ("server"), its
 * FIN ("fin", after `onFin`) or the application's close(1000) ("client"); then the close event
 * (a problem without one within the run's time, or once `stuck`), the server's side closing too,
 * and a last sample. True when the close event came.
 */
export async function endRun<W extends EntryLike>(
  ctx: RunContext<W>,
  ending: "client" | "server" | "fin",
  hooks: { closeByClient: () => void; onFin: () => void; stuck?: () => boolean; noClose?: () => string | undefined },
): Promise<boolean> {
  const { run, rec, peer, ws } = ctx;
  if (rec.close === undefined && !run.hung) {
    run.say(`ending: ${ending}`);
    if (ending === "server" && peer.writable && !peer.sentClose) {
      peer.sentClose = true;
      await peer.burst(serverFrame(8, closeBody(1000, "done")), [{ entry: { kind: "close", code: 1000, reason: "done", valid: true }, at: 0 }], undefined);
    } else if (ending === "fin" && peer.writable) {
      hooks.onFin();
      peer.drop("end");
    } else {
      hooks.closeByClient();
    }
  }
  const stuck = hooks.stuck ?? ((): boolean => false);
  const closed = (await run.until(() => rec.close !== undefined || stuck(), run.runMs)) && rec.close !== undefined;
  if (!closed) run.problem(hooks.noClose?.() ?? `no close event within the run's ${run.runMs} ms (readyState ${ws.readyState})`);
  // The server side closes too; anything the client wrongly fires after close shows by then.
  await run.until(() => peer.socket === undefined || peer.tcpClosed, 500);
  await sleep(5);
  rec.sample("end");
  return closed;
}

// ---------------------------------------------------------------------------------------------
// Invariants both properties check

/** How the first close()/terminate() while the client could still close was called. */
export type Initiator = { kind: "close"; code: number | undefined; reason: string | undefined } | { kind: "terminate" };

/**
 * Event order: [open], (message|pong)*, [error], close: one close event and it is the last, an
 * error only right before it, an open (`open`: at most one, or exactly one) first; message events
 * only while OPEN, the close event in CLOSED. `each` adds checks per event.
 */
export function checkEventOrder(events: readonly Ev[], problem: (message: string) => void, initiator: Initiator | undefined, options: { open: "at most one" | "exactly one"; each?: (e: Ev) => void }): void {
  const types = events.map((e) => e.type);
  const closes = types.filter((t) => t === "close").length;
  if (closes !== 1) problem(`${closes} close events`);
  if (types.at(-1) !== "close") problem(`the last event is ${types.at(-1)}, not close`);
  const opens = types.filter((t) => t === "open").length;
  if (options.open === "exactly one") {
    if (opens !== 1 || types[0] !== "open") problem(`open is not the first and only open: ${types.join(",")}`);
  } else {
    if (opens > 1) problem(`${opens} open events`);
    if (opens === 1 && types[0] !== "open") problem(`open is not the first event: ${types.join(",")}`);
  }
  const errors = types.filter((t) => t === "error").length;
  if (errors > 1 || (errors === 1 && types.at(-2) !== "error")) problem(`error events out of place: ${types.join(",")}`);
  for (const e of events) {
    // WHATWG delivers messages only while OPEN. After terminate() (not a W3C method) the client
    // still delivers messages already read (connection.ts terminate(), by design): allowed.
    if (e.type === "message" && e.readyState !== 1 && !(e.readyState === 2 && initiator?.kind === "terminate")) problem(`a message event in readyState ${e.readyState}`);
    if (e.type === "close" && e.readyState !== 3) problem(`close event in readyState ${e.readyState}`);
    options.each?.(e);
  }
}

/** What a message or pong event carries, as the kind and bytes of the server's entry for it. */
async function carried(e: Ev): Promise<{ kind: "text" | "binary" | "pong"; bytes: Buffer }> {
  if (e.type === "pong") return { kind: "pong", bytes: Buffer.from(e.data as Uint8Array) };
  if (typeof e.data === "string") return { kind: "text", bytes: Buffer.from(e.data) };
  if (e.data instanceof Blob) return { kind: "binary", bytes: Buffer.from(await e.data.arrayBuffer()) };
  return { kind: "binary", bytes: Buffer.from(e.data as ArrayBuffer) };
}

/**
 * Message and pong events against the server's entries `W`: in wire order, each for one entry
 * before `limit` (same kind and bytes, so complete and exactly once), and everything before an
 * entry with an event processed: pongs always surface, messages while OPEN. An event that maps
 * to nothing goes to `unmatched` (`at`: the entry of the event before) and ends the check.
 * The entries with an event, or undefined after `unmatched`.
 */
export async function mapEvents(
  events: readonly Ev[],
  W: readonly EntryLike[],
  problem: (message: string) => void,
  options: { limit: number; unmatched: (e: Ev, kind: string, bytes: Buffer, at: number) => void },
): Promise<Set<number> | undefined> {
  const mapped = new Set<number>();
  let at = -1;
  for (const e of events) {
    if (e.type !== "message" && e.type !== "pong") continue;
    const { kind, bytes } = await carried(e);
    let j = -1;
    for (let i = at + 1; i < options.limit; i++) {
      if (W[i]!.kind === kind && W[i]!.data?.equals(bytes) === true) {
        j = i;
        break;
      }
    }
    if (j === -1) {
      options.unmatched(e, kind, bytes, at);
      return undefined;
    }
    mapped.add(j);
    at = j;
    for (let i = 0; i < j; i++) {
      const w = W[i]!;
      if (mapped.has(i) || w.data === undefined) continue;
      if (w.kind === "pong") problem(`server pong ${hex(w.data)} (frame ${i}) has no pong event, though frame ${j} has an event`);
      if ((w.kind === "text" || w.kind === "binary") && e.readyState === 1) problem(`server ${w.kind} message ${hex(w.data)} (entry ${i}) not delivered, though entry ${j} was, while OPEN`);
    }
  }
  return mapped;
}

/**
 * The client's data messages as the server got them against those sent while OPEN: in order and
 * intact (`also` adds a check per message), all of them once the server has the client's close
 * frame, unless the client failed.
 */
export function checkDataMessages(
  got: ReadonlyArray<{ text: boolean; bytes: Buffer }>,
  expected: ReadonlyArray<{ text: boolean; bytes: Buffer }>,
  problem: (message: string) => void,
  options: { allExpected: boolean; also?: (i: number) => string | undefined },
): void {
  if (got.length > expected.length) problem(`the server got ${got.length} data messages, ${expected.length} were sent while OPEN`);
  for (let i = 0; i < Math.min(got.length, expected.length); i++) {
    const [g, want] = [got[i]!, expected[i]!];
    const wrong =
      g.text !== want.text || !g.bytes.equals(want.bytes)
        ? `client data message ${i}: the server got ${g.text ? "text" : "binary"} ${hex(g.bytes)}, sent ${want.text ? "text" : "binary"} ${hex(want.bytes)}`
        : options.also?.(i);
    if (wrong !== undefined) {
      problem(wrong);
      break;
    }
  }
  if (options.allExpected && got.length !== expected.length) {
    problem(`the server got the client's close frame after ${got.length} of the ${expected.length} messages sent while OPEN`);
  }
}

/** The client's pongs (payloads in wire order): answers to server pings, in order, each at most once. */
export function checkClientPongs(pongs: readonly Buffer[], W: readonly EntryLike[], problem: (message: string) => void): void {
  let k = -1;
  for (const pong of pongs) {
    const j = W.findIndex((w, i) => i > k && w.kind === "ping" && w.data?.equals(pong) === true);
    if (j === -1) {
      problem(`client pong ${hex(pong)} answers no later server ping`);
      break;
    }
    k = j;
  }
}

/** The client's close frame: the code it was asked for, the failure's, or the server's echoed (none after terminate()). */
export function checkClientClose(
  clientClose: ClientFrame | undefined,
  initiator: Initiator | undefined,
  error: Ev | undefined,
  serverClose: { code: number } | undefined,
  problem: (message: string) => void,
): void {
  if (clientClose === undefined) return;
  let want: Buffer | undefined;
  if (initiator?.kind === "close") want = closeBody(initiator.code === undefined && initiator.reason ? 1000 : initiator.code, initiator.reason);
  else if (initiator?.kind === "terminate") want = undefined;
  else if (error !== undefined) want = error.errorCode === undefined ? undefined : closeBody(error.errorCode, undefined);
  else if (serverClose !== undefined) want = closeBody(serverClose.code === 1005 ? undefined : serverClose.code, undefined);
  if (want === undefined) problem(`the client sent close ${hex(clientClose.payload)} where none was expected`);
  else if (!want.equals(clientClose.payload)) problem(`the client's close frame is ${hex(clientClose.payload)}, expected ${hex(want)}`);
}

// Property test (fast-check): one built-in WebSocket per run against a raw TCP server on 127.0.0.1,
// driven through random sequences of server frames (text and binary messages, fragmented with
// pings and pongs between the fragments, pings, pongs, a close frame with a valid or invalid code,
// TCP FIN, TCP destroy; written whole or in random pieces) and application calls (send() of strings,
// ArrayBuffers, Uint8Array views and Blobs up to 256 KiB, ping(), close(code?, reason?),
// terminate(), binaryType switches), while the client's own listeners (onopen, onmessage, onclose,
// onerror, pong) call close(), terminate(), send(), ping() or nothing, each from a pre-generated
// script. The server answers the client's pings with pongs and its close frame with a close frame
// (then FIN), as RFC 6455 asks. Invariants, checked during and after each run:
//
// - nothing escapes the client (uncaughtException / unhandledRejection); the calls the W3C API says
//   must throw (send()/ping() while CONNECTING: InvalidStateError, close(1001): InvalidAccessError,
//   a reason over 123 bytes: SyntaxError, ping data over 125 bytes) throw exactly that, no other does;
// - readyState only moves forward; at most one open (first), message events only while OPEN,
//   exactly one close event and it is the last, an error only right before it; message and pong
//   events come in wire order, each for a frame the server wrote, none twice, and none skipped
//   while the client was still OPEN; the close event's code, reason and wasClean agree with the
//   close frames exchanged (clean only if both were; always clean when nobody dropped TCP);
// - every data message sent while OPEN reaches the server in order and intact (the server unmasks
//   the client's frames), all of them once the server has the client's close frame; nothing after
//   that close frame, nothing sent after close() began; the close frame carries the right code;
// - every server ping is answered with a pong carrying its payload (the latest of a burst at least,
//   RFC 6455 §5.5.3) unless the client is closing; pongs the server sends surface as pong events;
// - bufferedAmount is never negative, and after a clean close it is exactly the bytes given to
//   send() after closing began (WHATWG: counted, never sent);
// - the run ends with the client CLOSED and no timer, immediate or socket of its own left
//   (process.getActiveResourcesInfo() before and after); a run over RUN_MS is a hang.
//
// Environment: PROP_RUNS and PROP_SEED override the number of runs and the seed; PROP_IGNORE
// (comma-separated substrings of failure messages) looks past a known failure for the next one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type net from "node:net";
import fc from "fast-check";
import { WebSocket } from "../../src/node-client.js";
import { rawServer, serverFrame, takeClientFrame, type ClientFrame } from "./node-client-helpers.js";

const NUM_RUNS = Number(globalThis.process?.env?.["PROP_RUNS"] ?? 200);
/** Substrings of failure messages to look past (comma-separated), to find the next failure behind a known one. */
const IGNORE = (globalThis.process?.env?.["PROP_IGNORE"] ?? "").split(",").filter((s) => s !== "");
const SEED = globalThis.process?.env?.["PROP_SEED"] === undefined ? undefined : Number(globalThis.process.env["PROP_SEED"]);
/** A run (steps, then closing) that takes longer than this is a hang. */
const RUN_MS = 5000;
/** Waits inside a run (the server's frames processed, a ping answered) fail after this. */
const WAIT_MS = 2000;
/** The client's closeTimeout: the server always answers, so this only bounds a lost close. */
const CLOSE_TIMEOUT = 1000;
/** Payload bytes sent per run beyond which sends shrink to a few bytes (time, not coverage). */
const RUN_BYTES = 1536 * 1024;
/** PROP_STATS=1 prints how often each outcome was reached. */
const STATS = globalThis.process?.env?.["PROP_STATS"] === "1" ? new Map<string, number>() : undefined;
const stat = (key: string): void => {
  STATS?.set(key, (STATS.get(key) ?? 0) + 1);
};

// ---------------------------------------------------------------------------------------------
// Scenarios

type SendKind = "text" | "arraybuffer" | "u8" | "blob";
type Act =
  | { kind: "none" }
  | { kind: "send"; type: SendKind; size: number; unit: string; offset: number }
  | { kind: "ping"; size: number; noArg: boolean }
  | { kind: "close"; code: number | undefined; reason: string | undefined }
  | { kind: "terminate" }
  | { kind: "binaryType"; value: string };

type Item =
  | { kind: "message"; text: boolean; size: number; cuts: number[]; between: Array<{ ping: boolean; size: number }> }
  | { kind: "ping"; size: number }
  | { kind: "pong"; size: number }
  | { kind: "close"; shape: "code" | "empty" | "one-byte"; code: number; reason: string };

type Step =
  | { kind: "app"; act: Act }
  | { kind: "wait"; ms: number }
  | { kind: "frames"; items: Item[]; pieces: number[] | undefined; sync: boolean }
  | { kind: "end" }
  | { kind: "destroy" };

const LISTENED = ["open", "message", "pong", "error", "close"] as const;
type Listened = (typeof LISTENED)[number];

interface Scenario {
  preOpen: Act[];
  steps: Step[];
  scripts: Record<Listened, Act[]>;
  ending: "client" | "server" | "fin";
}

const size = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 2, arbitrary: fc.constantFrom(125, 126, 65535, 65536, 65537) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 256 * 1024 }) },
);
const smallSize = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.constant(70_000) });

const sendAct = (sizes: fc.Arbitrary<number>): fc.Arbitrary<Act> =>
  fc.record({
    kind: fc.constant("send" as const),
    type: fc.constantFrom<SendKind>("text", "arraybuffer", "u8", "blob"),
    size: sizes,
    unit: fc.constantFrom("a", "é", "€", "😀"),
    offset: fc.integer({ min: 0, max: 7 }),
  });

const closeAct: fc.Arbitrary<Act> = fc.record({
  kind: fc.constant("close" as const),
  code: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<number | undefined>(undefined, 1000, 3000, 4321, 4999) },
    { weight: 1, arbitrary: fc.constantFrom(1001, 1005, 2999, 5000, 0) }, // InvalidAccessError
  ),
  reason: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<string | undefined>(undefined, "", "bye", "é".repeat(61)) },
    { weight: 1, arbitrary: fc.constant("é".repeat(62)) }, // 124 bytes: SyntaxError
  ),
});

const pingAct: fc.Arbitrary<Act> = fc.record({
  kind: fc.constant("ping" as const),
  size: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 125 }) }, { weight: 1, arbitrary: fc.constant(126) }),
  noArg: fc.boolean(),
});

const appAct: fc.Arbitrary<Act> = fc.oneof(
  { weight: 12, arbitrary: sendAct(size) },
  { weight: 3, arbitrary: pingAct },
  { weight: 1, arbitrary: closeAct },
  { weight: 1, arbitrary: fc.constant<Act>({ kind: "terminate" }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("binaryType" as const), value: fc.constantFrom("blob", "arraybuffer", "bogus") }) },
);

/** What a listener does on its n-th call: mostly nothing or a send, sometimes close or terminate. */
const listenerAct: fc.Arbitrary<Act> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Act>({ kind: "none" }) },
  { weight: 4, arbitrary: sendAct(smallSize) },
  { weight: 1, arbitrary: pingAct },
  { weight: 1, arbitrary: closeAct },
  { weight: 1, arbitrary: fc.constant<Act>({ kind: "terminate" }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("binaryType" as const), value: fc.constantFrom("blob", "arraybuffer") }) },
);

const control = fc.record({ ping: fc.boolean(), size: fc.integer({ min: 0, max: 125 }) });

const item: fc.Arbitrary<Item> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("message" as const),
      text: fc.boolean(),
      size: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 140_000 }) }),
      cuts: fc.array(fc.nat({ max: 140_000 }), { maxLength: 3 }),
      between: fc.array(control, { maxLength: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("ping" as const), size: fc.integer({ min: 0, max: 125 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("pong" as const), size: fc.integer({ min: 0, max: 125 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("close" as const),
      shape: fc.constantFrom<"code" | "empty" | "one-byte">("code", "code", "code", "empty", "one-byte"),
      code: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 4999) },
        { weight: 1, arbitrary: fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 2000, 5000) }, // the client fails (1002)
      ),
      reason: fc.constantFrom("", "server", "é".repeat(61)),
    }),
  },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: appAct.map((act): Step => ({ kind: "app", act })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.constantFrom(0, 1, 3) }) },
  {
    weight: 16,
    arbitrary: fc.record({
      kind: fc.constant("frames" as const),
      items: fc.array(item, { minLength: 1, maxLength: 3 }),
      pieces: fc.option(fc.array(fc.nat({ max: 150_000 }), { minLength: 1, maxLength: 4 }), { freq: 2 }).map((p) => p ?? undefined),
      sync: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom<Step>({ kind: "end" }, { kind: "destroy" }) },
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  preOpen: fc.oneof({ weight: 6, arbitrary: fc.constant<Act[]>([]) }, { weight: 1, arbitrary: fc.array(appAct, { minLength: 1, maxLength: 2 }) }),
  steps: fc.array(step, { maxLength: 16, size: "medium" }),
  scripts: fc.record({
    open: fc.array(listenerAct, { maxLength: 1 }),
    message: fc.array(listenerAct, { maxLength: 5 }),
    pong: fc.array(listenerAct, { maxLength: 4 }),
    error: fc.array(listenerAct, { maxLength: 1 }),
    close: fc.array(listenerAct, { maxLength: 1 }),
  }),
  ending: fc.constantFrom<Scenario["ending"]>("client", "client", "server", "server", "fin"),
});

// ---------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Frame-aligned pieces of `bytes` cut at `cuts`. */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
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
function pattern(tagByte: number, tag: number, length: number): Buffer<ArrayBuffer> {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + tag * 101 + (i >>> 10)) & 0xff;
  if (length >= 5) {
    bytes[0] = tagByte;
    bytes.writeUInt32BE(tag, 1);
  }
  return bytes;
}

/** A string `prefix` + `unit` repeated, about `length` UTF-8 bytes long. */
function textOf(prefix: string, length: number, unit: string): string {
  return prefix + unit.repeat(Math.max(0, Math.floor((length - prefix.length) / Buffer.byteLength(unit))));
}

/** Close frame body as a peer would encode it: empty, or code then reason. */
function closeBody(code: number | undefined, reason: string | undefined): Buffer {
  if (code === undefined && !reason) return Buffer.alloc(0);
  const body = Buffer.alloc(2);
  body.writeUInt16BE(code ?? 1000);
  return Buffer.concat([body, Buffer.from(reason ?? "")]);
}

const validCloseCode = (code: number): boolean => (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);

function resources(): Map<string, number> {
  const info = (globalThis.process as { getActiveResourcesInfo?: () => string[] } | undefined)?.getActiveResourcesInfo?.() ?? [];
  const counts = new Map<string, number>();
  for (const name of info) if (/Timeout|Immediate|TCP|Pipe/.test(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

function exceeds(after: Map<string, number>, before: Map<string, number>): string | undefined {
  const extra = [...after].filter(([name, n]) => n > (before.get(name) ?? 0)).map(([name, n]) => `${name}: ${before.get(name) ?? 0} -> ${n}`);
  return extra.length === 0 ? undefined : extra.join(", ");
}

const hex = (b: Uint8Array, max = 24): string => (b.length > max ? `${Buffer.from(b.subarray(0, max)).toString("hex")}…(${b.length})` : Buffer.from(b).toString("hex"));

// Process-level failures, recorded for the run in progress.
const escaped: string[] = [];
const onUncaught = (error: unknown): void => {
  escaped.push(`uncaughtException: ${(error as Error)?.stack ?? String(error)}`);
};
const onRejection = (reason: unknown): void => {
  escaped.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`);
};

// ---------------------------------------------------------------------------------------------
// The server side: frames written (in wire order) and frames the client wrote

type Written =
  | { kind: "text" | "binary"; data: Buffer }
  | { kind: "ping" | "pong"; data: Buffer }
  | { kind: "close"; code: number; reason: string; valid: boolean };


class Peer {
  readonly written: Written[] = [];
  readonly frames: ClientFrame[] = [];
  socket: net.Socket | undefined;
  sentClose = false;
  ended = false;
  tcpClosed = false;
  #buffer: Buffer = Buffer.alloc(0);
  #busy = false;
  #pending: Array<() => void> = [];
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    socket.on("close", () => {
      this.tcpClosed = true;
      this.#log("server: TCP closed");
    });
  }

  get writable(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && !this.ended && this.socket.writable;
  }

  get gotClose(): ClientFrame | undefined {
    return this.frames.find((f) => f.opcode === 8);
  }

  /** Writes `frames` (logging `entries` now: their bytes precede anything written later) whole or in pieces. */
  async burst(frames: Buffer[], entries: Written[], pieces: number[] | undefined): Promise<void> {
    if (!this.writable) {
      this.#log("server: (not writable, burst skipped)");
      return;
    }
    this.written.push(...entries);
    const bytes = Buffer.concat(frames);
    if (pieces === undefined) {
      this.socket!.write(bytes);
      return;
    }
    this.#busy = true;
    try {
      for (const piece of cut(bytes, pieces)) {
        if (!this.writable) return;
        this.socket!.write(piece);
        await tick();
      }
    } finally {
      this.#busy = false;
      for (const pending of this.#pending.splice(0)) pending();
    }
  }

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
      this.#log(`server got: op ${frame.opcode}${frame.fin ? "" : " (no fin)"} ${hex(frame.payload)}`);
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: ClientFrame): void {
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
          const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined;
          this.written.push({ kind: "close", code: code ?? 1005, reason: "", valid: true });
          this.socket!.write(serverFrame(8, closeBody(code, undefined)));
          this.#log(`server: echoed close ${code ?? "(empty)"}`);
        }
        this.ended = true;
        this.socket!.end();
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One run

interface Ev {
  type: string;
  readyState: number;
  binaryType: string;
  data?: unknown;
  code?: number;
  reason?: string;
  wasClean?: boolean;
  errorCode?: number | undefined;
}

async function run(sc: Scenario): Promise<void> {
  const log: string[] = [];
  const t0 = Date.now();
  const say = (line: string): void => {
    log.push(`${String(Date.now() - t0).padStart(4)}ms ${line}`);
  };
  const problems: string[] = [];
  const problem = (message: string): void => {
    if (IGNORE.some((s) => message.includes(s))) {
      say(`(ignored) ${message}`);
      return;
    }
    problems.push(message);
    say(`!! ${message}`);
  };
  escaped.length = 0;
  const before = resources();

  const peer = new Peer(say);
  let upgraded = false;
  const server = await rawServer({
    onUpgrade: (socket) => {
      upgraded = true;
      peer.attach(socket);
      say("server: upgraded");
    },
  });
  const deadline = Date.now() + RUN_MS;
  let hung = false;
  /** Polls `cond` until true; false after `ms` (or the run's deadline, which marks a hang). */
  const until = async (cond: () => boolean, ms = WAIT_MS): Promise<boolean> => {
    const limit = Math.min(Date.now() + ms, deadline);
    while (!cond()) {
      if (Date.now() >= limit) {
        if (Date.now() >= deadline) hung = true;
        return false;
      }
      await sleep(1);
    }
    return true;
  };

  // ---- model state
  let nextTag = 0;
  const expectedData: Array<{ text: boolean; bytes: Buffer }> = [];
  const expectedPings: Buffer[] = [];
  let discarded = 0;
  let sentBytes = 0;
  let initiator: Act | undefined; // first close()/terminate() while CONNECTING or OPEN
  let terminated = false; // terminate() while not CLOSED
  let serverDropped = false; // the server's FIN or destroy while its socket was alive
  let lastReadyState = 0;
  const events: Ev[] = [];
  let closeEvent: Ev | undefined;

  const ws = new WebSocket(server.url, undefined, { closeTimeout: CLOSE_TIMEOUT, proxy: false });

  const sample = (where: string): void => {
    const rs = ws.readyState;
    if (rs < lastReadyState) problem(`readyState went back from ${lastReadyState} to ${rs} (${where})`);
    lastReadyState = Math.max(lastReadyState, rs);
    const buffered = ws.bufferedAmount;
    if (!(buffered >= 0)) problem(`bufferedAmount ${buffered} (${where})`);
  };

  /** An application call, its expected exception (W3C) and its effect on the model. */
  const act = (a: Act, where: string): void => {
    if (a.kind === "none") return;
    const rs = ws.readyState;
    let expected: string | undefined;
    let describe = "";
    let thrown: unknown;
    try {
      switch (a.kind) {
        case "send": {
          const tag = nextTag++;
          let length = a.size;
          if (sentBytes + length > RUN_BYTES) length = Math.min(length, 16);
          sentBytes += length;
          if (a.type === "text") {
            const text = textOf(`C${tag}:`, length, a.unit);
            const bytes = Buffer.from(text);
            describe = `send(text ${bytes.length} B #${tag})`;
            if (rs === 0) expected = "InvalidStateError";
            else if (rs === 1) expectedData.push({ text: true, bytes });
            else discarded += bytes.length;
            ws.send(text);
          } else {
            const bytes = pattern(0xc1, tag, Math.max(length, 5));
            describe = `send(${a.type} ${bytes.length} B #${tag})`;
            if (rs === 0) expected = "InvalidStateError";
            else if (rs === 1) expectedData.push({ text: false, bytes: Buffer.from(bytes) });
            else discarded += bytes.length;
            if (a.type === "arraybuffer") {
              const buffer = new ArrayBuffer(bytes.length);
              new Uint8Array(buffer).set(bytes);
              ws.send(buffer);
              new Uint8Array(buffer).fill(0xee);
            } else if (a.type === "u8") {
              const view = new Uint8Array(new ArrayBuffer(bytes.length + a.offset + 3), a.offset, bytes.length);
              view.set(bytes);
              ws.send(view);
              view.fill(0xee); // the caller may reuse its buffer once send() returns
            } else {
              ws.send(new Blob([bytes]));
            }
          }
          break;
        }
        case "ping": {
          const payload = Buffer.from(`p${nextTag++}:${"x".repeat(a.size)}`).subarray(0, a.size);
          describe = a.noArg && a.size === 0 ? "ping()" : `ping(${a.size} B ${hex(payload, 8)})`;
          if (rs === 0) expected = "InvalidStateError";
          else if (a.size > 125) expected = "ERR_INVALID_ARGUMENT";
          else if (rs === 1) expectedPings.push(payload);
          if (a.noArg && a.size === 0) ws.ping();
          else ws.ping(payload);
          break;
        }
        case "close": {
          describe = `close(${a.code}, ${a.reason === undefined ? "undefined" : JSON.stringify(a.reason.slice(0, 8)) + `(${Buffer.byteLength(a.reason)} B)`})`;
          if (a.code !== undefined && a.code !== 1000 && !(a.code >= 3000 && a.code <= 4999)) expected = "InvalidAccessError";
          else if (a.reason !== undefined && Buffer.byteLength(a.reason) > 123) expected = "SyntaxError";
          else if (rs <= 1) initiator ??= a;
          if (a.code === undefined && a.reason === undefined) ws.close();
          else if (a.reason === undefined) ws.close(a.code);
          else ws.close(a.code, a.reason);
          break;
        }
        case "terminate":
          describe = "terminate()";
          if (rs <= 1) initiator ??= a;
          if (rs < 3) terminated = true;
          ws.terminate();
          break;
        case "binaryType":
          describe = `binaryType = ${a.value}`;
          ws.binaryType = a.value;
          break;
      }
    } catch (error) {
      thrown = error;
    }
    const code = (thrown as { code?: unknown } | undefined)?.code;
    const name = thrown === undefined ? undefined : typeof code === "string" ? code : (thrown as Error).name;
    say(`${where}: ${describe} [readyState ${rs} -> ${ws.readyState}]${thrown === undefined ? "" : ` threw ${name}`}`);
    if (name !== expected) {
      problem(`${describe} in readyState ${rs} (${where}): expected ${expected ?? "no exception"}, got ${thrown === undefined ? "none" : `${name}: ${(thrown as Error).message}`}`);
    }
    if (expected === undefined && a.kind === "close" && rs <= 1 && ws.readyState !== 2) problem(`close() in readyState ${rs} left readyState ${ws.readyState}, not CLOSING`);
    if (a.kind === "terminate" && rs <= 1 && ws.readyState < 2) problem(`terminate() in readyState ${rs} left readyState ${ws.readyState}`);
    sample(`after ${describe}`);
  };

  // ---- listeners: record first, then the scripts (on* handlers and a pong listener, added later)
  for (const type of LISTENED) {
    ws.addEventListener(type, (event: Event) => {
      const e = event as Event & { data?: unknown; code?: number; reason?: string; wasClean?: boolean; error?: { closeCode?: number } };
      const ev: Ev = { type, readyState: ws.readyState, binaryType: ws.binaryType };
      if (type === "message" || type === "pong") ev.data = e.data;
      if (type === "close") Object.assign(ev, { code: e.code, reason: e.reason, wasClean: e.wasClean });
      if (type === "error") ev.errorCode = e.error?.closeCode;
      if (closeEvent !== undefined) problem(`${type} event after the close event`);
      if (type === "close") closeEvent = ev;
      events.push(ev);
      const detail =
        type === "message"
          ? typeof e.data === "string"
            ? `text ${hex(Buffer.from(e.data.slice(0, 12)))} (${e.data.length} chars)`
            : e.data instanceof ArrayBuffer
              ? `arraybuffer ${hex(new Uint8Array(e.data))}`
              : `blob ${(e.data as Blob).size} B`
          : type === "pong"
            ? hex(e.data as Uint8Array)
            : type === "close"
              ? `${e.code} ${JSON.stringify(e.reason?.slice(0, 8))} wasClean=${e.wasClean}`
              : type === "error"
                ? `${(e.error as Error | undefined)?.message} (closeCode ${e.error?.closeCode})`
                : "";
      say(`event ${type} ${detail} [readyState ${ev.readyState}, bufferedAmount ${ws.bufferedAmount}]`);
      sample(`${type} event`);
    });
  }
  const counts: Record<Listened, number> = { open: 0, message: 0, pong: 0, error: 0, close: 0 };
  const script = (type: Listened) => (): void => {
    const a = sc.scripts[type][counts[type]++];
    if (a !== undefined) act(a, `on${type} script`);
  };
  ws.onopen = script("open");
  ws.onmessage = script("message");
  ws.onerror = script("error");
  ws.onclose = script("close");
  ws.addEventListener("pong", script("pong"));

  let probes = 0;
  try {
    sample("constructed");
    for (const a of sc.preOpen) act(a, "before open");
    await until(() => (events.some((e) => e.type === "open") && upgraded) || closeEvent !== undefined);
    sample("opened");
    if (!hung && closeEvent === undefined && !upgraded) problem("open without a server connection");

    let serverTag = 0;
    stat(`readyState ${ws.readyState} after open`);
    for (const st of sc.steps) {
      if (hung) break;
      switch (st.kind) {
        case "app":
          act(st.act, "step");
          break;
        case "wait":
          say(`step: wait ${st.ms} ms`);
          await sleep(st.ms);
          break;
        case "end":
        case "destroy":
          if (peer.socket !== undefined && !peer.socket.destroyed && !peer.ended) serverDropped = true;
          say(`step: server ${st.kind}${serverDropped ? "" : " (no effect)"}`);
          if (st.kind === "end") {
            peer.ended = true;
            peer.socket?.end();
          } else {
            peer.socket?.destroy();
          }
          break;
        case "frames": {
          if (!peer.writable || peer.sentClose) {
            say(`step: frames skipped (${peer.sentClose ? "server closed" : "socket gone"})`);
            break;
          }
          const frames: Buffer[] = [];
          const entries: Written[] = [];
          const descr: string[] = [];
          let lastPing: Buffer | undefined;
          const controlFrame = (ping: boolean, length: number): void => {
            const data = Buffer.from(`${ping ? "i" : "o"}${serverTag++}:${"y".repeat(125)}`).subarray(0, length);
            frames.push(serverFrame(ping ? 9 : 10, data));
            entries.push({ kind: ping ? "ping" : "pong", data });
            descr.push(`${ping ? "ping" : "pong"} ${hex(data, 8)}`);
            if (ping) lastPing = data;
          };
          let closing = false;
          for (const it of st.items) {
            if (closing) break;
            if (it.kind === "ping" || it.kind === "pong") controlFrame(it.kind === "ping", it.size);
            else if (it.kind === "message") {
              const tag = serverTag++;
              const data = it.text ? Buffer.from(textOf(`S${tag}:`, it.size, "ü")) : pattern(0x53, tag, Math.max(it.size, 5));
              const parts = cut(data, it.cuts);
              if (parts.length === 0) parts.push(Buffer.alloc(0));
              parts.forEach((part, i) => {
                const fin = i === parts.length - 1;
                frames.push(serverFrame(i === 0 ? (it.text ? 1 : 2) : 0, part, { fin }));
                const between = fin ? undefined : it.between[i];
                if (between !== undefined) {
                  // Log the message where it completes: pings and pongs between its fragments come first.
                  controlFrame(between.ping, between.size);
                }
              });
              entries.push({ kind: it.text ? "text" : "binary", data });
              descr.push(`${it.text ? "text" : "binary"} ${data.length} B in ${parts.length}`);
            } else {
              closing = true;
              peer.sentClose = true;
              const body =
                it.shape === "empty" ? Buffer.alloc(0) : it.shape === "one-byte" ? Buffer.from([it.code >> 8]) : Buffer.concat([Buffer.from([it.code >> 8, it.code & 0xff]), Buffer.from(it.reason)]);
              frames.push(serverFrame(8, body));
              const valid = it.shape === "empty" || (it.shape === "code" && validCloseCode(it.code));
              entries.push({ kind: "close", code: it.shape === "empty" ? 1005 : it.shape === "code" ? it.code : -1, reason: it.shape === "code" ? it.reason : "", valid });
              descr.push(`close ${it.shape === "code" ? it.code : it.shape}${valid ? "" : " (invalid)"}`);
            }
          }
          // A probe pong at the end tells when the client has processed the whole burst.
          const probe = st.sync && !closing ? Buffer.from(`probe${probes++}`) : undefined;
          if (probe !== undefined) {
            frames.push(serverFrame(10, probe));
            entries.push({ kind: "pong", data: probe });
          }
          say(`step: server writes ${descr.join(", ")}${probe ? " + probe" : ""}${st.pieces ? ` in pieces ${JSON.stringify(st.pieces)}` : ""}`);
          await peer.burst(frames, entries, st.pieces);
          if (probe !== undefined) {
            const seen = (): Ev | undefined => events.find((e) => e.type === "pong" && Buffer.from(e.data as Uint8Array).equals(probe));
            const ok = await until(() => seen() !== undefined || closeEvent !== undefined || peer.tcpClosed);
            if (!ok && !hung) problem(`the client did not process the server's frames within ${WAIT_MS} ms (readyState ${ws.readyState})`);
            const probeEvent = seen();
            // Processed while OPEN: the last ping of the burst must be answered unless the client starts closing.
            if (ok && probeEvent !== undefined && probeEvent.readyState === 1 && lastPing !== undefined) {
              const ping = lastPing;
              const answered = (): boolean => peer.frames.some((f) => f.opcode === 10 && f.payload.equals(ping));
              const fine = await until(() => answered() || ws.readyState !== 1 || peer.tcpClosed);
              if (!fine && !hung) problem(`ping ${hex(ping, 8)} processed while OPEN but not answered within ${WAIT_MS} ms`);
            }
          }
          break;
        }
      }
      await tick();
      sample("after step");
    }

    // ---- the end: close from either side, or the server's FIN
    if (closeEvent === undefined && !hung) {
      say(`ending: ${sc.ending}`);
      if (sc.ending === "server" && peer.writable && !peer.sentClose) {
        peer.sentClose = true;
        await peer.burst([serverFrame(8, closeBody(1000, "done"))], [{ kind: "close", code: 1000, reason: "done", valid: true }], undefined);
      } else if (sc.ending === "fin" && peer.writable) {
        serverDropped = true;
        peer.ended = true;
        peer.socket!.end();
      } else {
        act({ kind: "close", code: 1000, reason: undefined }, "ending");
      }
    }
    if (!(await until(() => closeEvent !== undefined, RUN_MS))) problem(`no close event within the run's ${RUN_MS} ms (readyState ${ws.readyState})`);
    // The server side closes too; anything the client wrongly fires after close shows by then.
    await until(() => peer.socket === undefined || peer.tcpClosed, 500);
    await sleep(5);
    sample("end");
    if (ws.readyState !== 3) problem(`readyState ${ws.readyState} at the end, not CLOSED`);

    await check();
  } finally {
    if (ws.readyState !== 3) ws.terminate();
    await server.close();
  }
  // No timer, immediate or socket of the client left behind (the server's are gone too).
  let leak: string | undefined;
  for (let i = 0; i < 50; i++) {
    await sleep(i < 10 ? 0 : 2);
    leak = exceeds(resources(), before);
    if (leak === undefined) break;
  }
  if (leak !== undefined) problem(`active resources left: ${leak}`);
  if (escaped.length > 0) problem(`escaped from the client:\n${escaped.join("\n")}`);
  if (hung) problem(`the run hung (over ${RUN_MS} ms)`);
  if (problems.length > 0) {
    const lines = log.length > 300 ? [...log.slice(0, 100), `… ${log.length - 250} lines …`, ...log.slice(-150)] : log;
    assert.fail(`${problems[0]}${problems.length > 1 ? `\n(and ${problems.length - 1} more: ${problems.slice(1, 4).join(" | ")})` : ""}\n--- step log ---\n${lines.join("\n")}`);
  }

  // ---- checks after the run
  async function check(): Promise<void> {
    if (STATS !== undefined) {
      stat(`close ${closeEvent?.code} clean=${closeEvent?.wasClean}`);
      stat(`initiator ${initiator?.kind ?? "none"}`);
      if (events.some((e) => e.type === "error")) stat("error event");
      stat(`data sent while OPEN: ${expectedData.length === 0 ? "0" : expectedData.length < 4 ? "1-3" : "4+"}`);
      if (expectedData.some((d) => d.bytes.length > 60_000)) stat("a large send while OPEN");
      if (peer.gotClose !== undefined) stat("server got the client's close frame");
      if (discarded > 0) stat("sends discarded after closing began");
      if (peer.frames.some((f) => f.opcode === 10)) stat("client answered a ping");
      if (events.some((e) => e.type === "message")) stat("message events");
      if (serverDropped) stat("server dropped TCP");
      if (terminated) stat("terminated");
      if (resources().size === 0) stat("no resource info");
    }
    // Event order: [open], (message|pong)*, [error], close.
    const types = events.map((e) => e.type);
    const closes = types.filter((t) => t === "close").length;
    if (closes !== 1) problem(`${closes} close events`);
    if (types.at(-1) !== "close") problem(`the last event is ${types.at(-1)}, not close`);
    const opens = types.filter((t) => t === "open").length;
    if (opens > 1) problem(`${opens} open events`);
    if (opens === 1 && types[0] !== "open") problem(`open is not the first event: ${types.join(",")}`);
    const errors = types.filter((t) => t === "error").length;
    if (errors > 1 || (errors === 1 && types.at(-2) !== "error")) problem(`error events out of place: ${types.join(",")}`);
    const error = events.find((e) => e.type === "error");
    for (const e of events) {
      // WHATWG delivers messages only while OPEN. After terminate() (not a W3C method) the client
      // still delivers messages already read (connection.ts terminate(), by design): allowed.
      if (e.type === "message" && e.readyState !== 1 && !(e.readyState === 2 && initiator?.kind === "terminate")) problem(`a message event in readyState ${e.readyState}`);
      if (e.type === "open" && e.readyState !== 1) problem(`open event in readyState ${e.readyState}`);
      if (e.type === "close" && e.readyState !== 3) problem(`close event in readyState ${e.readyState}`);
      if (e.type === "message" && typeof e.data !== "string") {
        const want = e.binaryType === "blob" ? Blob : ArrayBuffer;
        if (!(e.data instanceof want)) problem(`binary message as ${Object.prototype.toString.call(e.data)} with binaryType ${e.binaryType}`);
      }
    }
    const close = closeEvent;
    if (close === undefined) return;
    if (opens === 0) {
      // Failed or aborted before open: error then close 1006, nothing on the wire.
      if (types.join(",") !== "error,close") problem(`without open the events are ${types.join(",")}`);
      if (close.code !== 1006 || close.wasClean) problem(`without open: close ${close.code} wasClean=${close.wasClean}`);
      if (peer.frames.length > 0) problem(`frames on the wire from a socket that never opened`);
      if (initiator === undefined) problem("the handshake failed though nothing aborted it");
      return;
    }

    // Message and pong events: in wire order, each for one frame the server wrote.
    const W = peer.written;
    const mapped: number[] = [];
    let at = -1;
    for (const e of events) {
      if (e.type !== "message" && e.type !== "pong") continue;
      let kind: string;
      let bytes: Buffer;
      if (e.type === "pong") [kind, bytes] = ["pong", Buffer.from(e.data as Uint8Array)];
      else if (typeof e.data === "string") [kind, bytes] = ["text", Buffer.from(e.data)];
      else if (e.data instanceof Blob) [kind, bytes] = ["binary", Buffer.from(await e.data.arrayBuffer())];
      else [kind, bytes] = ["binary", Buffer.from(e.data as ArrayBuffer)];
      const j = W.findIndex((w, i) => i > at && w.kind === kind && w.kind !== "close" && w.data.equals(bytes));
      if (j === -1) {
        problem(`${e.type} event ${kind} ${hex(bytes)} matches no later frame the server wrote (out of order, duplicated or invented)`);
        return;
      }
      mapped.push(j);
      at = j;
      // Everything before it was processed: pongs always surface, messages while OPEN.
      for (let i = 0; i < j; i++) {
        const w = W[i]!;
        if (mapped.includes(i)) continue;
        if (w.kind === "pong") problem(`server pong ${hex(w.data)} (frame ${i}) has no pong event, though frame ${j} has an event`);
        if ((w.kind === "text" || w.kind === "binary") && e.readyState === 1) problem(`server ${w.kind} message ${hex(w.data)} (frame ${i}) not delivered, though frame ${j} was, while OPEN`);
      }
    }

    // The close event against the close frames exchanged.
    const serverClose = W.findIndex((w) => w.kind === "close");
    const serverCloseFrame = serverClose === -1 ? undefined : (W[serverClose] as Extract<Written, { kind: "close" }>);
    const clientClose = peer.gotClose;
    if (error !== undefined && (close.code !== 1006 || close.wasClean)) problem(`error event, then close ${close.code} wasClean=${close.wasClean}`);
    if (close.wasClean) {
      if (serverCloseFrame === undefined || !serverCloseFrame.valid) problem("wasClean without a (valid) close frame from the server");
      // RFC 6455 §7.1.4: complete once an endpoint has sent and received a close frame. A server
      // that drops TCP right after its close frame may never read the echo the client did send.
      if (clientClose === undefined && !serverDropped) problem("wasClean, but the server never got the client's close frame");
    }
    if (close.code !== 1006) {
      if (serverCloseFrame === undefined || !serverCloseFrame.valid || serverCloseFrame.code !== close.code || serverCloseFrame.reason !== close.reason) {
        problem(`close ${close.code} ${JSON.stringify(close.reason)}, but the server's close frame was ${serverCloseFrame === undefined ? "none" : `${serverCloseFrame.code} ${JSON.stringify(serverCloseFrame.reason.slice(0, 8))}`}`);
      } else {
        // The client read the server's close frame, so every frame before it.
        for (let i = 0; i < serverClose; i++) {
          const w = W[i]!;
          if (mapped.includes(i)) continue;
          if (w.kind === "pong") problem(`server pong ${hex(w.data)} before the server's close has no pong event`);
          if ((w.kind === "text" || w.kind === "binary") && initiator === undefined && error === undefined) problem(`server ${w.kind} message ${hex(w.data)} before the server's close was not delivered, and the client never closed first`);
        }
      }
    } else if (serverCloseFrame !== undefined && serverCloseFrame.valid && !terminated && !serverDropped && error === undefined) {
      problem("close 1006 although the server sent a valid close frame and nobody dropped TCP");
    }
    if (!terminated && !serverDropped && error === undefined && !close.wasClean) problem(`not clean (${close.code}) though nobody dropped TCP and nothing failed`);

    // The client's frames: masked, RSV 0, whole control frames, nothing after the close frame.
    const data: Array<{ text: boolean; bytes: Buffer }> = [];
    const pings: Buffer[] = [];
    const pongs: Buffer[] = [];
    let partial: { text: boolean; parts: Buffer[] } | undefined;
    let closeAt = -1;
    peer.frames.forEach((f, i) => {
      if (!f.masked || f.rsv !== 0) problem(`client frame ${i} unmasked or with RSV bits`);
      if (closeAt !== -1) problem(`client frame ${i} (op ${f.opcode}) after its close frame`);
      if (f.opcode >= 8) {
        if (!f.fin || f.payload.length > 125) problem(`client control frame ${i} fragmented or too long`);
        if (f.opcode === 8) closeAt = i;
        else if (f.opcode === 9) pings.push(f.payload);
        else if (f.opcode === 10) pongs.push(f.payload);
        else problem(`client frame ${i} with opcode ${f.opcode}`);
        return;
      }
      if (f.opcode === 0 ? partial === undefined : partial !== undefined || (f.opcode !== 1 && f.opcode !== 2)) problem(`client frame ${i}: opcode ${f.opcode} out of sequence`);
      partial ??= { text: f.opcode === 1, parts: [] };
      partial.parts.push(f.payload);
      if (f.fin) {
        data.push({ text: partial.text, bytes: Buffer.concat(partial.parts) });
        partial = undefined;
      }
    });
    if (data.length > expectedData.length) problem(`the server got ${data.length} data messages, ${expectedData.length} were sent while OPEN`);
    for (let i = 0; i < Math.min(data.length, expectedData.length); i++) {
      const [got, want] = [data[i]!, expectedData[i]!];
      if (got.text !== want.text || !got.bytes.equals(want.bytes)) {
        problem(`data message ${i}: got ${got.text ? "text" : "binary"} ${hex(got.bytes)}, sent ${want.text ? "text" : "binary"} ${hex(want.bytes)}`);
        break;
      }
    }
    if (clientClose !== undefined && error === undefined && data.length !== expectedData.length) {
      problem(`the server got the close frame after ${data.length} of the ${expectedData.length} messages sent while OPEN`);
    }
    // Client pings: those called while OPEN, in order, all of them before the close frame.
    const pingsOk = pings.length <= expectedPings.length && pings.every((p, i) => p.equals(expectedPings[i]!));
    if (!pingsOk || (clientClose !== undefined && pings.length !== expectedPings.length)) {
      problem(`client pings on the wire [${pings.map((p) => hex(p, 8))}], ping() while OPEN [${expectedPings.map((p) => hex(p, 8))}]`);
    }
    // Client pongs: answers to server pings, in order, each at most once.
    let k = -1;
    for (const pong of pongs) {
      const j = W.findIndex((w, i) => i > k && w.kind === "ping" && w.data.equals(pong));
      if (j === -1) {
        problem(`client pong ${hex(pong)} answers no later server ping`);
        break;
      }
      k = j;
    }
    // The client's close frame: the code it was asked for, the server's echoed, or the failure's.
    if (clientClose !== undefined) {
      let want: Buffer | undefined;
      if (initiator?.kind === "close") want = closeBody(initiator.code === undefined && initiator.reason ? 1000 : initiator.code, initiator.reason);
      else if (initiator?.kind === "terminate") want = undefined;
      else if (error !== undefined) want = error.errorCode === undefined ? undefined : closeBody(error.errorCode, undefined);
      else if (serverCloseFrame !== undefined) want = closeBody(serverCloseFrame.code === 1005 ? undefined : serverCloseFrame.code, undefined);
      if (want === undefined) problem(`the client sent close ${hex(clientClose.payload)} where none was expected`);
      else if (!want.equals(clientClose.payload)) problem(`the client's close frame is ${hex(clientClose.payload)}, expected ${hex(want)}`);
    }
    // bufferedAmount: what was sent after closing began stays counted; after a clean close nothing else.
    const buffered = ws.bufferedAmount;
    if (buffered < discarded) problem(`bufferedAmount ${buffered} after close, below the ${discarded} bytes sent after closing began`);
    if (close.wasClean && !terminated && buffered !== discarded) problem(`bufferedAmount ${buffered} after a clean close, expected ${discarded} (sent after closing began)`);
  }
}

test("the built-in client under random server frames, application calls and re-entrant listener calls keeps the W3C and RFC 6455 invariants", { timeout: 600_000 }, async () => {
  const proc = globalThis.process;
  proc?.on("uncaughtException", onUncaught);
  proc?.on("unhandledRejection", onRejection);
  try {
    await fc.assert(fc.asyncProperty(scenario, run), {
      numRuns: NUM_RUNS,
      ...(SEED === undefined ? {} : { seed: SEED }),
      // A hang costs seconds per shrinking step: report what was found rather than shrink for minutes.
      interruptAfterTimeLimit: 240_000,
      markInterruptAsFailure: false,
    });
  } catch (error) {
    // fast-check keeps the run's own error (with its step log) as the cause: show it.
    const cause = (error as { cause?: unknown }).cause;
    if (cause === undefined) throw error;
    throw new Error(`${(error as Error).message}\n${(cause as Error)?.message ?? String(cause)}`);
  } finally {
    if (STATS !== undefined) console.log([...STATS].sort().map(([k, n]) => `${String(n).padStart(5)}  ${k}`).join("\n"));
    proc?.off("uncaughtException", onUncaught);
    proc?.off("unhandledRejection", onRejection);
  }
});

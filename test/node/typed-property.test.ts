/**
 * Property test (fast-check) of the typed layer over ResilientWebSocket: `messages()` streams,
 * `route()`, codecs (json, a custom text codec, a binary codec, `codecs` per subprotocol,
 * `withSchema`, the STOMP example codecs) and `correlate()` where it takes replies out of the
 * message flow. A ResilientWebSocket over the scripted transport and the fake clock is driven
 * through random sequences of server messages (decodable, undecodable, primitives, replies, tags
 * spelled like event names), opens, drops and reconnects, application sends/requests/close, stream
 * consumers (manual next(), slow for-await loops that break, return() twice, abort signals) and
 * route handlers that throw, unsubscribe themselves or others, return or abort streams, make new
 * streams and routes, close or reconnect the client in the middle of a dispatch.
 *
 * The client is a subclass whose addEventListener/removeEventListener record, for every listener
 * that `messages()` and `route()` register, when it was added and removed (relative to message
 * dispatches) and, for a stream's message listener, every message it was given. A tap listener
 * registered first numbers every dispatched message. Invariants (each failure carries a tag):
 *
 * - [escape] nothing but the test's own deliberate exceptions (route handlers, ondrop) escapes;
 *   steps never throw out of the client (send() may throw only the codec's encode error);
 * - [decode] each frame the client processes is decoded once, by the codec of the negotiated
 *   subprotocol [codec-choice]; a failure is exactly one `decodeerror` (same data, same error) and
 *   reaches no stream or route; a success is exactly one `message` dispatch of that very value,
 *   unless it is a reply correlate() knows [intercept]; frames of stale sockets are ignored, frames
 *   of the open connection are not; [decode-undefined] a value the codec decoded to undefined
 *   reaches listeners as undefined (the one value that does not survive `new MessageEvent`);
 * - [route-window] a route gets exactly the dispatched messages whose field === its tag, in order,
 *   once each, for every dispatch while it is subscribed (a dispatch during which it was added or
 *   removed may or may not reach it); [route-data] it gets message data only, never events;
 *   [route-after-unsub] nothing after its unsubscribe function ran; a handler that throws does not
 *   stop the other listeners (checked by the same windows);
 * - [stream-window] a stream's listener gets every dispatch while subscribed, in order, once;
 *   [stream-after-end] none after the stream ended (return, abort, overflow "error", client closed);
 * - [stream-result] next()/return() results follow the documented model: FIFO of the buffer,
 *   bufferSize with drop-oldest / drop-newest (each drop counted in `dropped`, `ondrop` called with
 *   exactly those) or "error" (ERR_QUEUE_FULL with the message as cause, once, after the buffered
 *   messages, then done); return() is done and ends the iteration (later next(): done), twice too;
 *   abort ends at once, discarding the buffer; a final close ends it once drained.
 *   [stream-return-after-end] / [stream-abort-after-end]: the same, for a return() / abort that
 *   comes after the stream had already ended (closed client, overflow error);
 *   [stream-buffered] / [stream-dropped] / [stream-ondrop] the counters and ondrop calls;
 *   [stream-unsettled] every next() settles and every consumer loop finishes once closed;
 * - [leak-listener] listeners of ended streams and unsubscribed routes are removed from the client;
 *   [leak-signal] abort listeners of ended streams with nothing left to discard (and of the closed
 *   client) are removed;
 *   [leak-timer] no timer is left once everything is closed and settled;
 * - [drop-encode] a queued message the negotiated codec cannot encode is a `drop` "encode" with that
 *   message and the codec's own exception; [request] every request settles, a resolved one with
 *   its reply; [request-encode] one the codec cannot encode rejects with the codec's error or
 *   ERR_INVALID_ARGUMENT (as request() documents);
 * - [state] the client is closed after close() and the server's close.
 *
 * Environment: PROP_RUNS and PROP_SEED override the number of runs and the seed; PROP_IGNORE
 * (comma-separated tags, e.g. "stream-return-after-end,stream-abort-after-end") looks past known
 * failures (a stream with an ignored failure is not checked further); PROP_VERBOSE prints the log of
 * a failing run in full; PROP_STATS prints how often each situation was reached.
 */
import { setMaxListeners } from "node:events";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ResilientWebSocket } from "../../src/client/client.js";
import type { Codec } from "../../src/client/codec.js";
import { binary, json } from "../../src/client/codecs.js";
import { messages, type MessageStream, type MessagesOverflow } from "../../src/client/messages.js";
import { correlate, type Requester } from "../../src/client/request.js";
import { route } from "../../src/client/route.js";
import { withSchema, type StandardSchemaV1 } from "../../src/client/schema.js";
import { STOMP_SUBPROTOCOLS, stompCodecs } from "../../examples/stomp/codec.js";
import { FakeClock, FakeSocket, flush, transport } from "./client-helpers.js";

const NUM_RUNS = Number(process.env.PROP_RUNS ?? 1500);
const SEED = process.env.PROP_SEED === undefined ? undefined : Number(process.env.PROP_SEED);
const IGNORE = new Set((process.env.PROP_IGNORE ?? "").split(",").filter(Boolean));

// ---------------------------------------------------------------------------------------------
// Deliberate exceptions (thrown by the test's own callbacks: they may surface as reported
// listener errors, nothing else may)

class Boom extends Error {}
class EncodeBoom extends Error {}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const MODES = ["json", "custom", "codecs", "schema", "stomp", "binary"] as const;
type Mode = (typeof MODES)[number];

/** Tags for the JSON-ish modes: event names, numbers and strings that are == but not ===. */
const TAGS: ReadonlyArray<string | number | boolean> = ["quote", "open", "close", "message", "error", "statechange", "decodeerror", "drop", "reply", 1, "1", 0, true, false, ""];
/** Tags for STOMP frames (field "command"): server commands, and event names that never match. */
const STOMP_TAGS = ["MESSAGE", "RECEIPT", "ERROR", "CONNECTED", "HEARTBEAT", "open", "message"] as const;
const STOMP_SENDABLE = ["MESSAGE", "RECEIPT", "ERROR", "CONNECTED"] as const;

const OVERFLOWS: MessagesOverflow[] = ["drop-oldest", "drop-newest", "error"];

const consumerArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ t: "manual" as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("loop" as const),
      slow: fc.integer({ min: 0, max: 3 }),
      breakAfter: fc.integer({ min: 0, max: 4 }),
      twice: fc.boolean(),
      forAwait: fc.boolean(),
    }),
  },
);
const streamArb = fc.record({
  size: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constant(1000) }),
  overflow: fc.constantFrom(...OVERFLOWS),
  signal: fc.oneof({ weight: 3, arbitrary: fc.constant("none" as const) }, { weight: 3, arbitrary: fc.constant("live" as const) }, { weight: 1, arbitrary: fc.constant("aborted" as const) }),
  ondrop: fc.oneof({ weight: 6, arbitrary: fc.constant("none" as const) }, { weight: 1, arbitrary: fc.constant("throw" as const) }, { weight: 1, arbitrary: fc.constant("return" as const) }),
  consumer: consumerArb,
});
type StreamCfg = typeof streamArb extends fc.Arbitrary<infer C> ? C : never;

const HANDLER_ACTS = ["throw", "unsubSelf", "unsubOther", "returnStream", "abortStream", "newStream", "newRoute", "next", "close", "reconnect"] as const;
type HandlerAct = (typeof HANDLER_ACTS)[number] | "none";
const handlerAct = fc.record({
  a: fc.oneof({ weight: 8, arbitrary: fc.constant("none" as HandlerAct) }, { weight: 6, arbitrary: fc.constantFrom<HandlerAct>(...HANDLER_ACTS) }),
  p: fc.nat(20),
});
const routeArb = fc.record({
  tag: fc.oneof({ weight: 4, arbitrary: fc.nat(3) }, { weight: 1, arbitrary: fc.nat(20) }),
  field: fc.constantFrom("type", "kind"),
  script: fc.array(handlerAct, { maxLength: 4 }),
});
type RouteCfg = typeof routeArb extends fc.Arbitrary<infer C> ? C : never;

const configArb = fc.record({
  mode: fc.constantFrom(...MODES),
  rpc: fc.option(fc.record({ timeout: fc.constantFrom(Infinity, 200, 2000) }), { nil: null }),
  minDelay: fc.integer({ min: 0, max: 100 }),
  clientSignal: fc.boolean(),
  streams: fc.array(streamArb, { maxLength: 3 }),
  routes: fc.array(routeArb, { maxLength: 4 }),
});
type Config = typeof configArb extends fc.Arbitrary<infer C> ? C : never;

/** Mostly the first few tags, so that routes match often; -1: no such field. */
const tagIndex = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 20 }) });
const msgArb = fc.record({
  kind: fc.oneof(
    { weight: 8, arbitrary: fc.constant("tagged" as const) },
    { weight: 2, arbitrary: fc.constant("reply" as const) },
    { weight: 1, arbitrary: fc.constant("primitive" as const) },
    { weight: 3, arbitrary: fc.constant("junk" as const) },
  ),
  a: tagIndex,
  b: tagIndex,
  v: fc.nat(5),
  bin: fc.boolean(),
});
type MsgSpec = typeof msgArb extends fc.Arbitrary<infer M> ? M : never;

const stepArb = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant("serverOpen" as const), proto: fc.nat(4) }) },
  {
    weight: 30,
    arbitrary: fc.record({
      t: fc.constant("serverMessage" as const),
      ms: fc.array(msgArb, { minLength: 1, maxLength: 4 }),
      w: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("serverClose" as const), code: fc.constantFrom(1000, 1006, 4000) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.constantFrom(0, 10, 100, 1000) }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant("flush" as const) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("newStream" as const), cfg: streamArb }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant("next" as const), i: fc.nat(8), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("return" as const), i: fc.nat(8), twice: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("abortStream" as const), i: fc.nat(8) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("newRoute" as const), cfg: routeArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("unroute" as const), i: fc.nat(8) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("send" as const), refuse: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("request" as const), refuse: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("detach" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("close" as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("reconnect" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("abortClient" as const) }) },
);
type Step = typeof stepArb extends fc.Arbitrary<infer S> ? S : never;

// ---------------------------------------------------------------------------------------------
// Escapes and the spying client

/** PROP_STATS: how often each situation was reached, over all runs. */
const coverage = new Map<string, number>();
const count = (what: string) => void coverage.set(what, (coverage.get(what) ?? 0) + 1);

const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);

type AnyListener = (this: unknown, event: any) => unknown;
interface SpyHooks {
  add(type: string, listener: AnyListener): AnyListener;
  remove(type: string, listener: AnyListener): AnyListener;
}
/** Hooks of the run in progress. */
let hooks: SpyHooks | undefined;

class SpyClient extends ResilientWebSocket<any, any> {
  override addEventListener(type: string, listener: any, options?: any): void {
    super.addEventListener(type, hooks && typeof listener == "function" ? hooks.add(type, listener) : listener, options);
  }
  override removeEventListener(type: string, listener: any, options?: any): void {
    super.removeEventListener(type, hooks && typeof listener == "function" ? hooks.remove(type, listener) : listener, options);
  }
}

/** An AbortController whose signal counts the listeners it holds. */
function spiedController() {
  const ctrl = new AbortController();
  const held = new Set<unknown>();
  const signal = ctrl.signal as AbortSignal & { held: Set<unknown> };
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, l: any, o?: any) => (held.add(l), add(type, l, o))) as never;
  signal.removeEventListener = ((type: string, l: any, o?: any) => (held.delete(l), remove(type, l, o))) as never;
  signal.held = held;
  return { ctrl, signal };
}

// ---------------------------------------------------------------------------------------------
// Codecs per mode, wrapped to record every decode and encode

const utf8 = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;

/** A user codec: JSON, refusing messages marked `refuse`, throwing odd things for frames starting with "!". */
const custom: Codec<any, any> = {
  frame: "text",
  encode(m: any) {
    if (m && m.refuse) throw new EncodeBoom("custom codec refuses");
    return JSON.stringify(m);
  },
  decode(d) {
    const s = typeof d == "string" ? d : new TextDecoder().decode(d);
    if (s == "!undefined") throw undefined;
    if (s == "!string") throw "a string";
    // A codec may map a frame to undefined (say, a heartbeat it swallows into no value).
    if (s == "!void") return undefined;
    return JSON.parse(s);
  },
};

/** JSON in binary frames (binary() underneath: a text frame is a decode error). */
function jsonBinary(): Codec<any, any> {
  const b = binary();
  return {
    frame: "binary",
    encode: (m) => utf8(JSON.stringify(m)),
    decode: (d) => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b.decode(d) as ArrayBuffer)),
  };
}

/** A Standard Schema that refuses `bad: true` and returns a copy (a transformed value). */
const schema: StandardSchemaV1<unknown, any> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value: any) =>
      value && typeof value == "object" && value.bad === true ? { issues: [{ message: "bad", path: ["bad"] }] } : { value: value && typeof value == "object" ? { ...value } : value },
  },
};

// ---------------------------------------------------------------------------------------------
// The model of one messages() stream, as documented in messages.ts

type Expect = { value: unknown } | { done: true } | { error: unknown };
interface Waiter {
  expect?: Expect;
}
class StreamModel {
  buf: unknown[] = [];
  waiters: Waiter[] = [];
  ended = false;
  pendingError: { cause: unknown } | null = null;
  dropped: unknown[] = [];
  /** A return() / abort that came after the stream had already ended (tags failures). */
  lateStop: "" | "return" | "abort" = "";
  constructor(
    readonly size: number,
    readonly overflow: MessagesOverflow,
  ) {}
  push(data: unknown) {
    const w = this.waiters.shift();
    if (w) w.expect = { value: data };
    else if (this.buf.length < this.size) this.buf.push(data);
    else if (this.overflow == "drop-newest") this.dropped.push(data);
    else if (this.overflow == "drop-oldest") this.buf.push(data), this.dropped.push(this.buf.shift());
    else this.end({ cause: data });
  }
  next(): Waiter {
    if (this.buf.length) return { expect: { value: this.buf.shift() } };
    if (!this.ended) {
      const w: Waiter = {};
      this.waiters.push(w);
      return w;
    }
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = null;
      return { expect: { error: e.cause } };
    }
    return { expect: { done: true } };
  }
  end(error?: { cause: unknown }) {
    if (this.ended) return;
    this.ended = true;
    this.pendingError = error ?? null;
    for (const w of this.waiters.splice(0)) {
      if (this.pendingError) (w.expect = { error: this.pendingError.cause }), (this.pendingError = null);
      else w.expect = { done: true };
    }
  }
  /** return() or abort: ends the iteration at once, discarding what is buffered. */
  stop(how: "return" | "abort") {
    if (this.ended && (this.buf.length || this.pendingError) && !this.lateStop) this.lateStop = how;
    this.buf = [];
    this.pendingError = null;
    this.end();
  }
}

// ---------------------------------------------------------------------------------------------
// One run

class Violation extends Error {}

async function run(cfg: Config, steps: Step[]) {
  const clock = new FakeClock();
  const { WebSocket, sockets } = transport(FakeSocket);
  const log: string[] = [];
  const problems: string[] = [];
  const tainted = new Set<number>(); // streams with an ignored failure: not checked further
  let seq = 0;
  const problem = (tag: string, what: string, stream?: number) => {
    if (IGNORE.has(tag)) {
      if (stream !== undefined) tainted.add(stream);
      return;
    }
    if (stream !== undefined && tainted.has(stream)) return;
    problems.push(`[${tag}] ${what}`);
  };
  const escapedAt = escaped.length;
  const mode: Mode = cfg.mode;
  const stomp = mode == "stomp";
  const tags: ReadonlyArray<string | number | boolean> = stomp ? STOMP_TAGS : TAGS;
  const fieldOf = (f: string) => (stomp ? "command" : f);

  // --- codecs
  const decodes: Array<{ codec: string; raw: unknown; ok: boolean; value?: unknown; error?: unknown }> = [];
  const encodeErrors = new Set<unknown>();
  const wrap = (name: string, c: Codec<any, any>): Codec<any, any> => ({
    frame: c.frame,
    encode(m) {
      try {
        return c.encode(m);
      } catch (error) {
        encodeErrors.add(error);
        throw error;
      }
    },
    decode(d) {
      let value: unknown;
      try {
        value = c.decode(d);
      } catch (error) {
        decodes.push({ codec: name, raw: d, ok: false, error });
        throw error;
      }
      decodes.push({ codec: name, raw: d, ok: true, value });
      return value;
    },
  });
  let protocols: string[] | undefined;
  let codec: Codec<any, any> | undefined;
  let codecs: Record<string, Codec<any, any>> | undefined;
  /** Offered by the server's open: index into this list (the last ones are not offered). */
  let serverProtos: string[] = [""];
  let firstCodec = "";
  switch (mode) {
    case "json":
      codec = wrap("json", json());
      break;
    case "custom":
      codec = wrap("custom", custom);
      break;
    case "binary":
      codec = wrap("binary", jsonBinary());
      break;
    case "schema":
      codec = wrap("schema", withSchema(json(), schema));
      break;
    case "codecs":
      protocols = ["v1", "v2"];
      codecs = { v1: wrap("v1", json()), v2: wrap("v2", custom) };
      serverProtos = ["", "v1", "v2", "x", "v2"];
      firstCodec = "v1";
      break;
    case "stomp": {
      protocols = [...STOMP_SUBPROTOCOLS];
      const sc = stompCodecs() as Record<string, Codec<any, any>>;
      codecs = Object.fromEntries(Object.entries(sc).map(([k, c]) => [k, wrap(k, c)]));
      serverProtos = ["", "v12.stomp", "v11.stomp", "v10.stomp", "v10.stomp"];
      firstCodec = "v12.stomp";
      break;
    }
  }
  const expectedCodec = (proto: string) => (codecs ? (codecs[proto] ? proto : firstCodec) : mode);

  // --- the client, with the spy hooks
  type Sub = {
    kind: "stream" | "route" | "router";
    id: number;
    /** type -> [listener given, listener registered] */
    listeners: Map<string, [AnyListener, AnyListener]>;
    from?: number;
    fromAmb?: number;
    until?: number;
    untilAmb?: number;
    removedSeq?: number;
    got: number[];
    gotSeq: number[];
    filter: (data: unknown) => boolean;
  };
  let capture: Sub | undefined;
  /** Owner of the message listener that route() adds for all the routes of the client. */
  const router: Sub = { kind: "router", id: -1, listeners: new Map(), got: [], gotSeq: [], filter: () => false };
  const dispatches: Array<{ data: unknown }> = [];
  let dispatching: number | null = null;
  const owners = new Map<AnyListener, Sub>();
  const subs: Sub[] = [];
  hooks = {
    add(type, listener) {
      const sub = capture;
      if (!sub) return listener;
      let registered = listener;
      if (type == "message" && sub.kind != "router") {
        if (sub.from === undefined) {
          if (dispatching != null) (sub.from = dispatching + 1), (sub.fromAmb = dispatching);
          else sub.from = dispatches.length;
        }
        if (sub.kind == "stream") {
          const s = sub;
          registered = function (this: unknown, e: any) {
            onStreamPush(s, e?.data);
            return listener.call(this, e);
          };
        }
      }
      sub.listeners.set(type, [listener, registered]);
      owners.set(listener, sub);
      return registered;
    },
    remove(type, listener) {
      const sub = owners.get(listener);
      const entry = sub?.listeners.get(type);
      if (!sub || !entry || entry[0] !== listener) return listener;
      sub.listeners.delete(type);
      if (type == "message" && sub.kind != "router" && sub.until === undefined && sub.untilAmb === undefined) {
        sub.removedSeq = ++seq;
        if (dispatching != null) (sub.until = dispatching), (sub.untilAmb = dispatching);
        else sub.until = dispatches.length;
      }
      return entry[1];
    },
  };

  const clientCtrl = cfg.clientSignal ? spiedController() : undefined;
  let ws: SpyClient;
  try {
    ws = new SpyClient("ws://test.invalid/", {
      WebSocket,
      clock,
      random: () => 0,
      window: null,
      keepalive: false,
      reconnect: { minDelay: cfg.minDelay, maxDelay: cfg.minDelay + 100, jitter: "none" },
      connectTimeout: 5000,
      ...(protocols ? { protocols } : {}),
      ...(codec ? { codec } : {}),
      ...(codecs ? { codecs } : {}),
      ...(clientCtrl ? { signal: clientCtrl.signal } : {}),
    });
  } catch (error) {
    hooks = undefined;
    throw error;
  }

  setMaxListeners(0, ws);

  // --- the tap (first message listener after the on* handlers), event recorders
  ws.addEventListener("message", (e: any) => {
    const i = dispatches.push({ data: e.data }) - 1;
    dispatching = i;
    count("message dispatched");
    log.push(`    dispatch #${i} ${short(e.data)}`);
  });
  const decodeErrors: Array<{ data: unknown; error: unknown }> = [];
  ws.addEventListener("decodeerror", (e: any) => {
    decodeErrors.push({ data: e.data, error: e.error });
    count("decodeerror");
    log.push(`    decodeerror ${short(e.data)}`);
  });
  const streams: Array<{ id: number; s?: MessageStream<unknown>; model: StreamModel; sub: Sub; signal?: ReturnType<typeof spiedController>; ondrops: unknown[]; loop?: Promise<void>; loopDone?: boolean; pending: Waiter[] }> = [];
  ws.addEventListener("statechange", (e: any) => {
    log.push(`    state ${e.from} -> ${e.to}`);
    if (e.to == "closed") for (const st of streams) st.model.end();
  });
  ws.addEventListener("drop", (e: any) => {
    log.push(`    drop ${e.reason} ${short(e.message)}`);
    count("drop " + e.reason);
    if (e.reason == "encode") {
      if (!sentObjects.has(e.message)) problem("drop-encode", `drop "encode" of a message never sent: ${short(e.message)}`);
      if (!encodeErrors.has(e.error)) problem("drop-encode", `drop "encode" whose error is not the codec's exception: ${e.error}`);
    }
  });
  for (const t of ["open", "close", "error", "reconnecting"]) ws.addEventListener(t, () => log.push(`    ev ${t}`));

  // --- streams
  const onStreamPush = (sub: Sub, data: unknown) => {
    const st = streams[sub.id]!;
    const i = dispatching;
    log.push(`    stream ${sub.id} <- #${i}`);
    if (i == null) return problem("stream-window", `stream ${sub.id}'s listener called outside a message dispatch`, sub.id);
    if (data !== dispatches[i]!.data) problem("stream-window", `stream ${sub.id} given ${short(data)} during dispatch #${i} of ${short(dispatches[i]!.data)}`, sub.id);
    sub.got.push(i);
    sub.gotSeq.push(++seq);
    count(`stream push (${st.model.overflow}, ${st.model.buf.length >= st.model.size ? "full" : "room"})`);
    if (st.model.ended) return problem("stream-after-end", `stream ${sub.id}'s listener called after the stream ended`, sub.id);
    st.model.push(data);
  };
  const checkResult = (st: (typeof streams)[number], w: Waiter, what: string, r: { ok: boolean; v: any }) => {
    const tag = st.model.lateStop ? `stream-${st.model.lateStop}-after-end` : "stream-result";
    const e = w.expect;
    const got = r.ok ? (r.v?.done ? "done" : `value ${short(r.v?.value)}`) : `throw ${r.v?.code ?? r.v}`;
    if (!e) return problem(tag, `stream ${st.id}: ${what} settled (${got}) while the model still waits`, st.id);
    count(`stream ${what} ${"value" in e ? "value" : "done" in e ? "done" : "ERR_QUEUE_FULL"}`);
    const want = "value" in e ? `value ${short(e.value)}` : "done" in e ? "done" : `throw ERR_QUEUE_FULL`;
    let ok: boolean;
    if ("value" in e) ok = r.ok && r.v?.done === false && r.v.value === e.value;
    else if ("done" in e) ok = r.ok && r.v?.done === true && r.v.value === undefined;
    else ok = !r.ok && r.v?.code == "ERR_QUEUE_FULL" && r.v?.cause === e.error;
    if (!ok) problem(tag, `stream ${st.id}: ${what} gave ${got}, expected ${want}`, st.id);
  };
  const callNext = (st: (typeof streams)[number], who: string): Promise<IteratorResult<unknown>> => {
    const w = st.model.next();
    st.pending.push(w);
    log.push(`    ${who}: stream ${st.id}.next()`);
    const p = st.s!.next();
    p.then(
      (v) => ((w as { settled?: boolean }).settled = true, checkResult(st, w, "next()", { ok: true, v })),
      (v) => ((w as { settled?: boolean }).settled = true, checkResult(st, w, "next()", { ok: false, v })),
    );
    return p;
  };
  const callReturn = (st: (typeof streams)[number], who: string): Promise<IteratorResult<unknown>> => {
    log.push(`    ${who}: stream ${st.id}.return()`);
    count(`return() ${st.model.ended ? "after end" : "live"}${dispatching != null ? " mid-dispatch" : ""}`);
    st.model.stop("return");
    const w: Waiter = { expect: { done: true } };
    const p = st.s!.return();
    p.then(
      (v) => checkResult(st, w, "return()", { ok: true, v }),
      (v) => checkResult(st, w, "return()", { ok: false, v }),
    );
    return p;
  };
  const abortStream = (st: (typeof streams)[number], who: string) => {
    if (!st.signal || st.signal.signal.aborted) return "skip";
    log.push(`    ${who}: abort stream ${st.id}`);
    count(st.model.ended ? "abort after end" : "abort");
    st.model.stop("abort");
    st.signal.ctrl.abort();
  };
  const tick = () => new Promise<void>((r) => setImmediate(r));
  const newStream = (c: StreamCfg, who: string) => {
    const id = streams.length;
    const sub: Sub = { kind: "stream", id, listeners: new Map(), got: [], gotSeq: [], filter: () => true };
    subs.push(sub);
    const signal = c.signal == "none" ? undefined : spiedController();
    if (c.signal == "aborted") signal!.ctrl.abort();
    const st: (typeof streams)[number] = { id, model: new StreamModel(c.size, c.overflow), sub, signal, ondrops: [], pending: [] };
    streams.push(st);
    if (ws.readyState == 3 || signal?.signal.aborted) st.model.ended = true;
    log.push(`    ${who}: new stream ${id} ${JSON.stringify(c)}`);
    count(`new stream${dispatching != null ? " mid-dispatch" : ""}${st.model.ended ? " (ended at once)" : ""}`);
    capture = sub;
    try {
      st.s = messages(ws, {
        bufferSize: c.size,
        overflow: c.overflow,
        ...(signal ? { signal: signal.signal } : {}),
        ondrop: (m) => {
          st.ondrops.push(m);
          if (c.ondrop == "throw") throw new Boom("ondrop");
          if (c.ondrop == "return") void callReturn(st, "ondrop");
        },
      });
    } finally {
      capture = undefined;
    }
    if (st.s[Symbol.asyncIterator]() !== st.s) problem("stream-result", `stream ${id}: [Symbol.asyncIterator]() is not the stream`);
    if (c.consumer.t == "loop") {
      const k = c.consumer;
      st.loop = (async () => {
        let got = 0;
        try {
          if (k.forAwait) {
            const iterable = { [Symbol.asyncIterator]: () => ({ next: () => callNext(st, "loop"), return: () => callReturn(st, "loop break") }) };
            for await (const _ of iterable) {
              got++;
              for (let j = 0; j < k.slow; j++) await tick();
              if (k.breakAfter && got >= k.breakAfter) break;
            }
            if (k.breakAfter && got >= k.breakAfter && k.twice) await callReturn(st, "loop");
          } else
            for (;;) {
              const r = await callNext(st, "loop");
              if (r.done) break;
              got++;
              for (let j = 0; j < k.slow; j++) await tick();
              if (k.breakAfter && got >= k.breakAfter) {
                await callReturn(st, "loop");
                if (k.twice) await callReturn(st, "loop");
                break;
              }
            }
        } catch {
          // checked by callNext against the model
        }
        st.loopDone = true;
        count(`consumer loop done after ${got} messages`);
      })();
    }
    return st;
  };

  // --- routes
  const routes: Array<{ id: number; cfg: RouteCfg; off: () => void; unsubbed: boolean; sub: Sub; calls: number }> = [];
  const newRoute = (c: RouteCfg, who: string) => {
    const id = routes.length;
    const tag = tags[c.tag % tags.length]!;
    const field = fieldOf(c.field);
    const filter = (d: unknown) => typeof d == "object" && d !== null && (d as Record<string, unknown>)[field] === tag;
    const sub: Sub = { kind: "route", id, listeners: new Map(), got: [], gotSeq: [], filter };
    // A route's window is from its route() call to its unsubscribe (the routes of a client share
    // one message listener, the router's).
    if (dispatching != null) (sub.from = dispatching + 1), (sub.fromAmb = dispatching);
    else sub.from = dispatches.length;
    subs.push(sub);
    log.push(`    ${who}: new route ${id} ${field}=${JSON.stringify(tag)}`);
    const r = { id, cfg: c, off: () => {}, unsubbed: false, sub, calls: 0 };
    routes.push(r);
    const handler = (m: unknown) => {
      const i = dispatching;
      log.push(`    route ${id} <- #${i}`);
      if (m instanceof Event) problem("route-data", `route ${id} got an event ${(m as Event).type}`);
      if (i == null) return problem("route-data", `route ${id} called outside a message dispatch with ${short(m)}`);
      if (m !== dispatches[i]!.data) problem("route-data", `route ${id} got ${short(m)} during dispatch #${i} of ${short(dispatches[i]!.data)}`);
      if (!filter(m)) problem("route-data", `route ${id} (${field}=${JSON.stringify(tag)}) got ${short(m)}`);
      if (sub.removedSeq !== undefined) problem("route-after-unsub", `route ${id} called after its unsubscribe`);
      sub.got.push(i);
      sub.gotSeq.push(++seq);
      count("route called");
      const a = c.script[r.calls++] ?? { a: "none" as const, p: 0 };
      handlerAct(a.a, a.p, r);
    };
    capture = router;
    try {
      r.off = (route as unknown as (ws: unknown, tag: unknown, h: (m: unknown) => void, o: { field: string }) => () => void)(ws, tag, handler, { field });
    } finally {
      capture = undefined;
    }
    return r;
  };
  const unroute = (r: (typeof routes)[number], who: string) => {
    log.push(`    ${who}: unsubscribe route ${r.id}`);
    const sub = r.sub;
    if (!r.unsubbed) {
      sub.removedSeq = ++seq;
      if (dispatching != null) (sub.until = dispatching), (sub.untilAmb = dispatching);
      else sub.until = dispatches.length;
    }
    r.unsubbed = true;
    capture = router;
    try {
      r.off();
    } finally {
      capture = undefined;
    }
  };
  const handlerAct = (a: HandlerAct, p: number, r: (typeof routes)[number]) => {
    if (a == "none") return;
    const who = `route ${r.id} handler`;
    log.push(`    ${who}: ${a} ${p}`);
    count("handler " + a);
    const st = streams.length ? streams[p % streams.length]! : undefined;
    switch (a) {
      case "throw":
        throw new Boom("route handler");
      case "unsubSelf":
        return unroute(r, who);
      case "unsubOther":
        return unroute(routes[p % routes.length]!, who);
      case "returnStream":
        return st && void callReturn(st, who);
      case "abortStream":
        return st && abortStream(st, who);
      case "next":
        return st && void callNext(st, who).catch(() => {});
      case "newStream":
        return void newStream({ size: 1 + (p % 3), overflow: OVERFLOWS[p % 3]!, signal: p % 2 ? "live" : "none", ondrop: "none", consumer: { t: "manual" } }, who);
      case "newRoute":
        return void newRoute({ tag: p, field: p % 2 ? "kind" : "type", script: [] }, who);
      case "close":
        return ws.close();
      case "reconnect":
        return ws.reconnect();
    }
  };

  // --- correlate
  let rpc: Requester<any, any> | undefined;
  let detached = false;
  const issuedIds = new Set<string>();
  const requests: Array<{ id?: string; result?: string }> = [];
  const sentObjects = new Set<unknown>();
  const replyId = (m: any): string | undefined => {
    if (stomp) return m && typeof m == "object" && m.command == "RECEIPT" && m.headers?.["receipt-id"] !== undefined ? String(m.headers["receipt-id"]) : undefined;
    return m && typeof m == "object" && "re" in m ? String(m.re) : undefined;
  };
  if (cfg.rpc)
    rpc = correlate<any, any>(ws, {
      setId: (m, id) => {
        issuedIds.add(String(id));
        const out = stomp ? { ...m, headers: { ...m.headers, receipt: String(id) } } : { ...m, id };
        sentObjects.add(out);
        return out;
      },
      getId: (m) => replyId(m),
      timeout: cfg.rpc.timeout,
      clock,
    });
  let k = 0;
  const outMessage = (refuse: boolean) => {
    const n = ++k;
    // STOMP 1.0 cannot carry a line break in a header: queued under 1.2, it fails on a 1.0 connection.
    const m = stomp ? { command: "SEND", headers: { destination: "/q", k: refuse ? `a\nb${n}` : String(n) }, body: "" } : { type: "req", k: n, ...(refuse ? { refuse: true } : {}) };
    sentObjects.add(m);
    return m;
  };

  // --- server messages
  let n = 0;
  const render = (m: MsgSpec): unknown => {
    const id = ++n;
    const tagA = m.a >= 0 ? tags[m.a % tags.length] : undefined;
    const tagB = m.b >= 0 ? tags[m.b % tags.length] : undefined;
    const frame = (s: string) => (mode == "binary" ? (m.bin && m.kind == "junk" ? s : utf8(s)) : m.bin && mode != "custom" ? utf8(s) : s);
    if (stomp) {
      if (m.kind == "primitive") return m.bin ? "\r\n" : "\n";
      if (m.kind == "junk") return ["FOO\n\n\0", "MESSAGE\nk:\\t\n\n\0", "MESSAGE\ncontent-length:9\n\nshort\0", "MESSAGE\n\nno terminator"][m.v % 4];
      if (m.kind == "reply") return frame(`RECEIPT\nreceipt-id:${m.v + 1}\nn:${id}\n\n\0`);
      const cmd = STOMP_SENDABLE[(m.a < 0 ? 0 : m.a) % STOMP_SENDABLE.length];
      return frame(`${cmd}\nn:${id}\n${tagB !== undefined ? `kind:${tagB}\n` : ""}\n${m.v ? "body" : ""}\0`);
    }
    if (m.kind == "primitive") return frame(["7", "null", '"open"', "true", '"message"', "[1]"][m.v]!);
    if (m.kind == "junk") {
      if (mode == "schema" && m.v % 2) return frame(JSON.stringify({ n: id, type: tagA, bad: true }));
      if ((mode == "custom" || mode == "codecs") && m.v >= 3) return ["!undefined", "!string", "{{"][m.v - 3];
      if ((mode == "custom" || mode == "codecs") && m.v == 2 && m.bin) return "!void";
      if (m.v == 0 && mode != "binary" && mode != "custom") return new Uint8Array([0xff, 0xfe, 0x7b]).buffer;
      return frame("{{");
    }
    if (m.kind == "reply") return frame(JSON.stringify({ n: id, type: "reply", re: m.v + 1 }));
    const o: Record<string, unknown> = { n: id };
    if (tagA !== undefined) o.type = tagA;
    if (tagB !== undefined) o.kind = tagB;
    return frame(JSON.stringify(o));
  };

  // --- invariants
  const checkWindows = () => {
    for (const sub of subs) {
      if (sub.kind == "stream" && tainted.has(sub.id)) continue;
      const tag = sub.kind == "route" ? "route-window" : "stream-window";
      const name = `${sub.kind} ${sub.id}`;
      for (let j = 1; j < sub.got.length; j++) if (sub.got[j]! <= sub.got[j - 1]!) problem(tag, `${name} got dispatch #${sub.got[j]} after #${sub.got[j - 1]} (out of order or twice)`, sub.kind == "stream" ? sub.id : undefined);
      if (sub.from === undefined) {
        if (sub.got.length) problem(tag, `${name} got messages without a message listener`);
        continue;
      }
      const until = sub.until ?? dispatches.length;
      const got = new Set(sub.got);
      for (const i of got)
        if (!(i >= sub.from && i < until) && i !== sub.fromAmb && i !== sub.untilAmb) problem(tag, `${name} got dispatch #${i} outside its subscription [${sub.from}, ${until})`, sub.kind == "stream" ? sub.id : undefined);
      for (let i = sub.from; i < until; i++)
        if (sub.filter(dispatches[i]!.data) && !got.has(i)) problem(tag, `${name} missed dispatch #${i} ${short(dispatches[i]!.data)} while subscribed [${sub.from}, ${until})`, sub.kind == "stream" ? sub.id : undefined);
      if (sub.removedSeq !== undefined && sub.gotSeq.some((s) => s > sub.removedSeq!)) problem(sub.kind == "route" ? "route-after-unsub" : "stream-after-end", `${name} called after its listener was removed`, sub.kind == "stream" ? sub.id : undefined);
    }
  };
  const checkStreams = (final: boolean) => {
    for (const st of streams) {
      if (tainted.has(st.id)) continue;
      const m = st.model;
      const s = st.s!;
      if (s.buffered !== m.buf.length) problem(m.lateStop ? `stream-${m.lateStop}-after-end` : "stream-buffered", `stream ${st.id}: buffered ${s.buffered}, expected ${m.buf.length}`, st.id);
      if (s.dropped !== m.dropped.length) problem("stream-dropped", `stream ${st.id}: dropped ${s.dropped}, expected ${m.dropped.length}`, st.id);
      if (st.ondrops.length !== m.dropped.length || st.ondrops.some((d, j) => d !== m.dropped[j])) problem("stream-ondrop", `stream ${st.id}: ondrop called with ${st.ondrops.map(short)}, expected ${m.dropped.map(short)}`, st.id);
      if (m.ended && st.sub.listeners.size) problem("leak-listener", `stream ${st.id} ended but still listens to ${[...st.sub.listeners.keys()]}`, st.id);
      if (!m.ended && st.sub.listeners.size != 2) problem("leak-listener", `stream ${st.id} is live with listeners ${[...st.sub.listeners.keys()]}`, st.id);
      // The abort listener stays while abort still has something to discard (buffered messages or
      // an error not yet read).
      if (m.ended && !m.buf.length && !m.pendingError && st.signal?.signal.held.size) problem("leak-signal", `stream ${st.id} ended with nothing left but its signal holds ${st.signal.signal.held.size} listeners`, st.id);
      if (final) {
        if (st.pending.some((w) => !(w as { settled?: boolean }).settled)) problem("stream-unsettled", `stream ${st.id}: a next() never settled`, st.id);
        if (st.loop && !st.loopDone) problem("stream-unsettled", `stream ${st.id}: its consumer loop never finished`, st.id);
      }
    }
    // The router's one message listener: there while a route is live, gone with the last.
    const live = routes.some((r) => !r.unsubbed);
    if (router.listeners.size != (live ? 1 : 0)) problem("leak-listener", `${router.listeners.size} router listeners with ${live ? "live routes" : "every route unsubscribed"}`);
  };
  const check = (final = false) => {
    checkWindows();
    checkStreams(final);
    const leaked = escaped.slice(escapedAt).filter((e) => !(e instanceof Boom));
    if (leaked.length) problem("escape", `thrown out of the client: ${leaked.map((e) => (e as Error)?.stack ?? String(e)).join("\n")}`);
    escaped.length = escapedAt;
    if (problems.length) {
      const all = process.env.PROP_VERBOSE ? log : log.slice(-300);
      throw new Violation(`${problems.join("\n")}\n--- log ---\n${all.join("\n")}`);
    }
  };

  // --- steps
  const pick = (w: number) => sockets[sockets.length - 1 - w];
  const opened = new WeakSet<FakeSocket>();
  const serverSend = (s: FakeSocket, m: MsgSpec, current: boolean) => {
    const stateBefore = ws.state;
    const raw = render(m);
    log.push(`    server sends ${short(raw)} on ${current ? "the current" : "a stale"} socket (${stateBefore})`);
    const d0 = decodes.length;
    const e0 = decodeErrors.length;
    const x0 = dispatches.length;
    const knownIds = rpc && !detached ? new Set(issuedIds) : new Set<string>();
    dispatching = null;
    try {
      s.serverMessage(raw);
    } finally {
      dispatching = null;
    }
    const dd = decodes.length - d0;
    if (dd > 1) problem("decode", `one frame decoded ${dd} times`);
    if (!current && dd) problem("decode", `a frame of a stale socket was decoded`);
    if (current && stateBefore == "open" && s.readyState == 1 && dd != 1) problem("decode", `a frame of the open connection was not processed`);
    if (dd != 1) {
      if (decodeErrors.length != e0 || dispatches.length != x0) problem("decode", `an unprocessed frame raised decodeerror or message`);
      return;
    }
    const d = decodes[d0]!;
    if (d.raw !== raw) problem("decode", `the codec got ${short(d.raw)} for the frame ${short(raw)}`);
    const want = expectedCodec(s.protocol);
    if (d.codec != want) problem("codec-choice", `decoded by ${d.codec}, the negotiated subprotocol "${s.protocol}" needs ${want}`);
    if (!d.ok) {
      const e = decodeErrors.slice(e0);
      if (e.length != 1 || e[0]!.data !== raw || e[0]!.error !== d.error) problem("decode", `a decode failure gave ${e.length} decodeerror events (data/error ${e.length == 1 ? `${e[0]!.data === raw}/${e[0]!.error === d.error}` : "-"})`);
      if (dispatches.length != x0) problem("decode", `an undecodable frame was dispatched as a message`);
      return;
    }
    if (decodeErrors.length != e0) problem("decode", `a decoded frame raised decodeerror`);
    const id = replyId(d.value);
    const intercepted = id !== undefined && knownIds.has(id);
    const x = dispatches.slice(x0);
    count(intercepted ? "reply intercepted" : id !== undefined ? "reply not intercepted" : "decoded");
    if (intercepted && x.length) problem("intercept", `the reply ${id} to a known request was also dispatched as a message`);
    if (!intercepted && x.length == 1 && d.value === undefined && x[0]!.data !== undefined)
      problem("decode-undefined", `the codec decoded a frame to undefined, listeners got ${short(x[0]!.data)}`);
    else if (!intercepted && (x.length != 1 || x[0]!.data !== d.value)) problem(id !== undefined ? "intercept" : "decode", `a decoded frame gave ${x.length} message dispatches${x.length == 1 ? " of another value" : ""}`);
  };
  const stepThrew = (what: string, error: unknown) => problem("escape", `${what} threw: ${(error as Error)?.stack ?? error}`);
  const doStep = async (step: Step): Promise<unknown> => {
    switch (step.t) {
      case "serverOpen": {
        if (pick(0)?.readyState != 0) await flush();
        const s = pick(0);
        if (!s || s.readyState != 0) return "skip";
        opened.add(s);
        return s.serverOpen(serverProtos[step.proto % serverProtos.length]);
      }
      case "serverMessage": {
        // The server answers the handshake first if it has not yet (more messages per run).
        if (step.w == 0 && pick(0)?.readyState == 0) {
          await flush();
          const s = pick(0)!;
          if (s.readyState == 0) opened.add(s), log.push(`    (server opens)`), s.serverOpen(serverProtos[1]);
        }
        const s = pick(step.w);
        // Only a socket that opened can deliver (a CONNECTING one closed by the client cannot).
        if (!s || !opened.has(s) || s.readyState == 0 || s.readyState == 3) return "skip";
        for (const m of step.ms) if (s.readyState != 3) serverSend(s, m, step.w == 0);
        return;
      }
      case "serverClose": {
        const s = pick(0);
        if (!s || s.readyState == 3) return "skip";
        return s.serverClose(step.code);
      }
      case "advance":
        return clock.advance(step.ms);
      case "flush":
        await flush();
        return flush();
      case "newStream":
        return void newStream(step.cfg, "app");
      case "next": {
        if (!streams.length) return "skip";
        const st = streams[step.i % streams.length]!;
        for (let j = 0; j < step.n; j++) callNext(st, "app").catch(() => {});
        return;
      }
      case "return": {
        if (!streams.length) return "skip";
        const st = streams[step.i % streams.length]!;
        void callReturn(st, "app");
        if (step.twice) void callReturn(st, "app");
        return;
      }
      case "abortStream":
        return streams.length ? abortStream(streams[step.i % streams.length]!, "app") : "skip";
      case "newRoute":
        return void newRoute(step.cfg, "app");
      case "unroute":
        return routes.length ? unroute(routes[step.i % routes.length]!, "app") : "skip";
      case "send": {
        const m = outMessage(step.refuse);
        try {
          log.push(`    send ${short(m)} = ${ws.send(m)}`);
        } catch (error) {
          log.push(`    send ${short(m)} threw ${(error as Error)?.message ?? error}`);
          if (!encodeErrors.has(error)) stepThrew("send()", error);
        }
        return;
      }
      case "request": {
        if (!rpc) return "skip";
        const rec: (typeof requests)[number] = {};
        requests.push(rec);
        rpc.request(outMessage(step.refuse)).then(
          (v) => {
            rec.result = "resolved";
            count("request resolved");
            if (replyId(v) === undefined || !issuedIds.has(replyId(v)!)) problem("request", `a request resolved with ${short(v)}`);
          },
          (e) => {
            count("request rejected " + (e?.code ?? e));
            rec.result = "rejected " + (e?.code ?? e);
            // request(): "the codec's error (or ERR_INVALID_ARGUMENT with it as cause) when the
            // selected subprotocol's codec cannot encode it".
            if (!encodeErrors.has(e) && encodeErrors.has(e?.cause) && e?.code != "ERR_INVALID_ARGUMENT")
              problem("request-encode", `a request the codec cannot encode rejected with ${e?.code} (cause: the codec's error), not the codec's error or ERR_INVALID_ARGUMENT`);
          },
        );
        return;
      }
      case "detach":
        if (!rpc || detached) return "skip";
        detached = true;
        return rpc.detach();
      case "close":
        return ws.close();
      case "reconnect":
        return ws.reconnect();
      case "abortClient":
        return clientCtrl && !clientCtrl.signal.aborted ? clientCtrl.ctrl.abort() : "skip";
    }
  };

  try {
    log.push(`config: ${JSON.stringify(cfg, (_, v) => (v === Infinity ? "Infinity" : v))}`);
    for (const c of cfg.routes) newRoute(c, "setup");
    for (const c of cfg.streams) newStream(c, "setup");
    check();
    for (const [i, step] of steps.entries()) {
      const at = log.push(`#${i} ${JSON.stringify(step)} [${ws.state}, ${sockets.length} sockets]`) - 1;
      try {
        if ((await doStep(step)) == "skip") log[at] += " (skipped)";
      } catch (error) {
        stepThrew(`step #${i}`, error);
      }
      check();
    }

    // Settle: close for good, the server answers, consumers finish.
    log.push(`== settle [${ws.state}]`);
    try {
      ws.close();
      await clock.advance(0);
      for (const s of sockets) if (s.closeCalls.length && s.readyState < 3) s.serverClose(opened.has(s) ? 1000 : 1006);
      await clock.advance(0);
    } catch (error) {
      stepThrew("settling", error);
    }
    if (ws.state != "closed") problem("state", `not closed after close() and the server's close (${ws.state})`);
    for (let j = 0; j < 20 && streams.some((st) => st.loop && !st.loopDone); j++) await tick();
    // Drain what is left: the buffered messages, then the end (ERR_QUEUE_FULL once, then done).
    for (const st of streams) {
      for (let j = 0; j < 100; j++) {
        const r = await within(callNext(st, "drain").then((v) => v, () => ({ done: false })));
        if (r === undefined) {
          problem("stream-unsettled", `stream ${st.id}: next() after the final close never settled`, st.id);
          break;
        }
        if (r.done) break;
      }
      await callReturn(st, "final");
      await callReturn(st, "final");
      const last = await within(callNext(st, "final").catch(() => ({ done: false })));
      if (!last?.done) problem("stream-result", `stream ${st.id}: next() after return() is not done`, st.id);
    }
    for (const r of routes) unroute(r, "final"), r.off();
    await clock.advance(1_000_000);
    await flush();
    check(true);
    const pending = requests.filter((q) => !q.result);
    if (pending.length) problem("request", `${pending.length} requests never settled`);
    for (const sub of subs) if (sub.listeners.size) problem("leak-listener", `${sub.kind} ${sub.id} still listens to ${[...sub.listeners.keys()]} after everything closed`, sub.kind == "stream" ? sub.id : undefined);
    for (const st of streams) if (st.signal?.signal.held.size) problem("leak-signal", `stream ${st.id}'s signal still holds listeners after everything closed`, st.id);
    if (clientCtrl?.signal.held.size) problem("leak-signal", `the closed client's signal still holds its listener`);
    if (clock.timers.size) problem("leak-timer", `${clock.timers.size} timers left after everything closed and settled`);
    check(true);
  } finally {
    hooks = undefined;
    capture = undefined;
  }
}

/** `p`'s value, or undefined if it does not settle within a few macrotasks. */
async function within<T>(p: Promise<T>): Promise<T | undefined> {
  let settled = false;
  let value: T | undefined;
  p.then((v) => ((settled = true), (value = v)), () => (settled = true));
  for (let i = 0; i < 5 && !settled; i++) await new Promise<void>((r) => setImmediate(r));
  return value;
}

function short(v: unknown): string {
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength})`;
  if (typeof v == "string") return JSON.stringify(v.length > 60 ? v.slice(0, 60) + "…" : v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 80) + "…" : s;
  } catch {
    return String(v);
  }
}

describe("typed layer over ResilientWebSocket (property)", () => {
  // Listener exceptions (the deliberate ones of route handlers and ondrop) are reported by Node's
  // EventTarget as uncaught exceptions: capture them all here, so the run can tell them apart.
  before(() => {
    process.on("unhandledRejection", onEscape);
    process.setUncaughtExceptionCaptureCallback(onEscape);
  });
  after(() => {
    if (process.env.PROP_STATS) console.log([...coverage].sort().map(([k, v]) => `${String(v).padStart(8)}  ${k}`).join("\n"));
    process.off("unhandledRejection", onEscape);
    process.setUncaughtExceptionCaptureCallback(null);
  });

  it("streams, routes, codecs and correlate keep every message accounted for", { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(stepArb, { maxLength: 40, size: "max" }), (cfg, steps) => run(cfg, steps)),
      { numRuns: NUM_RUNS, includeErrorInReport: true, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });
});

/**
 * Property test (fast-check): ResilientWebSocket over the scripted transport and the fake clock,
 * driven through random sequences of server events (open, message, close, a close handshake
 * started by the server, unsent bytes), time, browser events (online/offline, visibility,
 * back/forward cache) and application calls (send, close, reconnect, opened, request, abort),
 * while its own listeners call close(), reconnect(), send(), request() or opened() in the middle
 * of a transition, each from a pre-generated script. After every step and after a final close:
 *
 * - nothing is thrown out of the client (steps, timers, transport callbacks, promises);
 * - `state` is one of the five, every statechange is an allowed move from the previous `to`;
 * - at most one socket is live (readyState 0/1), none while reconnecting or closed;
 * - once closed: no new socket, no event but one `close` (and `drop` "closed", or "unsent" of a
 *   socket reconnect() closed with a close frame, which is reported late by design), no queued
 *   message, no timer left after settling;
 * - the client holds a bounded number of timers;
 * - opened() resolves only after an open, rejects (ERR_CLOSED) only once closed, and settles;
 * - every send() returns sent/queued/dropped and every message is accounted for: handed to a socket
 *   (and maybe later reported "unsent"), still queued, or dropped once, never silently lost, never
 *   both dropped and sent;
 * - requests of correlate() are on the current connection whenever it is open, and all settle.
 *
 * Environment: PROP_RUNS and PROP_SEED override the number of runs and the seed; PROP_IGNORE
 * (comma-separated substrings of failure messages) looks past a known failure for the next one;
 * PROP_STATS prints how often each event and state was reached.
 */
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ResilientWebSocket } from "../../src/client/client.js";
import type { Codec } from "../../src/client/codec.js";
import { json } from "../../src/client/codecs.js";
import { correlate, type Requester } from "../../src/client/request.js";
import { canMove, stateNames, type State } from "../../src/client/state.js";
import { FakeClock, FakeSocket, PingSocket, flush, transport } from "./client-helpers.js";

const URL_ = "ws://test.invalid/";
const NUM_RUNS = Number(process.env.PROP_RUNS ?? 5000);
const SEED = process.env.PROP_SEED === undefined ? undefined : Number(process.env.PROP_SEED);
/** Tags of invariants to skip (comma-separated), to look past a known failure for the next one. */
const IGNORE = new Set((process.env.PROP_IGNORE ?? "").split(","));

// ---------------------------------------------------------------------------------------------
// Test doubles

/** Hook for the run in progress: told of every socket the transport makes. */
let onNewSocket: ((s: Sock) => void) | undefined;
/** Hook for the run in progress: whether the transport constructor throws this time. */
let failSocket: (() => boolean) | undefined;

/**
 * The scripted socket, with the W3C send(): throws while CONNECTING, discards (without throwing)
 * once CLOSING or CLOSED, as browsers and the built-in client do.
 */
function realistic<B extends new (...args: any[]) => FakeSocket>(Base: B) {
  return class extends Base {
    discarded: unknown[] = [];
    everOpened = false;
    constructor(...args: any[]) {
      if (failSocket?.()) throw new Error("transport constructor failed");
      super(...args);
      onNewSocket?.(this as unknown as Sock);
    }
    override send(data: unknown) {
      if (this.readyState == 0) throw new DOMException("send() while CONNECTING", "InvalidStateError");
      if (this.readyState >= 2) this.discarded.push(data);
      else this.sent.push(data);
    }
  };
}
const PlainSock = realistic(FakeSocket);
const PingSock = realistic(PingSocket);
type Sock = InstanceType<typeof PingSock>;

// ---------------------------------------------------------------------------------------------
// Model: options, listener scripts, steps

const ACTS = ["close", "close4000", "reconnect", "reconnect3000", "send", "request", "opened"] as const;
type Act = (typeof ACTS)[number] | "none";
const LISTENED = ["statechange", "open", "close", "error", "reconnecting", "drop", "message", "decodeerror"] as const;
type Listened = (typeof LISTENED)[number];

const act: fc.Arbitrary<Act> = fc.oneof(
  { arbitrary: fc.constant("none" as const), weight: 8 },
  { arbitrary: fc.constantFrom("close" as const, "close4000" as const), weight: 1 },
  { arbitrary: fc.constantFrom("reconnect" as const, "reconnect3000" as const), weight: 2 },
  { arbitrary: fc.constantFrom("send" as const, "request" as const, "opened" as const), weight: 3 },
);
const script = fc.array(act, { maxLength: 6 });

const configArb = fc.record({
  reconnect: fc.oneof(
    { arbitrary: fc.constant(false as const), weight: 1 },
    {
      weight: 6,
      arbitrary: fc.record({
        minDelay: fc.integer({ min: 0, max: 200 }),
        spread: fc.integer({ min: 0, max: 400 }),
        jitter: fc.constantFrom("none" as const, "full" as const),
        maxRetries: fc.oneof({ arbitrary: fc.constantFrom(0, 1, 2, 3), weight: 1 }, { arbitrary: fc.constant(Infinity), weight: 2 }),
        resetAfter: fc.constantFrom(0, 500, 5000),
      }),
    },
  ),
  connectTimeout: fc.integer({ min: 50, max: 2000 }),
  keepalive: fc.option(fc.record({ interval: fc.integer({ min: 50, max: 1000 }), timeout: fc.integer({ min: 50, max: 500 }), heartbeat: fc.constantFrom("none", "text", "throwing") }), { nil: false as const }),
  ping: fc.boolean(),
  queue: fc.record({
    maxMessages: fc.integer({ min: 1, max: 4 }),
    maxBytes: fc.constantFrom(1 << 20, 40),
    overflow: fc.constantFrom("drop-oldest" as const, "drop-newest" as const, "error" as const),
    ttl: fc.constantFrom(Infinity, 100, 1000),
  }),
  window: fc.option(fc.record({ online: fc.boolean(), hidden: fc.boolean() }), { nil: null }),
  codec: fc.constantFrom("none" as const, "json" as const, "codecs" as const),
  requireProtocol: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  offer: fc.boolean(),
  url: fc.constantFrom("static" as const, "sync" as const, "async" as const, "deferred" as const),
  /** Attempts whose transport constructor throws. */
  ctorFails: fc.array(fc.boolean(), { maxLength: 4 }),
  urlFails: fc.array(fc.boolean(), { maxLength: 5 }),
  rpc: fc.option(fc.record({ timeout: fc.constantFrom(Infinity, 300, 3000), resend: fc.boolean(), first: fc.boolean() }), { nil: null }),
  signal: fc.boolean(),
  random: fc.double({ min: 0, max: 0.999, noNaN: true }),
  listeners: fc.record(Object.fromEntries(LISTENED.map((t) => [t, script])) as Record<Listened, typeof script>),
});
type Config = typeof configArb extends fc.Arbitrary<infer C> ? C : never;

/** 0: the newest socket; k: the k-th before it (a stale one). */
const which = fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 1 });
const stepArb = fc.oneof(
  { weight: 18, arbitrary: fc.record({ t: fc.constant("serverOpen" as const), w: which, proto: fc.constantFrom("", "v1", "v2", "x") }) },
  { weight: 12, arbitrary: fc.record({ t: fc.constant("serverMessage" as const), w: which, kind: fc.constantFrom("data", "pong", "reply", "junk"), id: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 9, arbitrary: fc.record({ t: fc.constant("serverClose" as const), w: which, code: fc.constantFrom(1000, 1006, 1011, 1013, 4000) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("serverClosing" as const), w: which }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("buffered" as const), n: fc.constantFrom(0, 1, 5, 50) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("serverPong" as const) }) },
  { weight: 12, arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 100, max: 3000 })) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("flush" as const) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("window" as const), ev: fc.constantFrom("online", "offline", "hidden", "visible", "pagehide", "pagehide-unload", "pageshow") }) },
  { weight: 9, arbitrary: fc.record({ t: fc.constant("send" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("close" as const), code: fc.constantFrom(undefined, 1000, 4000) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("reconnect" as const), code: fc.constantFrom(undefined, 3000) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("opened" as const) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("request" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("abort" as const) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("resolveUrl" as const) }) },
);
type Step = typeof stepArb extends fc.Arbitrary<infer S> ? S : never;

// ---------------------------------------------------------------------------------------------
// Messages: every send() gets a fresh key k; requests carry an id; keys survive encoding.

/** A v2 codec that cannot encode odd keys (drop reason "encode", send() throwing). */
const REFUSED = "v2 refuses odd keys";
const strict: Codec<any, any> = {
  frame: "text",
  encode: (m: { k: number }) => {
    if (m.k % 2) throw new Error(REFUSED);
    return JSON.stringify(m);
  },
  decode: (d) => JSON.parse(d as string),
};

/** The send key of an application message or of the frame it was encoded to; null for anything else (heartbeats). */
function keyOf(m: unknown): string | null {
  if (typeof m == "string") {
    if (m.startsWith("{")) {
      try {
        return keyOf(JSON.parse(m));
      } catch {
        return null;
      }
    }
    return /^k\d+/.test(m) ? m.split("|")[0]! : null;
  }
  if (m && typeof m == "object" && typeof (m as { k?: unknown }).k == "number") return "k" + (m as { k: number }).k;
  return null;
}

const idx = (s: State) => stateNames.indexOf(s);

// ---------------------------------------------------------------------------------------------
// One run

const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);

class Violation extends Error {}
const coverage: Record<string, number> = {};
const count = (what: string) => (coverage[what] = (coverage[what] ?? 0) + 1);

async function run(cfg: Config, steps: Step[]): Promise<void> {
  const log: string[] = [];
  const problems: string[] = [];
  const ignored = (what: string) => [...IGNORE].some((i) => i && what.includes(i));
  const problem = (what: string) => ignored(what) || problems.push(what);
  const escapedAt = escaped.length;
  const clock = new FakeClock(400);
  const reqTimers = new Set<unknown>();
  const reqClock = {
    setTimeout: (fn: () => void, ms: number) => {
      const id = clock.setTimeout(fn, ms);
      reqTimers.add(id);
      return id;
    },
    clearTimeout: (id: unknown) => clock.clearTimeout(id),
  };
  const t = transport<Sock>((cfg.ping ? PingSock : PlainSock) as never);
  const sockets = t.sockets;
  const coded = cfg.codec != "none";
  let nextKey = 0;
  const message = (): unknown => (coded ? { k: ++nextKey } : `k${++nextKey}`);

  const win = cfg.window && Object.assign(new EventTarget(), { navigator: { onLine: cfg.window.online }, document: { visibilityState: cfg.window.hidden ? "hidden" : "visible" } });
  let bfcached = false;
  const ctrl = cfg.signal ? new AbortController() : undefined;
  let attempts = 0;
  const provider = () => {
    if (cfg.urlFails[attempts++]) throw new Error("URL provider down");
    return URL_;
  };
  /** "deferred": the URL comes when a resolveUrl step says so (a token fetch that takes a while). */
  const waiting: Array<() => void> = [];
  const deferred = () => new Promise<string>((ok, no) => waiting.push(() => { try { ok(provider()); } catch (error) { no(error); } }));
  let constructions = 0;
  let beats = 0;
  failSocket = () => !!cfg.ctorFails[constructions++];
  const r = cfg.reconnect;

  onNewSocket = (s) => log.push(`    (socket #${sockets.length + 1} made, state ${ws?.state})`);
  // eslint-disable-next-line prefer-const
  let ws: ResilientWebSocket<any, any>;
  ws = new ResilientWebSocket<any, any>(cfg.url == "static" ? URL_ : cfg.url == "sync" ? provider : cfg.url == "async" ? async () => provider() : deferred, {
    WebSocket: t.WebSocket,
    clock,
    random: () => cfg.random,
    window: win,
    signal: ctrl?.signal,
    connectTimeout: cfg.connectTimeout,
    reconnect: r && { minDelay: r.minDelay, maxDelay: r.minDelay + r.spread, jitter: r.jitter, maxRetries: r.maxRetries, resetAfter: r.resetAfter },
    keepalive: cfg.keepalive && {
      interval: cfg.keepalive.interval,
      timeout: cfg.keepalive.timeout,
      ...(cfg.keepalive.heartbeat == "none"
        ? {}
        : {
            // "throwing": a heartbeat function that fails every other probe (an error event).
            message: cfg.keepalive.heartbeat == "text" ? "hb" : () => (++beats % 2 ? "hb" : (() => { throw new Error("no heartbeat"); })()),
            isPong: (d: unknown) => d === "pong",
          }),
    },
    queue: cfg.queue,
    ...(cfg.codec == "json" ? { codec: json() } : cfg.codec == "codecs" ? { codecs: { v1: json(), v2: strict } } : {}),
    ...(cfg.offer || cfg.codec == "codecs" ? { protocols: ["v1", "v2"] } : {}),
    requireProtocol: cfg.requireProtocol,
  });

  // --- recorder: the first listener of every event, so it sees the state each dispatch starts in
  let lastTo: State = "connecting";
  let currentStep = "construction";
  let closed = false;
  let socketsAtClose = 0;
  let finalCloses = 0;
  let opensSeen = 0;
  let dropsSeen = 0;
  const issued = new Map<string, number>();
  const droppedNU = new Map<string, number>(); // drops for any reason but "unsent"
  const unsent = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const detail = (type: string, e: any): string => {
    switch (type) {
      case "statechange":
        return ` ${e.from}->${e.to}`;
      case "close":
        return ` ${e.code} ${JSON.stringify(e.reason)} clean=${e.wasClean}`;
      case "reconnecting":
        return ` attempt=${e.attempt} delay=${e.delay} code=${e.code}`;
      case "drop":
        return ` ${JSON.stringify(e.message)} ${e.reason}`;
      case "error":
        return ` ${e.error?.code ?? e.error?.message ?? ""}`;
      case "message":
        return ` ${JSON.stringify(e.data)}`;
      default:
        return "";
    }
  };
  for (const type of LISTENED) {
    ws.addEventListener(type, (e: any) => {
      const state = ws.state;
      count(type + (type == "statechange" ? ":" + e.to : type == "drop" ? ":" + e.reason : ""));
      log.push(`    ev ${type}${detail(type, e)} [${state}]`);
      if (closed) {
        if (type == "close") {
          if (++finalCloses > 1) problem(`a second close event after the client closed`);
        } else if (!(type == "drop" && (e.reason == "closed" || e.reason == "unsent")))
          // "unsent" may come late by design: a socket reconnect() closed with a close frame reports
          // what it held only once it fails to close cleanly, which can be after the final close.
          problem(`event "${type}" after the client closed`);
      }
      if (type == "statechange") {
        if (!stateNames.includes(e.to) || !stateNames.includes(e.from)) problem(`statechange with unknown state ${e.from}->${e.to}`);
        if (e.from !== lastTo) problem(`statechange from ${e.from}, but the last one went to ${lastTo}`);
        if (!canMove(idx(e.from), idx(e.to))) problem(`statechange ${e.from}->${e.to} is not allowed`);
        if (e.to != state) problem(`statechange to ${e.to} dispatched in state ${state}`);
        lastTo = e.to;
        if (e.to == "open") opensSeen++;
        if (e.to == "closed") (closed = true), (socketsAtClose = sockets.length), count("closed during " + currentStep);
      }
      if (type == "open" && state != "open") problem(`open event in state ${state}`);
      if (type == "reconnecting" && state != "reconnecting") problem(`reconnecting event in state ${state}`);
      if (type == "message" && state != "open" && state != "closing") problem(`message event in state ${state}`);
      if (type == "drop") {
        dropsSeen++;
        const k = keyOf(e.message);
        if (k == null) problem(`drop of a message the application never sent: ${JSON.stringify(e.message)}`);
        else inc(e.reason == "unsent" ? unsent : droppedNU, k);
      }
    });
  }

  const delivered = () => {
    const d = new Map<string, number>();
    for (const s of sockets) for (const data of s.sent) {
      const k = keyOf(data);
      if (k != null) inc(d, k);
    }
    return d;
  };

  // --- every send(), the application's, the listeners' and correlate()'s, goes through here
  const rawSend = ws.send.bind(ws);
  const expectedThrow = (error: unknown) =>
    (error as { code?: string })?.code == "ERR_QUEUE_FULL" ? cfg.queue.overflow == "error" : (error as Error)?.message == REFUSED;
  ws.send = (m: unknown) => {
    const k = keyOf(m)!;
    const before = delivered().get(k) ?? 0;
    const dropsBefore = droppedNU.get(k) ?? 0;
    const stateBefore = ws.state;
    let result: unknown;
    try {
      result = rawSend(m);
    } catch (error) {
      log.push(`    send(${JSON.stringify(m)}) threw ${(error as Error)?.message}`);
      if (!expectedThrow(error)) problem(`send() threw: ${(error as Error)?.stack ?? error}`);
      throw error;
    }
    inc(issued, k);
    log.push(`    send(${JSON.stringify(m)}) = ${result} [${stateBefore} -> ${ws.state}]`);
    const sentNow = (delivered().get(k) ?? 0) - before;
    const droppedNow = (droppedNU.get(k) ?? 0) - dropsBefore;
    if (result == "sent" && (sentNow != 1 || droppedNow != 0)) problem(`send() said "sent" but handed it to a socket ${sentNow} times, dropped ${droppedNow}`);
    else if (result == "dropped" && (sentNow != 0 || droppedNow != 1)) problem(`send() said "dropped" with ${droppedNow} drop events`);
    else if (result == "queued" && (sentNow != 0 || droppedNow != 0)) problem(`send() said "queued" but sent ${sentNow}, dropped ${droppedNow}`);
    else if (result != "sent" && result != "dropped" && result != "queued") problem(`send() returned ${String(result)}`);
    if (result == "queued" && ws.state == "closed") problem(`send() queued a message on a closed client`);
    if ((stateBefore == "closing" || stateBefore == "closed") && result != "dropped") problem(`send() in state ${stateBefore} returned ${result}`);
    return result as never;
  };

  // --- opened() and request() promises
  const openedCalls: Array<{ at: number; opens: number; state: State; result?: string }> = [];
  const callOpened = (who: string) => {
    const rec = { at: log.length, opens: opensSeen, state: ws.state } as (typeof openedCalls)[number];
    openedCalls.push(rec);
    let p: Promise<void>;
    try {
      p = ws.opened();
    } catch (error) {
      problem(`opened() threw: ${error}`);
      return;
    }
    p.then(
      () => {
        rec.result = "resolved";
        log.push(`    (opened() of ${who} resolved)`);
        if (!(opensSeen > rec.opens || rec.state == "open")) problem(`opened() (${who}) resolved without an open since the call`);
      },
      (error) => {
        rec.result = "rejected";
        log.push(`    (opened() of ${who} rejected ${error?.code})`);
        if (error?.code != "ERR_CLOSED" || !closed) problem(`opened() (${who}) rejected with ${error?.code ?? error} in state ${ws.state}`);
      },
    );
  };

  let rpc: Requester<any, any> | undefined;
  const requests: Array<{ k: string; id: number; result?: string }> = [];
  let requestIds = 0;
  const attachRpc = () => {
    rpc = correlate<any, any>(ws, {
      setId: (m: any, id) => (coded ? { ...m, id } : `${m}|${id}`),
      getId: (m: any) => (coded ? (m && typeof m == "object" && "re" in m ? m.re : undefined) : typeof m == "string" && m.startsWith("re|") ? Number(m.slice(3)) : undefined),
      timeout: cfg.rpc!.timeout,
      resend: cfg.rpc!.resend,
      clock: reqClock,
    });
  };
  const callRequest = (who: string) => {
    if (!rpc) return;
    const m = message();
    const rec = { k: keyOf(m)!, id: ++requestIds } as (typeof requests)[number];
    requests.push(rec);
    log.push(`    request #${rec.id} ${JSON.stringify(m)} by ${who}`);
    rpc.request(m).then(
      () => ((rec.result = "resolved"), log.push(`    (request #${rec.id} resolved)`)),
      (error) => ((rec.result = "rejected " + (error?.code ?? error)), log.push(`    (request #${rec.id} rejected ${error?.code ?? error})`)),
    );
  };

  // --- listeners with scripted re-entrant actions
  const perform = (a: Act, who: string) => {
    if (a == "none") return;
    log.push(`    ${who}: ${a}`);
    try {
      if (a == "close") ws.close();
      else if (a == "close4000") ws.close(4000, "bye");
      else if (a == "reconnect") ws.reconnect();
      else if (a == "reconnect3000") ws.reconnect(3000, "again");
      else if (a == "send") ws.send(message());
      else if (a == "request") callRequest(who);
      else if (a == "opened") callOpened(who);
    } catch (error) {
      // send() reported unexpected exceptions itself.
      if (a != "send") problem(`${a}() from ${who} threw: ${(error as Error)?.stack ?? error}`);
    }
  };
  if (cfg.rpc?.first) attachRpc();
  for (const type of LISTENED) {
    const s = cfg.listeners[type];
    let i = 0;
    ws.addEventListener(type, () => perform(s[i++] ?? "none", `${type} listener`));
  }
  if (cfg.rpc && !cfg.rpc.first) attachRpc();

  // --- invariants
  const fail = (what: string): void => {
    if (ignored(what)) return;
    throw new Violation(`${what}\n--- step log (${steps.length} steps) ---\n${log.slice(-400).join("\n")}`);
  };
  const clientTimers = () => [...clock.timers.keys()].filter((id) => !reqTimers.has(id));
  const live = () => sockets.filter((s) => s.readyState < 2);
  const check = (settled: boolean) => {
    if (problems.length) fail(problems.join("\n"));
    if (escaped.length > escapedAt) fail(`thrown out of the client: ${escaped.slice(escapedAt).map((e) => (e as Error)?.stack ?? e).join("\n")}`);
    const state = ws.state;
    if (!stateNames.includes(state)) fail(`state ${state}`);
    if (state != lastTo) fail(`state is ${state} but the last statechange went to ${lastTo}`);
    const l = live().length;
    if (l > 1) fail(`${l} live sockets`);
    if ((state == "reconnecting" || state == "closed") && l) fail(`a live socket in state ${state}`);
    if (closed && sockets.length != socketsAtClose) fail(`a socket made after the client closed`);
    const timers = clientTimers().length;
    if (timers > 4) fail(`${timers} client timers in the clock`);
    // message accounting
    const st = ws.stats;
    if (st.dropped != dropsSeen) fail(`stats.dropped ${st.dropped} but ${dropsSeen} drop events`);
    if (closed && st.queued) fail(`${st.queued} messages still queued in a closed client`);
    const d = delivered();
    let queued = 0;
    for (const [k, n] of issued) {
      const q = n - (d.get(k) ?? 0) - (droppedNU.get(k) ?? 0);
      if (q < 0) fail(`${k}: sent ${n} times, but handed to sockets ${d.get(k) ?? 0} times and dropped ${droppedNU.get(k) ?? 0} times`);
      if ((unsent.get(k) ?? 0) > (d.get(k) ?? 0)) fail(`${k}: reported unsent ${unsent.get(k)} times, handed to sockets ${d.get(k) ?? 0} times`);
      queued += q;
    }
    for (const k of [...droppedNU.keys(), ...unsent.keys(), ...d.keys()]) if (!issued.has(k)) fail(`${k} dropped or sent but never given to send()`);
    if (queued != st.queued) fail(`messages unaccounted for: ${queued} should be queued, the queue holds ${st.queued}`);
    for (const s of sockets) for (const data of s.discarded) if (keyOf(data) != null) fail(`message ${JSON.stringify(data)} given to a closing socket: lost silently`);
    // requests: while open, every pending one is on the current connection (re-sent or flushed)
    const current = sockets[sockets.length - 1];
    if (settled && rpc && state == "open" && current?.readyState == 1) {
      const on = new Set(current.sent.map(keyOf));
      for (const q of requests) if (!q.result && !on.has(q.k)) fail(`request #${q.id} (${q.k}) is pending but not on the open connection`);
    }
  };

  const pick = (w: number) => sockets[sockets.length - 1 - w];
  const doStep = async (step: Step) => {
    switch (step.t) {
      case "serverOpen": {
        // The handshake takes a moment: the client's URL/protocol providers run first.
        if (step.w == 0 && pick(0)?.readyState != 0) await flush();
        const s = pick(step.w);
        if (!s || s.readyState != 0) return "skip";
        s.everOpened = true;
        return s.serverOpen(step.proto);
      }
      case "serverMessage": {
        const s = pick(step.w);
        if (!s || s.readyState != 1) return "skip";
        const data =
          step.kind == "pong" ? "pong" : step.kind == "junk" ? "{{" : step.kind == "reply" ? (coded ? JSON.stringify({ re: step.id }) : `re|${step.id}`) : coded ? '{"d":1}' : "d";
        return s.serverMessage(data);
      }
      case "serverClose": {
        const s = pick(step.w);
        if (!s || s.readyState == 3) return "skip";
        return s.serverClose(step.code);
      }
      case "serverClosing": {
        // The server started the closing handshake: CLOSING, its close event comes later.
        const s = pick(step.w);
        if (!s || s.readyState != 1) return "skip";
        s.readyState = 2;
        return;
      }
      case "buffered": {
        const s = pick(0);
        if (!s) return "skip";
        s.bufferedAmount = step.n;
        return;
      }
      case "serverPong": {
        const s = pick(0);
        if (!s || !cfg.ping || s.readyState != 1) return "skip";
        return (s as unknown as PingSocket).serverPong();
      }
      case "advance":
        return clock.advance(step.ms);
      case "flush":
        return flush();
      case "window": {
        if (!win) return "skip";
        const ev = step.ev;
        if (ev == "online" || ev == "offline") (win.navigator.onLine = ev == "online"), win.dispatchEvent(new Event(ev));
        else if (ev == "hidden" || ev == "visible") (win.document.visibilityState = ev), win.dispatchEvent(new Event("visibilitychange"));
        else if (ev == "pagehide") {
          if (bfcached) return "skip";
          bfcached = true;
          win.document.visibilityState = "hidden";
          win.dispatchEvent(Object.assign(new Event("pagehide"), { persisted: true }));
        } else if (ev == "pagehide-unload") win.dispatchEvent(Object.assign(new Event("pagehide"), { persisted: false }));
        else {
          const persisted = bfcached;
          bfcached = false;
          win.document.visibilityState = "visible";
          win.dispatchEvent(Object.assign(new Event("pageshow"), { persisted }));
        }
        return;
      }
      case "send":
        try {
          ws.send(message());
        } catch {
          // send() reported unexpected exceptions itself.
        }
        return;
      case "close":
        return ws.close(step.code);
      case "reconnect":
        return ws.reconnect(step.code);
      case "opened":
        return callOpened("application");
      case "request":
        return callRequest("application");
      case "abort":
        return ctrl ? ctrl.abort() : "skip";
      case "resolveUrl":
        if (!waiting.length) return "skip";
        for (const f of waiting.splice(0)) f();
        return flush();
    }
  };

  try {
    log.push(`config: ${JSON.stringify(cfg, (_, v) => (v === Infinity ? "Infinity" : v))}`);
    check(false);
    for (const [i, step] of steps.entries()) {
      const at = log.push(`#${i} ${JSON.stringify(step)} [${ws.state}, ${sockets.length} sockets]`) - 1;
      currentStep = step.t;
      count("step in " + ws.state);
      try {
        if ((await doStep(step)) == "skip") log[at] += " (skipped)";
      } catch (error) {
        if (error instanceof Violation) throw error;
        fail(`step #${i} threw: ${(error as Error)?.stack ?? error}`);
      }
      check(step.t == "advance" || step.t == "flush");
    }

    // Settle: close for good, let the server answer every socket the client closed, let time pass.
    log.push(`== settle: close() [${ws.state}]`);
    currentStep = "settle";
    try {
      ws.close();
      await clock.advance(0);
      for (const s of sockets) if (s.closeCalls.length && s.readyState < 3) log.push(`  server closes socket #${sockets.indexOf(s) + 1}`), s.serverClose(s.everOpened ? 1000 : 1006);
      await clock.advance(0);
    } catch (error) {
      if (error instanceof Violation) throw error;
      fail(`settling threw: ${(error as Error)?.stack ?? error}`);
    }
    check(true);
    if (ws.state != "closed") fail(`not closed after close() and the server's close`);
    if (live().length) fail(`a socket left live after the client closed`);
    const timersAtClose = clientTimers().length;
    if (timersAtClose > 1) fail(`${timersAtClose} client timers left once closed (at most the close event's task)`);
    const events = log.length;
    await clock.advance(100_000);
    await clock.advance(100_000);
    check(true);
    if (log.slice(events).some((l) => l.startsWith("    ev ") && !l.startsWith("    ev close"))) fail(`events after settling`);
    if (clientTimers().length) fail(`client timers left after settling`);
    if (finalCloses != 1) fail(`${finalCloses} close events once closed (expected one)`);
    const open = openedCalls.filter((c) => !c.result);
    if (open.length) fail(`${open.length} opened() promises never settled`);
    const pending = requests.filter((q) => !q.result);
    if (pending.length) fail(`requests never settled: ${pending.map((q) => "#" + q.id).join(", ")}`);
    const d = delivered();
    for (const [k, n] of issued)
      if (n != (d.get(k) ?? 0) + (droppedNU.get(k) ?? 0)) fail(`${k}: sent ${n} times, delivered ${d.get(k) ?? 0}, dropped ${droppedNU.get(k) ?? 0}`);
  } finally {
    onNewSocket = undefined;
    failSocket = undefined;
  }
}

describe("ResilientWebSocket under random re-entrant listeners (property)", () => {
  before(() => {
    process.on("unhandledRejection", onEscape);
    process.on("uncaughtException", onEscape);
  });
  after(() => {
    if (process.env.PROP_STATS) console.log(coverage);
    process.off("unhandledRejection", onEscape);
    process.off("uncaughtException", onEscape);
  });

  it("keeps its state machine, sockets, timers, promises and messages consistent", { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(stepArb, { maxLength: 40, size: "max" }), (cfg, steps) => run(cfg, steps)),
      { numRuns: NUM_RUNS, includeErrorInReport: true, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });
});

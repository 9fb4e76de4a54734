// Nothing of a connection outlives it. A service keeps one ResilientWebSocket for weeks, through
// thousands of reconnects, and opens plain WebSockets by the thousand: whatever one connection
// leaves behind adds up. Over hundreds of cycles against real peers (a `ws` server, a TLS server,
// a CONNECT proxy, raw servers that refuse, never answer or break the protocol), each scenario
// checks:
//   (a) collectability: every transport WebSocket, client-side net/TLS socket, its Connection and
//       its zlib streams is tracked (FinalizationRegistry); after gc all are gone but the current
//       connection's, and the last one's too once the closed client is dropped;
//   (b) listeners on what lives long (the ResilientWebSocket, its `window` and abort signal, a
//       request's signal, `process`) do not grow from cycle N to 2N and go back after close;
//   (c) active handles and timers (process.getActiveResourcesInfo()) return to the start after
//       close, and after every cycle where no connection is left open;
//   (d) heap after gc grows by less than a bound per cycle from cycle N to 2N; one connection
//       kept per cycle goes over it (measured: see HEAP_BOUND).
// gc: Node and Deno get it from node:v8 and node:vm (as node-client-frame-arena.test.ts does),
// Bun through Bun.gc(), and Bun's heap is counted in objects (see heapMeasure). Bun reports no
// active resources (its getActiveResourcesInfo() is always empty): there (c) checks nothing, and
// assertResourcesReported() makes sure that is Bun's gap and not a silently empty check elsewhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";
import v8 from "node:v8";
import vm from "node:vm";
import process from "node:process";
import { once } from "node:events";
import type { WebSocket as WsSocket } from "ws";
import { WebSocket, type NodeWebSocketOptions } from "../../src/node-client.js";
import { ResilientWebSocket, correlate, json, messages, route } from "../../src/node.js";
import { closed, connectProxy, next, rawServer, serverFrame, testCertificate, wsServer, type WsPeer } from "./node-client-helpers.js";

/**
 * Bytes of heap (+ external) a cycle may add from cycle N to 2N (Node, Deno). Measured over 150
 * cycles with nothing kept: -1.7 to +1.9 KiB per cycle (JIT metadata, the correlator's bounded
 * memory of settled ids); one connection kept per cycle adds 7.9-8.8 KiB (9.8-10.4 KiB with
 * permessage-deflate), 8 plain WebSockets kept 31 KiB.
 */
const HEAP_BOUND = 4096;
/**
 * Objects a cycle may add (Bun, see heapMeasure). Measured: -13 to +2 per cycle with nothing kept;
 * one connection kept adds 76, 8 plain WebSockets 392.
 */
const HEAP_OBJECTS_BOUND = 25;

const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;

let gcFunction: (() => void) | undefined;

function gc(): void {
  if (gcFunction === undefined) {
    if (bun !== undefined) gcFunction = () => bun.gc(true);
    else {
      v8.setFlagsFromString("--expose-gc");
      gcFunction = vm.runInNewContext("gc") as () => void;
    }
  }
  gcFunction();
}

const noop = (): void => {};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Collect until nothing more goes, with turns of the event loop in between (finalizers, closing handles). */
async function collect(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    gc();
    await sleep(10);
  }
}

/** bun:jsc, in Bun only (a specifier in a variable: Node and tsc never resolve it). */
const BUN_JSC = "bun:jsc";
const jsc = bun === undefined ? undefined : ((await import(BUN_JSC)) as { heapStats(): { objectCount: number } });

/**
 * What the heap holds after gc. Node, Deno: heapUsed + external in bytes, less the space of
 * compiled code (the JIT keeps compiling for hundreds of cycles; that is not memory a connection
 * left). Bun: the number of objects, since JavaScriptCore's heap size after gc swings by tens of
 * KiB per cycle where its object count holds still; a connection kept is dozens of objects.
 */
const heapMeasure: { unit: string; bound: number; read(): number } =
  jsc === undefined
    ? { unit: "B", bound: HEAP_BOUND, read: v8HeapBytes }
    : { unit: "objects", bound: HEAP_OBJECTS_BOUND, read: () => jsc.heapStats().objectCount };

function v8HeapBytes(): number {
  const { heapUsed, external } = process.memoryUsage();
  const code = v8.getHeapSpaceStatistics().filter((space) => space.space_name.startsWith("code"));
  return heapUsed + external - code.reduce((sum, space) => sum + space.space_used_size, 0);
}

async function heap(): Promise<number> {
  await collect();
  return heapMeasure.read();
}

/** Active handles and timers by kind (TCP sockets and servers, Timeouts, Immediates). */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/** Waits (bounded) for the active resources to be back to `before`; returns what is still extra. */
async function resourcesBackTo(before: Map<string, number>): Promise<string[]> {
  let extra: string[] = [];
  for (let i = 0; i < 100; i++) {
    extra = [...resources()].filter(([name, n]) => n > (before.get(name) ?? 0)).map(([name, n]) => `${name}: ${before.get(name) ?? 0} -> ${n}`);
    if (extra.length === 0) break;
    await sleep(20);
  }
  return extra;
}

function processListeners(): number {
  return process.eventNames().reduce((sum, name) => sum + process.listenerCount(name), 0);
}

/** Counts the listeners added to `target` and not removed (every listener of the library is removed explicitly, never `once`). */
function countListeners(target: EventTarget): () => number {
  const live: Array<[string, unknown]> = [];
  const add = target.addEventListener.bind(target);
  const remove = target.removeEventListener.bind(target);
  const at = (type: string, listener: unknown): number => live.findIndex(([t, l]) => t === type && l === listener);
  target.addEventListener = (type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void => {
    if (listener !== null && at(type, listener) === -1) live.push([type, listener]);
    add(type, listener, options);
  };
  target.removeEventListener = (type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void => {
    const i = at(type, listener);
    if (i !== -1) live.splice(i, 1);
    remove(type, listener, options);
  };
  return () => live.length;
}

/**
 * The objects of each connection, by generation (one per transport WebSocket made): the WebSocket,
 * the sockets net.connect and tls.connect make, the Connection on each socket (read through its
 * back reference once open), the zlib streams of permessage-deflate. net.connect and tls.connect
 * are wrapped on the module objects the library calls them on, zlib's streams at their prototype;
 * `restore()` undoes it.
 */
class Tracker {
  generation = 0;
  /** Seen so far, by kind (a check that the tracker sees what it should). */
  readonly made = new Map<string, number>();
  /**
   * What is alive, as "what#generation", by ticket. A FinalizationRegistry rather than a list of
   * WeakRefs: an entry goes when its object does, so the tracker's own memory stays flat too.
   */
  readonly #alive = new Map<number, { what: string; generation: number }>();
  readonly #registry = new FinalizationRegistry<number>((ticket) => this.#alive.delete(ticket));
  #tickets = 0;
  /** The sockets of the newest generation, to find its Connection by. */
  #sockets: Array<WeakRef<object>> = [];
  readonly #restore: Array<() => void> = [];
  readonly WebSocket: typeof WebSocket;

  constructor() {
    const tracker = this;
    this.WebSocket = class extends WebSocket {
      constructor(url: string | URL, protocols?: string | readonly string[], options?: NodeWebSocketOptions) {
        tracker.generation++;
        tracker.#sockets = [];
        super(url, protocols, options);
        tracker.add("WebSocket", this);
        // The Connection exists once open: connection.ts start() runs right after the open event.
        const sockets = tracker.#sockets;
        const generation = tracker.generation;
        this.addEventListener("open", () => queueMicrotask(() => tracker.#addConnection(sockets, generation)));
      }
    };
    this.#wrap(net, "connect", "net.Socket");
    this.#wrap(tls, "connect", "tls.TLSSocket");
    this.#wrapOn(zlib.InflateRaw, "zlib.InflateRaw");
    this.#wrapOn(zlib.DeflateRaw, "zlib.DeflateRaw");
  }

  add(what: string, object: object, generation = this.generation): void {
    this.made.set(what, (this.made.get(what) ?? 0) + 1);
    const ticket = ++this.#tickets;
    this.#alive.set(ticket, { what, generation });
    this.#registry.register(object, ticket);
    if (what.endsWith("Socket") && what !== "WebSocket") this.#sockets.push(new WeakRef(object));
  }

  /** What is still alive, as "what#generation", of generations before `keep` (all with no argument). */
  async survivors(keep = Infinity): Promise<string[]> {
    let alive: string[] = [];
    // A few more rounds if needed: JavaScriptCore scans the stack conservatively.
    for (let round = 0; round < 5; round++) {
      await collect();
      alive = [...this.#alive.values()].filter((r) => r.generation < keep).map((r) => `${r.what}#${r.generation}`);
      if (alive.length === 0) break;
    }
    return alive;
  }

  restore(): void {
    for (const undo of this.#restore.splice(0)) undo();
  }

  /** The Connection, the back reference on its socket (connection.ts kConnection). */
  #addConnection(sockets: Array<WeakRef<object>>, generation: number): void {
    for (const socket of sockets.map((ref) => ref.deref())) {
      const key = socket && Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === "resilient-ws.connection");
      const connection = key === undefined ? undefined : (socket as Record<symbol, unknown>)[key];
      if (typeof connection === "object" && connection !== null) this.add("Connection", connection, generation);
    }
  }

  #wrap<M extends object, K extends keyof M>(module: M, name: K, what: string): void {
    const original = module[name] as (...args: unknown[]) => object;
    module[name] = ((...args: unknown[]) => {
      const made = original.apply(module, args);
      this.add(what, made);
      return made;
    }) as M[K];
    this.#restore.push(() => (module[name] = original as M[K]));
  }

  /**
   * Streams of class `Stream`, seen at their first on() (deflate.ts listens to each at once):
   * zlib's factories cannot be replaced in Deno (non-configurable), its prototypes can.
   */
  #wrapOn(Stream: { prototype: object }, what: string): void {
    const proto = Stream.prototype as { on(...args: unknown[]): unknown };
    const inherited = Object.getPrototypeOf(proto) as typeof proto;
    const seen = new WeakSet<object>();
    const tracker = this;
    Object.defineProperty(proto, "on", {
      configurable: true,
      writable: true,
      value: function (this: object, ...args: unknown[]): unknown {
        if (!seen.has(this)) {
          seen.add(this);
          tracker.add(what, this);
        }
        return inherited.on.apply(this, args);
      },
    });
    this.#restore.push(() => delete (proto as { on?: unknown }).on);
  }
}

/** The leak checks of one scenario, from its start (`begin`) through a checkpoint after N cycles to one after 2N. */
class LeakCheck {
  readonly heaps: number[] = [];
  readonly listeners: Array<Record<string, number>> = [];
  #resources = new Map<string, number>();
  #counters: Record<string, () => number> = {};

  /** Before anything of the scenario exists. */
  begin(counters: Record<string, () => number>): void {
    this.#counters = { process: processListeners, ...counters };
    this.#resources = resources();
  }

  /** `idle`: no connection is open now, so the active resources are back to those at begin(). */
  async checkpoint(idle = false): Promise<void> {
    if (idle) assert.deepEqual(await resourcesBackTo(this.#resources), [], `active resources left after ${this.heaps.length === 0 ? "N" : "2N"} cycles`);
    this.heaps.push(await heap());
    this.listeners.push(Object.fromEntries(Object.entries(this.#counters).map(([name, count]) => [name, count()])));
  }

  /** (b) and (d) between the two checkpoints, `cycles` apart. */
  assertNoGrowth(cycles: number, label: string): void {
    const [atN, at2N] = this.listeners;
    assert.deepEqual(at2N, atN, `${label}: listeners grew from cycle N to 2N`);
    const perCycle = (this.heaps[1]! - this.heaps[0]!) / cycles;
    const { unit, bound } = heapMeasure;
    console.log(`${label}: heap ${this.heaps[0]} -> ${this.heaps[1]} ${unit} over ${cycles} cycles: ${perCycle.toFixed(1)} ${unit}/cycle`);
    assert.ok(perCycle < bound, `${label}: heap grew ${perCycle.toFixed(1)} ${unit} per cycle (bound ${bound})`);
  }

  /** (b) and (c) once everything is closed: listeners as `expected`, resources as at the start. */
  async assertReleased(expected: Record<string, number>): Promise<void> {
    const now = Object.fromEntries(Object.entries(this.#counters).map(([name, count]) => [name, count()]));
    assert.deepEqual(now, { process: this.listeners[0]!["process"], ...expected }, "listeners left after close");
    assert.deepEqual(await resourcesBackTo(this.#resources), [], "active resources left after close");
  }
}

/** Resources are reported here (Node, Deno), or this is Bun, which reports none: (c) is not vacuous unawares. */
function assertResourcesReported(): void {
  if (bun === undefined) assert.ok(resources().size > 0, "getActiveResourcesInfo() reports nothing while a connection is open");
}

type Msg = { type: "tick" | "req"; id?: string | number };

// ------------------------------------------------------------------------------------------------
// 1. One ResilientWebSocket through many reconnects

/** Reconnect cycles per checkpoint: N, then N more (plus a warm-up). */
const CLIENT_CYCLES = 150;
const WARMUP = 40;

async function resilientCycles(deflate: boolean): Promise<void> {
  const label = `ResilientWebSocket, permessage-deflate ${deflate ? "on" : "off"}`;
  const peer: WsPeer = await wsServer({ perMessageDeflate: deflate ? { threshold: 0 } : false });
  const refusing = await rawServer({ respond: () => "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n" });
  const tracker = new Tracker();
  const cleanup = { stop: noop };
  try {
    const client = await reconnectMany(peer, refusing.url, tracker, cleanup, deflate, label);
    assert.ok(refusing.requests.length >= (WARMUP + 2 * CLIENT_CYCLES) / 4 - 1, "the refusing server was asked");
    // The closed client keeps its last socket (protocol and extensions still read from it); once
    // the application drops the client, nothing of any connection is left.
    // Bun's collector scans the stack conservatively: a stale word can keep the newest objects
    // (one CI run kept the last connection's socket, WebSocket and Connection through five gcs).
    // There only what is older must go; growth is what the cycles check.
    assert.deepEqual(await tracker.survivors(bun ? tracker.generation : Infinity), [], `${label}: objects of the last connection were not collected`);
    if (!bun) assert.equal(client.deref(), undefined, `${label}: the closed client was not collected`);
  } finally {
    // After a failed check too: a client left reconnecting would spin on the closed peer.
    cleanup.stop();
    tracker.restore();
    await Promise.all([peer.close(), refusing.close()]);
  }
}

/** The cycles of one client; resolves once it is closed for good, with a WeakRef to it. */
async function reconnectMany(peer: WsPeer, refusingUrl: string, tracker: Tracker, cleanup: { stop(): void }, deflate: boolean, label: string): Promise<WeakRef<object>> {
  const check = new LeakCheck();
  const window = new EventTarget();
  const shutdown = new AbortController();
  const windowListeners = countListeners(window);
  const signalListeners = countListeners(shutdown.signal);
  let clientListeners = (): number => 0;
  check.begin({ window: windowListeners, signal: signalListeners, client: () => clientListeners() });

  let connection = peer.nextConnection();
  // Every 4th reconnect first meets a server that refuses the handshake (401), then the good one.
  let refuseNext = false;
  const url = (): string => (refuseNext ? ((refuseNext = false), refusingUrl) : peer.url);
  const ws = new ResilientWebSocket<Msg, Msg>(url, {
    codec: json<Msg>(),
    WebSocket: tracker.WebSocket,
    transport: { perMessageDeflate: deflate ? { threshold: 0 } : false, proxy: false },
    reconnect: { minDelay: 1, maxDelay: 1, jitter: "none" },
    keepalive: { interval: 1, timeout: 5_000 },
    window,
    signal: shutdown.signal,
  });
  cleanup.stop = () => ws.close();
  clientListeners = countListeners(ws);
  const ids = { setId: (m: Msg, id: string | number): Msg => ({ ...m, id }), getId: (m: Msg) => (m.type === "req" ? m.id : undefined), timeout: 10_000 };
  const rpc = correlate(ws, ids);
  // correlate()'s listeners are one set per client, shared by all its correlators, kept while it lives.
  const correlateListeners = clientListeners();
  let ticksSent = 0;
  let ticksRouted = 0;
  let streamed = 0;
  let progress = (): void => {};
  const until = (done: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      if (done()) return resolve();
      progress = () => done() && resolve();
    });
  const offRoute = route(ws, "tick", () => {
    ticksRouted++;
    progress();
  });
  const stream = messages(ws);
  const streaming = (async () => {
    for await (const message of stream) if (message.type === "tick") streamed++;
  })();
  const tick = (): void => {
    ws.send({ type: "tick" });
    ticksSent++;
  };
  // Sent while reconnecting: queued, flushed by the next connection (the request's reply comes on it).
  let queuedRequest: Promise<Msg> = Promise.resolve({ type: "req" });
  const onState = ws.on("statechange", (e) => {
    if (e.to !== "reconnecting") return;
    tick();
    queuedRequest = rpc.request({ type: "req" }, { signal: shutdown.signal });
  });

  const cycle = async (i: number): Promise<void> => {
    const server: WsSocket = await connection;
    const pinged = once(server, "ping");
    await ws.opened();
    assertResourcesReported();
    await queuedRequest;
    await rpc.request({ type: "req" }, { signal: shutdown.signal });
    // Subscribers for one unit of work, removed again: a correlator, a route, a message stream.
    const unit = correlate(ws, ids);
    const offUnit = route(ws, "tick", () => {});
    const unitStream = messages(ws);
    await unit.request({ type: "req" }, { signal: AbortSignal.timeout(10_000) });
    tick();
    tick();
    await until(() => ticksRouted === ticksSent);
    unit.detach();
    offUnit();
    await unitStream.return();
    // keepalive: a ping once the link has been quiet for 1 ms
    await pinged;
    connection = peer.nextConnection();
    // The peer helper keeps every server socket and request head: not the client's memory.
    peer.sockets.length = 0;
    peer.requests.length = 0;
    refuseNext = i % 4 === 3;
    // The client's own reconnect() (a close frame, not waiting for the answer), or the server ends it.
    if (i % 5 === 4) ws.reconnect();
    else if (i % 3 === 0) server.close(1001, "going away");
    else if (i % 3 === 1) server.close(1011, "internal error");
    else server.terminate();
  };

  let i = 0;
  for (; i < WARMUP + CLIENT_CYCLES; i++) await cycle(i);
  await check.checkpoint();
  for (; i < WARMUP + 2 * CLIENT_CYCLES; i++) await cycle(i);
  await connection;
  await ws.opened();
  await check.checkpoint();
  check.assertNoGrowth(CLIENT_CYCLES, label);
  assert.deepEqual(await tracker.survivors(tracker.generation), [], `${label}: objects of closed connections were not collected`);
  assert.ok((tracker.made.get("Connection") ?? 0) >= i && (tracker.made.get("net.Socket") ?? 0) >= i, "the tracker saw every connection");
  if (deflate) assert.ok((tracker.made.get("zlib.InflateRaw") ?? 0) >= i && (tracker.made.get("zlib.DeflateRaw") ?? 0) >= i, "the tracker saw the zlib streams");
  assert.equal(ticksRouted, ticksSent);
  assert.ok(streamed === ticksRouted, `messages() got ${streamed} ticks of ${ticksRouted}`);
  assert.equal(ws.stats.reconnects, i);

  // Closed for good: everything the client added is removed, everything it opened is gone.
  onState();
  offRoute();
  rpc.detach();
  const done = next(ws, "close");
  ws.close();
  await done;
  await streaming;
  await check.assertReleased({ window: 0, signal: 0, client: correlateListeners });
  // A function from outside: any closure made in here would keep this scope, and `ws` with it.
  cleanup.stop = noop;
  return new WeakRef(ws);
}

test("leak: a ResilientWebSocket reconnecting hundreds of times keeps nothing of old connections", async () => {
  await resilientCycles(false);
});

test("leak: a ResilientWebSocket reconnecting hundreds of times with permessage-deflate keeps nothing of old connections", async () => {
  await resilientCycles(true);
});

// ------------------------------------------------------------------------------------------------
// 2. Many plain WebSockets, each way a connection can end

const SOCKET_CYCLES = 50;

test("leak: plain WebSockets opened and closed every way leave nothing behind", async () => {
  const check = new LeakCheck();
  const { key, cert } = testCertificate();
  const peer = await wsServer({ perMessageDeflate: { threshold: 0 } });
  const tlsPeer = await wsServer({ tls: { key, cert } });
  const proxy = await connectProxy();
  const refusing = await rawServer({ respond: () => "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n" });
  const silent = await rawServer({ respond: () => undefined });
  // Opens, then never answers: a close() waits closeTimeout for the close frame.
  const mute = await rawServer({});
  // Opens, then sends a frame with a reserved opcode: the client fails the connection (1002).
  const faulty = await rawServer({ onUpgrade: (socket) => socket.write(serverFrame(0x3, "x")) });
  const closedPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  const tracker = new Tracker();
  const Tracked = tracker.WebSocket;
  // The peers' listening sockets are part of the start; each cycle ends with every client closed.
  check.begin({});

  /** Opens, echoes one message, and ends as `end` says; resolves with the close event. */
  const roundTrip = async (ws: WebSocket, end: (ws: WebSocket) => void): Promise<void> => {
    const done = closed(ws);
    await next(ws, "open");
    assertResourcesReported();
    const echoed = next(ws, "message");
    ws.send("hello");
    await echoed;
    end(ws);
    await done;
  };
  const failure = async (ws: WebSocket, code: string): Promise<void> => {
    const { error } = await closed(ws);
    assert.equal((error as { code?: string }).code, code);
  };

  const cycle = async (): Promise<void> => {
    const ways: Array<() => Promise<void>> = [
      // clean close, with permessage-deflate (zlib streams both ways)
      () => roundTrip(new Tracked(peer.url, undefined, { perMessageDeflate: { threshold: 0 }, proxy: false }), (ws) => ws.close(1000)),
      // the server closes
      async () => {
        const server = peer.nextConnection();
        await roundTrip(new Tracked(peer.url, undefined, { proxy: false }), () => void server.then((s) => s.close(1001)));
      },
      () => roundTrip(new Tracked(peer.url, undefined, { proxy: false }), (ws) => ws.terminate()),
      () => failure(new Tracked(refusing.url, undefined, { proxy: false }), "ERR_HANDSHAKE_STATUS"),
      () => failure(new Tracked(`ws://127.0.0.1:${closedPort}`, undefined, { proxy: false }), "ERR_CONNECTION"),
      () => failure(new Tracked(silent.url, undefined, { proxy: false, handshakeTimeout: 20 }), "ERR_HANDSHAKE_TIMEOUT"),
      () => roundTrip(new Tracked(tlsPeer.url, undefined, { tls: { ca: cert }, proxy: false }), (ws) => ws.close()),
      () => roundTrip(new Tracked(peer.url, undefined, { proxy: proxy.url }), (ws) => ws.close()),
      () => roundTrip(new Tracked(tlsPeer.url, undefined, { tls: { ca: cert }, proxy: proxy.url }), (ws) => ws.close()),
      async () => {
        const ws = new Tracked(mute.url, undefined, { proxy: false, closeTimeout: 20 });
        const done = closed(ws);
        await next(ws, "open");
        ws.close();
        assert.equal((await done).code, 1006);
      },
      async () => {
        const { code, error } = await closed(new Tracked(faulty.url, undefined, { proxy: false, closeTimeout: 20 }));
        assert.equal(code, 1006);
        assert.equal((error as { closeCode?: number }).closeCode, 1002);
      },
      // close() while connecting
      async () => {
        const ws = new Tracked(silent.url, undefined, { proxy: false });
        const done = closed(ws);
        ws.close();
        assert.equal((await done).code, 1006);
      },
    ];
    for (const way of ways) await way();
    for (const p of [peer, tlsPeer]) {
      p.sockets.length = 0;
      p.requests.length = 0;
    }
    proxy.requests.length = 0;
    refusing.requests.length = 0;
    for (const raw of [silent, mute, faulty]) raw.requests.length = 0;
  };

  try {
    for (let i = 0; i < WARMUP + SOCKET_CYCLES; i++) await cycle();
    await check.checkpoint(true);
    for (let i = 0; i < SOCKET_CYCLES; i++) await cycle();
    await check.checkpoint(true);
    check.assertNoGrowth(SOCKET_CYCLES, "plain WebSockets (12 per cycle)");
    // Bun: the newest generation may be held by a conservative stack scan (see resilientCycles).
    assert.deepEqual(await tracker.survivors(bun ? tracker.generation : Infinity), [], "objects of closed WebSockets were not collected");
    assert.equal(tracker.made.get("WebSocket"), 12 * (WARMUP + 2 * SOCKET_CYCLES));
    assert.ok((tracker.made.get("tls.TLSSocket") ?? 0) > 0 && (tracker.made.get("Connection") ?? 0) > 0 && (tracker.made.get("zlib.InflateRaw") ?? 0) > 0, "the tracker saw the sockets");
  } finally {
    tracker.restore();
    await Promise.all([peer.close(), tlsPeer.close(), proxy.close(), refusing.close(), silent.close(), mute.close(), faulty.close()]);
  }
  await check.assertReleased({});
});

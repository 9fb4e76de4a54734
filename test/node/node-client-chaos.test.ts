// Chaos: ResilientWebSocket (from src) over each transport this runtime has (the built-in client,
// which is the default; the `ws` package; the runtime's own WebSocket: Deno's, Bun's, or undici's
// in Node 22+; the built-in client also over wss://, the server on https with a certificate made
// now, and through an HTTP CONNECT proxy) against a real `ws` server, through a TCP relay written
// here (over wss:// it carries TLS records, so it cuts and delays them mid-record; with the proxy
// it sits between client and proxy, so it cuts the CONNECT exchange too, and its 503 is the
// proxy's answer) that does, per connection and from a seeded random plan, one of: pass through;
// split chunks into pieces; delay them; cut the connection with a FIN or an RST at a random byte
// count in either direction (mid-handshake, mid-frame); blackhole it (stop forwarding both ways
// without closing: only keepalive can tell); reset every new connection for a while (server down);
// answer the upgrade with 503 + Retry-After. The application sends numbered messages at random
// times (open, connecting, reconnecting), some of them MiB large so that a blackholed connection leaves bytes
// the transport never sent. The server acknowledges each one; the application re-sends what is not
// acknowledged the way README leaves it to the application (as correlate() does): a message
// reported `drop` "unsent" at once, and on each `open` what went out on an earlier connection or
// was dropped. Finally it waits for every acknowledgement and close()s. Checked, per seed:
// - accounting: each send() is received by the server at most once and reported by at most one
//   `drop`; both only for "unsent", which may have reached the server. One that is neither was
//   handed to a connection that then ended (README: once the transport has sent it, a lost
//   connection may lose it; only what the transport still held is "unsent", as its bufferedAmount
//   tells). Nothing queued vanishes. With a big queue and no ttl the only drops are "unsent"; with
//   a small queue, "overflow" and "ttl" too; "closed" only after close(). Every numbered message
//   reaches the server in the end; `stats` counts the drops and connections;
// - a send() from a `drop` "unsent" listener is queued, not handed to the connection that ended;
// - order: on each server connection, messages arrive in the order of their send() calls;
// - keepalive (protocol pings; app-level "ping"/"pong" heartbeats every third seed, with ping()
//   hidden, and always through a transport without ping(): Deno's, undici's): a blackholed open
//   connection is abandoned within interval + timeout (+ slack), with `reconnecting` reason
//   "keepalive timeout" (a blackholed handshake: "connect timeout"), and its socket closed
//   (terminate(); a transport without it, Deno's and undici's, can only close(), whose closing
//   handshake a blackhole stalls: that socket is CLOSING); replies are not delivered as messages;
// - a refused handshake (reset, 503) fails the attempt at once, not by the connect timeout; so does
//   a cut (the built-in client's: a TLS record or the CONNECT exchange cut short, too);
// - errors (built-in client, README): ERR_CONNECTION, ERR_HANDSHAKE, ERR_HANDSHAKE_STATUS (not
//   over TLS: a plain-text 503 to a ClientHello is ERR_CONNECTION), ERR_CONNECT_TIMEOUT, ERR_PROXY
//   (only through the proxy, and always for a cut in the CONNECT exchange or its 503, with its
//   Retry-After); a cut inside the ClientHello or ServerHello is ERR_CONNECTION; never a runtime's
//   own error or an exception;
// - backoff: each `reconnecting` delay is within [minDelay, min(maxDelay, minDelay·factor^attempt)],
//   at least the Retry-After of a 503 just before, and the next connection waits for it; `attempt`
//   counts failures in a row, back to 1 after a connection that stayed up resetAfter;
// - close codes: the server sends no close frame before close(), so every `close` before it is
//   1006, not clean;
// - events: statechange moves are legal (src/client/state.ts) and chained, `open` only when open,
//   `message` only after an `open`, one final `close` and nothing after it; nothing escapes
//   (uncaughtException, unhandledRejection); no timer, socket or handle left after close(), and
//   every connection the client gave up closed on its side.
// Even seeds use a small queue (20 messages, ttl 300 ms), odd seeds a big one without ttl.
// CHAOS_SEED=n replays one seed; CHAOS_SEEDS=k runs seeds 1..k (default 4 for the built-in client,
// 2 each over wss:// and through the proxy, 3 for each other transport); CHAOS_TRANSPORT=name runs
// one transport (built-in, built-in-wss, built-in-proxy, ws, Deno, Bun, undici); CHAOS_VERBOSE=1
// prints the log.
import { test } from "node:test";
import net from "node:net";
import { Buffer } from "node:buffer";
import WS from "ws";
import { ResilientWebSocket } from "../../src/node.js";
import { WebSocket as BuiltinWebSocket } from "../../src/node-client.js";
import type { WebSocketClass } from "../../src/client/options.js";
import { S, canMove, stateNames, type State } from "../../src/client/state.js";
import { prng } from "../shared/prng.js";
import { connectProxy, testCertificate, wsServer } from "./node-client-helpers.js";
import { PropertyRun, sleep } from "./node-client-property-helpers.js";

const env = (name: string): string | undefined => globalThis.process?.env?.[name];
const seeds = (n: number) => (env("CHAOS_SEED") !== undefined ? [Number(env("CHAOS_SEED"))] : Array.from({ length: Number(env("CHAOS_SEEDS") ?? n) }, (_, i) => i + 1));
/** Seeds of the built-in client, and of each other transport (fewer: the file's time adds up). */
const SEEDS = seeds(4);
const OTHER_SEEDS = seeds(3);
/** Seeds of the built-in client over wss:// and through a proxy (each run takes about 2.5 s). */
const MODE_SEEDS = seeds(2);
const VERBOSE = env("CHAOS_VERBOSE") === "1";

const CHAOS_MS = 2500;
/** Over wss:// and through the proxy: shorter, to keep the file's time down (each connection costs more there). */
const MODE_CHAOS_MS = 1800;
const RECONNECT = { minDelay: 40, maxDelay: 400, factor: 2, jitter: "full" as const, resetAfter: 1000 };
const KEEPALIVE = { interval: 200, timeout: 200 };
const CONNECT_TIMEOUT = 1000;
/** Generous: timers and a loaded 2-core machine, not precision, are what this allows for. */
const SLACK = 1000;

/**
 * `WS` recording each socket it makes in `made`; without ping() unless `ping` (keepalive then
 * probes with `keepalive.message`, a browser's way).
 */
function instrumented(WS: WebSocketClass, ping: boolean, made: Array<{ readyState: number }>): WebSocketClass {
  const C = class extends WS {
    // The built-in client's options (tls, proxy) come third.
    constructor(...args: ConstructorParameters<WebSocketClass>) {
      super(...args);
      made.push(this as object as { readyState: number });
    }
  };
  if (!ping) Object.defineProperty(C.prototype, "ping", { value: undefined });
  return C;
}

/**
 * A transport under test: `WebSocket` undefined is the built-in client (the default transport),
 * which `mode` runs over wss:// (the relay carries TLS records) or through an HTTP CONNECT proxy
 * (the relay sits between the client and the proxy: it carries the CONNECT exchange too).
 */
interface Transport {
  name: string;
  WebSocket?: WebSocketClass;
  mode?: "tls" | "proxy";
}
const runtime = "Deno" in globalThis ? "Deno" : "Bun" in globalThis ? "Bun" : "Node";
const TRANSPORTS: Transport[] = [
  { name: "built-in" },
  { name: "built-in-wss", mode: "tls" },
  { name: "built-in-proxy", mode: "proxy" },
  { name: "ws", WebSocket: WS },
  // This runtime's own WebSocket: Deno's, Bun's, or undici's in Node 22+ (none in Node 20).
  ...(globalThis.WebSocket ? [{ name: runtime == "Node" ? "undici" : runtime, WebSocket: globalThis.WebSocket }] : []),
];

type Fault =
  /** During the chaos even a good connection ends, after `lifeMs` (FIN or RST), so that the chaos goes on. */
  | { kind: "pass"; lifeMs?: number; rst?: boolean }
  | { kind: "cut"; up: boolean; at: number; rst: boolean }
  | { kind: "blackhole"; afterMs: number }
  | { kind: "reset" }
  | { kind: "503" };

/** One relayed connection: its plan and what happened to it (times are Date.now()). */
interface Relayed {
  id: number;
  fault: Fault;
  split: boolean;
  delayMs: number;
  acceptedAt: number;
  /**
   * When the server's 101 (the whole response head) had been forwarded to the client; over TLS or
   * a proxy (whose 200 comes first) the relay cannot tell: there, when the client opened on it.
   */
  upgradedAt?: number;
  /** When a "cut" fault cut it. */
  cutAt?: number;
  /** Through a proxy: when its whole answer to CONNECT had been forwarded to the client. */
  tunnelledAt?: number;
  /** Over TLS: cut inside the first TLS record of its direction (ClientHello, ServerHello): no TLS handshake. */
  cutBeforeTls?: boolean;
  blackholedAt?: number;
  /** The client's side of it closed (a paused, blackholed socket notices only once resumed). */
  clientClosed?: boolean;
}

const RETRY_AFTER_S = 1;

/**
 * A TCP relay from 127.0.0.1:port to `target` that applies a fault per connection while `chaos`
 * is on (after that: plain pass-through, so everything can drain). `mode` "tls": the bytes are TLS
 * records (a 503 then answers the ClientHello in plain text); "proxy": `target` is a CONNECT proxy
 * (the 503 answers the CONNECT).
 */
async function relay(target: number, random: () => number, say: (line: string) => void, mode?: Transport["mode"]) {
  const sockets = new Set<net.Socket>();
  const log: Relayed[] = [];
  let downUntil = 0;
  let chaos = true;
  /** Blackholes and ends of good connections still to come: called off when the chaos ends. */
  const pending = new Set<ReturnType<typeof setTimeout>>();
  const pick = (): Fault => {
    const r = random();
    if (r < 0.05) return { kind: "503" };
    if (r < 0.1) return (downUntil = Date.now() + 150 + random() * 400), { kind: "reset" };
    if (r < 0.15) return { kind: "pass", lifeMs: 300 + random() * 1200, rst: random() < 0.5 };
    // Bytes: in the handshake (about 200 each way), after some messages (about 100 B up, 8 B of
    // acknowledgement down), or inside a MiB-large frame.
    const up = random() < 0.5;
    const at = Math.floor(random() * (up ? [300, 3000, 12_000] : [300, 800])[Math.floor(random() * (up ? 3 : 2))]!);
    if (r < 0.75) return { kind: "cut", up, at, rst: random() < 0.5 };
    return { kind: "blackhole", afterMs: random() * 700 };
  };
  const kill = (s: net.Socket, rst: boolean) => (rst && s.resetAndDestroy ? s.resetAndDestroy() : s.end());
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("error", () => {});
    client.on("close", () => sockets.delete(client));
    const c: Relayed = { id: log.length, fault: chaos ? (Date.now() < downUntil ? { kind: "reset" } : pick()) : { kind: "pass" }, split: random() < 0.5, delayMs: random() < 0.3 ? random() * 20 : 0, acceptedAt: Date.now() };
    log.push(c);
    client.on("close", () => (c.clientClosed = true));
    say(`relay #${c.id}: ${JSON.stringify(c.fault)}${c.split ? " split" : ""}${c.delayMs ? ` delay ${c.delayMs.toFixed(0)}ms` : ""}`);
    if (c.fault.kind == "reset") return kill(client, true);
    if (c.fault.kind == "503") {
      let head = "";
      client.on("data", (d: Buffer) => {
        head += d.toString("latin1");
        if (head.includes("\r\n\r\n") || mode == "tls") client.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${RETRY_AFTER_S}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      });
      return;
    }
    const upstream = net.connect(target, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("error", () => {});
    upstream.on("close", () => (sockets.delete(upstream), client.destroy()));
    client.on("close", () => upstream.destroy());
    let stopped = false;
    const fault = c.fault;
    const stop = (rst: boolean) => {
      stopped = true;
      kill(client, rst);
      kill(upstream, rst);
    };
    const later = (ms: number, f: () => void) => {
      const timer = setTimeout(() => (pending.delete(timer), client.destroyed || f()), ms);
      pending.add(timer);
    };
    if (fault.kind == "pass" && fault.lifeMs !== undefined)
      later(fault.lifeMs, () => {
        say(`relay #${c.id}: ended (${fault.rst ? "RST" : "FIN"}) after ${fault.lifeMs!.toFixed(0)}ms`);
        stop(!!fault.rst);
      });
    if (fault.kind == "blackhole")
      later(fault.afterMs, () => {
        stopped = true;
        c.blackholedAt = Date.now();
        client.pause();
        upstream.pause();
        say(`relay #${c.id}: blackholed${c.upgradedAt ? "" : " (mid-handshake)"}`);
      });
    // One direction: chunks forwarded in order (in pieces, after a delay), cut at `fault.at` bytes.
    const pipe = (from: net.Socket, to: net.Socket, up: boolean) => {
      const queue: Buffer[] = [];
      let bytes = 0;
      let head = "";
      let busy = false;
      let ended = false;
      const pump = async () => {
        if (busy) return;
        busy = true;
        for (let chunk; (chunk = queue.shift()); ) {
          if (c.delayMs) await sleep(c.delayMs);
          while (chunk.length && !stopped) {
            let piece = c.split ? chunk.subarray(0, 1 + Math.floor(random() * chunk.length)) : chunk;
            if (fault.kind == "cut" && fault.up == up && bytes + piece.length >= fault.at) piece = piece.subarray(0, fault.at - bytes);
            chunk = chunk.subarray(piece.length);
            bytes += piece.length;
            if (mode == "tls" && head.length < 5) head += piece.subarray(0, 5 - head.length).toString("latin1");
            else if (!up && mode != "tls" && (mode ? c.tunnelledAt : c.upgradedAt) === undefined && (head += piece.toString("latin1")).includes("\r\n\r\n")) {
              if (mode) c.tunnelledAt = Date.now();
              else c.upgradedAt = Date.now();
            }
            const drained = to.write(piece);
            if (fault.kind == "cut" && fault.up == up && bytes >= fault.at) {
              c.cutAt = Date.now();
              // A TLS record: 5 bytes of header (the length in bytes 3 and 4), then that many.
              c.cutBeforeTls = mode == "tls" && (head.length < 5 || bytes < 5 + Buffer.from(head.slice(3, 5), "latin1").readUInt16BE());
              say(`relay #${c.id}: cut (${fault.rst ? "RST" : "FIN"}) after ${bytes} bytes ${up ? "to the server" : "to the client"}`);
              stop(fault.rst);
            } else if (!drained) await new Promise((resolve) => (to.once("drain", resolve), to.once("close", resolve)));
            if (c.split) await new Promise((resolve) => setImmediate(resolve));
          }
          if (queue.length < 4 && !stopped) from.resume();
        }
        busy = false;
        if (ended && !stopped) to.end();
      };
      from.on("data", (chunk: Buffer) => {
        queue.push(chunk);
        if (queue.length >= 4) from.pause();
        void pump();
      });
      from.on("end", () => ((ended = true), void pump()));
    };
    pipe(client, upstream, true);
    pipe(upstream, client, false);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    log,
    /** No more faults: new connections pass through, and blackholes not begun yet never begin. */
    calm: () => {
      chaos = false;
      for (const timer of pending) clearTimeout(timer);
    },
    /**
     * Blackholed connections the client has not replaced yet (attempts are sequential: a later
     * connection that upgraded means the client gave this one up; a paused socket sees no FIN or RST).
     */
    blackholed: () => log.filter((c) => c.blackholedAt !== undefined && !log.some((later) => later.id > c.id && later.upgradedAt !== undefined)),
    /** Reads again from blackholed sockets (forwarding nothing): they see whether the client closed them. */
    release: () => {
      for (const s of sockets) if (s.isPaused()) s.removeAllListeners("data").resume();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One send() of a numbered message: attempt `n` of message `seq`. */
interface Sent {
  key: string;
  seq: number;
  /** Position among all send() calls. */
  order: number;
  result: "sent" | "queued" | "dropped";
  /** The connection (count of `open` events) it was handed to: at send() if "sent", at the flush if queued. */
  conn?: number;
  drops: string[];
  received: number;
}

async function chaos(seed: number, transport: Transport): Promise<void> {
  // One generator each for the relay, the application and the client's jitter: the timing of one
  // does not shift the draws of the others (a replay is still only as exact as the timing).
  const random = prng(seed);
  const relayRandom = prng(seed + 0x9e3779b9);
  const jitter = prng(seed + 0x7f4a7c15);
  const smallQueue = seed % 2 == 0;
  const WebSocket = transport.WebSocket ?? BuiltinWebSocket;
  /** App-level heartbeats ("ping" answered "pong") instead of protocol pings: every third seed, and always without ping(). */
  const heartbeat = seed % 3 == 0 || typeof WebSocket.prototype.ping != "function";
  /** The transport's sockets in the order the client made them: one per relay connection (attempts are sequential). */
  const sockets: Array<{ readyState: number }> = [];
  const queue = smallQueue ? { maxMessages: 20, maxBytes: 4 << 20, ttl: 300 } : { maxMessages: 100_000, maxBytes: 1 << 30, ttl: Infinity };
  const run = new PropertyRun({ runMs: 25_000, waitMs: 15_000 });
  const { say, problem } = run;
  const escaped: string[] = [];
  const onEscape = (e: unknown) => escaped.push(String((e as Error)?.stack ?? e));
  globalThis.process?.on("uncaughtException", onEscape);
  globalThis.process?.on("unhandledRejection", onEscape);

  // The server: acknowledges each message with its key ("seq.n"), records what came on which connection.
  const { mode } = transport;
  const certificate = mode == "tls" ? testCertificate() : undefined;
  const peer = await wsServer({ echo: false, tls: certificate });
  const received: string[][] = [];
  peer.wss.on("connection", (socket) => {
    const mine: string[] = [];
    received.push(mine);
    socket.on("error", () => {});
    socket.on("message", (data: Buffer) => {
      if (heartbeat && String(data) == "ping") return socket.send("pong");
      const key = data.subarray(0, 24).toString().split("|")[0]!;
      mine.push(key);
      socket.send(key);
    });
  });
  // Through a proxy the relay carries the client's connections to it, and the proxy tunnels to the server.
  const tunnel = mode == "proxy" ? await connectProxy() : undefined;
  const proxy = await relay(tunnel ? Number(new URL(tunnel.url).port) : peer.port, relayRandom, say, mode);
  run.startClock();

  const url = mode == "tls" ? proxy.url.replace("ws:", "wss:") : mode == "proxy" ? `${peer.url}/` : proxy.url;
  const transportOptions = mode == "tls" ? { tls: { ca: certificate!.cert }, proxy: false as const } : mode == "proxy" ? { proxy: proxy.url.replace("ws:", "http:") } : undefined;
  const options = { reconnect: RECONNECT, connectTimeout: CONNECT_TIMEOUT, queue, random: jitter, transport: transportOptions };
  const ws = heartbeat
    ? new ResilientWebSocket(url, { ...options, WebSocket: instrumented(WebSocket, false, sockets), keepalive: { ...KEEPALIVE, message: "ping", isPong: (d) => d === "pong" } })
    : transport.WebSocket
      ? new ResilientWebSocket(url, { ...options, WebSocket: instrumented(WebSocket, true, sockets), keepalive: KEEPALIVE })
      : new ResilientWebSocket(url, { ...options, keepalive: KEEPALIVE });
  const sends = new Map<string, Sent>();
  const latest = new Map<number, Sent>();
  const acked = new Set<number>();
  let order = 0;
  let opens = 0;
  let closing = false;
  let finalClose = 0;
  let dropEvents = 0;
  let state: State = "connecting";
  let lastRetryAfter = 0;
  /** The code of the last `error` event's error, and every code seen. */
  let lastError: string | undefined;
  const errorCodes = new Map<string, number>();
  /** When the current connection opened (undefined between a `reconnecting` and the next open). */
  let openedAt: number | undefined;
  const reconnects: Array<{ at: number; attempt: number; delay: number; reason: string; retryAfter: number; error?: string; nextConnection: number }> = [];

  const send = (seq: number): Sent => {
    const n = latest.has(seq) ? Number(latest.get(seq)!.key.split(".")[1]) + 1 : 0;
    const key = `${seq}.${n}`;
    const size = random() < 0.03 ? (1 << 20) + Math.floor(random() * (3 << 20)) : Math.floor(random() * 200);
    const s: Sent = { key, seq, order: order++, result: "queued", drops: [], received: 0 };
    sends.set(key, s);
    latest.set(seq, s);
    s.result = ws.send(`${key}|${"x".repeat(size)}`);
    if (s.result == "sent") s.conn = opens;
    say(`send ${key} (${size} B): ${s.result}`);
    return s;
  };
  /** Un-acknowledged messages whose last attempt went out on an earlier connection, or was dropped. */
  const resendLost = () => {
    for (const [seq, s] of latest)
      if (!acked.has(seq) && (s.drops.length > 0 || (s.conn !== undefined && s.conn < opens))) send(seq);
  };

  for (const type of ["open", "message", "drop", "error", "reconnecting"])
    ws.addEventListener(type, () => finalClose && problem(`${type} event after the final close`));
  ws.addEventListener("statechange", (e) => {
    const { from, to } = e as Event & { from: State; to: State };
    if (from != state || !canMove(stateNames.indexOf(from) as S, stateNames.indexOf(to) as S)) problem(`statechange ${from} -> ${to} (state was ${state})`);
    state = to;
    if (finalClose) problem(`statechange after the final close`);
  });
  ws.addEventListener("open", () => {
    opens++;
    openedAt = Date.now();
    // Attempts are sequential: the relay's latest connection is the one that opened.
    if (mode) proxy.log.at(-1)!.upgradedAt ??= openedAt;
    say(`open #${opens}`);
    if (ws.state != "open") problem(`open event in state ${ws.state}`);
    // What was queued went out (in order) just before this event, on this connection.
    for (const s of sends.values()) if (s.result == "queued" && s.conn === undefined && s.drops.length == 0) s.conn = opens;
    resendLost();
  });
  ws.addEventListener("message", (e) => {
    if (opens == 0 || (ws.state != "open" && ws.state != "closing")) problem(`message in state ${ws.state} after ${opens} opens`);
    const data = String((e as MessageEvent).data);
    if (data == "pong") problem(`a heartbeat reply delivered as a message`);
    acked.add(Number(data.split(".")[0]));
  });
  ws.addEventListener("drop", (e) => {
    const { message, reason } = e as Event & { message: string; reason: string };
    dropEvents++;
    const key = message.split("|")[0]!;
    const s = sends.get(key);
    say(`drop ${key}: ${reason}`);
    if (!s) return problem(`drop of an unknown message ${key}`);
    s.drops.push(reason);
    const allowed = closing ? ["closed", "unsent"] : smallQueue ? ["unsent", "overflow", "ttl"] : ["unsent"];
    if (!allowed.includes(reason)) problem(`drop ${key} with reason ${reason} (allowed: ${allowed})`);
    if (reason == "unsent") {
      if (s.conn !== opens) problem(`drop ${key} "unsent" but it was handed to connection ${s.conn}, not the ending #${opens}`);
      if (!closing && !acked.has(s.seq) && latest.get(s.seq) === s) {
        const again = send(s.seq);
        if (again.result != "queued") problem(`send(${again.key}) from a drop("unsent") listener: ${again.result}, not queued (the connection has ended)`);
      }
    }
  });
  ws.addEventListener("error", (e) => {
    const error = (e as Event & { error?: { retryAfter?: number; code?: unknown; status?: number } }).error;
    lastRetryAfter = error?.retryAfter ?? lastRetryAfter;
    lastError = String(error?.code);
    errorCodes.set(lastError, (errorCodes.get(lastError) ?? 0) + 1);
    say(`error ${lastError}${error?.status ? ` ${error.status}` : ""}: ${String(error)}`);
    // README: the built-in client fails a connection with ERR_CONNECTION (TCP or TLS), ERR_PROXY
    // (the proxy or the CONNECT exchange), ERR_HANDSHAKE (the upgrade; _STATUS: refused), or the
    // client gives it up (ERR_CONNECT_TIMEOUT); never a runtime's own error (ECONNRESET, ERR_SSL_*).
    if (!transport.WebSocket) {
      const allowed = ["ERR_CONNECTION", "ERR_HANDSHAKE", "ERR_CONNECT_TIMEOUT", ...(mode == "tls" ? [] : ["ERR_HANDSHAKE_STATUS"]), ...(mode == "proxy" ? ["ERR_PROXY"] : [])];
      if (!allowed.includes(lastError)) problem(`error ${lastError} (${String(error)}): expected one of ${allowed}`);
    }
  });
  ws.addEventListener("reconnecting", (e) => {
    const { attempt, delay, reason } = e as Event & { attempt: number; delay: number; reason: string };
    const retryAfter = lastRetryAfter;
    lastRetryAfter = 0;
    // README: failures in a row count up; a connection that stayed up resetAfter starts again at 1.
    const up = openedAt === undefined ? 0 : Date.now() - openedAt;
    openedAt = undefined;
    const previous = reconnects.at(-1)?.attempt ?? 0;
    const expected = up >= RECONNECT.resetAfter + 50 ? [1] : up < RECONNECT.resetAfter - 50 ? [previous + 1] : [1, previous + 1];
    if (!expected.includes(attempt)) problem(`reconnecting attempt ${attempt} after attempt ${previous} and ${up}ms up: expected ${expected}`);
    reconnects.push({ at: Date.now(), attempt, delay, reason, retryAfter, error: lastError, nextConnection: proxy.log.length });
    lastError = undefined;
    say(`reconnecting attempt ${attempt} in ${delay.toFixed(0)}ms (${reason || "no reason"})`);
    // README: full jitter is uniform in [minDelay, min(maxDelay, minDelay·factor^attempt)]; a
    // Retry-After waits at least that long (beyond maxDelay too).
    const low = Math.max(RECONNECT.minDelay, retryAfter);
    const high = Math.max(Math.min(RECONNECT.maxDelay, RECONNECT.minDelay * RECONNECT.factor ** attempt), retryAfter);
    if (!(attempt >= 1 && delay >= low && delay <= high)) problem(`reconnecting attempt ${attempt}: delay ${delay} outside [${low}, ${high}] (Retry-After ${retryAfter})`);
  });
  ws.addEventListener("close", (e) => {
    const { code, wasClean } = e as CloseEvent;
    if (finalClose) problem(`close event after the final close`);
    // The server sends no close frame before close(): every connection lost before it ends
    // abnormally (RFC 6455 §7.1.5: 1006), whatever code the transport gives (Deno's: 0).
    if (!closing && (code != 1006 || wasClean)) problem(`close event ${code} (wasClean ${wasClean}) before close(): expected 1006, not clean`);
    if (ws.state == "closed") finalClose = Date.now();
  });

  // The application: numbered messages at random times for CHAOS_MS (MODE_CHAOS_MS), whatever the state.
  const t0 = Date.now();
  let seq = 0;
  while (Date.now() - t0 < (mode ? MODE_CHAOS_MS : CHAOS_MS)) {
    await sleep(random() * 30);
    send(seq++);
  }
  proxy.calm();
  say(`chaos over: ${seq} messages; waiting for every acknowledgement`);
  const drained = await run.until(() => acked.size == seq && proxy.blackholed().length == 0 && ws.state == "open");
  if (!drained) problem(`not drained: ${seq - acked.size} messages unacknowledged (${[...latest.keys()].filter((k) => !acked.has(k)).slice(0, 10)}), state ${ws.state}, ${proxy.blackholed().length} blackholed`);
  closing = true;
  ws.close();
  if (!(await run.until(() => finalClose > 0))) problem(`no final close after close()`);
  proxy.release();
  // A transport without terminate() (Deno's, undici's) is given up with close(), as a browser's
  // would be: its close frame goes out after what the socket still buffers, and its closing
  // handshake waits for the server's reply, which a blackhole never forwards (a slow link, a MiB
  // message later), and neither has a timeout for that wait, so the TCP connection stays open
  // until the relay closes it. There the client did what it can if that socket is CLOSING.
  const terminates = typeof WebSocket.prototype.terminate == "function";
  const stalled = (c: Relayed) => !terminates && sockets[c.id]?.readyState == 2;
  const leftOpen = () => proxy.log.filter((c) => !c.clientClosed && !stalled(c));
  if (!(await run.until(() => leftOpen().length == 0, 3000))) problem(`the client left connections open: ${leftOpen().map((c) => `#${c.id}`)}`);
  await proxy.close();
  await tunnel?.close();
  await peer.close();

  // Accounting: per send() call, and per numbered message.
  received.forEach((conn, i) => {
    let last = -1;
    for (const key of conn) {
      const s = sends.get(key);
      if (!s) return problem(`server connection ${i} got an unknown message ${key}`);
      s.received++;
      if (s.order < last) problem(`server connection ${i}: ${key} (send #${s.order}) after send #${last}`);
      last = s.order;
    }
  });
  const lostInTransit: string[] = [];
  // Lost in transit: with ws, Deno's and undici's WebSocket that includes what the transport never
  // sent, since their bufferedAmount reads 0 once the connection has closed (WHATWG keeps it): a
  // connection the relay cuts reports nothing "unsent" there, only one the client gives up itself
  // (it reads bufferedAmount before closing). What was queued is still never lost silently.
  for (const s of sends.values()) {
    if (s.received > 1) problem(`${s.key} received ${s.received} times`);
    if (s.drops.length > 1) problem(`${s.key} dropped ${s.drops.length} times (${s.drops})`);
    // "unsent" means the transport may not have sent it (README): a connection that ends with an
    // error leaves no exact count (Node drops the socket's handle, whose count of unwritten bytes
    // made bufferedAmount exact; TLS, Deno and Bun count whole writes; ws's bufferedAmount counts
    // frame headers too, and Deno's WebSocket a message until all of it is written), so a message
    // that reached the server may still be reported. Any other drop reason is final.
    if (s.received && s.drops.some((reason) => reason != "unsent")) problem(`${s.key} received and dropped (${s.drops})`);
    if (!s.received && !s.drops.length) s.conn === undefined ? problem(`${s.key} (${s.result}) neither received nor dropped, nor handed to a connection: lost silently`) : lostInTransit.push(s.key);
  }
  for (let i = 0; i < seq; i++) if (![...sends.values()].some((s) => s.seq == i && s.received)) problem(`message ${i} never reached the server`);
  const { dropped, connects, reconnects: reconnected } = ws.stats;
  if (dropped != dropEvents || connects != opens || reconnected != opens - 1) problem(`stats ${JSON.stringify(ws.stats)}: ${dropEvents} drop events, ${opens} opens`);

  // Keepalive: each blackholed connection is abandoned by the client in time, with the reason.
  for (const c of proxy.log.filter((c) => c.blackholedAt !== undefined)) {
    const b = c.blackholedAt!;
    const handshake = c.upgradedAt !== undefined;
    const [reason, bound] = handshake ? ["keepalive timeout", KEEPALIVE.interval + KEEPALIVE.timeout] : ["connect timeout", CONNECT_TIMEOUT];
    // The `reconnecting` that gave this connection up: the one before the next connection.
    const given = reconnects.find((r) => r.nextConnection == c.id + 1);
    // A client that had left it already (a slow link's keepalive timeout) is not a blackhole test.
    if (given && given.at < b) continue;
    if (!given || given.reason != reason || given.at - b > bound + SLACK)
      problem(`relay #${c.id} blackholed at +${b - t0}ms: given up ${given ? `as "${given.reason}" ${given.at - b}ms later` : "never"}, not as "${reason}" within ${bound} + ${SLACK}ms`);
  }
  // A refused handshake (RST at accept, 503) fails the attempt at once, not by the connect timeout.
  for (const c of proxy.log.filter((c) => c.fault.kind == "reset" || c.fault.kind == "503")) {
    const given = reconnects.find((r) => r.nextConnection == c.id + 1);
    if (given?.reason == "connect timeout") problem(`relay #${c.id} (${c.fault.kind}): given up only by the connect timeout, ${given.at - c.acceptedAt}ms later`);
    // The built-in client's error for a 503: the server's; through a proxy, the proxy's (the relay
    // answers the CONNECT), with its Retry-After; over TLS the plain-text answer is a TLS failure.
    const expected = mode == "tls" ? "ERR_CONNECTION" : mode == "proxy" ? "ERR_PROXY" : "ERR_HANDSHAKE_STATUS";
    if (!transport.WebSocket && c.fault.kind == "503" && given && (given.error != expected || (mode != "tls" && given.retryAfter != RETRY_AFTER_S * 1000)))
      problem(`relay #${c.id} (503): error ${given.error} with Retry-After ${given.retryAfter}ms, expected ${expected}${mode != "tls" ? ` with ${RETRY_AFTER_S * 1000}ms` : ""}`);
  }
  // A cut connection (a TLS record or the CONNECT exchange cut short too) is lost at once, not by
  // a timeout, and retried: the built-in client sees the FIN or RST.
  if (!transport.WebSocket)
    for (const c of proxy.log.filter((c) => c.cutAt !== undefined)) {
      const given = reconnects.find((r) => r.nextConnection == c.id + 1);
      if (given && given.at < c.cutAt!) continue;
      if (!given || given.reason.includes("timeout") || given.at - c.cutAt! > SLACK)
        problem(`relay #${c.id} cut at +${c.cutAt! - t0}ms: given up ${given ? `as "${given.reason}" ${given.at - c.cutAt!}ms later` : "never"}, not at once`);
      // Cut before the proxy's whole answer reached the client: the CONNECT exchange failed.
      else if (mode == "proxy" && c.tunnelledAt === undefined && given.error != "ERR_PROXY") problem(`relay #${c.id} cut during the CONNECT exchange: error ${given.error}, not ERR_PROXY`);
      // Cut inside the ClientHello or the ServerHello: the TLS connection failed.
      else if (c.cutBeforeTls && given.error != "ERR_CONNECTION") problem(`relay #${c.id} cut before the TLS handshake could end: error ${given.error}, not ERR_CONNECTION`);
    }
  // Backoff: the connection after each `reconnecting` comes no sooner than its delay.
  for (const r of reconnects) {
    const nextConn = proxy.log[r.nextConnection];
    if (nextConn && nextConn.acceptedAt - r.at < r.delay - 5) problem(`reconnecting at +${r.at - t0}ms with delay ${r.delay}: next connection after ${nextConn.acceptedAt - r.at}ms`);
    if (nextConn && nextConn.acceptedAt - r.at > r.delay + SLACK * 2) problem(`reconnecting at +${r.at - t0}ms with delay ${r.delay}: next connection only after ${nextConn.acceptedAt - r.at}ms`);
  }

  globalThis.process?.off("uncaughtException", onEscape);
  globalThis.process?.off("unhandledRejection", onEscape);
  for (const e of escaped) problem(`escaped: ${e}`);
  await run.checkLeftovers();
  const faults = proxy.log.map((c) => c.fault.kind).reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
  console.log(`${transport.name == "built-in" ? "" : `${transport.name}, `}seed ${seed}${heartbeat ? " (heartbeats)" : ""}${smallQueue ? " (small queue)" : ""}: ${proxy.log.length} connections (${[...faults].map(([k, n]) => `${k} ${n}`).join(", ")}), ${opens} opens, ${sends.size} sends of ${seq} messages, ${dropEvents} drops (${[...[...sends.values()].flatMap((s) => s.drops).reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<string, number>())].map(([r, n]) => `${r} ${n}`).join(", ")}), ${lostInTransit.length} lost in transit${errorCodes.size ? `, errors ${[...errorCodes].map(([c, n]) => `${c} ${n}`).join(", ")}` : ""}`);
  if (run.problems.length) run.problems[0] = `${transport.name}, seed ${seed} (replay: CHAOS_TRANSPORT=${transport.name} CHAOS_SEED=${seed}): ${run.problems[0]}`;
  run.finish({ hung: run.hung, verbose: VERBOSE });
}

for (const transport of TRANSPORTS.filter((t) => [undefined, t.name].includes(env("CHAOS_TRANSPORT"))))
  for (const seed of transport.mode ? MODE_SEEDS : transport.WebSocket ? OTHER_SEEDS : SEEDS)
    test(`chaos through a faulty relay keeps every message accounted for, in order, with keepalive and backoff (${transport.name == "built-in" ? "" : `${transport.name}, `}seed ${seed})`, () => chaos(seed, transport));

// A web-test-runner plugin that owns real `ws` servers for the browser tests and lets a test drive
// them through `executeServerCommand` (from @web/test-runner-commands):
//
//   ws:url       → "ws://127.0.0.1:PORT"   (the first call starts this test file's server, port 0)
//   ws:drop      → terminate every connection (an abrupt network drop: no close frame)
//   ws:stop      → close the server: connections terminated, port no longer listening
//   ws:start     → listen again on the same port
//   ws:mute      → the current connections stop answering and never close (a half-open link)
//   ws:received  → { path } → every message the server received on that path, in order; binary
//                  ones above 64 KiB as { digest: { length, sha1, at } } (at: Date.now() on arrival)
//   ws:throttled-url → { path, bytesPerSecond } → "ws://127.0.0.1:RELAY/path": a TCP relay of its own
//                  for that path, in front of the server, reading the browser's bytes at about
//                  bytesPerSecond (a slow uplink; the other direction at full speed)
//   ws:blackhole → { path } → that path's relay stops reading and forwarding either way, sockets
//                  left open (a link that dies mid-transfer, silently); → connections blackholed
//   ws:bytes-read → { path } → bytes the server's sockets on that path have read so far
//   ws:connections → { path } → how many connections were accepted on that path
//   ws:send      → { path, text } → send raw text to every open connection on that path
//   ws:burst     → { path, texts } → send every text, in order and in one go, to each connection on
//                  that path (a fast producer for slow-consumer tests)
//   ws:send-binary → { path, bytes } → send one binary message (number[]) to each connection on that path
//   ws:drop-path → { path } → terminate only the connections on that path
//   ws:select    → { path, select: "first" | "last" | "none" } → which offered subprotocol later
//                  connections on that path get ("first" is ws's default; "none" answers without
//                  Sec-WebSocket-Protocol, the one wrong answer a browser lets through to the page)
//   ws:offered   → { path } → the Sec-WebSocket-Protocol header of each connection on that path, as
//                  sent ("" when none), in connection order
//   ws:echo      → { path, echo } → false: the server keeps logging that path's messages but stops
//                  echoing them, on its current and later connections (reply later with ws:send);
//                  heartbeats are still answered (a busy application, not a dead link)
//   ws:received-by-connection → { path } → the text messages of each connection on that path, one
//                  array per connection in connection order (heartbeats left out)
//   ws:close     → { path, code, reason } → close every connection on that path with a close frame
//                  (1001 going away, 1011 server error, 4000 an application code, …)
//   ws:closes    → { path } → [code, reason] of every connection on that path that closed, as the
//                  server saw it (1006 for a dropped TCP connection)
//   net:online   → { online } → CDP Network.overrideNetworkState: flips navigator.onLine and fires
//                  the window's offline/online events (page.setOfflineMode would also cut the
//                  runner's own connection to the page)
//   ws:refuse    → { modes } → the next upgrades, one mode each, replacing any still pending ("503": answered 503 with
//                  Retry-After: 1; "hang": never answered, so only the client's connect timeout ends
//                  it); → how many of each were served so far, { 503, hang }
//   env:chaos-seed → process.env.CHAOS_SEED ("" when unset): replays seeds of chaos.test.ts
//   page:back-forward → { url, away, stayMs, path, push } → opens `url` in a page of its own (the
//                  test's page cannot navigate), waits for `window.ready`, navigates to `away`, stays
//                  `stayMs`, sends `push` to every connection on `path` still open (what a server
//                  sends while the page sits in the back/forward cache), goes back and waits for
//                  `window.reopened`;
//                  returns { restored: whether the page came back from the cache, events: the page's
//                  `window.events`, closes: the server's ws:closes for `path` before the page closed }
//
// Every test file (runner session) gets its own server, so files can run in parallel without one
// file's stop/drop disturbing another. Tests isolate from each other by connecting on their own
// URL path. The server echoes every message back as it came (text as text, binary as binary),
// except the application heartbeat: the text `{"type":"ping"}` is answered with `{"type":"pong"}`.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import net from "node:net";
import { WebSocketServer } from "ws";

export const HEARTBEAT_PING = '{"type":"ping"}';
export const HEARTBEAT_PONG = '{"type":"pong"}';
/** Binary messages above this size are logged by ws:received as { digest: { length, sha1, at } }. */
const LARGE = 1 << 16;

class TestServer {
  /** @type {import("node:http").Server | undefined} */
  http;
  /** @type {WebSocketServer | undefined} */
  wss;
  port = 0;
  /** @type {Map<string, Array<{ text: string } | { binary: number[] }>>} */
  received = new Map();
  /** @type {Map<string, number>} */
  connections = new Map();
  /** @type {WeakSet<import("ws").WebSocket>} */
  muted = new WeakSet();
  /** @type {WeakMap<import("ws").WebSocket, string>} */
  paths = new WeakMap();
  /** @type {Map<string, "first" | "last" | "none">} */
  select = new Map();
  /** @type {Map<string, string[]>} */
  offered = new Map();
  /** @type {Set<string>} paths whose messages are logged but not echoed */
  silent = new Set();
  /** @type {Map<string, Array<[number, string]>>} */
  closes = new Map();
  /** @type {Map<string, string[][]>} text messages per connection, heartbeats left out */
  byConnection = new Map();
  /** @type {Array<"503" | "hang">} what the next upgrades get instead of an answer (ws:refuse) */
  refuse = [];
  refused = { 503: 0, hang: 0 };
  /** @type {Set<import("node:net").Socket>} sockets of upgrades left hanging, destroyed by stop() */
  hanging = new Set();

  async start() {
    if (this.http) return this.port;
    const http = createServer((_req, res) => res.writeHead(426).end());
    const wss = new WebSocketServer({
      server: http,
      handleProtocols: (protocols, request) => this.#pick(protocols, request),
      verifyClient: (info, done) => {
        const mode = this.refuse.shift();
        if (mode) this.refused[mode] += 1;
        if (mode === "503") done(false, 503, "Service Unavailable", { "Retry-After": "1" });
        else if (mode === "hang") this.hanging.add(info.req.socket);
        else done(true);
      },
    });
    wss.on("connection", (socket, request) => {
      const path = request.url ?? "/";
      const log = this.offered.get(path) ?? [];
      this.offered.set(path, log);
      log.push(request.headers["sec-websocket-protocol"] ?? "");
      this.#accept(socket, path);
    });
    await new Promise((resolve, reject) => {
      http.once("error", reject);
      http.listen(this.port, "127.0.0.1", () => resolve(undefined));
    });
    const address = http.address();
    if (address === null || typeof address === "string") throw new Error("server has no port");
    this.port = address.port;
    this.http = http;
    this.wss = wss;
    return this.port;
  }

  /** @param {Set<string>} protocols @param {import("node:http").IncomingMessage} request */
  #pick(protocols, request) {
    const offered = [...protocols];
    const policy = this.select.get(request.url ?? "/") ?? "first";
    if (policy === "none" || offered.length === 0) return false;
    return policy === "last" ? offered[offered.length - 1] : offered[0];
  }

  #accept(socket, path) {
    this.connections.set(path, (this.connections.get(path) ?? 0) + 1);
    this.paths.set(socket, path);
    const mine = [];
    this.byConnection.set(path, [...(this.byConnection.get(path) ?? []), mine]);
    socket.on("error", () => {});
    socket.on("close", (code, reason) => {
      const log = this.closes.get(path) ?? [];
      this.closes.set(path, log);
      log.push([code, reason.toString("utf8")]);
    });
    socket.on("message", (data, isBinary) => {
      const log = this.received.get(path) ?? [];
      this.received.set(path, log);
      if (isBinary && toBuffer(data).length > LARGE) {
        const bytes = toBuffer(data);
        log.push({ digest: { length: bytes.length, sha1: createHash("sha1").update(bytes).digest("hex"), at: Date.now() } });
      } else if (isBinary) {
        log.push({ binary: [...new Uint8Array(toBuffer(data))] });
      } else {
        log.push({ text: toBuffer(data).toString("utf8") });
      }
      const ping = !isBinary && toBuffer(data).toString("utf8") === HEARTBEAT_PING;
      if (!isBinary && !ping) mine.push(toBuffer(data).toString("utf8"));
      if (this.muted.has(socket)) return;
      if (ping) {
        socket.send(HEARTBEAT_PONG);
        return;
      }
      if (!this.silent.has(path)) socket.send(data, { binary: isBinary });
    });
  }

  drop() {
    const count = this.wss ? this.wss.clients.size : 0;
    for (const client of this.wss?.clients ?? []) client.terminate();
    return count;
  }

  send(path, text) {
    let count = 0;
    for (const client of this.wss?.clients ?? []) {
      if (this.paths.get(client) !== path) continue;
      client.send(text);
      count += 1;
    }
    return count;
  }

  /** @param {string} path @param {(client: import("ws").WebSocket) => void} action */
  each(path, action) {
    let count = 0;
    for (const client of this.wss?.clients ?? []) {
      if (this.paths.get(client) !== path) continue;
      action(client);
      count += 1;
    }
    return count;
  }

  mute() {
    for (const client of this.wss?.clients ?? []) this.muted.add(client);
    return this.wss ? this.wss.clients.size : 0;
  }

  /** @type {Map<string, { port: number, blackhole(): number, close(): Promise<unknown> }>} ws:throttled-url relays by path */
  relays = new Map();

  async closeRelays() {
    await Promise.all([...this.relays.values()].map((relay) => relay.close()));
    this.relays.clear();
  }

  async stop() {
    const { http, wss } = this;
    if (!http || !wss) return true;
    this.http = undefined;
    this.wss = undefined;
    for (const client of wss.clients) client.terminate();
    for (const socket of this.hanging) socket.destroy();
    this.hanging.clear();
    await new Promise((resolve) => wss.close(() => resolve(undefined)));
    http.closeAllConnections();
    await new Promise((resolve) => http.close(() => resolve(undefined)));
    return true;
  }
}

/** @param {Buffer | ArrayBuffer | Buffer[]} data */
function toBuffer(data) {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}

/**
 * A page of its own goes to `url`, away and back (see page:back-forward). Whether Chromium kept it
 * in the back/forward cache is read from `pageshow`'s `persisted`, recorded by the page.
 */
async function backForward(browser, server, { url, away, stayMs, path, push }) {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.ready === true, { timeout: 10_000 });
    await page.goto(away);
    await new Promise((resolve) => setTimeout(resolve, stayMs));
    server.each(path, (client) => client.send(push));
    await page.goBack();
    await page.waitForFunction(() => window.reopened === true, { timeout: 10_000 });
    const seen = await page.evaluate(() => ({ restored: window.restored === true, events: window.events }));
    // Before the page closes, which closes its connection too (1001).
    return { ...seen, closes: [...(server.closes.get(path) ?? [])] };
  } finally {
    await page.close();
  }
}

/**
 * A TCP relay in front of the test server (ws:throttled-url) that forwards client → server at about
 * `bytesPerSecond`: it reads from the browser's socket only while its budget per 50 ms lasts and
 * pauses it otherwise, so the kernel's buffers fill and TCP's flow control slows Chromium's sending
 * down, as a slow uplink would. Server → client goes at full speed. `blackhole()` stops forwarding
 * both ways and stops reading, keeping both sockets open: the link is dead and nobody says so.
 */
async function throttlingRelay(target, bytesPerSecond) {
  let dead = false;
  /** @type {Set<import("node:net").Socket>} */
  const sockets = new Set();
  const timers = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => (client.destroy(), upstream.destroy()));
    }
    upstream.on("data", (chunk) => dead || client.write(chunk));
    let budget = bytesPerSecond / 20;
    const timer = setInterval(() => {
      if (dead) return;
      budget = bytesPerSecond / 20;
      client.resume();
    }, 50);
    timers.add(timer);
    client.on("close", () => clearInterval(timer));
    client.on("data", (chunk) => {
      if (dead) return void client.pause();
      upstream.write(chunk);
      budget -= chunk.length;
      if (budget <= 0) client.pause();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  return {
    port: /** @type {import("node:net").AddressInfo} */ (server.address()).port,
    blackhole() {
      dead = true;
      for (const socket of sockets) socket.pause();
      return sockets.size / 2;
    },
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearInterval(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve(undefined));
      }),
  };
}

export function wsServerPlugin() {
  /** @type {Map<string, TestServer>} */
  const servers = new Map();
  /** @type {Map<string, Promise<import("puppeteer-core").CDPSession>>} */
  const cdpSessions = new Map();

  const serverFor = (session) => {
    const key = session.testFile;
    let server = servers.get(key);
    if (!server) {
      server = new TestServer();
      servers.set(key, server);
    }
    return server;
  };

  const cdpFor = (session) => {
    let cdp = cdpSessions.get(session.id);
    if (!cdp) {
      const page = session.browser.getPage(session.id);
      cdp = page.createCDPSession().then(async (client) => {
        await client.send("Network.enable");
        return client;
      });
      cdpSessions.set(session.id, cdp);
    }
    return cdp;
  };

  return {
    name: "resilient-ws-test-server",

    async serverStop() {
      await Promise.all([...servers.values()].map((server) => Promise.all([server.closeRelays(), server.stop()])));
      servers.clear();
    },

    async executeCommand({ command, payload, session }) {
      if (!/^(ws|net|page|env):/.test(command)) return undefined;
      const server = serverFor(session);
      switch (command) {
        case "ws:url":
          // Only the first call starts the server: asking for the URL must not undo a ws:stop.
          if (server.port === 0) await server.start();
          return `ws://127.0.0.1:${server.port}`;
        case "ws:throttled-url": {
          if (server.port === 0) await server.start();
          await server.relays.get(payload.path)?.close();
          const relay = await throttlingRelay(server.port, payload.bytesPerSecond);
          server.relays.set(payload.path, relay);
          return `ws://127.0.0.1:${relay.port}${payload.path}`;
        }
        case "ws:blackhole":
          return server.relays.get(payload.path)?.blackhole() ?? 0;
        case "ws:drop":
          return server.drop();
        case "ws:mute":
          return server.mute();
        case "ws:stop":
          return server.stop();
        case "ws:start":
          await server.start();
          return true;
        case "ws:received":
          return server.received.get(payload.path) ?? [];
        case "ws:send":
          return server.send(payload.path, payload.text);
        case "ws:burst":
          return server.each(payload.path, (client) => {
            for (const text of payload.texts) client.send(text);
          });
        case "ws:send-binary":
          return server.each(payload.path, (client) => client.send(Uint8Array.from(payload.bytes), { binary: true }));
        case "ws:drop-path":
          return server.each(payload.path, (client) => client.terminate());
        case "ws:select":
          server.select.set(payload.path, payload.select);
          return true;
        case "ws:offered":
          return server.offered.get(payload.path) ?? [];
        case "ws:echo":
          if (payload.echo) server.silent.delete(payload.path);
          else server.silent.add(payload.path);
          return true;
        case "ws:bytes-read": {
          let total = 0;
          server.each(payload.path, (client) => (total += client._socket?.bytesRead ?? 0));
          return total;
        }
        case "ws:connections":
          return server.connections.get(payload.path) ?? 0;
        case "ws:closes":
          return server.closes.get(payload.path) ?? [];
        case "ws:received-by-connection":
          return server.byConnection.get(payload.path) ?? [];
        case "ws:close":
          return server.each(payload.path, (client) => client.close(payload.code, payload.reason));
        case "ws:refuse":
          server.refuse = [...payload.modes];
          return server.refused;
        case "env:chaos-seed":
          return process.env.CHAOS_SEED ?? "";
        case "page:back-forward":
          return backForward(session.browser.getPage(session.id).browser(), server, payload);
        case "net:online": {
          const cdp = await cdpFor(session);
          await cdp.send("Network.overrideNetworkState", {
            offline: !payload.online,
            latency: 0,
            downloadThroughput: -1,
            uploadThroughput: -1,
          });
          return true;
        }
        default:
          throw new Error(`unknown test server command ${command}`);
      }
    },
  };
}

/**
 * ResilientWebSocket against a real `ws` server on 127.0.0.1 (port 0), through the `WebSocket`
 * option with ws's client class, and raw TCP servers for the failure modes ws cannot produce.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type AddressInfo, type Server as NetServer, type Socket as NetSocket } from "node:net";
import { test } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import { ResilientWebSocket } from "../../src/client/client.js";
import type { ResilientOptions } from "../../src/client/options.js";
import type { Codec } from "../../src/client/codec.js";
import { isResilientError } from "../../src/errors.js";

const fast = { minDelay: 20, maxDelay: 100 };

async function wsServer(port = 0, options: Partial<ConstructorParameters<typeof WebSocketServer>[0]> = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port, ...options });
  await once(wss, "listening");
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  const stop = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
  };
  return { wss, url, port: (wss.address() as AddressInfo).port, stop };
}

/** A TCP server that accepts and never says anything (a proxy that swallowed the Upgrade). */
async function silentServer() {
  const sockets = new Set<NetSocket>();
  const server: NetServer = createServer((s) => sockets.add(s));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    sockets,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const client = <In = unknown, Out = unknown>(url: string, o: ResilientOptions<In, Out> = {}) =>
  new ResilientWebSocket<In, Out>(url, { WebSocket, reconnect: fast, window: null, ...o });

const next = <T extends Event>(target: EventTarget, type: string) =>
  new Promise<T>((resolve) => target.addEventListener(type, (e) => resolve(e as T), { once: true }));

/** close() and wait for the final close event (it may fire synchronously when no socket is up). */
async function closed(ws: ResilientWebSocket<unknown, unknown>) {
  const done = ws.state == "closed" ? undefined : next(ws, "close");
  ws.close();
  await done;
}

test("echo", async () => {
  const srv = await wsServer();
  srv.wss.on("connection", (s) => s.on("message", (d, isBinary) => s.send(d, { binary: isBinary })));
  const ws = client(srv.url);
  assert.equal(ws.send("hello"), "queued");
  const e = await next<MessageEvent>(ws, "message");
  assert.equal(e.data, "hello");
  assert.equal(ws.send("again"), "sent");
  assert.equal((await next<MessageEvent>(ws, "message")).data, "again");
  await closed(ws);
  await srv.stop();
});

test("server drops the connection: the client reconnects", async () => {
  const srv = await wsServer();
  let n = 0;
  srv.wss.on("connection", (s) => {
    if (++n == 1) s.terminate();
    else s.send("welcome back");
  });
  const ws = client(srv.url);
  const log: string[] = [];
  ws.on("close", (e) => log.push(`close ${e.code}`));
  ws.on("reconnecting", (e) => log.push(`reconnecting ${e.attempt}`));
  const msg = await next<MessageEvent>(ws, "message");
  assert.equal(msg.data, "welcome back");
  assert.deepEqual(log, ["close 1006", "reconnecting 1"]);
  assert.equal(ws.stats.reconnects, 1);
  await closed(ws);
  await srv.stop();
});

test("server down at start: backoff, then connects when the server starts; outage messages arrive once, in order", async () => {
  // take a free port, then release it: nothing listens there while the client backs off
  const probe = await wsServer();
  const port = probe.port;
  await probe.stop();
  const ws = client(`ws://127.0.0.1:${port}/`);
  for (const m of ["1", "2", "3"]) assert.equal(ws.send(m), "queued");
  await next(ws, "reconnecting");
  await next(ws, "reconnecting");
  assert.ok(ws.attempt >= 2);
  const srv = await wsServer(port);
  const received: string[] = [];
  const connected = new Promise<void>((resolve) =>
    srv.wss.on("connection", (s) =>
      s.on("message", (d) => {
        received.push(String(d));
        if (received.length == 5) resolve();
      })),
  );
  await ws.opened();
  ws.send("4");
  ws.send("5");
  await connected;
  assert.deepEqual(received, ["1", "2", "3", "4", "5"]);

  // a second outage while open: the server goes away, messages queue, the server comes back
  await srv.stop();
  await next(ws, "reconnecting");
  for (const m of ["6", "7", "8"]) assert.equal(ws.send(m), "queued");
  const again = await wsServer(port);
  const got: string[] = [];
  const three = new Promise<void>((resolve) =>
    again.wss.on("connection", (s) => s.on("message", (d) => got.push(String(d)) == 3 && resolve())));
  await three;
  assert.deepEqual(got, ["6", "7", "8"]);
  assert.equal(ws.stats.queued, 0);
  await closed(ws);
  await again.stop();
});

test("keepalive with ws ping: a server that stops answering is replaced within interval + timeout", async () => {
  const srv = await wsServer();
  const conns: WebSocket[] = [];
  let pings = 0;
  let secondPing: () => void;
  const twoPings = new Promise<void>((resolve) => (secondPing = resolve));
  srv.wss.on("connection", (s) => {
    conns.push(s);
    s.on("ping", () => ++pings == 2 && secondPing());
  });
  const ws = client(srv.url, { keepalive: { interval: 100, timeout: 100 } });
  await ws.opened();
  // answered pings keep the connection and measure the round trip: a second ping means the
  // client saw the first pong (otherwise it would have declared the link dead instead)
  await twoPings;
  assert.equal(conns.length, 1);
  assert.ok(ws.stats.lastRtt !== undefined && ws.stats.lastRtt < 100, `rtt ${ws.stats.lastRtt}`);
  assert.equal(ws.state, "open");
  // the server process hangs: it stops reading, so no pong comes back
  (conns[0] as unknown as { _socket: NetSocket })._socket.pause();
  const t0 = Date.now();
  const close = await next<Event & { reason: string }>(ws, "close");
  const elapsed = Date.now() - t0;
  assert.equal(close.reason, "keepalive timeout");
  assert.ok(elapsed <= 400, `detected after ${elapsed} ms`);
  await ws.opened();
  assert.equal(conns.length, 2);
  await closed(ws);
  await srv.stop();
});

test("connectTimeout: a server that never answers the upgrade is abandoned and retried, without crashing", async () => {
  const srv = await silentServer();
  const ws = client(srv.url, { connectTimeout: 100 });
  const errors: unknown[] = [];
  ws.onerror = (e) => errors.push(e.error);
  const t0 = Date.now();
  const rec = await next<Event & { reason: string; attempt: number }>(ws, "reconnecting");
  assert.ok(Date.now() - t0 >= 95);
  assert.equal(rec.reason, "connect timeout");
  assert.ok(errors.some((e) => isResilientError(e) && e.code == "ERR_CONNECT_TIMEOUT"));
  await next(ws, "reconnecting");
  assert.ok(srv.sockets.size >= 2, "retried on a new TCP connection");
  await closed(ws);
  await srv.stop();
});

test("requireProtocol: a server that selects none fails for good with ERR_PROTOCOL_NOT_SELECTED", async () => {
  const srv = await wsServer(0, { handleProtocols: () => false });
  let connections = 0;
  srv.wss.on("connection", () => connections++);
  const ws = client(srv.url, { protocols: ["v2.json"], requireProtocol: true });
  const errors: unknown[] = [];
  ws.onerror = (e) => errors.push(e.error);
  const close = await next<Event & { code: number }>(ws, "close");
  assert.equal(close.code, 1002);
  assert.equal(ws.state, "closed");
  const ours = errors.find(isResilientError);
  assert.ok(ours && ours.code == "ERR_PROTOCOL_NOT_SELECTED" && ours.closeCode == 1002, String(errors));
  assert.equal(connections, 1);
  await srv.stop();
});

test("codecs map: the codec follows the subprotocol the server selected", async () => {
  const json: Codec<unknown, unknown> = { frame: "text", encode: (m) => JSON.stringify(m), decode: (d) => JSON.parse(d as string) };
  const bin: Codec<unknown, unknown> = {
    frame: "binary",
    encode: (m) => new TextEncoder().encode(JSON.stringify(m)),
    decode: (d) => ({ viaBinary: JSON.parse(new TextDecoder().decode(d as ArrayBuffer)) }),
  };
  const srv = await wsServer(0, { handleProtocols: (p) => (p.has("v2.bin") ? "v2.bin" : false) });
  srv.wss.on("connection", (s) => s.on("message", (d, isBinary) => s.send(d, { binary: isBinary })));
  const ws = client(srv.url, { protocols: ["v2.json", "v2.bin"], codecs: { "v2.json": json, "v2.bin": bin } });
  ws.send({ x: 1 });
  const e = await next<MessageEvent>(ws, "message");
  assert.equal(ws.protocol, "v2.bin");
  assert.deepEqual(e.data, { viaBinary: { x: 1 } });
  await closed(ws);
  await srv.stop();
});

test("decodeerror: an undecodable message is reported, the connection stays up, later messages arrive", async () => {
  const json: Codec<unknown, unknown> = { frame: "text", encode: (m) => JSON.stringify(m), decode: (d) => JSON.parse(d as string) };
  const srv = await wsServer();
  srv.wss.on("connection", (s) => {
    s.send("{broken");
    s.send('{"ok":true}');
  });
  const ws = client(srv.url, { codec: json });
  const bad = next<Event & { data: unknown; error: unknown }>(ws, "decodeerror");
  const good = next<MessageEvent>(ws, "message");
  assert.equal((await bad).data, "{broken");
  assert.ok((await bad).error instanceof SyntaxError);
  assert.deepEqual((await good).data, { ok: true });
  assert.equal(ws.state, "open");
  await closed(ws);
  await srv.stop();
});

/**
 * ResilientWebSocket against a real `ws` server over the built-in client: the contract points an
 * API audit found broken (requests lost in the transport's buffer, codecs without a fallback, user
 * callbacks that throw, the W3C url/origin, reconnect() with a close frame).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { WebSocketServer, type ServerOptions, type WebSocket as ServerSocket } from "ws";
import { ResilientWebSocket } from "../../src/client/client.js";
import { json } from "../../src/client/codecs.js";
import { correlate } from "../../src/client/request.js";
import { WebSocket } from "../../src/node-client.js";

async function server(options: ServerOptions = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...options });
  await once(wss, "listening");
  const port = (wss.address() as AddressInfo).port;
  return {
    wss,
    port,
    url: `ws://127.0.0.1:${port}/`,
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}
const next = <T extends Event>(target: EventTarget, type: string) =>
  new Promise<T>((resolve) => target.addEventListener(type, (e) => resolve(e as T), { once: true }));
const base = { WebSocket, keepalive: false, window: null, reconnect: { minDelay: 20, maxDelay: 20 } } as const;

type Msg = { id?: number; pad?: string; ok?: boolean };

/**
 * The first connection never reads (its socket paused) and is cut after `ms`: a large request is
 * still in the transport's bufferedAmount then, so the client reports it as a `drop` "unsent".
 * Later connections answer each request with its id.
 */
async function stallingServer(ms: number) {
  const srv = await server();
  const ids: number[] = [];
  let n = 0;
  srv.wss.on("connection", (c: ServerSocket & { _socket: { pause(): void } }) => {
    if (++n == 1) {
      c._socket.pause();
      setTimeout(() => c.terminate(), ms);
      return;
    }
    c.on("message", (d) => {
      const m = JSON.parse(String(d)) as Msg;
      ids.push(m.id!);
      c.send(JSON.stringify({ id: m.id, ok: true }));
    });
  });
  return { ...srv, ids };
}

test("a request still in the transport's buffer when its connection dies (drop unsent) is re-sent on the next one, not rejected", async () => {
  const srv = await stallingServer(200);
  const ws = new ResilientWebSocket<Msg, Msg>(srv.url, { ...base, codec: json() });
  const drops: string[] = [];
  ws.on("drop", (e) => drops.push(e.reason));
  const rpc = correlate(ws, { setId: (m, id) => ({ ...m, id: id as number }), getId: (m) => m.id, timeout: 10_000 });
  await ws.opened();
  const reply = await rpc.request({ pad: "x".repeat(16 << 20) });
  assert.deepEqual(reply, { id: 1, ok: true });
  assert.deepEqual(drops, ["unsent"], "the drop is still reported");
  assert.deepEqual(srv.ids, [1], "sent again, once, with the same id");
  assert.equal(rpc.size, 0);
  ws.close();
  await srv.stop();
});

test("with resend: false, a request dropped as unsent rejects with ERR_CONNECTION, not ERR_QUEUE_FULL", async () => {
  const srv = await stallingServer(200);
  const ws = new ResilientWebSocket<Msg, Msg>(srv.url, { ...base, codec: json() });
  const drops: string[] = [];
  ws.on("drop", (e) => drops.push(e.reason));
  const rpc = correlate(ws, { setId: (m, id) => ({ ...m, id: id as number }), getId: (m) => m.id, resend: false });
  await ws.opened();
  await assert.rejects(rpc.request({ pad: "x".repeat(16 << 20) }), { code: "ERR_CONNECTION" });
  assert.deepEqual(drops, ["unsent"]);
  await ws.opened();
  assert.deepEqual(srv.ids, [], "not sent again");
  ws.close();
  await srv.stop();
});

test("codecs without codec: a server selecting no subprotocol, or one without a codec, gets the first codec, never raw frames", async () => {
  // "/none" selects no subprotocol; otherwise the server picks "v1.other", offered but not in the map.
  const srv = await server({ handleProtocols: (_p, request) => (request.url == "/none" ? false : "v1.other") });
  const got: string[] = [];
  srv.wss.on("connection", (c) => {
    c.on("message", (d) => got.push(String(d)));
    c.send('{"hello":1}');
  });
  for (const path of ["none", "other"]) {
    got.length = 0;
    type M = { hello?: number; a?: number };
    const ws = new ResilientWebSocket<M, M>(srv.url + path, { ...base, protocols: ["v1.json", "v1.other"], codecs: { "v1.json": json<M, M>() } });
    const decodeErrors: unknown[] = [];
    ws.on("decodeerror", (e) => decodeErrors.push(e.data));
    const message = next<MessageEvent>(ws, "message");
    ws.send({ a: 1 }); // queued before the handshake, encoded by the first codec
    await ws.opened();
    assert.equal(ws.protocol, path == "none" ? "" : "v1.other");
    assert.equal(ws.send({ a: 2 }), "sent");
    assert.deepEqual((await message).data, { hello: 1 }, `${path}: decoded, not a raw string`);
    while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got, ['{"a":1}', '{"a":2}'], `${path}: JSON on the wire, not "[object Object]"`);
    assert.deepEqual(decodeErrors, []);
    ws.close();
  }
  await srv.stop();
});

test("a shouldReconnect that throws is reported (error event), the default policy reconnects, and close() completes", async () => {
  const srv = await server();
  let n = 0;
  srv.wss.on("connection", (c) => ++n == 1 && c.close(1001, "bye"));
  const boom = new Error("policy bug");
  const ws = new ResilientWebSocket(srv.url, {
    ...base,
    reconnect: {
      minDelay: 20,
      maxDelay: 20,
      shouldReconnect: () => {
        throw boom;
      },
    },
  });
  const error = next<Event & { error: unknown }>(ws, "error");
  const reconnecting = next<Event & { code: number }>(ws, "reconnecting");
  await ws.opened();
  assert.equal((await error).error, boom);
  assert.equal((await reconnecting).code, 1001);
  await ws.opened();
  assert.equal(n, 2);
  const closed = next(ws, "close");
  ws.close();
  await closed;
  assert.equal(ws.state, "closed");
  await srv.stop();
});

test("a keepalive.isPong that throws is reported (error event) and the data is delivered as a message", async () => {
  const srv = await server();
  srv.wss.on("connection", (c) => c.on("message", (d) => c.send("echo:" + d)));
  const ws = new ResilientWebSocket(srv.url, {
    ...base,
    keepalive: {
      interval: 60_000,
      timeout: 1000,
      isPong: (d) => {
        if (d === "echo:bad") throw new Error("isPong bug");
        return d === "pong";
      },
    },
  });
  const log: string[] = [];
  ws.on("message", (e) => log.push(String(e.data)));
  ws.on("error", (e) => log.push("error:" + (e.error as Error).message));
  await ws.opened();
  const two = new Promise<void>((r) => ws.on("message", () => log.filter((l) => l.startsWith("echo:")).length == 2 && r()));
  ws.send("bad");
  ws.send("good");
  await two;
  assert.deepEqual(log, ["error:isPong bug", "echo:bad", "echo:good"]);
  assert.equal(ws.state, "open");
  ws.close();
  await srv.stop();
});

test("url is serialized like WebSocket.url (trailing slash, http mapped to ws), and message events carry the URL's origin", async () => {
  const srv = await server();
  srv.wss.on("connection", (c) => c.send("hi"));
  const origin = `ws://127.0.0.1:${srv.port}`;
  for (const [given, url] of [
    [origin, origin + "/"],
    [`http://127.0.0.1:${srv.port}/a?b=1`, `${origin}/a?b=1`],
  ] as const) {
    const ws = new ResilientWebSocket(given, base);
    assert.equal(ws.url, url, "from the constructor on");
    const message = await next<MessageEvent>(ws, "message");
    assert.equal(ws.url, url);
    assert.equal(message.origin, origin);
    ws.close();
  }
  // A URL provider: "" before its first result, then the serialized URL of the current attempt.
  let k = 0;
  const ws = new ResilientWebSocket(() => `${origin}?k=${++k}`, base);
  assert.equal(ws.url, "");
  await next(ws, "message");
  assert.equal(ws.url, `${origin}/?k=1`);
  ws.reconnect();
  await next(ws, "message");
  assert.equal(ws.url, `${origin}/?k=2`);
  ws.close();
  await srv.stop();
});

test("reconnect() closes the open connection with a close frame (1000, or the code given) and reconnects without waiting for the reply", async () => {
  const srv = await server();
  const closes: Array<[number, string]> = [];
  srv.wss.on("connection", (c) => c.on("close", (code, reason) => closes.push([code, String(reason)])));
  const ws = new ResilientWebSocket(srv.url, base);
  await ws.opened();
  ws.reconnect();
  assert.equal(ws.state, "reconnecting", "the next attempt is under way at once");
  await ws.opened();
  ws.reconnect(4001, "switch region");
  await ws.opened();
  while (closes.length < 2) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(closes, [
    [1000, "reconnect()"],
    [4001, "switch region"],
  ]);
  ws.close();
  await srv.stop();
});

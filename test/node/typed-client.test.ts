/**
 * Typed features end to end against a real `ws` server on 127.0.0.1 (port 0), through both the
 * `ws` class (the `WebSocket` option) and the built-in RFC 6455 client: routing, decodeerror,
 * codecs chosen by subprotocol, requireProtocol, request/response across a reconnect, messages().
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WS, { WebSocketServer, type WebSocket as ServerSocket } from "ws";
import { ResilientWebSocket, correlate, messages, route, withSchema, type Requester } from "../../src/index.js";
import { json, text } from "../../src/client/codecs.js";
import type { StandardSchemaV1 } from "../../src/client/schema.js";
import { WebSocket as BuiltIn } from "../../src/node-client.js";
import type { TransportConstructor } from "../../src/adapters/transport.js";
import type { ResilientOptions } from "../../src/client/options.js";
import { isResilientError } from "../../src/errors.js";

type Quote = { type: "quote"; pair: string; bid: number };
type MarketOpen = { type: "open"; market: string };
type Reply = { type: "reply"; id: number; op: string; n: number };
type ServerMsg = Quote | MarketOpen | Reply;
type ClientMsg = { type: "request"; op: string; id?: number } | { type: "push"; messages: ServerMsg[] } | { type: "drop-me" };

/**
 * The server: answers `request`s with a reply carrying the same id (except op "ignore", and op
 * "lose-once…" the first time it sees that op, after which it drops the connection), pushes what `push` asks for,
 * and terminates on "drop-me". Subprotocol selection is per path: /none selects none.
 */
class Server {
  wss!: WebSocketServer;
  url = "";
  connections = 0;
  requests: Array<{ op: string; id: number }> = [];
  #lost = new Set<string>();

  async start() {
    this.wss = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      handleProtocols: (protocols, request) => (request.url === "/none" ? false : protocols.values().next().value ?? false),
    });
    this.wss.on("connection", (socket) => {
      this.connections++;
      socket.on("message", (data) => this.#handle(socket, data.toString()));
    });
    await new Promise((resolve) => this.wss.once("listening", resolve));
    this.url = `ws://127.0.0.1:${(this.wss.address() as { port: number }).port}`;
  }

  #handle(socket: ServerSocket, raw: string) {
    if (socket.protocol === "v1.text") return socket.send(`text:${raw}`);
    let msg: ClientMsg;
    try {
      msg = JSON.parse(raw) as ClientMsg;
    } catch {
      return socket.send(raw);
    }
    if (msg.type === "push") for (const m of msg.messages) socket.send(typeof m === "string" ? m : JSON.stringify(m));
    else if (msg.type === "drop-me") socket.terminate();
    else if (msg.type === "request") {
      const id = msg.id as number;
      this.requests.push({ op: msg.op, id });
      if (msg.op === "ignore") return;
      if (msg.op.startsWith("lose-once") && !this.#lost.has(msg.op)) {
        this.#lost.add(msg.op);
        return socket.terminate();
      }
      socket.send(JSON.stringify({ type: "reply", id, op: msg.op, n: this.requests.length }));
    }
  }

  async stop() {
    for (const client of this.wss.clients) client.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
  }
}

const server = new Server();
before(() => server.start());
after(() => server.stop());

const transports: Array<[string, TransportConstructor]> = [
  ["ws", WS as unknown as TransportConstructor],
  ["built-in", BuiltIn as unknown as TransportConstructor],
];

const requesters = new WeakMap<ResilientWebSocket<ServerMsg, ClientMsg>, Requester<ServerMsg, ClientMsg>>();
const rpc = (ws: ResilientWebSocket<ServerMsg, ClientMsg>) => requesters.get(ws)!;

function client(transport: TransportConstructor, path = "/", extra: ResilientOptions<ServerMsg, ClientMsg> = {}) {
  const ws = new ResilientWebSocket<ServerMsg, ClientMsg>(server.url + path, {
    WebSocket: transport,
    codec: json<ServerMsg, ClientMsg>(),
    reconnect: { minDelay: 5, maxDelay: 20 },
    ...extra,
  });
  requesters.set(
    ws,
    correlate(ws, {
      setId: (msg, id) => ({ ...msg, id: Number(id) }),
      getId: (msg) => (msg.type === "reply" ? msg.id : undefined),
      timeout: 5_000,
    }),
  );
  return ws;
}

const once = <T>(ws: ResilientWebSocket<ServerMsg, ClientMsg>, type: "open" | "close" | "reconnecting" | "decodeerror" | "error") =>
  new Promise<T>((resolve) => {
    const off = ws.on(type, (event) => {
      off();
      resolve(event as T);
    });
  });

for (const [name, transport] of transports) {
  describe(`typed client over ${name}`, () => {
    it('route() delivers only its tag, typed; a tag named "open" is not the open event', async () => {
      const ws = client(transport);
      const quotes: number[] = [];
      const markets: string[] = [];
      let openEvents = 0;
      ws.on("open", () => openEvents++);
      route(ws, "quote", (q) => quotes.push(q.bid));
      const unroute = route(ws, "open", (m) => markets.push(m.market));
      const all: string[] = [];
      const done = new Promise<void>((resolve) =>
        ws.on("message", (e) => {
          all.push(e.data.type);
          if (all.length === 3) resolve();
        }),
      );
      await ws.opened();
      ws.send({ type: "push", messages: [{ type: "open", market: "FX" }, { type: "quote", pair: "EURUSD", bid: 1.1 }, { type: "quote", pair: "USDJPY", bid: 150 }] });
      await done;
      assert.deepEqual(quotes, [1.1, 150]);
      assert.deepEqual(markets, ["FX"]);
      assert.equal(openEvents, 1, "the open message did not fire an open event");
      unroute();
      ws.close();
    });

    it("a message the codec cannot decode raises decodeerror with the raw data; the connection and other listeners carry on", async () => {
      const ws = client(transport);
      const received: string[] = [];
      ws.on("message", (e) => received.push(e.data.type));
      await ws.opened();
      const bad = once<Event & { data: unknown; error: unknown }>(ws, "decodeerror");
      ws.send({ type: "push", messages: ["{not json" as unknown as ServerMsg, { type: "quote", pair: "X", bid: 1 }] });
      const event = await bad;
      assert.equal(event.data, "{not json");
      assert.ok(isResilientError(event.error) && event.error.code === "ERR_DECODE");
      await rpc(ws).request({ type: "request", op: "after" });
      assert.deepEqual(received, ["quote"]);
      assert.equal(ws.state, "open");
      ws.close();
    });

    it("a Standard Schema validates each message: a failure is a decodeerror with the issues, valid ones arrive transformed", async () => {
      // The shape zod, valibot and arktype expose; this one accepts quotes and adds a spread.
      const schema: StandardSchemaV1<unknown, Quote & { spread: number }> = {
        "~standard": {
          version: 1,
          vendor: "test",
          validate: (value) => {
            const q = value as Quote;
            return q?.type === "quote" && typeof q.bid === "number"
              ? { value: { ...q, spread: 0.5 } }
              : { issues: [{ message: "Expected a quote with a numeric bid", path: ["bid"] }] };
          },
        },
      };
      const ws = new ResilientWebSocket(server.url, { WebSocket: transport, codec: withSchema(json<unknown, ClientMsg>(), schema) });
      const errors: unknown[] = [];
      ws.on("decodeerror", (e) => errors.push(e.error));
      await ws.opened();
      const valid = new Promise((resolve) => ws.on("message", (e) => resolve(e.data)));
      ws.send({ type: "push", messages: [{ type: "quote", pair: "X", bid: "high" } as unknown as Quote, { type: "quote", pair: "X", bid: 1 }] });
      assert.deepEqual(await valid, { type: "quote", pair: "X", bid: 1, spread: 0.5 });
      assert.equal(errors.length, 1);
      const error = errors[0] as Error & { code: string; cause: unknown };
      assert.equal(error.code, "ERR_DECODE");
      assert.match(error.message, /Expected a quote with a numeric bid at bid/);
      assert.deepEqual(error.cause, [{ message: "Expected a quote with a numeric bid", path: ["bid"] }]);
      ws.close();
    });

    it("request() resolves with the matching reply, which is not also a message event", async () => {
      const ws = client(transport);
      const received: unknown[] = [];
      ws.on("message", (e) => received.push(e.data));
      const [a, b] = await Promise.all([rpc(ws).request<Reply>({ type: "request", op: "a" }), rpc(ws).request<Reply>({ type: "request", op: "b" })]);
      assert.equal(a.op, "a");
      assert.equal(b.op, "b");
      assert.notEqual(a.id, b.id);
      assert.deepEqual(received, []);
      ws.close();
    });

    it("request() times out with ERR_REQUEST_TIMEOUT and aborts with ERR_ABORTED", async () => {
      const ws = client(transport);
      await assert.rejects(rpc(ws).request({ type: "request", op: "ignore" }, { timeout: 50 }), { code: "ERR_REQUEST_TIMEOUT" });
      const controller = new AbortController();
      const pending = rpc(ws).request({ type: "request", op: "ignore" }, { signal: controller.signal });
      controller.abort(new Error("navigated away"));
      await assert.rejects(pending, (error) => isResilientError(error) && error.code === "ERR_ABORTED" && (error.cause as Error).message === "navigated away");
      ws.close();
    });

    it("a request whose connection drops is re-sent with the same id after the reconnect and matched once", async () => {
      const ws = client(transport);
      await ws.opened();
      const before = server.requests.length;
      const received: unknown[] = [];
      ws.on("message", (e) => received.push(e.data));
      const op = `lose-once-${name}`;
      const reply = await rpc(ws).request<Reply>({ type: "request", op });
      const seen = server.requests.slice(before).filter((r) => r.op === op);
      assert.equal(seen.length, 2, "sent on the lost connection and again on the new one");
      assert.equal(seen[0]?.id, seen[1]?.id);
      assert.equal(reply.id, seen[0]?.id);
      assert.ok(ws.stats.reconnects >= 1);
      assert.deepEqual(received, []);
      ws.close();
    });

    it("resend: false rejects with ERR_CONNECTION when the connection drops", async () => {
      const ws = client(transport);
      await ws.opened();
      await assert.rejects(rpc(ws).request({ type: "request", op: `lose-once-no-resend-${name}` }, { resend: false }), { code: "ERR_CONNECTION" });
      ws.close();
    });

    it("requests made while disconnected are queued, sent once on open, and a final close rejects what is pending", async () => {
      const ws = client(transport);
      const early = rpc(ws).request<Reply>({ type: "request", op: "early" });
      assert.equal(ws.state, "connecting");
      assert.equal((await early).op, "early");
      const pending = rpc(ws).request({ type: "request", op: "ignore" });
      ws.close();
      await assert.rejects(pending, { code: "ERR_CLOSED" });
      await assert.rejects(rpc(ws).request({ type: "request", op: "x" }), { code: "ERR_CLOSED" });
    });

    it("messages() iterates in order, ends when the client closes, and drop-oldest keeps the newest", async () => {
      const ws = client(transport);
      const stream = messages(ws, { bufferSize: 3 });
      const last = new Promise<void>((resolve) => route(ws, "open", () => resolve()));
      await ws.opened();
      const quotes = Array.from({ length: 10 }, (_, i) => ({ type: "quote", pair: "P", bid: i }) as const);
      ws.send({ type: "push", messages: [...quotes, { type: "open", market: "end" }] });
      await last; // all 11 arrived while nobody consumed the stream
      ws.close();
      const seen: unknown[] = [];
      for await (const m of stream) seen.push(m.type === "quote" ? m.bid : m.type);
      assert.deepEqual(seen, [8, 9, "open"]);
      assert.equal(stream.dropped, 8);
    });

    it("messages() with a signal stops at abort; a buffer as large as a burst loses nothing", async () => {
      const ws = client(transport);
      const controller = new AbortController();
      await ws.opened();
      ws.send({ type: "push", messages: Array.from({ length: 50 }, (_, i) => ({ type: "quote", pair: "P", bid: i }) as const) });
      const bids: number[] = [];
      for await (const m of messages(ws, { signal: controller.signal, bufferSize: 50, overflow: "error" })) {
        if (m.type === "quote") bids.push(m.bid);
        if (bids.length === 50) controller.abort();
      }
      assert.deepEqual(bids, Array.from({ length: 50 }, (_, i) => i));
      ws.close();
    });

    it("codecs are chosen by the subprotocol the server selected", async () => {
      const ws = new ResilientWebSocket<string | ServerMsg, string & ClientMsg>(server.url, {
        WebSocket: transport,
        protocols: ["v1.text", "v2.json"],
        codecs: { "v2.json": json(), "v1.text": text() as never },
      });
      await ws.opened();
      assert.equal(ws.protocol, "v1.text");
      const reply = new Promise((resolve) => ws.on("message", (e) => resolve(e.data)));
      ws.send("hello" as never);
      assert.equal(await reply, "text:hello");
      ws.close();
    });

  });
}

// `ws` itself fails a handshake without the subprotocol it offered (before our check runs), so the
// requireProtocol policy is observable with the built-in client (and browsers), which accept it.
describe("requireProtocol over the built-in client", () => {
  const transport = BuiltIn as unknown as TransportConstructor;
    it("requireProtocol: a server that selects none fails the connection for good (not retried)", async () => {
      const connections = server.connections;
      const ws = client(transport, "/none", { protocols: ["v2.json"], requireProtocol: true });
      const error = once<Event & { error: unknown }>(ws, "error");
      const closed = once<Event & { code: number }>(ws, "close");
      assert.ok(isResilientError((await error).error) && ((await error).error as { code: string }).code === "ERR_PROTOCOL_NOT_SELECTED");
      assert.equal((await closed).code, 1002);
      assert.equal(ws.state, "closed");
      assert.equal(server.connections - connections, 1);
    });
});

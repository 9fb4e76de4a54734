// The built package as a Deno user gets it: dist/deno.js (the `deno` export condition), whose
// default transport is the built-in RFC 6455 client, and the same client over Deno's own global
// WebSocket through the `WebSocket` option. The peer is a Deno.serve + Deno.upgradeWebSocket
// server on 127.0.0.1, port 0. Run: deno test --allow-net=127.0.0.1 --allow-read --allow-env test/deno/
import assert from "node:assert/strict";
import { json, ResilientWebSocket } from "../../dist/deno.js";
import { collectEvents as collect, nextEvent as next } from "../shared/events.ts";

/** What the helpers need of a client, whatever its message types. */
interface Client extends EventTarget {
  readonly state: string;
  close(code?: number, reason?: string): void;
}

/** A Deno WebSocket server that echoes, logs what it received per path, and can drop or stop. */
class EchoServer {
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #sockets = new Set<WebSocket>();
  #port = 0;
  readonly received = new Map<string, string[]>();
  readonly connections = new Map<string, number>();

  start(): void {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: this.#port, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.#port = this.#server.addr.port;
  }

  url(path: string): string {
    return `ws://127.0.0.1:${this.#port}${path}`;
  }

  #handle(request: Request): Response {
    if (request.headers.get("upgrade") !== "websocket") return new Response("upgrade required", { status: 426 });
    const path = new URL(request.url).pathname;
    const { socket, response } = Deno.upgradeWebSocket(request);
    this.connections.set(path, (this.connections.get(path) ?? 0) + 1);
    this.#sockets.add(socket);
    socket.onclose = () => this.#sockets.delete(socket);
    socket.onerror = () => {};
    socket.onmessage = (event) => {
      const log = this.received.get(path) ?? [];
      this.received.set(path, log);
      log.push(typeof event.data === "string" ? event.data : `<${(event.data as ArrayBuffer).byteLength} bytes>`);
      socket.send(event.data);
    };
    return response;
  }

  /** Server-side close of every connection; 1012 "service restart" is retried by the client. */
  drop(): number {
    const count = this.#sockets.size;
    for (const socket of this.#sockets) socket.close(1012, "restart");
    return count;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closing = [...this.#sockets].map(
      (socket) => new Promise<void>((resolve) => socket.addEventListener("close", () => resolve(), { once: true })),
    );
    this.drop();
    await Promise.all(closing);
    await server.shutdown();
  }
}

/** Closes the client and waits for its final close event, so no timer or socket outlives a test. */
async function shutdown(ws: Client): Promise<void> {
  if (ws.state === "closed") return;
  const closed = next(ws, "close");
  ws.close();
  await closed;
}

const transports: Array<[string, { WebSocket?: typeof globalThis.WebSocket }]> = [
  ["built-in client (default transport of dist/deno.js)", {}],
  ["Deno's global WebSocket (WebSocket option)", { WebSocket: globalThis.WebSocket }],
];

const fast = { minDelay: 20, maxDelay: 200 };

for (const [name, transportOptions] of transports) {
  Deno.test(`${name}: echo of text, binary and json`, async () => {
    const server = new EchoServer();
    server.start();
    const ws = new ResilientWebSocket(server.url("/echo"), { ...transportOptions });
    const typed = new ResilientWebSocket<{ pair: string }, { pair: string }>(server.url("/json"), {
      ...transportOptions,
      codec: json<{ pair: string }, { pair: string }>(),
    });
    try {
      ws.binaryType = "arraybuffer";
      await Promise.all([ws.opened(), typed.opened()]);
      let reply = next<MessageEvent>(ws, "message");
      ws.send("hello deno");
      assert.equal((await reply).data, "hello deno");
      reply = next<MessageEvent>(ws, "message");
      ws.send(new Uint8Array([1, 2, 3, 255]));
      const data = (await reply).data;
      assert.ok(data instanceof ArrayBuffer, "binary arrives as ArrayBuffer");
      assert.deepEqual([...new Uint8Array(data)], [1, 2, 3, 255]);
      const decoded = next<MessageEvent<{ pair: string }>>(typed, "message");
      typed.send({ pair: "USD/JPY" });
      assert.deepEqual((await decoded).data, { pair: "USD/JPY" });
    } finally {
      await shutdown(ws);
      await shutdown(typed);
      await server.stop();
    }
  });

  Deno.test(`${name}: server drop → reconnect`, async () => {
    const server = new EchoServer();
    server.start();
    const ws = new ResilientWebSocket(server.url("/drop"), { ...transportOptions, reconnect: fast });
    try {
      await ws.opened();
      const reconnecting = next(ws, "reconnecting");
      const reopened = next(ws, "open");
      assert.equal(server.drop(), 1);
      await reconnecting;
      await reopened;
      assert.equal(ws.state, "open");
      assert.equal(server.connections.get("/drop"), 2);
      const reply = next<MessageEvent>(ws, "message");
      ws.send("after drop");
      assert.equal((await reply).data, "after drop");
    } finally {
      await shutdown(ws);
      await server.stop();
    }
  });

  Deno.test(`${name}: messages sent during an outage arrive in order exactly once`, async () => {
    const server = new EchoServer();
    server.start();
    const ws = new ResilientWebSocket(server.url("/outage"), { ...transportOptions, reconnect: fast });
    try {
      await ws.opened();
      const down = next(ws, "reconnecting");
      await server.stop();
      await down;
      const sent = ["q1", "q2", "q3", "q4"];
      for (const message of sent) ws.send(message);
      assert.notEqual(ws.state, "open");
      const echoes = collect<MessageEvent>(ws, "message", sent.length, 8_000);
      server.start();
      assert.deepEqual((await echoes).map((event) => event.data), sent);
      assert.deepEqual(server.received.get("/outage"), sent, "the server got each message once, in order");
    } finally {
      await shutdown(ws);
      await server.stop();
    }
  });
}

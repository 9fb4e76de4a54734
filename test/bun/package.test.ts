// The package as a Bun user gets it: `import "resilient-ws"` by its name (the package references
// itself through package.json "exports"), so it needs `npm run build` first. Bun must land on
// dist/node.js, whose ResilientWebSocket has the built-in RFC 6455 client as its default transport
// (not Bun's global WebSocket): echo, reconnect after a server drop, queued messages across an
// outage, and keepalive with protocol pings that the server sees and that detect a dead peer.
// Two real peers on 127.0.0.1 port 0: the npm `ws` package (the peer of the Node and Deno suites)
// and the `ws` Bun gives to `import "ws"`, its own replacement on Bun's native WebSocket server.
// Run with `bun test --isolate`: node-client.test.ts maps "ws" to the npm package for its files,
// and without isolation that mapping would reach this file too (the first test checks).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as bunWs from "ws";
import type { AddressInfo } from "node:net";
import type { IncomingMessage } from "node:http";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
if (!existsSync(join(ROOT, "dist", "node.js"))) throw new Error("dist/ is missing: run `npm run build` first");

const pkg = await import("resilient-ws");
const { ResilientWebSocket } = pkg;
const { WebSocket: BuiltIn } = await import("resilient-ws/node");
type WsModule = typeof bunWs;
const npmWs = (await import(join(ROOT, "node_modules", "ws", "wrapper.mjs"))) as WsModule;
type ServerSocket = InstanceType<WsModule["WebSocket"]>;
/** What the helpers need of a client, whatever its message types. */
interface Client extends EventTarget {
  readonly state: string;
  close(code?: number, reason?: string): void;
}

/** Next `type` event of `target`, or a rejection naming it after `ms` (a bound, not a sleep). */
function next<E extends Event = Event>(target: EventTarget, type: string, ms = 5_000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(type, listener);
      reject(new Error(`no "${type}" event within ${ms} ms`));
    }, ms);
    const listener = (event: Event): void => {
      clearTimeout(timer);
      target.removeEventListener(type, listener);
      resolve(event as E);
    };
    target.addEventListener(type, listener);
  });
}

/** Closes the client for good and waits for its final close event, so nothing outlives a test. */
async function shutdown(ws: Client): Promise<void> {
  if (ws.state === "closed") return;
  const closed = next(ws, "close");
  ws.close();
  await closed;
}

/**
 * An echo server of one `ws` implementation that logs what it received, counts connections,
 * answers pings only while `answerPings` is true (autoPong is off), and can drop or stop.
 */
class EchoServer {
  readonly #ws: WsModule;
  #wss: InstanceType<WsModule["WebSocketServer"]> | undefined;
  #port = 0;
  readonly sockets = new Set<ServerSocket>();
  readonly received: string[] = [];
  readonly requests: IncomingMessage[] = [];
  /** Pings seen, per connection (index = connection number - 1). */
  readonly pings: number[] = [];
  answerPings = true;
  #onConnection: Array<(socket: ServerSocket) => void> = [];

  constructor(ws: WsModule) {
    this.#ws = ws;
  }

  async start(): Promise<void> {
    const wss = new this.#ws.WebSocketServer({ host: "127.0.0.1", port: this.#port, autoPong: false });
    this.#wss = wss;
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    this.#port = (wss.address() as AddressInfo).port;
    wss.on("connection", (socket, request) => this.#accept(socket, request));
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#port}/`;
  }

  get connections(): number {
    return this.requests.length;
  }

  nextConnection(): Promise<ServerSocket> {
    return new Promise((resolve) => this.#onConnection.push(resolve));
  }

  #accept(socket: ServerSocket, request: IncomingMessage): void {
    const index = this.requests.push(request) - 1;
    this.pings[index] = 0;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("ping", (data: Buffer) => {
      this.pings[index]!++;
      if (this.answerPings) socket.pong(data);
    });
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      this.received.push(isBinary ? `<${data.length} bytes>` : data.toString());
      socket.send(data, { binary: isBinary });
    });
    this.#onConnection.shift()?.(socket);
  }

  /** Server-side close of every connection; 1012 "service restart" is retried by the client. */
  drop(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.close(1012, "restart");
    return count;
  }

  async stop(): Promise<void> {
    const wss = this.#wss;
    if (wss === undefined) return;
    this.#wss = undefined;
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

test("Bun resolves resilient-ws to dist/node.js (dist/node.cjs for require), whose default transport is the built-in client", () => {
  const dist = pathToFileURL(join(ROOT, "dist")).href;
  // Bun matches export conditions in the order of the keys and knows both `node` and `bun`:
  // `bun` comes first in package.json, so it is the one that decides.
  assert.equal(import.meta.resolve("resilient-ws"), `${dist}/node.js`);
  assert.equal(import.meta.resolve("resilient-ws/node"), `${dist}/node-client.js`);
  type Conditions = Record<string, unknown>;
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<".", Conditions> & Record<"./node", Conditions> };
  for (const [entry, file] of [[".", "node"], ["./node", "node-client"]] as const) {
    const keys = Object.keys(manifest.exports[entry]);
    assert.ok(keys.indexOf("bun") !== -1 && keys.indexOf("bun") < keys.indexOf("node"), `${entry}: "bun" before "node"`);
    assert.deepEqual(manifest.exports[entry]["bun"], { import: `./dist/${file}.js`, require: `./dist/${file}.cjs` });
  }
  assert.equal(ResilientWebSocket.defaultWebSocket, BuiltIn);
  assert.notEqual(ResilientWebSocket.defaultWebSocket, globalThis.WebSocket, "not Bun's global WebSocket");
  const require = createRequire(import.meta.url);
  assert.equal(require.resolve("resilient-ws"), join(ROOT, "dist", "node.cjs"));
  const cjs = require("resilient-ws") as typeof pkg;
  const cjsClient = require("resilient-ws/node") as { WebSocket: unknown };
  assert.equal(cjs.ResilientWebSocket.defaultWebSocket, cjsClient.WebSocket);
  // The second peer must really be Bun's own ws (see the header on --isolate).
  assert.notEqual(bunWs.WebSocketServer, npmWs.WebSocketServer, "import \"ws\" gave the npm package: run bun test with --isolate");
});

const peers: Array<[string, WsModule]> = [
  ["npm ws", npmWs],
  ["Bun's built-in ws", bunWs],
];
const fast = { minDelay: 20, maxDelay: 200 };

for (const [peer, ws] of peers) {
  test(`${peer}: echo of text and binary; transport options reach the built-in client`, async () => {
    const server = new EchoServer(ws);
    await server.start();
    const client = new ResilientWebSocket(server.url, { transport: { headers: { "x-sdk": "resilient-ws" } }, reconnect: false });
    try {
      client.binaryType = "arraybuffer";
      await client.opened();
      assert.equal(server.requests[0]?.headers["x-sdk"], "resilient-ws");
      let reply = next<MessageEvent>(client, "message");
      client.send("hello bun");
      assert.equal((await reply).data, "hello bun");
      reply = next<MessageEvent>(client, "message");
      client.send(new Uint8Array([1, 2, 3, 255]));
      const data = (await reply).data as unknown;
      assert.ok(data instanceof ArrayBuffer, "binary arrives as ArrayBuffer");
      assert.deepEqual([...new Uint8Array(data)], [1, 2, 3, 255]);
      assert.deepEqual(server.received, ["hello bun", "<4 bytes>"]);
    } finally {
      await shutdown(client);
      await server.stop();
    }
  });

  test(`${peer}: server drop → reconnect, and the new connection echoes`, async () => {
    const server = new EchoServer(ws);
    await server.start();
    const client = new ResilientWebSocket(server.url, { reconnect: fast });
    try {
      await client.opened();
      const reconnecting = next(client, "reconnecting");
      const reopened = next(client, "open");
      assert.equal(server.drop(), 1);
      await reconnecting;
      await reopened;
      assert.equal(client.state, "open");
      assert.equal(server.connections, 2);
      const reply = next<MessageEvent>(client, "message");
      client.send("after drop");
      assert.equal((await reply).data, "after drop");
    } finally {
      await shutdown(client);
      await server.stop();
    }
  });

  test(`${peer}: messages sent during an outage arrive in order exactly once`, async () => {
    const server = new EchoServer(ws);
    await server.start();
    const client = new ResilientWebSocket(server.url, { reconnect: fast });
    try {
      await client.opened();
      const down = next(client, "reconnecting");
      await server.stop();
      await down;
      const sent = ["q1", "q2", "q3", "q4"];
      for (const message of sent) client.send(message);
      assert.notEqual(client.state, "open");
      const echoes: string[] = [];
      const allEchoed = new Promise<void>((resolve) =>
        client.addEventListener("message", (event) => {
          echoes.push((event as MessageEvent).data as string);
          if (echoes.length === sent.length) resolve();
        }),
      );
      // Same port as before (the client keeps its URL); the kernel gave it to us, no fixed port.
      await server.start();
      await allEchoed;
      assert.deepEqual(echoes, sent);
      assert.deepEqual(server.received, sent, "the server got each message once, in order");
    } finally {
      await shutdown(client);
      await server.stop();
    }
  });

  test(`${peer}: keepalive sends protocol pings the server sees; a peer that stops answering is dead → reconnect`, async () => {
    const server = new EchoServer(ws);
    await server.start();
    const first = server.nextConnection();
    const client = new ResilientWebSocket(server.url, { keepalive: { interval: 40, timeout: 150 }, reconnect: fast });
    try {
      await client.opened();
      const socket = await first;
      // Three answered probes on one connection: pongs keep the link up and give a round trip.
      await new Promise<void>((resolve) => {
        let seen = 0;
        socket.on("ping", () => ++seen === 3 && resolve());
      });
      assert.equal(server.connections, 1);
      assert.equal(client.state, "open");
      assert.equal(client.stats.messagesIn, 0, "probes are pings, not messages");
      assert.equal(typeof client.stats.lastRtt, "number");
      // The peer goes silent: the next probe goes unanswered and the client gives the link up.
      server.answerPings = false;
      const second = server.nextConnection();
      const lost = next<CloseEvent>(client, "close", 2_000);
      const reconnecting = next(client, "reconnecting", 2_000);
      const lostEvent = await lost;
      assert.equal(lostEvent.reason, "keepalive timeout");
      assert.equal(lostEvent.code, 1006);
      await reconnecting;
      await second;
      await client.opened();
      assert.equal(server.connections, 2);
      assert.ok(server.pings[0]! >= 4, `the unanswered probe reached the server (${server.pings[0]} pings)`);
    } finally {
      await shutdown(client);
      await server.stop();
    }
  });
}

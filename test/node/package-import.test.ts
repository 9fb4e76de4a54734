// The built package imported by name from a separate project, as an installed dependency: Node ESM
// `import` (dist/node.js) and Node CJS `require` (dist/node.cjs). Both default to the built-in
// RFC 6455 client (Node 20 has no global WebSocket) and echo against a real `ws` server.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { WebSocketServer } from "ws";
import { makeConsumer, requireBuild } from "./package-helpers.js";

const run = promisify(execFile);

// Runs in a child process inside the consumer project, so "resilient-ws" resolves through
// node_modules and package.json "exports" only. Prints one JSON line.
const program = (load: string) => `
${load}
const ws = new ResilientWebSocket(process.env.URL, { codec: json(), reconnect: { maxRetries: 0 } });
const timer = setTimeout(() => { console.log(JSON.stringify({ error: "timeout", state: ws.state })); process.exit(1); }, 5000);
ws.addEventListener("message", (event) => {
  console.log(JSON.stringify({ echo: event.data, hasNodeWebSocket: typeof NodeWebSocket === "function", state: ws.state }));
  clearTimeout(timer);
  ws.close();
});
ws.opened().then(() => ws.send({ hello: "node" }));
`;

const ESM = program(`import { ResilientWebSocket, json } from "resilient-ws"; import { WebSocket as NodeWebSocket } from "resilient-ws/node";`);
const CJS = program(`const { ResilientWebSocket, json } = require("resilient-ws"); const { WebSocket: NodeWebSocket } = require("resilient-ws/node");`);

describe("the built package in Node", () => {
  let consumer: ReturnType<typeof makeConsumer>;
  let server: WebSocketServer;
  let url: string;

  before(async () => {
    requireBuild();
    consumer = makeConsumer();
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    server.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })));
    await once(server, "listening");
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
    consumer.cleanup();
  });

  for (const [name, args] of [
    ["ESM import", ["--input-type=module", "-e", ESM]],
    ["CJS require", ["--input-type=commonjs", "-e", CJS]],
  ] as const) {
    it(`${name}: resolves, connects with the built-in client, echoes JSON, exits by itself`, async () => {
      const { stdout } = await run(process.execPath, [...args], { cwd: consumer.dir, env: { ...process.env, URL: url }, timeout: 10_000 });
      assert.deepEqual(JSON.parse(stdout.trim()), { echo: { hello: "node" }, hasNodeWebSocket: true, state: "open" });
    });
  }
});

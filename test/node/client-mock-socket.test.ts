/** ResilientWebSocket over mock-socket's W3C WebSocket: the in-memory transport many apps test with. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Server, WebSocket as MockWebSocket } from "mock-socket";
import { ResilientWebSocket } from "../../src/client/client.js";
import type { Codec } from "../../src/client/codec.js";

let n = 0;
function setup(onConnection: (socket: ReturnType<Server["clients"]>[number], server: Server) => void) {
  const url = `ws://mock-${++n}.test:1234/`;
  const server = new Server(url, { mock: false });
  server.on("connection", (socket) => onConnection(socket, server));
  return { url, server };
}
const once = (target: EventTarget, type: string) => new Promise<Event>((resolve) => target.addEventListener(type, resolve, { once: true }));
const json: Codec<unknown, unknown> = { frame: "text", encode: (m) => JSON.stringify(m), decode: (d) => JSON.parse(d as string) };
const fast = { minDelay: 5, maxDelay: 20 };

test("echo through mock-socket with a json codec", async () => {
  const { url, server } = setup((socket) => socket.on("message", (data) => socket.send(data as string)));
  const ws = new ResilientWebSocket(url, { WebSocket: MockWebSocket, codec: json, window: null });
  ws.send({ hello: "world" });
  const e = (await once(ws, "message")) as MessageEvent;
  assert.deepEqual(e.data, { hello: "world" });
  ws.close();
  await once(ws, "close");
  server.stop();
});

test("server close 4000 is final, 1000 is retried; queued messages arrive in order after reconnect", async () => {
  let connections = 0;
  const received: string[] = [];
  let gotThree: () => void;
  const three = new Promise<void>((r) => (gotThree = r));
  const { url, server } = setup((socket) => {
    connections++;
    socket.on("message", (data) => {
      if (received.push(data as string) == 3) gotThree();
      if (data == "bye") socket.close({ code: 1000, reason: "restart", wasClean: true });
    });
  });
  const ws = new ResilientWebSocket(url, { WebSocket: MockWebSocket, reconnect: fast, window: null });
  await ws.opened();
  ws.send("bye");
  await once(ws, "reconnecting");
  ws.send("1");
  ws.send("2");
  await three;
  assert.deepEqual(received, ["bye", "1", "2"]);
  assert.equal(connections, 2);

  server.clients()[0]!.close({ code: 4000, reason: "kicked", wasClean: true });
  const close = (await once(ws, "close")) as Event & { code: number };
  assert.equal(close.code, 4000);
  assert.equal(ws.readyState, ws.CLOSED);
  server.stop();
});

/**
 * Binary data as browsers have it, in Node: through ResilientWebSocket over the built-in RFC 6455
 * client, binaryType "blob" (the default) delivers Blobs and "arraybuffer" ArrayBuffers; send takes
 * strings, ArrayBuffers, typed arrays, DataViews and Blobs; a binary codec gets ArrayBuffers (or
 * views) whatever binaryType says. The peer is a real `ws` echo server on 127.0.0.1, port 0.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { ResilientWebSocket } from "../../src/index.js";
import { binary, json } from "../../src/client/codecs.js";
import { WebSocket as BuiltIn } from "../../src/node-client.js";
import type { TransportConstructor } from "../../src/adapters/transport.js";

let server: WebSocketServer;
let url: string;

before(async () => {
  server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  // Echo; a text message "as-binary:<rest>" comes back as a binary frame holding <rest>.
  server.on("connection", (socket) =>
    socket.on("message", (data, isBinary) => {
      const text = isBinary ? "" : data.toString();
      if (text.startsWith("as-binary:")) socket.send(Buffer.from(text.slice(10)), { binary: true });
      else socket.send(data, { binary: isBinary });
    }),
  );
  await new Promise((resolve) => server.once("listening", resolve));
  url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
});

after(async () => {
  for (const client of server.clients) client.terminate();
  await new Promise((resolve) => server.close(resolve));
});

const transport = BuiltIn as unknown as TransportConstructor;

/** Sends each item once open and collects as many messages. */
async function echo<In, Out>(ws: ResilientWebSocket<In, Out>, items: Out[]): Promise<In[]> {
  const received: In[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ws.on("message", (event) => {
      received.push(event.data);
      if (received.length === items.length) resolve();
    });
    ws.on("decodeerror", ({ error }) => reject(error));
  });
  await ws.opened();
  for (const item of items) ws.send(item);
  await done;
  ws.close();
  return received;
}

const bytesOf = async (data: unknown): Promise<number[]> =>
  data instanceof Blob ? [...new Uint8Array(await data.arrayBuffer())] : [...new Uint8Array(data as ArrayBuffer)];

describe("binary data through ResilientWebSocket over the built-in client", () => {
  it('binaryType defaults to "blob": binary messages arrive as Blobs, text as strings', async () => {
    const ws = new ResilientWebSocket(url, { WebSocket: transport });
    assert.equal(ws.binaryType, "blob");
    const [a, b] = await echo(ws, [new Uint8Array([1, 2, 3]), "text"]);
    assert.ok(a instanceof Blob, `got ${Object.prototype.toString.call(a)}`);
    assert.deepEqual(await bytesOf(a), [1, 2, 3]);
    assert.equal(b, "text");
  });

  it('binaryType "arraybuffer" delivers ArrayBuffers; every W3C send type goes out as bytes', async () => {
    const ws = new ResilientWebSocket(url, { WebSocket: transport });
    ws.binaryType = "arraybuffer";
    const view = new Uint8Array([9, 8, 7, 6]);
    const items = [view.buffer, view.subarray(1, 3), new DataView(view.buffer, 2, 2), new Blob([new Uint8Array([5, 4])]), new Uint16Array([0x0102])];
    const received = await echo(ws, items);
    for (const data of received) assert.ok(data instanceof ArrayBuffer, `got ${Object.prototype.toString.call(data)}`);
    assert.deepEqual(await Promise.all(received.map(bytesOf)), [[9, 8, 7, 6], [8, 7], [7, 6], [5, 4], [...new Uint8Array(new Uint16Array([0x0102]).buffer)]]);
  });

  it("binaryType set before the connection applies to it, and survives a reconnect", async () => {
    const ws = new ResilientWebSocket(url, { WebSocket: transport, reconnect: { minDelay: 10, maxDelay: 10 } });
    ws.binaryType = "arraybuffer";
    await ws.opened();
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => ws.on("reconnecting", () => resolve()));
    const [data] = await echo(ws, [new Uint8Array([42])]);
    assert.ok(data instanceof ArrayBuffer);
    assert.equal(ws.binaryType, "arraybuffer");
  });

  it('a binary codec gets bytes whatever binaryType says (as: "uint8array")', async () => {
    const ws = new ResilientWebSocket(url, { WebSocket: transport, codec: binary({ as: "uint8array" }) });
    ws.binaryType = "blob";
    const [data] = await echo(ws, [new Uint8Array([3, 4])]);
    assert.ok(data instanceof Uint8Array);
    assert.deepEqual([...data], [3, 4]);
  });

  it("json arriving in a binary frame is decoded as UTF-8", async () => {
    // The codec's text frame is what the server turns into a binary one.
    const ws = new ResilientWebSocket(url, {
      WebSocket: transport,
      codec: { ...json<{ n: string }, string>(), encode: (s: string) => s },
    });
    const [data] = await echo(ws, ['as-binary:{"n":"é"}']);
    assert.deepEqual(data, { n: "é" });
  });
});

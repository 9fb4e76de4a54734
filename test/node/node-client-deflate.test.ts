// permessage-deflate (RFC 7692) against a `ws` server with compression on: negotiation of context
// takeover and window bits, order of compressed and plain messages, and the inflated-size limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { WebSocket, type NodeWebSocketOptions } from "../../src/node-client.js";
import { closed, messages, next, wsServer } from "./node-client-helpers.js";

function text(size: number, seed: number): string {
  let out = "";
  while (out.length < size) out += `${seed}:${out.length} quote EURUSD 1.0${out.length % 97} ✓ `;
  return out.slice(0, size);
}

async function roundTrips(ws: WebSocket): Promise<void> {
  ws.binaryType = "arraybuffer";
  const sent: Array<string | Uint8Array> = [];
  for (let i = 0; i < 12; i++) {
    // Alternate below and above the 1 KiB threshold so plain and compressed messages interleave.
    const size = [10, 5000, 300, 70_000, 0, 1 << 20][i % 6]!;
    sent.push(i % 2 === 0 ? text(size, i) : new Uint8Array(Buffer.from(text(size, i))));
  }
  const got = messages(ws, sent.length);
  for (const message of sent) ws.send(message);
  const received = await got;
  received.forEach((data, i) => {
    const expected = sent[i]!;
    if (typeof expected === "string") assert.equal(data, expected, `message ${i}`);
    else assert.ok(Buffer.from(data as ArrayBuffer).equals(expected), `message ${i}`);
  });
}

async function withServer(
  serverDeflate: Record<string, unknown>,
  clientDeflate: NodeWebSocketOptions["perMessageDeflate"],
  check: (ws: WebSocket, bytesRead: () => number) => Promise<void>,
): Promise<void> {
  const peer = await wsServer({ perMessageDeflate: { threshold: 1024, ...serverDeflate } });
  const connected = peer.nextConnection();
  const ws = new WebSocket(peer.url, undefined, { perMessageDeflate: clientDeflate });
  await next(ws, "open");
  const server = await connected;
  const socket = (server as unknown as { _socket: { bytesRead: number } })._socket;
  await check(ws, () => socket.bytesRead);
  const done = closed(ws);
  ws.close(1000);
  assert.equal((await done).wasClean, true);
  await peer.close();
}

test("deflate with context takeover: negotiated, messages in order, compressed on the wire", async () => {
  await withServer({}, true, async (ws, bytesRead) => {
    assert.match(ws.extensions, /^permessage-deflate/);
    await roundTrips(ws);
    const before = bytesRead();
    const got = messages(ws, 1);
    ws.send(new Uint8Array(1 << 20));
    await got;
    assert.ok(bytesRead() - before < 16 * 1024, `1 MiB of zeros went out as ${bytesRead() - before} bytes`);
  });
});

test("deflate without context takeover, both directions", async () => {
  await withServer({}, { clientNoContextTakeover: true, serverNoContextTakeover: true }, async (ws) => {
    assert.match(ws.extensions, /server_no_context_takeover/);
    assert.match(ws.extensions, /client_no_context_takeover/);
    await roundTrips(ws);
  });
});

test("deflate window bits: server_max_window_bits=10 and client_max_window_bits=9 are honoured", async () => {
  await withServer({}, { serverMaxWindowBits: 10, clientMaxWindowBits: 9 }, async (ws) => {
    assert.match(ws.extensions, /server_max_window_bits=10/);
    assert.match(ws.extensions, /client_max_window_bits=9/);
    await roundTrips(ws);
  });
});

test("deflate window bits 8: negotiated, messages round-trip, and we send uncompressed (zlib cannot deflate with 8 bits)", async () => {
  await withServer({}, { serverMaxWindowBits: 8, clientMaxWindowBits: 8 }, async (ws, bytesRead) => {
    assert.match(ws.extensions, /server_max_window_bits=8/);
    assert.match(ws.extensions, /client_max_window_bits=8/);
    await roundTrips(ws);
    const before = bytesRead();
    const got = messages(ws, 1);
    ws.send(new Uint8Array(100_000));
    await got;
    assert.ok(bytesRead() - before >= 100_000, "sent without compression");
  });
});

test("deflate: a server that declines the offer leaves compression off", async () => {
  const peer = await wsServer({ perMessageDeflate: false });
  const ws = new WebSocket(peer.url, undefined, { perMessageDeflate: true });
  await next(ws, "open");
  assert.equal(ws.extensions, "");
  await roundTrips(ws);
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("maxInflatedSize: a small compressed message inflating past the limit closes with 1009, promptly (reading resumes after the failure)", async () => {
  const peer = await wsServer({ perMessageDeflate: { threshold: 0 }, echo: false });
  const connected = peer.nextConnection();
  const ws = new WebSocket(peer.url, undefined, { perMessageDeflate: { maxInflatedSize: 64 * 1024 }, closeTimeout: 30_000 });
  await next(ws, "open");
  const server = await connected;
  const serverSaw = new Promise<number>((resolve) => server.once("close", (code) => resolve(code)));
  const seen: number[] = [];
  ws.binaryType = "arraybuffer";
  ws.onmessage = (event) => seen.push((event.data as ArrayBuffer).byteLength);
  const done = closed(ws);
  server.send(Buffer.alloc(64 * 1024));
  server.send(Buffer.alloc(4 << 20));
  const started = Date.now();
  const event = await done;
  // The server's close and FIN must be read, not left behind a paused socket until closeTimeout.
  assert.ok(Date.now() - started < 5000, `closed after ${Date.now() - started} ms`);
  assert.deepEqual(seen, [64 * 1024]);
  assert.equal((event.error as { code: string }).code, "ERR_PAYLOAD_TOO_BIG");
  assert.equal(await serverSaw, 1009);
  await peer.close();
});

test("deflate: the server's close waits for messages still being inflated", async () => {
  const peer = await wsServer({ perMessageDeflate: { threshold: 0 }, echo: false });
  const connected = peer.nextConnection();
  const ws = new WebSocket(peer.url, undefined, { perMessageDeflate: true });
  await next(ws, "open");
  const server = await connected;
  const order: string[] = [];
  ws.onmessage = (event) => order.push(String(event.data).slice(0, 8));
  const done = closed(ws);
  for (let i = 0; i < 5; i++) server.send(`message${i}${"x".repeat(200_000)}`);
  server.close(1000, "done");
  const event = await done;
  assert.deepEqual(order, ["message0", "message1", "message2", "message3", "message4"]);
  assert.equal(event.code, 1000);
  assert.equal(event.reason, "done");
  await peer.close();
});

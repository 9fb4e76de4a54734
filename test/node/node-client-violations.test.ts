// Server protocol violations injected by a raw server: the client sends a close frame with the right
// code (RFC 6455 §7.4.1: 1002, 1007, 1009), fires error then close, and never throws. Plus maxPayload
// against a real `ws` server and a ping flood that must not grow the outbound buffer.
import { test } from "node:test";
import assert from "node:assert/strict";
import type net from "node:net";
import { Buffer } from "node:buffer";
import { WebSocket } from "../../src/node-client.js";
import { closeCodeOf, closed, deferred, FrameReader, next, rawServer, serverFrame, wsServer } from "./node-client-helpers.js";

const cases: Array<[name: string, bytes: () => Buffer, code: number]> = [
  ["masked server frame (§5.1)", () => serverFrame(0x1, "hi", { mask: true }), 1002],
  ["RSV1 without a negotiated extension (§5.2)", () => serverFrame(0x1, "hi", { rsv: 4 }), 1002],
  ["RSV2/RSV3 set (§5.2)", () => serverFrame(0x2, "hi", { rsv: 2 }), 1002],
  ["reserved data opcode 0x3 (§5.2)", () => serverFrame(0x3, "x"), 1002],
  ["reserved control opcode 0xB (§5.2)", () => serverFrame(0xb), 1002],
  ["fragmented ping (§5.5)", () => serverFrame(0x9, "p", { fin: false }), 1002],
  ["ping with 126 bytes (§5.5)", () => serverFrame(0x9, new Uint8Array(126)), 1002],
  ["continuation without a start (§5.4)", () => serverFrame(0x0, "x"), 1002],
  ["new text frame inside a fragmented message (§5.4)", () => Buffer.concat([serverFrame(0x1, "a", { fin: false }), serverFrame(0x1, "b")]), 1002],
  ["invalid UTF-8 in a text message (§8.1)", () => serverFrame(0x1, new Uint8Array([0xce, 0xba, 0xff])), 1007],
  ["invalid UTF-8 split across fragments (§8.1)", () => Buffer.concat([serverFrame(0x1, new Uint8Array([0xf0, 0x9f]), { fin: false }), serverFrame(0x0, new Uint8Array([0x41]))]), 1007],
  ["close frame with a 1-byte body (§5.5.1)", () => serverFrame(0x8, new Uint8Array([0x03])), 1002],
  ["close frame with reserved code 1005 (§7.4.1)", () => serverFrame(0x8, new Uint8Array([0x03, 0xed])), 1002],
  ["close reason that is not UTF-8 (§5.5.1)", () => serverFrame(0x8, new Uint8Array([0x03, 0xe8, 0xff])), 1007],
];

for (const [name, bytes, expected] of cases) {
  test(`violation: ${name} -> close ${expected}, error then close event`, async () => {
    const reader = deferred<FrameReader>();
    const peerReady = rawServer({
      onUpgrade: (socket) => {
        const frames = new FrameReader(socket);
        // A well-behaved server closes TCP once it has the client's close frame (RFC 6455 §7.1.1).
        void frames.waitFor(0x8).then(() => socket.end());
        socket.write(bytes());
        reader.resolve(frames);
      },
    });
    const peer = await peerReady;
    const ws = new WebSocket(peer.url);
    const order: string[] = [];
    ws.addEventListener("error", () => order.push(`error@${ws.readyState}`));
    ws.addEventListener("close", () => order.push(`close@${ws.readyState}`));
    const event = await closed(ws);
    assert.equal(closeCodeOf(await (await reader.promise).waitFor(0x8)), expected);
    assert.deepEqual(order, ["error@3", "close@3"]);
    assert.equal((event.error as { closeCode?: number }).closeCode, expected);
    assert.equal(event.code, 1006);
    assert.equal(event.wasClean, false);
    await peer.close();
  });
}

test("a failed connection fires error only once it is closed: readyState CLOSED, then close in the same task", async () => {
  const reader = deferred<FrameReader>();
  const peer = await rawServer({
    onUpgrade: (socket) => {
      const frames = new FrameReader(socket);
      void frames.waitFor(0x8).then(() => socket.end());
      socket.write(serverFrame(0x3));
      reader.resolve(frames);
    },
  });
  const ws = new WebSocket(peer.url);
  const log: string[] = [];
  ws.onerror = () => {
    log.push(`error@${ws.readyState}`);
    // WHATWG "when the WebSocket connection is closed": error and close are one task, so a task
    // queued by the error listener runs after close. Before the fix error came at once, with CLOSING.
    setTimeout(() => log.push("next task"), 0);
  };
  const done = new Promise<void>((resolve) => {
    ws.onclose = () => {
      log.push(`close@${ws.readyState}`);
      resolve();
    };
  });
  await done;
  assert.deepEqual(log, ["error@3", "close@3"]);
  // The close frame with the failure's code (RFC 6455 §7.4.1) is still sent when failing.
  assert.equal(closeCodeOf(await (await reader.promise).waitFor(0x8)), 1002);
  await peer.close();
});

test("a valid message, then a violation: the message is delivered first", async () => {
  const peer = await rawServer({
    onUpgrade: (socket) => socket.write(Buffer.concat([serverFrame(0x1, "fine"), serverFrame(0x3)])),
  });
  const ws = new WebSocket(peer.url);
  const seen: string[] = [];
  ws.onmessage = (event) => seen.push(String(event.data));
  ws.onerror = () => seen.push("error");
  await closed(ws);
  assert.deepEqual(seen, ["fine", "error"]);
  await peer.close();
});

test("maxPayload: a larger message from a ws server closes with 1009", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = new WebSocket(peer.url, undefined, { maxPayload: 1024 });
  await next(ws, "open");
  const server = await connected;
  const serverSaw = new Promise<number>((resolve) => server.once("close", (code) => resolve(code)));
  const done = closed(ws);
  server.send(Buffer.alloc(1024));
  server.send(Buffer.alloc(1025));
  const event = await done;
  assert.equal(await serverSaw, 1009);
  assert.equal((event.error as { code: string }).code, "ERR_PAYLOAD_TOO_BIG");
  await peer.close();
});

test("ping flood while the server does not read: at most one pong waits, the latest one", async () => {
  const upgraded = deferred<net.Socket>();
  const peerReady = rawServer({
    onUpgrade: (socket) => {
      socket.pause();
      upgraded.resolve(socket);
    },
  });
  const peer = await peerReady;
  const ws = new WebSocket(peer.url);
  await next(ws, "open");
  const socket = await upgraded.promise;
  // Pings of 125 bytes, 8,000 (1 MB) per batch, topped up whenever the server has sent what it
  // wrote, until the client stops reading. How much it reads first depends on the kernel's buffers
  // and on how much one socket read takes, so the flood is open-ended, with a cap that fails the
  // test if the client never stops.
  const batch = Buffer.concat(Array.from({ length: 8000 }, () => serverFrame(0x9, Buffer.alloc(125, 0x20))));
  const cap = 160 * batch.length;
  let written = 0;
  let sent = 0;
  // Poll until the client stops reading (the server's unsent bytes stop shrinking); there is no
  // event for "the peer stopped reading".
  let last = -1;
  for (let stable = 0; stable < 4; ) {
    if (socket.writableLength === 0) {
      assert.ok(written < cap, `the client kept reading ${written} bytes of pings`);
      socket.write(batch);
      written += batch.length;
      sent += 8000;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = socket.writableLength;
    stable = now > 0 && now === last ? stable + 1 : 0;
    last = now;
  }
  // Pongs are not application data, so bufferedAmount (WHATWG) does not show them: the bound on
  // what waits is checked below, by the pongs the server gets being fewer than its pings.
  assert.equal(ws.bufferedAmount, 0);
  // The last ping carries its own payload, so the last pong can be matched to it.
  const lastPayload = Buffer.alloc(125, 0x20);
  lastPayload.write("last");
  socket.write(serverFrame(0x9, lastPayload));
  sent += 1;
  // Now read everything: the pongs are fewer than the pings and the last one answers the last ping.
  const reader = new FrameReader(socket);
  socket.resume();
  const pong = new Promise<void>((resolve) => {
    const check = (): void => {
      const pongs = reader.frames.filter((frame) => frame.opcode === 0xa);
      if (pongs.length > 0 && pongs.at(-1)!.payload.equals(lastPayload)) resolve();
      else setImmediate(check);
    };
    check();
  });
  await pong;
  const pongs = reader.frames.filter((frame) => frame.opcode === 0xa).length;
  assert.ok(pongs < sent, `pongs coalesced: ${pongs} for ${sent} pings`);
  const done = closed(ws);
  ws.close(1000);
  await reader.waitFor(0x8);
  socket.end();
  assert.equal((await done).code, 1006); // the raw server never sent a close frame
  await peer.close();
});

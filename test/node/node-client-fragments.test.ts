// Large outgoing messages go out in fragments (RFC 6455 §5.4), written as the socket takes them, so
// that control frames (a pong to the server's ping, our own ping) pass the rest of the message
// instead of waiting for all of it: a `ws` server that pings every 30 s and terminates a client
// whose pong is late would otherwise drop a healthy client during a long upload. Run by Node, and
// through test/deno/ and test/bun/, by Deno and Bun (whose sockets are paced: sender.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import { createHash, randomFillSync } from "node:crypto";
import type { WebSocket as WsSocket } from "ws";
import { WebSocket } from "../../src/node-client.js";
import { ResilientWebSocket } from "../../src/client/client.js";
import { FRAGMENT_BYTES } from "../../src/adapters/node/sender.js";
import { closed, closeCodeOf, next, rawServer, testCertificate, wsServer } from "./node-client-helpers.js";

const MiB = 1 << 20;
/** The throttled link's speed: a 32 MiB message takes 4 s. */
const LINK_BYTES_PER_SECOND = 8 * MiB;
/**
 * The longest a pong may take while a message goes out over the link: what the Sender lets into
 * the socket (about two fragments, 0.25 s at 8 MiB/s) plus the kernel's buffers on both sides of
 * the relay, far below the 4 s that a 32 MiB message written as one frame held it.
 */
const PONG_BOUND_MS = 1500;

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A frame the client sent, as seen on the wire. */
interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  length: number;
  /** Payload bytes seen so far (less than `length` for a frame cut off). */
  seen: number;
  /** Unmasked payload of a control frame. */
  control?: Buffer;
}

/**
 * Decodes the client's bytes (after its upgrade request) into frame headers and payload counts,
 * without keeping the payloads of data frames: what the relay forwards, or what a raw server reads.
 */
class WireTap {
  readonly frames: WireFrame[] = [];
  #head = Buffer.alloc(0);
  #upgraded: boolean;
  #frame: WireFrame | undefined;
  #key = Buffer.alloc(4);

  /** `upgraded`: the bytes start after the upgrade request (a raw server's socket). */
  constructor(upgraded = false) {
    this.#upgraded = upgraded;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    if (!this.#upgraded) {
      this.#head = Buffer.concat([this.#head, data]);
      const end = this.#head.indexOf("\r\n\r\n");
      if (end === -1) return;
      this.#upgraded = true;
      data = this.#head.subarray(end + 4);
      this.#head = Buffer.alloc(0);
    }
    while (data.length > 0) {
      const frame = this.#frame;
      if (frame === undefined) {
        this.#head = Buffer.concat([this.#head, data]);
        data = Buffer.alloc(0);
        this.#takeHeader();
        if (this.#frame === undefined) return;
        data = this.#head;
        this.#head = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(frame.length - frame.seen, data.length);
      if (frame.control !== undefined) {
        for (let i = 0; i < take; i++) frame.control[frame.seen + i] = data[i]! ^ this.#key[(frame.seen + i) & 3]!;
      }
      frame.seen += take;
      data = data.subarray(take);
      if (frame.seen === frame.length) this.#frame = undefined;
    }
  }

  /** Payload bytes of the data frames seen so far (a frame cut off counts what arrived of it). */
  get dataPayload(): number {
    return this.frames.filter((frame) => frame.opcode < 8).reduce((sum, frame) => sum + frame.seen, 0);
  }

  #takeHeader(): void {
    const head = this.#head;
    if (head.length < 2) return;
    const short = head[1]! & 0x7f;
    const size = 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + 4;
    if (head.length < size) return;
    const length = short === 126 ? head.readUInt16BE(2) : short === 127 ? Number(head.readBigUInt64BE(2)) : short;
    const opcode = head[0]! & 0x0f;
    const frame: WireFrame = { fin: (head[0]! & 0x80) !== 0, rsv1: (head[0]! & 0x40) !== 0, opcode, length, seen: 0 };
    if (opcode >= 8) frame.control = Buffer.alloc(length);
    head.copy(this.#key, 0, size - 4, size);
    this.frames.push(frame);
    this.#head = head.subarray(size);
    if (length > 0) this.#frame = frame;
  }
}

/**
 * A TCP relay to 127.0.0.1:`target` that forwards the client's bytes at `bytesPerSecond` (by
 * pausing the client's side: the kernel's flow control then holds the client back), and the
 * server's at once. `tap` sees every byte the client sent, as it is forwarded.
 */
async function relay(target: number, bytesPerSecond: number | undefined, tap?: WireTap): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    const started = Date.now();
    let forwarded = 0;
    client.on("data", (chunk: Buffer) => {
      tap?.push(chunk);
      forwarded += chunk.length;
      const full = !upstream.write(chunk);
      // The time the link would have taken for what it forwarded so far: wait until then.
      const due = bytesPerSecond === undefined ? 0 : started + (forwarded / bytesPerSecond) * 1000 - Date.now();
      if (!full && due <= 0) return;
      client.pause();
      let waits = (full ? 1 : 0) + (due > 0 ? 1 : 0);
      const resume = (): void => {
        if (--waits === 0 && !client.destroyed) client.resume();
      };
      if (full) upstream.once("drain", resume);
      if (due > 0) {
        const timer = setTimeout(() => (timers.delete(timer), resume()), due);
        timers.add(timer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The server pings every `everyMs` (as ws servers do for keepalive); each pong's delay in ms. */
function pingEvery(server: WsSocket, everyMs: number): { delays: number[]; unanswered: () => number; stop: () => void } {
  const sent = new Map<string, number>();
  const delays: number[] = [];
  let count = 0;
  server.on("pong", (data: Buffer) => {
    const at = sent.get(data.toString());
    if (at === undefined) return;
    sent.delete(data.toString());
    delays.push(Date.now() - at);
  });
  const timer = setInterval(() => {
    const id = String(count++);
    sent.set(id, Date.now());
    server.ping(id);
  }, everyMs);
  return {
    delays,
    // A ping still unanswered, counted by its age: a pong held behind the whole message shows here.
    unanswered: () => Math.max(0, ...[...sent.values()].map((at) => Date.now() - at)),
    stop: () => clearInterval(timer),
  };
}

/** The next `count` messages a ws server socket receives: data and whether binary. */
function received(server: WsSocket, count: number): Promise<Array<{ data: Buffer; binary: boolean; at: number }>> {
  return new Promise((resolve, reject) => {
    const out: Array<{ data: Buffer; binary: boolean; at: number }> = [];
    server.on("message", (data: Buffer, binary: boolean) => {
      if (out.push({ data, binary, at: Date.now() }) === count) resolve(out);
    });
    server.on("close", (code: number) => reject(new Error(`the server closed (${code}) after ${out.length} of ${count} messages`)));
  });
}

/** Text of about `bytes` UTF-8 bytes whose characters are 1 to 4 bytes long: fragments end inside them. */
function mixedText(bytes: number): string {
  // 10 bytes per repetition; 1 MiB is not a multiple of 10, so fragment ends fall inside "😀" and "€".
  return "a€😀é".repeat(Math.ceil(bytes / 10));
}

/** Checks the frames of one message on the wire: fragments of FRAGMENT_BYTES, RSV1 on the first only. */
function assertFragments(frames: WireFrame[], opcode: number, payload: number, compressed: boolean): void {
  assert.ok(frames.length >= 2, `a message of ${payload} payload bytes in ${frames.length} frame(s)`);
  assert.deepEqual(
    frames.map((frame) => [frame.opcode, frame.fin, frame.rsv1]),
    frames.map((_, i) => [i === 0 ? opcode : 0, i === frames.length - 1, compressed && i === 0]),
    "opcode then continuations, FIN on the last, RSV1 on the first only when compressed",
  );
  assert.ok(frames.every((frame) => frame.length <= FRAGMENT_BYTES));
  assert.equal(frames.reduce((sum, frame) => sum + frame.length, 0), payload);
}

/** The client's data frames from `tap`, split into messages (a message ends with FIN). */
function dataMessages(tap: WireTap): WireFrame[][] {
  const out: WireFrame[][] = [];
  let current: WireFrame[] = [];
  for (const frame of tap.frames) {
    if (frame.opcode >= 8) continue;
    current.push(frame);
    if (frame.fin) out.push(current), (current = []);
  }
  return out;
}

for (const transport of ["ws", "wss"] as const) {
  test(`a server's pings are answered within ${PONG_BOUND_MS} ms while 32 MiB binary and 12 MiB text go out over an 8 MiB/s link (${transport})`, async (t) => {
    const certificate = transport === "wss" ? testCertificate() : undefined;
    const peer = await wsServer({ echo: false, tls: certificate });
    const tap = new WireTap();
    const link = await relay(peer.port, LINK_BYTES_PER_SECOND, transport === "ws" ? tap : undefined);
    const ws = new WebSocket(`${transport}://127.0.0.1:${link.port}`, undefined, { tls: certificate && { ca: certificate.cert } });
    let pings: ReturnType<typeof pingEvery> | undefined;
    try {
      const connected = peer.nextConnection();
      await next(ws, "open");
      const server = await connected;
      const got = received(server, 3);
      pings = pingEvery(server, 100);
      const binary = randomFillSync(new Uint8Array(32 * MiB));
      const text = mixedText(12 * MiB);
      const started = Date.now();
      ws.send(binary);
      ws.send(text);
      ws.send("after");
      // The caller may reuse its buffer once send() returned.
      binary.fill(0, 0, 1024);
      const binaryHash = sha256(binary.subarray(1024));
      const [first, second, third] = await got;
      const took = Date.now() - started;
      pings.stop();
      assert.ok(first!.binary && !second!.binary && !third!.binary);
      assert.equal(first!.data.length, 32 * MiB);
      assert.equal(sha256(first!.data.subarray(1024)), binaryHash, "the binary message arrived intact");
      assert.notEqual(first!.data.subarray(0, 1024).every((byte) => byte === 0), true, "send() copied the bytes it had to keep");
      assert.equal(sha256(second!.data), sha256(text), "the text message arrived intact (fragments end inside UTF-8 sequences)");
      assert.equal(third!.data.toString(), "after", "in order");
      assert.ok(took > 4000, `the link took ${took} ms for 44 MiB`);
      const worst = Math.max(...pings.delays);
      t.diagnostic(`pong delays (ms) during ${took} ms of sending: ${pings.delays.join(" ")}`);
      assert.ok(pings.delays.length >= 20, `${pings.delays.length} pongs in ${took} ms`);
      assert.ok(worst < PONG_BOUND_MS, `pong delays (ms) during ${took} ms of sending: ${pings.delays.join(" ")}`);
      if (transport === "ws") {
        const messages = dataMessages(tap);
        assert.equal(messages.length, 3);
        assertFragments(messages[0]!, 2, 32 * MiB, false);
        assertFragments(messages[1]!, 1, Buffer.byteLength(text), false);
        assert.equal(messages[2]!.length, 1);
      }
    } finally {
      pings?.stop();
      ws.terminate();
      await link.close();
      await peer.close();
    }
  });
}

test("ping() during a 32 MiB send over an 8 MiB/s link: the pong event comes long before the message is through", async () => {
  const peer = await wsServer({ echo: false });
  const link = await relay(peer.port, LINK_BYTES_PER_SECOND);
  const ws = new WebSocket(`ws://127.0.0.1:${link.port}`);
  try {
    const connected = peer.nextConnection();
    await next(ws, "open");
    const server = await connected;
    const got = received(server, 1);
    const started = Date.now();
    ws.send(new Uint8Array(32 * MiB).fill(5));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const pinged = Date.now();
    const pong = next(ws, "pong");
    ws.ping("during");
    await pong;
    const ponged = Date.now();
    const [message] = await got;
    assert.equal(message!.data.length, 32 * MiB);
    assert.ok(message!.at - ponged > 1500, `the message was through ${message!.at - ponged} ms after the pong (sent for ${message!.at - started} ms)`);
    assert.ok(ponged - pinged < PONG_BOUND_MS, `ping to pong: ${ponged - pinged} ms`);
  } finally {
    ws.terminate();
    await link.close();
    await peer.close();
  }
});

test("permessage-deflate: large compressible and incompressible messages go out in fragments, RSV1 on the first only, and arrive intact", async () => {
  const peer = await wsServer({ echo: false, perMessageDeflate: true });
  const tap = new WireTap();
  const link = await relay(peer.port, undefined, tap);
  const ws = new WebSocket(`ws://127.0.0.1:${link.port}`, undefined, { perMessageDeflate: true });
  try {
    const connected = peer.nextConnection();
    await next(ws, "open");
    assert.match(ws.extensions, /permessage-deflate/);
    const server = await connected;
    const got = received(server, 4);
    // Compressible to about half (16 letters), still several fragments once compressed.
    const letters = randomFillSync(new Uint8Array(12 * MiB)).map((byte) => 0x61 + (byte & 15));
    const compressible = Buffer.from(letters).toString("latin1");
    const noise = randomFillSync(new Uint8Array(6 * MiB));
    const text = mixedText(3 * MiB);
    ws.send(compressible);
    ws.send(noise);
    ws.send(text);
    ws.send(new Uint8Array(100).fill(1));
    const messages = await got;
    assert.equal(sha256(messages[0]!.data), sha256(compressible));
    assert.equal(sha256(messages[1]!.data), sha256(noise));
    assert.equal(sha256(messages[2]!.data), sha256(text));
    assert.deepEqual([...messages[3]!.data], [...new Uint8Array(100).fill(1)]);
    const wire = dataMessages(tap);
    assert.equal(wire.length, 4);
    const payloadOf = (frames: WireFrame[]): number => frames.reduce((sum, frame) => sum + frame.length, 0);
    assertFragments(wire[0]!, 1, payloadOf(wire[0]!), true);
    assert.ok(payloadOf(wire[0]!) < 9 * MiB, `compressed: ${payloadOf(wire[0]!)} bytes on the wire for 12 MiB`);
    assertFragments(wire[1]!, 2, payloadOf(wire[1]!), true);
    assert.ok(payloadOf(wire[2]!) < 3 * MiB, "compressed");
    // Below the deflate threshold: one plain frame.
    assert.deepEqual(wire[3]!.map((frame) => [frame.opcode, frame.fin, frame.rsv1]), [[2, true, false]]);
  } finally {
    ws.terminate();
    await link.close();
    await peer.close();
  }
});

test("bufferedAmount while a fragmented message is half written: exactly its unwritten payload, falling as fragments go out", async () => {
  let server: net.Socket | undefined;
  const tap = new WireTap(true);
  const peer = await rawServer({
    onUpgrade: (socket) => {
      server = socket;
      socket.pause();
    },
  });
  const ws = new WebSocket(peer.url);
  try {
    await next(ws, "open");
    const size = 24 * MiB;
    ws.send(new Uint8Array(size));
    const before = ws.bufferedAmount;
    assert.ok(before > size / 2, `the kernel took ${size - before} bytes of ${size}`);
    assert.ok(server !== undefined);
    // Read a few MiB, then stop again: bufferedAmount falls as further fragments go out.
    let read = 0;
    let limit = 6 * MiB;
    server.on("data", (chunk: Buffer) => {
      tap.push(chunk);
      read += chunk.length;
      if (read > limit) server!.pause();
    });
    server.resume();
    for (let turns = 0; turns < 200 && read <= 6 * MiB; turns++) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = ws.bufferedAmount;
    assert.ok(after < before - 4 * MiB && after > 0, `bufferedAmount ${before} then ${after} after the peer read ${read} bytes`);
    // Everything the kernel took reaches the peer once we stop: what bufferedAmount said was not
    // sent is exactly what the peer never gets.
    const done = closed(ws);
    ws.terminate();
    await done;
    assert.equal(ws.bufferedAmount, after, "kept once the connection is gone");
    const ended = new Promise((resolve) => server!.once("close", resolve));
    limit = Infinity;
    server.resume();
    await ended;
    const notSent = size - tap.dataPayload;
    const message = `the peer got ${tap.dataPayload} payload bytes, bufferedAmount said ${after} were not sent`;
    // Node's plain sockets show how much of a write the kernel took (unsent-bytes.ts): exact. Deno's
    // and Bun's count a write whole until it completes: never less than the truth, and at most the
    // writes a paced socket has in flight (PACED_IN_FLIGHT, 1 MiB) more.
    const paced = "Deno" in globalThis || "Bun" in globalThis;
    if (!paced) assert.equal(after, notSent, message);
    else assert.ok(after >= notSent && after - notSent <= MiB, message);
    const frames = tap.frames;
    assert.ok(frames.length >= 2 && frames.every((frame, i) => frame.opcode === (i === 0 ? 2 : 0) && !frame.fin), "fragments, the last not yet sent");
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("close() while a fragmented message is half written: the server gets all of it, then the close frame; clean close 1000", async () => {
  const peer = await wsServer({ echo: false });
  const tap = new WireTap();
  const link = await relay(peer.port, 4 * LINK_BYTES_PER_SECOND, tap);
  const ws = new WebSocket(`ws://127.0.0.1:${link.port}`);
  try {
    const connected = peer.nextConnection();
    await next(ws, "open");
    const server = await connected;
    const got = received(server, 2);
    const serverClosed = new Promise<number>((resolve) => server.on("close", (code: number) => resolve(code)));
    const payload = randomFillSync(new Uint8Array(32 * MiB));
    ws.send(payload);
    ws.send("last");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(ws.bufferedAmount > 8 * MiB, `half written: ${ws.bufferedAmount} unsent`);
    const done = closed(ws);
    ws.close(1000, "done");
    const event = await done;
    assert.deepEqual([event.code, event.wasClean], [1000, true]);
    const [message, last] = await got;
    assert.equal(sha256(message!.data), sha256(payload));
    assert.equal(last!.data.toString(), "last");
    assert.equal(await serverClosed, 1000);
    assert.equal(ws.bufferedAmount, 0);
    // On the wire: the fragments, the last message, then the close frame, and nothing after it.
    const frames = tap.frames;
    const closeAt = frames.findIndex((frame) => frame.opcode === 8);
    assert.equal(closeAt, frames.length - 1);
    assert.equal(closeCodeOf(frames[closeAt]!.control!), 1000);
    assertFragments(dataMessages(tap)[0]!, 2, 32 * MiB, false);
  } finally {
    ws.terminate();
    await link.close();
    await peer.close();
  }
});

test("terminate() while a fragmented message is half written: no error, bufferedAmount keeps what was not sent", async () => {
  const peer = await rawServer({ onUpgrade: (socket) => socket.pause() });
  const ws = new WebSocket(peer.url);
  try {
    await next(ws, "open");
    ws.send(new Uint8Array(24 * MiB));
    ws.send("tail");
    ws.ping();
    const unsent = ws.bufferedAmount;
    assert.ok(unsent > 12 * MiB);
    const done = closed(ws);
    ws.terminate();
    const event = await done;
    assert.deepEqual([event.code, event.error], [1006, undefined]);
    assert.equal(ws.bufferedAmount, unsent);
    // A drain or a write callback after the socket is gone writes nothing more and throws nothing.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(ws.bufferedAmount, unsent);
  } finally {
    await peer.close();
  }
});

test("ResilientWebSocket: a large message cut off between fragments is reported as dropped (unsent), with the messages after it", async () => {
  // A peer that completes the upgrade, then never reads and never answers a ping.
  const peer = await rawServer({ onUpgrade: (socket) => socket.pause() });
  const client = new ResilientWebSocket<ArrayBuffer, Uint8Array>(peer.url, {
    WebSocket,
    keepalive: { interval: 200, timeout: 200 },
    reconnect: false,
    window: null,
  });
  const unsent: number[] = [];
  client.on("drop", (event) => event.reason == "unsent" && unsent.push(event.message.length));
  try {
    await client.opened();
    client.send(new Uint8Array(24 * MiB));
    client.send(new Uint8Array(10));
    assert.ok(client.bufferedAmount > 12 * MiB);
    await next(client, "close");
    assert.deepEqual(unsent, [24 * MiB, 10]);
  } finally {
    client.close();
    await peer.close();
  }
});

// Keepalive of ResilientWebSocket over the built-in client while a large message crosses a slow
// link, against a real `ws` server behind a throttling TCP relay (Node, Deno and Bun run this file).
//
// The keepalive's probe, or the server's answer to it, waits behind the message's bytes: TCP keeps
// order, and no message event fires until the message is complete. A keepalive that counted only
// messages and pongs took such a link for dead after interval + timeout, dropped the connection,
// and the same message started again on the next one, for ever. It now counts bytes received
// (WebSocket#bytesReceived) and bytes leaving a send backlog as signs of life; a link that dies in
// the middle of a transfer must still be given up, by one more timeout at most.
import assert from "node:assert/strict";
import { test } from "node:test";
import net from "node:net";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { ResilientWebSocket } from "../../src/node.js";
import { wsServer, type WsPeer } from "./node-client-helpers.js";

const MIB = 1 << 20;
/** Timers and a loaded 2-core machine, not precision, are what this allows for. */
const SLACK = 400;

interface Relay {
  port: number;
  /** Connections accepted so far: one means the client never gave its connection up. */
  connections: number;
  /** Stop forwarding either way, keeping both sockets open: the link is dead, nobody says so. */
  blackhole(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay to `target` that forwards one direction at about `bytesPerSecond` (reading from the
 * sender only while its budget per 50 ms lasts, so TCP's flow control slows the sender down), and
 * the other direction at full speed.
 */
async function throttlingRelay(target: number, slow: "to-client" | "to-server", bytesPerSecond: number): Promise<Relay> {
  let dead = false;
  const sockets = new Set<net.Socket>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  const relay: Relay = {
    port: 0,
    connections: 0,
    blackhole: () => void (dead = true),
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearInterval(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    relay.connections++;
    const upstream = net.connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => (client.destroy(), upstream.destroy()));
    }
    const [from, to] = slow === "to-client" ? [upstream, client] : [client, upstream];
    const [back, backTo] = slow === "to-client" ? [client, upstream] : [upstream, client];
    back.on("data", (chunk: Buffer) => dead || backTo.write(chunk));
    let budget = bytesPerSecond / 20;
    const timer = setInterval(() => {
      if (dead) return;
      budget = bytesPerSecond / 20;
      from.resume();
    }, 50);
    timers.add(timer);
    from.on("close", () => clearInterval(timer));
    from.on("data", (chunk: Buffer) => {
      if (dead) return void from.pause();
      to.write(chunk);
      budget -= chunk.length;
      if (budget <= 0) from.pause();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  relay.port = (server.address() as net.AddressInfo).port;
  return relay;
}

const sha1 = (bytes: Uint8Array) => createHash("sha1").update(bytes).digest("hex");

function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i >>> 12) & 0xff;
  return bytes;
}

/** What ended connections: the reasons of `reconnecting`, and `drop` reasons. */
function watch(ws: ResilientWebSocket) {
  const reasons: string[] = [];
  const drops: string[] = [];
  ws.addEventListener("reconnecting", (event) => reasons.push(String((event as Event & { reason?: unknown }).reason)));
  ws.addEventListener("drop", (event) => drops.push(String((event as Event & { reason?: unknown }).reason)));
  return { reasons, drops };
}

async function withPeer(slow: "to-client" | "to-server", bytesPerSecond: number, run: (peer: WsPeer, relay: Relay) => Promise<void>): Promise<void> {
  const peer = await wsServer({ echo: false, maxPayload: 256 * MIB });
  const relay = await throttlingRelay(peer.port, slow, bytesPerSecond);
  try {
    await run(peer, relay);
  } finally {
    await relay.close();
    await peer.close();
  }
}

test("keepalive: a large message arriving over a slow link is not taken for a dead connection", async () => {
  // 24 MiB at 16 MiB/s: 1.5 s, where interval + timeout is 0.8 s.
  await withPeer("to-client", 16 * MIB, async (peer, relay) => {
    const payload = pattern(24 * MIB);
    peer.wss.on("connection", (socket) => socket.send(payload));
    const ws = new ResilientWebSocket(`ws://127.0.0.1:${relay.port}`, { keepalive: { interval: 200, timeout: 600 } });
    ws.binaryType = "arraybuffer";
    const { reasons } = watch(ws);
    try {
      const data = await new Promise<ArrayBuffer>((resolve, reject) => {
        ws.addEventListener("message", (event) => resolve((event as MessageEvent).data as ArrayBuffer));
        setTimeout(() => reject(new Error(`no message after 15 s; connections ended: ${reasons.join(", ") || "none"}`)), 15_000);
      });
      assert.equal(sha1(new Uint8Array(data)), sha1(payload));
      assert.deepEqual(reasons, [], "the connection was never given up");
      assert.equal(relay.connections, 1);
    } finally {
      ws.close();
    }
  });
});

test("keepalive: a large message sent over a slow link is not taken for a dead connection, nor reported unsent", async () => {
  // 40 MiB at 16 MiB/s: 2.5 s, where interval + timeout is 1.7 s. The timeout must cover the last
  // bytes, which wait in the kernel's socket buffers where bufferedAmount does not see them
  // (loopback: several MiB, about 0.6 s here).
  await withPeer("to-server", 16 * MIB, async (peer, relay) => {
    const payload = pattern(40 * MIB);
    const received = new Promise<Buffer>((resolve) => peer.wss.on("connection", (socket) => socket.on("message", (data: Buffer) => resolve(data))));
    const ws = new ResilientWebSocket(`ws://127.0.0.1:${relay.port}`, { keepalive: { interval: 200, timeout: 1500 } });
    const { reasons, drops } = watch(ws);
    ws.addEventListener("open", () => ws.send(payload), { once: true });
    try {
      const data = await Promise.race([received, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not received after 20 s; ended: ${reasons.join(", ") || "none"}`)), 20_000))]);
      assert.equal(sha1(data), sha1(payload));
      // Let a late, wrong verdict show up: the pong comes only after the whole message.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(reasons, [], "the connection was never given up");
      assert.deepEqual(drops, []);
      assert.equal(relay.connections, 1);
    } finally {
      ws.close();
    }
  });
});

for (const slow of ["to-client", "to-server"] as const) {
  test(`keepalive: a link that dies in the middle of a large message ${slow === "to-client" ? "arriving" : "being sent"} is still given up within interval + 2 timeouts`, async () => {
    await withPeer(slow, 16 * MIB, async (peer, relay) => {
      const payload = pattern(40 * MIB);
      if (slow === "to-client") peer.wss.on("connection", (socket) => socket.send(payload));
      const keepalive = { interval: 200, timeout: 400 };
      const ws = new ResilientWebSocket(`ws://127.0.0.1:${relay.port}`, { keepalive, reconnect: { minDelay: 60_000, maxDelay: 60_000 } });
      if (slow === "to-server") ws.addEventListener("open", () => ws.send(payload), { once: true });
      try {
        await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
        // Mid-transfer: bytes have been moving for a while, and the probe has been waiting behind them.
        await new Promise((resolve) => setTimeout(resolve, 700));
        const ended = new Promise<string>((resolve) => ws.addEventListener("reconnecting", (event) => resolve(String((event as Event & { reason?: unknown }).reason)), { once: true }));
        relay.blackhole();
        const at = Date.now();
        const reason = await Promise.race([ended, new Promise<string>((resolve) => setTimeout(() => resolve("never"), 5000))]);
        const after = Date.now() - at;
        assert.equal(reason, "keepalive timeout");
        const bound = keepalive.interval + 2 * keepalive.timeout;
        assert.ok(after <= bound + SLACK, `given up ${after} ms after the link died, bound ${bound} + ${SLACK} ms`);
      } finally {
        ws.close();
      }
    });
  });
}

test("WebSocket#bytesReceived counts frame bytes as they arrive, before the message is complete", async () => {
  const { WebSocket } = await import("../../src/node-client.js");
  await withPeer("to-client", 8 * MIB, async (peer, relay) => {
    peer.wss.on("connection", (socket) => socket.send(pattern(4 * MIB)));
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}`);
    try {
      assert.equal(ws.bytesReceived, 0);
      const counts: number[] = [];
      let complete = false;
      ws.addEventListener("message", () => (complete = true));
      await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
      while (!complete) {
        counts.push(ws.bytesReceived);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const partial = counts.filter((n) => n > 0 && n < 4 * MIB);
      assert.ok(partial.length >= 2, `counts while the message arrived: ${counts}`);
      assert.ok(counts.every((n, i) => i === 0 || n >= counts[i - 1]!), "never falls");
      // The frame: a 10-byte header (64-bit length) and 4 MiB of payload.
      assert.equal(ws.bytesReceived, 4 * MIB + 10);
    } finally {
      ws.close();
    }
  });
});

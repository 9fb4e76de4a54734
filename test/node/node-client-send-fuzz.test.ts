// End to end under random sends: the built-in client sends random sequences of messages to a real
// `ws` server, which stops and resumes reading at random, so frames are built while the socket
// holds earlier ones and while it holds none. Sizes gather where the send path changes: 125/126 and
// 64 KiB (header forms, the arena), the pieces of 512 KiB (one, 1.5, two), past the arena's 8.5 MiB.
// Binary messages come as views at every alignment and as Blobs, and the caller scribbles over its
// buffer as soon as send() returns. Pings go between the messages. With permessage-deflate or not,
// over TCP or TLS (TLS writes complete later, so every piece waits for its write callback and large
// messages run the arena full and fall back to buffers of their own).
//
// The server (ws: it checks the mask bit, RSV bits and UTF-8 itself) must receive every message in
// order with the bytes the caller held at send(), and answer every ping; after a clean close every
// arena region is back and nothing is buffered. Single sizes and orders are in
// node-client-basic.test.ts; this looks for the combinations nobody wrote down.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { WebSocket } from "../../src/node-client.js";
import { frameArena } from "../../src/adapters/node/frame-arena.js";
import { PIECE_BYTES } from "../../src/adapters/node/frame.js";
import { closed, next, testCertificate, wsServer } from "./node-client-helpers.js";

const MIB = 1024 * 1024;
/** More than this many payload bytes in one run only makes it slower, not different. */
const RUN_BYTES = 24 * MIB;

type Command =
  | { kind: "binary"; length: number; offset: number; blob: boolean; seed: number }
  | { kind: "text"; length: number; unit: string }
  | { kind: "pause" }
  | { kind: "resume" }
  | { kind: "wait"; ms: number }
  | { kind: "ping" };

const length = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 3, arbitrary: fc.constantFrom(125, 126, 65535, 65536, 65537, PIECE_BYTES, PIECE_BYTES * 1.5, PIECE_BYTES * 1.5 + 1, MIB - 14, MIB + 5) },
  { weight: 3, arbitrary: fc.integer({ min: 60_000, max: 3 * MIB }) },
  { weight: 1, arbitrary: fc.integer({ min: 8 * MIB, max: 10 * MIB }) },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("binary" as const), length, offset: fc.integer({ min: 0, max: 7 }), blob: fc.boolean(), seed: fc.nat(255) }) },
  // Code units of one, two and three UTF-8 bytes, and a surrogate pair (four).
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("text" as const), length, unit: fc.constantFrom("a", "é", "€", "👋") }) },
  { weight: 1, arbitrary: fc.constant({ kind: "pause" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "resume" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.constantFrom(0, 1, 5) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "ping" as const }) },
);

/** `length` bytes that differ from message to message (`seed`), at `offset` into their ArrayBuffer. */
function pattern(seed: number, length: number, offset: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(new ArrayBuffer(offset + length), offset, length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 101 + (i >>> 10)) & 0xff;
  return bytes;
}

/** About `length` UTF-8 bytes of `unit` repeated, with the message's number in front. */
function text(index: number, length: number, unit: string): string {
  const head = `${index}:`;
  return head + unit.repeat(Math.max(0, Math.floor((length - head.length) / Buffer.byteLength(unit))));
}

let certificate: { key: string; cert: string } | undefined;

async function run(commands: Command[], deflate: boolean, tls: boolean): Promise<void> {
  const tlsOptions = tls ? (certificate ??= testCertificate()) : undefined;
  const peer = await wsServer({ echo: false, perMessageDeflate: deflate ? { threshold: 1024 } : false, tls: tlsOptions });
  const connected = peer.nextConnection();
  const ws = new WebSocket(peer.url, undefined, { perMessageDeflate: deflate, tls: tlsOptions && { ca: tlsOptions.cert }, proxy: false });
  try {
    await next(ws, "open");
    const server = await connected;
    const expected: Buffer[] = [];
    const received: Buffer[] = [];
    let allReceived: () => void = () => {};
    let serverClosed: (error: Error) => void = () => {};
    server.on("message", (data: Buffer) => {
      received.push(data);
      if (received.length === expected.length) allReceived();
    });
    // ws closes on a frame it cannot accept (bad mask bit, RSV bits, UTF-8, lengths): fail then.
    server.on("error", (error: Error) => serverClosed(new Error(`the server failed after ${received.length} of ${expected.length} messages: ${error.message}`)));
    server.on("close", (code: number) => serverClosed(new Error(`the server closed (${code}) after ${received.length} of ${expected.length} messages`)));
    let pongs = 0;
    ws.addEventListener("pong", () => pongs++);
    const arenaBefore = frameArena().usedBytes;
    let pings = 0;
    let bytes = 0;
    for (const step of commands) {
      switch (step.kind) {
        case "binary": {
          if ((bytes += step.length) > RUN_BYTES) break;
          const payload = pattern(step.seed, step.length, step.offset);
          expected.push(Buffer.from(payload));
          if (step.blob) {
            ws.send(new Blob([payload]));
          } else {
            ws.send(payload);
          }
          // The caller may reuse its buffer once send() returns (the W3C send() takes a copy).
          payload.fill(0xee);
          break;
        }
        case "text": {
          if ((bytes += step.length) > RUN_BYTES) break;
          const message = text(expected.length, step.length, step.unit);
          expected.push(Buffer.from(message, "utf8"));
          ws.send(message);
          break;
        }
        case "pause":
          server.pause();
          break;
        case "resume":
          server.resume();
          break;
        case "wait":
          await new Promise((resolve) => setTimeout(resolve, step.ms));
          break;
        case "ping":
          ws.ping(new Uint8Array([pings++ & 0xff]));
          break;
      }
    }
    const everything = new Promise<void>((resolve, reject) => {
      allReceived = resolve;
      serverClosed = reject;
      if (received.length === expected.length) resolve();
    });
    server.resume();
    await everything;
    assert.equal(received.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      if (!received[i]!.equals(expected[i]!)) assert.fail(`message ${i} of ${expected.length}: ${received[i]!.length} bytes received, ${expected[i]!.length} sent`);
    }
    // The server reads everything, so it has answered every ping; the pongs come before its close.
    const done = closed(ws);
    ws.close(1000);
    const end = await done;
    assert.equal(end.code, 1000);
    assert.equal(end.wasClean, true);
    assert.equal(pongs, pings, "a pong for every ping");
    assert.equal(ws.bufferedAmount, 0);
    assert.equal(frameArena().usedBytes, arenaBefore, "every arena region came back");
  } finally {
    ws.terminate();
    await peer.close();
  }
}

test("random sends under random backpressure: every message arrives in order with the bytes held at send()", { timeout: 300_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), fc.boolean(), fc.boolean(), run),
    { numRuns: 60, interruptAfterTimeLimit: 60_000 },
  );
});

// End to end under random input: the built-in client against a raw server that writes random frame
// sequences (messages fragmented at random with control frames between them, and now and then a
// frame that breaks a rule of RFC 6455) in random pieces, then a close frame. A model of the RFC,
// written here independently of src/protocol, says what the client must do: which messages it
// delivers, which pings it answers, and whether it ends by echoing the server's close (clean) or
// fails with 1002, 1007 or 1009 (an error event carrying that code, then close 1006, and a close
// frame with that code on the wire). Never an exception, never a hang.
// The codec alone gets the same treatment at every chunk split in protocol-property.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type net from "node:net";
import fc from "fast-check";
import { WebSocket } from "../../src/node-client.js";
import { closeCodeOf, FrameReader, rawServer, serverFrame } from "./node-client-helpers.js";

/** Small, so that random messages can exceed it (1009). */
const MAX_PAYLOAD = 4096;
/** A run whose client has not closed by then counts as a hang. */
const HANG_MS = 1000;

interface Frame {
  opcode: number;
  fin: boolean;
  rsv: number;
  mask: boolean;
  payload: Uint8Array;
}

/** What the client must do with a frame sequence. */
interface Outcome {
  /** Delivered messages: "text:<string>" or "binary:<hex>". */
  messages: string[];
  /** Payloads (hex) of the pings the client must answer, in order. */
  pings: string[];
  /** How it ends: the server's close (its code, 1005 for none) or a failure with a close code. */
  end: { kind: "close"; code: number } | { kind: "fail"; code: number };
}

// ---- The model ------------------------------------------------------------------------------------

/** RFC 6455 §7.4.1/§7.4.2 and the IANA registry: codes a close frame may carry. */
function validCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

function model(frames: Frame[]): Outcome {
  const messages: string[] = [];
  const pings: string[] = [];
  const fail = (code: number): Outcome => ({ messages, pings, end: { kind: "fail", code } });
  let message: { text: boolean; parts: Uint8Array[]; length: number; utf8: TextDecoder } | undefined;
  for (const f of frames) {
    // §5.2 reserved bits (no extension negotiated), §5.1 a server never masks, §5.2 reserved opcodes.
    if (f.rsv !== 0 || f.mask || (f.opcode >= 3 && f.opcode <= 7) || f.opcode >= 11) return fail(1002);
    if (f.opcode >= 8) {
      // §5.5: control frames are never fragmented and carry at most 125 bytes.
      if (!f.fin || f.payload.length > 125) return fail(1002);
      if (f.opcode === 9) pings.push(Buffer.from(f.payload).toString("hex"));
      if (f.opcode !== 8) continue;
      // §5.5.1: an empty close, or a 2-byte code and a UTF-8 reason.
      if (f.payload.length === 0) return { messages, pings, end: { kind: "close", code: 1005 } };
      if (f.payload.length === 1) return fail(1002);
      const code = (f.payload[0]! << 8) | f.payload[1]!;
      if (!validCloseCode(code)) return fail(1002);
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(f.payload.subarray(2));
      } catch {
        return fail(1007);
      }
      return { messages, pings, end: { kind: "close", code } };
    }
    // §5.4: a continuation continues a message; a new message waits for the last one's end.
    if (f.opcode === 0 && message === undefined) return fail(1002);
    if (f.opcode !== 0 && message !== undefined) return fail(1002);
    message ??= { text: f.opcode === 1, parts: [], length: 0, utf8: new TextDecoder("utf-8", { fatal: true }) };
    message.length += f.payload.length;
    if (message.length > MAX_PAYLOAD) return fail(1009);
    message.parts.push(f.payload);
    if (message.text) {
      // §8.1: fail as soon as the bytes so far cannot start valid UTF-8, and at the end if incomplete.
      try {
        message.utf8.decode(f.payload, { stream: !f.fin });
      } catch {
        return fail(1007);
      }
    }
    if (!f.fin) continue;
    const bytes = Buffer.concat(message.parts);
    messages.push(message.text ? `text:${bytes.toString("utf8")}` : `binary:${bytes.toString("hex")}`);
    message = undefined;
  }
  throw new Error("every generated sequence ends with a close frame");
}

// ---- The generators -------------------------------------------------------------------------------

const control = fc.record({
  opcode: fc.constantFrom(9, 10),
  fin: fc.constant(true),
  rsv: fc.constant(0),
  mask: fc.constant(false),
  payload: fc.uint8Array({ maxLength: 125 }),
});

/** A valid message: text or binary, cut into fragments with control frames between some of them. */
const message = fc
  .record({
    text: fc.boolean(),
    string: fc.string({ unit: "binary", maxLength: 120 }),
    bytes: fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ maxLength: 300 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 5000, size: "max" }) }),
    cuts: fc.array(fc.nat({ max: 5000 }), { maxLength: 4 }),
    between: fc.array(control, { maxLength: 2 }),
  })
  .map(({ text, string, bytes, cuts, between }): Frame[] => {
    const payload = text ? Buffer.from(string) : bytes;
    const points = [...new Set(cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b);
    const pieces: Uint8Array[] = [];
    let previous = 0;
    for (const point of [...points, payload.length]) {
      pieces.push(payload.subarray(previous, point));
      previous = point;
    }
    return pieces.flatMap((piece, i): Frame[] => {
      const data: Frame = { opcode: i === 0 ? (text ? 1 : 2) : 0, fin: i === pieces.length - 1, rsv: 0, mask: false, payload: piece };
      const after = i < pieces.length - 1 ? between[i] : undefined;
      return after === undefined ? [data] : [data, after];
    });
  });

/** A frame with any header bits: mostly breaks a rule (reserved bits or opcodes, masked, fragmented control). */
const anyFrame = fc.record({
  opcode: fc.integer({ min: 0, max: 15 }),
  fin: fc.boolean(),
  rsv: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 7 })),
  mask: fc.boolean(),
  payload: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constant(new Uint8Array(0))),
});

/** A text frame of random bytes: usually not UTF-8. */
const randomText = fc.record({
  opcode: fc.constant(1),
  fin: fc.boolean(),
  rsv: fc.constant(0),
  mask: fc.constant(false),
  payload: fc.uint8Array({ minLength: 1, maxLength: 40 }),
});

/** A close frame: valid codes and reasons, or a 1-byte body, a reserved code, a reason that is not UTF-8. */
const closeFrame = fc
  .record({
    code: fc.oneof(fc.constantFrom(1000, 1001, 1011, 1012, 3000, 4999), fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 2000, 5000), fc.integer({ min: 0, max: 65535 })),
    reason: fc.oneof(fc.string({ maxLength: 20 }).map((s) => Buffer.from(s).subarray(0, 123)), fc.uint8Array({ maxLength: 10 })),
    shape: fc.constantFrom("full", "full", "full", "empty", "one-byte"),
  })
  .map(({ code, reason, shape }): Frame => {
    const body = shape === "empty" ? new Uint8Array(0) : shape === "one-byte" ? new Uint8Array([code >> 8]) : Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]);
    return { opcode: 8, fin: true, rsv: 0, mask: false, payload: body };
  });

const sequence = fc
  .array(
    fc.oneof(
      { weight: 8, arbitrary: message },
      { weight: 2, arbitrary: control.map((f) => [f]) },
      { weight: 1, arbitrary: anyFrame.map((f) => [f]) },
      { weight: 1, arbitrary: randomText.map((f) => [f]) },
      { weight: 1, arbitrary: closeFrame.map((f) => [f]) },
    ),
    { maxLength: 8 },
  )
  .map((items) => [...items.flat(), { opcode: 8, fin: true, rsv: 0, mask: false, payload: Buffer.from([0x03, 0xe8]) }]);

// ---- One run ------------------------------------------------------------------------------------

/**
 * Writes `frames` in pieces cut at `cuts`, one piece per turn of the event loop. (A masked frame
 * gets a key of zeros: the mask bit is what the client must reject.)
 */
async function writeInPieces(socket: net.Socket, frames: Frame[], cuts: number[]): Promise<void> {
  const bytes = Buffer.concat(frames.map((f) => serverFrame(f.opcode, f.payload, { fin: f.fin, rsv: f.rsv, mask: f.mask })));
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let previous = 0;
  for (const point of [...points, bytes.length]) {
    if (socket.destroyed) return;
    if (point > previous) socket.write(bytes.subarray(previous, point));
    previous = point;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function run(frames: Frame[], cuts: number[]): Promise<void> {
  const expected = model(frames);
  let hung = false;
  let reader: FrameReader | undefined;
  const peer = await rawServer({
    onUpgrade: (socket) => {
      reader = new FrameReader(socket);
      // RFC 6455 §7.1.1: the server closes TCP once it has the client's close frame.
      void reader.waitFor(0x8).then(() => socket.end());
      const timer = setTimeout(() => {
        hung = true;
        socket.destroy();
      }, HANG_MS);
      socket.once("close", () => clearTimeout(timer));
      void writeInPieces(socket, frames, cuts);
    },
  });
  try {
    const ws = new WebSocket(peer.url, undefined, { maxPayload: MAX_PAYLOAD });
    ws.binaryType = "arraybuffer";
    const events: string[] = [];
    const messages: string[] = [];
    ws.onopen = () => events.push("open");
    ws.onmessage = (event: MessageEvent) => {
      events.push("message");
      messages.push(typeof event.data === "string" ? `text:${event.data}` : `binary:${Buffer.from(event.data as ArrayBuffer).toString("hex")}`);
    };
    let errorCode: number | undefined;
    ws.onerror = (event) => {
      events.push("error");
      errorCode = (event.error as { closeCode?: number } | undefined)?.closeCode;
    };
    const close = await new Promise<CloseEvent>((resolve) => {
      ws.onclose = (event) => {
        events.push("close");
        resolve(event);
      };
    });
    // Anything a client wrongly fires after close would show up by the next turns.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const sent = reader!.frames;
    const context = `frames: ${JSON.stringify(frames.map((f) => ({ ...f, payload: Buffer.from(f.payload).toString("hex") })))}\ncuts: ${JSON.stringify(cuts)}\nexpected: ${JSON.stringify(expected)}\nevents: ${JSON.stringify(events)}\nclose: ${close.code} ${close.wasClean}\nclient sent: ${JSON.stringify(sent.map((f) => [f.opcode, f.payload.toString("hex")]))}`;

    assert.equal(hung, false, `the client never closed — ${context}`);
    assert.deepEqual(messages, expected.messages, `messages — ${context}`);
    const pongs = sent.filter((f) => f.opcode === 0xa).map((f) => f.payload.toString("hex"));
    assert.deepEqual(pongs, expected.pings, `pongs — ${context}`);
    const closeFrames = sent.filter((f) => f.opcode === 0x8);
    assert.equal(closeFrames.length, 1, `exactly one close frame from the client — ${context}`);
    assert.equal(sent.at(-1)!.opcode, 0x8, `nothing after the close frame — ${context}`);
    const sentCode = closeCodeOf(closeFrames[0]!.payload);
    const tail = events.filter((e) => e !== "message");
    if (expected.end.kind === "close") {
      assert.deepEqual(tail, ["open", "close"], `events — ${context}`);
      assert.deepEqual([close.code, close.wasClean], [expected.end.code, true], `close event — ${context}`);
      // The close is echoed (RFC 6455 §5.5.1); a close without a code may be answered with 1000.
      if (expected.end.code === 1005) assert.ok(sentCode === undefined || sentCode === 1000, `echo of an empty close — ${context}`);
      else assert.equal(sentCode, expected.end.code, `echoed close code — ${context}`);
    } else {
      assert.deepEqual(tail, ["open", "error", "close"], `events — ${context}`);
      assert.equal(errorCode, expected.end.code, `the error's close code — ${context}`);
      assert.deepEqual([close.code, close.wasClean], [1006, false], `close event — ${context}`);
      assert.equal(sentCode, expected.end.code, `the close code on the wire — ${context}`);
    }
  } finally {
    await peer.close();
  }
}

test("random frame sequences in random pieces: the client does what the RFC model says, never throws or hangs", { timeout: 300_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(sequence, fc.array(fc.nat({ max: 20_000 }), { maxLength: 12 }), (frames, cuts) => run(frames, cuts)),
    // A hang costs HANG_MS per shrinking step: report the failure found so far rather than shrink for minutes.
    { numRuns: 150, interruptAfterTimeLimit: 60_000 },
  );
});

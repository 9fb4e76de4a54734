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
import { Buffer, isUtf8 } from "node:buffer";
import type net from "node:net";
import zlib from "node:zlib";
import fc from "fast-check";
import { WebSocket } from "../../src/node-client.js";
import { acceptFor, closeCodeOf, FrameReader, rawServer, serverFrame } from "./node-client-helpers.js";
import { cut } from "./protocol-helpers.js";

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
  /** On the first frame of a compressed message: what its payload inflates to, null if it cannot. */
  inflated?: Uint8Array | null;
}

/** What the client must do with a frame sequence. */
interface Outcome {
  /** Delivered messages: "text:<string>" or "binary:<hex>". */
  messages: string[];
  /** Payloads (hex) of the pings the client must answer, in order. */
  pings: string[];
  /** Pings it may answer after those, in order (read while a message that then failed was inflating). */
  laterPings: string[];
  /** How it ends: the server's close (its code, 1005 for none) or a failure with a close code. */
  end: { kind: "close"; code: number } | { kind: "fail"; code: number };
}

// ---- The model ------------------------------------------------------------------------------------

/** RFC 6455 §7.4.1/§7.4.2 and the IANA registry: codes a close frame may carry. */
function validCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

/**
 * The outcome of `frames`, in stream order. With permessage-deflate agreed (`deflate`), RSV1 marks
 * a message's first frame as compressed (RFC 7692 §6); a compressed message is inflated once it is
 * complete, and only then checked for size (the inflated size) and UTF-8 (RFC 6455 §8.1 is about
 * the inflated text).
 */
function model(frames: Frame[], deflate = false): Outcome {
  const messages: string[] = [];
  const pings: string[] = [];
  // Set when a compressed message fails to inflate: what the client does then, and the pings it
  // must have answered by then. Its decoder has read on meanwhile (inflating is asynchronous), so
  // it may also have answered some of the pings that follow, up to its own first fault.
  let inflateEnd: { end: Outcome["end"]; pings: number } | undefined;
  const result = (decoderEnd: Outcome["end"]): Outcome =>
    inflateEnd === undefined
      ? { messages, pings, laterPings: [], end: decoderEnd }
      : { messages, pings: pings.slice(0, inflateEnd.pings), laterPings: pings.slice(inflateEnd.pings), end: inflateEnd.end };
  const fail = (code: number): Outcome["end"] => ({ kind: "fail", code });
  let message: { text: boolean; compressed: Frame | undefined; parts: Uint8Array[]; length: number; utf8: TextDecoder } | undefined;
  for (const f of frames) {
    const rsv1 = deflate && (f.rsv & 4) !== 0;
    // §5.2 reserved bits (RSV1 only with permessage-deflate), §5.1 a server never masks, §5.2 reserved opcodes.
    if ((f.rsv & (deflate ? 3 : 7)) !== 0 || f.mask || (f.opcode >= 3 && f.opcode <= 7) || f.opcode >= 11) return result(fail(1002));
    if (f.opcode >= 8) {
      // §5.5: control frames are never fragmented and carry at most 125 bytes; RFC 7692 §6: no RSV1.
      if (!f.fin || f.payload.length > 125 || rsv1) return result(fail(1002));
      if (f.opcode === 9) pings.push(Buffer.from(f.payload).toString("hex"));
      if (f.opcode !== 8) continue;
      // §5.5.1: an empty close, or a 2-byte code and a UTF-8 reason.
      if (f.payload.length === 0) return result({ kind: "close", code: 1005 });
      if (f.payload.length === 1) return result(fail(1002));
      const code = (f.payload[0]! << 8) | f.payload[1]!;
      if (!validCloseCode(code)) return result(fail(1002));
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(f.payload.subarray(2));
      } catch {
        return result(fail(1007));
      }
      return result({ kind: "close", code });
    }
    // §5.4: a continuation continues a message; a new message waits for the last one's end.
    if (f.opcode === 0 && message === undefined) return result(fail(1002));
    if (f.opcode !== 0 && message !== undefined) return result(fail(1002));
    // RFC 7692 §6.1: RSV1 on the first frame of a message only.
    if (f.opcode === 0 && rsv1) return result(fail(1002));
    message ??= { text: f.opcode === 1, compressed: rsv1 ? f : undefined, parts: [], length: 0, utf8: new TextDecoder("utf-8", { fatal: true }) };
    message.length += f.payload.length;
    if (message.length > MAX_PAYLOAD) return result(fail(1009));
    message.parts.push(f.payload);
    if (message.text && message.compressed === undefined) {
      // §8.1: fail as soon as the bytes so far cannot start valid UTF-8, and at the end if incomplete.
      try {
        message.utf8.decode(f.payload, { stream: !f.fin });
      } catch {
        return result(fail(1007));
      }
    }
    if (!f.fin) continue;
    const { text, compressed, parts } = message;
    message = undefined;
    // After a failed inflate nothing more is delivered.
    if (inflateEnd !== undefined) continue;
    let bytes: Uint8Array = Buffer.concat(parts);
    if (compressed !== undefined) {
      const inflated = compressed.inflated;
      if (inflated === undefined) throw new Error("a compressed frame without its inflated bytes");
      // RFC 7692 §8 leaves the code to us: undecodable data 1007 (as ws), over the limit 1009.
      const code = inflated === null ? 1007 : inflated.length > MAX_PAYLOAD ? 1009 : text && !isUtf8(inflated) ? 1007 : undefined;
      if (code !== undefined) {
        inflateEnd = { end: fail(code), pings: pings.length };
        continue;
      }
      bytes = inflated!;
    }
    messages.push(text ? `text:${Buffer.from(bytes).toString("utf8")}` : `binary:${Buffer.from(bytes).toString("hex")}`);
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

/**
 * A message's payload cut at `cuts` into frames: `first` (opcode, RSV bits, inflated bytes) on the
 * first, continuations after it, FIN on the last, and the `between` frames after the first ones.
 */
function fragments(first: Pick<Frame, "opcode" | "rsv" | "inflated">, payload: Uint8Array, cuts: number[], between: Frame[]): Frame[] {
  const pieces = cut(payload, cuts);
  return pieces.flatMap((piece, i): Frame[] => {
    const fin = i === pieces.length - 1;
    const data: Frame = i === 0 ? { ...first, fin, mask: false, payload: piece } : { opcode: 0, fin, rsv: 0, mask: false, payload: piece };
    const after = fin ? undefined : between[i];
    return after === undefined ? [data] : [data, after];
  });
}

/** A valid message: text or binary, cut into fragments with control frames between some of them. */
const message = fc
  .record({
    text: fc.boolean(),
    string: fc.string({ unit: "binary", maxLength: 120 }),
    bytes: fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ maxLength: 300 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 5000, size: "max" }) }),
    cuts: fc.array(fc.nat({ max: 5000 }), { maxLength: 4 }),
    between: fc.array(control, { maxLength: 2 }),
  })
  .map(({ text, string, bytes, cuts, between }) => fragments({ opcode: text ? 1 : 2, rsv: 0 }, text ? Buffer.from(string) : bytes, cuts, between));

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

// ---- The generators with permessage-deflate ------------------------------------------------------

/** A message to compress: its bytes, text or binary, and how the server flushes it. */
interface ToCompress {
  kind: "compressed";
  text: boolean;
  data: Uint8Array;
  /** Z_FINISH (a block with BFINAL set, RFC 7692 §7.2.3.4) instead of Z_SYNC_FLUSH. */
  finish: boolean;
  cuts: number[];
  between: Frame[];
}

const toCompress = fc
  .record({
    text: fc.boolean(),
    // Mostly UTF-8 for text; random bytes are usually not (1007 once inflated).
    utf8: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    string: fc.string({ unit: "binary", maxLength: 120 }),
    bytes: fc.uint8Array({ maxLength: 300 }),
    // Repeated, a message compresses well and can inflate past maxPayload (1009).
    repeat: fc.constantFrom(1, 1, 1, 600),
    finish: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    cuts: fc.array(fc.nat({ max: 400 }), { maxLength: 3 }),
    between: fc.array(control, { maxLength: 2 }),
  })
  .map(({ text, utf8, string, bytes, repeat, finish, cuts, between }): ToCompress => {
    const one = text && utf8 ? Buffer.from(string) : Buffer.from(bytes);
    return { kind: "compressed", text, data: Buffer.concat(Array<Buffer>(repeat).fill(one)), finish, cuts, between };
  });

const deflateSequence = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: toCompress },
      { weight: 3, arbitrary: message },
      { weight: 2, arbitrary: control.map((f) => [f]) },
      // Data that cannot be inflated: BFINAL with the reserved block type 11 (RFC 1951 §3.2.3).
      {
        weight: 1,
        arbitrary: fc.record({ text: fc.boolean(), tail: fc.uint8Array({ maxLength: 20 }) }).map(({ text, tail }): Frame[] => [
          { opcode: text ? 1 : 2, fin: true, rsv: 4, mask: false, payload: Buffer.concat([Buffer.from([0xff]), tail]), inflated: null },
        ]),
      },
      // RSV1 where RFC 7692 §6.1 forbids it: on a continuation, on a control frame.
      { weight: 1, arbitrary: fc.constant<Frame[]>([{ opcode: 1, fin: false, rsv: 0, mask: false, payload: Buffer.from("a") }, { opcode: 0, fin: true, rsv: 4, mask: false, payload: Buffer.from("b") }]) },
      { weight: 1, arbitrary: control.map((f): Frame[] => [{ ...f, rsv: 4 }]) },
      { weight: 1, arbitrary: anyFrame.filter((f) => f.rsv !== 4).map((f) => [f]) },
      { weight: 1, arbitrary: randomText.map((f) => [f]) },
      { weight: 1, arbitrary: closeFrame.map((f) => [f]) },
    ),
    { maxLength: 8 },
  )
  .map((items) => [...items, [{ opcode: 8, fin: true, rsv: 0, mask: false, payload: Buffer.from([0x03, 0xe8]) }]]);

/**
 * The frames of a plan, compressing as a server would: one deflate stream across messages (context
 * takeover) unless `noContextTakeover`, sync-flushed with the 00 00 ff ff tail removed (RFC 7692
 * §7.2.1); a Z_FINISH message ends the stream, so the next one starts a new stream.
 */
async function compressPlan(plan: Array<Frame[] | ToCompress>, noContextTakeover: boolean): Promise<Frame[]> {
  const deflater = zlib.createDeflateRaw();
  const out: Buffer[] = [];
  deflater.on("data", (chunk: Buffer) => out.push(chunk));
  const syncFlush = (data: Uint8Array): Promise<Buffer> =>
    new Promise((resolve) => {
      deflater.write(data);
      deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const all = Buffer.concat(out.splice(0));
        resolve(all.subarray(0, all.length - 4));
      });
    });
  const frames: Frame[] = [];
  for (const item of plan) {
    if (Array.isArray(item)) {
      frames.push(...item);
      continue;
    }
    let payload: Buffer;
    if (item.finish) {
      payload = zlib.deflateRawSync(item.data);
      deflater.reset();
    } else {
      payload = await syncFlush(item.data);
      if (noContextTakeover) deflater.reset();
    }
    frames.push(...fragments({ opcode: item.text ? 1 : 2, rsv: 4, inflated: item.data }, payload, item.cuts, item.between));
  }
  deflater.close();
  return frames;
}

// ---- One run ------------------------------------------------------------------------------------

/**
 * Writes `frames` in pieces cut at `cuts`, one piece per turn of the event loop. (A masked frame
 * gets a key of zeros: the mask bit is what the client must reject.)
 */
async function writeInPieces(socket: net.Socket, frames: Frame[], cuts: number[]): Promise<void> {
  const bytes = Buffer.concat(frames.map((f) => serverFrame(f.opcode, f.payload, { fin: f.fin, rsv: f.rsv, mask: f.mask })));
  for (const piece of cut(bytes, cuts)) {
    if (socket.destroyed) return;
    if (piece.length > 0) socket.write(piece);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** `deflate`: the server agrees to permessage-deflate with this extension header value. */
async function run(frames: Frame[], cuts: number[], deflate?: string): Promise<void> {
  const expected = model(frames, deflate !== undefined);
  let hung = false;
  let reader: FrameReader | undefined;
  const peer = await rawServer({
    respond:
      deflate === undefined
        ? undefined
        : (key) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Extensions: ${deflate}\r\n\r\n`,
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
    const ws = new WebSocket(peer.url, undefined, { maxPayload: MAX_PAYLOAD, perMessageDeflate: deflate !== undefined });
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
    const answered = [...expected.pings, ...expected.laterPings].slice(0, Math.max(pongs.length, expected.pings.length));
    assert.deepEqual(pongs, answered, `pongs — ${context}`);
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

test("the same with permessage-deflate: compressed messages (shared window or not, BFINAL or not), fragmented, mixed with plain ones and faults", { timeout: 300_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(deflateSequence, fc.array(fc.nat({ max: 20_000 }), { maxLength: 12 }), fc.boolean(), async (plan, cuts, noContextTakeover) => {
      const frames = await compressPlan(plan, noContextTakeover);
      await run(frames, cuts, noContextTakeover ? "permessage-deflate; server_no_context_takeover" : "permessage-deflate");
    }),
    { numRuns: 150, interruptAfterTimeLimit: 60_000 },
  );
});

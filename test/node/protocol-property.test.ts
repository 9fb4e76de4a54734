/**
 * Property tests (fast-check): the decoder never throws or stalls on arbitrary bytes and chunkings,
 * decodes valid frame sequences identically under any chunking, and agrees with a model; the
 * UTF-8 validators agree with TextDecoder; the encoder round-trips.
 */
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FrameDecoder } from "../../src/protocol/decoder.js";
import { encodeFrame } from "../../src/protocol/encoder.js";
import { isValidUtf8, Utf8Validator } from "../../src/protocol/utf8.js";
import type { Opcode } from "../../src/protocol/types.js";
import { concat, cut, decode, digest, frame, parseClientFrame, recorder, toHex, utf8, type Event } from "./protocol-helpers.js";

const chunkPoints = fc.array(fc.nat({ max: 100_000 }), { maxLength: 20 });

describe("decoder properties", () => {
  it("arbitrary bytes in arbitrary chunks never throw out of push(), and nothing follows a close or error", { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        chunkPoints,
        fc.record({ allowRsv1: fc.boolean(), maxPayload: fc.integer({ min: 0, max: 500 }), maxFragments: fc.integer({ min: 1, max: 10 }) }),
        (bytes, points, options) => {
          const { handler, events } = recorder();
          const decoder = new FrameDecoder(handler, options);
          for (const chunk of cut(bytes, points)) decoder.push(chunk);
          const terminal = events.findIndex((e) => e[0] === "close" || e[0] === "error");
          if (terminal !== -1) {
            assert.equal(terminal, events.length - 1, "nothing after close or error");
            assert.equal(decoder.closed, true);
          } else {
            assert.equal(decoder.closed, false);
          }
          // The same bytes in one chunk give the same events.
          const whole = decode([bytes], options);
          assert.deepEqual(events, whole);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("frame-shaped garbage (valid headers, random bits and lengths) never throws", { timeout: 120_000 }, () => {
    const rawFrame = fc.record({
      b0: fc.nat({ max: 255 }),
      b1: fc.nat({ max: 255 }),
      extra: fc.uint8Array({ maxLength: 12 }),
      payload: fc.uint8Array({ maxLength: 200 }),
    });
    fc.assert(
      fc.property(fc.array(rawFrame, { maxLength: 8 }), chunkPoints, (frames, points) => {
        const bytes = concat(...frames.map((f) => concat(Uint8Array.of(f.b0, f.b1 & 0x7f), f.extra, f.payload)));
        const chunks = cut(bytes, points);
        const events = decode(chunks, { maxPayload: 1 << 20 });
        assert.deepEqual(events, decode([bytes], { maxPayload: 1 << 20 }));
      }),
      { numRuns: 3000 },
    );
  });

  /** A model message stream: data messages (maybe fragmented, with control frames inside) and pings/pongs. */
  const item = fc.oneof(
    fc.record({
      kind: fc.constant("text" as const),
      text: fc.string({ unit: "binary", maxLength: 60 }),
      cuts: fc.array(fc.nat({ max: 300 }), { maxLength: 4 }),
      interleave: fc.array(fc.uint8Array({ maxLength: 125 }), { maxLength: 2 }),
      form: fc.constantFrom(7, 16, 64),
    }),
    fc.record({
      kind: fc.constant("binary" as const),
      bytes: fc.uint8Array({ maxLength: 300 }),
      cuts: fc.array(fc.nat({ max: 300 }), { maxLength: 4 }),
      interleave: fc.array(fc.uint8Array({ maxLength: 125 }), { maxLength: 2 }),
      form: fc.constantFrom(7, 16, 64),
    }),
    fc.record({ kind: fc.constantFrom("ping" as const, "pong" as const), bytes: fc.uint8Array({ maxLength: 125 }) }),
    // Large messages: fragments over 1 KiB that span chunks take another path (views of retained
    // chunks, copied once per message), and text is cut inside multi-byte characters.
    fc.record({
      kind: fc.constant("text" as const),
      text: fc.string({ unit: "binary", minLength: 1, maxLength: 12 }).map((s) => s.repeat(Math.ceil(4000 / s.length))),
      cuts: fc.array(fc.nat({ max: 40_000 }), { maxLength: 4 }),
      interleave: fc.array(fc.uint8Array({ maxLength: 125 }), { maxLength: 2 }),
      form: fc.constantFrom(7, 16, 64),
    }),
    fc.record({
      kind: fc.constant("binary" as const),
      bytes: fc.uint8Array({ minLength: 1025, maxLength: 6000 }),
      cuts: fc.array(fc.nat({ max: 6000 }), { maxLength: 4 }),
      interleave: fc.array(fc.uint8Array({ maxLength: 125 }), { maxLength: 2 }),
      form: fc.constantFrom(7, 16, 64),
    }),
  );

  it("valid frame sequences decode to the model's events under any chunking", { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 10 }), chunkPoints, fc.boolean(), fc.boolean(), fc.boolean(), (items, points, retainChunks, native, dirty) => {
        const frames: Uint8Array[] = [];
        const expected: Event[] = [];
        for (const it of items) {
          if (!("cuts" in it)) {
            frames.push(frame({ opcode: it.kind === "ping" ? 9 : 10, payload: it.bytes }));
            expected.push([it.kind, toHex(it.bytes)]);
            continue;
          }
          const payload = it.kind === "text" ? utf8(it.text) : it.bytes;
          const pieces = cut(payload, it.cuts);
          const pongs = it.interleave.slice(0, Math.max(0, pieces.length - 1));
          pieces.forEach((piece, i) => {
            const form = it.form === 7 ? undefined : it.form === 16 && piece.length > 65535 ? undefined : it.form;
            frames.push(frame({ opcode: i === 0 ? (it.kind === "text" ? 1 : 2) : 0, fin: i === pieces.length - 1, payload: piece, lengthForm: form }));
            const control = pongs[i];
            if (control !== undefined && i < pieces.length - 1) {
              frames.push(frame({ opcode: 10, payload: control }));
              expected.push(["pong", toHex(control)]);
            }
          });
          expected.push(["message", it.kind, false, digest(payload)]);
        }
        const bytes = concat(...frames);
        // A dirty allocator (like Buffer.allocUnsafe) must not leak its garbage into messages.
        const allocate = dirty ? (size: number) => new Uint8Array(size).fill(0xee) : undefined;
        assert.deepEqual(decode(cut(bytes, points), { retainChunks, validateUtf8: native ? isUtf8 : undefined, allocate }), expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("UTF-8 properties", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const valid = (bytes: Uint8Array): boolean => {
    try {
      fatal.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };

  it("isValidUtf8 and the streaming validator under any split agree with TextDecoder fatal on random bytes", () => {
    // Bytes biased towards UTF-8 structure so that valid and almost-valid inputs are frequent.
    const byte = fc.oneof(fc.nat({ max: 0x7f }), fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0xc0, max: 0xff }));
    const bytes = fc.oneof(
      fc.array(byte, { maxLength: 40 }).map((a) => Uint8Array.from(a)),
      fc.array(byte, { minLength: 120, maxLength: 400 }).map((a) => Uint8Array.from(a)),
      fc.tuple(fc.string({ unit: "binary", minLength: 60, maxLength: 200 }), fc.nat(), fc.nat({ max: 255 })).map(([s, at, b]) => {
        const u = utf8(s);
        if (at % 2 === 0) u[at % u.length] = b;
        return u;
      }),
      fc.string({ unit: "binary", maxLength: 30 }).map(utf8),
      fc.tuple(fc.string({ unit: "binary", maxLength: 20 }), fc.nat(), fc.nat({ max: 255 })).map(([s, at, b]) => {
        const u = utf8(s);
        if (u.length > 0) u[at % u.length] = b;
        return u;
      }),
    );
    fc.assert(
      fc.property(bytes, chunkPoints, fc.boolean(), (input, points, native) => {
        const expected = valid(input);
        assert.equal(isValidUtf8(input), expected);
        const validator = new Utf8Validator(native ? isUtf8 : undefined);
        const chunks = cut(input, points);
        let ok = true;
        for (let i = 0; i < chunks.length && ok; i++) ok = validator.push(chunks[i]!, i === chunks.length - 1);
        assert.equal(ok, expected);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("encoder properties", () => {
  it("any payload and flags round-trip through the test-side unmasker; the caller's bytes are untouched unless owned", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.nat({ max: 7 }),
        fc.constantFrom(0, 1, 2),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (data, offset, opcode, fin, rsv1, owned) => {
          const buffer = new Uint8Array(data.length + offset);
          buffer.set(data, offset);
          const payload = buffer.subarray(offset);
          const [header, masked] = encodeFrame(opcode as Opcode, payload, { fin, rsv1, owned });
          const parsed = parseClientFrame(concat(header, masked));
          assert.equal(parsed.masked, true);
          assert.equal(parsed.fin, fin);
          assert.equal(parsed.rsv1, rsv1);
          assert.equal(parsed.opcode, opcode);
          assert.equal(digest(parsed.payload), digest(data));
          if (!owned) assert.equal(digest(payload), digest(data));
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * Frame vectors (RFC 6455 §5.7 and length forms) fed to the decoder whole, byte by byte and split
 * at every point; encoder output checked bit by bit and round-tripped through the decoder.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Buffer } from "node:buffer";
import { isResilientError } from "../../src/errors.js";
import { FrameDecoder } from "../../src/protocol/decoder.js";
import { encodeClosePayload, encodeFrame, encodeFrameBytes, encodeTextFrame } from "../../src/protocol/encoder.js";
import { applyMask, maskWithKeyAt, nextMaskKey, writeMaskKey } from "../../src/protocol/mask.js";
import { Opcode } from "../../src/protocol/types.js";
import {
  asServerFrame,
  assertEverySplit,
  concat,
  decode,
  digest,
  frame,
  hex,
  OPTIONS,
  parseClientFrame,
  recorder,
  toHex,
  utf8,
  type Event,
} from "./protocol-helpers.js";

const HELLO = toHex(utf8("Hello"));

function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >>> 8)) & 0xff;
  return bytes;
}

describe("RFC 6455 §5.7 examples at every split point", () => {
  it('single-frame unmasked text "Hello" (810548656c6c6f)', () => {
    assertEverySplit(hex("810548656c6c6f"), [["message", "text", false, HELLO]]);
  });

  it("single-frame masked text is refused from a server (818537fa213d7f9f4d5158, §5.1)", () => {
    assertEverySplit(hex("818537fa213d7f9f4d5158"), [["error", "ERR_PROTOCOL", 1002]]);
  });

  it("the masked example unmasks to Hello (test-side parser agrees with §5.7)", () => {
    const parsed = parseClientFrame(hex("818537fa213d7f9f4d5158"));
    assert.equal(toHex(parsed.payload), HELLO);
    assert.equal(toHex(parsed.key), "37fa213d");
  });

  it("fragmented unmasked text (010348656c + 80026c6f)", () => {
    assertEverySplit(hex("010348656c80026c6f"), [["message", "text", false, HELLO]]);
  });

  it("unmasked ping and pong carrying Hello (890548656c6c6f, 8a0548656c6c6f)", () => {
    assertEverySplit(hex("890548656c6c6f"), [["ping", HELLO]]);
    assertEverySplit(hex("8a0548656c6c6f"), [["pong", HELLO]]);
  });

  it("ping between the two fragments of Hello", () => {
    assertEverySplit(hex("010348656c 890548656c6c6f 80026c6f"), [
      ["ping", HELLO],
      ["message", "text", false, HELLO],
    ]);
  });

  it("256 bytes of binary in one unmasked frame (827e0100 + data)", () => {
    const data = pattern(256);
    const bytes = concat(hex("827e0100"), data);
    assertEverySplit(bytes, [["message", "binary", false, digest(data)]]);
  });

  it("64 KiB of binary in one unmasked frame (827f0000000000010000 + data)", () => {
    const data = pattern(65536);
    const bytes = concat(hex("827f0000000000010000"), data);
    assertEverySplit(bytes, [["message", "binary", false, digest(data)]]);
  });

  it("several frames in one chunk, then the close", () => {
    const bytes = hex("810548656c6c6f 8200 8a00 810548656c6c6f 880203e8");
    assertEverySplit(bytes, [
      ["message", "text", false, HELLO],
      ["message", "binary", false, ""],
      ["pong", ""],
      ["message", "text", false, HELLO],
      ["close", 1000, ""],
    ]);
  });
});

describe("length encodings (RFC 6455 §5.2)", () => {
  for (const length of [0, 1, 125, 126, 127, 128, 65535, 65536, 65537, 300_000]) {
    it(`binary payload of ${length} bytes in chunks of 1, 7, 1000 and whole`, () => {
      const data = pattern(length);
      const bytes = frame({ opcode: 2, payload: data });
      const expected: Event[] = [["message", "binary", false, digest(data)]];
      assert.deepEqual(decode([bytes]), expected);
      if (length <= 65536) assert.deepEqual(decode(chunks(bytes, 1)), expected);
      assert.deepEqual(decode(chunks(bytes, 7)), expected);
      assert.deepEqual(decode(chunks(bytes, 1000)), expected);
    });
  }

  it("a non-minimal 16-bit length for a short payload is accepted (senders' duty only)", () => {
    assertEverySplit(frame({ opcode: 1, payload: utf8("Hello"), lengthForm: 16 }), [["message", "text", false, HELLO]]);
  });

  it("a non-minimal 64-bit length for a short payload is accepted", () => {
    assertEverySplit(frame({ opcode: 1, payload: utf8("Hello"), lengthForm: 64 }), [["message", "text", false, HELLO]]);
  });
});

function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

describe("views and copies", () => {
  it("a message inside one chunk is a view of that chunk (no copy)", () => {
    const bytes = hex("810548656c6c6f");
    let seen: Uint8Array | undefined;
    const decoder = new FrameDecoder({ ...recorder().handler, onMessage: (data) => (seen = data) }, OPTIONS);
    decoder.push(bytes);
    assert.ok(seen);
    assert.equal(seen.buffer, bytes.buffer);
    assert.equal(seen.byteOffset, 2);
  });

  it("onMessage says whether data is the decoder's own buffer (owned) or a view of the chunk", () => {
    const seen: Array<[number, boolean | undefined]> = [];
    const owner = (options: Partial<typeof OPTIONS> = {}) =>
      new FrameDecoder({ ...recorder().handler, onMessage: (data, _t, _c, owned) => seen.push([data.length, owned]) }, { ...OPTIONS, ...options });
    owner().push(hex("810548656c6c6f"));
    const big = frame({ opcode: 2, payload: pattern(3000) });
    const spanning = owner();
    spanning.push(big.subarray(0, 100));
    spanning.push(big.subarray(100));
    owner().push(hex("010348656c 80026c6f"));
    const large = concat(frame({ opcode: 2, fin: false, payload: pattern(2000) }), frame({ opcode: 0 }));
    owner({ retainChunks: true }).push(large);
    owner({ retainChunks: false }).push(large);
    owner().push(concat(frame({ opcode: 2, fin: false }), frame({ opcode: 0 })));
    assert.deepEqual(seen, [
      [5, false],
      [3000, true],
      [5, true],
      [2000, false],
      [2000, true],
      [0, true],
    ]);
  });

  /**
   * Push `chunks` into a decoder whose allocations, chunks and messages are logged in order; returns
   * the log and the last message.
   */
  function copyLog(chunks: Uint8Array[], retainChunks: boolean): { log: string[]; seen: Uint8Array | undefined } {
    const log: string[] = [];
    let seen: Uint8Array | undefined;
    const decoder = new FrameDecoder(
      { ...recorder().handler, onMessage: (data, _t, _c, owned) => ((seen = data), log.push(`message ${data.length} owned=${owned}`)) },
      { ...OPTIONS, retainChunks, allocate: (size) => (log.push(`allocate ${size}`), new Uint8Array(size)) },
    );
    chunks.forEach((chunk, i) => (log.push(`chunk ${i}`), decoder.push(chunk)));
    return { log, seen };
  }

  it("a frame spanning chunks is copied once: with retainChunks when its last byte arrives, without it up front", () => {
    const payload = pattern(200_000);
    const big = frame({ opcode: 2, payload });
    const chunks = [big.subarray(0, 100), big.subarray(100, 65_546), big.subarray(65_546, 131_082), big.subarray(131_082)];
    for (const retainChunks of [true, false]) {
      const { log, seen } = copyLog(chunks, retainChunks);
      assert.deepEqual(
        log,
        retainChunks
          ? ["chunk 0", "chunk 1", "chunk 2", "chunk 3", "allocate 200000", "message 200000 owned=true"]
          : ["chunk 0", "allocate 200000", "chunk 1", "chunk 2", "chunk 3", "message 200000 owned=true"],
      );
      assert.ok(seen !== undefined && Buffer.from(seen).equals(Buffer.from(payload)));
      assert.ok(seen.buffer !== big.buffer);
    }
  });

  it("with retainChunks, a frame over 4 MiB still gets its buffer at the first part (views would double its peak memory)", () => {
    const payload = pattern(5 * 1024 * 1024);
    const big = frame({ opcode: 2, payload });
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < big.length; at += 65_536) chunks.push(big.subarray(at, at + 65_536));
    const { log, seen } = copyLog(chunks, true);
    assert.deepEqual(log.slice(0, 2), ["chunk 0", "allocate 5242880"]);
    assert.deepEqual(log.filter((entry) => !entry.startsWith("chunk")), ["allocate 5242880", "message 5242880 owned=true"]);
    assert.ok(seen !== undefined && Buffer.from(seen).equals(Buffer.from(payload)));
  });

  it("with retainChunks, a frame trickled in tiny reads is gathered into one buffer early, not kept as a view per read", () => {
    const payload = pattern(100_000);
    const big = frame({ opcode: 2, payload });
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < big.length; at += 100) chunks.push(big.slice(at, at + 100));
    const { log, seen } = copyLog(chunks, true);
    assert.deepEqual(log.slice(0, 4), ["chunk 0", "chunk 1", "chunk 2", "allocate 100000"]);
    assert.deepEqual(log.filter((entry) => !entry.startsWith("chunk")), ["allocate 100000", "message 100000 owned=true"]);
    assert.ok(seen !== undefined && Buffer.from(seen).equals(Buffer.from(payload)));
  });

  it("with retainChunks, large fragments spanning chunks are kept as views and the message is copied once", () => {
    const payload = pattern(200_000);
    const stream = concat(frame({ opcode: 2, fin: false, payload: payload.subarray(0, 90_000) }), frame({ opcode: 0, payload: payload.subarray(90_000) }));
    const chunks = [stream.subarray(0, 70_000), stream.subarray(70_000, 140_000), stream.subarray(140_000)];
    for (const retainChunks of [true, false]) {
      const { log, seen } = copyLog(chunks, retainChunks);
      assert.deepEqual(
        log,
        retainChunks
          ? ["chunk 0", "chunk 1", "chunk 2", "allocate 200000", "message 200000 owned=true"]
          : ["chunk 0", "allocate 90000", "chunk 1", "allocate 110000", "chunk 2", "allocate 200000", "message 200000 owned=true"],
      );
      assert.ok(seen !== undefined && Buffer.from(seen).equals(Buffer.from(payload)));
    }
  });

  it("an owner with onText gets unfragmented uncompressed text as a range, at every split point; the rest still via onMessage", () => {
    const text = "Hello ✓ 👋";
    const input = concat(
      frame({ opcode: 1, payload: utf8(text) }),
      frame({ opcode: 1, fin: false, payload: utf8("frag") }),
      frame({ opcode: 0, payload: utf8("ment") }),
      frame({ opcode: 2, payload: utf8("bin") }),
      frame({ opcode: 1, rsv1: true, payload: Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00) }),
      frame({ opcode: 1, payload: new Uint8Array(0) }),
      frame({ opcode: 1, payload: utf8("x".repeat(300)) }),
    );
    const run = (chunks: Uint8Array[]): string[] => {
      const seen: string[] = [];
      const decoder = new FrameDecoder(
        {
          ...recorder().handler,
          onText: (source, start, end) => seen.push(`range ${new TextDecoder().decode(source.subarray(start, end))}`),
          onMessage: (data, isText, compressed) => seen.push(`message ${isText ? "text" : "binary"}${compressed ? " compressed" : ""} ${toHex(data)}`),
        },
        { ...OPTIONS, allowRsv1: true },
      );
      for (const chunk of chunks) {
        const copy = chunk.slice();
        decoder.push(copy);
        copy.fill(0xee);
      }
      return seen;
    };
    const expected = [
      `range ${text}`,
      `message text ${toHex(utf8("fragment"))}`,
      `message binary ${toHex(utf8("bin"))}`,
      "message text compressed f248cdc9c90700",
      "range ",
      `range ${"x".repeat(300)}`,
    ];
    assert.deepEqual(run([input]), expected);
    for (let split = 0; split <= input.length; split++) {
      assert.deepEqual(run([input.subarray(0, split), input.subarray(split)]), expected, `split at ${split}`);
    }
  });

  it("retainChunks keeps fragment views of earlier chunks and still assembles correctly", () => {
    const bytes = hex("010348656c 80026c6f");
    assert.deepEqual(decode(chunks(bytes, 5), { retainChunks: true }), [["message", "text", false, HELLO]]);
  });

  it("without retainChunks, a fragment survives its chunk being overwritten", () => {
    // decode() overwrites every chunk after push(): the first fragment must have been copied.
    assert.deepEqual(decode([hex("010348656c"), hex("80026c6f")]), [["message", "text", false, HELLO]]);
  });

  it("without retainChunks, a large fragment survives its chunk being overwritten when chunks are Node Buffers", () => {
    // Buffer#slice() is a view, not a copy: the decoder must copy fragments over 1 KiB itself.
    const first = pattern(5000);
    const second = pattern(3000).reverse();
    const reused = Buffer.alloc(6000);
    const { handler, events } = recorder();
    const decoder = new FrameDecoder(handler, OPTIONS);
    for (const bytes of [frame({ opcode: 2, fin: false, payload: first }), frame({ opcode: 0, payload: second })]) {
      reused.fill(0xee);
      reused.set(bytes);
      decoder.push(reused.subarray(0, bytes.length));
    }
    assert.deepEqual(events, [["message", "binary", false, digest(concat(first, second))]]);
  });

  it("allocate is used for frames spanning chunks and for reassembly, and its garbage never shows", () => {
    const sizes: number[] = [];
    const allocate = (size: number) => {
      sizes.push(size);
      return new Uint8Array(size).fill(0xee);
    };
    const data = pattern(1000);
    assert.deepEqual(decode([frame({ opcode: 2, payload: data }).subarray(0, 500), frame({ opcode: 2, payload: data }).subarray(500)], { allocate }), [
      ["message", "binary", false, digest(data)],
    ]);
    assert.deepEqual(sizes, [1000]);
    sizes.length = 0;
    // Small fragments are gathered in one buffer (1 KiB first), capped by what maxPayload allows.
    assert.deepEqual(decode([hex("010348656c 80026c6f")], { allocate }), [["message", "text", false, HELLO]]);
    assert.deepEqual(sizes, [1024]);
    sizes.length = 0;
    assert.deepEqual(decode([hex("010348656c 80026c6f")], { allocate, maxPayload: 10 }), [["message", "text", false, HELLO]]);
    assert.deepEqual(sizes, [10]);
  });

  it("a close reason does not keep a view of the chunk", () => {
    const bytes = frame({ opcode: 8, payload: concat(hex("03e8"), utf8("bye")) });
    let reason = "";
    const decoder = new FrameDecoder({ ...recorder().handler, onClose: (_code, r) => (reason = r) }, OPTIONS);
    decoder.push(bytes);
    bytes.fill(0);
    assert.equal(reason, "bye");
  });
});

describe("encoder (RFC 6455 §5.2, §5.3)", () => {
  it("masks every client frame with a fresh key and sets the bits it was asked to", () => {
    const payload = utf8("Hello");
    const [header, masked] = encodeFrame(Opcode.Text, payload);
    const parsed = parseClientFrame(concat(header, masked));
    assert.equal(parsed.fin, true);
    assert.equal(parsed.rsv1, false);
    assert.equal(parsed.opcode, 1);
    assert.equal(parsed.masked, true);
    assert.equal(toHex(parsed.payload), HELLO);
    assert.equal(toHex(payload), HELLO, "caller's bytes untouched");

    const [h2] = encodeFrame(Opcode.Binary, payload, { fin: false, rsv1: true });
    assert.equal(h2[0], 0x42);
  });

  it("uses 7-bit, 16-bit and 64-bit lengths at the boundaries", () => {
    for (const [length, headerLength, code] of [[125, 6, 125], [126, 8, 126], [65535, 8, 126], [65536, 14, 127]] as const) {
      const [header] = encodeFrame(Opcode.Binary, new Uint8Array(length));
      assert.equal(header.length, headerLength, `length ${length}`);
      assert.equal(header[1]! & 0x7f, code);
      assert.equal(parseClientFrame(concat(header, new Uint8Array(length))).length, length);
    }
  });

  it("owned: true masks the caller's buffer in place and returns it", () => {
    const payload = pattern(1000);
    const [header, masked] = encodeFrame(Opcode.Binary, payload, { owned: true });
    assert.equal(masked, payload);
    assert.equal(digest(parseClientFrame(concat(header, masked)).payload), digest(pattern(1000)));
  });

  it("payload views at every alignment are masked correctly and left unchanged", () => {
    const base = pattern(300);
    for (let offset = 0; offset < 8; offset++) {
      for (const length of [0, 1, 3, 4, 5, 31, 32, 33, 100, 257]) {
        const view = base.subarray(offset, offset + length);
        const before = toHex(view);
        const [header, masked] = encodeFrame(Opcode.Binary, view);
        assert.equal(toHex(parseClientFrame(concat(header, masked)).payload), before, `offset ${offset} length ${length}`);
        assert.equal(toHex(view), before);
      }
    }
  });

  it("encodeFrameBytes and encodeTextFrame produce one complete masked frame", () => {
    for (const text of ["", "Hello", "héllo wörld ✓ 😀", "x".repeat(200), "é".repeat(40_000), "a".repeat(70_000)]) {
      const parsed = parseClientFrame(encodeTextFrame(text));
      assert.equal(parsed.opcode, 1);
      assert.equal(parsed.masked, true);
      assert.equal(new TextDecoder().decode(parsed.payload), text);
      const bytes = parseClientFrame(encodeFrameBytes(Opcode.Binary, utf8(text)));
      assert.equal(new TextDecoder().decode(bytes.payload), text);
    }
  });

  it("refuses control frames over 125 bytes, fragmented or with RSV1 (§5.5)", () => {
    for (const attempt of [
      () => encodeFrame(Opcode.Ping, new Uint8Array(126)),
      () => encodeFrame(Opcode.Close, new Uint8Array(200)),
      () => encodeFrame(Opcode.Pong, new Uint8Array(1), { fin: false }),
      () => encodeFrame(Opcode.Ping, new Uint8Array(1), { rsv1: true }),
      () => encodeFrameBytes(Opcode.Ping, new Uint8Array(126)),
      () => encodeFrame(3 as Opcode, new Uint8Array(1)),
    ]) {
      assert.throws(attempt, (error: unknown) => isResilientError(error) && error.code === "ERR_INVALID_ARGUMENT");
    }
    assert.equal(encodeFrame(Opcode.Ping, new Uint8Array(125))[0].length, 6);
  });

  it("mask keys are 4 bytes, vary, and survive pool refills", () => {
    const keys = new Set<string>();
    for (let i = 0; i < 3000; i++) keys.add(toHex(nextMaskKey()));
    assert.ok(keys.size > 2900, `only ${keys.size} distinct keys of 3000`);
    for (const key of keys) assert.equal(key.length, 8);
  });

  it("writeMaskKey and maskWithKeyAt use a key stored inside another buffer (a frame header)", () => {
    const header = new Uint8Array(10);
    writeMaskKey(header, 3);
    const key = header.slice(3, 7);
    const source = pattern(300);
    const viaHeader = new Uint8Array(300);
    const viaKey = new Uint8Array(300);
    maskWithKeyAt(source, header, 3, viaHeader, 0);
    applyMask(source, key, viaKey, 0);
    assert.equal(toHex(viaHeader), toHex(viaKey));
  });

  it("applyMask is its own inverse at every offset and length (32-bit and byte paths)", () => {
    const key = hex("37fa213d");
    for (let offset = 0; offset < 10; offset++) {
      for (const length of [0, 1, 2, 3, 4, 7, 31, 32, 33, 64, 65, 127, 128, 129, 135, 136, 1027]) {
        const source = pattern(length);
        const target = new Uint8Array(length + 9);
        applyMask(source, key, target, offset);
        for (let i = 0; i < length; i++) assert.equal(target[offset + i], source[i]! ^ key[i & 3]!);
        const region = target.subarray(offset, offset + length);
        applyMask(region, key, target, offset);
        assert.equal(toHex(region), toHex(source), `in place at offset ${offset}, length ${length}`);
      }
    }
  });
});

describe("maskWithKeyAt: one-pass word XOR (same alignment) and copy-then-mask (different alignment)", () => {
  it("masks correctly for every source and target offset mod 8, touching nothing outside the target region", () => {
    const key = hex("37fa213d");
    const lengths = [127, 128, 129, 130, 135, 136, 137, 143, 1000, 1027, 4099];
    for (let sourceOffset = 0; sourceOffset < 8; sourceOffset++) {
      for (let targetOffset = 0; targetOffset < 8; targetOffset++) {
        for (const length of lengths) {
          const base = pattern(length + 8);
          const source = base.subarray(sourceOffset, sourceOffset + length);
          const before = toHex(source);
          // The key sits inside the target buffer, before the payload, as in a frame header.
          const target = new Uint8Array(length + 24).fill(0xee);
          target.set(key, 2);
          const at = 8 + targetOffset;
          maskWithKeyAt(source, target, 2, target, at);
          const where = `source offset ${sourceOffset}, target offset ${targetOffset}, length ${length}`;
          for (let i = 0; i < length; i++) {
            if (target[at + i] !== (source[i]! ^ key[i & 3]!)) assert.fail(`byte ${i} wrong: ${where}`);
          }
          assert.equal(toHex(target.subarray(2, 6)), "37fa213d", `key intact: ${where}`);
          for (const i of [0, 1, 6, 7, at + length, target.length - 1]) {
            if (i >= 6 && i < at) continue;
            assert.equal(target[i], 0xee, `byte ${i} outside the payload changed: ${where}`);
          }
          assert.equal(toHex(source), before, `source untouched: ${where}`);
        }
      }
    }
  });

  it("in place at every offset mod 8 (the source is the target region)", () => {
    const key = hex("0badf00d");
    for (let offset = 0; offset < 8; offset++) {
      for (const length of [128, 131, 1029]) {
        const buffer = new Uint8Array(length + 16);
        buffer.set(pattern(length), offset);
        const region = buffer.subarray(offset, offset + length);
        maskWithKeyAt(region, key, 0, buffer, offset);
        const expected = pattern(length);
        for (let i = 0; i < length; i++) expected[i] = expected[i]! ^ key[i & 3]!;
        assert.equal(toHex(region), toHex(expected), `offset ${offset} length ${length}`);
      }
    }
  });
});

describe("close payloads (RFC 6455 §5.5.1, §7.4)", () => {
  it("encodes code and reason, and nothing without a code", () => {
    assert.equal(toHex(encodeClosePayload(1000)), "03e8");
    assert.equal(toHex(encodeClosePayload(4000, "bye")), "0fa0" + toHex(utf8("bye")));
    assert.equal(encodeClosePayload().length, 0);
    assert.equal(toHex(encodeClosePayload(1001, "")), "03e9");
  });

  it("refuses codes that may not be sent, a reason without code, and reasons over 123 bytes", () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5]) {
      assert.throws(() => encodeClosePayload(code), (e: unknown) => isResilientError(e) && e.code === "ERR_INVALID_ARGUMENT", `code ${code}`);
    }
    assert.throws(() => encodeClosePayload(undefined, "why"));
    assert.throws(() => encodeClosePayload(1000, "é".repeat(62)));
    assert.equal(encodeClosePayload(1000, "é".repeat(61) + "a").length, 2 + 123);
  });
});

describe("round trips: encoder → (test-side unmask) → decoder", () => {
  const cases: Array<[string, () => Uint8Array[], Event[]]> = [
    ["text", () => [concat(...encodeFrame(Opcode.Text, utf8("héllo")))], [["message", "text", false, toHex(utf8("héllo"))]]],
    ["empty binary", () => [concat(...encodeFrame(Opcode.Binary, new Uint8Array(0)))], [["message", "binary", false, ""]]],
    [
      "1000-byte binary (16-bit length)",
      () => [concat(...encodeFrame(Opcode.Binary, pattern(1000)))],
      [["message", "binary", false, digest(pattern(1000))]],
    ],
    [
      "three fragments with a ping in the middle",
      () => [
        concat(...encodeFrame(Opcode.Text, utf8("ab"), { fin: false })),
        concat(...encodeFrame(Opcode.Continuation, utf8("cd"), { fin: false })),
        concat(...encodeFrame(Opcode.Ping, utf8("p"))),
        concat(...encodeFrame(Opcode.Continuation, utf8("ef"))),
      ],
      [["ping", toHex(utf8("p"))], ["message", "text", false, toHex(utf8("abcdef"))]],
    ],
    [
      "compressed flag with allowRsv1",
      () => [concat(...encodeFrame(Opcode.Binary, hex("0102"), { rsv1: true }))],
      [["message", "binary", true, "0102"]],
    ],
    ["close with reason", () => [concat(...encodeFrame(Opcode.Close, encodeClosePayload(4001, "done")))], [["close", 4001, "done"]]],
  ];
  for (const [name, build, expected] of cases) {
    it(name, () => {
      const stream = concat(...build().map(asServerFrame));
      assertEverySplit(stream, expected, { allowRsv1: true });
    });
  }

  it("300 000-byte binary (64-bit length) whole and in 1000-byte chunks", () => {
    const data = pattern(300_000);
    const stream = asServerFrame(concat(...encodeFrame(Opcode.Binary, data)));
    const expected: Event[] = [["message", "binary", false, digest(data)]];
    assert.deepEqual(decode([stream]), expected);
    assert.deepEqual(decode(chunks(stream, 1000)), expected);
  });
});

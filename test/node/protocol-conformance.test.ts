/**
 * Decoder conformance by RFC section, covering at the codec level what Autobahn|Testsuite groups
 * 1 (framing), 2 (ping/pong), 3 (reserved bits), 4 (opcodes), 5 (fragmentation), 6 (UTF-8),
 * 7 (close), 9 (limits and large messages) and 10 (fragmented large messages) check. Every
 * violation must surface through onProtocolError with the close code to send, never as a throw.
 */
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { describe, it } from "node:test";
import { FrameDecoder } from "../../src/protocol/decoder.js";
import { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_PAYLOAD } from "../../src/protocol/constants.js";
import { isValidCloseCode, parseClosePayload } from "../../src/protocol/close.js";
import { isResilientError } from "../../src/errors.js";
import {
  assertEverySplit,
  chunked,
  concat,
  decode,
  digest,
  frame,
  hex,
  OPTIONS,
  recorder,
  toHex,
  utf8,
  type Event,
} from "./protocol-helpers.js";

const PROTOCOL: Event = ["error", "ERR_PROTOCOL", 1002];
const INVALID_CLOSE: Event = ["error", "ERR_INVALID_CLOSE", 1002];
const BAD_UTF8: Event = ["error", "ERR_INVALID_UTF8", 1007];
const TOO_BIG: Event = ["error", "ERR_PAYLOAD_TOO_BIG", 1009];

const text = (s: string | Uint8Array): Event => ["message", "text", false, digest(typeof s === "string" ? utf8(s) : s)];
const binary = (b: Uint8Array): Event => ["message", "binary", false, digest(b)];
const hello = frame({ opcode: 1, payload: utf8("Hello") });

function bytesOf(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 13 + seed) & 0xff;
  return out;
}

function asciiOf(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = 0x61 + (i % 26);
  return out;
}

describe("RFC 6455 §5.2 base framing (Autobahn 1.x, 3.x, 4.x)", () => {
  it("1.1/1.2: text and binary of lengths 0, 125..128, 65535, 65536, at every split for small ones", () => {
    for (const length of [0, 125, 126, 127, 128]) {
      assertEverySplit(frame({ opcode: 1, payload: asciiOf(length) }), [text(asciiOf(length))]);
      assertEverySplit(frame({ opcode: 2, payload: bytesOf(length) }), [binary(bytesOf(length))]);
    }
    for (const length of [65535, 65536]) {
      const payload = bytesOf(length);
      assert.deepEqual(decode(chunked(frame({ opcode: 2, payload }), [997])), [binary(payload)]);
      assert.deepEqual(decode(chunked(frame({ opcode: 1, payload: asciiOf(length) }), [1, 2, 3])), [text(asciiOf(length))]);
    }
  });

  it("1.1.8/1.2.8: 65536-byte messages in 997-byte chunks", () => {
    const payload = asciiOf(65536);
    assert.deepEqual(decode(chunked(frame({ opcode: 1, payload }), [997])), [text(payload)]);
  });

  for (const [name, bits] of [
    ["RSV1", { rsv1: true }],
    ["RSV2", { rsv2: true }],
    ["RSV3", { rsv3: true }],
    ["RSV1+RSV2", { rsv1: true, rsv2: true }],
    ["RSV1+RSV3", { rsv1: true, rsv3: true }],
    ["RSV2+RSV3", { rsv2: true, rsv3: true }],
    ["RSV1+RSV2+RSV3", { rsv1: true, rsv2: true, rsv3: true }],
  ] as const) {
    it(`3.x: ${name} set without an extension fails with 1002, after earlier frames are delivered`, () => {
      assertEverySplit(concat(hello, frame({ opcode: 1, payload: utf8("x"), ...bits }), hello), [text("Hello"), PROTOCOL]);
      assertEverySplit(frame({ opcode: 2, payload: bytesOf(3), ...bits }), [PROTOCOL]);
      assertEverySplit(frame({ opcode: 9, payload: utf8("p"), ...bits }), [PROTOCOL]);
      assertEverySplit(frame({ opcode: 8, payload: hex("03e8"), ...bits }), [PROTOCOL]);
    });
  }

  it("RFC 7692 §6: RSV1 with allowRsv1 marks the message compressed; RSV2/RSV3 still fail", () => {
    assertEverySplit(frame({ opcode: 1, rsv1: true, payload: hex("f248cdc9c90700") }), [["message", "text", true, "f248cdc9c90700"]], {
      allowRsv1: true,
    });
    assertEverySplit(frame({ opcode: 1, rsv2: true, payload: utf8("x") }), [PROTOCOL], { allowRsv1: true });
    assertEverySplit(frame({ opcode: 2, rsv3: true, payload: utf8("x") }), [PROTOCOL], { allowRsv1: true });
  });

  it("RFC 7692 §6: RSV1 on a control frame or a continuation frame fails even with allowRsv1", () => {
    assertEverySplit(frame({ opcode: 9, rsv1: true }), [PROTOCOL], { allowRsv1: true });
    assertEverySplit(frame({ opcode: 8, rsv1: true, payload: hex("03e8") }), [PROTOCOL], { allowRsv1: true });
    const bytes = concat(frame({ opcode: 1, rsv1: true, fin: false, payload: hex("f248") }), frame({ opcode: 0, rsv1: true, payload: hex("cd") }));
    assertEverySplit(bytes, [PROTOCOL], { allowRsv1: true });
    // Compressed text is not UTF-8 validated by the codec: the owner inflates first.
    const ok = concat(frame({ opcode: 1, rsv1: true, fin: false, payload: hex("f248ff") }), frame({ opcode: 0, payload: hex("cdc9c90700") }));
    assertEverySplit(ok, [["message", "text", true, "f248ffcdc9c90700"]], { allowRsv1: true });
  });

  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    it(`4.x: reserved opcode 0x${opcode.toString(16)} fails with 1002 (empty, with payload, after a valid frame)`, () => {
      assertEverySplit(frame({ opcode }), [PROTOCOL]);
      assertEverySplit(frame({ opcode, payload: utf8("reserved") }), [PROTOCOL]);
      assertEverySplit(concat(hello, frame({ opcode, payload: utf8("x") }), frame({ opcode: 9 })), [text("Hello"), PROTOCOL]);
    });
  }

  it("§5.1: a masked frame from the server fails with 1002", () => {
    const key = hex("37fa213d");
    assertEverySplit(frame({ opcode: 1, payload: utf8("Hello"), mask: key }), [PROTOCOL]);
    assertEverySplit(frame({ opcode: 9, mask: key }), [PROTOCOL]);
    assertEverySplit(concat(hello, frame({ opcode: 2, payload: bytesOf(200), mask: key })), [text("Hello"), PROTOCOL]);
  });

  it("§5.2: a 64-bit length with its most significant bit set fails with 1002", () => {
    const bytes = frame({ opcode: 2, payload: bytesOf(3), lengthForm: 64, lengthHigh: 0x80000000 });
    assertEverySplit(bytes.subarray(0, 10), [PROTOCOL]);
  });

  it("an exception thrown by a handler reaches the caller of push() and stops the decoder", () => {
    const boom = new Error("listener failed");
    const { handler, events } = recorder();
    const decoder = new FrameDecoder(
      {
        ...handler,
        onMessage: () => {
          throw boom;
        },
      },
      OPTIONS,
    );
    assert.throws(() => decoder.push(concat(hello, hello)), (error: unknown) => error === boom);
    assert.equal(decoder.closed, true);
    decoder.push(frame({ opcode: 9 }));
    assert.deepEqual(events, []);
  });

  it("a failing allocator is reported as an internal error (1011), never thrown", () => {
    const allocate = (): Uint8Array => {
      throw new RangeError("Array buffer allocation failed");
    };
    const bytes = frame({ opcode: 2, payload: bytesOf(1000) });
    assert.deepEqual(decode([bytes.subarray(0, 10), bytes.subarray(10)], { allocate }), [["error", "ERR_PROTOCOL", 1011]]);
  });

  it("after a protocol error, further input is ignored and push() keeps returning quietly", () => {
    const { handler, events } = recorder();
    const decoder = new FrameDecoder(handler, OPTIONS);
    decoder.push(frame({ opcode: 3 }));
    assert.equal(decoder.closed, true);
    decoder.push(hello);
    decoder.push(frame({ opcode: 4 }));
    assert.deepEqual(events, [PROTOCOL]);
  });
});

describe("RFC 6455 §5.4 fragmentation (Autobahn 5.x)", () => {
  it("5.3-5.5: text in two fragments, one byte per chunk and at every split", () => {
    assertEverySplit(concat(frame({ opcode: 1, fin: false, payload: utf8("frag") }), frame({ opcode: 0, payload: utf8("ment1") })), [
      text("fragment1"),
    ]);
  });

  it("5.6-5.9: ping and pong between fragments are delivered first, the message stays intact", () => {
    const bytes = concat(
      frame({ opcode: 1, fin: false, payload: utf8("frag") }),
      frame({ opcode: 9, payload: utf8("ping payload") }),
      frame({ opcode: 0, fin: false, payload: utf8("men") }),
      frame({ opcode: 0xa, payload: utf8("pong") }),
      frame({ opcode: 0, payload: utf8("t2") }),
    );
    assertEverySplit(bytes, [["ping", toHex(utf8("ping payload"))], ["pong", toHex(utf8("pong"))], text("fragment2")]);
  });

  it("5.1/5.2: fragmented ping or pong fails with 1002 (§5.5)", () => {
    assertEverySplit(concat(frame({ opcode: 9, fin: false, payload: utf8("a") }), frame({ opcode: 0, payload: utf8("b") })), [PROTOCOL]);
    assertEverySplit(concat(frame({ opcode: 0xa, fin: false, payload: utf8("a") }), frame({ opcode: 0, payload: utf8("b") })), [PROTOCOL]);
  });

  it("5.9-5.14: a continuation frame without a message to continue fails with 1002", () => {
    assertEverySplit(frame({ opcode: 0, payload: utf8("x") }), [PROTOCOL]);
    assertEverySplit(frame({ opcode: 0, fin: false, payload: utf8("x") }), [PROTOCOL]);
    assertEverySplit(concat(frame({ opcode: 0, fin: false, payload: utf8("x") }), frame({ opcode: 1, payload: utf8("y") })), [PROTOCOL]);
    assertEverySplit(concat(hello, frame({ opcode: 0, payload: utf8("x") })), [text("Hello"), PROTOCOL]);
  });

  it("5.18/5.19: a new text or binary frame inside a fragmented message fails with 1002", () => {
    assertEverySplit(concat(frame({ opcode: 1, fin: false, payload: utf8("a") }), frame({ opcode: 1, payload: utf8("b") })), [PROTOCOL]);
    assertEverySplit(concat(frame({ opcode: 2, fin: false, payload: utf8("a") }), frame({ opcode: 1, fin: false, payload: utf8("b") })), [
      PROTOCOL,
    ]);
  });

  it("5.15-5.17: empty fragments, and fragments of empty messages", () => {
    assertEverySplit(concat(frame({ opcode: 1, fin: false }), frame({ opcode: 0, fin: false }), frame({ opcode: 0 })), [text("")]);
    assertEverySplit(concat(frame({ opcode: 2, fin: false, payload: hex("01") }), frame({ opcode: 0 })), [binary(hex("01"))]);
  });

  it("a binary message of 1-byte fragments reassembles in order", () => {
    const payload = bytesOf(300);
    const frames = Array.from(payload, (b, i) => frame({ opcode: i === 0 ? 2 : 0, fin: i === payload.length - 1, payload: Uint8Array.of(b) }));
    assert.deepEqual(decode(chunked(concat(...frames), [1, 5, 64])), [binary(payload)]);
  });

  it("small and large fragments mixed keep their order (coalesced small ones, kept large ones)", () => {
    const sizes = [10, 2000, 1, 1024, 1025, 0, 700, 700, 3000, 5];
    const pieces = sizes.map((n, i) => bytesOf(n, i));
    const frames = pieces.map((piece, i) => frame({ opcode: i === 0 ? 2 : 0, fin: i === pieces.length - 1, payload: piece }));
    const expected = [binary(concat(...pieces))];
    for (const retainChunks of [false, true]) {
      assert.deepEqual(decode([concat(...frames)], { retainChunks }), expected);
      assert.deepEqual(decode(chunked(concat(...frames), [333, 17, 4096]), { retainChunks }), expected);
    }
  });

  it("many small fragments grow the gathering buffer and stay in order", () => {
    const pieces = Array.from({ length: 300 }, (_, i) => bytesOf(1 + (i % 50), i));
    const frames = pieces.map((piece, i) => frame({ opcode: i === 0 ? 2 : 0, fin: i === pieces.length - 1, payload: piece }));
    assert.deepEqual(decode(chunked(concat(...frames), [100])), [binary(concat(...pieces))]);
  });

  it("consecutive fragmented messages each reset the reassembly state", () => {
    const message = (opcode: number, a: string, b: string) =>
      concat(frame({ opcode, fin: false, payload: utf8(a) }), frame({ opcode: 0, payload: utf8(b) }));
    assertEverySplit(concat(message(1, "ab", "c"), message(2, "de", "f"), message(1, "g", "hi")), [text("abc"), binary(utf8("def")), text("ghi")]);
  });
});

describe("RFC 6455 §5.5 control frames: ping, pong (Autobahn 2.x)", () => {
  it("2.1-2.3: ping without payload, with text and with binary payload", () => {
    assertEverySplit(frame({ opcode: 9 }), [["ping", ""]]);
    assertEverySplit(frame({ opcode: 9, payload: utf8("Hello, world!") }), [["ping", toHex(utf8("Hello, world!"))]]);
    assertEverySplit(frame({ opcode: 9, payload: hex("00ff fe fd fc fb fa f9") }), [["ping", "00fffefdfcfbfaf9"]]);
  });

  it("2.4: ping with a 125-byte payload", () => {
    assertEverySplit(frame({ opcode: 9, payload: bytesOf(125) }), [["ping", toHex(bytesOf(125))]]);
  });

  it("2.5: ping with a 126-byte payload fails with 1002 (§5.5), also with a 16-bit length", () => {
    assertEverySplit(frame({ opcode: 9, payload: bytesOf(126) }), [PROTOCOL]);
    // The 7-bit field alone says 126 (a 16-bit length follows): refused from the first 2 bytes.
    assertEverySplit(frame({ opcode: 0xa, payload: bytesOf(5), lengthForm: 16 }), [PROTOCOL]);
    assertEverySplit(frame({ opcode: 8, payload: bytesOf(200) }), [PROTOCOL]);
  });

  it("2.6: a 125-byte ping in 1-byte chunks", () => {
    assert.deepEqual(decode(chunked(frame({ opcode: 9, payload: bytesOf(125) }), [1])), [["ping", toHex(bytesOf(125))]]);
  });

  it("2.7/2.8: unsolicited pongs are reported and change nothing", () => {
    assertEverySplit(concat(frame({ opcode: 0xa }), frame({ opcode: 0xa, payload: utf8("unsolicited") }), hello), [
      ["pong", ""],
      ["pong", toHex(utf8("unsolicited"))],
      text("Hello"),
    ]);
  });

  it("2.10/2.11: ten pings in a row, each reported", () => {
    const pings = Array.from({ length: 10 }, (_, i) => frame({ opcode: 9, payload: utf8(`p${i}`) }));
    assertEverySplit(concat(...pings), pings.map((_, i): Event => ["ping", toHex(utf8(`p${i}`))]));
  });
});

describe("RFC 6455 §5.6 data frames and §8.1 UTF-8 (Autobahn 6.x)", () => {
  const valid = [
    "",
    "Hello-µ@ßöäüàá-UTF-8!!",
    "κόσμε",
    "\u0080",
    "\u07ff",
    "\u0800",
    "\uffff",
    "\ud800\udc00", // U+10000
    "\udbff\udfff", // U+10FFFF
    "\ud7ff",
    "\ue000",
    "\ufffd",
    "\ufeff",
  ];
  for (const s of valid) {
    it(`6.2-6.x valid: ${JSON.stringify(s)} at every split, whole and as one fragment per byte`, () => {
      const payload = utf8(s);
      assertEverySplit(frame({ opcode: 1, payload }), [text(payload)]);
      if (payload.length > 0) {
        const frames = Array.from(payload, (b, i) => frame({ opcode: i === 0 ? 1 : 0, fin: i === payload.length - 1, payload: Uint8Array.of(b) }));
        assertEverySplit(concat(...frames), [text(payload)]);
      }
    });
  }

  const invalid: Array<[string, string]> = [
    ["lone continuation byte 80", "80"],
    ["lone continuation byte bf", "bf"],
    ["overlong '/' in 2 bytes", "c0af"],
    ["overlong '/' in 3 bytes", "e080af"],
    ["overlong '/' in 4 bytes", "f08080af"],
    ["overlong U+07FF in 3 bytes", "e09fbf"],
    ["overlong U+FFFF in 4 bytes", "f08fbfbf"],
    ["C1 lead", "c1bf"],
    ["UTF-16 high surrogate U+D800", "eda080"],
    ["UTF-16 low surrogate U+DFFF", "edbfbf"],
    ["surrogate pair encoded separately", "eda080edb080"],
    ["code point U+110000", "f4908080"],
    ["lead byte F5", "f5808080"],
    ["bytes FE and FF", "fe"],
    ["byte FF", "ff"],
    ["5-byte sequence", "f888808080"],
    ["truncated 2-byte sequence at the end", "48656cc3"],
    ["truncated 3-byte sequence at the end", "48e282"],
    ["truncated 4-byte sequence at the end", "f09f98"],
    ["lead followed by ASCII", "c341"],
    ["Autobahn 6.3.1: κόσμε with an invalid tail", "cebae1bdb9cf83cebcceb5eda080656469746564"],
  ];
  for (const [name, bytes] of invalid) {
    it(`6.x invalid: ${name} fails with 1007 at every split, as a single frame and fragmented`, () => {
      const payload = hex(bytes);
      assertEverySplit(frame({ opcode: 1, payload }), [BAD_UTF8]);
      const frames = Array.from(payload, (b, i) => frame({ opcode: i === 0 ? 1 : 0, fin: i === payload.length - 1, payload: Uint8Array.of(b) }));
      assertEverySplit(concat(...frames), [BAD_UTF8]);
      // Binary messages carry any bytes.
      assertEverySplit(frame({ opcode: 2, payload }), [binary(payload)]);
    });
  }

  it("6.x small fragments (copied 4 bytes at a time): a non-ASCII byte at any position of any word is validated", () => {
    // Fragments of 1-13 bytes, each message with one 2-byte character or one bad byte placed at
    // every offset, so it lands in every lane of a 4-byte word and in the byte-by-byte tail.
    for (let size = 1; size <= 13; size++) {
      for (let at = 0; at < 24; at++) {
        const good = concat(asciiOf(at), utf8("é"), asciiOf(24 - at));
        const bad = concat(asciiOf(at), hex("ff"), asciiOf(24 - at));
        const fragments = (payload: Uint8Array) => {
          const frames: Uint8Array[] = [];
          for (let i = 0; i < payload.length; i += size) {
            frames.push(frame({ opcode: i === 0 ? 1 : 0, fin: i + size >= payload.length, payload: payload.subarray(i, i + size) }));
          }
          return concat(...frames);
        };
        assert.deepEqual(decode([fragments(good)]), [text(good)], `é at ${at}, fragments of ${size}`);
        assert.deepEqual(decode([fragments(bad)]), [BAD_UTF8], `ff at ${at}, fragments of ${size}`);
      }
    }
  });

  it("6.4.1/6.4.2: fails fast on the fragment with the bad byte, before the message ends", () => {
    const { handler, events } = recorder();
    const decoder = new FrameDecoder(handler, OPTIONS);
    decoder.push(frame({ opcode: 1, fin: false, payload: utf8("κόσμε") }));
    assert.deepEqual(events, []);
    decoder.push(frame({ opcode: 0, fin: false, payload: hex("f4908080") }));
    assert.deepEqual(events, [BAD_UTF8], "failed before the final fragment arrived");
    decoder.push(frame({ opcode: 0, payload: utf8("edited") }));
    assert.deepEqual(events, [BAD_UTF8]);
  });

  it("6.4.3/6.4.4: fails fast inside a single frame whose payload is still arriving", () => {
    const payload = concat(utf8("κόσμε"), hex("f4908080"), utf8("edited"), asciiOf(1000));
    const bytes = frame({ opcode: 1, payload });
    const { handler, events } = recorder();
    const decoder = new FrameDecoder(handler, OPTIONS);
    decoder.push(bytes.subarray(0, 4 + 11));
    assert.deepEqual(events, []);
    decoder.push(bytes.subarray(15, 20));
    assert.deepEqual(events, [BAD_UTF8], "failed before the rest of the frame arrived");
  });

  it("6.4.x with a native validator (validateUtf8: isUtf8): fail fast inside a frame and per fragment", () => {
    const pad = asciiOf(300);
    const payload = concat(pad, utf8("κόσμε"), hex("f4908080"), pad);
    const bytes = frame({ opcode: 1, payload });
    let calls = 0;
    const options = { ...OPTIONS, validateUtf8: (b: Uint8Array) => (calls++, isUtf8(b)) };
    const { handler, events } = recorder();
    const decoder = new FrameDecoder(handler, options);
    decoder.push(bytes.subarray(0, 4 + 300 + 11));
    assert.deepEqual(events, []);
    decoder.push(bytes.subarray(315, 320));
    assert.deepEqual(events, [BAD_UTF8], "failed before the rest of the frame arrived");
    assert.ok(calls > 0);
    const fragments = concat(
      frame({ opcode: 1, fin: false, payload: concat(pad, hex("e282")) }),
      frame({ opcode: 0, fin: false, payload: concat(hex("ac"), pad) }),
      frame({ opcode: 0, payload: pad }),
    );
    assert.deepEqual(decode(chunked(fragments, [97]), { validateUtf8: isUtf8 }), [text(concat(pad, hex("e282ac"), pad, pad))]);
    const bad = concat(frame({ opcode: 1, fin: false, payload: concat(pad, hex("e282")) }), frame({ opcode: 0, payload: concat(hex("41"), pad) }));
    assert.deepEqual(decode(chunked(bad, [97]), { validateUtf8: isUtf8 }), [BAD_UTF8]);
  });

  it("a sequence split across fragments is valid (6.2.3/6.2.4)", () => {
    const payload = utf8("κόσμε€😀");
    for (let split = 1; split < payload.length; split++) {
      const bytes = concat(frame({ opcode: 1, fin: false, payload: payload.subarray(0, split) }), frame({ opcode: 0, payload: payload.subarray(split) }));
      assert.deepEqual(decode([bytes]), [text(payload)], `fragment boundary at ${split}`);
    }
  });

  it("a text message that ends inside a sequence fails with 1007 even when split across fragments", () => {
    const bytes = concat(frame({ opcode: 1, fin: false, payload: utf8("ab") }), frame({ opcode: 0, payload: hex("e282") }));
    assertEverySplit(bytes, [BAD_UTF8]);
  });

  it("a large final fragment spanning chunks that ends inside a sequence fails with 1007, whether or not chunks are retained", () => {
    const start = utf8("aé€😀".repeat(1000));
    const end = concat(utf8("é€".repeat(1000)), hex("f09f98"));
    const bytes = concat(frame({ opcode: 1, fin: false, payload: start }), frame({ opcode: 0, payload: end }));
    const valid = concat(frame({ opcode: 1, fin: false, payload: start }), frame({ opcode: 0, payload: end.subarray(0, end.length - 3) }));
    for (const retainChunks of [true, false]) {
      for (const sizes of [[1000], [4096], [333, 17, 4096]]) {
        assert.deepEqual(decode(chunked(bytes, sizes), { retainChunks }), [BAD_UTF8], `${sizes} retainChunks=${retainChunks}`);
        assert.deepEqual(decode(chunked(valid, sizes), { retainChunks }), [text(concat(start, end.subarray(0, end.length - 3)))]);
      }
    }
  });

  it("large valid text in a frame spanning many chunks (2-, 3- and 4-byte sequences across chunk edges)", () => {
    const payload = utf8("aé€😀".repeat(5000));
    assert.deepEqual(decode(chunked(frame({ opcode: 1, payload }), [1, 2, 3, 5, 7, 11, 13])), [text(payload)]);
  });
});

describe("RFC 6455 §7.4 close codes and §5.5.1 close bodies (Autobahn 7.x)", () => {
  const close = (payload?: Uint8Array) => frame({ opcode: 8, payload: payload ?? new Uint8Array(0) });
  const code = (n: number) => Uint8Array.of(n >> 8, n & 255);

  it("7.3.1: an empty close body reports no code", () => {
    assertEverySplit(close(), [["close", undefined, ""]]);
  });

  it("7.3.2: a 1-byte close body fails with 1002", () => {
    assertEverySplit(close(hex("03")), [INVALID_CLOSE]);
  });

  it("7.3.3-7.3.5: code only, code with reason, and a 123-byte reason", () => {
    assertEverySplit(close(code(1000)), [["close", 1000, ""]]);
    assertEverySplit(close(concat(code(1000), utf8("bye"))), [["close", 1000, "bye"]]);
    const reason = "é".repeat(61) + "a";
    assertEverySplit(close(concat(code(1000), utf8(reason))), [["close", 1000, reason]]);
  });

  it("7.3.6: a close frame over 125 bytes fails with 1002", () => {
    assertEverySplit(close(concat(code(1000), asciiOf(124))), [PROTOCOL]);
  });

  it("7.5.1: a close reason that is not UTF-8 fails with 1007", () => {
    assertEverySplit(close(concat(code(1000), hex("cebae1bdb9cf83cebcceb5eda080656469746564"))), [BAD_UTF8]);
    assertEverySplit(close(concat(code(1000), hex("c0af"))), [BAD_UTF8]);
    assertEverySplit(close(concat(code(1000), hex("e282"))), [BAD_UTF8]);
  });

  for (const n of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    it(`7.7: close code ${n} is accepted`, () => {
      assertEverySplit(close(concat(code(n), utf8("r"))), [["close", n, "r"]]);
      assert.equal(isValidCloseCode(n), true);
    });
  }

  for (const n of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    it(`7.9: close code ${n} fails with 1002`, () => {
      assertEverySplit(close(code(n)), [INVALID_CLOSE]);
      assert.equal(isValidCloseCode(n), false);
    });
  }

  it("7.1.x: nothing after a close frame is reported", () => {
    const { handler, events } = recorder();
    const decoder = new FrameDecoder(handler, OPTIONS);
    decoder.push(concat(hello, close(code(1000)), hello, frame({ opcode: 9 }), frame({ opcode: 3 })));
    decoder.push(hello);
    assert.deepEqual(events, [text("Hello"), ["close", 1000, ""]]);
    assert.equal(decoder.closed, true);
  });

  it("a close frame between fragments is honoured and drops the partial message", () => {
    const bytes = concat(frame({ opcode: 1, fin: false, payload: utf8("part") }), close(code(1001)), frame({ opcode: 0, payload: utf8("rest") }));
    assertEverySplit(bytes, [["close", 1001, ""]]);
  });

  it("parseClosePayload returns errors instead of throwing", () => {
    const error = parseClosePayload(hex("03"));
    assert.ok(isResilientError(error));
    assert.equal(error.closeCode, 1002);
    assert.deepEqual(parseClosePayload(concat(code(4000), utf8("ok"))), { code: 4000, reason: "ok" });
  });
});

describe("limits: maxPayload and maxFragments (Autobahn 9.x, 10.x)", () => {
  it("defaults are 100 MiB and enough fragments for Autobahn 9.3.1 (4 MiB in 64-byte frames)", () => {
    assert.equal(DEFAULT_MAX_PAYLOAD, 100 * 1024 * 1024);
    assert.ok(DEFAULT_MAX_FRAGMENTS >= 65536);
  });

  it("a single frame over maxPayload fails with 1009 from its header, before any payload arrives", () => {
    assertEverySplit(frame({ opcode: 2, payload: bytesOf(1001) }).subarray(0, 4), [TOO_BIG], { maxPayload: 1000 });
    assertEverySplit(frame({ opcode: 2, payload: bytesOf(1000) }), [binary(bytesOf(1000))], { maxPayload: 1000 });
  });

  it("fragments whose sum exceeds maxPayload fail with 1009 at the fragment that crosses it", () => {
    const bytes = concat(
      frame({ opcode: 2, fin: false, payload: bytesOf(600) }),
      frame({ opcode: 0, fin: false, payload: bytesOf(400) }),
      frame({ opcode: 0, payload: bytesOf(1) }),
    );
    assert.deepEqual(decode(chunked(bytes, [100]), { maxPayload: 1000 }), [TOO_BIG]);
    // Only the header of the crossing fragment is needed to fail.
    assert.deepEqual(decode([bytes.subarray(0, 600 + 4 + 400 + 4 + 2)], { maxPayload: 1000 }), [TOO_BIG]);
    assert.deepEqual(decode([bytes], { maxPayload: 1001 }), [binary(concat(bytesOf(600), bytesOf(400), bytesOf(1)))]);
  });

  it("a message with more than maxFragments fragments fails with 1009", () => {
    const frames = (n: number) =>
      concat(...Array.from({ length: n }, (_, i) => frame({ opcode: i === 0 ? 1 : 0, fin: i === n - 1, payload: utf8("x") })));
    assertEverySplit(frames(4), [text("xxxx")], { maxFragments: 4 });
    assertEverySplit(frames(5), [TOO_BIG], { maxFragments: 4 });
  });

  it("control frames do not count against maxPayload", () => {
    assertEverySplit(concat(frame({ opcode: 9, payload: bytesOf(100) }), frame({ opcode: 2, payload: bytesOf(10) })), [["ping", toHex(bytesOf(100))], binary(bytesOf(10))], {
      maxPayload: 10,
    });
  });

  it("a 64-bit length beyond 2^53 fails with 1009, not with a wrong number", () => {
    const bytes = frame({ opcode: 2, lengthForm: 64, lengthHigh: 0x00200000 });
    assertEverySplit(bytes, [TOO_BIG], { maxPayload: Number.POSITIVE_INFINITY });
  });

  for (const size of [65536, 262144, 1048576, 4194304]) {
    it(`9.1/9.2: a ${size}-byte message in one frame, received in 65536-byte chunks`, () => {
      const payload = size <= 1048576 ? asciiOf(size) : bytesOf(size);
      const opcode = size <= 1048576 ? 1 : 2;
      assert.deepEqual(decode(chunked(frame({ opcode, payload }), [65536])), [opcode === 1 ? text(payload) : binary(payload)]);
    });
  }

  for (const fragment of [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576]) {
    it(`9.3/9.4: a 4 MiB message in ${fragment}-byte fragments`, () => {
      const size = 4 * 1024 * 1024;
      const payload = fragment <= 1024 ? asciiOf(size) : bytesOf(size);
      const opcode = fragment <= 1024 ? 1 : 2;
      const frames: Uint8Array[] = [];
      for (let offset = 0; offset < size; offset += fragment) {
        frames.push(frame({ opcode: offset === 0 ? opcode : 0, fin: offset + fragment >= size, payload: payload.subarray(offset, offset + fragment) }));
      }
      assert.deepEqual(decode(chunked(concat(...frames), [65536])), [opcode === 1 ? text(payload) : binary(payload)]);
      if (fragment === 1024) assert.deepEqual(decode(chunked(concat(...frames), [65536]), { retainChunks: true }), [text(payload)]);
    });
  }

  it("9.5/9.6: 1000 small messages back to back in one chunk and in 1-byte chunks", () => {
    const frames = Array.from({ length: 1000 }, (_, i) => frame({ opcode: (i % 2) + 1, payload: asciiOf(i % 70) }));
    const expected = frames.map((_, i) => ((i % 2) + 1 === 1 ? text(asciiOf(i % 70)) : binary(asciiOf(i % 70))));
    assert.deepEqual(decode([concat(...frames)]), expected);
    assert.deepEqual(decode(chunked(concat(...frames), [1])), expected);
  });

  it("10.1.1: a 65536-byte text message in 1300-byte fragments, chunked at odd sizes", () => {
    const payload = utf8("€".repeat(21845) + "a");
    const frames: Uint8Array[] = [];
    for (let offset = 0; offset < payload.length; offset += 1300) {
      frames.push(frame({ opcode: offset === 0 ? 1 : 0, fin: offset + 1300 >= payload.length, payload: payload.subarray(offset, offset + 1300) }));
    }
    assert.deepEqual(decode(chunked(concat(...frames), [333, 1, 4096])), [text(payload)]);
  });
});

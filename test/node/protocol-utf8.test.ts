/**
 * UTF-8 validation (RFC 3629, required by RFC 6455 §5.6 and §8.1): whole-buffer and streaming
 * validators against boundary vectors, split at every byte.
 */
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { describe, it } from "node:test";
import { isValidUtf8, Utf8Validator } from "../../src/protocol/utf8.js";
import { hex, utf8 } from "./protocol-helpers.js";

const VALID: Array<[string, Uint8Array]> = [
  ["empty", new Uint8Array(0)],
  ["ASCII", utf8("Hello, world! 0123456789 ~")],
  ["long ASCII (8-byte fast path and tail)", utf8("abcdefghijklmnopqrstuvwxyz0123456789".repeat(10) + "xyz")],
  ["U+0080 (first 2-byte)", hex("c280")],
  ["U+07FF (last 2-byte)", hex("dfbf")],
  ["U+0800 (first 3-byte)", hex("e0a080")],
  ["U+D7FF (before surrogates)", hex("ed9fbf")],
  ["U+E000 (after surrogates)", hex("ee8080")],
  ["U+FFFF", hex("efbfbf")],
  ["U+10000 (first 4-byte)", hex("f0908080")],
  ["U+10FFFF (last code point)", hex("f48fbfbf")],
  ["noncharacter U+FFFE", hex("efbfbe")],
  ["mixed", utf8("aé€😀zκόσμε")],
  ["ASCII then multibyte after 8 ASCII bytes", utf8("12345678é")],
];

const INVALID: Array<[string, Uint8Array]> = [
  ["continuation without lead", hex("80")],
  ["continuation after ASCII", hex("4180")],
  ["overlong NUL (C0 80)", hex("c080")],
  ["overlong 2-byte (C1 BF)", hex("c1bf")],
  ["overlong 3-byte (E0 9F BF)", hex("e09fbf")],
  ["overlong 4-byte (F0 8F BF BF)", hex("f08fbfbf")],
  ["surrogate U+D800", hex("eda080")],
  ["surrogate U+DBFF", hex("edafbf")],
  ["surrogate U+DC00", hex("edb080")],
  ["surrogate U+DFFF", hex("edbfbf")],
  ["above U+10FFFF (F4 90 80 80)", hex("f4908080")],
  ["F5 lead", hex("f5808080")],
  ["F8 lead (5-byte form)", hex("f888808080")],
  ["FC lead (6-byte form)", hex("fc8480808080")],
  ["FE", hex("fe")],
  ["FF", hex("ff")],
  ["truncated 2-byte", hex("c3")],
  ["truncated 3-byte", hex("e282")],
  ["truncated 4-byte", hex("f09f98")],
  ["lead then ASCII", hex("e241")],
  ["lead then lead", hex("c3c3a9")],
  ["bad byte after 8 ASCII bytes", hex("4142434445464748ff")],
  ["bad byte at position 7 of an 8-byte block", hex("41424344454647ff4142")],
];

describe("RFC 3629 UTF-8 validation", () => {
  for (const [name, bytes] of VALID) {
    it(`valid: ${name}`, () => {
      assert.equal(isValidUtf8(bytes), true);
      assertStreaming(bytes, true);
    });
  }
  for (const [name, bytes] of INVALID) {
    it(`invalid: ${name}`, () => {
      assert.equal(isValidUtf8(bytes), false);
      assertStreaming(bytes, false);
      // Embedded in valid text it is still invalid.
      const embedded = new Uint8Array([...utf8("abcdefghij"), ...bytes, ...utf8("klmnop")]);
      assert.equal(isValidUtf8(embedded), false);
      assertStreaming(embedded, false);
    });
  }

  it("every 1-, 2- and 3-byte sequence agrees with TextDecoder fatal", () => {
    const fatal = new TextDecoder("utf-8", { fatal: true });
    const check = (bytes: Uint8Array) => {
      let expected = true;
      try {
        fatal.decode(bytes);
      } catch {
        expected = false;
      }
      assert.equal(isValidUtf8(bytes), expected, Array.from(bytes, (b) => b.toString(16)).join(" "));
    };
    for (let a = 0; a < 256; a++) {
      check(Uint8Array.of(a));
      for (let b = 0; b < 256; b++) {
        check(Uint8Array.of(a, b));
        // Third bytes: one continuation and one non-continuation byte per pair keep this fast.
        if (a >= 0xe0) {
          check(Uint8Array.of(a, b, 0x80));
          check(Uint8Array.of(a, b, 0xbf));
          check(Uint8Array.of(a, b, 0x41));
        }
      }
    }
  });

  it("the streaming validator fails at the first bad byte, not at the end", () => {
    const validator = new Utf8Validator();
    assert.equal(validator.push(utf8("κόσμε"), false), true);
    assert.equal(validator.push(hex("ed"), false), true);
    assert.equal(validator.push(hex("a0"), false), false);
  });

  it("reset() clears a pending sequence", () => {
    const validator = new Utf8Validator();
    assert.equal(validator.push(hex("e2"), false), true);
    validator.reset();
    assert.equal(validator.push(utf8("a"), true), true);
  });

  it("a final push with a pending sequence fails, and the validator is reusable afterwards", () => {
    const validator = new Utf8Validator();
    assert.equal(validator.push(hex("e282"), true), false);
    assert.equal(validator.push(hex("e282ac"), true), true);
  });
});

describe("streaming validation with a native whole-buffer validator (node:buffer isUtf8)", () => {
  const pad = utf8("x".repeat(150));
  let calls = 0;
  const native = (bytes: Uint8Array): boolean => {
    calls++;
    return isUtf8(bytes);
  };
  for (const [name, bytes] of [...VALID, ...INVALID]) {
    const expected = VALID.some(([n]) => n === name);
    it(`${expected ? "valid" : "invalid"}: ${name} between 150-byte runs, at every split`, () => {
      const input = new Uint8Array([...pad, ...bytes, ...pad]);
      calls = 0;
      assertStreaming(input, expected, native);
      assert.ok(calls > 0, "the native validator was used");
    });
  }

  it("fails fast on the piece with the bad byte", () => {
    const validator = new Utf8Validator(native);
    assert.equal(validator.push(new Uint8Array([...pad, 0xe2, 0x82]), false), true);
    assert.equal(validator.push(new Uint8Array([0xac, ...pad]), false), true);
    assert.equal(validator.push(new Uint8Array([...pad, 0xed, 0xa0, 0x80, ...pad]), false), false);
  });
});

/** Feed `bytes` to a streaming validator split at every point (and byte by byte). */
function assertStreaming(bytes: Uint8Array, expected: boolean, native?: (bytes: Uint8Array) => boolean): void {
  for (let split = 0; split <= bytes.length; split++) {
    const validator = new Utf8Validator(native);
    const first = validator.push(bytes.subarray(0, split), false);
    const result = first && validator.push(bytes.subarray(split), true);
    assert.equal(result, expected, `split at ${split}`);
  }
  const validator = new Utf8Validator(native);
  let ok = true;
  for (let i = 0; i < bytes.length && ok; i++) ok = validator.push(bytes.subarray(i, i + 1), false);
  if (ok) ok = validator.push(new Uint8Array(0), true);
  assert.equal(ok, expected, "byte by byte");
}

/**
 * UTF-8 validation (RFC 3629 as required by RFC 6455 §5.6 and §8.1): rejects overlong forms,
 * surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated sequences. Pure JS so that
 * it runs anywhere and can stop at the first bad byte of a fragment (fail fast, Autobahn 6.x).
 */

/**
 * Scan `bytes[from..to)` continuing a sequence that still needs `need` continuation bytes whose
 * next one must lie in [lo, hi]. Returns the packed state `need | lo << 8 | hi << 16` after the
 * scan, or -1 at the first invalid byte.
 */
function scan(bytes: Uint8Array, from: number, to: number, need: number, lo: number, hi: number): number {
  let i = from;
  while (i < to) {
    if (need === 0) {
      // ASCII fast path: 8 bytes per test while nothing has the high bit.
      while (i + 8 <= to && ((bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]! | bytes[i + 4]! | bytes[i + 5]! | bytes[i + 6]! | bytes[i + 7]!) & 0x80) === 0) i += 8;
      if (i >= to) break;
      const b = bytes[i++]!;
      if (b < 0x80) continue;
      if (b < 0xc2) return -1; // continuation byte as lead, or overlong 2-byte lead C0/C1
      if (b < 0xe0) {
        need = 1; lo = 0x80; hi = 0xbf;
      } else if (b < 0xf0) {
        need = 2;
        lo = b === 0xe0 ? 0xa0 : 0x80; // E0: overlong below U+0800
        hi = b === 0xed ? 0x9f : 0xbf; // ED: surrogates U+D800..U+DFFF
      } else if (b < 0xf5) {
        need = 3;
        lo = b === 0xf0 ? 0x90 : 0x80; // F0: overlong below U+10000
        hi = b === 0xf4 ? 0x8f : 0xbf; // F4: above U+10FFFF
      } else {
        return -1; // F5..FF never appear in UTF-8
      }
    } else {
      const b = bytes[i++]!;
      if (b < lo || b > hi) return -1;
      need--;
      lo = 0x80;
      hi = 0xbf;
    }
  }
  return need | (lo << 8) | (hi << 16);
}

/** True when `bytes` is complete, well-formed UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return scan(bytes, 0, bytes.length, 0, 0x80, 0xbf) === (0 | (0x80 << 8) | (0xbf << 16));
}

/**
 * Incremental validator for a text message that arrives in fragments (RFC 6455 §5.6: a sequence may
 * be split across frames; §8.1: fail as soon as the bytes cannot be UTF-8).
 */
export class Utf8Validator {
  #need = 0;
  #lo = 0x80;
  #hi = 0xbf;

  /**
   * Feed the next bytes; `final` marks the end of the message. Returns false at the first invalid
   * byte, or when the message ends inside a sequence. After false, call reset() before reuse.
   */
  push(bytes: Uint8Array, final: boolean): boolean {
    const state = scan(bytes, 0, bytes.length, this.#need, this.#lo, this.#hi);
    if (state < 0) return false;
    this.#need = state & 0xff;
    this.#lo = (state >>> 8) & 0xff;
    this.#hi = (state >>> 16) & 0xff;
    if (final) {
      const complete = this.#need === 0;
      this.reset();
      return complete;
    }
    return true;
  }

  reset(): void {
    this.#need = 0;
    this.#lo = 0x80;
    this.#hi = 0xbf;
  }
}

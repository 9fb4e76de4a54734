/**
 * UTF-8 validation (RFC 3629 as required by RFC 6455 §5.6 and §8.1): rejects overlong forms,
 * surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated sequences. Pure JS so that
 * it runs anywhere and can stop at the first bad byte of a fragment (fail fast, Autobahn 6.x).
 */

/** ASCII runs at least this long are skipped 4 bytes at a time (shorter ones do not repay the view). */
const WORD_RUN = 256;

/** Index of the first word at or after `w` with a byte >= 0x80 (or words.length). */
function skipAsciiWords(words: Int32Array, w: number): number {
  const count = words.length;
  while (
    w + 8 <= count &&
    ((words[w]! | words[w + 1]! | words[w + 2]! | words[w + 3]! | words[w + 4]! | words[w + 5]! | words[w + 6]! | words[w + 7]!) & 0x80808080) === 0
  ) {
    w += 8;
  }
  while (w < count && (words[w]! & 0x80808080) === 0) w++;
  return w;
}

/**
 * Scan `bytes[from..n)` continuing a sequence that still needs `need` continuation bytes whose next
 * one must lie in [lo, hi]. Returns the packed state `need | lo << 8 | hi << 16` after the scan, or
 * -1 at the first invalid byte.
 */
function scan(bytes: Uint8Array, from: number, n: number, need: number, lo: number, hi: number): number {
  let i = from;
  // Created at most once per call, for the first long ASCII run: words[w] covers bytes base + 4w.
  let words: Int32Array | null = null;
  let base = 0;
  while (i < n) {
    const b = bytes[i++]!;
    if (need !== 0) {
      if (b < lo || b > hi) return -1;
      need--;
      lo = 0x80;
      hi = 0xbf;
      continue;
    }
    if (b < 0x80) {
      // ASCII: byte by byte, and a run still going after 16 bytes continues 4 bytes at a time.
      const stop = n - i > 16 ? i + 16 : n;
      while (i < stop && bytes[i]! < 0x80) i++;
      if (i === stop && n - i >= WORD_RUN) {
        if (words === null) {
          base = from + ((4 - ((bytes.byteOffset + from) & 3)) & 3);
          words = new Int32Array(bytes.buffer, bytes.byteOffset + base, (n - base) >>> 2);
        }
        while (i < n && ((i - base) & 3) !== 0 && bytes[i]! < 0x80) i++;
        if (((i - base) & 3) === 0) i = base + (skipAsciiWords(words, (i - base) >>> 2) << 2);
      }
      continue;
    }
    if (b < 0xc2) return -1; // continuation byte as lead, or overlong 2-byte lead C0/C1
    if (b < 0xe0) {
      need = 1;
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
  }
  return need | (lo << 8) | (hi << 16);
}

/** True when `bytes` is complete, well-formed UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return scan(bytes, 0, bytes.length, 0, 0x80, 0xbf) === INITIAL;
}

/** Pieces shorter than this stay in JS even when a native validator was given (call overhead). */
const NATIVE_MIN = 128;

const INITIAL = 0 | (0x80 << 8) | (0xbf << 16);

/**
 * Incremental validator for a text message that arrives in fragments (RFC 6455 §5.6: a sequence may
 * be split across frames; §8.1: fail as soon as the bytes cannot be UTF-8).
 */
export class Utf8Validator {
  #need = 0;
  #lo = 0x80;
  #hi = 0xbf;
  readonly #native: ((bytes: Uint8Array) => boolean) | undefined;

  /**
   * @param native optional whole-buffer validator that is faster than this pure JS one where the
   * runtime has one (`isUtf8` from node:buffer, simdutf). It is only ever given complete
   * sequences: the edges of a piece that split a character are checked here.
   */
  constructor(native?: (bytes: Uint8Array) => boolean) {
    this.#native = native;
  }

  /**
   * Feed the next bytes; `final` marks the end of the message. Returns false at the first invalid
   * piece, or when the message ends inside a sequence. After false, call reset() before reuse.
   */
  push(bytes: Uint8Array, final: boolean): boolean {
    return this.pushRange(bytes, 0, bytes.length, final);
  }

  /** push() of `bytes[start..end)`, without creating a view. */
  pushRange(bytes: Uint8Array, start: number, end: number, final: boolean): boolean {
    const native = this.#native;
    let ok: boolean;
    if (native === undefined || end - start < NATIVE_MIN) {
      ok = this.#scan(bytes, start, end);
    } else {
      // A character begun in the previous piece ends within the first 3 bytes of this one.
      let from = start;
      if (this.#need !== 0) {
        from = start + this.#need;
        ok = this.#scan(bytes, start, from);
      } else {
        ok = true;
      }
      // A character this piece leaves unfinished starts within its last 3 bytes.
      let to = end;
      for (let k = 1; k <= 3 && end - k >= from; k++) {
        const b = bytes[end - k]!;
        if (b < 0x80) break;
        if (b >= 0xc0) {
          const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
          if (length > k) to = end - k;
          break;
        }
      }
      if (ok && to > from) ok = native(bytes.subarray(from, to));
      if (ok && to < end) ok = this.#scan(bytes, to, end);
    }
    if (!ok) return false;
    if (final) {
      const complete = this.#need === 0;
      this.reset();
      return complete;
    }
    return true;
  }

  /** True between characters: bytes pushed so far end on a character boundary. */
  get idle(): boolean {
    return this.#need === 0;
  }

  reset(): void {
    this.#need = 0;
    this.#lo = 0x80;
    this.#hi = 0xbf;
  }

  #scan(bytes: Uint8Array, start: number, end: number): boolean {
    const state = scan(bytes, start, end, this.#need, this.#lo, this.#hi);
    if (state < 0) return false;
    this.#need = state & 0xff;
    this.#lo = (state >>> 8) & 0xff;
    this.#hi = (state >>> 16) & 0xff;
    return true;
  }
}

/**
 * Incremental parsing of the server's HTTP/1.1 response head (RFC 7230 §3) during the opening
 * handshake: called with everything received so far until it returns a head.
 */
import { createError } from "../errors.js";
import { isToken } from "./extensions.js";

/** A response head larger than this is refused (ws and browsers use similar bounds). */
export const MAX_HEAD_BYTES = 16 * 1024;

export interface ResponseHead {
  /** The minor version of the status line: 0 for HTTP/1.0, 1 for HTTP/1.1 and above (RFC 9110 §2.5). */
  httpMinor: 0 | 1;
  status: number;
  statusText: string;
  /** Lower-cased names; repeated headers joined with ", " (RFC 7230 §3.2.2). */
  headers: Map<string, string>;
  /** Bytes of the head including the blank line: frames may follow at this offset. */
  headLength: number;
}

const PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

function garbage(why: string): never {
  throw createError("ERR_HANDSHAKE", `Invalid HTTP response from server: ${why}`);
}

/**
 * Offset just past the blank line that ends the head, or -1. Bare LF is accepted (RFC 7230 §3.5).
 * Positions before `from` are not looked at: a caller that already scanned a prefix resumes two
 * bytes before its end, where a terminator may have started.
 */
function findHeadEnd(buffer: Uint8Array, from: number, length: number): number {
  for (let i = from; i < length; i++) {
    if (buffer[i] !== 0x0a) continue;
    if (i + 1 >= length) return -1;
    if (buffer[i + 1] === 0x0a) return i + 2;
    if (i + 2 >= length) return -1;
    if (buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** Throws unless the bytes received so far can be the start of "HTTP/" (fail early on a non-HTTP peer). */
function checkPrefix(buffer: Uint8Array, length: number): void {
  for (let i = 0; i < PREFIX.length && i < length; i++) {
    if (buffer[i] !== PREFIX[i]) garbage("does not start with HTTP/");
  }
}

/**
 * Throws when the head (complete at `end`, or incomplete and already `length` bytes) is too large.
 * `before` counts the interim heads skipped before it: the bound is on all of them together.
 */
function checkSize(end: number, length: number, before = 0): void {
  if (before + (end === -1 ? length : end) > MAX_HEAD_BYTES) garbage(`head larger than ${MAX_HEAD_BYTES} bytes`);
}

/**
 * RFC 9110 §15.2: a 1xx is an interim response, followed by the final one, and a client "MUST be
 * able to parse one or more 1xx responses received prior to a final response, even if the client
 * does not expect one" (100 Continue, 103 Early Hints). 101 is the exception: the connection
 * switches protocols right after its blank line (§15.2.2), so the bytes after it are not HTTP.
 */
export function isInterimStatus(status: number): boolean {
  return status >= 100 && status <= 199 && status !== 101;
}

/**
 * Parse the response head at the start of `buffer`. Returns null while more bytes are needed;
 * throws ERR_HANDSHAKE on bytes that cannot be an HTTP/1.x response or a head over 16 KiB.
 * This is one head, an interim 1xx included; ResponseHeadReader, which reads a connection's
 * bytes as they arrive, skips interim responses and gives the final one.
 */
export function parseResponseHead(buffer: Uint8Array): ResponseHead | null {
  checkPrefix(buffer, buffer.length);
  const end = findHeadEnd(buffer, 0, buffer.length);
  checkSize(end, buffer.length);
  return end === -1 ? null : parseCompleteHead(buffer, end);
}

/**
 * Collects the final response head from chunks as they arrive, skipping interim 1xx responses
 * before it (isInterimStatus); the 16 KiB bound covers those too. Every byte is scanned once for
 * the blank line and each head is parsed once, so a peer that sends its head a byte at a time
 * costs linear time, not a new parse of everything so far on each chunk.
 */
export class ResponseHeadReader {
  #buffer = new Uint8Array(0);
  #length = 0;
  /** Bytes of the interim heads skipped so far. */
  #skipped = 0;

  /**
   * Add the next chunk. Returns the final head and the bytes after it (the first frames, or for a
   * proxy the tunnel's first bytes) once it is complete, null while it is not; throws like
   * parseResponseHead. The head's headLength counts from its own status line.
   */
  push(chunk: Uint8Array): { head: ResponseHead; rest: Uint8Array } | null {
    for (let input = chunk; ; ) {
      const read = this.#pushHead(input);
      if (read === null || !isInterimStatus(read.head.status)) return read;
      // An interim head has no content (RFC 9110 §15.2): the next head starts right after it.
      this.#skipped += read.head.headLength;
      this.#buffer = new Uint8Array(0);
      this.#length = 0;
      if (read.rest.length === 0) return null;
      input = read.rest;
    }
  }

  /** push() for the head being read, interim or not. */
  #pushHead(chunk: Uint8Array): { head: ResponseHead; rest: Uint8Array } | null {
    const scanned = this.#length;
    let buffer: Uint8Array;
    if (scanned === 0) {
      // The usual case, the whole head in the first chunk: parsed in place, nothing copied.
      buffer = chunk;
    } else {
      if (scanned + chunk.length > this.#buffer.length) {
        const grown = new Uint8Array(Math.max(scanned + chunk.length, this.#buffer.length * 2));
        grown.set(this.#buffer.subarray(0, scanned));
        this.#buffer = grown;
      }
      this.#buffer.set(chunk, scanned);
      buffer = this.#buffer;
    }
    const length = scanned + chunk.length;
    checkPrefix(buffer, length);
    const end = findHeadEnd(buffer, Math.max(0, scanned - 2), length);
    checkSize(end, length, this.#skipped);
    if (end !== -1) return { head: parseCompleteHead(buffer, end), rest: buffer.subarray(end, length) };
    if (scanned === 0) {
      this.#buffer = new Uint8Array(Math.max(chunk.length * 2, 256));
      this.#buffer.set(chunk);
    }
    this.#length = length;
    return null;
  }
}

/** The head in buffer[0, end), which ends with its blank line. */
function parseCompleteHead(buffer: Uint8Array, end: number): ResponseHead {
  let text = "";
  for (let i = 0; i < end; i++) {
    const c = buffer[i]!;
    // RFC 7230 §3.2: no NUL or other controls except HTAB; CR only as part of CRLF.
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) garbage(`control byte 0x${c.toString(16)}`);
    if (c === 0x0d && buffer[i + 1] !== 0x0a) garbage("bare CR");
    text += String.fromCharCode(c);
  }
  const lines = text.split(/\r?\n/);
  // The head ends with an empty line, leaving two empty strings after the split.
  lines.length -= 2;

  const statusMatch = /^HTTP\/1\.([0-9]) ([1-5][0-9][0-9])(?: ([^]*))?$/.exec(lines[0]!);
  if (statusMatch === null) garbage(`bad status line "${lines[0]!.slice(0, 100)}"`);
  // RFC 9110 §2.5: a higher minor version of HTTP/1 is read as the highest we implement, 1.1.
  const httpMinor = statusMatch[1] === "0" ? 0 : 1;
  const status = Number(statusMatch[2]);
  const statusText = statusMatch[3] ?? "";

  const headers = new Map<string, string>();
  /** The field the line before was part of: an obs-fold continues it. */
  let last: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // RFC 9112 §5.2: a user agent MUST replace each obs-fold (a line that starts with SP or HTAB,
    // continuing the field line before it) with SP before interpreting the value; only servers and
    // proxies may reject it. Before the first field line it is refused (§2.2 allows that).
    if (last !== undefined && (line[0] === " " || line[0] === "\t")) {
      const continued = line.replace(/^[ \t]+|[ \t]+$/g, "");
      const value = headers.get(last)!;
      headers.set(last, value === "" || continued === "" ? value + continued : `${value} ${continued}`);
      continue;
    }
    // RFC 9112 §5.1: no whitespace between the field name and the colon.
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!isToken(name)) garbage(`bad header line "${line.slice(0, 100)}"`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    const key = name.toLowerCase();
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
    last = key;
  }
  return { httpMinor, status, statusText, headers, headLength: end };
}

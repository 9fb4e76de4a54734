/**
 * Incremental parsing of the server's HTTP/1.1 response head (RFC 7230 §3) during the opening
 * handshake: called with everything received so far until it returns a head.
 */
import { createError } from "../errors.js";
import { isToken } from "./extensions.js";

/** A response head larger than this is refused (ws and browsers use similar bounds). */
export const MAX_HEAD_BYTES = 16 * 1024;

export interface ResponseHead {
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

/** Offset just past the blank line that ends the head, or -1. Bare LF is accepted (RFC 7230 §3.5). */
function findHeadEnd(buffer: Uint8Array): number {
  const n = buffer.length;
  for (let i = 0; i < n; i++) {
    if (buffer[i] !== 0x0a) continue;
    if (buffer[i + 1] === 0x0a) return i + 2;
    if (buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/**
 * Parse the response head at the start of `buffer`. Returns null while more bytes are needed;
 * throws ERR_HANDSHAKE on bytes that cannot be an HTTP/1.x response or a head over 16 KiB.
 */
export function parseResponseHead(buffer: Uint8Array): ResponseHead | null {
  // Fail early on a peer that is not speaking HTTP at all.
  for (let i = 0; i < PREFIX.length && i < buffer.length; i++) {
    if (buffer[i] !== PREFIX[i]) garbage("does not start with HTTP/");
  }
  const end = findHeadEnd(buffer);
  if (end === -1 ? buffer.length > MAX_HEAD_BYTES : end > MAX_HEAD_BYTES) {
    garbage(`head larger than ${MAX_HEAD_BYTES} bytes`);
  }
  if (end === -1) return null;

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

  const statusMatch = /^HTTP\/1\.[01] ([1-5][0-9][0-9])(?: ([^]*))?$/.exec(lines[0]!);
  if (statusMatch === null) garbage(`bad status line "${lines[0]!.slice(0, 100)}"`);
  const status = Number(statusMatch[1]);
  const statusText = statusMatch[2] ?? "";

  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // RFC 7230 §3.2.4: obsolete line folding may be rejected; whitespace before ":" must be.
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!isToken(name)) garbage(`bad header line "${line.slice(0, 100)}"`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    const key = name.toLowerCase();
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }
  return { status, statusText, headers, headLength: end };
}

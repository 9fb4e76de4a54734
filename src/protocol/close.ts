/**
 * RFC 6455 §5.5.1 and §7.4: close frame bodies.
 */
import { createError, type ResilientError } from "../errors.js";
import { isValidUtf8 } from "./utf8.js";

/**
 * RFC 6455 §7.4.1/§7.4.2: codes that may appear in a close frame. 1004 is reserved, 1005/1006/1015
 * must never be sent, 1016..2999 are unassigned (reserved for the protocol), 3000..4999 belong to
 * libraries and applications. 1012..1014 are IANA-registered and accepted (as ws and browsers do).
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

let decoder: TextDecoder | undefined;

/** Decode UTF-8 already known to be valid. */
export function decodeUtf8(bytes: Uint8Array): string {
  decoder ??= new TextDecoder();
  return decoder.decode(bytes);
}

/**
 * Parse a received close frame body. An empty body means no status code (reported as 1005 by
 * the WebSocket API). Returns an error carrying the close code to answer with when the body is
 * invalid: 1002 for a bad length or code, 1007 for a reason that is not UTF-8.
 */
export function parseClosePayload(bytes: Uint8Array): { code: number | undefined; reason: string } | ResilientError {
  if (bytes.length === 0) return { code: undefined, reason: "" };
  // RFC 6455 §5.5.1: a body, if present, starts with a 2-byte code.
  if (bytes.length === 1) {
    return createError("ERR_INVALID_CLOSE", "Invalid close frame: 1-byte body", 1002);
  }
  const code = (bytes[0]! << 8) | bytes[1]!;
  if (!isValidCloseCode(code)) {
    return createError("ERR_INVALID_CLOSE", `Invalid close code ${code} (RFC 6455 §7.4)`, 1002);
  }
  const reasonBytes = bytes.subarray(2);
  // RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection with 1007.
  if (!isValidUtf8(reasonBytes)) {
    return createError("ERR_INVALID_UTF8", "Invalid UTF-8 in close reason", 1007);
  }
  // Decoding copies, so the reason never pins the (possibly large) input chunk.
  return { code, reason: reasonBytes.length === 0 ? "" : decodeUtf8(reasonBytes) };
}

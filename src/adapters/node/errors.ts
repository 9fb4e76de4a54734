/**
 * Error helpers of the built-in client: the handshake status error the reconnect policy reads, and
 * the DOMExceptions browsers throw from the W3C API.
 */
import type { HandshakeStatusError as ProtocolHandshakeStatusError } from "../../protocol/handshake.js";

/**
 * A non-101 handshake answer (401, 403, 429, 503, …): the protocol's HandshakeStatusError (status,
 * statusText, headers) plus `retryAfter` in ms, so a reconnect policy can honour Retry-After.
 */
export type HandshakeStatusError = ProtocolHandshakeStatusError & { readonly retryAfter: number | undefined };

/** RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function withRetryAfter(error: ProtocolHandshakeStatusError): HandshakeStatusError {
  return Object.assign(error, { retryAfter: parseRetryAfter(error.headers.get("retry-after")) });
}

export function syntaxError(message: string): DOMException {
  return new DOMException(message, "SyntaxError");
}

export function invalidAccessError(message: string): DOMException {
  return new DOMException(message, "InvalidAccessError");
}

export function invalidStateError(message: string): DOMException {
  return new DOMException(message, "InvalidStateError");
}

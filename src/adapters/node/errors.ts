/**
 * Error helpers of the built-in client: the handshake and proxy status errors the reconnect policy
 * reads (status, headers, retryAfter), and the DOMExceptions browsers throw from the W3C API.
 */
import { createError, type ResilientError } from "../../errors.js";
import type { HandshakeStatusError as ProtocolHandshakeStatusError, ResponseHead } from "../../protocol/handshake.js";

/**
 * A non-101 handshake answer (401, 403, 429, 503, …): the protocol's HandshakeStatusError (status,
 * statusText, headers) plus `retryAfter` in ms, so a reconnect policy can honour Retry-After.
 */
export type HandshakeStatusError = ProtocolHandshakeStatusError & { readonly retryAfter: number | undefined };

/**
 * A proxy that refused CONNECT (RFC 9110 §9.3.6: any status outside 2xx), e.g. 407 (§15.5.8, its
 * `proxy-authenticate` header names the scheme it wants), 403, 429, 502 or 503. Same fields as a
 * HandshakeStatusError, code `ERR_PROXY`: a proxy's Retry-After is honoured like the server's.
 */
export interface ProxyStatusError extends ResilientError {
  readonly code: "ERR_PROXY";
  readonly status: number;
  readonly statusText: string;
  /** The proxy's response headers, lower-cased names (e.g. proxy-authenticate, retry-after). */
  readonly headers: Map<string, string>;
  /** RFC 9110 §10.2.3 Retry-After in ms, or undefined when absent or not valid. */
  readonly retryAfter: number | undefined;
}

const WEEKDAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MONTH = "(?<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})";
// RFC 9110 §5.6.7: HTTP-date is IMF-fixdate, and a recipient must also accept the obsolete RFC 850
// and asctime forms. The grammar is case-sensitive.
const HTTP_DATES = [
  new RegExp(`^${WEEKDAY}, (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME} GMT$`),
  new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (?<day>\\d{2})-${MONTH}-(?<yy>\\d{2}) ${TIME} GMT$`),
  new RegExp(`^${WEEKDAY} ${MONTH} (?<day>[ \\d]\\d) ${TIME} (?<year>\\d{4})$`),
];

/** Milliseconds since the epoch of an HTTP-date, or undefined if `value` is not one. */
function parseHttpDate(value: string, now: number): number | undefined {
  let groups: Record<string, string | undefined> | undefined;
  for (const form of HTTP_DATES) groups ??= form.exec(value)?.groups;
  if (groups === undefined) return undefined;
  let year = Number(groups["year"]);
  if (groups["yy"] !== undefined) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead means the most recent past one.
    const thisYear = new Date(now).getUTCFullYear();
    year = thisYear - (thisYear % 100) + Number(groups["yy"]);
    if (year > thisYear + 50) year -= 100;
  }
  const day = Number(groups["day"]);
  const [hour, minute, second] = [Number(groups["hour"]), Number(groups["minute"]), Number(groups["second"])];
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const time = Date.UTC(year, "JanFebMarAprMayJunJulAugSepOctNovDec".indexOf(groups["month"]!) / 3, day, hour, minute, second);
  // Date.UTC rolls 31 Feb over into March; that is not a date.
  return new Date(time).getUTCDate() === day ? time : undefined;
}

/**
 * RFC 9110 §10.2.3: Retry-After is delay-seconds (1*DIGIT) or an HTTP-date; anything else
 * ("1.5", "-1", "soon") is undefined, not "retry now".
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = parseHttpDate(trimmed, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/**
 * `url` without its user name and password, for messages that may end up in logs. A string that
 * does not parse as a URL loses what sits between `scheme://` and the last `@` before the path.
 */
export function withoutCredentials(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return String(url).replace(/^([a-z][a-z\d+.-]*:\/\/)[^/?#]*@/i, "$1");
  }
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}

/** Adds `retryAfter` (RFC 9110 §10.2.3, in ms) from the error's response headers. */
export function withRetryAfter<E extends { readonly headers: Map<string, string> }>(error: E): E & { readonly retryAfter: number | undefined } {
  return Object.assign(error, { retryAfter: parseRetryAfter(error.headers.get("retry-after")) });
}

/**
 * `error` with an answer's status, statusText, headers and retryAfter, as the handshake status
 * error has them: what a reconnect policy reads, whatever the error's code.
 */
export function withStatus<E extends ResilientError>(error: E, head: ResponseHead): E & Omit<HandshakeStatusError, "code"> {
  return withRetryAfter(Object.assign(error, { status: head.status, statusText: head.statusText, headers: head.headers }));
}

/** The ERR_PROXY error for a proxy's non-2xx answer to CONNECT, with its status and headers. */
export function createProxyStatusError(message: string, head: ResponseHead): ProxyStatusError {
  return withStatus(createError("ERR_PROXY", message), head) as ProxyStatusError;
}

export function isProxyStatusError(error: unknown): error is ProxyStatusError {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { code?: unknown }).code === "ERR_PROXY" &&
    typeof (error as { status?: unknown }).status === "number"
  );
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

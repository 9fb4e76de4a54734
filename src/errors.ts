/**
 * Every error this library creates is a ResilientError with a stable `code`; protocol errors also
 * carry the close code to send (RFC 6455 §7.4.1). Created only through `createError` so messages
 * and codes stay in one place (ws `createError`).
 */
export type ErrorCode =
  // client
  | "ERR_INVALID_STATE"
  | "ERR_QUEUE_FULL"
  | "ERR_CLOSED"
  | "ERR_CONNECT_TIMEOUT"
  | "ERR_URL_PROVIDER"
  | "ERR_PROTOCOL_NOT_SELECTED"
  | "ERR_DECODE"
  | "ERR_REQUEST_TIMEOUT"
  | "ERR_ABORTED"
  | "ERR_INVALID_ARGUMENT"
  // handshake (built-in client)
  | "ERR_HANDSHAKE"
  | "ERR_HANDSHAKE_STATUS"
  | "ERR_HANDSHAKE_TIMEOUT"
  | "ERR_PROXY"
  | "ERR_REDIRECT"
  // protocol (RFC 6455)
  | "ERR_PROTOCOL"
  | "ERR_INVALID_UTF8"
  | "ERR_PAYLOAD_TOO_BIG"
  | "ERR_INVALID_CLOSE"
  | "ERR_CONNECTION";

const BRAND = Symbol.for("resilient-ws.error");

export class ResilientError extends Error {
  // Declared, not class fields: assigned once in the constructor, and no field definitions to ship.
  declare readonly code: ErrorCode;
  /** Close code to send when this error fails a connection (1002, 1007, 1009, …). */
  declare readonly closeCode: number | undefined;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, closeCode?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ResilientError";
    this.code = code;
    this.closeCode = closeCode;
  }
}

export function createError(
  code: ErrorCode,
  message: string,
  closeCode?: number,
  cause?: unknown,
): ResilientError {
  return new ResilientError(code, message, closeCode, cause === undefined ? undefined : { cause });
}

/** Cross-realm guard: works for errors from another copy of the library or another realm. */
export function isResilientError(value: unknown): value is ResilientError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

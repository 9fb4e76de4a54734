import { utf8Length } from "../reliability/outbox.js";

/** Close codes the client acts on (RFC 6455 §7.4.1, IANA registry). */
export const NORMAL = 1000;
/** Synthesized for connections that ended without a close frame (timeout, dead link). */
export const ABNORMAL = 1006;
export const POLICY_VIOLATION = 1008;
/** "Try again later": the next attempt waits at least maxDelay. */
export const TRY_AGAIN_LATER = 1013;

/**
 * Default reconnect policy: 1008 (policy violation, typically auth) and 4000–4999 (application
 * codes) are not retried; everything else is, 1000 included (servers restart with it).
 */
export const retryable = (code: number): boolean => code != POLICY_VIOLATION && (code < 4000 || code > 4999);

/**
 * WebSocket.close() argument checks as browsers do them (WHATWG WebSockets §close()): the code must
 * be 1000 or 3000–4999 (InvalidAccessError), the reason at most 123 UTF-8 bytes (SyntaxError,
 * RFC 6455 §5.5: a control frame payload is at most 125 bytes, 2 of them the code).
 */
export function checkClose(code: number | undefined, reason: string | undefined): void {
  if (code !== undefined && code != NORMAL && !(code >= 3000 && code <= 4999))
    throw new DOMException("close code " + code, "InvalidAccessError");
  if (reason && utf8Length(reason) > 123) throw new DOMException("close reason > 123 bytes", "SyntaxError");
}

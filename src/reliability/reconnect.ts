import { backoff, type BackoffOptions } from "./backoff.js";

export interface ReconnectPlanOptions extends BackoffOptions {
  /** Absent: no limit. */
  maxRetries?: number;
  resetAfter: number;
}

/**
 * The next reconnect attempt after a connection ended, or undefined when the retry budget is spent.
 * `uptime` is how long the connection that just ended stayed open (0 if the attempt failed): only a
 * connection that stayed up `resetAfter` ms resets the count, so a server that accepts and drops at
 * once still backs off. `tryLater` (close code 1013) waits at least `maxDelay`; `minWait` is the
 * server's own wish (a handshake refused with 429/503 and Retry-After, RFC 9110 §10.2.3).
 */
export function nextAttempt(
  attempt: number,
  uptime: number,
  o: ReconnectPlanOptions,
  tryLater: boolean,
  random?: () => number,
  minWait = 0,
): { attempt: number; delay: number } | undefined {
  attempt = (uptime >= o.resetAfter ? 0 : attempt) + 1;
  // An absent maxRetries compares false: no limit.
  if (attempt > o.maxRetries!) return;
  const delay = backoff(attempt, o, random);
  return { attempt, delay: Math.max(delay, tryLater ? o.maxDelay : 0, minWait) };
}

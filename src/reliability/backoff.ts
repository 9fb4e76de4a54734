/** What the delay before a reconnect attempt depends on (normalized reconnect options). */
export interface BackoffOptions {
  minDelay: number;
  maxDelay: number;
  factor: number;
  /** @default "full" (absent is "full") */
  jitter?: "full" | "none";
}

/**
 * Delay before reconnect attempt `attempt` (1 for the first retry). A pure function.
 *
 * - `"none"`: `minDelay · factor^(attempt−1)`, capped at `maxDelay` (500, 1000, 2000, … 30000).
 * - `"full"`: uniform in `[minDelay, min(maxDelay, minDelay · factor^attempt)]`, so even the first
 *   retry is spread (clients dropped by one server restart do not return in lockstep) and no delay
 *   is ever below `minDelay`.
 */
export function backoff(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const cap = (n: number) => Math.min(o.maxDelay, o.minDelay * o.factor ** n);
  return o.jitter == "none" ? cap(attempt - 1) : Math.min(o.maxDelay, o.minDelay + random() * (cap(attempt) - o.minDelay));
}

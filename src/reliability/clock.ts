/**
 * The time source of the reliability parts. Injected so unit tests drive time with a fake clock;
 * the default reads the globals only when called, so importing does no work.
 */
export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds, monotonic enough for uptime and round-trip measurements. */
  now(): number;
}

export const systemClock: Clock = {
  // Timers hold a signed 32-bit delay: a longer one (a large Retry-After or maxDelay, or Infinity
  // for "never") would fire at once in browsers and Node and turn a wait into a tight loop.
  setTimeout: (callback, ms) => setTimeout(callback, Math.min(ms, 2 ** 31 - 1)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

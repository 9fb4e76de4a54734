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
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

import type { Clock } from "./clock.js";

export interface Keepalive {
  /** Inbound traffic seen; `reply` marks a pong or heartbeat reply, which measures the round trip. */
  alive(reply?: boolean): void;
  /** Probe now (a page back from the background must not trust a stale socket), unless a probe is unanswered. */
  probe(): void;
  /** Returns undefined, so `ka = ka?.stop()` both stops and forgets. */
  stop(): undefined;
}

/**
 * Liveness of one connection. Timers run only while the link is quiet: any inbound message resets
 * the quiet period cheaply (a timestamp, no timer churn per message). After `interval` ms of silence
 * `probe` is called (protocol ping or heartbeat message); if still nothing arrives within `timeout`,
 * `dead` is called. A silent link is therefore declared dead within `interval + timeout`.
 */
export function keepalive(
  o: { interval: number; timeout: number },
  clock: Clock,
  probe: () => void,
  dead: () => void,
  rtt?: (ms: number) => void,
): Keepalive {
  let last = clock.now();
  let sentAt = -1;
  let timer: unknown;
  const arm = (ms: number) => (timer = clock.setTimeout(tick, ms));
  const send = () => {
    sentAt = clock.now();
    arm(o.timeout);
    probe();
  };
  function tick() {
    if (sentAt >= 0) {
      if (last < sentAt) return dead();
      sentAt = -1;
    }
    const quiet = clock.now() - last;
    quiet < o.interval ? arm(o.interval - quiet) : send();
  }
  arm(o.interval);
  return {
    alive(reply) {
      last = clock.now();
      if (reply && sentAt >= 0) rtt?.(last - sentAt);
    },
    // A probe already unanswered keeps its deadline: probing again would postpone dead().
    probe() {
      if (sentAt < 0) clock.clearTimeout(timer), send();
    },
    stop: () => void clock.clearTimeout(timer),
  };
}

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
 *
 * A link busy with a large message is not silent, though no message completes: the probe (or its
 * answer) waits behind the message's bytes, which TCP delivers in order. `moving`, asked when the
 * probe goes and again when its time is up, says whether bytes moved in between (received, or taken
 * from a backlog the transport had to wait for); while they do, the probe gets another `timeout`.
 * Bytes stop moving soon after a link dies, so a dead link costs at most about one more `timeout`.
 */
export function keepalive(
  o: { interval: number; timeout: number },
  clock: Clock,
  probe: () => void,
  dead: () => void,
  rtt?: (ms: number) => void,
  moving?: () => boolean,
): Keepalive {
  let last = clock.now();
  let sentAt = -1;
  let timer: unknown;
  const arm = (ms: number) => (timer = clock.setTimeout(tick, ms));
  const send = () => {
    sentAt = clock.now();
    arm(o.timeout);
    probe();
    // After the probe: its own bytes (a heartbeat message) leaving are no sign of life.
    moving?.();
  };
  function tick() {
    if (sentAt >= 0) {
      if (last < sentAt) return moving?.() ? arm(o.timeout) : dead();
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

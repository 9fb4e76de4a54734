// FX price feed for the demo: a bounded random walk per currency pair, a few ticks per second.
// Pure and timer-free: the server decides when to call tick().
export const PAIRS = {
  "EUR/USD": { mid: 1.0842, pip: 0.0001 },
  "GBP/USD": { mid: 1.2675, pip: 0.0001 },
  "USD/JPY": { mid: 151.32, pip: 0.01 },
  "AUD/USD": { mid: 0.6571, pip: 0.0001 },
  "USD/CHF": { mid: 0.8843, pip: 0.0001 },
  "EUR/GBP": { mid: 0.8554, pip: 0.0001 },
};

export function createFeed(random = Math.random) {
  const state = Object.fromEntries(Object.entries(PAIRS).map(([pair, p]) => [pair, { ...p, start: p.mid }]));
  let seq = 0;
  return {
    /** Moves one random pair by up to ±3 pips (kept within ±2% of its start) and returns a quote. */
    tick() {
      const pairs = Object.keys(state);
      const pair = pairs[Math.floor(random() * pairs.length)];
      const s = state[pair];
      const step = Math.round((random() - 0.5) * 6) * s.pip;
      s.mid = Math.min(s.start * 1.02, Math.max(s.start * 0.98, s.mid + step));
      const spread = 2 * s.pip;
      const digits = s.pip < 0.001 ? 5 : 3;
      seq += 1;
      return {
        type: "quote",
        seq,
        pair,
        bid: Number((s.mid - spread / 2).toFixed(digits)),
        ask: Number((s.mid + spread / 2).toFixed(digits)),
        ts: Date.now(),
      };
    },
    /** Current quotes of every pair (sent to each new connection so its table fills at once). */
    snapshot() {
      return Object.entries(state).map(([pair, s]) => {
        const digits = s.pip < 0.001 ? 5 : 3;
        return { type: "quote", seq, pair, bid: Number((s.mid - s.pip).toFixed(digits)), ask: Number((s.mid + s.pip).toFixed(digits)), ts: Date.now() };
      });
    },
  };
}

// A small seeded PRNG for the chaos tests (test/node/node-client-chaos.test.ts in Node, Deno and
// Bun; test/browser/chaos.test.ts in Chromium): a seed replays the same fault plan everywhere.
// Runtime-neutral on purpose, like events.ts.

/** mulberry32: uniform numbers in [0, 1) from a 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

import assert from "node:assert/strict";
import { test } from "node:test";
import { backoff } from "../../src/reliability/backoff.js";
import { nextAttempt } from "../../src/reliability/reconnect.js";

const o = { minDelay: 500, maxDelay: 30_000, factor: 2, jitter: "full" as const };
const plan = { ...o, maxRetries: 5, resetAfter: 5_000 };

test("backoff without jitter doubles from minDelay and is capped at maxDelay", () => {
  const none = { ...o, jitter: "none" as const };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoff(n, none)),
    [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
});

test("full jitter stays within [minDelay, min(maxDelay, minDelay*factor^attempt)]", () => {
  for (let attempt = 1; attempt <= 12; attempt++) {
    const cap = Math.min(30_000, 500 * 2 ** attempt);
    assert.equal(backoff(attempt, o, () => 0), 500);
    assert.equal(backoff(attempt, o, () => 0.999999), 500 + 0.999999 * (cap - 500));
    for (let i = 0; i < 50; i++) {
      const d = backoff(attempt, o);
      assert.ok(d >= 500 && d <= cap, `attempt ${attempt}: ${d} not in [500, ${cap}]`);
    }
  }
});

test("full jitter spreads clients: 1000 first retries cover the range, not one value", () => {
  const delays = Array.from({ length: 1000 }, () => backoff(1, o));
  const buckets = new Set(delays.map((d) => Math.floor((d - 500) / 50)));
  assert.equal(buckets.size, 10, "every 50 ms bucket of [500, 1000) is hit");
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  assert.ok(mean > 700 && mean < 800, `mean ${mean} near 750`);
});

test("a maxDelay below minDelay caps every delay", () => {
  assert.equal(backoff(1, { ...o, minDelay: 1000, maxDelay: 200 }, () => 0.5), 200);
});

test("nextAttempt counts attempts and stops after maxRetries", () => {
  let attempt = 0;
  const seen: number[] = [];
  for (;;) {
    const next = nextAttempt(attempt, 0, plan, false, () => 0);
    if (!next) break;
    seen.push(next.attempt);
    attempt = next.attempt;
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
});

test("the attempt count resets only after resetAfter ms of uptime", () => {
  assert.equal(nextAttempt(4, 4_999, plan, false)!.attempt, 5, "short uptime keeps counting");
  assert.equal(nextAttempt(4, 5_000, plan, false)!.attempt, 1, "stable uptime resets");
  assert.equal(nextAttempt(5, 0, plan, false), undefined, "budget spent");
  assert.equal(nextAttempt(5, 6_000, plan, false)!.attempt, 1, "a stable connection restores the budget");
});

test("close code 1013 (try again later) waits at least maxDelay", () => {
  assert.equal(nextAttempt(0, 0, plan, true, () => 0)!.delay, 30_000);
  assert.equal(nextAttempt(0, 0, plan, false, () => 0)!.delay, 500);
});

test("a server's Retry-After is a floor for the next delay, never a ceiling", () => {
  assert.equal(nextAttempt(0, 0, plan, false, () => 0, 7_000)!.delay, 7_000);
  assert.equal(nextAttempt(0, 0, plan, true, () => 0, 7_000)!.delay, 30_000, "1013 still waits maxDelay");
  assert.equal(nextAttempt(0, 0, plan, false, () => 0, 100)!.delay, 500);
});

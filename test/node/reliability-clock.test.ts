/** The system clock the reliability parts use outside tests. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { systemClock } from "../../src/reliability/clock.js";

test("systemClock.setTimeout: a delay beyond a timer's signed 32-bit range waits instead of firing at once", async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on("warning", onWarning);
  let fired = 0;
  const handles = [2 ** 31, 3_000_000_000, Infinity].map((ms) => systemClock.setTimeout(() => fired++, ms));
  const control = new Promise<void>((resolve) => systemClock.setTimeout(resolve, 20));
  await control;
  await new Promise((resolve) => setTimeout(resolve, 30));
  for (const h of handles) systemClock.clearTimeout(h);
  process.off("warning", onWarning);
  assert.equal(fired, 0);
  assert.deepEqual(warnings, []);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { keepalive } from "../../src/reliability/keepalive.js";
import { FakeClock } from "./client-helpers.js";

function setup() {
  const clock = new FakeClock();
  const log: string[] = [];
  const rtts: number[] = [];
  const k = keepalive({ interval: 1000, timeout: 300 }, clock, () => log.push(`probe@${clock.t}`), () => log.push(`dead@${clock.t}`), (ms) => rtts.push(ms));
  return { clock, log, rtts, k };
}

test("a silent link is probed after interval and declared dead within interval + timeout", async () => {
  const { clock, log, k } = setup();
  await clock.advance(5000);
  assert.deepEqual(log, ["probe@1000", "dead@1300"]);
  k.stop();
});

test("a pong keeps the link alive and gives the round-trip time", async () => {
  const { clock, log, rtts, k } = setup();
  await clock.advance(1000);
  await clock.advance(40);
  k.alive(true);
  await clock.advance(1000);
  assert.deepEqual(log, ["probe@1000", "probe@2040"]);
  assert.deepEqual(rtts, [40]);
  k.stop();
  assert.equal(clock.timers.size, 0);
});

test("inbound traffic postpones probing: no probe while messages flow", async () => {
  const { clock, log, k } = setup();
  for (let i = 0; i < 10; i++) {
    await clock.advance(500);
    k.alive();
  }
  assert.deepEqual(log, []);
  await clock.advance(1300);
  assert.deepEqual(log, ["probe@6000", "dead@6300"]);
});

test("probe() probes at once and the timeout applies", async () => {
  const { clock, log, k } = setup();
  await clock.advance(100);
  k.probe();
  await clock.advance(300);
  assert.deepEqual(log, ["probe@100", "dead@400"]);
});

test("probe() while a probe is unanswered does not postpone dead(): a flapping network cannot hide a dead link", async () => {
  // online and visibilitychange call probe(): each used to send again and restart the timeout, so
  // events coming more often than `timeout` kept a half-open link alive for ever.
  const { clock, log, k } = setup();
  await clock.advance(1000);
  for (let i = 0; i < 5; i++) {
    await clock.advance(100);
    k.probe();
  }
  await clock.advance(1000);
  assert.deepEqual(log, ["probe@1000", "dead@1300"]);
});

test("stop() clears the timer", async () => {
  const { clock, log, k } = setup();
  k.stop();
  await clock.advance(10_000);
  assert.deepEqual(log, []);
});

test("a probe waiting behind moving bytes gets another timeout each time they moved, and dead() once they stop", async () => {
  // A large message on the link: the probe, or its answer, waits behind its bytes (TCP keeps order).
  const clock = new FakeClock();
  const log: string[] = [];
  const answers = [true, true, false];
  const asked: number[] = [];
  const moving = () => (asked.push(clock.t), asked.length > 1 ? answers.shift()! : false);
  const k = keepalive({ interval: 1000, timeout: 300 }, clock, () => log.push(`probe@${clock.t}`), () => log.push(`dead@${clock.t}`), undefined, moving);
  await clock.advance(5000);
  // Asked when the probe goes (its baseline), then at each expiry.
  assert.deepEqual(asked, [1000, 1300, 1600, 1900]);
  assert.deepEqual(log, ["probe@1000", "dead@1900"]);
  k.stop();
});

test("the answer that comes after the bytes ahead of it ends the wait; the round trip counts from the probe", async () => {
  const clock = new FakeClock();
  const log: string[] = [];
  const rtts: number[] = [];
  const k = keepalive({ interval: 1000, timeout: 300 }, clock, () => log.push(`probe@${clock.t}`), () => log.push(`dead@${clock.t}`), (ms) => rtts.push(ms), () => true);
  await clock.advance(1700);
  k.alive(true);
  await clock.advance(1000);
  assert.deepEqual(log, ["probe@1000", "probe@2700"]);
  assert.deepEqual(rtts, [700]);
  k.stop();
  assert.equal(clock.timers.size, 0);
});

test("without `moving`, an unanswered probe is dead after exactly one timeout", async () => {
  const clock = new FakeClock();
  const log: string[] = [];
  keepalive({ interval: 1000, timeout: 300 }, clock, () => log.push(`probe@${clock.t}`), () => log.push(`dead@${clock.t}`), undefined, () => false);
  await clock.advance(5000);
  assert.deepEqual(log, ["probe@1000", "dead@1300"]);
});

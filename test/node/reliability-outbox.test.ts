import assert from "node:assert/strict";
import { test } from "node:test";
import { outbox, sizeOf, utf8Length, type DropReason, type OutboxOptions } from "../../src/reliability/outbox.js";
import { isResilientError } from "../../src/errors.js";
import { FakeClock } from "./client-helpers.js";

function box(o: Partial<OutboxOptions> = {}) {
  const clock = new FakeClock();
  const drops: Array<[string, DropReason]> = [];
  const q = outbox<string, string>(
    { maxMessages: 3, maxBytes: 1 << 20, overflow: "drop-oldest", ttl: Infinity, ...o },
    clock,
    (m, why) => drops.push([m, why]),
  );
  const drain = () => {
    const out: string[] = [];
    for (let e; (e = q.take()); ) out.push(e.m);
    return out;
  };
  return { q, clock, drops, drain };
}

test("utf8Length equals the UTF-8 byte length, multibyte and surrogate pairs included", () => {
  for (const s of ["", "hello", "é", "€", "日本語", "😀", "a😀b€é", "\u07ff\u0800", "\uffff", "x".repeat(1000) + "😀".repeat(100)])
    assert.equal(utf8Length(s), Buffer.byteLength(s, "utf8"), JSON.stringify(s));
  assert.equal(utf8Length("\ud800"), 3, "a lone surrogate is sent as U+FFFD, 3 bytes");
  assert.equal(utf8Length("\udc00a"), 4);
  // random strings over the whole BMP plus astral characters
  for (let i = 0; i < 200; i++) {
    const s = String.fromCodePoint(...Array.from({ length: 20 }, () => Math.floor(Math.random() * 0x10ffff) & ~0x800 | 0));
    assert.equal(utf8Length(s), new TextEncoder().encode(s).byteLength);
  }
});

test("sizeOf counts bytes of strings, buffers, views and blobs", () => {
  assert.equal(sizeOf("€"), 3);
  assert.equal(sizeOf(new ArrayBuffer(7)), 7);
  assert.equal(sizeOf(new Uint16Array(4)), 8);
  assert.equal(sizeOf(new Blob(["abcd"])), 4);
});

test("messages come out in the order they went in", () => {
  const { q, drain } = box({ maxMessages: 100 });
  for (const m of ["a", "b", "c", "d"]) assert.equal(q.push(m, m, undefined), true);
  assert.deepEqual(drain(), ["a", "b", "c", "d"]);
  assert.equal(q.bytes, 0);
});

test("drop-oldest discards the oldest and raises drop for each", () => {
  const { q, drops, drain } = box();
  for (const m of ["a", "b", "c", "d", "e"]) assert.equal(q.push(m, m, undefined), true);
  assert.deepEqual(drops, [["a", "overflow"], ["b", "overflow"]]);
  assert.deepEqual(drain(), ["c", "d", "e"]);
});

test("drop-newest rejects the message being queued", () => {
  const { q, drops, drain } = box({ overflow: "drop-newest" });
  const results = ["a", "b", "c", "d"].map((m) => q.push(m, m, undefined));
  assert.deepEqual(results, [true, true, true, false]);
  assert.deepEqual(drops, [["d", "overflow"]]);
  assert.deepEqual(drain(), ["a", "b", "c"]);
});

test("error overflow throws ERR_QUEUE_FULL and keeps the queue as it was", () => {
  const { q, drops, drain } = box({ overflow: "error" });
  for (const m of ["a", "b", "c"]) q.push(m, m, undefined);
  assert.throws(
    () => q.push("d", "d", undefined),
    (e: unknown) => isResilientError(e) && e.code == "ERR_QUEUE_FULL",
  );
  assert.deepEqual(drops, []);
  assert.deepEqual(drain(), ["a", "b", "c"]);
});

test("the byte limit counts UTF-8 bytes, not string length", () => {
  const { q, drops } = box({ maxMessages: 100, maxBytes: 10 });
  q.push("€€", "€€", undefined); // 6 bytes, 2 UTF-16 units
  assert.equal(q.bytes, 6);
  q.push("é", "é", undefined); // 2 bytes: 8
  q.push("éé", "éé", undefined); // 4 bytes: 12 > 10, evicts "€€"
  assert.deepEqual(drops, [["€€", "overflow"]]);
  assert.equal(q.bytes, 6);
});

test("a message larger than maxBytes on its own is dropped, the queue kept", () => {
  const { q, drops, drain } = box({ maxMessages: 100, maxBytes: 4 });
  q.push("ab", "ab", undefined);
  assert.equal(q.push("12345", "12345", undefined), false);
  assert.deepEqual(drops, [["12345", "overflow"]]);
  assert.deepEqual(drain(), ["ab"]);
});

test("ttl: expired messages are dropped with reason ttl instead of sent", async () => {
  const { q, clock, drops, drain } = box({ maxMessages: 100, ttl: 1000 });
  q.push("old", "old", undefined);
  await clock.advance(600);
  q.push("new", "new", undefined);
  await clock.advance(500);
  assert.deepEqual(drain(), ["new"]);
  assert.deepEqual(drops, [["old", "ttl"]]);
});

test("clear drops everything with the given reason", () => {
  const { q, drops } = box();
  q.push("a", "a", undefined);
  q.push("b", "b", undefined);
  q.clear("closed");
  assert.deepEqual(drops, [["a", "closed"], ["b", "closed"]]);
  assert.equal(q.bytes, 0);
});

test("ttl: a message is dropped when it expires, not when the queue is next touched; the timer follows the oldest", async () => {
  const { q, clock, drops, drain } = box({ maxMessages: 100, ttl: 1000 });
  q.push("a", "aa", undefined);
  await clock.advance(400);
  q.push("b", "bbb", undefined);
  assert.equal(clock.timers.size, 1, "one timer, for the oldest message");
  await clock.advance(600);
  assert.deepEqual(drops, [], "not before its ttl");
  await clock.advance(1);
  assert.deepEqual(drops, [["a", "ttl"]]);
  assert.equal(q.bytes, 3);
  await clock.advance(400);
  assert.deepEqual(drops, [["a", "ttl"], ["b", "ttl"]]);
  assert.equal(q.bytes, 0);
  assert.equal(clock.timers.size, 0, "no timer while nothing waits");
  q.push("c", "c", undefined);
  assert.deepEqual(drain(), ["c"]);
  assert.equal(clock.timers.size, 0, "taking the last message stops the timer");
  q.push("d", "d", undefined);
  q.clear("closed");
  assert.equal(clock.timers.size, 0, "clearing stops the timer");
});

test("without a ttl the queue sets no timer", () => {
  const { q, clock } = box({ maxMessages: 100 });
  q.push("a", "a", undefined);
  assert.equal(clock.timers.size, 0);
});

import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { clientMessages, createMessageStream, type MessageSubscribe, type MessagesOptions } from "../../src/client/messages.js";
import { isResilientError } from "../../src/errors.js";
import { ResilientWebSocket } from "../../src/client/client.js";
import { json } from "../../src/client/codecs.js";
import { messages } from "../../src/client/messages.js";
import { FakeClock, flush, transport } from "./client-helpers.js";

/** A source the test drives by hand. */
function source<T>() {
  let push: ((m: T) => void) | undefined;
  let end: (() => void) | undefined;
  let subscribed = 0;
  const subscribe: MessageSubscribe<T> = (p, e) => {
    push = p;
    end = e;
    subscribed++;
    return () => subscribed--;
  };
  return {
    subscribe,
    push: (m: T) => push?.(m),
    end: () => end?.(),
    get subscribed() {
      return subscribed;
    },
  };
}

function stream<T>(options?: MessagesOptions<T>) {
  const src = source<T>();
  return { src, messages: createMessageStream<T>(src.subscribe, options) };
}

describe("MessageStream", () => {
  it("delivers messages in order, buffered or awaited, and ends when the source ends", async () => {
    const { src, messages } = stream<number>();
    src.push(1);
    src.push(2);
    const seen: number[] = [];
    const loop = (async () => {
      for await (const m of messages) seen.push(m);
    })();
    await Promise.resolve();
    src.push(3);
    src.end();
    await loop;
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(src.subscribed, 0, "unsubscribed when the source ended");
  });

  it("buffered messages are still delivered after the source ends", async () => {
    const { src, messages } = stream<string>();
    src.push("a");
    src.end();
    src.push("after end");
    const seen: string[] = [];
    for await (const m of messages) seen.push(m);
    assert.deepEqual(seen, ["a"]);
  });

  it("break unsubscribes", async () => {
    const { src, messages } = stream<number>();
    src.push(1);
    src.push(2);
    for await (const m of messages) {
      assert.equal(m, 1);
      break;
    }
    assert.equal(src.subscribed, 0);
    assert.deepEqual(await messages.next(), { value: undefined, done: true });
  });

  it('drop-oldest (default) keeps the newest bufferSize messages and reports each drop', async () => {
    const dropped: number[] = [];
    const { src, messages } = stream<number>({ bufferSize: 3, ondrop: (m) => dropped.push(m) });
    for (let i = 1; i <= 5; i++) src.push(i);
    src.end();
    const seen: number[] = [];
    for await (const m of messages) seen.push(m);
    assert.deepEqual(seen, [3, 4, 5]);
    assert.deepEqual(dropped, [1, 2]);
    assert.equal(messages.dropped, 2);
  });

  it("drop-newest keeps the oldest", async () => {
    const { src, messages } = stream<number>({ bufferSize: 2, overflow: "drop-newest" });
    for (let i = 1; i <= 4; i++) src.push(i);
    src.end();
    const seen: number[] = [];
    for await (const m of messages) seen.push(m);
    assert.deepEqual(seen, [1, 2]);
    assert.equal(messages.dropped, 2);
  });

  it('overflow "error" delivers the buffer, then throws ERR_QUEUE_FULL and stops listening', async () => {
    const { src, messages } = stream<number>({ bufferSize: 2, overflow: "error" });
    for (let i = 1; i <= 3; i++) src.push(i);
    assert.equal(src.subscribed, 0);
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const m of messages) seen.push(m);
      })(),
      (error) => isResilientError(error) && error.code === "ERR_QUEUE_FULL" && error.cause === 3,
    );
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(await messages.next(), { value: undefined, done: true });
  });

  it("abort ends a waiting loop at once and discards the buffer", async () => {
    const controller = new AbortController();
    const { src, messages } = stream<number>({ signal: controller.signal });
    const seen: number[] = [];
    const loop = (async () => {
      for await (const m of messages) {
        seen.push(m);
        controller.abort();
      }
    })();
    await Promise.resolve();
    src.push(1);
    src.push(2);
    await loop;
    assert.deepEqual(seen, [1]);
    assert.equal(src.subscribed, 0);
  });

  it("an already aborted signal never subscribes", async () => {
    const src = source<number>();
    const messages = createMessageStream<number>(src.subscribe, { signal: AbortSignal.abort() });
    assert.equal(src.subscribed, 0);
    assert.deepEqual(await messages.next(), { value: undefined, done: true });
  });

  it("a source that ends inside subscribe (client already closed) ends the stream", async () => {
    let unsubscribed = false;
    const messages = createMessageStream<number>((_push, end) => {
      end();
      return () => (unsubscribed = true);
    });
    assert.equal(unsubscribed, true);
    assert.deepEqual(await messages.next(), { value: undefined, done: true });
  });

  it("keeps order across buffer compaction with a slow consumer", async () => {
    const { src, messages } = stream<number>({ bufferSize: 500 });
    const seen: number[] = [];
    let pushed = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) src.push(pushed++);
      for (let i = 0; i < 30; i++) seen.push((await messages.next()).value as number);
    }
    src.end();
    for await (const m of messages) seen.push(m);
    assert.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i));
  });

  it("rejects a bufferSize below 1", () => {
    assert.throws(() => stream({ bufferSize: 0 }), { code: "ERR_INVALID_ARGUMENT" });
  });
});

describe("clientMessages", () => {
  it("iterates a client's message events and ends when it reaches the closed state", async () => {
    const host = Object.assign(new EventTarget(), { readyState: 1 });
    const emit = (type: string, fields: object) => host.dispatchEvent(Object.assign(new Event(type), fields));
    const messages = clientMessages<string>(host);
    emit("message", { data: "a" });
    emit("statechange", { from: "open", to: "reconnecting" });
    emit("message", { data: "b" });
    emit("statechange", { from: "closing", to: "closed" });
    emit("message", { data: "c" });
    const seen: string[] = [];
    for await (const m of messages) seen.push(m);
    assert.deepEqual(seen, ["a", "b"]);
  });

  it("a client already closed gives an empty stream", async () => {
    const host = Object.assign(new EventTarget(), { readyState: 3 });
    assert.deepEqual(await clientMessages(host).next(), { value: undefined, done: true });
  });
});

describe("messages(): ending by the source is not the consumer being done (found by typed-property.test.ts)", () => {
  async function openClient() {
    const t = transport();
    const ws = new ResilientWebSocket<{ n: number }, never>("ws://test.invalid/", { WebSocket: t.WebSocket, clock: new FakeClock(), window: null, codec: json() });
    await flush();
    t.last().serverOpen();
    return { ws, socket: t.last() };
  }

  it("return() after an overflow \"error\" discards the pending error: next() is done", async () => {
    const { ws, socket } = await openClient();
    const stream = messages(ws, { bufferSize: 1, overflow: "error" });
    socket.serverMessage('{"n":1}');
    socket.serverMessage('{"n":2}');
    assert.deepEqual(await stream.return(), { value: undefined, done: true });
    assert.equal(stream.buffered, 0);
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
    ws.close();
  });

  it("abort after the client closed for good ends the stream at once, discarding what it buffered", async () => {
    const { ws, socket } = await openClient();
    const ctrl = new AbortController();
    const stream = messages(ws, { signal: ctrl.signal });
    socket.serverMessage('{"n":1}');
    socket.serverClose(4000); // not retried: closed for good, the stream drains its buffer
    ctrl.abort();
    assert.equal(stream.buffered, 0);
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });

  it("abort after an overflow \"error\" discards the buffer and the error", async () => {
    const { ws, socket } = await openClient();
    const ctrl = new AbortController();
    const stream = messages(ws, { bufferSize: 1, overflow: "error", signal: ctrl.signal });
    socket.serverMessage('{"n":1}');
    socket.serverMessage('{"n":2}');
    ctrl.abort();
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
    ws.close();
  });

  it("the abort listener stays while abort has something to discard, and goes once the consumer read the end", async () => {
    const { ws, socket } = await openClient();
    const ctrl = new AbortController();
    const stream = messages(ws, { signal: ctrl.signal });
    socket.serverMessage('{"n":1}');
    socket.serverClose(4000); // closed for good
    assert.equal(ws.state, "closed");
    const listeners = () => (getEventListeners(ctrl.signal, "abort") as unknown[]).length;
    assert.equal(listeners(), 1, "one message still buffered");
    assert.deepEqual(await stream.next(), { value: { n: 1 }, done: false });
    assert.equal(listeners(), 0, "nothing left to discard");
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });
});

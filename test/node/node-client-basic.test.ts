// The built-in client against a real `ws` server: messages, binaryType, ping/pong, the close
// handshake both ways, bufferedAmount and the W3C argument checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { WebSocket, CloseEvent, type PongEvent } from "../../src/node-client.js";
import { frameArena } from "../../src/adapters/node/frame-arena.js";
import { closeCodeOf, closed, FrameReader, messages, next, rawServer, serverFrame, serverMessages, wsServer } from "./node-client-helpers.js";

/** close() and wait for the close event. */
async function closeNormally(ws: WebSocket): Promise<void> {
  const done = next(ws, "close");
  ws.close();
  await done;
}

async function open(url: string, protocols?: string | string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  await next(ws, "open");
  return ws;
}

test("echo: text, binary as ArrayBuffer and Blob, views, in send() order", async () => {
  const peer = await wsServer();
  const ws = await open(peer.url);
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.equal(ws.binaryType, "blob");
  ws.binaryType = "arraybuffer";
  const got = messages(ws, 6);
  ws.send("héllo 👋");
  ws.send(new Uint8Array([1, 2, 3]).buffer);
  ws.send(new Blob([new Uint8Array([4, 5])]));
  ws.send(new Uint16Array([0x0706, 0x0908]).subarray(1));
  ws.send(new DataView(new Uint8Array([10, 11, 12]).buffer, 1, 1));
  ws.send("last");
  const data = await got;
  assert.equal(data[0], "héllo 👋");
  assert.deepEqual([...new Uint8Array(data[1] as ArrayBuffer)], [1, 2, 3]);
  assert.deepEqual([...new Uint8Array(data[2] as ArrayBuffer)], [4, 5]);
  assert.deepEqual([...new Uint8Array(data[3] as ArrayBuffer)], [8, 9]);
  assert.deepEqual([...new Uint8Array(data[4] as ArrayBuffer)], [11]);
  assert.equal(data[5], "last");
  const done = closed(ws);
  ws.close();
  assert.equal((await done).wasClean, true);
  await peer.close();
});

test("binaryType blob delivers Blobs; invalid binaryType values are ignored", async () => {
  const peer = await wsServer();
  const ws = await open(peer.url);
  ws.binaryType = "nonsense";
  assert.equal(ws.binaryType, "blob");
  ws.send(new Uint8Array([1, 2, 3]));
  const [blob] = await messages(ws, 1);
  assert.ok(blob instanceof Blob);
  assert.deepEqual([...new Uint8Array(await (blob as Blob).arrayBuffer())], [1, 2, 3]);
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("large messages: 1 MiB and 16 MiB round trips are byte-exact", async () => {
  const peer = await wsServer();
  const ws = await open(peer.url);
  ws.binaryType = "arraybuffer";
  for (const size of [1 << 20, 16 << 20]) {
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) payload[i] = (i >>> 12) & 0xff;
    payload[size - 1] = 0x5a;
    ws.send(payload);
    const [echo] = await messages(ws, 1);
    assert.equal((echo as ArrayBuffer).byteLength, size);
    assert.ok(Buffer.from(echo as ArrayBuffer).equals(payload), `${size} bytes differ`);
  }
  ws.close();
  await next(ws, "close");
  await peer.close();
});

/** `length` bytes that differ from message to message (`seed`), at `offset` into their ArrayBuffer. */
function distinct(seed: number, length: number, offset = 0): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(offset + length), offset, length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 101 + (i >>> 10)) & 0xff;
  return bytes;
}

test("arena regions are not reused while frames still wait for a server that does not read", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  try {
    const server = await connected;
    server.pause();
    const count = 28;
    // A corrupted frame makes the server close the connection: fail then instead of waiting.
    const all = serverMessages(server, count);
    // Sizes around the pool's limits (64 KiB, 4 MiB + 64 KiB), views at every alignment mod 8 (so
    // both masking paths write into pooled buffers), each message with its own contents: a buffer
    // reused too early would overwrite a frame that is still queued.
    const sizes = [65535, 65536, 65537, 1 << 20, (1 << 20) + 3, 300_001, 4 * 1024 * 1024 + 48 * 1024, 5 << 20];
    const sent: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const payload = distinct(i, sizes[i % sizes.length]!, i % 8);
      sent.push(payload);
      ws.send(payload);
    }
    // The kernel takes a few MiB at most: most frames are still queued in the socket.
    assert.ok(ws.bufferedAmount > 16 << 20, `only ${ws.bufferedAmount} bytes queued`);
    server.resume();
    const received = await all;
    for (let i = 0; i < count; i++) {
      assert.equal(received[i]!.length, sent[i]!.length, `message ${i} length`);
      assert.ok(received[i]!.equals(sent[i]!), `message ${i} (${sent[i]!.length} bytes) differs`);
    }
    // Every arena region came back once its frame was written.
    assert.equal(frameArena().usedBytes, 0);
    await closeNormally(ws);
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("a large message the kernel takes during send() gives its arena regions back before send() returns", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  try {
    const server = await connected;
    const received = serverMessages(server, 3);
    const before = frameArena().usedBytes;
    const sent = [distinct(1, 1 << 20), distinct(2, (2 << 20) + 5, 3), distinct(3, 700_000)];
    for (const payload of sent) {
      ws.send(payload);
      // An idle loopback socket takes over 3 MiB at once (so nothing is buffered), and then every
      // piece's region is free again: the next piece, and the next message, reuse it in cache.
      assert.equal(ws.bufferedAmount, 0, `${payload.length} bytes`);
      assert.equal(frameArena().usedBytes, before, `${payload.length} bytes: regions back`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const got = await received;
    for (let i = 0; i < sent.length; i++) assert.ok(got[i]!.equals(sent[i]!), `message ${i} differs`);
    await closeNormally(ws);
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("large messages sent from a message listener are written at once, in order with the batched small ones", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  try {
    const server = await connected;
    const received = serverMessages(server, 7);
    const large = [distinct(4, 1 << 20), distinct(5, 600_000), distinct(6, 1 << 20)];
    const before = frameArena().usedBytes;
    let heldAfterFirstLarge = -1;
    ws.onmessage = () => {
      // Replies from a listener are batched: the first small one goes out, later small ones are
      // corked until the read is handled. A large message between them is not corked: it goes to
      // the kernel at once and its regions are free again before send() returns.
      ws.send("a");
      ws.send(large[0]!);
      heldAfterFirstLarge = frameArena().usedBytes - before;
      ws.send("b");
      ws.send(large[1]!);
      ws.send("c");
      ws.send(large[2]!);
      ws.send("d");
    };
    server.send("go");
    const got = await received;
    assert.equal(heldAfterFirstLarge, 0);
    assert.deepEqual(
      got.map((data) => (data.length < 2 ? data.toString() : data.length)),
      ["a", 1 << 20, "b", 600_000, "c", 1 << 20, "d"],
    );
    for (let i = 0; i < 3; i++) assert.ok(got[1 + 2 * i]!.equals(large[i]!), `large message ${i} differs`);
    assert.equal(frameArena().usedBytes, before);
    await closeNormally(ws);
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("large text messages (encoded into the arena) echo intact, in order with binary ones", async () => {
  const peer = await wsServer();
  const ws = await open(peer.url);
  try {
    ws.binaryType = "arraybuffer";
    const texts = ["é".repeat(40_000), "a".repeat(65_536) + "👋", "κόσμε ".repeat(50_001), "x".repeat(4 << 20)];
    const got = messages(ws, texts.length + 1);
    ws.send(texts[0]!);
    ws.send(distinct(7, 300_000));
    for (const text of texts.slice(1)) ws.send(text);
    const data = await got;
    assert.equal(data[0], texts[0]);
    assert.ok(Buffer.from(data[1] as ArrayBuffer).equals(distinct(7, 300_000)), "binary between texts");
    for (let i = 1; i < texts.length; i++) assert.equal(data[i + 1], texts[i], `text ${i}`);
    assert.equal(frameArena().usedBytes, 0);
    await closeNormally(ws);
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("frames queued when the connection drops do not corrupt the frames of the next connection", async () => {
  const peer = await wsServer({ echo: false });
  const first = peer.nextConnection();
  const dropped = await open(peer.url);
  const second = peer.nextConnection();
  let ws: WebSocket | undefined;
  try {
    (await first).pause();
    for (let i = 0; i < 12; i++) dropped.send(distinct(i, 1 << 20));
    const gone = closed(dropped);
    peer.sockets[0]!.terminate();
    assert.equal((await gone).code, 1006);
    // The frames still queued were dropped with the socket, and their arena regions came back.
    assert.equal(frameArena().usedBytes, 0);

    ws = await open(peer.url);
    const server = await second;
    const got = serverMessages(server, 12);
    const sent = Array.from({ length: 12 }, (_, i) => distinct(100 + i, (1 << 20) + i));
    for (const payload of sent) ws.send(payload);
    const received = await got;
    for (let i = 0; i < 12; i++) assert.ok(received[i]!.equals(sent[i]!), `message ${i} differs`);
    await closeNormally(ws);
  } finally {
    dropped.terminate();
    ws?.terminate();
    await peer.close();
  }
});

test("fragmented messages from the server are reassembled, with a ping between fragments", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  ws.binaryType = "arraybuffer";
  const server = await connected;
  const got = messages(ws, 2);
  server.send("frag", { fin: false });
  server.ping("in-between");
  server.send("ment", { fin: false });
  server.send("ed ✓", { fin: true });
  server.send(Buffer.from([1, 2]), { binary: true, fin: false });
  server.send(Buffer.from([3]), { binary: true, fin: true });
  const [text, binary] = await got;
  assert.equal(text, "fragmented ✓");
  assert.deepEqual([...new Uint8Array(binary as ArrayBuffer)], [1, 2, 3]);
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("ping from the client gets a pong event; server pings are answered automatically", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  const server = await connected;
  const pong = next<PongEvent>(ws, "pong");
  ws.ping("are you there");
  assert.equal(Buffer.from((await pong).data).toString(), "are you there");
  const serverPong = new Promise<Buffer>((resolve) => server.once("pong", resolve));
  server.ping(Buffer.from("server ping"));
  assert.equal((await serverPong).toString(), "server ping");
  assert.throws(() => ws.ping("x".repeat(126)), /125/);
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("client close: code and reason reach the server, close event is clean", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  const server = await connected;
  const serverSaw = new Promise<[number, string]>((resolve) => server.once("close", (code, reason) => resolve([code, reason.toString()])));
  const done = closed(ws);
  ws.close(4001, "client bye ✓");
  assert.equal(ws.readyState, WebSocket.CLOSING);
  assert.deepEqual(await serverSaw, [4001, "client bye ✓"]);
  const event = await done;
  assert.deepEqual({ code: event.code, reason: event.reason, wasClean: event.wasClean }, { code: 4001, reason: "client bye ✓", wasClean: true });
  assert.equal(ws.readyState, WebSocket.CLOSED);
  await peer.close();
});

test("server close: the client echoes the code and reports the server's code and reason", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  const server = await connected;
  const serverSaw = new Promise<number>((resolve) => server.once("close", (code) => resolve(code)));
  const done = closed(ws);
  server.close(1001, "going away");
  const event = await done;
  assert.equal(event.code, 1001);
  assert.equal(event.reason, "going away");
  assert.equal(event.wasClean, true);
  assert.equal(event.error, undefined);
  assert.equal(await serverSaw, 1001);
  await peer.close();
});

test("server close without a status: close event code 1005", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  const server = await connected;
  const done = closed(ws);
  server.close();
  assert.equal((await done).code, 1005);
  await peer.close();
});

test("TCP drop without a close frame: close 1006, not clean", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  const server = await connected;
  const done = closed(ws);
  server.terminate();
  const event = await done;
  assert.equal(event.code, 1006);
  assert.equal(event.wasClean, false);
  await peer.close();
});

test("messages sent before close() are delivered before the close frame", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  const server = await connected;
  const received: string[] = [];
  server.on("message", (data) => received.push(data.toString()));
  const serverClosed = new Promise<void>((resolve) => server.once("close", () => resolve()));
  const done = closed(ws);
  ws.send("one");
  ws.send(new Blob(["two"]));
  ws.send("three");
  ws.close(1000);
  ws.send("discarded");
  await serverClosed;
  assert.deepEqual(received, ["one", "two", "three"]);
  assert.equal((await done).wasClean, true);
  await peer.close();
});

test("bufferedAmount counts unsent bytes and falls to 0 once written", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  const server = await connected;
  // Stop the server from reading so the bytes stay in our buffers.
  (server as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  const size = 8 << 20;
  ws.send(new Uint8Array(size));
  assert.ok(ws.bufferedAmount > 0, "bytes not yet in the kernel are counted");
  assert.ok(ws.bufferedAmount <= size + 14, `at most payload + header, got ${ws.bufferedAmount}`);
  const got = new Promise<void>((resolve) => server.once("message", () => resolve()));
  (server as unknown as { _socket: { resume(): void } })._socket.resume();
  await got;
  // The server may read the last bytes in the same I/O turn before our write completion runs.
  for (let turns = 0; ws.bufferedAmount > 0 && turns < 100; turns++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(ws.bufferedAmount, 0);
  ws.close();
  await next(ws, "close");
  // After close, sends are discarded but counted, as in browsers.
  ws.send("12345");
  assert.equal(ws.bufferedAmount, 5);
  await peer.close();
});

test("W3C argument checks: URL, subprotocols, send while CONNECTING, close codes and reasons", async () => {
  assert.throws(() => new WebSocket("ftp://127.0.0.1/"), { name: "SyntaxError" });
  assert.throws(() => new WebSocket("not a url"), { name: "SyntaxError" });
  assert.throws(() => new WebSocket("ws://127.0.0.1/#frag"), { name: "SyntaxError" });
  assert.throws(() => new WebSocket("ws://127.0.0.1/", ["a", "a"]), { name: "SyntaxError" });
  assert.throws(() => new WebSocket("ws://127.0.0.1/", "bad protocol"), { name: "SyntaxError" });
  const peer = await wsServer();
  const ws = new WebSocket(peer.url.replace("ws:", "http:"));
  assert.equal(ws.url, `${peer.url}/`);
  assert.equal(ws.readyState, WebSocket.CONNECTING);
  assert.equal(ws.CONNECTING, 0);
  assert.throws(() => ws.send("early"), { name: "InvalidStateError" });
  await next(ws, "open");
  assert.throws(() => ws.close(1001), { name: "InvalidAccessError" });
  assert.throws(() => ws.close(2999), { name: "InvalidAccessError" });
  assert.throws(() => ws.close(5000), { name: "InvalidAccessError" });
  assert.throws(() => ws.close(1000, "é".repeat(62)), { name: "SyntaxError" });
  assert.equal(ws.readyState, WebSocket.OPEN);
  const done = closed(ws);
  ws.close(1000, "x".repeat(123));
  assert.equal((await done).reason, "x".repeat(123));
  await peer.close();
});

test("close() while CONNECTING fires error then close 1006, and never open", async () => {
  const peer = await wsServer();
  const ws = new WebSocket(peer.url);
  const order: string[] = [];
  ws.onopen = () => order.push("open");
  ws.onerror = () => order.push("error");
  const done = new Promise<CloseEvent>((resolve) => {
    ws.onclose = (event) => {
      order.push("close");
      resolve(event);
    };
  });
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const event = await done;
  assert.equal(event.code, 1006);
  assert.deepEqual(order, ["error", "close"]);
  assert.equal(ws.readyState, WebSocket.CLOSED);
  await peer.close();
});

test("on* handlers replace each other and can be removed", async () => {
  const peer = await wsServer();
  const ws = await open(peer.url);
  const calls: string[] = [];
  ws.onmessage = () => calls.push("first");
  ws.onmessage = (event) => calls.push(`second:${String(event.data)}`);
  ws.send("a");
  await next(ws, "message");
  ws.onmessage = null;
  assert.equal(ws.onmessage, null);
  ws.send("b");
  await next(ws, "message");
  assert.deepEqual(calls, ["second:a"]);
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("on* handlers are HTML event handlers: one listener kept in place, apart from addEventListener", async () => {
  const peer = await wsServer();
  const ws = await open(peer.url);
  const calls: string[] = [];
  /** Listeners run in order during dispatch; next() adds the last one, so it resolves after them all. */
  async function callsFor(message: string): Promise<string[]> {
    calls.length = 0;
    ws.send(message);
    await next(ws, "message");
    return [...calls];
  }
  const a = (): number => calls.push("a");
  const b = (): number => calls.push("b");
  const c = (): number => calls.push("c");
  ws.onmessage = a;
  ws.addEventListener("message", b);
  ws.onmessage = c;
  assert.deepEqual(await callsFor("1"), ["c", "b"], "a replaced handler keeps the place of the first one");
  ws.onmessage = null;
  ws.onmessage = a;
  assert.deepEqual(await callsFor("2"), ["b", "a"], "a handler set again after null comes last");
  (ws as unknown as { onmessage: unknown }).onmessage = "not a function";
  assert.equal(ws.onmessage, null);
  assert.deepEqual(await callsFor("3"), ["b"]);
  ws.removeEventListener("message", b);

  const f = (): number => calls.push("f");
  ws.addEventListener("message", f);
  ws.onmessage = f;
  assert.deepEqual(await callsFor("4"), ["f", "f"], "the same function as listener and as handler runs twice");
  ws.removeEventListener("message", f);
  assert.equal(ws.onmessage, f);
  assert.deepEqual(await callsFor("5"), ["f"], "removeEventListener does not remove the handler");
  let self: unknown;
  ws.onmessage = function () {
    self = this;
  };
  await callsFor("6");
  assert.equal(self, ws);
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("message events carry the origin of the WebSocket URL, for text and binary messages", async () => {
  const peer = await wsServer();
  // An http: URL with a path and query: the origin is that of the ws: URL it maps to.
  const ws = new WebSocket(`${peer.url.replace("ws:", "http:")}/feed?x=1`);
  await next(ws, "open");
  const origins: string[] = [];
  ws.onmessage = (event) => origins.push(event.origin);
  const got = messages(ws, 2);
  ws.send("text");
  ws.send(new Uint8Array([1, 2]));
  await got;
  assert.deepEqual(origins, [`ws://127.0.0.1:${peer.port}`, `ws://127.0.0.1:${peer.port}`]);
  await closeNormally(ws);
  await peer.close();
});

test("close() converts the code as WebIDL [Clamp] unsigned short before checking it", async () => {
  const peer = await wsServer();
  // Rounded to the nearest integer, ties to even; strings are numbers.
  const accepted: Array<[code: unknown, sent: number]> = [[1000.4, 1000], ["3000", 3000], [3000.5, 3000], [3001.5, 3002], [4999.2, 4999], [999.5, 1000]];
  for (const [code, sent] of accepted) {
    const ws = await open(peer.url);
    const done = closed(ws);
    ws.close(code as number);
    assert.equal((await done).code, sent, `close(${JSON.stringify(code)})`);
  }
  const ws = await open(peer.url);
  // NaN is 0; -1 is 0; 70000 is 65535; 4999.5 is 5000.
  for (const code of [Number.NaN, "abc", -1, 70000, 4999.5, 2999.4]) {
    assert.throws(() => ws.close(code as number), { name: "InvalidAccessError" }, `close(${String(code)})`);
  }
  assert.throws(() => ws.close(1000n as unknown as number), TypeError);
  assert.equal(ws.readyState, WebSocket.OPEN);
  await closeNormally(ws);
  await peer.close();
});

test("send() without an argument or with a Symbol throws TypeError and sends nothing; send(undefined) sends \"undefined\"", async () => {
  const peer = await wsServer();
  const ws = await open(peer.url);
  const got = messages(ws, 2);
  assert.throws(() => (ws as unknown as { send(): void }).send(), TypeError);
  // WebIDL's USVString conversion throws for a Symbol (String(symbol) would not).
  assert.throws(() => ws.send(Symbol("s") as unknown as string), TypeError);
  assert.throws(() => ws.close(1000, Symbol("s") as unknown as string), TypeError);
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.send(undefined as unknown as string);
  ws.send("after");
  assert.deepEqual(await got, ["undefined", "after"]);
  await closeNormally(ws);
  await peer.close();
});

test("closeTimeout: a server that never answers our close frame is dropped, close 1006 not clean", async () => {
  let reader: FrameReader | undefined;
  const peer = await rawServer({
    onUpgrade: (socket) => {
      reader = new FrameReader(socket);
    },
  });
  const ws = new WebSocket(peer.url, undefined, { closeTimeout: 100 });
  await next(ws, "open");
  const done = closed(ws);
  const started = Date.now();
  ws.close(1000, "bye");
  const event = await done;
  assert.ok(Date.now() - started >= 90, "waited for the close timeout");
  assert.deepEqual([event.code, event.wasClean], [1006, false]);
  assert.equal(closeCodeOf(await reader!.waitFor(0x8)), 1000);
  await peer.close();
});

test("large fragments kept as views of earlier socket chunks stay intact (retainChunks)", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  ws.binaryType = "arraybuffer";
  const server = await connected;
  const got = messages(ws, 20);
  const expected: Buffer[] = [];
  for (let m = 0; m < 20; m++) {
    const parts = [0, 1, 2, 3].map((f) => Buffer.alloc(3000 + f * 5000, (m * 4 + f) & 0xff));
    expected.push(Buffer.concat(parts));
    parts.forEach((part, f) => server.send(part, { binary: true, fin: f === 3 }));
  }
  const data = await got;
  data.forEach((message, i) => assert.ok(Buffer.from(message as ArrayBuffer).equals(expected[i]!), `message ${i}`));
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("terminate() drops a connection at once: CLOSING at once, close 1006 without waiting for a close handshake", async () => {
  const peer = await rawServer({ onUpgrade: () => {} });
  const ws = new WebSocket(peer.url, undefined, { closeTimeout: 60_000 });
  await next(ws, "open");
  const done = closed(ws);
  ws.terminate();
  // CLOSING until the close event, as after close() (and as ws): data sent now is counted in
  // bufferedAmount and discarded, not written to the destroyed socket.
  assert.equal(ws.readyState, WebSocket.CLOSING);
  ws.send("after terminate()");
  assert.equal(ws.bufferedAmount, "after terminate()".length);
  const event = await done;
  assert.deepEqual([event.code, event.wasClean], [1006, false]);
  assert.equal(ws.readyState, WebSocket.CLOSED);
  const early = new WebSocket(peer.url);
  const earlyDone = closed(early);
  early.terminate();
  assert.equal((await earlyDone).code, 1006);
  await peer.close();
});

test("terminate() from a message listener stops the rest of that read: no later message, no close frame answered, close 1006", async () => {
  // Two messages and the server's close frame in one write, once the client is open (frames that
  // come with the 101 are parsed before open and held): the client reads them in one chunk.
  const peer = await rawServer({
    onUpgrade: (socket) =>
      setTimeout(() => socket.write(Buffer.concat([serverFrame(0x1, Buffer.from("one")), serverFrame(0x1, Buffer.from("two")), serverFrame(0x8, Buffer.from([0x03, 0xe8]))])), 50),
  });
  const ws = new WebSocket(peer.url);
  const seen: string[] = [];
  ws.onmessage = (event) => {
    seen.push(String(event.data));
    ws.terminate();
  };
  const event = await closed(ws);
  // Before: "two" was delivered while CLOSING, the close frame was answered into the destroyed
  // socket, and the close event said 1000, wasClean true.
  assert.deepEqual(seen, ["one"]);
  assert.deepEqual([event.code, event.wasClean], [1006, false]);
  await peer.close();
});

test("replies sent from message listeners during one socket read arrive complete and in order (batched writes)", async () => {
  const peer = await wsServer({ echo: false });
  const connected = peer.nextConnection();
  const ws = await open(peer.url);
  const server = await connected;
  ws.onmessage = (event) => ws.send(`re:${String(event.data)}`);
  const received: string[] = [];
  const all = new Promise<void>((resolve) =>
    server.on("message", (data) => {
      received.push(data.toString());
      if (received.length === 200) resolve();
    }),
  );
  // One socket write from the server: the client reads many messages per 'data' event.
  const raw = (server as unknown as { _socket: { write(data: Buffer): void } })._socket;
  raw.write(Buffer.concat(Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from([0x81, String(i).length]), Buffer.from(String(i))]))));
  await all;
  assert.deepEqual(received, Array.from({ length: 200 }, (_, i) => `re:${i}`));
  ws.close();
  await next(ws, "close");
  await peer.close();
});

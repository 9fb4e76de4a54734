// Echo through Chromium's own WebSocket (the default transport) against the runner's `ws` server.
import { ResilientWebSocket, json } from "../../src/index.js";
import { deepEqual, equal, nextEvent, ok, server, takeTracked, track, uniquePath } from "./helpers.js";

afterEach(() => {
  for (const ws of takeTracked()) ws.close();
});

describe("echo in Chromium", () => {
  it("is a drop-in for new WebSocket(url): onopen, readyState, text echo via onmessage", async () => {
    const url = await server.url(uniquePath("text"));
    const ws = track(new ResilientWebSocket(url));
    equal(ws.readyState, WebSocket.CONNECTING, "readyState before open");
    const opened = new Promise<void>((resolve) => {
      ws.onopen = () => resolve();
    });
    await opened;
    equal(ws.readyState, WebSocket.OPEN, "readyState after open");
    equal(ws.url, url, "url");
    const reply = new Promise<unknown>((resolve) => {
      ws.onmessage = (event) => resolve(event.data);
    });
    ws.send("hello, chromium");
    equal(await reply, "hello, chromium", "echoed text");
  });

  it("echoes binary as ArrayBuffer with binaryType arraybuffer", async () => {
    const ws = track(new ResilientWebSocket(await server.url(uniquePath("binary"))));
    ws.binaryType = "arraybuffer";
    await ws.opened();
    const reply = nextEvent<MessageEvent>(ws, "message");
    ws.send(new Uint8Array([0, 1, 2, 250, 255]));
    const data = (await reply).data;
    ok(data instanceof ArrayBuffer, `binary reply is an ArrayBuffer, got ${Object.prototype.toString.call(data)}`);
    deepEqual([...new Uint8Array(data)], [0, 1, 2, 250, 255], "echoed bytes");
  });

  it("echoes binary as Blob by default, like the browser's WebSocket", async () => {
    const ws = track(new ResilientWebSocket(await server.url(uniquePath("blob"))));
    await ws.opened();
    const reply = nextEvent<MessageEvent>(ws, "message");
    ws.send(new Uint8Array([7, 8, 9]).buffer);
    const data = (await reply).data;
    ok(data instanceof Blob, "binary reply is a Blob");
    deepEqual([...new Uint8Array(await data.arrayBuffer())], [7, 8, 9], "echoed bytes");
  });

  it("json codec: send(object) encodes, message event carries the decoded object", async () => {
    type Quote = { type: "quote"; pair: string; bid: number };
    const ws = track(new ResilientWebSocket<Quote, Quote>(await server.url(uniquePath("json")), { codec: json<Quote, Quote>() }));
    await ws.opened();
    const reply = nextEvent<MessageEvent<Quote>>(ws, "message");
    ws.send({ type: "quote", pair: "EUR/USD", bid: 1.0842 });
    deepEqual((await reply).data, { type: "quote", pair: "EUR/USD", bid: 1.0842 }, "decoded reply");
  });

  it("json codec: a frame that is not JSON raises decodeerror, the connection stays up", async () => {
    const path = uniquePath("decodeerror");
    const ws = track(new ResilientWebSocket<{ n: number }, { n: number }>(await server.url(path), { codec: json<{ n: number }, { n: number }>() }));
    await ws.opened();
    const messages: unknown[] = [];
    ws.addEventListener("message", (event) => messages.push((event as MessageEvent).data));
    const bad = nextEvent(ws, "decodeerror");
    equal(await server.send(path, "{not json"), 1, "server pushed to one connection");
    await bad;
    const good = nextEvent<MessageEvent<{ n: number }>>(ws, "message");
    ws.send({ n: 1 });
    deepEqual((await good).data, { n: 1 }, "the next valid message still decodes");
    deepEqual(messages, [{ n: 1 }], "the bad frame was not delivered as a message");
    equal(ws.state, "open", "state after a decode error");
  });
});

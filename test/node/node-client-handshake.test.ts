// The opening handshake (RFC 6455 §4.1) of the built-in client against real servers: failures with
// their HTTP status, subprotocols, headers, Basic auth, timeout and redirects.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import { WebSocket, isHandshakeStatusError, parseRetryAfter, type HandshakeStatusError } from "../../src/node-client.js";
import { normalizeOptions } from "../../src/adapters/node/options.js";
import { FrameReader, acceptFor, closed, messages, next, rawServer, serverFrame, wsServer, connectProxy } from "./node-client-helpers.js";

test("401, 403 and 429 surface as error (ERR_HANDSHAKE_STATUS with status, headers, Retry-After) then close 1006", async () => {
  for (const [status, text, headers] of [
    [401, "Unauthorized", { "WWW-Authenticate": 'Bearer realm="feed"' }],
    [403, "Forbidden", {}],
    [429, "Too Many Requests", { "Retry-After": "7" }],
  ] as const) {
    const peer = await wsServer({ verifyClient: (_info, callback) => callback(false, status, text, headers) });
    const ws = new WebSocket(peer.url);
    const order: string[] = [];
    ws.addEventListener("open", () => order.push("open"));
    ws.addEventListener("error", () => order.push("error"));
    const event = await closed(ws);
    order.push("close");
    assert.deepEqual(order, ["error", "close"]);
    assert.equal(event.code, 1006);
    assert.equal(event.wasClean, false);
    assert.ok(isHandshakeStatusError(event.error));
    const error = event.error as HandshakeStatusError;
    assert.equal(error.code, "ERR_HANDSHAKE_STATUS");
    assert.equal(error.status, status);
    if (status === 401) assert.equal(error.headers.get("www-authenticate"), 'Bearer realm="feed"');
    assert.equal(error.retryAfter, status === 429 ? 7000 : undefined);
    await peer.close();
  }
});

test("a wrong Sec-WebSocket-Accept fails the handshake", async () => {
  const peer = await rawServer({
    respond: () => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor("wrong key")}\r\n\r\n`,
  });
  const event = await closed(new WebSocket(peer.url));
  assert.equal(event.code, 1006);
  assert.equal((event.error as { code: string }).code, "ERR_HANDSHAKE");
  assert.match(String(event.error), /Accept/);
  await peer.close();
});

test("an HTTP/1.0 101 fails the handshake: Upgrade exists only in HTTP/1.1 (RFC 9110 §7.8)", async () => {
  const peer = await rawServer({
    respond: (key) => `HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
  });
  const ws = new WebSocket(peer.url);
  const outcome = await Promise.race([closed(ws), next(ws, "open").then(() => "opened" as const)]);
  if (outcome === "opened") {
    ws.close();
    await peer.close();
    assert.fail("opened on an HTTP/1.0 101");
  }
  assert.equal(outcome.code, 1006);
  assert.equal((outcome.error as { code: string }).code, "ERR_HANDSHAKE");
  assert.match(String(outcome.error), /HTTP\/1\.0/);
  await peer.close();
});

test("a response head that arrives one byte per write, with frames behind it, opens and delivers the frames", async () => {
  const peer = await rawServer({
    byteByByte: true,
    respond: (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
      `X-Padding: ${"p".repeat(200)}\r\n\r\n` +
      serverFrame(0x1, "first").toString("latin1") +
      serverFrame(0x1, "second").toString("latin1"),
  });
  const ws = new WebSocket(peer.url);
  assert.deepEqual(await messages(ws, 2), ["first", "second"]);
  ws.close();
  await peer.close();
});

test("a subprotocol we did not offer fails the handshake (none offered, or another one) with ERR_PROTOCOL_NOT_SELECTED", async () => {
  const peer = await rawServer({
    respond: (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
  });
  for (const offered of [undefined, ["superchat"]]) {
    const event = await closed(new WebSocket(peer.url, offered));
    assert.equal(event.code, 1006);
    // Its own code: ResilientWebSocket's requireProtocol tells it from other failures by code.
    assert.equal((event.error as { code: string }).code, "ERR_PROTOCOL_NOT_SELECTED");
    assert.match(String(event.error), /chat/);
  }
  await peer.close();
});

test("handshake failures that mention the word subprotocol (URL, reason phrase) keep their own codes", async () => {
  const peer = await rawServer({ respond: () => "HTTP/1.1 503 subprotocol backend restarting\r\nRetry-After: 1\r\n\r\n" });
  const event = await closed(new WebSocket(`${peer.url}/feed?subprotocol=v2`, ["chat"]));
  assert.equal((event.error as { code: string }).code, "ERR_HANDSHAKE_STATUS");
  await peer.close();
});

test("frames in the same TCP segment as the 101 response are delivered after open", async () => {
  const peer = await rawServer({
    respond: (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n` +
      serverFrame(0x1, "first").toString("latin1") +
      serverFrame(0x1, "second").toString("latin1"),
  });
  const ws = new WebSocket(peer.url);
  const order: string[] = [];
  ws.onopen = () => order.push("open");
  const got = messages(ws, 2);
  assert.deepEqual(await got, ["first", "second"]);
  assert.deepEqual(order, ["open"]);
  ws.close();
  await peer.close();
});

test("a pong that came with the 101 response between two messages is dispatched between them", async () => {
  const peer = await rawServer({
    respond: (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n` +
      serverFrame(0x1, "first").toString("latin1") +
      serverFrame(0xa, "p").toString("latin1") +
      serverFrame(0x1, "second").toString("latin1"),
  });
  const ws = new WebSocket(peer.url);
  const order: string[] = [];
  ws.addEventListener("pong", () => order.push("pong"));
  const got = messages(ws, 2);
  ws.addEventListener("message", (event) => order.push(String(event.data)));
  try {
    await got;
    assert.deepEqual(order, ["first", "pong", "second"]);
  } finally {
    ws.terminate();
    await peer.close();
  }
});

test("frames that came with the 101 response reach a listener added after awaiting open (WHATWG: open and messages are separate tasks)", async () => {
  const peer = await rawServer({
    respond: (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n` +
      serverFrame(0x1, "greeting").toString("latin1") +
      serverFrame(0x2, Buffer.from([1, 2, 3])).toString("latin1") +
      serverFrame(0x8, Buffer.from([0x03, 0xe8])).toString("latin1"),
  });
  try {
    const ws = new WebSocket(peer.url);
    ws.binaryType = "arraybuffer";
    await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
    const order: string[] = [];
    ws.addEventListener("message", (e) => order.push(typeof e.data === "string" ? e.data : `${new Uint8Array(e.data as ArrayBuffer).join(",")}`));
    const event = await closed(ws);
    assert.deepEqual(order, ["greeting", "1,2,3"]);
    assert.equal(event.code, 1000, "the close frame behind them is handled after them");
  } finally {
    await peer.close();
  }
});

test("an extension we did not offer fails the handshake", async () => {
  const peer = await rawServer({
    respond: (key) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
  });
  const event = await closed(new WebSocket(peer.url));
  assert.equal((event.error as { code: string }).code, "ERR_HANDSHAKE");
  assert.match(String(event.error), /permessage-deflate/);
  await peer.close();
});

test("subprotocol selection: the server's choice among those offered is `protocol`", async () => {
  const peer = await wsServer({ handleProtocols: (protocols) => (protocols.has("v2.json") ? "v2.json" : false) });
  const ws = new WebSocket(peer.url, ["v3.bin", "v2.json"]);
  await next(ws, "open");
  assert.equal(ws.protocol, "v2.json");
  assert.equal(peer.requests[0]?.["sec-websocket-protocol"], "v3.bin, v2.json");
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("custom headers, origin and Basic auth from URL credentials reach the server", async () => {
  const peer = await wsServer();
  const url = peer.url.replace("ws://", "ws://al%20ice:p%40ss@");
  const ws = new WebSocket(`${url}/feed?x=1`, undefined, { headers: { "X-Api-Key": "k-123" }, origin: "https://app.example" });
  await next(ws, "open");
  const headers = peer.requests[0]!;
  assert.equal(headers["x-api-key"], "k-123");
  assert.equal(headers["origin"], "https://app.example");
  assert.equal(headers["authorization"], `Basic ${Buffer.from("al ice:p@ss").toString("base64")}`);
  ws.close();
  await next(ws, "close");
  await peer.close();
});

test("invalid header names or values throw at construction (no header injection)", () => {
  assert.throws(() => new WebSocket("ws://127.0.0.1:1/", undefined, { headers: { "bad name": "x" } }), { code: "ERR_INVALID_ARGUMENT" });
  assert.throws(() => new WebSocket("ws://127.0.0.1:1/", undefined, { headers: { "x-ok": "a\r\nInjected: yes" } }), { code: "ERR_INVALID_ARGUMENT" });
});

test("headers the handshake sets itself, and control characters in values, throw at construction too, before any connection", async () => {
  let connections = 0;
  const peer = await rawServer({ onUpgrade: () => connections++ });
  try {
    const bad: Array<Record<string, string>> = [
      { Upgrade: "h2c" },
      { connection: "close" },
      { "Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAAAA==" },
      { "sec-websocket-version": "8" },
      { "Sec-WebSocket-Protocol": "chat" },
      { "Sec-WebSocket-Extensions": "permessage-deflate" },
      { "Content-Length": "0" },
      { "Transfer-Encoding": "chunked" },
      { "x-bell": "a\u0007b" },
      { "x-del": "a\u007fb" },
      { "x-wide": "\u0100" },
      { "x-number": 42 as unknown as string },
    ];
    for (const headers of bad) {
      assert.throws(() => new WebSocket(peer.url, undefined, { headers }), { code: "ERR_INVALID_ARGUMENT" }, JSON.stringify(headers));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(connections, 0);
  } finally {
    await peer.close();
  }
});

test("handshakeTimeout: a server that never answers fails with ERR_HANDSHAKE_TIMEOUT, close 1006", async () => {
  const peer = await rawServer({ respond: () => undefined });
  const started = Date.now();
  const event = await closed(new WebSocket(peer.url, undefined, { handshakeTimeout: 150 }));
  assert.equal((event.error as { code: string }).code, "ERR_HANDSHAKE_TIMEOUT");
  assert.equal(event.code, 1006);
  assert.ok(Date.now() - started >= 140);
  await peer.close();
});

test("handshakeTimeout, closeTimeout: above 2^31-1 ms throw ERR_INVALID_ARGUMENT, Infinity sets no timer (not an overflowed 1 ms one)", async () => {
  for (const name of ["handshakeTimeout", "closeTimeout"] as const) {
    for (const value of [1, 0.5, 2 ** 31 - 1, Infinity]) assert.equal(normalizeOptions({ [name]: value })[name], value);
    for (const value of [0, -1, Number.NaN, 2 ** 31, 1e12, -Infinity]) {
      assert.throws(() => normalizeOptions({ [name]: value }), { code: "ERR_INVALID_ARGUMENT", message: /2147483647/ }, `${name}: ${value}`);
    }
  }
  assert.throws(() => new WebSocket("ws://127.0.0.1:1/", undefined, { handshakeTimeout: 2 ** 31 }), { code: "ERR_INVALID_ARGUMENT" });

  // Both servers answer after 50 ms: a timer that overflowed to 1 ms would have fired first.
  const slow = await wsServer({ verifyClient: (_info, callback) => void setTimeout(() => callback(true), 50) });
  const ws = new WebSocket(slow.url, undefined, { handshakeTimeout: Infinity });
  await next(ws, "open");
  ws.close();
  await next(ws, "close");
  await slow.close();

  const lateClose = await rawServer({
    onUpgrade: (socket) => {
      void new FrameReader(socket).waitFor(0x8).then((payload) => {
        setTimeout(() => socket.end(serverFrame(0x8, payload)), 50);
      });
    },
  });
  const ws2 = new WebSocket(lateClose.url, undefined, { closeTimeout: Infinity });
  await next(ws2, "open");
  const done = closed(ws2);
  ws2.close(1000);
  const event = await done;
  assert.equal(event.wasClean, true);
  assert.equal(event.code, 1000);
  await lateClose.close();
});

test("URL credentials never appear in error messages (timeout, failed handshake, close before open, bad proxy URL, bad redirect)", async () => {
  const peer = await rawServer({ respond: () => undefined });
  const withCredentials = peer.url.replace("ws://", "ws://alice:s3cret@");
  const errorOf = async (ws: WebSocket): Promise<{ code: string; message: string; cause?: unknown }> => (await closed(ws)).error as { code: string; message: string };

  const timeout = await errorOf(new WebSocket(withCredentials, undefined, { handshakeTimeout: 100 }));
  assert.equal(timeout.code, "ERR_HANDSHAKE_TIMEOUT");
  assert.ok(timeout.message.includes(`${peer.url}/`), timeout.message);
  // A malformed %-escape in the password fails decoding: the generic "handshake failed" message.
  const failed = await errorOf(new WebSocket(peer.url.replace("ws://", "ws://alice:s3cret%zz@")));
  assert.equal(failed.code, "ERR_HANDSHAKE");
  const aborted = new WebSocket(withCredentials);
  const abortedError = errorOf(aborted);
  aborted.close();
  // An invalid proxy option throws from the constructor (ERR_INVALID_ARGUMENT), without the credentials.
  assert.throws(
    () => new WebSocket(withCredentials, undefined, { proxy: "http://me:s3cret@bad host:3128" }),
    (error: Error & { code?: string }) => error.code === "ERR_INVALID_ARGUMENT" && !`${error.message} ${String(error.cause)}`.includes("s3cret"),
  );
  const redirector = await rawServer({ respond: () => "HTTP/1.1 302 Found\r\nLocation: http://[bad\r\n\r\n" });
  const badRedirect = await errorOf(new WebSocket(redirector.url.replace("ws://", "ws://alice:s3cret@"), undefined, { followRedirects: 1 }));
  assert.equal(badRedirect.code, "ERR_REDIRECT");
  for (const error of [timeout, failed, await abortedError, badRedirect]) {
    // The cause too: Deno's URL TypeError quotes the URL it could not parse.
    assert.doesNotMatch(`${error.message} ${String(error.cause)}`, /s3cret/, error.message);
  }
  assert.throws(() => new WebSocket(`${withCredentials}/#fragment`), (error: Error) => error.name === "SyntaxError" && !error.message.includes("s3cret"));
  await redirector.close();
  await peer.close();
});

test("Retry-After is only delay-seconds or an HTTP-date (RFC 9110 §10.2.3): '1.5', '-1', 'soon 5' are undefined, not 0", () => {
  const now = Date.UTC(2025, 0, 1);
  const cases: Array<[string | undefined, number | undefined]> = [
    ["0", 0],
    ["7", 7000],
    [" 120 ", 120_000],
    // RFC 9110 §5.6.7: IMF-fixdate and the obsolete RFC 850 and asctime forms.
    ["Wed, 01 Jan 2025 00:00:10 GMT", 10_000],
    ["Wednesday, 01-Jan-25 00:00:10 GMT", 10_000],
    ["Wed Jan  1 00:00:10 2025", 10_000],
    ["Sun, 06 Nov 1994 08:49:37 GMT", 0],
    [undefined, undefined],
    ["", undefined],
    ["1.5", undefined],
    ["-1", undefined],
    ["+5", undefined],
    ["soon 5", undefined],
    ["5 s", undefined],
    ["2025-01-01T00:00:10Z", undefined],
    ["wed, 01 jan 2025 00:00:10 gmt", undefined],
    ["Wed, 01 Jan 2025 00:00:10 UTC", undefined],
    ["Sat, 31 Feb 2025 00:00:00 GMT", undefined],
    ["Wed, 01 Jan 2025 24:00:00 GMT", undefined],
  ];
  for (const [value, expected] of cases) assert.equal(parseRetryAfter(value, now), expected, JSON.stringify(value));
});

test("connection refused: error ERR_CONNECTION then close 1006", async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const event = await closed(new WebSocket(`ws://127.0.0.1:${port}`));
  assert.equal((event.error as { code: string }).code, "ERR_CONNECTION");
  assert.equal(event.code, 1006);
});

test("redirects are not followed by default: the 3xx is reported with its Location", async () => {
  const peer = await rawServer({ respond: () => "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n" });
  const event = await closed(new WebSocket(peer.url));
  const error = event.error as HandshakeStatusError;
  assert.equal(error.status, 302);
  assert.equal(error.headers.get("location"), "/elsewhere");
  assert.equal(peer.requests.length, 1);
  await peer.close();
});

test("followRedirects: same-origin keeps credentials and headers, cross-origin drops them all (an X-Api-Key too), hop limit holds", async () => {
  const target = await wsServer();
  const redirector = await rawServer({
    respond: (key, request) => {
      if (request.startsWith("GET /same ")) return "HTTP/1.1 301 Moved\r\nLocation: /cross\r\n\r\n";
      if (request.startsWith("GET /cross ")) return `HTTP/1.1 307 Temporary\r\nLocation: ${target.url}/final\r\n\r\n`;
      return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
    },
  });
  const url = `${redirector.url.replace("ws://", "ws://user:secret@")}/same`;
  const headers = { Cookie: "session=1", "X-Api-Key": "k-123" };

  const tooFew = await closed(new WebSocket(url, undefined, { headers, followRedirects: 1 }));
  assert.equal((tooFew.error as HandshakeStatusError).status, 307);

  const ws = new WebSocket(url, undefined, { headers, followRedirects: 2 });
  try {
    await next(ws, "open");
    const sameOrigin = redirector.requests.at(-1)!;
    assert.match(sameOrigin, /^GET \/cross /);
    assert.match(sameOrigin, /\r\nAuthorization: Basic /i);
    assert.match(sameOrigin, /\r\nCookie: session=1/i);
    assert.match(sameOrigin, /\r\nX-Api-Key: k-123/i);
    const final = target.requests[0]!;
    assert.equal(final["authorization"], undefined);
    assert.equal(final["cookie"], undefined);
    assert.equal(final["x-api-key"], undefined, "a custom header may be a credential too");
  } finally {
    ws.close();
    await next(ws, "close");
    await redirector.close();
    await target.close();
  }
});

test("followRedirects: a Host override is not sent to another origin (RFC 9110 §7.2, as ws)", async () => {
  const target = await wsServer();
  const redirector = await rawServer({ respond: () => `HTTP/1.1 302 Found\r\nLocation: ${target.url}/moved\r\n\r\n` });
  const ws = new WebSocket(redirector.url, undefined, { headers: { Host: "vhost-a.example" }, followRedirects: 1 });
  await next(ws, "open");
  assert.match(redirector.requests[0]!, /\r\nHost: vhost-a\.example(\r\n|$)/);
  assert.equal(target.requests[0]!["host"], `127.0.0.1:${target.port}`);
  ws.close();
  await next(ws, "close");
  await redirector.close();
  await target.close();
});

const UPGRADED = (key: string): string =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;

test("1xx interim responses (100 Continue, 103 Early Hints) before the 101 are skipped, whole or one byte at a time (RFC 9110 §15.2)", async () => {
  for (const byteByByte of [false, true]) {
    const peer = await rawServer({
      byteByByte,
      respond: (key) =>
        "HTTP/1.1 100 Continue\r\n\r\n" +
        "HTTP/1.1 103 Early Hints\r\nLink: </fx.css>; rel=preload\r\n\r\n" +
        UPGRADED(key) +
        serverFrame(0x1, "after the interim answers").toString("latin1"),
    });
    try {
      const ws = new WebSocket(peer.url);
      assert.deepEqual(await messages(ws, 1), ["after the interim answers"], `byteByByte: ${byteByByte}`);
      ws.close();
    } finally {
      await peer.close();
    }
  }
});

test("a 1xx interim response before a refusal: the final status is the error (1xx skipped)", async () => {
  const peer = await rawServer({ respond: () => "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nRetry-After: 4\r\n\r\n" });
  try {
    const event = await closed(new WebSocket(peer.url));
    const error = event.error as HandshakeStatusError;
    assert.equal(error.code, "ERR_HANDSHAKE_STATUS");
    assert.equal(error.status, 429);
    assert.equal(error.retryAfter, 4000);
  } finally {
    await peer.close();
  }
});

/** A CONNECT proxy that sends `interim` (1xx heads) before its 200, then tunnels. */
function interimProxy(interim: string): Promise<{ url: string; close(): Promise<void> }> {
  return connectProxy({ established: `${interim}HTTP/1.1 200 Connection Established\r\n\r\n` });
}

test("a proxy's 1xx interim responses (100 Continue) before its 200 to CONNECT are skipped and the tunnel opens (RFC 9110 §15.2)", async () => {
  const peer = await wsServer();
  const proxy = await interimProxy("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n");
  try {
    const ws = new WebSocket(peer.url, undefined, { proxy: proxy.url });
    await next(ws, "open");
    ws.send("through the tunnel");
    assert.deepEqual(await messages(ws, 1), ["through the tunnel"]);
    const done = closed(ws);
    ws.close();
    assert.equal((await done).wasClean, true);
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test("obs-fold in the response is unfolded, not a failed handshake: a user agent MUST replace it with SP (RFC 9112 §5.2)", async () => {
  const peer = await rawServer({
    respond: (key) =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade:\r\n websocket\r\nConnection: keep-alive,\r\n\tUpgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptFor(key)}\r\nX-Note: first\r\n  second \r\n\r\n`,
  });
  const refused = await rawServer({ respond: () => 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n realm="feed"\r\n\r\n' });
  try {
    const ws = new WebSocket(peer.url);
    const outcome = await Promise.race([closed(ws), next(ws, "open").then(() => "opened" as const)]);
    assert.equal(outcome === "opened" ? outcome : String(outcome.error), "opened");
    // The raw server answers no close frame: drop the connection rather than wait closeTimeout.
    ws.terminate();
    await next(ws, "close");
    const error = (await closed(new WebSocket(refused.url))).error as HandshakeStatusError;
    assert.equal(error.code, "ERR_HANDSHAKE_STATUS");
    assert.equal(error.headers.get("www-authenticate"), 'Bearer realm="feed"');
  } finally {
    await peer.close();
    await refused.close();
  }
});

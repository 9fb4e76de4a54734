// wss:// with a certificate made at test time by openssl (verification on by default), and HTTP
// CONNECT proxies: the option, HTTP_PROXY/HTTPS_PROXY/NO_PROXY from the environment, proxy auth.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import https from "node:https";
import process from "node:process";
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { WebSocketServer } from "ws";
import { WebSocket, isProxyStatusError, type ProxyStatusError } from "../../src/node-client.js";
import { ResilientWebSocket } from "../../src/client/client.js";
import { isResilientError } from "../../src/errors.js";
import { isNoProxy, selectProxy } from "../../src/adapters/node/proxy.js";
import { frameArena } from "../../src/adapters/node/frame-arena.js";
import { closed, messages, next, testCertificate, wsServer, connectProxy, type Proxy, type ProxyOptions } from "./node-client-helpers.js";

let cert = "";
let key = "";
let tlsServer: https.Server;
let tlsUrl = "";

before(async () => {
  ({ key, cert } = testCertificate());
  tlsServer = https.createServer({ key, cert });
  const wss = new WebSocketServer({ server: tlsServer });
  wss.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })));
  await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", () => resolve()));
  tlsUrl = `wss://127.0.0.1:${(tlsServer.address() as net.AddressInfo).port}`;
});

after(async () => {
  tlsServer.closeAllConnections();
  await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
});

async function echoOnce(ws: WebSocket, text: string): Promise<void> {
  await next(ws, "open");
  ws.send(text);
  assert.deepEqual(await messages(ws, 1), [text]);
  const done = closed(ws);
  ws.close();
  assert.equal((await done).wasClean, true);
}

test("wss: a self-signed certificate is rejected without `ca` (verification on by default)", async () => {
  const event = await closed(new WebSocket(tlsUrl, undefined, { proxy: false }));
  assert.equal((event.error as { code: string }).code, "ERR_CONNECTION");
  assert.match(String(event.error), /self[- ]signed|certificate/i);
  assert.match(String(event.error), /the certificate's issuer is not trusted; tls\.ca adds a CA/);
  assert.equal(event.code, 1006);
});

/** A TLS server on 127.0.0.1 with `options` that never gets as far as HTTP. */
async function tlsPeer(options: tls.TlsOptions): Promise<{ url: string; close(): Promise<void> }> {
  const server = tls.createServer({ key, cert, ...options }, (socket) => socket.on("error", () => {}));
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { url: `wss://127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test("a TLS alert is named and explained, not the TLS library's text: a server or an https:// proxy that wants a client certificate (TLS 1.3 and 1.2)", async () => {
  const cases: Array<[string, tls.TlsOptions, Record<string, unknown>, RegExp]> = [
    ["1.3, no certificate", {}, {}, /TLS alert "certificate required" from the peer: it wants a client certificate \(tls\.cert, tls\.key\)$/],
    ["1.2, no certificate", { maxVersion: "TLSv1.2" }, {}, /TLS alert "handshake failure" from the peer: it accepts none of the parameters we offered/],
  ];
  for (const [label, serverOptions, clientTls, expected] of cases) {
    const peer = await tlsPeer({ requestCert: true, rejectUnauthorized: true, ca: cert, ...serverOptions });
    try {
      const event = await closed(new WebSocket(peer.url, undefined, { proxy: false, tls: { ca: cert, ...clientTls } }));
      assert.equal((event.error as { code: string }).code, "ERR_CONNECTION", label);
      assert.match((event.error as Error).message, expected, label);
      assert.doesNotMatch((event.error as Error).message, /SSL routines|alert number|OPENSSL_internal/, label);
      assert.match(String((event.error as { cause?: { code?: string } }).cause?.code), /^ERR_SSL_/, `${label}: the runtime's error is the cause`);
    } finally {
      await peer.close();
    }
  }
  const peer = await wsServer();
  const proxy = await connectProxy({ tls: { key, cert, requestCert: true, rejectUnauthorized: true, ca: cert } });
  try {
    const event = await closed(new WebSocket(peer.url, undefined, { proxy: proxy.url, proxyTls: { ca: cert }, tls: { cert, key } }));
    assert.equal((event.error as { code: string }).code, "ERR_PROXY");
    assert.match((event.error as Error).message, /TLS alert "certificate required" from the peer: it wants a client certificate \(proxyTls\.cert, proxyTls\.key\)$/);
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test("wss: large binary messages (frames in the arena, masked by SIMD) echo intact, and their regions come back", async () => {
  const ws = new WebSocket(tlsUrl, undefined, { tls: { ca: cert }, proxy: false });
  ws.binaryType = "arraybuffer";
  await next(ws, "open");
  const sizes = [65536, (1 << 20) + 7, 3 * (1 << 20) + 63, 1 << 20, 200_003, 4 << 20];
  const sent = sizes.map((size, n) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 29 + n * 53 + (i >>> 12)) & 0xff;
    return bytes;
  });
  const got = messages(ws, sent.length);
  for (const bytes of sent) ws.send(bytes);
  const received = await got;
  for (let n = 0; n < sent.length; n++) {
    assert.ok(Buffer.from(received[n] as ArrayBuffer).equals(sent[n]!), `message ${n} (${sizes[n]} bytes) differs`);
  }
  assert.equal(frameArena().usedBytes, 0);
  const done = closed(ws);
  ws.close();
  assert.equal((await done).wasClean, true);
});

test("wss: accepted with the certificate as `ca`, also with an explicit servername", async () => {
  await echoOnce(new WebSocket(tlsUrl, undefined, { tls: { ca: cert }, proxy: false }), "tls ok");
  await echoOnce(new WebSocket(tlsUrl, undefined, { tls: { ca: [cert], servername: "localhost" }, proxy: false }), "sni ok");
});

test("wss: a certificate for another name is rejected even with `ca`", async () => {
  const event = await closed(new WebSocket(tlsUrl, undefined, { tls: { ca: cert, servername: "example.com" }, proxy: false }));
  assert.match(String(event.error), /example\.com|altnames|hostname/i);
});

test("wss: rejectUnauthorized: false accepts it without `ca`", async () => {
  await echoOnce(new WebSocket(tlsUrl, undefined, { tls: { rejectUnauthorized: false }, proxy: false }), "insecure ok");
});


test("proxy option: ws:// goes through the CONNECT tunnel", async () => {
  const peer = await wsServer();
  const proxy = await connectProxy();
  await echoOnce(new WebSocket(peer.url, undefined, { proxy: proxy.url }), "via proxy");
  assert.equal(proxy.requests.length, 1);
  assert.match(proxy.requests[0]!, new RegExp(`^CONNECT 127\\.0\\.0\\.1:${peer.port} HTTP/1\\.1\\r\\nHost: 127\\.0\\.0\\.1:${peer.port}`));
  await proxy.close();
  await peer.close();
});

test("proxy option: wss:// runs TLS (verified) inside the tunnel", async () => {
  const proxy = await connectProxy();
  await echoOnce(new WebSocket(tlsUrl, undefined, { proxy: proxy.url, tls: { ca: cert } }), "tls via proxy");
  assert.equal(proxy.requests.length, 1);
  await proxy.close();
});

test("a proxy answer with bare LF line endings, HTTP/1.0, or one byte at a time opens the tunnel (RFC 9112 §2.2)", async () => {
  const peer = await wsServer();
  const answers = [
    { established: "HTTP/1.0 200 Connection established\n\n" },
    { established: "HTTP/1.1 200 OK\r\nProxy-Agent: test\r\n\r\n", byteByByte: true },
    { established: "HTTP/1.0 200 Connection established\nVia: 1.1 test\n\n", byteByByte: true },
  ];
  for (const answer of answers) {
    const proxy = await connectProxy(answer);
    await echoOnce(new WebSocket(peer.url, undefined, { proxy: proxy.url }), JSON.stringify(answer));
    assert.equal(proxy.requests.length, 1);
    await proxy.close();
  }
  await peer.close();
});

test("a proxy answer that is not HTTP fails with ERR_PROXY and says so", async () => {
  const peer = await wsServer();
  const proxy = await connectProxy({ established: "SSH-2.0-OpenSSH_9.2\r\n\r\n" });
  const event = await closed(new WebSocket(peer.url, undefined, { proxy: proxy.url }));
  assert.equal(event.code, 1006);
  assert.equal((event.error as { code: string }).code, "ERR_PROXY");
  assert.match(String(event.error), /invalid answer to CONNECT: .*does not start with HTTP/);
  await proxy.close();
  await peer.close();
});

test("proxy credentials in the proxy URL become Proxy-Authorization; a 407 is an ERR_PROXY error", async () => {
  const peer = await wsServer();
  const token = Buffer.from("me:pa ss").toString("base64");
  const proxy = await connectProxy({ requireAuth: token });
  const refused = await closed(new WebSocket(peer.url, undefined, { proxy: proxy.url }));
  assert.equal((refused.error as { code: string }).code, "ERR_PROXY");
  assert.match(String(refused.error), /407/);
  await echoOnce(new WebSocket(peer.url, undefined, { proxy: proxy.url.replace("http://", "http://me:pa%20ss@") }), "authed");
  await proxy.close();
  await peer.close();
});

test("environment: HTTP_PROXY / HTTPS_PROXY are used, NO_PROXY (names, host:port, CIDR) and proxy: false bypass them", async () => {
  const peer = await wsServer();
  const proxy = await connectProxy();
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
  const restore = (): void => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  try {
    process.env.HTTP_PROXY = proxy.url;
    process.env.HTTPS_PROXY = proxy.url;
    delete process.env.NO_PROXY;
    await echoOnce(new WebSocket(peer.url), "env ws");
    await echoOnce(new WebSocket(tlsUrl, undefined, { tls: { ca: cert } }), "env wss");
    assert.equal(proxy.requests.length, 2);
    await echoOnce(new WebSocket(peer.url, undefined, { proxy: false }), "no proxy");
    process.env.NO_PROXY = `example.com, 127.0.0.1:${peer.port}`;
    await echoOnce(new WebSocket(peer.url), "no_proxy match");
    assert.equal(proxy.requests.length, 2);
    // A CIDR block bypasses the proxy; a partial address is not a domain suffix of an IP.
    process.env.NO_PROXY = "10.0.0.0/8, 127.0.0.0/8";
    await echoOnce(new WebSocket(peer.url), "no_proxy cidr");
    await echoOnce(new WebSocket(tlsUrl, undefined, { tls: { ca: cert } }), "no_proxy cidr wss");
    assert.equal(proxy.requests.length, 2);
    process.env.NO_PROXY = "0.0.1, 127.0.0.0/30:1";
    await echoOnce(new WebSocket(peer.url), "no_proxy partial ip");
    assert.equal(proxy.requests.length, 3);
  } finally {
    restore();
    await proxy.close();
    await peer.close();
  }
});

/** A port that was free a moment ago (tinyproxy cannot listen on port 0 and report it). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("a real proxy: Debian's tinyproxy tunnels ws:// and wss:// (its log shows the CONNECTs)", async () => {
  const peer = await wsServer();
  const port = await freePort();
  const config = `Port ${port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\nLogLevel Info\n`;
  // The config goes through a pipe (bash process substitution): no temporary file. `exec` makes
  // the child's pid tinyproxy's own, so kill() stops it.
  const proxy = spawn("/bin/bash", ["-c", 'exec /usr/bin/tinyproxy -d -c <(printf "%s" "$0")', config], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const listening = new Promise<void>((resolve, reject) => {
    const onOutput = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes("Accepting connections")) resolve();
    };
    proxy.stdout!.on("data", onOutput);
    proxy.stderr!.on("data", onOutput);
    proxy.once("exit", (code) => reject(new Error(`tinyproxy exited with ${code}: ${log}`)));
  });
  const exited = new Promise<void>((resolve) => proxy.once("exit", () => resolve()));
  try {
    await listening;
    const url = `http://127.0.0.1:${port}`;
    await echoOnce(new WebSocket(peer.url, undefined, { proxy: url }), "via tinyproxy");
    await echoOnce(new WebSocket(tlsUrl, undefined, { proxy: url, tls: { ca: cert } }), "tls via tinyproxy");
    assert.match(log, new RegExp(`CONNECT 127\\.0\\.0\\.1:${peer.port}`));
    assert.match(log, new RegExp(`CONNECT 127\\.0\\.0\\.1:${new URL(tlsUrl).port}`));
  } finally {
    proxy.kill();
    await exited;
    await peer.close();
  }
});

test("NO_PROXY matching follows curl: *, exact hosts, domain suffixes, ports", () => {
  const url = new URL("wss://api.example.com/feed");
  assert.equal(isNoProxy(url, "*"), true);
  assert.equal(isNoProxy(url, "example.com"), true);
  assert.equal(isNoProxy(url, ".example.com"), true);
  assert.equal(isNoProxy(url, "*.example.com"), true);
  assert.equal(isNoProxy(url, "api.example.com:443"), true);
  assert.equal(isNoProxy(url, "api.example.com:8443"), false);
  assert.equal(isNoProxy(url, "ample.com"), false);
  assert.equal(isNoProxy(new URL("ws://[::1]:8080/"), "::1"), true);
  assert.equal(isNoProxy(new URL("ws://[::1]:8080/"), "[::1]:8080"), true);
  assert.equal(selectProxy(new URL("ws://a.test/"), undefined, { http_proxy: "proxy.test:3128" })?.href, "http://proxy.test:3128/");
  assert.equal(selectProxy(new URL("wss://a.test/"), undefined, { http_proxy: "http://p.test" }), undefined);
  assert.equal(selectProxy(new URL("wss://a.test/"), undefined, { HTTPS_PROXY: "http://p.test", NO_PROXY: "a.test" }), undefined);
  assert.throws(() => selectProxy(new URL("ws://a.test/"), "socks5://p.test:1080"), /only HTTP CONNECT/);
});

test("a proxy variable the runtime refuses to read counts as unset, each spelling on its own (Deno's --allow-env=HTTPS_PROXY,NO_PROXY)", () => {
  // Deno throws NotCapable for a variable outside the grant: here the lower-case spellings.
  const granted: Record<string, string> = { HTTPS_PROXY: "http://p.test:3128", NO_PROXY: "direct.test" };
  const env = new Proxy(granted, {
    get(target, name) {
      if (typeof name === "string" && name === name.toLowerCase()) throw new Error(`NotCapable: Requires env access to "${name}"`);
      return target[name as string];
    },
  });
  assert.equal(selectProxy(new URL("wss://a.test/"), undefined, env)?.href, "http://p.test:3128/", "the granted HTTPS_PROXY is used");
  assert.equal(selectProxy(new URL("wss://direct.test/"), undefined, env), undefined, "the granted NO_PROXY still applies");
});

test("NO_PROXY for an IP host matches a whole address or a CIDR block only; names ignore a trailing dot (curl lib/noproxy.c)", () => {
  const cases: Array<[url: string, noProxy: string, bypass: boolean]> = [
    // IPv4: a partial address is not a suffix match.
    ["ws://127.0.0.1/", "0.0.1", false],
    ["ws://10.1.1.1/", "1.1", false],
    ["ws://10.1.1.1/", "10.1", false],
    ["ws://10.1.1.1/", "10.1.1.1", true],
    ["ws://10.1.2.3/", "10.0.0.0/8", true],
    ["ws://11.1.2.3/", "10.0.0.0/8", false],
    ["ws://192.168.1.127/", "192.168.1.0/25", true],
    ["ws://192.168.1.128/", "192.168.1.0/25", false],
    ["ws://127.0.0.1/", "127.0.0.1/32", true],
    ["ws://127.0.0.1/", "127.0.0.0/33", false],
    ["ws://127.0.0.1:8080/", "127.0.0.0/8", true],
    ["ws://127.0.0.1:8080/", "127.0.0.1:8080", true],
    ["ws://127.0.0.1:8081/", "127.0.0.1:8080", false],
    ["ws://127.0.0.1/", "localhost", false],
    ["ws://127.0.0.1/", "*", true],
    // IPv6: compared as 128-bit numbers, whatever the spelling.
    ["ws://[::1]/", "::1", true],
    ["ws://[::1]/", "0:0:0:0:0:0:0:1", true],
    ["ws://[::1]/", "::1/128", true],
    ["ws://[::1]/", "[::1]", true],
    ["ws://[::1]:8080/", "[::1]:8080", true],
    ["ws://[::1]:8081/", "[::1]:8080", false],
    ["ws://[::2]/", "::1", false],
    ["ws://[2001:db8::5]/", "2001:db8::/32", true],
    ["ws://[2001:db9::5]/", "2001:db8::/32", false],
    ["ws://[fe80::1]/", "fe80::/10", true],
    ["ws://[fec0::1]/", "fe80::/10", false],
    ["ws://[::ffff:10.0.0.1]/", "::ffff:10.0.0.0/120", true],
    ["ws://[::1]/", "127.0.0.1", false],
    ["ws://127.0.0.1/", "::1", false],
    // Names: on label boundaries, leading and trailing dots ignored.
    ["ws://example.com/", "example.com", true],
    ["ws://a.example.com/", "example.com", true],
    ["ws://example.com/", ".example.com", true],
    ["ws://badexample.com/", "example.com", false],
    ["ws://badexample.com/", ".example.com", false],
    ["ws://localhost./", "localhost", true],
    ["ws://localhost/", "localhost.", true],
    ["ws://a.example.com./", ".example.com.", true],
    ["ws://example.com/", "other.test, example.com", true],
    ["ws://example.com/", "other.test example.com", true],
  ];
  for (const [url, noProxy, bypass] of cases) assert.equal(isNoProxy(new URL(url), noProxy), bypass, `${url} with NO_PROXY=${noProxy}`);
});

/** The error a constructor call threw, or undefined when it did not throw (the socket is closed). */
function constructorError(options: Record<string, unknown>): unknown {
  try {
    new WebSocket("ws://127.0.0.1:1/", undefined, options).close();
  } catch (error) {
    return error;
  }
  return undefined;
}

function assertInvalidArgument(options: Record<string, unknown>, message?: RegExp): void {
  const error = constructorError(options);
  const label = JSON.stringify(options, (_key, value: unknown) => (value === undefined ? "undefined" : value));
  assert.ok(isResilientError(error), `${label} throws a ResilientError, got ${String(error)}`);
  assert.equal(error.code, "ERR_INVALID_ARGUMENT", label);
  if (message !== undefined) assert.match(error.message, message, label);
}

const PROXY_VARIABLES = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD"];

/** Runs `body` with exactly `variables` of the proxy variables set, then puts the old ones back. */
async function withProxyEnv(variables: Record<string, string>, body: () => Promise<void>): Promise<void> {
  const saved = PROXY_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, variables);
  try {
    await body();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

test("a proxy's refusal of CONNECT is ERR_PROXY with status, statusText, headers and retryAfter (RFC 9110 §15.5.8, §10.2.3)", async () => {
  const peer = await wsServer();
  const answers: Array<[options: ProxyOptions, status: number, statusText: string, retryAfter: number | undefined]> = [
    [{ requireAuth: "bm9ib2R5Om5vdGhpbmc=" }, 407, "Proxy Authentication Required", undefined],
    [{ refuse: "HTTP/1.1 403 Forbidden\r\n\r\n" }, 403, "Forbidden", undefined],
    [{ refuse: "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n\r\n" }, 429, "Too Many Requests", 3000],
    [{ refuse: "HTTP/1.1 502 Bad Gateway\r\n\r\n" }, 502, "Bad Gateway", undefined],
    [{ refuse: "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n\r\n" }, 503, "Service Unavailable", 7000],
  ];
  try {
    for (const [options, status, statusText, retryAfter] of answers) {
      const proxy = await connectProxy(options);
      const event = await closed(new WebSocket(peer.url, undefined, { proxy: proxy.url }));
      await proxy.close();
      assert.equal(event.code, 1006);
      assert.ok(isProxyStatusError(event.error), `${status}: ${String(event.error)}`);
      const error: ProxyStatusError = event.error;
      assert.equal(error.code, "ERR_PROXY");
      assert.equal(error.status, status);
      assert.equal(error.statusText, statusText);
      assert.equal(error.retryAfter, retryAfter);
      assert.match(error.message, new RegExp(`refused CONNECT 127\\.0\\.0\\.1:${peer.port}: ${status} ${statusText}$`));
      if (status === 407) assert.equal(error.headers.get("proxy-authenticate"), 'Basic realm="p"');
    }
    assert.equal(peer.requests.length, 0);
  } finally {
    await peer.close();
  }
});

test("ResilientWebSocket: a proxy's 503 with Retry-After sets the next reconnect delay's floor, as the server's would", async () => {
  const proxy = await connectProxy({ refuse: "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\n\r\n" });
  const ws = new ResilientWebSocket("ws://127.0.0.1:9/", {
    WebSocket,
    transport: { proxy: proxy.url },
    reconnect: { minDelay: 10, maxDelay: 50 },
    window: null,
  });
  try {
    const reconnecting = await new Promise<Event & { delay: number }>((resolve) =>
      ws.addEventListener("reconnecting", (event) => resolve(event as Event & { delay: number }), { once: true }),
    );
    assert.equal(reconnecting.delay, 30_000);
    assert.equal(proxy.requests.length, 1);
  } finally {
    ws.close();
    await proxy.close();
  }
});

test("https:// proxy: proxyTls verifies it (private CA, servername, rejectUnauthorized); tls applies to the WebSocket server only", async () => {
  const peer = await wsServer();
  const proxy = await connectProxy({ tls: { key, cert } });
  const refusedBy = async (label: string, options: Record<string, unknown>, reason: RegExp): Promise<void> => {
    const event = await closed(new WebSocket(peer.url, undefined, { proxy: proxy.url, ...options }));
    assert.equal((event.error as { code: string }).code, "ERR_PROXY", label);
    assert.match(String(event.error), reason, label);
  };
  try {
    // Verification is on by default, and `tls` (the server's) does not loosen it.
    await refusedBy("default", {}, /self[- ]signed|certificate/i);
    await refusedBy("tls only", { tls: { ca: cert, rejectUnauthorized: false } }, /self[- ]signed|certificate/i);
    await refusedBy("proxyTls servername", { proxyTls: { ca: cert, servername: "example.com" } }, /example\.com|altnames|hostname/i);
    await refusedBy("default's hint", {}, /not trusted; proxyTls\.ca adds a CA/);
    assert.equal(proxy.requests.length, 0);
    await echoOnce(new WebSocket(peer.url, undefined, { proxy: proxy.url, proxyTls: { ca: cert } }), "ws via https proxy");
    await echoOnce(new WebSocket(peer.url, undefined, { proxy: proxy.url, proxyTls: { ca: [cert], servername: "localhost" } }), "sni");
    await echoOnce(new WebSocket(peer.url, undefined, { proxy: proxy.url, proxyTls: { rejectUnauthorized: false } }), "insecure proxy");
    // TLS to the server inside TLS to the proxy, each verified with its own settings.
    await echoOnce(new WebSocket(tlsUrl, undefined, { proxy: proxy.url, proxyTls: { ca: cert }, tls: { ca: cert } }), "wss via https proxy");
    assert.equal(proxy.requests.length, 4);
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test("a Proxy-Authorization in headers throws ERR_INVALID_ARGUMENT (it would reach the server, not the proxy)", () => {
  for (const name of ["Proxy-Authorization", "proxy-authorization"]) {
    assertInvalidArgument({ headers: { [name]: "Basic bWU6cGFzcw==" }, proxy: false }, /proxy URL/);
  }
});

test("proxy environment: an empty variable counts as unset, so it does not hide the other spelling (curl)", async () => {
  const ws = new URL("ws://a.test/");
  const wss = new URL("wss://a.test/");
  assert.equal(selectProxy(ws, undefined, { no_proxy: "", NO_PROXY: "a.test", HTTP_PROXY: "http://p.test:1" }), undefined);
  assert.equal(selectProxy(ws, undefined, { no_proxy: " ", NO_PROXY: "a.test", http_proxy: "http://p.test:1" }), undefined);
  assert.equal(selectProxy(ws, undefined, { http_proxy: "", HTTP_PROXY: "http://p.test:1" })?.href, "http://p.test:1/");
  assert.equal(selectProxy(wss, undefined, { https_proxy: "", HTTPS_PROXY: "http://p.test:1" })?.href, "http://p.test:1/");
  assert.equal(selectProxy(wss, undefined, { all_proxy: "", ALL_PROXY: "http://all.test:1" })?.href, "http://all.test:1/");

  const peer = await wsServer();
  const proxy = await connectProxy();
  try {
    await withProxyEnv({ no_proxy: "", NO_PROXY: "127.0.0.1", HTTP_PROXY: proxy.url }, () => echoOnce(new WebSocket(peer.url), "no_proxy empty"));
    assert.equal(proxy.requests.length, 0, "NO_PROXY applies");
    await withProxyEnv({ http_proxy: "", HTTP_PROXY: proxy.url }, () => echoOnce(new WebSocket(peer.url), "http_proxy empty"));
    assert.equal(proxy.requests.length, 1, "HTTP_PROXY applies");
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test("proxy environment: ALL_PROXY is the fallback, a variable with another scheme (socks5://) is ignored, HTTP_PROXY is not used under CGI (httpoxy)", async () => {
  const ws = new URL("ws://a.test/");
  const wss = new URL("wss://a.test/");
  assert.equal(selectProxy(ws, undefined, { ALL_PROXY: "http://all.test:1" })?.href, "http://all.test:1/");
  assert.equal(selectProxy(wss, undefined, { all_proxy: "all.test:1" })?.href, "http://all.test:1/");
  for (const socks of ["socks5://127.0.0.1:1080", "SOCKS5H://127.0.0.1:1080", "socks://127.0.0.1:1080"]) {
    assert.equal(selectProxy(ws, undefined, { ALL_PROXY: socks }), undefined, socks);
    assert.equal(selectProxy(wss, undefined, { all_proxy: socks }), undefined, socks);
  }
  // Ignored means unset: the next variable in curl's order is used.
  assert.equal(selectProxy(wss, undefined, { https_proxy: "socks5://s.test:1", HTTPS_PROXY: "http://p.test:1" })?.href, "http://p.test:1/");
  assert.equal(selectProxy(wss, undefined, { HTTPS_PROXY: "socks5://s.test:1", ALL_PROXY: "https://all.test:1" })?.href, "https://all.test:1/");
  // Under CGI a request's `Proxy:` header arrives as HTTP_PROXY (CVE-2016-5385).
  assert.equal(selectProxy(ws, undefined, { REQUEST_METHOD: "GET", HTTP_PROXY: "http://attacker.test:1" }), undefined);
  assert.equal(selectProxy(ws, undefined, { REQUEST_METHOD: "GET", http_proxy: "http://attacker.test:1" }), undefined);
  assert.equal(selectProxy(ws, undefined, { REQUEST_METHOD: "GET", HTTP_PROXY: "http://attacker.test:1", ALL_PROXY: "http://all.test:1" })?.href, "http://all.test:1/");
  assert.equal(selectProxy(wss, undefined, { REQUEST_METHOD: "GET", HTTPS_PROXY: "http://p.test:1" })?.href, "http://p.test:1/");
  // An explicit option is not a guess from the environment: another scheme is an error.
  assertInvalidArgument({ proxy: "socks5://127.0.0.1:1080" }, /unsupported proxy protocol socks5:/);

  const peer = await wsServer();
  const proxy = await connectProxy();
  try {
    await withProxyEnv({ ALL_PROXY: "socks5://127.0.0.1:1" }, async () => {
      await echoOnce(new WebSocket(peer.url), "socks ALL_PROXY ignored");
      await echoOnce(new WebSocket(tlsUrl, undefined, { tls: { ca: cert } }), "socks ALL_PROXY ignored, wss");
    });
    await withProxyEnv({ REQUEST_METHOD: "GET", HTTP_PROXY: proxy.url }, () => echoOnce(new WebSocket(peer.url), "httpoxy"));
    assert.equal(proxy.requests.length, 0);
    await withProxyEnv({ ALL_PROXY: proxy.url }, () => echoOnce(new WebSocket(peer.url), "ALL_PROXY"));
    assert.equal(proxy.requests.length, 1);
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test("invalid origin, proxy and proxyTls options throw ERR_INVALID_ARGUMENT from the constructor, not at connect time", () => {
  for (const origin of ["https://a.test\r\nX-Injected: 1", "https://a.test\n", "a\u0000b", "https://\u20ac.test", 42, null]) {
    assertInvalidArgument({ origin, proxy: false });
  }
  assertInvalidArgument({ proxy: "" }, /empty/);
  assertInvalidArgument({ proxy: "  " }, /empty/);
  assertInvalidArgument({ proxy: null }, /null/);
  assertInvalidArgument({ proxy: 3128 });
  assertInvalidArgument({ proxy: true });
  assertInvalidArgument({ proxy: "http://[bad" }, /invalid proxy URL/);
  assertInvalidArgument({ proxy: "ftp://p.test:21" }, /unsupported proxy protocol/);
  // The credentials are decoded for Proxy-Authorization; a bad escape must not wait for a URIError.
  assertInvalidArgument({ proxy: "http://me:bad%zz@127.0.0.1:3128" }, /%-escape/);
  assertInvalidArgument({ proxy: new URL("http://m%e:pass@127.0.0.1:3128") }, /%-escape/);
  const error = constructorError({ proxy: "http://me:s3cret%zz@127.0.0.1:3128" });
  assert.doesNotMatch(String((error as Error).message), /s3cret/, "credentials stay out of the message");
  assertInvalidArgument({ proxyTls: "ca.pem" });
  assertInvalidArgument({ proxyTls: { rejectUnauthorized: "false" } });
  assertInvalidArgument({ proxyTls: { servername: 1 } });
  // What is valid still constructs.
  assert.equal(constructorError({ origin: "https://app.example", proxy: "http://me:pa%20ss@127.0.0.1:3128", proxyTls: { ca: cert } }), undefined);
  assert.equal(constructorError({ proxy: new URL("https://127.0.0.1:3129") }), undefined);
  assert.equal(constructorError({ proxy: "127.0.0.1:3128" }), undefined);
});

test("a proxy variable with a bad %-escape in its credentials is ERR_PROXY, not a URIError", () => {
  assert.throws(
    () => selectProxy(new URL("ws://a.test/"), undefined, { HTTP_PROXY: "http://me:bad%zz@p.test:1" }),
    (error: unknown) => isResilientError(error) && error.code === "ERR_PROXY" && /%-escape/.test(error.message) && !/bad%zz/.test(error.message),
  );
});

// followRedirects against real servers on 127.0.0.1: which statuses are followed (RFC 9110 §15.4),
// no wss: → ws: downgrade, what a cross-origin target gets (no TLS client certificate, no foreign
// servername), loops and the hop limit as ERR_REDIRECT, and a UTF-8 Location.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { Buffer } from "node:buffer";
import { WebSocket } from "../../src/node-client.js";
import { FrameReader, acceptFor, closed, next, serverFrame, testCertificate, connectProxy } from "./node-client-helpers.js";

/** What a router saw of one request. */
interface Seen {
  /** Request target: path and query. */
  path: string;
  request: string;
  /** TLS only: whether the client presented a certificate. */
  clientCertificate: boolean;
  /** TLS only: the SNI name the client sent. */
  servername: string | undefined;
}

interface Router {
  url: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * A server that answers by request target: `routes[path]` is written as the whole response
 * (latin1, so a test controls every byte), any other path is upgraded. With `tlsOptions` it
 * speaks TLS (wss://).
 */
async function router(routes: Record<string, string>, tlsOptions?: tls.TlsOptions): Promise<Router> {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = "";
    const onData = (chunk: Buffer): void => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      const request = head.slice(0, end);
      const path = request.split(" ")[1] ?? "";
      const secure = socket instanceof tls.TLSSocket ? socket : undefined;
      seen.push({
        path,
        request,
        clientCertificate: secure !== undefined && Object.keys(secure.getPeerCertificate() ?? {}).length > 0,
        servername: typeof secure?.servername === "string" ? secure.servername : undefined,
      });
      const response = routes[path];
      if (response !== undefined) {
        socket.end(Buffer.from(response, "latin1"));
        return;
      }
      const key = /sec-websocket-key: *(\S+)/i.exec(request)?.[1] ?? "";
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
      void new FrameReader(socket).waitFor(0x8).then((payload) => socket.end(serverFrame(0x8, payload)));
    };
    socket.on("data", onData);
  };
  const server = tlsOptions === undefined ? net.createServer(onSocket) : tls.createServer(tlsOptions, onSocket);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${tlsOptions === undefined ? "ws" : "wss"}://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A redirect answer; `extra` are more header lines. */
function redirect(status: string, location: string, extra = ""): string {
  return `HTTP/1.1 ${status}\r\nLocation: ${location}\r\n${extra}Content-Length: 0\r\n\r\n`;
}

/** A CONNECT proxy that tunnels every authority to 127.0.0.1 at the requested port (no DNS). */
async function loopbackProxy(): Promise<{ url: string; authorities: string[]; close(): Promise<void> }> {
  const proxy = await connectProxy({ upstreamHost: "127.0.0.1" });
  return {
    url: proxy.url,
    get authorities() {
      return proxy.requests.map((request) => request.split(" ")[1] ?? "");
    },
    close: proxy.close,
  };
}

/** The error of a handshake that fails, with the fields a redirect refusal carries. */
interface RedirectFailure {
  code: string;
  message: string;
  status?: number;
  statusText?: string;
  headers?: Map<string, string>;
  retryAfter?: number;
}

async function failure(ws: WebSocket): Promise<RedirectFailure> {
  // A handshake that succeeds after all is dropped at once, so the test fails instead of hanging.
  let opened = false;
  ws.addEventListener("open", () => {
    opened = true;
    ws.terminate();
  });
  const event = await closed(ws);
  assert.equal(opened, false, "the handshake succeeded");
  assert.equal(event.code, 1006);
  return event.error as RedirectFailure;
}

/** Waits for open, then closes cleanly. */
async function opens(ws: WebSocket): Promise<void> {
  await next(ws, "open");
  const done = closed(ws);
  ws.close();
  assert.equal((await done).wasClean, true);
}

let server: { key: string; cert: string };

before(() => {
  server = testCertificate();
});

test("followRedirects: a redirect from wss: to ws: (or https: to http:) is refused with ERR_REDIRECT, with status and headers; nothing goes out in cleartext", async () => {
  const plain = await router({});
  const secure = await router(
    {
      "/to-http": redirect("302 Found", `http://127.0.0.1:${plain.port}/p?token=SECRET`),
      "/to-ws": redirect("307 Temporary Redirect", `ws://127.0.0.1:${plain.port}/p?token=SECRET`),
    },
    server,
  );
  try {
    for (const [path, status] of [["/to-http", 302], ["/to-ws", 307]] as const) {
      const ws = new WebSocket(`${secure.url}${path}`, undefined, {
        proxy: false,
        followRedirects: 3,
        tls: { ca: server.cert },
        headers: { "X-Api-Key": "K" },
        origin: "https://app.example",
      });
      const error = await failure(ws);
      assert.equal(error.code, "ERR_REDIRECT", error.message);
      assert.match(error.message, /refusing to follow a redirect from wss: to ws:/);
      assert.equal(error.status, status);
      assert.match(error.headers?.get("location") ?? "", /^(http|ws):\/\/127\.0\.0\.1:\d+\/p\?token=SECRET$/);
      assert.equal(error.retryAfter, undefined);
    }
    assert.deepEqual(plain.seen, [], "the plain server got no request");
  } finally {
    await secure.close();
    await plain.close();
  }
});

test("followRedirects: a redirect from ws: to wss: (an https: Location) is followed", async () => {
  const secure = await router({}, server);
  const plain = await router({ "/up": redirect("301 Moved Permanently", `https://127.0.0.1:${secure.port}/s`) });
  try {
    await opens(new WebSocket(`${plain.url}/up`, undefined, { proxy: false, followRedirects: 1, tls: { ca: server.cert } }));
    assert.deepEqual(secure.seen.map((seen) => seen.path), ["/s"]);
  } finally {
    await secure.close();
    await plain.close();
  }
});

test("followRedirects: the TLS client certificate is presented to the first origin only, not to a cross-origin redirect target", async () => {
  const client = testCertificate();
  // requestCert without verification: the servers record whether a certificate came.
  const asks = { ...server, requestCert: true, rejectUnauthorized: false };
  const other = await router({}, asks);
  const first = await router(
    {
      "/start": redirect("302 Found", "/same-origin"),
      "/same-origin": redirect("307 Temporary Redirect", `wss://127.0.0.1:${other.port}/other`),
    },
    asks,
  );
  try {
    await opens(new WebSocket(`${first.url}/start`, undefined, { proxy: false, followRedirects: 2, tls: { ca: server.cert, cert: client.cert, key: client.key } }));
    assert.deepEqual(first.seen.map((seen) => [seen.path, seen.clientCertificate]), [["/start", true], ["/same-origin", true]]);
    assert.deepEqual(other.seen.map((seen) => [seen.path, seen.clientCertificate]), [["/other", false]]);
  } finally {
    await first.close();
    await other.close();
  }
});

test("followRedirects: a tls.servername override is kept while redirects keep the host name, then the new host is verified against its own name", async () => {
  // Host names through a proxy that tunnels every name to 127.0.0.1: no DNS needed.
  const a = testCertificate("DNS:a.test", "a.test");
  const b = testCertificate("DNS:b.test", "b.test");
  const proxy = await loopbackProxy();
  const targetB = await router({}, b);
  const targetA = await router({
    "/start": redirect("302 Found", "/same-host"),
    "/same-host": redirect("302 Found", `wss://b.test:${targetB.port}/b`),
  }, a);
  try {
    // front.test is reached with servername a.test, which its certificate is for.
    const ws = new WebSocket(`wss://front.test:${targetA.port}/start`, undefined, {
      proxy: proxy.url,
      followRedirects: 2,
      tls: { ca: [a.cert, b.cert], servername: "a.test" },
    });
    await opens(ws);
    assert.deepEqual(targetA.seen.map((seen) => [seen.path, seen.servername]), [["/start", "a.test"], ["/same-host", "a.test"]]);
    assert.deepEqual(targetB.seen.map((seen) => [seen.path, seen.servername]), [["/b", "b.test"]]);
    assert.deepEqual(proxy.authorities, [`front.test:${targetA.port}`, `front.test:${targetA.port}`, `b.test:${targetB.port}`]);
  } finally {
    await targetA.close();
    await targetB.close();
    await proxy.close();
  }
});

test("followRedirects: after a redirect to b.test, a certificate for the servername override (a.test) is refused", async () => {
  const a = testCertificate("DNS:a.test", "a.test");
  const proxy = await loopbackProxy();
  const impostor = await router({}, a);
  const first = await router({ "/start": redirect("302 Found", `wss://b.test:${impostor.port}/b`) }, a);
  try {
    const error = await failure(new WebSocket(`wss://front.test:${first.port}/start`, undefined, {
      proxy: proxy.url,
      followRedirects: 1,
      tls: { ca: a.cert, servername: "a.test" },
    }));
    assert.equal(error.code, "ERR_CONNECTION");
    assert.match(error.message, /b\.test/);
    assert.deepEqual(impostor.seen, []);
  } finally {
    await first.close();
    await impostor.close();
    await proxy.close();
  }
});

test("followRedirects: only the redirect statuses 301, 302, 303, 307 and 308 are followed (RFC 9110 §15.4); 300, 304, 305 and 399 are the status error", async () => {
  for (const status of ["301 Moved Permanently", "302 Found", "303 See Other", "307 Temporary Redirect", "308 Permanent Redirect"]) {
    const peer = await router({ "/start": redirect(status, "/final") });
    try {
      await opens(new WebSocket(`${peer.url}/start`, undefined, { proxy: false, followRedirects: 1 }));
      assert.deepEqual(peer.seen.map((seen) => seen.path), ["/start", "/final"], status);
    } finally {
      await peer.close();
    }
  }
  for (const status of ["300 Multiple Choices", "304 Not Modified", "305 Use Proxy", "399 Whatever"]) {
    const peer = await router({ "/start": redirect(status, "/final") });
    try {
      const error = await failure(new WebSocket(`${peer.url}/start`, undefined, { proxy: false, followRedirects: 1 }));
      assert.equal(error.code, "ERR_HANDSHAKE_STATUS", status);
      assert.equal(error.status, Number(status.slice(0, 3)));
      assert.equal(error.headers?.get("location"), "/final");
      assert.deepEqual(peer.seen.map((seen) => seen.path), ["/start"], status);
    } finally {
      await peer.close();
    }
  }
});

test("followRedirects: a Location that is not a URL, or not ws(s)/http(s), is ERR_REDIRECT with the answer's status, headers and retryAfter", async () => {
  const peer = await router({
    "/ftp": redirect("301 Moved Permanently", "ftp://127.0.0.1/x", "Retry-After: 7\r\n"),
    "/invalid": redirect("302 Found", "http://[::1", "Retry-After: 7\r\n"),
  });
  try {
    for (const [path, status, message] of [
      ["/ftp", 301, /cannot follow a redirect to ftp: URL/],
      ["/invalid", 302, /invalid redirect location/],
    ] as const) {
      const error = await failure(new WebSocket(`${peer.url}${path}`, undefined, { proxy: false, followRedirects: 3 }));
      assert.equal(error.code, "ERR_REDIRECT", path);
      assert.match(error.message, message);
      assert.equal(error.status, status, path);
      assert.equal(error.headers?.get("retry-after"), "7");
      assert.equal(error.retryAfter, 7000);
    }
  } finally {
    await peer.close();
  }
});

test("followRedirects: a redirect loop fails with ERR_REDIRECT at the first repeated URL, not after the hop limit", async () => {
  const peer = await router({
    "/self": redirect("302 Found", "/self"),
    "/empty": redirect("302 Found", ""),
    "/a": redirect("302 Found", "/b"),
    "/b": redirect("307 Temporary Redirect", "/a", "Retry-After: 3\r\n"),
  });
  try {
    for (const [start, paths, status] of [
      ["/self", ["/self"], 302],
      ["/empty", ["/empty"], 302],
      ["/a", ["/a", "/b"], 307],
    ] as const) {
      const before = peer.seen.length;
      const error = await failure(new WebSocket(`${peer.url}${start}`, undefined, { proxy: false, followRedirects: 1000 }));
      assert.equal(error.code, "ERR_REDIRECT", error.message);
      assert.match(error.message, /redirect loop/);
      assert.equal(error.status, status);
      assert.equal(typeof error.headers?.get("location"), "string");
      assert.deepEqual(peer.seen.slice(before).map((seen) => seen.path), paths);
    }
  } finally {
    await peer.close();
  }
});

test("followRedirects: a redirect once the hop limit is used up fails with ERR_REDIRECT 'too many redirects (N)', keeping status, headers and retryAfter", async () => {
  const peer = await router({
    "/1": redirect("301 Moved Permanently", "/2"),
    "/2": redirect("302 Found", "/3"),
    "/3": redirect("307 Temporary Redirect", "/4", "Retry-After: 5\r\n"),
  });
  try {
    const error = await failure(new WebSocket(`${peer.url}/1`, undefined, { proxy: false, followRedirects: 2 }));
    assert.equal(error.code, "ERR_REDIRECT", error.message);
    assert.match(error.message, /too many redirects \(2\)/);
    assert.equal(error.status, 307);
    assert.equal(error.statusText, "Temporary Redirect");
    assert.equal(error.headers?.get("location"), "/4");
    assert.equal(error.retryAfter, 5000);
    assert.deepEqual(peer.seen.map((seen) => seen.path), ["/1", "/2", "/3"]);
  } finally {
    await peer.close();
  }
});

test("followRedirects: a non-ASCII redirect Location is read as UTF-8 (as browsers do), bytes that are not UTF-8 stay %XX escapes", async () => {
  const utf8 = (text: string): string => Buffer.from(text, "utf8").toString("latin1");
  const peer = await router({
    "/start": redirect("302 Found", utf8("/a b/ü?q=ü#frag")),
    "/latin1": redirect("302 Found", "/caf\xe9"),
  });
  try {
    await opens(new WebSocket(`${peer.url}/start`, undefined, { proxy: false, followRedirects: 1 }));
    await opens(new WebSocket(`${peer.url}/latin1`, undefined, { proxy: false, followRedirects: 1 }));
    assert.deepEqual(peer.seen.map((seen) => seen.path), ["/start", "/a%20b/%C3%BC?q=%C3%BC", "/latin1", "/caf%E9"]);
  } finally {
    await peer.close();
  }
});

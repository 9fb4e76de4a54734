/**
 * RFC 6455 §4.1/§4.2.2 opening handshake: key and accept, the request head, the response head
 * parser (at every split point) and every rejection path of the response checks.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { isResilientError, type ErrorCode } from "../../src/errors.js";
import {
  buildHandshakeRequest,
  computeAccept,
  createHandshakeKey,
  isHandshakeStatusError,
  isInterimStatus,
  MAX_HEAD_BYTES,
  parseResponseHead,
  ResponseHeadReader,
  validateHandshakeResponse,
  type HandshakeRequestOptions,
  type ResponseHead,
} from "../../src/protocol/handshake.js";
import { parseExtensions } from "../../src/protocol/extensions.js";
import { base64, sha1 } from "../../src/protocol/sha1.js";
import { concat, toHex, utf8 } from "./protocol-helpers.js";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function rejects(code: ErrorCode, pattern?: RegExp): (error: unknown) => boolean {
  return (error) => isResilientError(error) && error.code === code && (pattern === undefined || pattern.test(error.message));
}

describe("RFC 6455 §4.2.2 key and accept", () => {
  it('accepts the RFC example key "dGhlIHNhbXBsZSBub25jZQ==" as "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="', () => {
    assert.equal(computeAccept(KEY), ACCEPT);
  });

  it("SHA-1 and base64 match node:crypto for lengths around block boundaries", () => {
    for (const length of [0, 1, 2, 3, 55, 56, 57, 63, 64, 65, 119, 120, 200, 1000]) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 255);
      assert.equal(toHex(sha1(data)), createHash("sha1").update(data).digest("hex"), `sha1 of ${length} bytes`);
      assert.equal(base64(data), Buffer.from(data).toString("base64"), `base64 of ${length} bytes`);
    }
  });

  it("keys are 16 random bytes in base64, different every time", () => {
    const keys = new Set(Array.from({ length: 100 }, createHandshakeKey));
    assert.equal(keys.size, 100);
    for (const key of keys) {
      assert.match(key, /^[A-Za-z0-9+/]{22}==$/);
      assert.equal(Buffer.from(key, "base64").length, 16);
    }
  });
});

describe("RFC 6455 §4.1 request head", () => {
  it("builds the exact GET request with the required headers and the optional ones in order", () => {
    const head = buildHandshakeRequest({
      host: "example.com:8080",
      path: "/chat?room=1",
      key: KEY,
      protocols: ["v2.json", "v1.json"],
      extensions: "permessage-deflate; client_max_window_bits",
      origin: "https://example.com",
      authorization: "Basic dXNlcjpwYXNz",
      headers: { "X-Trace": "abc", Cookie: "a=1" },
    });
    assert.equal(
      head,
      "GET /chat?room=1 HTTP/1.1\r\n" +
        "Host: example.com:8080\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${KEY}\r\n` +
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: v2.json, v1.json\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "Origin: https://example.com\r\n" +
        "Authorization: Basic dXNlcjpwYXNz\r\n" +
        "X-Trace: abc\r\n" +
        "Cookie: a=1\r\n" +
        "\r\n",
    );
  });

  it("omits optional headers that were not given", () => {
    const head = buildHandshakeRequest({ host: "h", path: "/", key: KEY });
    assert.doesNotMatch(head, /Protocol|Extensions|Origin|Authorization/);
    assert.ok(head.endsWith("Sec-WebSocket-Version: 13\r\n\r\n"));
  });

  it("lets headers override Host, Origin and Authorization (case-insensitively)", () => {
    const head = buildHandshakeRequest({ host: "h", path: "/", key: KEY, origin: "o", headers: { host: "virtual", ORIGIN: "o2", authorization: "Bearer t" } });
    assert.match(head, /\r\nHost: virtual\r\n/);
    assert.match(head, /\r\nOrigin: o2\r\n/);
    assert.match(head, /\r\nAuthorization: Bearer t\r\n/);
    assert.equal(head.match(/Host:/g)?.length, 1);
  });

  it("refuses header injection, bad names, reserved headers, bad subprotocols and bad paths", () => {
    const base = { host: "h", path: "/", key: KEY };
    const attempts: HandshakeRequestOptions[] = [
      { ...base, headers: { "X-A": "a\r\nEvil: 1" } },
      { ...base, headers: { "X-A": "a\nb" } },
      { ...base, headers: { "X-A": "nul\u0000" } },
      { ...base, headers: { "X-A": "wide \u0100" } },
      { ...base, headers: { "Bad Name": "x" } },
      { ...base, headers: { "": "x" } },
      { ...base, headers: { "Sec-WebSocket-Protocol": "x" } },
      { ...base, headers: { upgrade: "h2c" } },
      { ...base, headers: { Connection: "close" } },
      { ...base, headers: { "sec-websocket-key": "x" } },
      { ...base, headers: { "Sec-WebSocket-Extensions": "x" } },
      { ...base, protocols: ["has space"] },
      { ...base, protocols: ["a,b"] },
      { ...base, protocols: [""] },
      { ...base, protocols: ["dup", "dup"] },
      { ...base, path: "no-slash" },
      { ...base, path: "/a b" },
      { ...base, path: "/\r\n" },
      { ...base, host: "h\r\nX: y" },
      { ...base, origin: "o\r\n" },
    ];
    for (const opts of attempts) {
      assert.throws(() => buildHandshakeRequest(opts), rejects("ERR_INVALID_ARGUMENT"), JSON.stringify(opts));
    }
  });
});

const RESPONSE =
  "HTTP/1.1 101 Switching Protocols\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
  "Sec-WebSocket-Protocol: v1.json\r\n" +
  "X-Multi: a\r\n" +
  "x-multi:  b \r\n" +
  "\r\n";

describe("response head parsing", () => {
  it("returns null at every split point until the blank line, then the head and its length", () => {
    const frames = Uint8Array.of(0x81, 0x02, 0x68, 0x69);
    const bytes = concat(utf8(RESPONSE), frames);
    for (let end = 0; end <= bytes.length; end++) {
      const head = parseResponseHead(bytes.subarray(0, end));
      if (end < RESPONSE.length) {
        assert.equal(head, null, `prefix of ${end} bytes`);
        continue;
      }
      assert.ok(head, `prefix of ${end} bytes`);
      assert.equal(head.status, 101);
      assert.equal(head.statusText, "Switching Protocols");
      assert.equal(head.headLength, RESPONSE.length);
      assert.equal(head.headers.get("upgrade"), "websocket");
      assert.equal(head.headers.get("sec-websocket-accept"), ACCEPT);
      assert.equal(head.headers.get("x-multi"), "a, b", "repeated headers joined, whitespace trimmed");
    }
  });

  it("accepts bare LF line endings, an empty reason phrase and HTTP/1.0", () => {
    const head = parseResponseHead(utf8("HTTP/1.1 101\nUpgrade: websocket\n\nrest"));
    assert.ok(head);
    assert.equal(head.statusText, "");
    assert.equal(head.headLength, "HTTP/1.1 101\nUpgrade: websocket\n\n".length);
    assert.equal(parseResponseHead(utf8("HTTP/1.0 403 Forbidden\r\n\r\n"))?.status, 403);
    assert.equal(parseResponseHead(utf8("HTTP/1.0 403 Forbidden\r\n\r\n"))?.httpMinor, 0);
    // RFC 9110 §2.5: a minor version above ours is processed as HTTP/1.1.
    assert.equal(parseResponseHead(utf8("HTTP/1.2 101 Switching Protocols\r\n\r\n"))?.httpMinor, 1);
    assert.equal(parseResponseHead(utf8("HTTP/1.9 403 Forbidden\r\n\r\n"))?.status, 403);
    assert.equal(head.httpMinor, 1);
  });

  it("unfolds obs-fold into SP (RFC 9112 §5.2: a user agent MUST), the value's parts trimmed", () => {
    const head = parseResponseHead(utf8("HTTP/1.1 101 X\r\nA: b\r\n folded\r\nB:\r\n\tonly \r\nA: c\r\nC: x\n \ty\n\n"));
    assert.equal(head?.headers.get("a"), "b folded, c");
    assert.equal(head?.headers.get("b"), "only");
    assert.equal(head?.headers.get("c"), "x y");
  });

  it("keeps obs-text bytes in values as latin1", () => {
    const head = parseResponseHead(Uint8Array.from([...utf8("HTTP/1.1 200 OK\r\nX: "), 0xe9, ...utf8("\r\n\r\n")]));
    assert.equal(head?.headers.get("x"), "\u00e9");
  });

  it("throws ERR_HANDSHAKE on garbage as soon as the first bytes show it", () => {
    for (const text of ["SSH-2.0-OpenSSH\r\n", "H", "HTTX", "\u0000", "<html>"]) {
      if (text === "H") {
        assert.equal(parseResponseHead(utf8(text)), null, "a valid prefix waits");
        continue;
      }
      assert.throws(() => parseResponseHead(utf8(text)), rejects("ERR_HANDSHAKE"), text);
    }
  });

  it("throws ERR_HANDSHAKE on malformed heads", () => {
    for (const text of [
      "HTTP/2 101 Switching\r\n\r\n",
      "HTTP/1.1 1010 X\r\n\r\n",
      "HTTP/1.1 abc X\r\n\r\n",
      "HTTP/1.1 101 X\r\nNoColon\r\n\r\n",
      "HTTP/1.1 101 X\r\nBad Name: v\r\n\r\n",
      "HTTP/1.1 101 X\r\nName : v\r\n\r\n",
      "HTTP/1.1 101 X\r\n: v\r\n\r\n",
      "HTTP/1.1 101 X\r\n folded: before any field line\r\n\r\n",
      "HTTP/1.1 101 X\r\nA: b\u0000c\r\n\r\n",
      "HTTP/1.1 101 X\r\nA: b\rc\r\n\r\n",
    ]) {
      assert.throws(() => parseResponseHead(utf8(text)), rejects("ERR_HANDSHAKE"), JSON.stringify(text));
    }
  });

  it(`refuses a head over ${MAX_HEAD_BYTES} bytes, complete or not`, () => {
    const big = "HTTP/1.1 101 X\r\nX-Pad: " + "a".repeat(MAX_HEAD_BYTES) + "\r\n";
    assert.throws(() => parseResponseHead(utf8(big)), rejects("ERR_HANDSHAKE", /larger/));
    assert.throws(() => parseResponseHead(utf8(big + "\r\n")), rejects("ERR_HANDSHAKE", /larger/));
    const fits = "HTTP/1.1 101 X\r\nX-Pad: " + "a".repeat(MAX_HEAD_BYTES - 100) + "\r\n\r\n";
    assert.equal(parseResponseHead(utf8(fits))?.headLength, fits.length);
  });
});

describe("ResponseHeadReader: the head from chunks", () => {
  const frames = Uint8Array.of(0x81, 0x02, 0x68, 0x69);
  const bytes = concat(utf8(RESPONSE), frames);
  const expected = parseResponseHead(bytes)!;

  /** Push `chunks` in order; the result of the push that completed the head, or null. */
  function feed(chunks: Uint8Array[]): { head: ResponseHead; rest: Uint8Array; pushes: number } | null {
    const reader = new ResponseHeadReader();
    for (let i = 0; i < chunks.length; i++) {
      const read = reader.push(chunks[i]!);
      if (read !== null) return { ...read, pushes: i + 1 };
    }
    return null;
  }

  it("gives the same head as parseResponseHead at every pair of split points, and the bytes after it", () => {
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b++) {
        const read = feed([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
        assert.ok(read, `splits ${a}/${b}`);
        assert.deepEqual(read.head, expected, `splits ${a}/${b}`);
        // The head completes in the chunk holding its last byte; the rest is what that chunk had after it.
        const completedAt = RESPONSE.length <= a ? a : RESPONSE.length <= b ? b : bytes.length;
        assert.equal(read.pushes, RESPONSE.length <= a ? 1 : RESPONSE.length <= b ? 2 : 3, `splits ${a}/${b}`);
        assert.equal(toHex(read.rest), toHex(bytes.subarray(RESPONSE.length, completedAt)), `splits ${a}/${b}`);
      }
    }
  });

  it("one byte per chunk: bare LF and CRLF heads, and a head of nearly 16 KiB", () => {
    const big = "HTTP/1.1 101 X\r\nX-Pad: " + "a".repeat(MAX_HEAD_BYTES - 100) + "\r\n\r\n";
    for (const text of ["HTTP/1.1 101\nUpgrade: websocket\n\n", RESPONSE, big]) {
      const whole = utf8(text);
      const read = feed(Array.from(whole, (byte) => Uint8Array.of(byte)));
      assert.ok(read);
      assert.equal(read.pushes, whole.length, "completes on the last byte, not before");
      assert.deepEqual(read.head, parseResponseHead(whole));
      assert.equal(read.rest.length, 0);
    }
  });

  it("refuses garbage at its first byte and a head over 16 KiB as soon as it is over, one byte per chunk", () => {
    const reader = new ResponseHeadReader();
    assert.equal(reader.push(utf8("HT")), null);
    assert.throws(() => reader.push(utf8("X")), rejects("ERR_HANDSHAKE", /does not start with HTTP/));

    const endless = new ResponseHeadReader();
    const prefix = utf8("HTTP/1.1 101 X\r\nX-Pad: ");
    assert.equal(endless.push(prefix), null);
    let pushed = prefix.length;
    const a = utf8("a");
    assert.throws(() => {
      for (;;) {
        endless.push(a);
        pushed++;
      }
    }, rejects("ERR_HANDSHAKE", /larger/));
    assert.equal(pushed, MAX_HEAD_BYTES, "the byte that made it too large was refused");
  });

  it("finds a blank line split across chunks in every way (LF|LF, CR LF|CR LF, LF CR|LF)", () => {
    const text = "HTTP/1.1 101 X\r\nA: b\r\n\r\n";
    const whole = utf8(text);
    for (let cut = text.length - 4; cut < text.length; cut++) {
      const read = feed([whole.subarray(0, cut), whole.subarray(cut)]);
      assert.equal(read?.head.headers.get("a"), "b", `cut at ${cut}`);
    }
    const lf = utf8("HTTP/1.1 101 X\nA: b\n\n");
    const read = feed([lf.subarray(0, lf.length - 1), lf.subarray(lf.length - 1)]);
    assert.equal(read?.head.headLength, lf.length);
  });
});

describe("ResponseHeadReader: 1xx interim responses before the final one (RFC 9110 §15.2)", () => {
  const INTERIM = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </fx.css>; rel=preload\r\n\nHTTP/1.1 102\n\n";
  const frames = Uint8Array.of(0x81, 0x02, 0x68, 0x69);

  function feed(chunks: Uint8Array[]): { head: ResponseHead; rest: Uint8Array } | null {
    const reader = new ResponseHeadReader();
    for (const chunk of chunks) {
      const read = reader.push(chunk);
      if (read !== null) return read;
    }
    return null;
  }

  it("interim means 1xx but 101, which switches protocols at once (§15.2.2)", () => {
    assert.deepEqual([100, 101, 102, 103, 199, 200, 99].map(isInterimStatus), [true, false, true, true, true, false, false]);
  });

  it("skips 100, 102 and 103 and gives the final head and the bytes after it, at every pair of split points", () => {
    for (const final of [RESPONSE, "HTTP/1.1 200 Connection established\r\n\r\n", "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\r\n"]) {
      const bytes = concat(utf8(INTERIM + final), frames);
      const expected = parseResponseHead(utf8(final))!;
      for (let a = 0; a <= bytes.length; a++) {
        for (let b = a; b <= bytes.length; b++) {
          const read = feed([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
          assert.ok(read, `splits ${a}/${b}`);
          assert.deepEqual(read.head, expected, `splits ${a}/${b}`);
          // The final head completes in the chunk holding its last byte; the rest is what that chunk had after it.
          const end = INTERIM.length + final.length;
          const completedAt = end <= a ? a : end <= b ? b : bytes.length;
          assert.equal(toHex(read.rest), toHex(bytes.subarray(end, completedAt)), `splits ${a}/${b}`);
        }
      }
    }
  });

  it("returns null after an interim head until the final one is complete", () => {
    const reader = new ResponseHeadReader();
    assert.equal(reader.push(utf8("HTTP/1.1 100 Continue\r\n\r\n")), null);
    assert.equal(reader.push(utf8("HTTP/1.1 101 Switching")), null);
    assert.equal(reader.push(utf8(" Protocols\r\n\r\n"))?.head.status, 101);
  });

  it("a 101 is final: a head after it is the new protocol's bytes, not parsed", () => {
    const after = "HTTP/1.1 100 Continue\r\n\r\n";
    const read = feed([utf8(RESPONSE + after)]);
    assert.equal(read?.head.status, 101);
    assert.equal(toHex(read!.rest), toHex(utf8(after)));
  });

  it("the 16 KiB bound covers the interim heads and the final head together", () => {
    const hint = `HTTP/1.1 103 Early Hints\r\nLink: ${"a".repeat(4000)}\r\n\r\n`;
    const fourHints = hint.repeat(4);
    assert.ok(fourHints.length < MAX_HEAD_BYTES && fourHints.length + hint.length > MAX_HEAD_BYTES);
    assert.equal(feed([utf8(fourHints + "HTTP/1.1 101 X\r\n\r\n")])?.head.status, 101);
    assert.throws(() => feed([utf8(fourHints + hint + "HTTP/1.1 101 X\r\n\r\n")]), rejects("ERR_HANDSHAKE", /larger/));
    assert.throws(() => feed(Array.from(utf8(fourHints + hint), (byte) => Uint8Array.of(byte))), rejects("ERR_HANDSHAKE", /larger/));
    // An endless stream of interim heads is refused too, not read forever.
    const endless = new ResponseHeadReader();
    assert.throws(() => {
      for (;;) endless.push(utf8("HTTP/1.1 100 Continue\r\n\r\n"));
    }, rejects("ERR_HANDSHAKE", /larger/));
  });

  it("garbage after an interim head is refused as it would be first", () => {
    assert.throws(() => feed([utf8("HTTP/1.1 100 Continue\r\n\r\nSSH-2.0-OpenSSH\r\n\r\n")]), rejects("ERR_HANDSHAKE", /does not start with HTTP/));
  });

  it("parseResponseHead parses one head, an interim one included", () => {
    assert.equal(parseResponseHead(utf8(INTERIM + RESPONSE))?.status, 100);
  });
});

describe("RFC 6455 §4.1 response checks", () => {
  const offer = { key: KEY, protocols: ["v2.json", "v1.json"], extensionsOffered: ["permessage-deflate"] };
  const head = (status: number, headers: Record<string, string>, statusText = "Switching Protocols"): ResponseHead => ({
    httpMinor: 1,
    status,
    statusText,
    headers: new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    headLength: 0,
  });
  const good = { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Accept": ACCEPT };

  it("accepts a correct response and reports the selected subprotocol and extensions", () => {
    assert.deepEqual(validateHandshakeResponse(parseResponseHead(utf8(RESPONSE))!, offer), { protocol: "v1.json", extensions: "" });
    assert.deepEqual(
      validateHandshakeResponse(head(101, { ...good, "Sec-WebSocket-Extensions": "permessage-deflate; server_no_context_takeover" }), offer),
      { protocol: "", extensions: "permessage-deflate; server_no_context_takeover" },
    );
  });

  it("refuses a 101 in HTTP/1.0, which has no Upgrade (RFC 9110 §7.8)", () => {
    assert.throws(() => validateHandshakeResponse({ ...head(101, good), httpMinor: 0 }, offer), rejects("ERR_HANDSHAKE", /HTTP\/1\.0/));
  });

  it("accepts case-insensitive Upgrade and a Connection token list", () => {
    const result = validateHandshakeResponse(head(101, { ...good, Upgrade: "WebSocket", Connection: "keep-alive, UPGRADE" }), offer);
    assert.equal(result.protocol, "");
  });

  for (const status of [200, 301, 302, 400, 401, 403, 404, 429, 500, 503]) {
    it(`status ${status} fails with ERR_HANDSHAKE_STATUS carrying status and headers`, () => {
      assert.throws(
        () => validateHandshakeResponse(head(status, { "Retry-After": "30", "WWW-Authenticate": "Basic" }, "Nope"), offer),
        (error: unknown) => {
          assert.ok(isHandshakeStatusError(error));
          assert.ok(isResilientError(error));
          assert.equal(error.code, "ERR_HANDSHAKE_STATUS");
          assert.equal(error.status, status);
          assert.equal(error.statusText, "Nope");
          assert.equal(error.headers.get("retry-after"), "30");
          assert.match(error.message, new RegExp(`${status} Nope`));
          return true;
        },
      );
    });
  }

  const failures: Array<[string, Record<string, string>, RegExp]> = [
    ["missing Upgrade", { Connection: "Upgrade", "Sec-WebSocket-Accept": ACCEPT }, /Upgrade header is missing/],
    ["wrong Upgrade", { ...good, Upgrade: "h2c" }, /Upgrade header is "h2c"/],
    ["missing Connection", { Upgrade: "websocket", "Sec-WebSocket-Accept": ACCEPT }, /Connection header is missing/],
    ["Connection without upgrade", { ...good, Connection: "keep-alive" }, /Connection header is "keep-alive"/],
    ["Connection with upgrade only as a substring", { ...good, Connection: "upgrades" }, /Connection/],
    ["missing Accept", { Upgrade: "websocket", Connection: "Upgrade" }, /Accept header is missing/],
    ["wrong Accept", { ...good, "Sec-WebSocket-Accept": "dGhlIHNhbXBsZSBub25jZQ==" }, /does not match/],
    ["extension not offered", { ...good, "Sec-WebSocket-Extensions": "x-webkit-deflate-frame" }, /not offered/],
    ["extension accepted twice", { ...good, "Sec-WebSocket-Extensions": "permessage-deflate, permessage-deflate" }, /twice/],
    ["malformed extensions", { ...good, "Sec-WebSocket-Extensions": "permessage-deflate; =1" }, /Extensions/],
  ];
  for (const [name, headers, pattern] of failures) {
    it(`fails with ERR_HANDSHAKE: ${name}`, () => {
      assert.throws(() => validateHandshakeResponse(head(101, headers), offer), rejects("ERR_HANDSHAKE", pattern));
    });
  }

  // Its own code, so that requireProtocol (src/client/client.ts) tests the code, not the message.
  for (const [name, protocol] of [["subprotocol not offered", "v3.json"], ["several subprotocols selected", "v1.json, v2.json"]] as const) {
    it(`fails with ERR_PROTOCOL_NOT_SELECTED: ${name}`, () => {
      assert.throws(
        () => validateHandshakeResponse(head(101, { ...good, "Sec-WebSocket-Protocol": protocol }), offer),
        rejects("ERR_PROTOCOL_NOT_SELECTED", /not offered/),
      );
    });
  }

  it("fails with ERR_PROTOCOL_NOT_SELECTED when the server selects a subprotocol although none was offered", () => {
    assert.throws(
      () => validateHandshakeResponse(head(101, { ...good, "Sec-WebSocket-Protocol": "v1.json" }), { ...offer, protocols: [] }),
      rejects("ERR_PROTOCOL_NOT_SELECTED", /none was offered/),
    );
  });

  it("fails on any extension when none was offered", () => {
    assert.throws(
      () => validateHandshakeResponse(head(101, { ...good, "Sec-WebSocket-Extensions": "permessage-deflate" }), { ...offer, extensionsOffered: [] }),
      rejects("ERR_HANDSHAKE", /not offered/),
    );
  });

  it("matches offered extensions by name even when the offer carries parameters", () => {
    const result = validateHandshakeResponse(head(101, { ...good, "Sec-WebSocket-Extensions": "Permessage-Deflate" }), {
      ...offer,
      extensionsOffered: ["permessage-deflate; client_max_window_bits"],
    });
    assert.equal(result.extensions, "Permessage-Deflate");
  });
});

describe("RFC 6455 §9.1 extension header grammar", () => {
  it("parses tokens, parameters with and without values, quoted values and several extensions", () => {
    assert.deepEqual(parseExtensions('foo; a; b=1; c="x" , Bar;D=2'), [
      { name: "foo", params: [["a", true], ["b", "1"], ["c", "x"]] },
      { name: "bar", params: [["d", "2"]] },
    ]);
  });

  it("refuses syntax errors", () => {
    for (const value of ["", ";a", "foo;", "foo; a=", 'foo; a="x', 'foo; a="x y"', "foo bar", "foo; a b", "fo@o"]) {
      assert.throws(() => parseExtensions(value), rejects("ERR_HANDSHAKE"), JSON.stringify(value));
    }
  });
});

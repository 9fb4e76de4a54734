import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeFrame, encodeFrame, stomp, stompCodecs } from "../../examples/stomp/codec.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("STOMP codec (examples/stomp)", () => {
  it("encodes a SEND with escaped headers, content-length in octets and a NUL terminator", () => {
    const text = encodeFrame(
      { command: "SEND", headers: { destination: "/queue/a", "k:1": "a\nb\\c\rd" }, body: "é" },
      "1.2",
    );
    assert.equal(text, "SEND\ndestination:/queue/a\nk\\c1:a\\nb\\\\c\\rd\ncontent-length:2\n\né\0");
  });

  it("STOMP 1.1 leaves \\r alone; CONNECT frames are never escaped; 1.0 refuses what it cannot carry", () => {
    assert.match(encodeFrame({ command: "SEND", headers: { h: "a\r:" }, body: "" }, "1.1"), /h:a\r\\c\n/);
    assert.match(encodeFrame({ command: "CONNECT", headers: { login: "a:b" }, body: "" }, "1.2"), /login:a:b\n/);
    assert.throws(() => encodeFrame({ command: "SEND", headers: { h: "a\nb" }, body: "" }, "1.0"), {
      code: "ERR_INVALID_ARGUMENT",
    });
  });

  it("decodes MESSAGE with unescaping, first repeated header wins, CRLF lines and a body holding NUL", () => {
    const frame = decodeFrame(
      bytes("MESSAGE\r\ndestination:/queue/a\r\nk\\c1:x\\ny\nk\\c1:second\ncontent-length:5\n\na\0b\u00e9\0\n\n"),
      "1.2",
    );
    assert.deepEqual(frame, {
      command: "MESSAGE",
      headers: { destination: "/queue/a", "k:1": "x\ny", "content-length": "5" },
      body: "a\0b\u00e9",
    });
  });

  it("a message of bare EOLs is a heart-beat", () => {
    assert.equal(stomp("1.2").decode("\n").command, "HEARTBEAT");
    assert.equal(stomp("1.2").decode("\r\n").command, "HEARTBEAT");
  });

  it("round-trips through every version's codec", () => {
    for (const [protocol, codec] of Object.entries(stompCodecs())) {
      const sent = codec.encode({ command: "SEND", headers: { destination: "/t", x: "1" }, body: "hi" }) as string;
      const echoed = sent.replace(/^SEND/, "MESSAGE");
      assert.deepEqual(codec.decode(echoed), {
        command: "MESSAGE",
        headers: { destination: "/t", x: "1", "content-length": "2" },
        body: "hi",
      }, protocol);
      assert.deepEqual(codec.decode(bytes(echoed).buffer as ArrayBuffer).body, "hi");
    }
  });

  const invalid: Array<[string, string]> = [
    ["FOO\n\n\0", "unexpected server command"],
    ["MESSAGE\nbad-header\n\n\0", 'without ":"'],
    ["MESSAGE\nk:\\t\n\n\0", "undefined escape"],
    ["MESSAGE\ncontent-length:9\n\nshort\0", "not followed by NUL"],
    ["MESSAGE\ncontent-length:x\n\n\0", "bad content-length"],
    ["MESSAGE\n\nno terminator", "not NUL-terminated"],
    ["MESSAGE\nk:v", "inside its headers"],
    ["RECEIPT\nreceipt-id:1\n\n\0MESSAGE\n\n\0", "more than one frame"],
  ];
  for (const [input, reason] of invalid) {
    it(`rejects ${JSON.stringify(input)} with ERR_DECODE (${reason})`, () => {
      assert.throws(() => stomp("1.2").decode(input), (error: Error & { code?: string }) => {
        assert.equal(error.code, "ERR_DECODE");
        assert.ok(error.message.includes(reason), error.message);
        return true;
      });
    });
  }
});

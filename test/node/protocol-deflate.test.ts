/**
 * RFC 7692 §7 permessage-deflate negotiation: the client's offer and every rule of §7.1 the
 * client must enforce on the server's response.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isResilientError } from "../../src/errors.js";
import { buildDeflateOffer, parseDeflateResponse, type DeflateOffer } from "../../src/protocol/deflate-params.js";

const DEFAULTS = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

function handshakeError(error: unknown): boolean {
  return isResilientError(error) && error.code === "ERR_HANDSHAKE" && /RFC 7692/.test(error.message);
}

describe("RFC 7692 §7.1 offer", () => {
  it("builds offers with each parameter", () => {
    assert.equal(buildDeflateOffer({}), "permessage-deflate");
    assert.equal(buildDeflateOffer({ clientMaxWindowBits: true }), "permessage-deflate; client_max_window_bits");
    assert.equal(
      buildDeflateOffer({ clientMaxWindowBits: 10, serverMaxWindowBits: 12, clientNoContextTakeover: true, serverNoContextTakeover: true }),
      "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10",
    );
    assert.equal(buildDeflateOffer({ clientNoContextTakeover: false, serverNoContextTakeover: false }), "permessage-deflate");
  });

  it("refuses window bits outside 8..15", () => {
    for (const bad of [7, 16, 0, 9.5, Number.NaN]) {
      assert.throws(() => buildDeflateOffer({ serverMaxWindowBits: bad }), (e: unknown) => isResilientError(e) && e.code === "ERR_INVALID_ARGUMENT");
      assert.throws(() => buildDeflateOffer({ clientMaxWindowBits: bad }), (e: unknown) => isResilientError(e) && e.code === "ERR_INVALID_ARGUMENT");
    }
  });
});

describe("RFC 7692 §7.1 response", () => {
  const accept = (value: string, offer: DeflateOffer = {}) => parseDeflateResponse(value, offer);

  it("a bare acceptance gives the defaults (context takeover, 15-bit windows)", () => {
    assert.deepEqual(accept("permessage-deflate"), DEFAULTS);
  });

  it("§7.1.1.2: an offered client_no_context_takeover binds the client even when the response omits it", () => {
    assert.deepEqual(accept("permessage-deflate", { clientNoContextTakeover: true }), { ...DEFAULTS, clientNoContextTakeover: true });
    assert.deepEqual(accept("permessage-deflate", { clientNoContextTakeover: false }), DEFAULTS);
  });

  it("§7.1.1.1/§7.1.1.2: the server may add either no_context_takeover even if not offered", () => {
    assert.deepEqual(accept("permessage-deflate; server_no_context_takeover"), { ...DEFAULTS, serverNoContextTakeover: true });
    assert.deepEqual(accept("permessage-deflate; client_no_context_takeover"), { ...DEFAULTS, clientNoContextTakeover: true });
    assert.deepEqual(accept("permessage-deflate; server_no_context_takeover", { serverNoContextTakeover: true }), {
      ...DEFAULTS,
      serverNoContextTakeover: true,
    });
  });

  it("no_context_takeover parameters take no value", () => {
    assert.throws(() => accept("permessage-deflate; server_no_context_takeover=1"), handshakeError);
    assert.throws(() => accept('permessage-deflate; client_no_context_takeover="x"'), handshakeError);
  });

  it("§7.1.2.1: server_max_window_bits may be sent unrequested, must not exceed a request, and must answer one", () => {
    assert.deepEqual(accept("permessage-deflate; server_max_window_bits=10"), { ...DEFAULTS, serverMaxWindowBits: 10 });
    assert.deepEqual(accept('permessage-deflate; server_max_window_bits="9"'), { ...DEFAULTS, serverMaxWindowBits: 9 });
    assert.deepEqual(accept("permessage-deflate; server_max_window_bits=10", { serverMaxWindowBits: 12 }), { ...DEFAULTS, serverMaxWindowBits: 10 });
    assert.deepEqual(accept("permessage-deflate; server_max_window_bits=12", { serverMaxWindowBits: 12 }), { ...DEFAULTS, serverMaxWindowBits: 12 });
    assert.throws(() => accept("permessage-deflate; server_max_window_bits=13", { serverMaxWindowBits: 12 }), handshakeError);
    assert.throws(() => accept("permessage-deflate", { serverMaxWindowBits: 12 }), handshakeError);
  });

  it("§7.1.2.2: client_max_window_bits only when offered, within the offered value", () => {
    assert.throws(() => accept("permessage-deflate; client_max_window_bits=10"), handshakeError);
    assert.deepEqual(accept("permessage-deflate; client_max_window_bits=10", { clientMaxWindowBits: true }), { ...DEFAULTS, clientMaxWindowBits: 10 });
    assert.deepEqual(accept("permessage-deflate", { clientMaxWindowBits: true }), DEFAULTS);
    assert.deepEqual(accept("permessage-deflate", { clientMaxWindowBits: 11 }), { ...DEFAULTS, clientMaxWindowBits: 11 });
    assert.deepEqual(accept("permessage-deflate; client_max_window_bits=9", { clientMaxWindowBits: 11 }), { ...DEFAULTS, clientMaxWindowBits: 9 });
    assert.throws(() => accept("permessage-deflate; client_max_window_bits=12", { clientMaxWindowBits: 11 }), handshakeError);
  });

  it("§7.1.2: window bits must be 8..15, decimal, without leading zeros, with a value", () => {
    for (const value of ["7", "16", "08", "0", "abc", "1.5", "-9", "99"]) {
      assert.throws(() => accept(`permessage-deflate; server_max_window_bits=${value}`), handshakeError, value);
      assert.throws(() => accept(`permessage-deflate; client_max_window_bits=${value}`, { clientMaxWindowBits: true }), handshakeError, value);
    }
    assert.throws(() => accept("permessage-deflate; server_max_window_bits"), handshakeError);
    assert.throws(() => accept("permessage-deflate; client_max_window_bits", { clientMaxWindowBits: true }), handshakeError);
    for (const bits of [8, 15]) {
      assert.equal(accept(`permessage-deflate; server_max_window_bits=${bits}`).serverMaxWindowBits, bits);
    }
  });

  it("§7.1: unknown and repeated parameters fail", () => {
    assert.throws(() => accept("permessage-deflate; foo"), handshakeError);
    assert.throws(() => accept("permessage-deflate; server_no_context_takeover; server_no_context_takeover"), handshakeError);
    assert.throws(() => accept("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"), handshakeError);
  });

  it("§5: exactly one permessage-deflate element; parameter names are case-insensitive; other extensions are ignored here", () => {
    assert.throws(() => accept("permessage-deflate, permessage-deflate"), handshakeError);
    assert.throws(() => accept("x-other"), handshakeError);
    assert.deepEqual(accept("x-other; a=1, permessage-deflate; Server_No_Context_Takeover"), { ...DEFAULTS, serverNoContextTakeover: true });
  });

  it("everything at once", () => {
    const offer: DeflateOffer = { clientMaxWindowBits: true, serverMaxWindowBits: 10, clientNoContextTakeover: true, serverNoContextTakeover: true };
    assert.deepEqual(
      accept(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=8",
        offer,
      ),
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 8 },
    );
  });
});

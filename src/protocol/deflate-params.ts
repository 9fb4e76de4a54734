/**
 * RFC 7692 §7 permessage-deflate parameter negotiation, client side: the offer we send and the
 * checks on the server's response (§7.1). Compression itself lives in the adapters.
 */
import { createError } from "../errors.js";
import { parseExtensions, type ExtensionElement } from "./extensions.js";

export const PERMESSAGE_DEFLATE = "permessage-deflate";

export interface DeflateOffer {
  /** Offer client_max_window_bits: `true` without a value (any size the server picks), or 8..15. */
  clientMaxWindowBits?: number | true;
  /** Ask the server to use at most this LZ77 window (8..15). */
  serverMaxWindowBits?: number;
  /** Announce that the client will reset its compression context after each message. */
  clientNoContextTakeover?: boolean;
  /** Ask the server to reset its compression context after each message. */
  serverNoContextTakeover?: boolean;
}

export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** Window the server compresses with, so the one to inflate with (8..15). */
  serverMaxWindowBits: number;
  /** Window to compress with (8..15). */
  clientMaxWindowBits: number;
}

function isWindowBits(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 8 && value <= 15;
}

/** The Sec-WebSocket-Extensions offer (RFC 7692 §7.1). Throws ERR_INVALID_ARGUMENT on bad bits. */
export function buildDeflateOffer(opts: DeflateOffer): string {
  let offer = PERMESSAGE_DEFLATE;
  if (opts.clientNoContextTakeover === true) offer += "; client_no_context_takeover";
  if (opts.serverNoContextTakeover === true) offer += "; server_no_context_takeover";
  if (opts.serverMaxWindowBits !== undefined) {
    if (!isWindowBits(opts.serverMaxWindowBits)) {
      throw createError("ERR_INVALID_ARGUMENT", `serverMaxWindowBits must be an integer from 8 to 15, got ${String(opts.serverMaxWindowBits)}`);
    }
    offer += `; server_max_window_bits=${opts.serverMaxWindowBits}`;
  }
  if (opts.clientMaxWindowBits === true) {
    offer += "; client_max_window_bits";
  } else if (opts.clientMaxWindowBits !== undefined) {
    if (!isWindowBits(opts.clientMaxWindowBits)) {
      throw createError("ERR_INVALID_ARGUMENT", `clientMaxWindowBits must be true or an integer from 8 to 15, got ${String(opts.clientMaxWindowBits)}`);
    }
    offer += `; client_max_window_bits=${opts.clientMaxWindowBits}`;
  }
  return offer;
}

function reject(why: string): never {
  throw createError("ERR_HANDSHAKE", `Invalid permessage-deflate response: ${why} (RFC 7692 §7.1)`);
}

/** RFC 7692 §7.1.2: 1*DIGIT without leading zero, from 8 to 15. */
function windowBits(name: string, value: string | true): number {
  if (value === true || !/^[1-9][0-9]?$/.test(value)) reject(`${name} needs a value from 8 to 15, got ${value === true ? "none" : `"${value}"`}`);
  const bits = Number(value);
  if (bits < 8 || bits > 15) reject(`${name}=${bits} is outside 8..15`);
  return bits;
}

/**
 * Check the server's response to our offer and return the negotiated parameters. `value` is the
 * Sec-WebSocket-Extensions response value (other extensions in it are ignored here). Throws
 * ERR_HANDSHAKE for a missing or repeated permessage-deflate element, an unknown, repeated or
 * invalid parameter, or a parameter the offer does not allow.
 */
export function parseDeflateResponse(value: string, offer: DeflateOffer): DeflateParams {
  const elements = parseExtensions(value).filter((element: ExtensionElement) => element.name === PERMESSAGE_DEFLATE);
  // RFC 7692 §5: the server accepts at most one permessage-deflate offer.
  if (elements.length !== 1) reject(elements.length === 0 ? "no permessage-deflate element" : "more than one permessage-deflate element");

  const result: DeflateParams = {
    serverNoContextTakeover: false,
    // RFC 7692 §7.1.1.2: offering client_no_context_takeover is a promise to the server that holds
    // whether or not the response repeats it.
    clientNoContextTakeover: offer.clientNoContextTakeover === true,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: typeof offer.clientMaxWindowBits === "number" ? offer.clientMaxWindowBits : 15,
  };
  const seen = new Set<string>();
  let serverBitsSeen = false;
  for (const [name, paramValue] of elements[0]!.params) {
    // RFC 7692 §7.1: a parameter must not appear twice.
    if (seen.has(name)) reject(`parameter ${name} repeated`);
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
        // §7.1.1.1: the server may add it even if not requested; it has no value.
        if (paramValue !== true) reject("server_no_context_takeover takes no value");
        result.serverNoContextTakeover = true;
        break;
      case "client_no_context_takeover":
        // §7.1.1.2: the server may add it even if not offered; it has no value.
        if (paramValue !== true) reject("client_no_context_takeover takes no value");
        result.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits": {
        // §7.1.2.1: the server may limit its window; not above what we asked for.
        const bits = windowBits(name, paramValue);
        if (offer.serverMaxWindowBits !== undefined && bits > offer.serverMaxWindowBits) {
          reject(`server_max_window_bits=${bits} exceeds the ${offer.serverMaxWindowBits} requested`);
        }
        result.serverMaxWindowBits = bits;
        serverBitsSeen = true;
        break;
      }
      case "client_max_window_bits": {
        // §7.1.2.2: only allowed when the offer carried client_max_window_bits.
        if (offer.clientMaxWindowBits === undefined) reject("client_max_window_bits was not offered");
        const bits = windowBits(name, paramValue);
        if (typeof offer.clientMaxWindowBits === "number" && bits > offer.clientMaxWindowBits) {
          reject(`client_max_window_bits=${bits} exceeds the ${offer.clientMaxWindowBits} offered`);
        }
        result.clientMaxWindowBits = bits;
        break;
      }
      default:
        // §7.1: an unknown parameter fails the connection.
        reject(`unknown parameter ${name}`);
    }
  }
  // §7.1.2.1: a server that accepts server_max_window_bits must answer with it.
  if (offer.serverMaxWindowBits !== undefined && !serverBitsSeen) reject("server_max_window_bits requested but not answered");
  return result;
}

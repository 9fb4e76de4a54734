/**
 * Built-in codecs: json, text, binary. Each is a plain object satisfying `Codec`, so a user codec
 * (STOMP, protobuf, msgpack…) is written the same way. Decoding failures throw a ResilientError
 * ERR_DECODE; the client turns that into a `decodeerror` event and keeps the connection up.
 * Schema validation is a wrapper in schema.ts (`withSchema`), bundled only when used.
 */
import { createError } from "../errors.js";
import type { Codec } from "./codec.js";

let utf8: TextDecoder | undefined;

/** Strict UTF-8 (invalid bytes throw a TypeError), created on first use so importing does no work. */
const toText = (data: string | ArrayBuffer): string =>
  typeof data == "string" ? data : (utf8 ??= new TextDecoder("utf-8", { fatal: true })).decode(data);

/** Runs `fn`; whatever it throws becomes ERR_DECODE "`who`: the reason" with the original as cause. */
function decoding<T>(who: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw createError("ERR_DECODE", `${who}: ${(error as Error).message}`, undefined, error);
  }
}

export interface JsonCodecOptions {
  /** Passed to `JSON.parse`. @default undefined */
  reviver?: (this: unknown, key: string, value: unknown) => unknown;
  /** Passed to `JSON.stringify`. @default undefined */
  replacer?: (this: unknown, key: string, value: unknown) => unknown;
}

/**
 * JSON in text frames. `In` is what arrives (trusted, not checked: wrap with `withSchema` to
 * validate), `Out` what `send` accepts.
 * @example
 * const ws = new ResilientWebSocket(url, { codec: json<ServerMsg, ClientMsg>() });
 */
export function json<In = unknown, Out = In>(options: JsonCodecOptions = {}): Codec<In, Out> {
  return {
    frame: "text",
    encode(message) {
      const text = JSON.stringify(message, options.replacer);
      // JSON.stringify(undefined) is undefined: refuse it rather than send the string "undefined".
      if (text == null) throw createError("ERR_INVALID_ARGUMENT", "json(): " + typeof message);
      return text;
    },
    // One path for bad UTF-8 (binary frame) and bad JSON: ERR_DECODE "json(): <reason>".
    decode: (data) => decoding("json()", () => JSON.parse(toText(data), options.reviver)),
  };
}

/** Strings in text frames; a binary frame is accepted if it is valid UTF-8. */
export function text(): Codec<string, string> {
  return {
    frame: "text",
    encode: (message) => message,
    decode: (data) => decoding("text()", () => toText(data)),
  };
}

export interface BinaryCodecOptions<As extends "arraybuffer" | "uint8array"> {
  /** What `message` events carry. @default "arraybuffer" */
  as?: As;
}

type BinaryOf<As> = As extends "uint8array" ? Uint8Array : ArrayBuffer;

/**
 * Bytes in binary frames. Received text frames are not bytes the protocol expects: they raise
 * `decodeerror` (with the string as the raw data) instead of being converted silently.
 * @example binary({ as: "uint8array" })
 */
export function binary<As extends "arraybuffer" | "uint8array" = "arraybuffer">(
  options: BinaryCodecOptions<As> = {},
): Codec<BinaryOf<As>, ArrayBuffer | ArrayBufferView> {
  const asView = options.as === "uint8array";
  return {
    frame: "binary",
    encode: (message) => message,
    decode(data) {
      if (typeof data === "string") {
        throw createError("ERR_DECODE", "binary(): received a text frame where binary was expected");
      }
      // A Blob (a socket on binaryType "blob", e.g. a codec used outside ResilientWebSocket) is not
      // bytes: new Uint8Array(blob) would be an empty array, not an error.
      if (typeof (data as unknown as Blob).arrayBuffer === "function") {
        throw createError("ERR_DECODE", 'binary(): received a Blob; the socket\'s binaryType must be "arraybuffer"');
      }
      return (asView ? new Uint8Array(data) : data) as BinaryOf<As>;
    },
  };
}

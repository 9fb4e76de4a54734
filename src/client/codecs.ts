/**
 * Built-in codecs: json, text, binary. Each is a plain object satisfying `Codec`, so a user codec
 * (STOMP, protobuf, msgpack…) is written the same way. Decoding failures throw a ResilientError
 * ERR_DECODE; the client turns that into a `decodeerror` event and keeps the connection up.
 */
import { createError } from "../errors.js";
import type { Codec } from "./codec.js";

// ---------------------------------------------------------------------------------------------
// Standard Schema v1 (https://standardschema.dev), declared here so zod, valibot, arktype and any
// other implementation validate messages without this package depending on them: a schema is any
// object with a `~standard` property of this shape (structural typing).

export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": StandardSchemaV1Props<Input, Output>;
}

export interface StandardSchemaV1Props<Input = unknown, Output = Input> {
  readonly version: 1;
  readonly vendor: string;
  readonly validate: (
    value: unknown,
  ) => StandardSchemaV1Result<Output> | Promise<StandardSchemaV1Result<Output>>;
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

export type StandardSchemaV1Result<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaV1Issue> };

export interface StandardSchemaV1Issue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/**
 * Validate `value` synchronously with a Standard Schema. Returns the schema's output (which may be
 * transformed); throws ERR_DECODE whose `cause` is the issue list. Async schemas are refused:
 * decoding is synchronous so message order is kept.
 */
export function validateSync<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, who: string): T {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) {
    result.catch(() => undefined); // the promise is abandoned: keep its rejection handled
    throw createError(
      "ERR_DECODE",
      `${who}: the schema validated asynchronously; only synchronous schemas can validate messages`,
    );
  }
  if (result.issues !== undefined) {
    throw createError(
      "ERR_DECODE",
      `${who}: message failed schema validation: ${formatIssues(result.issues)}`,
      undefined,
      result.issues,
    );
  }
  return result.value;
}

function formatIssues(issues: ReadonlyArray<StandardSchemaV1Issue>): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path?.map((p) => String(typeof p === "object" ? p.key : p)).join(".");
      return path ? `${issue.message} at ${path}` : issue.message;
    })
    .join("; ")
    .concat(issues.length > 3 ? `; and ${issues.length - 3} more` : "");
}

// ---------------------------------------------------------------------------------------------

let utf8: TextDecoder | undefined;

/** Strict UTF-8 (invalid bytes throw), created on first use so importing does no work. */
function decodeUtf8(data: ArrayBuffer, who: string): string {
  utf8 ??= new TextDecoder("utf-8", { fatal: true });
  try {
    return utf8.decode(data);
  } catch (error) {
    throw createError("ERR_DECODE", `${who}: binary message is not valid UTF-8`, undefined, error);
  }
}

export interface JsonCodecOptions<In> {
  /**
   * Validate every decoded message with a Standard Schema v1 validator (zod, valibot, arktype…).
   * A message that fails raises `decodeerror`; the validated (possibly transformed) value is what
   * listeners receive. Must validate synchronously.
   * @default undefined (no validation: the parsed JSON is trusted to be `In`)
   * @example json({ schema: z.discriminatedUnion("type", [Quote, Trade]) })
   */
  schema?: StandardSchemaV1<unknown, In>;
  /** Passed to `JSON.parse`. @default undefined */
  reviver?: (this: unknown, key: string, value: unknown) => unknown;
  /** Passed to `JSON.stringify`. @default undefined */
  replacer?: (this: unknown, key: string, value: unknown) => unknown;
}

/**
 * JSON in text frames. `In` is what arrives, `Out` what `send` accepts. With a `schema`, `In` is
 * inferred from it.
 * @example
 * const ws = new ResilientWebSocket(url, { codec: json<ServerMsg, ClientMsg>() });
 */
export function json<In = unknown, Out = In>(options: JsonCodecOptions<In> = {}): Codec<In, Out> {
  const { schema, reviver, replacer } = options;
  return {
    frame: "text",
    encode(message) {
      const text = JSON.stringify(message, replacer);
      if (text === undefined) {
        throw createError("ERR_INVALID_ARGUMENT", `json(): ${typeof message} cannot be encoded as JSON`);
      }
      return text;
    },
    decode(data) {
      const text = typeof data === "string" ? data : decodeUtf8(data, "json()");
      let value: unknown;
      try {
        value = JSON.parse(text, reviver);
      } catch (error) {
        throw createError("ERR_DECODE", `json(): invalid JSON: ${(error as Error).message}`, undefined, error);
      }
      return schema ? validateSync(schema, value, "json()") : (value as In);
    },
  };
}

/** Strings in text frames; a binary frame is accepted if it is valid UTF-8. */
export function text(): Codec<string, string> {
  return {
    frame: "text",
    encode: (message) => message,
    decode: (data) => (typeof data === "string" ? data : decodeUtf8(data, "text()")),
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
      return (asView ? new Uint8Array(data) : data) as BinaryOf<As>;
    },
  };
}

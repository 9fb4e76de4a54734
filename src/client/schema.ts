/**
 * Opt-in validation of received messages with any Standard Schema v1 validator (zod, valibot,
 * arktype…): `withSchema(json(), schema)`. A separate module so a bundle without validation
 * carries none of it.
 */
import { createError } from "../errors.js";
import type { Codec } from "./codec.js";

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

/**
 * `codec` with every decoded message validated by `schema`. A message that fails raises
 * `decodeerror` (ERR_DECODE, the issues as `cause`); listeners receive the validated (possibly
 * transformed) value, so `In` is inferred from the schema. Must validate synchronously.
 * @example
 * const ws = new ResilientWebSocket(url, { codec: withSchema(json<unknown, ClientMsg>(), ServerMsg) });
 */
export function withSchema<In, Out>(codec: Codec<unknown, Out>, schema: StandardSchemaV1<unknown, In>): Codec<In, Out> {
  return {
    frame: codec.frame,
    encode: (message) => codec.encode(message),
    decode: (data) => validateSync(schema, codec.decode(data), "withSchema()"),
  };
}

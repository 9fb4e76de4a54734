import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { binary, json, text } from "../../src/client/codecs.js";
import { withSchema, type StandardSchemaV1 } from "../../src/client/schema.js";
import { isResilientError } from "../../src/errors.js";

/** A hand-written Standard Schema v1 validator: the same shape zod, valibot and arktype expose. */
function schemaOf<T>(check: (value: unknown) => string | undefined, transform = (v: unknown) => v as T): StandardSchemaV1<unknown, T> {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) => {
        const problem = check(value);
        return problem ? { issues: [{ message: problem, path: ["price", { key: 0 }] }] } : { value: transform(value) };
      },
    },
  };
}

function decodeError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    assert.ok(isResilientError(error), "a ResilientError");
    assert.equal(error.code, "ERR_DECODE");
    return error;
  }
  assert.fail("expected decode to throw");
}

const bytes = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;

describe("json()", () => {
  it("round-trips objects through text frames", () => {
    const codec = json<{ a: number }, { b: string }>();
    assert.equal(codec.frame, "text");
    assert.equal(codec.encode({ b: "x" }), '{"b":"x"}');
    assert.deepEqual(codec.decode('{"a":1}'), { a: 1 });
  });

  it("decodes JSON that arrives in a binary frame as UTF-8", () => {
    assert.deepEqual(json().decode(bytes('{"€":1}')), { "€": 1 });
  });

  it("invalid JSON is an ERR_DECODE naming the parser error", () => {
    assert.match(decodeError(() => json().decode("{nope")).message, /json\(\): .*JSON/);
  });

  it("invalid UTF-8 in a binary frame is an ERR_DECODE", () => {
    assert.match(decodeError(() => json().decode(new Uint8Array([0x22, 0xff, 0x22]).buffer)).message, /^json\(\): /);
  });

  it("a value JSON cannot encode throws ERR_INVALID_ARGUMENT instead of sending 'undefined'", () => {
    assert.throws(() => json<unknown, unknown>().encode(undefined), { code: "ERR_INVALID_ARGUMENT" });
  });

  it("uses reviver and replacer", () => {
    const codec = json<{ at: Date }, { n: bigint }>({
      reviver: (key, value) => (key === "at" ? new Date(value as string) : value),
      replacer: (_key, value) => (typeof value === "bigint" ? value.toString() : value),
    });
    assert.ok(codec.decode('{"at":"2024-01-01T00:00:00Z"}').at instanceof Date);
    assert.equal(codec.encode({ n: 10n }), '{"n":"10"}');
  });

  it("withSchema() wraps any codec: a failure of the inner decode is reported as it was", () => {
    const short = schemaOf<string>((v) => ((v as string).length <= 3 ? undefined : "Too long"));
    const codec = withSchema(text(), short);
    assert.equal(codec.decode("abc"), "abc");
    assert.match(decodeError(() => codec.decode("abcd")).message, /withSchema\(\): message failed schema validation: Too long/);
    assert.match(decodeError(() => withSchema(json(), short).decode("{nope")).message, /json\(\): .*JSON/);
  });

  it("validates with a Standard Schema and returns its (transformed) output", () => {
    const schema = schemaOf<{ price: number; checked: true }>(
      (v) => (typeof (v as { price?: unknown }).price === "number" ? undefined : "Expected number"),
      (v) => ({ ...(v as { price: number }), checked: true }),
    );
    const codec = withSchema(json(), schema);
    assert.equal(codec.frame, "text");
    assert.equal(codec.encode({ price: 2 }), '{"price":2}');
    assert.deepEqual(codec.decode('{"price":1.5}'), { price: 1.5, checked: true });
    const error = decodeError(() => codec.decode('{"price":"high"}'));
    assert.match(error.message, /failed schema validation: Expected number at price\.0/);
    assert.deepEqual((error.cause as ReadonlyArray<{ message: string }>)[0]?.message, "Expected number");
  });

  it("refuses an async schema with a clear ERR_DECODE and no unhandled rejection", async () => {
    const schema: StandardSchemaV1<unknown, unknown> = {
      "~standard": { version: 1, vendor: "test", validate: () => Promise.reject(new Error("async")) },
    };
    let unhandled = false;
    const onUnhandled = () => (unhandled = true);
    process.on("unhandledRejection", onUnhandled);
    assert.match(decodeError(() => withSchema(json(), schema).decode("1")).message, /asynchronously/);
    await new Promise((resolve) => setImmediate(resolve));
    process.off("unhandledRejection", onUnhandled);
    assert.equal(unhandled, false);
  });
});

describe("text()", () => {
  it("passes strings and decodes valid UTF-8 bytes", () => {
    const codec = text();
    assert.equal(codec.frame, "text");
    assert.equal(codec.encode("hé"), "hé");
    assert.equal(codec.decode("hé"), "hé");
    assert.equal(codec.decode(bytes("hé")), "hé");
    decodeError(() => codec.decode(new Uint8Array([0xc3]).buffer));
  });
});

describe("binary()", () => {
  it("defaults to ArrayBuffer and rejects text frames", () => {
    const codec = binary();
    assert.equal(codec.frame, "binary");
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    assert.equal(codec.decode(buffer), buffer);
    assert.match(decodeError(() => codec.decode("text")).message, /text frame/);
  });

  it('as: "uint8array" gives a view of the same bytes', () => {
    const codec = binary({ as: "uint8array" });
    const decoded = codec.decode(new Uint8Array([9, 8]).buffer);
    assert.ok(decoded instanceof Uint8Array);
    assert.deepEqual([...decoded], [9, 8]);
    const view = new Uint8Array([1]);
    assert.equal(codec.encode(view), view);
  });

  it("rejects a Blob (a socket on binaryType blob) instead of decoding it as no bytes", () => {
    for (const codec of [binary(), binary({ as: "uint8array" })]) {
      const blob = new Blob([new Uint8Array([1, 2, 3])]);
      assert.match(decodeError(() => codec.decode(blob as unknown as ArrayBuffer)).message, /Blob.*arraybuffer/);
    }
  });
});

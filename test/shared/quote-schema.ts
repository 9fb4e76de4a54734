// The hand-written Standard Schema v1 fixture of the typed end-to-end tests, shared by the browser
// (test/browser/typed-e2e.test.ts) and Deno (test/deno/typed-e2e.test.ts) runs. The type import is
// erased at build time, so the module itself is runtime-neutral.
import type { StandardSchemaV1 } from "../../src/client/schema.js";

export type Quote = { type: "quote"; pair: string; bid: number };

/** Hand-written Standard Schema v1 (no zod): a quote with a numeric bid; the output adds `checked`. */
export const QuoteSchema: StandardSchemaV1<unknown, Quote & { checked: true }> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate(value) {
      const v = value as Partial<Quote> | null;
      if (typeof v !== "object" || v === null || v.type !== "quote") return { issues: [{ message: "not a quote", path: ["type"] }] };
      if (typeof v.bid !== "number") return { issues: [{ message: "bid must be a number", path: ["bid"] }] };
      return { value: { ...(v as Quote), checked: true } };
    },
  },
};

// Fixtures of the typed end-to-end tests, shared by the browser (test/browser/typed-e2e.test.ts)
// and Deno (test/deno/typed-e2e.test.ts) runs: the message types, where request ids go, and a
// hand-written Standard Schema v1. The type imports are erased at build time, so the module itself
// is runtime-neutral.
import type { RequestsOptions } from "../../src/client/request.js";
import type { StandardSchemaV1 } from "../../src/client/schema.js";

export type Quote = { type: "quote"; pair: string; bid: number };
export type MarketOpen = { type: "open"; market: string };
export type Req = { type: "req"; op: string; id?: number; result?: string };
export type Msg = Quote | MarketOpen | Req;

/** correlate() options of the request/response tests: the id is a number in `req` messages. */
export const REQ_IDS: RequestsOptions<Msg, Msg> = {
  setId: (msg, id) => ({ ...msg, id: Number(id) }),
  getId: (msg) => (msg.type === "req" ? msg.id : undefined),
  timeout: 5_000,
};

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

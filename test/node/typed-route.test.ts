import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { routeListener } from "../../src/client/route.js";

type Msg = { type: "quote"; bid: number } | { type: "open"; market: string } | { kind: 1; x: true };

describe("routeListener", () => {
  it("calls the handler only for messages with the tag, typed", () => {
    const bids: number[] = [];
    const listener = routeListener<Msg, "quote", "type">("type", "quote", (q) => bids.push(q.bid));
    for (const data of [{ type: "quote", bid: 1 }, { type: "open", market: "fx" }, { type: "quote", bid: 2 }] as Msg[]) {
      listener({ data });
    }
    assert.deepEqual(bids, [1, 2]);
  });

  it("routes by another field and non-string tags", () => {
    let hits = 0;
    const listener = routeListener<Msg, 1, "kind">("kind", 1, (m) => {
      assert.equal(m.x, true);
      hits++;
    });
    listener({ data: { kind: 1, x: true } });
    listener({ data: { type: "quote", bid: 1 } });
    assert.equal(hits, 1);
  });

  it("ignores non-object data (strings, null, binary) without throwing", () => {
    const listener = routeListener<unknown, "x", "type">("type", "x", () => assert.fail("not routed"));
    for (const data of ["type", null, undefined, 5, new ArrayBuffer(2)]) listener({ data });
  });
});

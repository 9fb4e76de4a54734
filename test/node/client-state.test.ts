import assert from "node:assert/strict";
import { test } from "node:test";
import { canMove, readyStates, stateNames, S } from "../../src/client/state.js";

test("transition table: exactly the documented moves are allowed", () => {
  const allowed = new Set([
    "connecting>open",
    "connecting>reconnecting",
    "connecting>closing",
    "connecting>closed",
    "open>reconnecting",
    "open>closing",
    "open>closed",
    "reconnecting>connecting",
    "reconnecting>closed",
    "closing>closed",
  ]);
  for (let from = 0; from < 5; from++)
    for (let to = 0; to < 5; to++) {
      const name = `${stateNames[from]}>${stateNames[to]}`;
      assert.equal(canMove(from, to), allowed.has(name), name);
    }
});

test("readyState per state: CONNECTING while waiting to reconnect, CLOSED only when final", () => {
  assert.deepEqual(
    stateNames.map((n, i) => `${n}=${readyStates[i]}`),
    ["connecting=0", "open=1", "reconnecting=0", "closing=2", "closed=3"],
  );
  assert.equal(stateNames[S.Closed], "closed");
});

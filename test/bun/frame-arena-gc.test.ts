// Bun's form of the frame-arena test it cannot run as written (see EXCLUDED in node-client.test.ts):
// a region whose frame Buffer is dropped without release() comes back through the arena's
// FinalizationRegistry once JavaScriptCore collects the Buffer. Bun.gc(true) stands in for the
// gc() that Node and Deno expose through node:v8 and node:vm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameArena } from "../../src/adapters/node/frame-arena.js";

const MIB = 1024 * 1024;

test("a region whose frame is garbage-collected without a release comes back (Bun.gc)", async () => {
  const arena = new FrameArena();
  (() => {
    // Dropped without release(), as if a runtime never called a write callback.
    arena.acquire(MIB);
  })();
  assert.ok(arena.usedBytes > 0);
  // JavaScriptCore scans the stack conservatively and runs finalization callbacks in a later task:
  // collect, then yield to the event loop, until the region is back or the bound is reached.
  for (let i = 0; i < 50 && arena.usedBytes > 0; i++) {
    Bun.gc(true);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(arena.usedBytes, 0);
});

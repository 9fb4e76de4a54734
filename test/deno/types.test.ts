// Type-level checks under Deno's own lib: `deno test` type-checks this file before running it, and
// the run fails when a line does not check. Deno declares WebSocket's state constants as `number`
// where the DOM lib has literals; our on* handler types once required the literals.
import assert from "node:assert/strict";
import { WebSocket as BuiltIn } from "../../dist/node-client.js";
import { ResilientWebSocket } from "../../dist/deno.js";

/** Both clients fit where Deno code expects its WebSocket. */
export const builtInAsDenoWebSocket = (ws: BuiltIn): WebSocket => ws;
export const resilientAsDenoWebSocket = (ws: ResilientWebSocket): WebSocket => ws;

Deno.test("the built-in client and ResilientWebSocket type-check as Deno's WebSocket, with its constants", () => {
  for (const Class of [BuiltIn, ResilientWebSocket]) {
    assert.deepEqual([Class.CONNECTING, Class.OPEN, Class.CLOSING, Class.CLOSED], [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]);
  }
});

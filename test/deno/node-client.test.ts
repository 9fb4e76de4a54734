// The built-in client's real-peer suite (test/node/node-client-*.test.ts) run by Deno: Deno
// implements node:test, node:net, node:tls and node:zlib, so the same files test the client on
// Deno's Node compatibility layer. The sources import `./x.js` for `./x.ts`, hence --sloppy-imports:
//   deno test --sloppy-imports --allow-net=127.0.0.1 --allow-read --allow-env --allow-run test/deno/node-client.test.ts
import "../node/node-client-basic.test.ts";
import "../node/node-client-handshake.test.ts";
import "../node/node-client-handshake-property.test.ts";
import "../node/node-client-redirects.test.ts";
import "../node/node-client-violations.test.ts";
import "../node/node-client-tls-proxy.test.ts";
import "../node/node-client-deflate.test.ts";
import "../node/node-client-deflate-property.test.ts";
import "../node/node-client-peers.test.ts";
import "../node/node-client-entry.test.ts";
import "../node/node-client-frame-arena.test.ts";
import "../node/node-client-fragments.test.ts";
import "../node/node-client-autobahn.test.ts";
import "../node/node-client-fuzz.test.ts";
import "../node/node-client-send-fuzz.test.ts";
import "../node/node-client-buffered.test.ts";
import "../node/node-client-held-frames.test.ts";
import "../node/node-client-keepalive.test.ts";
import "../node/node-client-close-backlog.test.ts";
import "../node/node-client-reentrancy-property.test.ts";
import "../node/node-client-chaos.test.ts";
import "../node/node-client-leaks.test.ts";

// The list above is static so that Deno type-checks each file; this keeps it complete: a new
// node-client-*.test.ts file that is not imported here fails the run instead of being skipped.
import assert from "node:assert/strict";

Deno.test("every test/node/node-client-*.test.ts file is imported by this suite", () => {
  const here = new URL(import.meta.url);
  const imported = [...Deno.readTextFileSync(here).matchAll(/^import "\.\.\/node\/(node-client-[\w-]+\.test\.ts)";$/gm)].map((m) => m[1]).sort();
  const present = [...Deno.readDirSync(new URL("../node/", here))].map((entry) => entry.name).filter((name) => /^node-client-[\w-]+\.test\.ts$/.test(name)).sort();
  assert.deepEqual(imported, present);
});

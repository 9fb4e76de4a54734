// The built-in client's real-peer suite (test/node/node-client-*.test.ts, every such file) run by
// Bun: Bun maps node:test to its own runner and implements node:net, node:tls, node:zlib and
// node:http, so the same files test the client on Bun, as test/deno/node-client.test.ts does on Deno.
//   npm run test:bun   (bun test --isolate --timeout=30000 ./test/bun/ ./test/node/protocol-*.test.ts)
// Two things differ from a plain import of the files, both for Bun reasons, not for our client:
// - Bun answers `import "ws"` with its own built-in replacement of the package, a server on Bun's
//   native WebSocket server whose `_socket.bytesRead` stays 0, so the deflate tests that count wire
//   bytes could not tell compressed from plain. "ws" is mapped to the npm package (the peer Node
//   and Deno test against); test/bun/package.test.ts also tests against Bun's built-in one.
// - EXCLUDED lists the tests that need what Bun does not have, each with the gap and where the same
//   behaviour is tested in Bun instead. A name that no longer matches a test fails the run.
import { mock } from "bun:test";
import * as nodeTest from "node:test";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const NODE_TESTS = join(dirname(fileURLToPath(import.meta.url)), "..", "node");

const EXCLUDED = new Map<string, string>([
  [
    "a region whose frame is garbage-collected without a release comes back",
    // The test gets gc() with v8.setFlagsFromString("--expose-gc") and vm.runInNewContext("gc").
    "Bun: node:v8 setFlagsFromString is a no-op, and a node:vm context has no gc() even under " +
      "`bun --expose-gc`. The same release is tested with Bun.gc() in frame-arena-gc.test.ts.",
  ],
]);

const npmWs = (await import(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "node_modules", "ws", "wrapper.mjs"))) as Record<string, unknown>;
mock.module("ws", () => npmWs);

const excludedSeen = new Set<string>();
const runTest = nodeTest.test as (...args: unknown[]) => unknown;
function test(...args: unknown[]): unknown {
  const name = args[0];
  if (typeof name === "string" && EXCLUDED.has(name)) {
    excludedSeen.add(name);
    return undefined;
  }
  return runTest(...args);
}
mock.module("node:test", () => ({ ...nodeTest, default: test, test }));

const files = readdirSync(NODE_TESTS)
  .filter((file) => /^node-client-.*\.test\.ts$/.test(file))
  .sort();
for (const file of files) await import(join(NODE_TESTS, file));

runTest(`Bun ${Bun.version} ran ${files.length} node-client files; every exclusion names a test that exists`, () => {
  if (files.length === 0) throw new Error(`no node-client-*.test.ts in ${NODE_TESTS}`);
  const stale = [...EXCLUDED.keys()].filter((name) => !excludedSeen.has(name));
  if (stale.length > 0) throw new Error(`excluded tests not found (renamed or removed?): ${stale.join("; ")}`);
});

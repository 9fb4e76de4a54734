// "Importing does no work" (STYLE.md, package.json sideEffects: false): loading any built entry must
// start no timer, draw no random numbers, add no globals and register no process listeners. Each
// entry loads in a fresh child process with those APIs instrumented; the child then exits by itself.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import { DIST, requireBuild } from "./package-helpers.js";

const run = promisify(execFile);

const PROBE = `
import { createRequire } from "node:module";
const calls = [];
const watch = (owner, name, label) => {
  const original = owner[name];
  owner[name] = function (...args) { calls.push(label); return original.apply(this, args); };
};
for (const name of ["setTimeout", "setInterval", "setImmediate", "queueMicrotask", "fetch"]) watch(globalThis, name, name);
watch(Math, "random", "Math.random");
watch(globalThis.crypto, "getRandomValues", "crypto.getRandomValues");
watch(globalThis.crypto, "randomUUID", "crypto.randomUUID");
watch(process, "on", "process.on");
watch(process, "once", "process.once");
watch(globalThis, "addEventListener", "addEventListener");
const globalsBefore = new Set(Reflect.ownKeys(globalThis));
const target = process.env.TARGET;
if (target.endsWith(".cjs")) createRequire(import.meta.url)(target); else await import(process.env.TARGET_URL);
const added = Reflect.ownKeys(globalThis).filter((key) => !globalsBefore.has(key)).map(String);
console.log(JSON.stringify({ calls, added }));
`;

const ENTRIES = ["index.js", "node.js", "deno.js", "node-client.js", "node.cjs", "node-client.cjs"];

describe("importing does no work", () => {
  before(requireBuild);

  for (const entry of ENTRIES) {
    it(`dist/${entry}`, async () => {
      const target = join(DIST, entry);
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", PROBE], {
        env: { ...process.env, TARGET: target, TARGET_URL: pathToFileURL(target).href },
        timeout: 10_000,
      });
      assert.deepEqual(JSON.parse(stdout.trim()), { calls: [], added: [] });
    });
  }
});

/**
 * Runs the type tests: test/types must compile, and a copy of it without its `@ts-expect-error`
 * directives must fail with an error on exactly each line a directive guarded (the negative
 * fixture), proving wrong messages do not compile and that this check can fail.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TYPES = join(ROOT, "test/types");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

async function tsc(project: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [TSC, "--noEmit", "--pretty", "false", "-p", project], { cwd: ROOT });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    return { code: e.code ?? 1, out: e.stdout ?? String(error) };
  }
}

describe("type tests (tsc)", { timeout: 120_000 }, () => {
  it("test/types compiles: right messages type-check and every @ts-expect-error line is an error", async () => {
    const { code, out } = await tsc(join(TYPES, "tsconfig.json"));
    assert.equal(code, 0, out);
  });

  it("without the @ts-expect-error directives, each guarded line fails to compile (negative fixture)", async () => {
    // A scratch copy under node_modules/.cache: outside the project's tsconfig includes, imports rebased.
    const scratch = join(ROOT, "node_modules/.cache/resilient-ws-types", String(process.pid));
    await mkdir(scratch, { recursive: true });
    try {
      const expected: string[] = [];
      for (const name of (await readdir(TYPES)).filter((f) => f.endsWith(".ts"))) {
        const lines = (await readFile(join(TYPES, name), "utf8")).split("\n");
        const out: string[] = [];
        for (const line of lines) {
          if (/^\s*\/\/ @ts-expect-error/.test(line)) {
            out.push("//"); // keep line numbers: the guarded line is the next one
            expected.push(`${name}:${out.length + 1}`);
          } else {
            out.push(line.replace(/from "(\.\.\/[^"]+)"/g, (_m, p: string) => `from ${JSON.stringify(join(TYPES, p))}`));
          }
        }
        await writeFile(join(scratch, name), out.join("\n"));
      }
      assert.ok(expected.length >= 20, `only ${expected.length} negative cases`);
      await writeFile(
        join(scratch, "tsconfig.json"),
        JSON.stringify({ extends: join(TYPES, "tsconfig.json"), compilerOptions: { rootDir: "/" }, include: ["./*.ts"] }),
      );
      const { code, out } = await tsc(join(scratch, "tsconfig.json"));
      assert.notEqual(code, 0, "the copy without directives must not compile");
      const failing = new Set(
        [...out.matchAll(/([\w.-]+\.ts)\((\d+),\d+\): error/g)].map((m) => `${m[1]}:${m[2]}`),
      );
      const missing = expected.filter((line) => !failing.has(line));
      assert.deepEqual(missing, [], `lines that compiled although a directive said they must not:\n${out}`);
      const unexpected = [...failing].filter((line) => !expected.includes(line));
      assert.deepEqual(unexpected, [], `errors on lines without a directive:\n${out}`);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it("drop-in for the DOM WebSocket: assignable to `WebSocket`, the (url, protocols) form, the built-in client too", async () => {
    // Compiled with the project's settings (lib "dom"), against src; a scratch file, as above.
    const scratch = join(ROOT, "node_modules/.cache/resilient-ws-types", `dom-${process.pid}`);
    await mkdir(scratch, { recursive: true });
    try {
      const src = (file: string) => JSON.stringify(join(ROOT, "src", file));
      await writeFile(
        join(scratch, "dom.ts"),
        [
          `import { ResilientWebSocket } from ${src("index.js")};`,
          `import { WebSocket as BuiltIn } from ${src("node-client.js")};`,
          `const rws = new ResilientWebSocket("ws://x/");`,
          `export const asDom: WebSocket = rws;`,
          `export const useDom = (w: WebSocket): number => w.readyState;`,
          `useDom(rws);`,
          `export const binaryType: BinaryType = rws.binaryType;`,
          `rws.binaryType = "arraybuffer";`,
          `export const withProtocols = new ResilientWebSocket("ws://x/", ["a", "b"]);`,
          `export const withProtocol = new ResilientWebSocket("ws://x/", "a");`,
          `export const builtInAsDom: WebSocket = new BuiltIn("ws://x/");`,
          `new BuiltIn("ws://x/").onclose = function (event) { return this.readyState + event.code; };`,
          `new BuiltIn("ws://x/").onerror = function (event) { return this.readyState + event.message; };`,
          `new BuiltIn("ws://x/").onopen = function () { return this.readyState === this.OPEN; };`,
          `rws.onmessage = (event: MessageEvent) => event.data;`,
          `rws.on("message", (event: MessageEvent) => event.data);`,
        ].join("\n"),
      );
      await writeFile(
        join(scratch, "tsconfig.json"),
        JSON.stringify({ extends: join(ROOT, "tsconfig.json"), compilerOptions: { rootDir: "/" }, include: ["./*.ts"] }),
      );
      const { code, out } = await tsc(join(scratch, "tsconfig.json"));
      assert.equal(code, 0, out);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

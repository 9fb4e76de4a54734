// package.json "exports" as bundlers, Node, Deno and TypeScript resolve it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { build } from "esbuild";
import { makeConsumer, requireBuild, ROOT } from "./package-helpers.js";

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  exports: Record<string, Record<string, unknown> | string>;
  files: string[];
  main: string;
  module: string;
  types: string;
  sideEffects: unknown;
  dependencies?: Record<string, string>;
};

describe("package.json", () => {
  it("export conditions are ordered types, browser, deno, node, default", () => {
    const order = ["types", "browser", "deno", "node", "default"];
    for (const [subpath, conditions] of Object.entries(pkg.exports)) {
      if (typeof conditions === "string") continue;
      const known = Object.keys(conditions).filter((key) => order.includes(key));
      const expected = order.filter((key) => known.includes(key));
      assert.deepEqual(known, expected, `conditions of "${subpath}"`);
      assert.equal(Object.keys(conditions)[0], "types", `"types" first in "${subpath}"`);
      assert.equal(Object.keys(conditions).at(-1), "default", `"default" last in "${subpath}"`);
    }
  });

  it("every file that exports, main, module and types name is built and shipped by \"files\"", () => {
    requireBuild();
    const targets: string[] = [pkg.main, pkg.module, pkg.types];
    const walk = (value: unknown): void => {
      if (typeof value === "string") targets.push(value);
      else if (value && typeof value === "object") Object.values(value).forEach(walk);
    };
    walk(pkg.exports);
    for (const target of targets.filter((t) => t !== "./package.json")) {
      assert.ok(existsSync(join(ROOT, target)), `${target} exists after the build`);
      const shipped = pkg.files.some((entry) => target.replace(/^\.\//, "").startsWith(`${entry.replace(/\/$/, "")}/`));
      assert.ok(shipped, `${target} is inside one of "files": ${pkg.files.join(", ")}`);
    }
  });

  it("has no runtime dependencies and declares sideEffects: false", () => {
    assert.equal(pkg.sideEffects, false);
    assert.deepEqual(Object.keys(pkg.dependencies ?? {}), []);
  });
});

describe("resolution of the built package", () => {
  let consumer: ReturnType<typeof makeConsumer>;
  before(() => {
    requireBuild();
    consumer = makeConsumer();
  });
  after(() => consumer.cleanup());

  /** Which dist file a bundler picks for `specifier` under the given platform and conditions. */
  async function resolvedBy(specifier: string, platform: "browser" | "node" | "neutral", conditions: string[], format: "esm" | "cjs" = "esm") {
    const source = format === "esm" ? `export * from "${specifier}";` : `module.exports = require("${specifier}");`;
    const result = await build({
      stdin: { contents: source, resolveDir: consumer.dir, loader: "js" },
      bundle: true,
      write: false,
      metafile: true,
      platform,
      format,
      conditions,
      external: ["node:*"],
      logLevel: "silent",
      preserveSymlinks: false,
    });
    const inputs = Object.keys(result.metafile.inputs).map((file) => relative(ROOT, join(process.cwd(), file)));
    return inputs.filter((file) => file.startsWith("dist/") && !file.startsWith("dist/chunks/")).sort();
  }

  it("a browser bundler gets dist/index.js", async () => {
    assert.deepEqual(await resolvedBy("resilient-ws", "browser", []), ["dist/index.js"]);
  });

  it("Deno (condition deno) gets dist/deno.js, and dist/node-client.js for resilient-ws/node", async () => {
    assert.deepEqual(await resolvedBy("resilient-ws", "neutral", ["deno", "node", "import"]), ["dist/deno.js"]);
    assert.deepEqual(await resolvedBy("resilient-ws/node", "neutral", ["deno", "node", "import"]), ["dist/node-client.js"]);
  });

  it("Node import gets dist/node.js, Node require gets dist/node.cjs", async () => {
    assert.deepEqual(await resolvedBy("resilient-ws", "node", []), ["dist/node.js"]);
    assert.deepEqual(await resolvedBy("resilient-ws", "node", [], "cjs"), ["dist/node.cjs"]);
    assert.deepEqual(await resolvedBy("resilient-ws/node", "node", [], "cjs"), ["dist/node-client.cjs"]);
  });

  it("TypeScript (node16) type-checks an ESM and a CJS consumer with the shipped .d.ts / .d.cts, with and without the DOM lib", async () => {
    writeFileSync(
      join(consumer.dir, "esm.mts"),
      [
        `import { ResilientWebSocket, json } from "resilient-ws";`,
        `import { WebSocket } from "resilient-ws/node";`,
        `type In = { type: "quote"; bid: number };`,
        `type Out = { type: "order"; qty: number };`,
        `const ws = new ResilientWebSocket<In, Out>("ws://127.0.0.1:1", { codec: json<In, Out>(), WebSocket });`,
        `ws.send({ type: "order", qty: 1 });`,
        `// @ts-expect-error a quote is not an outgoing message`,
        `ws.send({ type: "quote", bid: 1 });`,
        `ws.addEventListener("message", (event) => console.log(event.data.bid, event.origin), { once: true });`,
        `// Browser-style code annotates the event as the runtime's MessageEvent.`,
        `ws.addEventListener("message", (event: MessageEvent) => console.log(event.data));`,
        `const off = ws.on("close", (event) => console.log(event.code, event.wasClean));`,
        `off();`,
        `const raw = new WebSocket("ws://127.0.0.1:1");`,
        `raw.addEventListener("pong", (event) => console.log(event.data.byteLength), { signal: AbortSignal.timeout(1) });`,
        `raw.onmessage = (event) => console.log(event.data);`,
        `raw.ping();`,
        `ws.close();`,
      ].join("\n"),
    );
    writeFileSync(
      join(consumer.dir, "cjs.cts"),
      [
        `import rws = require("resilient-ws");`,
        `import node = require("resilient-ws/node");`,
        `const ws = new rws.ResilientWebSocket<string, string>("ws://127.0.0.1:1", { codec: rws.text(), WebSocket: node.WebSocket });`,
        `ws.send("x");`,
        `// @ts-expect-error a number is not a string message`,
        `ws.send(1);`,
        `ws.close();`,
      ].join("\n"),
    );
    // With the DOM lib (an SPA, or a Node project that adds it) and without it (a Node project with
    // only @types/node): our .d.ts files must not need DOM-only names such as AddEventListenerOptions.
    for (const lib of [["es2022", "dom"], ["es2022"]]) {
      writeFileSync(
        join(consumer.dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module: "node16",
            moduleResolution: "node16",
            target: "es2022",
            strict: true,
            noEmit: true,
            lib,
            // A Node user has @types/node; the consumer folder borrows ours.
            typeRoots: [join(ROOT, "node_modules", "@types")],
            types: ["node"],
            skipLibCheck: false,
          },
          files: ["esm.mts", "cjs.cts"],
        }),
      );
      const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
      const result = await run(process.execPath, [tsc, "-p", join(consumer.dir, "tsconfig.json")]).catch(
        (error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? "", stderr: error.stderr ?? "", failed: true }),
      );
      assert.equal("failed" in result, false, `tsc with lib ${lib.join(", ")} failed:\n${result.stdout}${result.stderr}`);
    }
  });
});

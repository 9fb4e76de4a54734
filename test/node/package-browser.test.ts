// The browser build must never contain the RFC 6455 frame codec or a `node:` import (API.md): web
// bundles stay small and load without polyfills. Checked three ways: the module graph of the
// browser entry, and the text of the two built browser files.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { before, describe, it } from "node:test";
import { build } from "esbuild";
import { DIST, requireBuild, ROOT } from "./package-helpers.js";

const BROWSER_FILES = ["index.js", "resilient-ws.iife.min.js"];
// Strings only the built-in client needs: the handshake GUID (RFC 6455 §1.3) and handshake headers.
const CODEC_MARKERS = ["258EAFA5-E914-47DA-95CA-C5AB0DC85B11", "Sec-WebSocket-Key", "Sec-WebSocket-Accept"];

describe("browser build", () => {
  before(requireBuild);

  it("src/index.ts reaches no module of src/protocol or the Node/Deno adapters", async () => {
    const result = await build({
      entryPoints: [join(ROOT, "src/index.ts")],
      bundle: true,
      write: false,
      metafile: true,
      platform: "browser",
      format: "esm",
      logLevel: "silent",
    });
    const modules = Object.keys(result.metafile.inputs).map((file) => relative(ROOT, join(process.cwd(), file)));
    assert.ok(modules.includes("src/index.ts"), `graph was read: ${modules.join(", ")}`);
    const forbidden = modules.filter((file) => /^src\/(protocol|adapters\/(node|deno))\//.test(file) || file.startsWith("node:"));
    assert.deepEqual(forbidden, []);
  });

  for (const file of BROWSER_FILES) {
    it(`dist/${file} has no node: import, no other import, and no frame codec`, () => {
      const code = readFileSync(join(DIST, file), "utf8");
      assert.doesNotMatch(code, /["']node:/, "node: specifier");
      assert.doesNotMatch(code, /\bimport\s*(?:[\w{*][^;]*?from\s*)?["']|\bimport\(|\brequire\(/, "an import of another file");
      for (const marker of CODEC_MARKERS) assert.ok(!code.includes(marker), `contains ${marker}`);
    });
  }

  it("the built-in client does contain those markers (so the check above can fail)", () => {
    const node = readFileSync(join(DIST, "node-client.js"), "utf8");
    const chunks = node.match(/from\s*["'](\.\/chunks\/[^"']+)["']/g) ?? [];
    const text = [node, ...chunks.map((m) => readFileSync(join(DIST, m.replace(/^from\s*["']|["']$/g, "")), "utf8"))].join("\n");
    assert.ok(text.includes(CODEC_MARKERS[0]), "handshake GUID found in the Node client build");
  });

  for (const file of BROWSER_FILES) {
    it(`${file} has a source map with the TypeScript sources inside (the package ships no src/)`, () => {
      const code = readFileSync(join(DIST, file), "utf8");
      assert.match(code, new RegExp(`//# sourceMappingURL=${file.replace(/\./g, "\\.")}\\.map\\s*$`));
      const map = JSON.parse(readFileSync(join(DIST, `${file}.map`), "utf8")) as { sources: string[]; sourcesContent?: Array<string | null> };
      assert.ok(map.sources.includes("../src/client/client.ts"), `sources: ${map.sources.join(", ")}`);
      assert.ok(map.sources.every((source) => /^\.\.\/src\/.+\.ts$/.test(source)), "every source is a src/ file");
      const client = map.sourcesContent?.[map.sources.indexOf("../src/client/client.ts")];
      assert.equal(client, readFileSync(join(ROOT, "src/client/client.ts"), "utf8"));
    });
  }
});

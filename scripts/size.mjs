// `npm run size`: bytes a browser user pays, minified and minified+gzip.
//   core  = ResilientWebSocket + json codec, bundled from a tiny entry with esbuild (es2022) and
//           minified with terser and the options the IIFE build uses (TERSER, shared with
//           rollup.config.mjs), so the budget is checked on the minifier we ship with; the same
//           bundle minified by esbuild is printed too, as a second opinion (not budgeted)
//   iife  = dist/resilient-ws.iife.min.js as built by rollup (run `npm run build` first)
// Other reconnecting clients, when installed (devDependencies), are bundled the same way from an
// entry that re-exports their whole package (what `import … from "pkg"` can reach).
// Exits 1 when the core exceeds the budget.
import { build } from "esbuild";
import { minify } from "terser";
import { TERSER } from "./terser-options.mjs";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BUDGET_GZIP = 3000;
const IIFE = join(ROOT, "dist/resilient-ws.iife.min.js");

async function bundle(contents, resolveDir, minifier = "esbuild") {
  const result = await build({
    stdin: { contents, resolveDir, loader: "ts", sourcefile: "size-entry.ts" },
    bundle: true,
    minify: minifier == "esbuild",
    format: "esm",
    target: "es2022",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  const out = result.outputFiles[0];
  return minifier == "esbuild" ? out.contents : Buffer.from((await minify(out.text, { ...TERSER, module: true })).code);
}

function measure(bytes) {
  return { min: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength };
}

function installedVersion(name) {
  try {
    // Read the file directly: some packages do not export ./package.json.
    return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
}

const rows = [];
const CORE = `export { ResilientWebSocket, json } from "./src/index.ts";`;
const core = measure(await bundle(CORE, ROOT, "terser"));
rows.push({ name: "resilient-ws core (ResilientWebSocket + json), terser", ...core });
rows.push({ name: "resilient-ws core, esbuild --minify (not budgeted)", ...measure(await bundle(CORE, ROOT)) });

if (existsSync(IIFE)) {
  rows.push({ name: "resilient-ws IIFE (dist/resilient-ws.iife.min.js)", ...measure(readFileSync(IIFE)) });
} else {
  console.error(`size: ${IIFE} not found; run \`npm run build\` first`);
  process.exitCode = 1;
}

// reconnecting-websocket has only a default export; the others name everything they export.
const others = [
  ["partysocket", `export * from "partysocket";`],
  ["reconnecting-websocket", `export { default } from "reconnecting-websocket";`],
  ["websocket-ts", `export * from "websocket-ts";`],
];
for (const [name, entry] of others) {
  const version = installedVersion(name);
  if (version === undefined) continue;
  rows.push({ name: `${name} ${version} (whole package)`, ...measure(await bundle(entry, ROOT)) });
}

const pad = (s, n) => String(s).padEnd(n);
const num = (n) => n.toLocaleString("en-US").padStart(9);
const width = Math.max(...rows.map((r) => r.name.length)) + 2;
console.log(`${pad("bundle", width)}${"min".padStart(9)}  ${"min+gzip".padStart(9)}`);
for (const r of rows) console.log(`${pad(r.name, width)}${num(r.min)}  ${num(r.gzip)}`);

if (core.gzip > BUDGET_GZIP) {
  console.error(`size: core is ${core.gzip} bytes min+gzip, over the ${BUDGET_GZIP} byte budget`);
  process.exitCode = 1;
} else {
  console.log(`core budget: ${core.gzip} / ${BUDGET_GZIP} bytes min+gzip`);
}

// Builds dist/ for every way the package is consumed (see README "Packaging"):
//   ESM   index.js (browser/default), node.js, deno.js, node-client.js  (+ shared chunks)
//   CJS   node.cjs, node-client.cjs                                     (+ .d.cts types)
//   IIFE  resilient-ws.iife.min.js, global `ResilientWS`, from src/index.ts
//   types index/node/deno/node-client .d.ts via rollup-plugin-dts, one file each
// Zero runtime dependencies: any bare import that is not `node:*` fails the build.
import { existsSync, rmSync } from "node:fs";
import esbuild from "rollup-plugin-esbuild";
import { dts } from "rollup-plugin-dts";
import terser from "@rollup/plugin-terser";
import { TERSER } from "./scripts/terser-options.mjs";

const ENTRIES = {
  index: "src/index.ts",
  node: "src/node.ts",
  deno: "src/deno.ts",
  "node-client": "src/node-client.ts",
};
const CJS_ENTRIES = ["node", "node-client"];

const missing = Object.values(ENTRIES).filter((file) => !existsSync(file));
if (missing.length > 0) {
  throw new Error(`rollup.config.mjs: entry points missing: ${missing.join(", ")}`);
}

// Start from an empty dist/ so stale chunks from an older build never ship or get tested.
rmSync("dist", { recursive: true, force: true });

const pick = (names) => Object.fromEntries(names.map((name) => [name, ENTRIES[name]]));

/** `node:` built-ins stay imports; nothing else may be external (zero runtime dependencies). */
const external = (id) => id.startsWith("node:");

const onwarn = (warning, warn) => {
  if (warning.code === "UNRESOLVED_IMPORT") {
    throw new Error(`rollup: ${warning.message}`);
  }
  warn(warning);
};

// es2022 keeps class fields native (es2020 turns them into helpers that Deno's checker loses).
const ts = () => esbuild({ target: "es2022", tsconfig: "tsconfig.json", sourceMap: true });

/** Deno reads types for a .js module from this directive; Node and bundlers ignore the comment. */
const selfTypes = (chunk) => (chunk.isEntry ? `// @ts-self-types="./${chunk.name}.d.ts"` : "");

// Matches package.json "sideEffects": false: importing a module does no work.
const treeshake = { moduleSideEffects: false };

/**
 * A JavaScript bundle: every one shares the external rule, the warning policy and tree-shaking. Each
 * gets a source map with the TypeScript sources inside (the package ships dist/ only), so stack
 * traces and DevTools show src/ even for the minified IIFE.
 */
const bundle = (input, output, plugins = [ts()]) => ({ input, external, onwarn, treeshake, plugins, output: { sourcemap: true, ...output } });

/** A declaration bundle for one entry (rollup-plugin-dts); `.d.ts` or `.d.cts` by `file`. */
const types = (input, file) => ({
  input,
  external,
  plugins: [dts({ tsconfig: "tsconfig.json" })],
  output: { file, format: "es" },
});

export default [
  // Browser ESM on its own: one self-contained file, so nothing it loads can pull in the frame
  // codec or a `node:` module through a chunk shared with the Node entries.
  bundle(pick(["index"]), { dir: "dist", format: "es", entryFileNames: "[name].js", banner: selfTypes }),
  // Node / Deno ESM: node.js and node-client.js share one copy of the built-in client class.
  bundle(pick(["node", "deno", "node-client"]), {
    dir: "dist",
    format: "es",
    entryFileNames: "[name].js",
    chunkFileNames: "chunks/[name]-[hash].js",
    banner: selfTypes,
  }),
  bundle(pick(CJS_ENTRIES), {
    dir: "dist",
    format: "cjs",
    exports: "named",
    entryFileNames: "[name].cjs",
    chunkFileNames: "chunks/[name]-[hash].cjs",
  }),
  bundle(
    ENTRIES.index,
    { file: "dist/resilient-ws.iife.min.js", format: "iife", name: "ResilientWS" },
    [ts(), terser(TERSER)],
  ),
  // Types: one self-contained declaration file per entry (no shared chunks). A chunk would be
  // imported as "./chunks/x.js", which TypeScript maps to x.d.ts but Deno (reading the
  // @ts-self-types directive) does not.
  ...Object.entries(ENTRIES).map(([name, input]) => types(input, `dist/${name}.d.ts`)),
  ...CJS_ENTRIES.map((name) => types(ENTRIES[name], `dist/${name}.d.cts`)),
];

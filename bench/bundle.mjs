// One esbuild bundle of TypeScript from src/ for the bench scripts: the same transform as the
// rollup build (ES2022, names kept as written), into bench/.build/, so dist/ is never touched.
// esbuild is imported when first needed: run.mjs measuring dist/ does not load it.
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Bundle `exports` (a module body such as `export { X } from "./src/y.ts";`, paths from the
 * repository root) into bench/.build/`name`.mjs; returns the file's path.
 */
export async function bundle(name, exports) {
  const { build } = await import("esbuild");
  const outfile = `${root}bench/.build/${name}.mjs`;
  await build({
    stdin: { contents: exports, resolveDir: root, loader: "ts" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    outfile,
    logLevel: "warning",
  });
  return outfile;
}

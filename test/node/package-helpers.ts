// Shared by the package-*.test.ts files: they check dist/ as a user of the published package sees
// it, so they need `npm run build` first (`npm test` builds before it runs them).
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DIST = join(ROOT, "dist");

export function requireBuild(): void {
  if (!existsSync(join(DIST, "index.js"))) {
    throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  }
}

/**
 * A throwaway project outside the repo whose node_modules/resilient-ws links to this package, so
 * resolution goes through package.json "exports" exactly as for an installed dependency.
 */
export function makeConsumer(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "resilient-ws-consumer-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "resilient-ws"), "dir");
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

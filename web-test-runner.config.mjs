// Browser tests in Debian's Chromium (/usr/bin/chromium), against real `ws` servers owned by the
// runner (test/browser/server-plugin.mjs). `npm test` builds dist/ first: iife.test.html loads the
// built IIFE. The runner exits non-zero when any test fails, which is what CI reads.
import { chromeLauncher } from "@web/test-runner-chrome";
import { esbuildPlugin } from "@web/dev-server-esbuild";
import { wsServerPlugin } from "./test/browser/server-plugin.mjs";

/** mock-socket's package.json has no ESM entry; point the browser at its ES build. */
const mockSocketEsm = {
  name: "mock-socket-esm",
  resolveImport({ source }) {
    if (source === "mock-socket") return "/node_modules/mock-socket/dist/mock-socket.es.mjs";
    return undefined;
  },
};

export default {
  files: ["test/browser/**/*.test.ts", "test/browser/**/*.test.html"],
  nodeResolve: true,
  concurrency: 1,
  // Generous for a 2-core machine shared with other jobs; single tests bound their own waits.
  testsFinishTimeout: 180_000,
  testFramework: { config: { timeout: 10_000 } },
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROME_PATH ?? "/usr/bin/chromium",
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      },
    }),
  ],
  plugins: [mockSocketEsm, esbuildPlugin({ ts: true, target: "es2022" }), wsServerPlugin()],
};

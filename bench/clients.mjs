// The client libraries under test, behind one tiny surface so every workload runs the same code:
//   open(url) -> Promise<socket>, onData(socket, fn(data)), send via socket.send, close(socket).
// Every W3C client is driven through the W3C API (`onmessage`, binaryType "arraybuffer"), the same
// user code for all; `ws-native` is ws through its own EventEmitter API (Buffers, no event objects),
// an optional reference column. `variant:/path/to/bundle.mjs` loads any build of our client
// (A/B measurements of a proposed change, alternated in the same run).
import { createRequire } from "node:module";
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import http from "node:http";
import { bundle } from "./bundle.mjs";

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL("..", import.meta.url));

export const LABELS = {
  ours: "resilient-ws/node",
  ws: "ws+bufferutil",
  "ws-native": "ws native API",
  undici: "undici",
  raw: "node:net",
};

/** Column label; `variant:<path>` clients (A/B runs of a patched build) are named by file. */
export function labelOf(name) {
  return LABELS[name] ?? name.replace(/^variant:.*\//, "variant:");
}

function w3c(name, Ctor, version, extra = {}) {
  return {
    name,
    version,
    ...extra,
    open(url) {
      return new Promise((resolve, reject) => {
        const s = new Ctor(url);
        s.binaryType = "arraybuffer";
        s.onopen = () => {
          s.onopen = null;
          s.onerror = null;
          resolve(s);
        };
        s.onerror = (e) => reject(new Error(`${name}: connect to ${url} failed: ${e?.message ?? e?.error?.message ?? e?.type}`));
      });
    },
    onData(s, fn) {
      s.onmessage = (e) => fn(e.data);
    },
    close(s) {
      // Bounded: a close handshake that never completes must not hang the benchmark.
      return new Promise((resolve) => {
        if (s.readyState === 3) return resolve();
        const timer = setTimeout(resolve, 2000);
        s.onclose = () => {
          clearTimeout(timer);
          resolve();
        };
        s.onerror = () => {};
        s.close();
      });
    },
  };
}

/** How ws masks on this machine: it prefers node:http's native mask, then bufferutil, then JS. */
function wsMaskBackend() {
  if (typeof http.websocketMask === "function") return "node:http websocketMask";
  const loaded = Object.keys(require.cache).some((k) => k.endsWith("bufferutil.node"));
  return loaded ? "bufferutil (native addon loaded)" : "pure JS (bufferutil NOT loaded)";
}

function pkgVersion(name) {
  return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
}

export async function loadClient(name) {
  switch (name) {
    case "ws": {
      const { WebSocket } = await import("ws");
      return w3c("ws", WebSocket, pkgVersion("ws"), { info: `mask: ${wsMaskBackend()}` });
    }
    case "ws-native": {
      const { WebSocket } = await import("ws");
      const base = w3c("ws-native", WebSocket, pkgVersion("ws"), { info: `mask: ${wsMaskBackend()}` });
      return {
        ...base,
        open(url) {
          return new Promise((resolve, reject) => {
            const s = new WebSocket(url, { perMessageDeflate: false });
            s.once("open", () => resolve(s));
            s.once("error", reject);
          });
        },
        onData(s, fn) {
          s.on("message", fn);
        },
      };
    }
    case "undici": {
      const { WebSocket } = await import("undici");
      return w3c("undici", WebSocket, pkgVersion("undici"));
    }
    case "ours": {
      const entry = process.env.BENCH_OURS_ENTRY ?? (await oursEntry());
      const mod = await import(entry);
      const Ctor = mod.WebSocket ?? mod.default;
      if (typeof Ctor !== "function") throw new Error(`${entry} exports no WebSocket class`);
      const version = JSON.parse(readFileSync(`${root}/package.json`, "utf8")).version;
      const built = statSync(entry).mtime.toISOString().slice(0, 19);
      return w3c("ours", Ctor, version, { info: `from ${entry.replace(root, "")} (built ${built}Z)` });
    }
    default: {
      if (!name.startsWith("variant:")) throw new Error(`unknown client ${name}`);
      const entry = name.slice("variant:".length);
      const mod = await import(entry);
      return w3c(name, mod.WebSocket ?? mod.default, "variant", { info: `from ${entry}` });
    }
  }
}

/**
 * Where `ours` comes from: dist/node-client.js (what `npm run bench` builds), or with `fromSrc`
 * a bundle of src/node-client.ts made here with esbuild (same transform as the rollup build,
 * es2022, names kept as written) into bench/.build/, so that measuring the current source never
 * touches dist/. tsx is not used: its keepNames helper puts every arrow function into
 * dictionary mode (about 256 bytes each), which would distort the memory numbers.
 */
export async function oursEntry(fromSrc = false) {
  const dist = `${root}dist/node-client.js`;
  const src = `${root}src/node-client.ts`;
  if (!fromSrc && existsSync(dist)) return dist;
  if (!existsSync(src)) return null;
  return bundle("node-client", 'export * from "./src/node-client.ts";');
}

/** For profiles of the esbuild bundle: line -> source file, from esbuild's "// src/..." markers. */
export function sourceMapOfBundle(file) {
  const lines = readFileSync(file, "utf8").split("\n");
  const map = [];
  let current = "";
  for (const line of lines) {
    const m = /^\/\/ (src\/\S+\.ts)$/.exec(line);
    if (m) current = m[1];
    map.push(current);
  }
  return map;
}

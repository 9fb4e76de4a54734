// Memory per idle connection, one fresh process per measurement (run with --expose-gc):
// argv: client, url, connections. Prints one JSON line with per-connection deltas.
import { setImmediate as tick } from "node:timers/promises";
import { loadClient } from "./clients.mjs";

const [name, url, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");

async function settle() {
  // Several rounds: finalizers and weak callbacks can free more on the next collection.
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await tick();
  }
}

const client = await loadClient(name);
const deadline = setTimeout(() => {
  console.error(`${name}: memory run exceeded 60 s`);
  process.exit(2);
}, 60_000);

// Warm up: the first connection loads lazy modules and compiles the handshake path.
await client.close(await client.open(`${url}/idle`));
await settle();
const before = process.memoryUsage();

const sockets = [];
const batch = 50;
for (let i = 0; i < count; i += batch) {
  const n = Math.min(batch, count - i);
  sockets.push(...(await Promise.all(Array.from({ length: n }, () => client.open(`${url}/idle`)))));
}
await settle();
const after = process.memoryUsage();

const per = (k) => (after[k] - before[k]) / count;
console.log(JSON.stringify({
  client: name,
  connections: sockets.length,
  heap: per("heapUsed"),
  external: per("external"),
  arrayBuffers: per("arrayBuffers"),
  rss: per("rss"),
}));

for (let i = 0; i < sockets.length; i += batch) {
  await Promise.all(sockets.slice(i, i + batch).map((s) => client.close(s)));
}
clearTimeout(deadline);
process.exit(0);

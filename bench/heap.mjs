// Where the memory of an idle connection goes: heap snapshots before and after opening N idle
// connections, self size grouped by constructor, per connection. One client per process.
//
//   node --expose-gc bench/heap.mjs <client> [connections=200] [--owners=LABEL] [--src]
// Starts its own server child. --owners also lists which objects hold the LABEL entries (after).
import v8 from "node:v8";
import { setImmediate as tick } from "node:timers/promises";
import { loadClient, oursEntry } from "./clients.mjs";
import { spawn } from "./procs.mjs";
import { table, fmtNum } from "./stats.mjs";

const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const ownersOf = process.argv.find((a) => a.startsWith("--owners="))?.slice(9);
const [name = "ours", countArg = "200"] = positional;
const count = Number(countArg);
if (name === "ours") process.env.BENCH_OURS_ENTRY ??= await oursEntry(process.argv.includes("--src"));
if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");

async function settle() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await tick();
  }
}

function summary(owners) {
  const snap = JSON.parse(readAll(v8.getHeapSnapshot()));
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize, iEdges] = ["type", "name", "self_size", "edge_count"].map((k) => f.indexOf(k));
  const labelAt = (i) => {
    const type = types[snap.nodes[i + iType]];
    const label = snap.strings[snap.nodes[i + iName]];
    if (type === "closure") return `closure ${label}`;
    if (type !== "object") return `(${type})${type === "code" || type === "string" ? "" : ` ${label}`.slice(0, 60)}`;
    return label;
  };
  if (owners) {
    // Edges are stored per node in node order; to_node is an index into the nodes array.
    const ef = snap.snapshot.meta.edge_fields;
    const iTo = ef.indexOf("to_node");
    const holders = new Map();
    let e = 0;
    for (let i = 0; i < snap.nodes.length; i += f.length) {
      const n = snap.nodes[i + iEdges];
      for (let k = 0; k < n; k++, e += ef.length) {
        const to = snap.edges[e + iTo];
        if (labelAt(to) === owners) {
          const key = labelAt(i);
          holders.set(key, (holders.get(key) ?? 0) + 1);
        }
      }
    }
    return holders;
  }
  const by = new Map();
  for (let i = 0; i < snap.nodes.length; i += f.length) {
    const label = labelAt(i);
    const e = by.get(label) ?? { size: 0, n: 0 };
    e.size += snap.nodes[i + iSize];
    e.n += 1;
    by.set(label, e);
  }
  return by;
}

function readAll(stream) {
  // getHeapSnapshot returns a Readable; read it synchronously (it is backed by an in-memory buffer).
  let text = "";
  let chunk;
  while ((chunk = stream.read()) !== null) text += chunk;
  return text;
}

const server = spawn("server.mjs");
const { wsPort } = await server.ready;
const url = `ws://127.0.0.1:${wsPort}/idle`;
const client = await loadClient(name);
await client.close(await client.open(url));
await settle();
const before = summary();
const sockets = [];
for (let i = 0; i < count; i += 50) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => client.open(url)))));
}
await settle();
const after = summary();
const holdersAfter = ownersOf ? summary(ownersOf) : null;
const rows = [];
let total = 0;
for (const [label, a] of after) {
  const b = before.get(label) ?? { size: 0, n: 0 };
  const d = (a.size - b.size) / count;
  total += d;
  if (Math.abs(d) >= 16) rows.push([label, fmtNum((a.n - b.n) / count), fmtNum(d), d]);
}
rows.sort((x, y) => y[3] - x[3]);
console.log(`${name}: ${fmtNum(total)} bytes of heap objects per idle connection (${count} connections)`);
console.log(table(["constructor / kind", "objects/conn", "bytes/conn"], rows.slice(0, 40).map((r) => r.slice(0, 3))));
if (holdersAfter) {
  console.log(`holders of "${ownersOf}" (edges into it, per connection):`);
  const hs = [...holdersAfter].sort((a, b) => b[1] - a[1]).slice(0, 20);
  console.log(table(["holder", "per conn"], hs.map(([k, v]) => [k, fmtNum(v / count)])));
}
for (const s of sockets) await client.close(s);
server.child.send({ type: "exit" });
process.exit(0);

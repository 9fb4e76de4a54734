// Benchmark: resilient-ws/node vs ws (+bufferutil) vs undici's WebSocket, with node:net as the
// ceiling. The server is a `ws` server in a child process; every client library runs in its own
// child process; runs alternate between libraries (rotating the order every repetition) and the
// report gives medians of several repetitions and ratios of medians.
//
//   node bench/run.mjs [--quick] [--reps=N] [--clients=ours,ws,undici,ws-native,variant:/abs/path.mjs]
//                      [--only=echo1,echo64,send1m,recv1m,tiny,frag,memory] [--src] [--json=file]
//   --src: measure src/ bundled by esbuild into bench/.build/ instead of dist/
//                      [--plain-server] [--connections=1000]
import { execFileSync, fork } from "node:child_process";
import os from "node:os";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { labelOf, oursEntry } from "./clients.mjs";
import { request, spawn, stop } from "./procs.mjs";
import { workloadSpecs, warmUp, valueOf } from "./specs.mjs";
import { median, spread, fmtNum, fmtRatio, fmtPct, table } from "./stats.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v ?? true];
}));
const quick = Boolean(args.quick);
const reps = Number(args.reps ?? (quick ? 3 : 5));
const memConnections = Number(args.connections ?? 1000);
const memReps = quick ? 1 : 3;

const wanted = String(args.clients ?? "ours,ws,undici").split(",");
const ours = wanted.includes("ours") ? await oursEntry(Boolean(args.src)) : null;
const clients = wanted.filter((c) => c !== "ours" || ours);
const notes = [];
if (wanted.includes("ours") && !ours) notes.push("resilient-ws/node: no dist/node-client.js or src/node-client.ts yet, column omitted");

const WORKLOADS = workloadSpecs({ quick, plain: Boolean(args["plain-server"]) });
const only = args.only ? String(args.only).split(",") : null;
const workloads = WORKLOADS.filter((w) => !only || only.includes(w.key));
const doMemory = !only || only.includes("memory");

// ---------------------------------------------------------------------------------------------
const sourceAtStart = gitDescribe();
// Children (runners and memory processes) inherit this.
if (ours) process.env.BENCH_OURS_ENTRY = ours;

const server = spawn("server.mjs");
const { wsPort, netPort } = await server.ready;
const url = `ws://127.0.0.1:${wsPort}`;
const params = { url, netPort, limitMs: 30_000 };

const runners = new Map();
const info = {};
for (const name of [...clients, "raw"]) {
  const r = spawn("runner.mjs", [name]);
  const hello = await r.ready;
  runners.set(name, r.child);
  info[name] = hello;
}

const serverCpu = async () => {
  const { usage } = await request(server.child, { type: "cpu" }, "cpu");
  return usage.user + usage.system;
};

async function runOnce(name, workload) {
  const s0 = await serverCpu();
  const reply = await request(runners.get(name), { type: "run", workload, params }, "result");
  const s1 = await serverCpu();
  if (reply.error) throw new Error(`${name} ${workload.key ?? workload.type}: ${reply.error}`);
  const r = reply.result;
  return { value: valueOf(workload, r), cpuPerOp: r.cpuUs / r.ops, clientCpu: r.cpuUs / 1e6 / r.seconds, serverCpu: (s1 - s0) / 1e6 / r.seconds, faultsPerOp: r.faults / r.ops };
}

const results = {};
const t0 = Date.now();
for (const w of workloads) {
  const names = [...clients, ...(w.raw ? ["raw"] : [])];
  const spec = (n) => (n === "raw" ? { ...w.raw, key: w.key, unit: w.unit } : w);
  results[w.key] = Object.fromEntries(names.map((n) => [n, []]));
  process.stderr.write(`${w.title}:`);
  for (const n of names) await runOnce(n, warmUp(spec(n))).catch((e) => notes.push(`warm-up ${e.message}`));
  for (let rep = 0; rep < reps * (w.repsFactor ?? 1); rep++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + rep) % names.length];
      try {
        results[w.key][n].push(await runOnce(n, spec(n)));
      } catch (e) {
        notes.push(String(e.message).split("\n")[0]);
        results[w.key][n].push({ value: NaN, cpuPerOp: NaN, clientCpu: NaN, serverCpu: NaN, faultsPerOp: NaN });
      }
    }
    process.stderr.write(".");
  }
  process.stderr.write("\n");
}

// Memory: a fresh process per library and repetition, alternating libraries.
const memory = Object.fromEntries(clients.map((c) => [c, []]));
if (doMemory) {
  process.stderr.write(`memory per idle connection (${memConnections}):`);
  for (let rep = 0; rep < memReps; rep++) {
    for (let i = 0; i < clients.length; i++) {
      const name = clients[(i + rep) % clients.length];
      const out = await new Promise((resolve) => {
        const child = fork(`${here}memory.mjs`, [name, url, String(memConnections)], {
          execArgv: ["--expose-gc"],
          stdio: ["ignore", "pipe", "inherit", "ipc"],
        });
        let text = "";
        child.stdout.on("data", (d) => (text += d));
        child.on("exit", (code) => resolve(code === 0 ? text : `{"error":"exit ${code}"}`));
      });
      const m = JSON.parse(out.trim().split("\n").pop());
      if (m.error) notes.push(`memory ${name}: ${m.error}`);
      else memory[name].push(m);
    }
    process.stderr.write(".");
  }
  process.stderr.write("\n");
}
const elapsed = (Date.now() - t0) / 1000;

await Promise.all([...runners.values()].map(stop));
server.child.send({ type: "exit" });

// ---------------------------------------------------------------------------------------------
/** Which source was measured: last commit touching src/, and whether src/ has uncommitted edits. */
function gitDescribe() {
  try {
    const git = (...a) => execFileSync("git", a, { cwd: `${here}..`, encoding: "utf8" }).trim();
    const commit = git("log", "-1", "--format=%h %cI", "--", "src");
    const dirty = git("status", "--porcelain", "--", "src") !== "";
    return `src/ at ${commit}${dirty ? " plus uncommitted changes" : ""}`;
  } catch {
    return "src/ revision unknown (no git)";
  }
}

const med = (key, n, f = "value") => median((results[key]?.[n] ?? []).map((r) => r[f]));
const spr = (key, n) => spread((results[key]?.[n] ?? []).map((r) => r.value));
const cell = (key, n) => (results[key]?.[n]?.length ? `${fmtNum(med(key, n))} ±${fmtPct(spr(key, n) / 2)}` : "");
const hasOurs = clients.includes("ours");
const others = clients.filter((c) => c !== "ours");

const out = [];
out.push(`resilient-ws benchmark  ${new Date().toISOString()}  (${quick ? "quick" : "full"}: ${reps} repetitions, medians; ±half the min-max range)`);
out.push(`node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}, ${os.cpus().length} x ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`);
for (const c of clients) out.push(`  ${labelOf(c).padEnd(18)} ${info[c].version}  ${info[c].info}`);
out.push(`  source: ${sourceAtStart}`);
out.push("");

const short = (c) => (c.startsWith("variant:") ? labelOf(c) : c);
const withWs = hasOurs && clients.includes("ws");
const header = [
  "workload", "unit", ...clients.map(labelOf),
  ...(hasOurs ? others.map((o) => `ours/${short(o)}`) : []),
  ...(withWs ? ["ours/ws by CPU"] : []),
  ...others.filter((o) => o !== "ws").map((o) => `${short(o)}/ws`),
  "node:net", ...(hasOurs ? ["ours/net"] : []), "target",
];
const rows = workloads.map((w) => [
  w.title,
  w.unit,
  ...clients.map((c) => cell(w.key, c)),
  ...(hasOurs ? others.map((o) => fmtRatio(med(w.key, "ours") / med(w.key, o))) : []),
  // Throughput swings with other load on a shared machine; CPU time per operation much less.
  ...(withWs ? [fmtRatio(med(w.key, "ws", "cpuPerOp") / med(w.key, "ours", "cpuPerOp"))] : []),
  ...others.filter((o) => o !== "ws").map((o) => fmtRatio(med(w.key, o) / med(w.key, "ws"))),
  w.raw ? cell(w.key, "raw") : "",
  ...(hasOurs ? [w.raw ? fmtPct(med(w.key, "ours") / med(w.key, "raw")) : ""] : []),
  `ours/ws >= ${w.target.toFixed(1)}${w.raw ? ", >= 70% net" : ""}`,
]);
out.push(table(header, rows));
out.push("");

out.push("client CPU time per operation in µs: median (min) / client process CPU use / server process CPU use (medians)");
out.push("(operation = round trip, message, or MiB for the 1 MiB workloads; CPU time is less sensitive than throughput to other load on the machine)");
out.push(table(["workload", ...clients.map((c) => labelOf(c)), ...(workloads.some((w) => w.raw) ? ["node:net"] : [])],
  workloads.map((w) => [w.title, ...[...clients, ...(workloads.some((x) => x.raw) ? ["raw"] : [])].map((c) =>
    results[w.key]?.[c]?.length ? `${fmtNum(med(w.key, c, "cpuPerOp"))} (${fmtNum(Math.min(...results[w.key][c].map((r) => r.cpuPerOp)))}) / ${fmtPct(med(w.key, c, "clientCpu"))} / ${fmtPct(med(w.key, c, "serverCpu"))}` : "")])));
out.push("");

// Page faults explain swings of the 1 MiB workloads: fresh pages cost a fault each on first touch
// (expensive in this VM), and how often the allocator hands back recycled memory depends on GC timing.
const big = workloads.filter((w) => w.raw);
if (big.length > 0) {
  out.push("client minor page faults per MiB (4 KiB pages; medians)");
  out.push(table(["workload", ...clients.map(labelOf), "node:net"],
    big.map((w) => [w.title, ...[...clients, "raw"].map((c) => (results[w.key]?.[c]?.length ? fmtNum(med(w.key, c, "faultsPerOp")) : ""))])));
  out.push("");
}

if (doMemory) {
  const m = (c, k) => median(memory[c].map((x) => x[k]));
  const total = (c) => median(memory[c].map((x) => x.heap + x.external));
  out.push(`memory per idle connection, ${memConnections} connections, after GC (KiB; total = heap + external, external includes arrayBuffers)`);
  out.push(table(["client", "heap", "external", "arrayBuffers", "total", "rss", "total vs ws"],
    clients.map((c) => [labelOf(c), fmtNum(m(c, "heap") / 1024), fmtNum(m(c, "external") / 1024), fmtNum(m(c, "arrayBuffers") / 1024),
      fmtNum(total(c) / 1024), fmtNum(m(c, "rss") / 1024), fmtRatio(total(c) / total("ws"))])));
  out.push("");
}
out.push(`elapsed ${elapsed.toFixed(0)} s`);
for (const n of notes) out.push(`note: ${n}`);
console.log(out.join("\n"));

if (args.json) writeFileSync(String(args.json), JSON.stringify({ date: new Date().toISOString(), node: process.version, info, results, memory, notes }, null, 2));

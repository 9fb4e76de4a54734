// CPU profile of one client library per workload: runs the workload (warm-up + reps) in a runner
// started with --cpu-prof, then prints the hottest functions by self time and by inclusive time.
//
//   node bench/profile.mjs [--client=ours|ws|undici|variant:/abs/bundle.mjs] [--only=echo64,tiny] [--quick]
//                          [--reps=3] [--top=25] [--dist]
// Profiles land in bench/profiles/<client>-<workload>.cpuprofile (open them in Chrome DevTools).
// For `ours` the current src/ is bundled by esbuild (unless --dist) and frames are attributed to
// their src/ files through esbuild's per-file markers.
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { oursEntry, sourceMapOfBundle } from "./clients.mjs";
import { request, spawn, stop } from "./procs.mjs";
import { workloadSpecs, warmUp, valueOf } from "./specs.mjs";
import { fmtNum, table } from "./stats.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = fileURLToPath(new URL("..", import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v ?? true];
}));
const client = String(args.client ?? "ours");
const reps = Number(args.reps ?? 3);
const top = Number(args.top ?? 25);
const only = args.only ? String(args.only).split(",") : null;
const specs = workloadSpecs({ quick: Boolean(args.quick), plain: false }).filter((w) => !only || only.includes(w.key));

const ours = client === "ours" ? await oursEntry(!args.dist) : null;
if (client === "ours") {
  if (!ours) throw new Error("no src/node-client.ts or dist/node-client.js to profile");
  process.env.BENCH_OURS_ENTRY = ours;
}
// esbuild bundles (ours from src/, or a variant: build) carry per-file markers.
const bundle = client.startsWith("variant:") ? client.slice(8) : ours?.includes("/bench/.build/") ? ours : null;
const bundleFiles = bundle ? sourceMapOfBundle(bundle) : null;
const bundleUrl = bundle ? `file://${bundle}` : null;
const dir = `${here}profiles`;
mkdirSync(dir, { recursive: true });

const server = spawn("server.mjs");
const { wsPort, netPort } = await server.ready;
const params = { url: `ws://127.0.0.1:${wsPort}`, netPort, limitMs: 30_000 };

for (const w of specs) {
  const name = `${client.replace(/^variant:.*\//, "variant-")}-${w.key}.cpuprofile`;
  const execArgv = [
    "--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`, "--cpu-prof-interval=100",
  ];
  const runner = spawn("runner.mjs", [client], execArgv);
  await runner.ready;
  const values = [];
  for (let i = 0; i <= reps; i++) {
    const spec = i === 0 ? warmUp(w) : w;
    const reply = await request(runner.child, { type: "run", workload: spec, params }, "result");
    if (reply.error) throw new Error(reply.error);
    if (i > 0) values.push(valueOf(w, reply.result));
  }
  await stop(runner.child);
  console.log(`\n=== ${client} ${w.title}: ${values.map(fmtNum).join(", ")} ${w.unit} (under the profiler)`);
  summarize(`${dir}/${name}`);
}
server.child.send({ type: "exit" });

function summarize(file) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => {
    const f = n.callFrame;
    let url = f.url === bundleUrl ? "(bundle)" : f.url.replace(`file://${root}`, "");
    if (url === "(bundle)") url = `${bundleFiles[f.lineNumber] || url} (bundle line ${f.lineNumber + 1})`;
    else if (url) url = `${url}:${f.lineNumber + 1}`;
    return `${f.functionName || "(anonymous)"}${url ? ` ${url}` : ""}`;
  };
  let total = 0;
  const self = new Map();
  const incl = new Map();
  for (const n of prof.nodes) {
    if (!n.hitCount || n.callFrame.functionName === "(idle)") continue;
    total += n.hitCount;
    const key = label(n);
    self.set(key, (self.get(key) ?? 0) + n.hitCount);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const k = label(byId.get(id));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + n.hitCount);
    }
  }
  const pct = (x) => `${((100 * x) / total).toFixed(1)}%`;
  const rows = (m, filter = () => true) => [...m].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, pct(v)]);
  console.log(`busy samples: ${total} (idle excluded)`);
  console.log(table(["self time", "%"], rows(self)));
  const mine = (k) => / (src|dist|bench|node_modules\/(ws|undici))\//.test(k);
  console.log(table(["inclusive time (library and bench frames)", "%"], rows(incl, mine)));
}

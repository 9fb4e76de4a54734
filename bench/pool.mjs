// Several full runs side by side, and their repetitions pooled: one run's medians move by 10-30%
// on this shared VM, so a ratio near its target is judged on all repetitions of several runs.
//
//   node bench/run.mjs --src --json=a.json   (two or more times)
//   node bench/pool.mjs a.json b.json c.json
//
// For each workload: ours/ws by throughput in every run, then pooled over all runs (median of all
// repetitions of ours / median of all of ws), the same by CPU time per operation, and for the 1 MiB
// workloads ours as a share of node:net. Memory: ours/ws per run and the median of the runs.
import { readFileSync } from "node:fs";
import { workloadSpecs } from "./specs.mjs";
import { fmtPct, fmtRatio, median, table } from "./stats.mjs";

const files = process.argv.slice(2).filter((a) => !a.startsWith("--"));
if (files.length === 0) {
  console.error("usage: node bench/pool.mjs run1.json run2.json ...");
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(readFileSync(f, "utf8")));
const specs = workloadSpecs({ quick: false, plain: false });

/** Every repetition's `field` for client `c` on workload `key`, in the given runs. */
const reps = (some, key, c, field = "value") => some.flatMap((r) => (r.results?.[key]?.[c] ?? []).map((x) => x[field]));
const ratio = (some, key, field) => {
  const ours = median(reps(some, key, "ours", field));
  const ws = median(reps(some, key, "ws", field));
  // Throughput: higher is better; CPU time per operation: lower is better.
  return field === "cpuPerOp" ? ws / ours : ours / ws;
};
const ofNet = (some, key) => median(reps(some, key, "ours")) / median(reps(some, key, "raw"));

const rows = [];
for (const w of specs) {
  if (!runs.some((r) => r.results?.[w.key]?.ours && r.results[w.key].ws)) continue;
  const per = runs.map((r) => fmtRatio(ratio([r], w.key, "value")));
  const perCpu = runs.map((r) => fmtRatio(ratio([r], w.key, "cpuPerOp")));
  const pooled = ratio(runs, w.key, "value");
  const net = w.raw ? ofNet(runs, w.key) : NaN;
  const met = pooled >= w.target && (!w.raw || net >= 0.7);
  rows.push([
    w.title,
    per.join(" "),
    fmtRatio(pooled),
    perCpu.join(" "),
    fmtRatio(ratio(runs, w.key, "cpuPerOp")),
    w.raw ? `${runs.map((r) => fmtPct(ofNet([r], w.key))).join(" ")} / ${fmtPct(net)}` : "",
    `>= ${w.target.toFixed(1)}${w.raw ? ", >= 70% net" : ""}`,
    met ? "met" : "not met",
    String(reps(runs, w.key, "ours").length),
  ]);
}
const memories = runs.filter((r) => r.memory?.ours && r.memory?.ws);
if (memories.length > 0) {
  const total = (r, c) => median(r.memory[c].map((x) => x.heap + x.external));
  const per = memories.map((r) => total(r, "ours") / total(r, "ws"));
  const pooled = median(per);
  rows.push(["memory per idle connection", per.map(fmtRatio).join(" "), fmtRatio(pooled), "", "", "", "<= 1.0", pooled <= 1 ? "met" : "not met", String(memories.length)]);
}

console.log(`${runs.length} runs: ${runs.map((r) => r.date).join(", ")}`);
console.log(table(["workload", "ours/ws per run", "pooled", "by CPU per run", "pooled", "ours/net per run / pooled", "target", "pooled vs target", "reps of ours"], rows));

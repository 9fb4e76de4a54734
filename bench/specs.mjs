// The workloads, as data: what run.mjs alternates and profile.mjs profiles.
import { MIB } from "./frames.mjs";

/** @param {{ quick: boolean, plain: boolean }} o  plain: ws's own server message path */
export function workloadSpecs({ quick, plain }) {
  const D = quick ? 300 : 1000;
  const p = plain ? "-ws" : "";
  // 1 MiB receives: about a second per run, like the timed workloads. At 512 messages (a quarter
  // second) one GC or one trim of the allocator's heap more or less moved a run by 20-30%.
  const big = quick ? 256 : 2048;
  return [
    // Pure wake-up latency, the most sensitive to other load: 3x the repetitions, a third as long
    // each, so that the libraries see the same machine conditions.
    { key: "echo1", title: "echo 64 B, 1 in flight", unit: "round trips/s", type: "pingpong", path: `/echo${p}`, bytes: 64, inflight: 1, durationMs: D / 3, repsFactor: 3, target: 1.0 },
    { key: "echo64", title: "echo 64 B, 64 in flight", unit: "round trips/s", type: "pingpong", path: `/echo${p}`, bytes: 64, inflight: 64, durationMs: D, target: 1.2 },
    // The 1 MiB workloads get twice the repetitions: their targets are the closest calls.
    { key: "send1m", title: "send 1 MiB binary (4 in flight)", unit: "MiB/s", type: "pingpong", path: `/sink${p}`, bytes: MIB, inflight: 4, durationMs: D, repsFactor: 2, target: 1.0,
      raw: { type: "raw-send", inflight: 4, durationMs: D } },
    { key: "recv1m", title: "receive 1 MiB binary", unit: "MiB/s", type: "receive", kind: "big", count: big, repsFactor: 2, target: 1.0,
      raw: { type: "raw-receive", count: big } },
    { key: "tiny", title: "receive 16 B text messages", unit: "messages/s", type: "receive", kind: "tiny", count: quick ? 200_000 : 1_000_000, target: 1.0 },
    { key: "frag", title: "receive 1 KiB text in 16 fragments", unit: "messages/s", type: "receive", kind: "frag", count: quick ? 20_000 : 100_000, target: 1.2 },
  ];
}

/** A shorter version of a workload, for warm-up runs whose results are discarded. */
export function warmUp(w) {
  // At least 250 ms: enough for the JIT to finish compiling the hot path, whose background
  // compiler threads would otherwise be billed to (and compete with) the first measured run.
  return { ...w, durationMs: w.durationMs ? Math.max(250, w.durationMs / 4) : undefined, count: w.count ? Math.ceil(w.count / 4) : undefined };
}

/** Result value in the workload's unit. */
export function valueOf(w, r) {
  return w.unit === "MiB/s" ? r.bytes / MIB / r.seconds : r.ops / r.seconds;
}

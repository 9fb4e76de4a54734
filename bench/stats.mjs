// Medians, spreads and plain-text table formatting for the benchmark report.
export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** (max - min) / median, the full range of the repetitions relative to the median. */
export function spread(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length < 2) return NaN;
  return (Math.max(...v) - Math.min(...v)) / median(v);
}

export function fmtNum(x) {
  if (!Number.isFinite(x)) return "n/a";
  if (x >= 100) return Math.round(x).toLocaleString("en-US");
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function fmtRatio(x) {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : "n/a";
}

export function fmtPct(x) {
  return Number.isFinite(x) ? `${Math.round(x * 100)}%` : "n/a";
}

/** Left-aligns the first column, right-aligns the rest. */
export function table(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? "").length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c ?? "").padEnd(widths[i]) : String(c ?? "").padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

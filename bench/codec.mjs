// The frame codec alone, in one process, no sockets: our FrameDecoder / buildFrame (src/, bundled
// by esbuild) against ws's Receiver / Sender.frame, on the same bytes, split into the 64 KiB chunks
// a socket delivers. CPU time per message, median of several rounds. This separates the protocol
// code from the socket and event-dispatch costs that run.mjs measures end to end.
//
//   node bench/codec.mjs [--rounds=7]
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { encodeMessage, MIB } from "./frames.mjs";
import { median, fmtNum, fmtRatio, table } from "./stats.mjs";

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL("..", import.meta.url));
const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 7);

const out = `${root}bench/.build/codec.mjs`;
await build({
  stdin: {
    contents: 'export { FrameDecoder } from "./src/protocol/decoder.ts"; export { buildFrame, buildTextFrame } from "./src/adapters/node/frame.ts";',
    resolveDir: root,
    loader: "ts",
  },
  bundle: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  outfile: out,
  logLevel: "warning",
});
const { FrameDecoder, buildFrame } = await import(out);
const { Receiver, Sender } = require("ws");

function cpu() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** `count` messages of `kind` as a stream cut into 64 KiB socket-sized Buffers. */
function stream(kind, count) {
  const one = encodeMessage(kind);
  const all = Buffer.concat(Array.from({ length: count }, () => one));
  const chunks = [];
  for (let i = 0; i < all.length; i += 65536) chunks.push(Buffer.from(all.subarray(i, i + 65536)));
  return chunks;
}

const decoders = {
  ours(chunks, count) {
    let n = 0;
    const d = new FrameDecoder(
      {
        onMessage() {
          n++;
        },
        onPing() {},
        onPong() {},
        onClose() {},
        onProtocolError(e) {
          throw e;
        },
      },
      { maxPayload: 100 * MIB, maxFragments: 1 << 20, allowRsv1: false, retainChunks: true },
    );
    for (const c of chunks) d.push(c);
    if (n !== count) throw new Error(`ours decoded ${n} of ${count}`);
  },
  ws(chunks, count) {
    let n = 0;
    const r = new Receiver({ isServer: false, maxPayload: 100 * MIB, binaryType: "nodebuffer" });
    r.on("message", () => n++);
    r.on("error", (e) => {
      throw e;
    });
    for (const c of chunks) r.write(c);
    if (n !== count) throw new Error(`ws decoded ${n} of ${count}`);
  },
};

const encoders = {
  ours(payload, count) {
    for (let i = 0; i < count; i++) buildFrame(2, payload, false);
  },
  ws(payload, count) {
    const opts = { fin: true, rsv1: false, opcode: 2, mask: true, readOnly: true, maskKey: undefined, generateMask: undefined };
    for (let i = 0; i < count; i++) Sender.frame(payload, opts);
  },
};

function measure(fn, ...args) {
  fn(...args); // warm-up
  const xs = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = cpu();
    fn(...args);
    xs.push(cpu() - c0);
  }
  return median(xs);
}

const rows = [];
for (const [title, kind, count] of [
  ["decode 16 B text", "tiny", 200_000],
  ["decode 1 KiB text in 16 fragments", "frag", 20_000],
  ["decode 1 MiB binary", "big", 64],
]) {
  const chunks = stream(kind, count);
  const per = Object.fromEntries(Object.entries(decoders).map(([k, f]) => [k, measure(f, chunks, count) / count]));
  rows.push([title, "µs/message", fmtNum(per.ours), fmtNum(per.ws), fmtRatio(per.ws / per.ours)]);
}
for (const [title, size, count] of [["encode 64 B binary (masked)", 64, 200_000], ["encode 1 MiB binary (masked)", MIB, 64]]) {
  const payload = Buffer.alloc(size, 0x61);
  const per = Object.fromEntries(Object.entries(encoders).map(([k, f]) => [k, measure(f, payload, count) / count]));
  rows.push([title, "µs/message", fmtNum(per.ours), fmtNum(per.ws), fmtRatio(per.ws / per.ours)]);
}
console.log(`codec only, CPU time per message, median of ${rounds} rounds (ws masks with ${require.cache[require.resolve("bufferutil")] ? "bufferutil" : "JS"})`);
console.log(table(["", "unit", "ours", "ws", "ours speed vs ws"], rows));

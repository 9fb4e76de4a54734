// The frame codec alone, in one process, no sockets: our FrameDecoder / writeFrame (src/, bundled
// by esbuild) against ws's Receiver / Sender.frame, on the same bytes, split into the 64 KiB chunks
// a socket delivers. CPU time per message, median of several rounds. This separates the protocol
// code from the socket and event-dispatch costs that run.mjs measures end to end.
//
//   node bench/codec.mjs [--rounds=7]   (each implementation runs in its own child process)
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { Buffer, isUtf8 } from "node:buffer";
import { fileURLToPath } from "node:url";
import { bundle } from "./bundle.mjs";
import { encodeMessage, MIB } from "./frames.mjs";
import { median, fmtNum, fmtRatio, table } from "./stats.mjs";

const require = createRequire(import.meta.url);
const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 7);

const isChild = process.argv.some((a) => a.startsWith("--impl="));
// The parent bundles; its children (one per implementation) import what it built.
const out = isChild
  ? new URL(".build/codec.mjs", import.meta.url).href
  : await bundle("codec", 'export { FrameDecoder } from "./src/protocol/decoder.ts"; export { writeFrame } from "./src/adapters/node/frame.ts";');
const { FrameDecoder, writeFrame } = await import(out);
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

function decodeOurs(chunks, count, extra = {}) {
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
    { maxPayload: 100 * MIB, maxFragments: 1 << 20, allowRsv1: false, retainChunks: true, ...extra },
  );
  for (const c of chunks) d.push(c);
  if (n !== count) throw new Error(`ours decoded ${n} of ${count}`);
}

const decoders = {
  // Node socket chunks are Buffers: the decoder's subarray() calls then go through Buffer's.
  ours: decodeOurs,
  // Configured as the Node adapter can: plain Uint8Array views of the chunks (native subarray),
  // node:buffer's isUtf8 for longer text, Buffer.allocUnsafe for spanning frames / reassembly.
  oursTuned: (chunks, count) =>
    decodeOurs(chunks.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.length)), count, { validateUtf8: isUtf8, allocate: Buffer.allocUnsafe }),
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

/** Frames go nowhere, and each chunk's memory is released at once, as when the kernel takes it. */
const discard = {
  writeChunk(chunk, release) {
    release?.();
  },
};

const encoders = {
  ours(payload, count) {
    for (let i = 0; i < count; i++) writeFrame(discard, 2, payload, false);
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

const SCENARIOS = [
  ["decode 16 B text", "decode", "tiny", 200_000],
  ["decode 1 KiB text in 16 fragments", "decode", "frag", 20_000],
  ["decode 1 MiB binary", "decode", "big", 64],
  ["encode 64 B binary (masked)", "encode", 64, 200_000],
  ["encode 1 MiB binary (masked)", "encode", MIB, 64],
];
const IMPLS = ["ours", "oursTuned", "ws"];
const impl = process.argv.find((a) => a.startsWith("--impl="))?.slice(7);

if (impl) {
  // Child: one implementation, so that the JIT never sees another implementation's types.
  const result = {};
  for (const [title, what, arg, count] of SCENARIOS) {
    if (what === "decode") result[title] = measure(decoders[impl], stream(arg, count), count) / count;
    else if (encoders[impl]) result[title] = measure(encoders[impl], Buffer.alloc(arg, 0x61), count) / count;
  }
  process.send(result);
  process.exit(0);
}

// Parent: each implementation in its own process, alternating, `passes` times; medians.
const passes = 3;
const all = Object.fromEntries(IMPLS.map((i) => [i, []]));
for (let p = 0; p < passes; p++) {
  for (const i of IMPLS) {
    all[i].push(await new Promise((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), [`--impl=${i}`, `--rounds=${rounds}`]);
      child.once("message", resolve);
      child.once("exit", (code) => code !== 0 && reject(new Error(`${i} exited ${code}`)));
    }));
  }
}
const per = (i, title) => median(all[i].map((r) => r[title]));
// The decoder options do not apply to encoding: no tuned column there.
const cell = (i, title) => (all[i].every((r) => title in r) ? per(i, title) : NaN);
const show = (x) => (Number.isFinite(x) ? fmtNum(x) : "");
const rows = SCENARIOS.map(([title]) => [title, "µs/message", show(cell("ours", title)), show(cell("oursTuned", title)), show(cell("ws", title)),
  fmtRatio(cell("ws", title) / cell("ours", title)), Number.isFinite(cell("oursTuned", title)) ? fmtRatio(cell("ws", title) / cell("oursTuned", title)) : ""]);
console.log(`codec only, CPU time per message: median of ${rounds} rounds x ${passes} processes per implementation (ws masks with ${require.cache[require.resolve("bufferutil")] ? "bufferutil" : "JS"})`);
console.log(table(["", "unit", "ours", "ours tuned*", "ws", "ours vs ws", "tuned vs ws"], rows));
console.log("* decoder options the Node adapter can pass: Uint8Array views of socket chunks, validateUtf8: isUtf8, allocate: Buffer.allocUnsafe");

// Where the time of a 1 MiB send goes, step by step: the raw node:net send of run.mjs (same sink
// server, 4 MiB in flight), then the steps the built-in client adds one at a time, in its own
// FrameArena (src/, bundled by esbuild), so each row's extra CPU time is the cost of one step:
//
//   net          socket.write of the caller's 1 MiB Buffer (run.mjs's node:net ceiling)
//   one-region   socket.write of one arena region, never rewritten: the kernel copy from WebAssembly
//                memory that stays in cache
//   regions      a region per frame, as the client takes them (first free, released in the write
//                callback), left untouched: the kernel now copies from memory last written
//                several frames ago
//   copy-one     the caller's bytes copied into the one region each time (not safe for real
//                frames, as the kernel may still be reading it): the copy into memory in cache
//   copy         the caller's bytes copied into a region per frame
//   copy+mask    + the SIMD XOR: FrameArena.mask, all that the client did to a 1 MiB payload until
//                the sixth session
//   pieces       what the client does now: frame.ts's writeFrame, the frame masked and written in
//                pieces of 512 KiB, each piece's region freed as soon as the kernel took it during
//                the write (as the client's Sender does), so the next piece is masked into memory
//                still in cache
//
//   node bench/send-anatomy.mjs [--reps=9] [--ms=1000]
// Variants alternate, one run each per repetition; medians. The last column is each step's client
// CPU time over net's. The sink acknowledges every full MiB
// received, so frames are exactly 1 MiB (14-byte header and 1 MiB - 14 of payload).
import net from "node:net";
import { Buffer } from "node:buffer";
import { bundle } from "./bundle.mjs";
import { MIB } from "./frames.mjs";
import { spawn, stop } from "./procs.mjs";
import { median, fmtNum, fmtPct, table } from "./stats.mjs";

const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const reps = arg("reps", 9);
const durationMs = arg("ms", 1000);
const IN_FLIGHT = 4;

const out = await bundle("send-anatomy", 'export { FrameArena } from "./src/adapters/node/frame-arena.ts"; export { writeFrame } from "./src/adapters/node/frame.ts";');
const { FrameArena, writeFrame } = await import(out);

const PAYLOAD = MIB - 14;
const payload = Buffer.alloc(PAYLOAD, 0x5a);
const arena = new FrameArena();
if (!arena.simd) console.log("note: no WebAssembly SIMD here, the arena masks with the JavaScript loop");

/** The first 14 bytes of a frame of PAYLOAD bytes: FIN + binary, 64-bit length, masking key. */
function writeHeader(frame) {
  frame[0] = 0x82;
  frame[1] = 0x80 | 127;
  frame.writeUInt32BE(0, 2);
  frame.writeUInt32BE(PAYLOAD, 6);
  frame.writeUInt32BE(0x9e3779b9, 10);
}

const wholeMiB = Buffer.alloc(MIB, 0x5a);
let oneRegion;
/** Each variant: send one 1 MiB unit, calling done() once the socket has taken it. */
const variants = {
  net: (socket, done) => socket.write(wholeMiB, done),
  "one-region": (socket, done) => {
    oneRegion ??= arena.acquire(MIB);
    socket.write(oneRegion, done);
  },
  regions: (socket, done) => {
    const frame = arena.acquire(MIB);
    socket.write(frame, () => (arena.release(frame), done()));
  },
  "copy-one": (socket, done) => {
    oneRegion ??= arena.acquire(MIB);
    writeHeader(oneRegion);
    oneRegion.set(payload, 14);
    socket.write(oneRegion, done);
  },
  copy: (socket, done) => {
    const frame = arena.acquire(MIB);
    writeHeader(frame);
    frame.set(payload, 14);
    socket.write(frame, () => (arena.release(frame), done()));
  },
  "copy+mask": (socket, done) => {
    const frame = arena.acquire(MIB);
    writeHeader(frame);
    arena.mask(payload, frame, 14);
    socket.write(frame, () => (arena.release(frame), done()));
  },
  pieces: (socket, done) => {
    let pending = 0;
    const output = {
      writeChunk(chunk, release) {
        pending++;
        socket.write(chunk, () => (release?.(), --pending === 0 && done()));
        // The Sender's rule: nothing queued in the socket, so the kernel took the piece.
        if (release !== undefined && socket.writableLength === 0) release();
      },
    };
    writeFrame(output, 0x2, payload, false);
  },
};

async function measure(port, send) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.setNoDelay(true);
  // run.mjs's raw protocol: mode 2 = sink, one 1-byte ack per full MiB received.
  socket.write(Buffer.from([2, 0, 0, 0, 0]));
  let sent = 0;
  let acked = 0;
  let stopping = false;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => {
    const next = () => {
      while (!stopping && sent - acked < IN_FLIGHT) {
        sent++;
        send(socket, () => {});
      }
      if (stopping && acked === sent) resolve();
    };
    socket.on("data", (chunk) => {
      acked += chunk.length;
      next();
    });
    setTimeout(() => {
      stopping = true;
    }, durationMs);
    next();
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  socket.destroy();
  return { mibs: sent / seconds, cpuPerMiB: (cpu.user + cpu.system) / sent };
}

const server = spawn("server.mjs");
const { netPort } = await server.ready;
const names = Object.keys(variants);
const results = Object.fromEntries(names.map((name) => [name, []]));
// Warm-up round, discarded: JIT, the arena's pages, TCP autotuning.
for (const name of names) await measure(netPort, variants[name]);
for (let rep = 0; rep < reps; rep++) {
  for (const name of names) results[name].push(await measure(netPort, variants[name]));
  process.stdout.write(".");
}
await stop(server.child);
process.stdout.write("\n");

const median0 = (name, key) => median(results[name].map((r) => r[key]));
const rows = names.map((name) => {
  const cpu = median0(name, "cpuPerMiB");
  const extra = cpu - median0("net", "cpuPerMiB");
  return [name, fmtNum(median0(name, "mibs")), fmtPct(median0(name, "mibs") / median0("net", "mibs")), fmtNum(cpu), name === "net" ? "" : `${extra >= 0 ? "+" : ""}${fmtNum(extra)}`];
});
console.log(`send anatomy: 1 MiB frames, ${IN_FLIGHT} in flight, ${reps} repetition${reps === 1 ? "" : "s"} of ${durationMs} ms, medians; node ${process.version}`);
console.log(table(["step", "MiB/s", "of net", "client CPU µs/MiB", "over net"], rows));

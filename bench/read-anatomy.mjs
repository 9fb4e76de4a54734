// Receiving 1 MiB messages step by step, without a WebSocket client: where recv1m's time goes, and
// why its ratio to ws moves from run to run. A plain TCP server writes length-prefixed 1 MiB
// messages as fast as the reader takes them; a reader process (a new one per step and repetition,
// steps alternating) builds each message the way a client would, and reports per MiB: CPU, minor
// page faults and garbage collections.
//
//   net      'data' events, the reads dropped: the floor (Node's own 64 KiB read buffers)
//   copy     'data' events, the reads kept as views and copied once into a fresh message buffer
//            when it is complete: what both resilient-ws and ws do
//   slab     `onread` into 256 KiB slabs, a new slab when less than 16 KiB is left; then as copy
//   direct   `onread` straight into the message buffer once its length is known: the kernel's copy
//            is the only one
//
// node bench/read-anatomy.mjs [--reps=5] [--rounds=3] [--count=2048] [--steps=net,copy,slab,direct]
import { fork } from "node:child_process";
import net from "node:net";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const MIB = 1 << 20;
const STEPS = ["net", "copy", "slab", "direct"];
const self = fileURLToPath(import.meta.url);
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));

if (args.role === "server") serve();
else if (args.role === "reader") read(args.step, Number(args.port), Number(args.count), Number(args.reps));
else main();

function serve() {
  const payload = Buffer.alloc(MIB, 7);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(MIB);
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", (request) => {
      let left = Number(request.toString());
      const pump = () => {
        while (left > 0) {
          left--;
          socket.write(head);
          if (!socket.write(payload)) return void socket.once("drain", pump);
        }
      };
      pump();
    });
  });
  server.listen(0, "127.0.0.1", () => process.send(server.address().port));
}

/** One connection that receives `count` messages; resolves with [CPU µs, faults, GCs] per MiB. */
function receive(step, port, count) {
  return new Promise((resolve, reject) => {
    let gcs = 0;
    const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
    observer.observe({ entryTypes: ["gc"] });
    let received = 0;
    let check = 0;
    const cpu0 = process.cpuUsage();
    const faults0 = process.resourceUsage().minorPageFault;
    const finish = () => {
      const cpu = process.cpuUsage(cpu0);
      const faults = process.resourceUsage().minorPageFault - faults0;
      socket.destroy();
      // Let the observer see the last collections before it stops.
      setImmediate(() => {
        observer.disconnect();
        if (check !== (count & 1 ? 7 : 0)) reject(new Error("wrong bytes"));
        resolve([(cpu.user + cpu.system) / count, faults / count, gcs / count]);
      });
    };
    const message = (buffer) => {
      check ^= buffer[buffer.length - 1];
      if (++received === count) finish();
    };
    // Length-prefixed messages from views of `chunk`; views are kept until a message is complete.
    let head = [];
    let parts = [];
    let need = -1;
    let have = 0;
    const take = (chunk) => {
      let pos = 0;
      while (pos < chunk.length && received < count) {
        if (need < 0) {
          while (head.length < 4 && pos < chunk.length) head.push(chunk[pos++]);
          if (head.length < 4) return;
          need = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
          head = [];
          have = 0;
        }
        const n = Math.min(need - have, chunk.length - pos);
        parts.push(chunk.subarray(pos, pos + n));
        have += n;
        pos += n;
        if (have === need) {
          const out = Buffer.allocUnsafe(need);
          let at = 0;
          for (const part of parts) (out.set(part, at), (at += part.length));
          parts = [];
          need = -1;
          message(out);
        }
      }
    };
    let socket;
    if (step === "net") {
      let bytes = 0;
      socket = net.connect({ port, host: "127.0.0.1" });
      socket.on("data", (chunk) => {
        bytes += chunk.length;
        // No messages are made: the check stands for the bytes all arriving.
        if (bytes === count * (MIB + 4)) (check = count & 1 ? 7 : 0), finish();
      });
    } else if (step === "copy") {
      socket = net.connect({ port, host: "127.0.0.1" });
      socket.on("data", take);
    } else if (step === "slab") {
      let slab = Buffer.allocUnsafeSlow(256 * 1024);
      let offset = 0;
      const buffer = () => {
        if (slab.length - offset < 16 * 1024) (slab = Buffer.allocUnsafeSlow(256 * 1024)), (offset = 0);
        return slab.subarray(offset);
      };
      const callback = (nread, buf) => {
        offset += nread;
        take(buf.subarray(0, nread));
      };
      socket = net.connect({ port, host: "127.0.0.1", onread: { buffer, callback } });
    } else if (step === "direct") {
      const small = Buffer.allocUnsafeSlow(64 * 1024);
      let out = null;
      let filled = 0;
      const fill = (source, start, end) => {
        const n = Math.min(out.length - filled, end - start);
        out.set(source.subarray(start, start + n), filled);
        filled += n;
        if (filled === out.length) (message(out), (out = null));
        return start + n;
      };
      const callback = (nread, buf) => {
        if (buf !== small) {
          // The kernel wrote straight into the message.
          filled += nread;
          if (filled === out.length) (message(out), (out = null));
          return;
        }
        let pos = 0;
        while (pos < nread && received < count) {
          if (out === null) {
            while (head.length < 4 && pos < nread) head.push(buf[pos++]);
            if (head.length < 4) return;
            out = Buffer.allocUnsafe(((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0);
            head = [];
            filled = 0;
          }
          pos = fill(buf, pos, nread);
        }
      };
      const buffer = () => (out !== null ? out.subarray(filled) : small);
      socket = net.connect({ port, host: "127.0.0.1", onread: { buffer, callback } });
    } else {
      reject(new Error(`unknown step ${step}`));
      return;
    }
    socket.on("error", reject);
    socket.on("connect", () => socket.write(String(count)));
  });
}

async function read(step, port, count, reps) {
  await receive(step, port, Math.min(256, count)); // warm-up: JIT, the first mmap of a message
  const out = [];
  for (let i = 0; i < reps; i++) out.push(await receive(step, port, count));
  process.send(out);
  process.disconnect();
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length & 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function child(argv) {
  const proc = fork(self, argv, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return { proc, reply: new Promise((resolve, reject) => (proc.once("message", resolve), proc.once("error", reject))) };
}

async function main() {
  const reps = Number(args.reps ?? 5);
  const rounds = Number(args.rounds ?? 3);
  const count = Number(args.count ?? 2048);
  const steps = (args.steps ?? STEPS.join(",")).split(",");
  for (const step of steps) if (!STEPS.includes(step)) throw new Error(`unknown step ${step}; steps are ${STEPS.join(", ")}`);
  const server = child(["--role=server"]);
  const port = await server.reply;
  const rows = Object.fromEntries(steps.map((s) => [s, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const step of steps) {
        const reader = child(["--role=reader", `--step=${step}`, `--port=${port}`, `--count=${count}`, `--reps=${reps}`]);
        const perRep = await reader.reply;
        rows[step].push(perRep);
      }
    }
  } finally {
    server.proc.kill();
  }
  const fmt = (v, digits = 0) => v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  console.log(`${count} messages of 1 MiB per repetition; ${reps} repetitions in each of ${rounds} processes per step; medians`);
  console.log(["step".padEnd(8), "CPU µs/MiB".padStart(11), "faults/MiB".padStart(11), "GCs/MiB".padStart(8), "  per process: CPU µs/MiB (faults/MiB)"].join(" "));
  for (const step of steps) {
    const all = rows[step].flat();
    const perProcess = rows[step].map((reps) => `${fmt(median(reps.map((r) => r[0])))} (${fmt(median(reps.map((r) => r[1])), 1)})`).join(", ");
    console.log([step.padEnd(8), fmt(median(all.map((r) => r[0]))).padStart(11), fmt(median(all.map((r) => r[1])), 1).padStart(11), fmt(median(all.map((r) => r[2])), 3).padStart(8), " ", perProcess].join(" "));
  }
}

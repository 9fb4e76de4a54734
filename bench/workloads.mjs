// Client-side workloads. Each returns { ops, seconds, bytes, cpuUs, faults } measured in this process only.
// Every loop is bounded: by a duration (echo, sink) or a count with a hard time limit.
import net from "node:net";
import { performance } from "node:perf_hooks";
import { MIB } from "./frames.mjs";

const size = (d) => (typeof d === "string" ? d.length : d.byteLength);

function cpuNow() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Minor page faults of this process so far: fresh memory touched for the first time. */
function faultsNow() {
  return process.resourceUsage().minorPageFault;
}

/** Resolves with `run`'s promise or rejects after `ms`; `cleanup` runs either way. */
async function bounded(ms, what, run, cleanup) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: time limit ${ms} ms exceeded`)), ms);
  });
  try {
    return await Promise.race([run(), limit]);
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
}

/**
 * Round trips with `inflight` messages outstanding (echo), or 1 MiB sends acked by the server
 * (sink, window = inflight). Counts completions before the deadline; the rate is taken up to the
 * last counted completion, and messages still in flight at the deadline are drained, not counted.
 */
export async function pingPong(client, { url, path, bytes, inflight, durationMs, limitMs }) {
  const s = await client.open(url + path);
  const payload = new Uint8Array(bytes).fill(0x61);
  return bounded(limitMs, `${client.name} ${path}`, () => new Promise((resolve) => {
    let counted = 0;
    let outstanding = 0;
    let last = 0;
    let t0 = 0;
    let deadline = 0;
    let cpu0 = 0;
    let faults0 = 0;
    client.onData(s, () => {
      const t = performance.now();
      outstanding--;
      if (t < deadline) {
        counted++;
        last = t;
        s.send(payload);
        outstanding++;
      } else if (outstanding === 0) {
        resolve({ ops: counted, seconds: (last - t0) / 1e3, bytes: counted * bytes, cpuUs: cpuNow() - cpu0, faults: faultsNow() - faults0 });
      }
    });
    cpu0 = cpuNow();
    faults0 = faultsNow();
    t0 = performance.now();
    deadline = t0 + durationMs;
    for (let i = 0; i < inflight; i++) {
      s.send(payload);
      outstanding++;
    }
  }), () => client.close(s));
}

/** The server writes `count` pre-encoded messages of `kind` after our "go"; time to the last one. */
export async function receive(client, { url, kind, count, limitMs }) {
  const s = await client.open(`${url}/gen?kind=${kind}&count=${count}`);
  return bounded(limitMs, `${client.name} receive ${kind}`, () => new Promise((resolve) => {
    let n = 0;
    let bytes = 0;
    const cpu0 = cpuNow();
    const faults0 = faultsNow();
    const t0 = performance.now();
    client.onData(s, (data) => {
      bytes += size(data);
      if (++n === count) {
        resolve({ ops: n, seconds: (performance.now() - t0) / 1e3, bytes, cpuUs: cpuNow() - cpu0, faults: faultsNow() - faults0 });
      }
    });
    s.send("go");
  }), () => client.close(s));
}

function connectRaw(port, header) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port }, () => resolve(sock));
    sock.setNoDelay(true);
    sock.once("error", reject);
    sock.write(header);
  });
}

function rawHeader(mode, count) {
  const h = Buffer.alloc(5);
  h[0] = mode;
  h.writeUInt32BE(count, 1);
  return h;
}

/** Ceiling: node:net receiving `count` x 1 MiB written by the server. */
export async function rawReceive({ netPort, count, limitMs }) {
  const sock = await connectRaw(netPort, rawHeader(1, count));
  const total = count * MIB;
  return bounded(limitMs, "raw receive", () => new Promise((resolve) => {
    let bytes = 0;
    const cpu0 = cpuNow();
    const faults0 = faultsNow();
    const t0 = performance.now();
    sock.on("data", (chunk) => {
      bytes += chunk.length;
      if (bytes >= total) resolve({ ops: count, seconds: (performance.now() - t0) / 1e3, bytes, cpuUs: cpuNow() - cpu0, faults: faultsNow() - faults0 });
    });
  }), () => new Promise((r) => { sock.once("close", r); sock.destroy(); }));
}

/** Ceiling: node:net writing 1 MiB chunks with the same ack window as the WebSocket sink run. */
export async function rawSend({ netPort, inflight, durationMs, limitMs }) {
  const sock = await connectRaw(netPort, rawHeader(2, 0));
  const chunk = Buffer.alloc(MIB, 0x61);
  return bounded(limitMs, "raw send", () => new Promise((resolve) => {
    let counted = 0;
    let outstanding = 0;
    let last = 0;
    const cpu0 = cpuNow();
    const faults0 = faultsNow();
    const t0 = performance.now();
    const deadline = t0 + durationMs;
    sock.on("data", (acks) => {
      const t = performance.now();
      for (let i = 0; i < acks.length; i++) {
        outstanding--;
        if (t < deadline) {
          counted++;
          last = t;
          sock.write(chunk);
          outstanding++;
        }
      }
      if (t >= deadline && outstanding === 0) {
        resolve({ ops: counted, seconds: (last - t0) / 1e3, bytes: counted * MIB, cpuUs: cpuNow() - cpu0, faults: faultsNow() - faults0 });
      }
    });
    for (let i = 0; i < inflight; i++) {
      sock.write(chunk);
      outstanding++;
    }
  }), () => new Promise((r) => { sock.once("close", r); sock.destroy(); }));
}

// Load generator for the benchmark: a `ws` server and a raw node:net server on 127.0.0.1 port 0,
// in their own process so that the client process being measured does only client work.
//
// WebSocket endpoints (selected by path); ws does every handshake:
//   /echo                 echoes every frame back with the same opcode (scanner.mjs data path)
//   /sink                 answers every complete message with a 1-byte binary ack (scanner.mjs)
//   /echo-ws, /sink-ws    the same through ws's own message API (--plain-server)
//   /gen?kind=K&count=N   after the client's first message, writes N pre-encoded messages of
//                         kind K (big: 1 MiB binary, tiny: 16 B text, frag: 1 KiB text in 16
//                         fragments) straight to the TCP socket, honouring backpressure, so the
//                         generator costs almost nothing and cannot be the bottleneck
//   /idle                 does nothing (memory per idle connection)
// Raw TCP server: the client writes [mode u8][count u32be]; mode 1 = server writes count x 1 MiB,
// mode 2 = sink that writes a 1-byte ack for every full MiB received.
import net from "node:net";
import { WebSocketServer } from "ws";
import { encodeBatch, MIB } from "./frames.mjs";
import { takeOver, serverHeader } from "./scanner.mjs";

const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: 64 * MIB,
  backlog: 2048,
});

const generators = new Map();
function generator(kind) {
  let g = generators.get(kind);
  if (!g) {
    g = encodeBatch(kind);
    generators.set(kind, g);
  }
  return g;
}

/** Writes `count` messages from a pre-encoded batch, pausing on backpressure. */
function pump(socket, kind, count) {
  const { batch, perBatch, frameBytes } = generator(kind);
  let left = count;
  const loop = () => {
    while (left > 0) {
      const n = Math.min(left, perBatch);
      left -= n;
      const chunk = n === perBatch ? batch : batch.subarray(0, n * frameBytes);
      if (!socket.write(chunk)) {
        socket.once("drain", loop);
        return;
      }
    }
  };
  loop();
}

wss.on("connection", (ws, req) => {
  const url = new URL(req.url ?? "/", "http://x");
  ws.on("error", () => {});
  switch (url.pathname) {
    case "/echo":
      takeOver(ws, true, (out, fin, opcode, payload) => out.push(serverHeader(fin, opcode, payload.length), payload));
      break;
    case "/sink": {
      const ack = Buffer.from([0x82, 0x01, 0x01]);
      takeOver(ws, false, (out, fin) => fin && out.push(ack));
      break;
    }
    // ws's own per-message server path (--plain-server), for comparison.
    case "/echo-ws":
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      break;
    case "/sink-ws": {
      const ack = Buffer.from([1]);
      ws.on("message", () => ws.send(ack));
      break;
    }
    case "/gen": {
      const kind = url.searchParams.get("kind") ?? "tiny";
      const count = Number(url.searchParams.get("count") ?? "1");
      ws.once("message", () => pump(ws._socket, kind, count));
      break;
    }
    default:
      break;
  }
});

const raw = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => {});
  let header = Buffer.alloc(0);
  let sinkBytes = 0;
  let mode = 0;
  const one = Buffer.from([1]);
  socket.on("data", (chunk) => {
    if (mode === 2) {
      const before = Math.floor(sinkBytes / MIB);
      sinkBytes += chunk.length;
      for (let i = before; i < Math.floor(sinkBytes / MIB); i++) socket.write(one);
      return;
    }
    header = Buffer.concat([header, chunk]);
    if (header.length < 5) return;
    mode = header[0];
    const count = header.readUInt32BE(1);
    if (mode === 1) pump(socket, "raw", count);
    else {
      sinkBytes = header.length - 5;
      for (let i = 0; i < Math.floor(sinkBytes / MIB); i++) socket.write(one);
    }
  });
});

let listening = 0;
const ready = () => {
  if (++listening < 2) return;
  process.send?.({ type: "ready", wsPort: wss.address().port, netPort: raw.address().port });
};
wss.on("listening", ready);
raw.listen({ host: "127.0.0.1", port: 0, backlog: 2048 }, ready);

process.on("message", (msg) => {
  if (msg?.type === "cpu") process.send?.({ type: "cpu", id: msg.id, usage: process.cpuUsage() });
  if (msg?.type === "exit") {
    wss.close();
    raw.close();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));

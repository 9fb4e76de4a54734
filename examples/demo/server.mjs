// `npm run demo`: a local FX price server plus a page (using the <script src> build) and a Node
// client in this terminal (the built-in RFC 6455 client from dist/node.js).
//
//   http://127.0.0.1:8080/        the page            (PORT=9000 npm run demo to change the port)
//   ws://127.0.0.1:8080/fx        the price stream
//
// Messages are JSON. Server → client: quote, ack, pong, hello. Client → server:
//   {type:"order", id, pair, side, qty}  acknowledged with {type:"ack", id, price, …}
//   {type:"ping"}                         answered with {type:"pong"} (application heartbeat)
//   {type:"kill"}                         the server drops this connection (no close frame)
//   {type:"down", ms}                     the server drops every connection and refuses new ones for ms
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { createFeed } from "./feed.mjs";
import { startNodeClient } from "./node-client.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const HOST = "127.0.0.1";
const PORT = Number(process.env.PORT ?? 8080);
const TICK_MS = 250;

const FILES = {
  "/": { file: join(HERE, "index.html"), type: "text/html; charset=utf-8" },
  "/app.js": { file: join(HERE, "app.js"), type: "text/javascript; charset=utf-8" },
  "/style.css": { file: join(HERE, "style.css"), type: "text/css; charset=utf-8" },
  "/resilient-ws.iife.min.js": { file: join(ROOT, "dist", "resilient-ws.iife.min.js"), type: "text/javascript; charset=utf-8" },
};

const log = (...args) => console.log(`${new Date().toISOString().slice(11, 23)} [server]`, ...args);

const http = createServer(async (request, response) => {
  const entry = FILES[new URL(request.url ?? "/", "http://x").pathname];
  if (!entry) return void response.writeHead(404).end("not found");
  try {
    const body = await readFile(entry.file);
    response.writeHead(200, { "content-type": entry.type, "cache-control": "no-store" }).end(body);
  } catch {
    response.writeHead(500).end(`cannot read ${entry.file}: run \`npm run build\` first`);
  }
});

const wss = new WebSocketServer({ noServer: true });
let downUntil = 0;
let nextId = 1;
let fills = 0;

http.on("upgrade", (request, socket, head) => {
  if (new URL(request.url ?? "/", "http://x").pathname !== "/fx") {
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
    return;
  }
  const wait = downUntil - Date.now();
  if (wait > 0) {
    // Down for maintenance: refuse the upgrade, as a restarting server or its load balancer would.
    socket.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${Math.ceil(wait / 1000)}\r\nConnection: close\r\n\r\n`);
    return;
  }
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
});

const feed = createFeed();

wss.on("connection", (ws, request) => {
  const id = nextId++;
  const who = new URL(request.url ?? "/", "http://x").searchParams.get("client") ?? "page";
  log(`connection #${id} (${who}) opened; ${wss.clients.size} connected`);
  ws.on("error", () => {});
  ws.on("close", (code) => log(`connection #${id} closed (${code}); ${wss.clients.size} connected`));
  ws.send(JSON.stringify({ type: "hello", connection: id, serverTime: Date.now() }));
  for (const quote of feed.snapshot()) ws.send(JSON.stringify(quote));
  ws.on("message", (data) => {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    switch (message.type) {
      case "ping":
        ws.send(JSON.stringify({ type: "pong" }));
        break;
      case "order": {
        const quote = feed.snapshot().find((q) => q.pair === message.pair);
        const price = quote ? (message.side === "buy" ? quote.ask : quote.bid) : null;
        fills += 1;
        log(`order ${message.id} from #${id}: ${message.side} ${message.qty} ${message.pair} @ ${price} (fill ${fills})`);
        ws.send(JSON.stringify({ type: "ack", id: message.id, pair: message.pair, side: message.side, qty: message.qty, price, fill: fills }));
        break;
      }
      case "kill":
        log(`connection #${id} asked to be killed: dropping it without a close frame`);
        ws.terminate();
        break;
      case "down": {
        const ms = Math.min(Number(message.ms) || 5000, 60_000);
        downUntil = Date.now() + ms;
        log(`going down for ${ms} ms: dropping ${wss.clients.size} connections, refusing upgrades with 503`);
        for (const client of wss.clients) client.terminate();
        setTimeout(() => log("back up: accepting connections"), ms).unref();
        break;
      }
    }
  });
});

const ticker = setInterval(() => {
  const quote = JSON.stringify(feed.tick());
  for (const client of wss.clients) if (client.readyState === 1) client.send(quote);
}, TICK_MS);

http.on("error", (error) => {
  console.error(`demo: cannot listen on ${HOST}:${PORT}: ${error.message}${error.code === "EADDRINUSE" ? " (try PORT=9000 npm run demo)" : ""}`);
  process.exit(1);
});

http.listen(PORT, HOST, () => {
  // PORT=0 picks a free port (the smoke test uses it): print the one we got.
  const { port } = http.address();
  const url = `http://${HOST}:${port}/`;
  console.log(`\nresilient-ws demo: open ${url} in a browser (Ctrl-C to stop)\n`);
  const client = process.env.DEMO_NODE_CLIENT === "0" ? null : startNodeClient(`ws://${HOST}:${port}/fx?client=node`);
  const stop = () => {
    client?.close();
    clearInterval(ticker);
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    http.close(() => process.exit(0));
    http.closeAllConnections();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
});

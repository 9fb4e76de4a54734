// The demo's Node client: the same ResilientWebSocket as the page, imported from the built package
// (dist/node.js, whose default transport is the built-in RFC 6455 client), printing what it does.
// Standalone: node examples/demo/node-client.mjs ws://127.0.0.1:8080/fx
import { fileURLToPath } from "node:url";
import { json, ResilientWebSocket } from "../../dist/node.js";

const time = () => new Date().toISOString().slice(11, 23);
const log = (...args) => console.log(`${time()} [node-client]`, ...args);

export function startNodeClient(url) {
  const ws = new ResilientWebSocket(url, {
    codec: json(),
    reconnect: { minDelay: 500, maxDelay: 4_000 },
    keepalive: { interval: 5_000, timeout: 3_000 },
  });
  const prices = new Map();
  let lastPrint = 0;
  let orderNo = 0;

  ws.addEventListener("statechange", (event) => log(`state ${event.from} → ${event.to}`));
  ws.addEventListener("reconnecting", (event) =>
    log(`reconnecting: attempt ${event.attempt}, next try in ${Math.round(event.delay)} ms${event.reason ? ` (${describe(event.reason)})` : ""}`),
  );
  ws.addEventListener("drop", (event) => log(`dropped a queued message (${event.reason})`));
  ws.addEventListener("message", (event) => {
    const message = event.data;
    if (message.type === "quote") {
      prices.set(message.pair, message);
      const now = Date.now();
      if (now - lastPrint >= 2_000) {
        lastPrint = now;
        log([...prices.values()].map((q) => `${q.pair} ${q.bid}/${q.ask}`).join("  "));
      }
    } else if (message.type === "ack") {
      log(`order ${message.id} acknowledged: ${message.side} ${message.qty} ${message.pair} @ ${message.price}`);
    }
  });

  // An order every 15 s, whatever the connection is doing: while it is down the order is queued
  // and goes out, once, when the connection is back.
  const orders = setInterval(() => {
    orderNo += 1;
    const id = `node-${orderNo}`;
    ws.send({ type: "order", id, pair: "EUR/USD", side: orderNo % 2 ? "buy" : "sell", qty: 100_000 });
    log(`order ${id} ${ws.state === "open" ? "sent" : `queued (${ws.stats.queued} waiting)`}`);
  }, 15_000);

  return {
    close() {
      clearInterval(orders);
      ws.close();
    },
  };
}

function describe(reason) {
  if (reason && typeof reason === "object") {
    if ("code" in reason && "reason" in reason) return `close ${reason.code}${reason.reason ? ` ${reason.reason}` : ""}`;
    if ("message" in reason) return String(reason.message);
    if ("type" in reason) return String(reason.type);
  }
  return String(reason);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const client = startNodeClient(process.argv[2] ?? "ws://127.0.0.1:8080/fx?client=node");
  process.once("SIGINT", () => client.close());
}

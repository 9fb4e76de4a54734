// The demo page: plain JavaScript over the global `ResilientWS` from the <script src> build.
const { ResilientWebSocket, json } = ResilientWS;

const $ = (id) => document.getElementById(id);
const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/fx`;

const ws = new ResilientWebSocket(url, {
  codec: json(),
  reconnect: { minDelay: 500, maxDelay: 4_000 },
  // Browsers cannot send protocol pings: an application heartbeat the server answers. The heartbeat
  // is raw frame data (it bypasses the codec) and isPong sees the raw reply.
  keepalive: { interval: 5_000, timeout: 3_000, message: '{"type":"ping"}', isPong: (data) => data === '{"type":"pong"}' },
});

const rows = new Map();
const orders = new Map();
let nextRetryAt = 0;
let orderNo = 0;

function log(text) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  $("log").prepend(li);
  while ($("log").children.length > 60) $("log").lastChild.remove();
}

function render() {
  $("state").textContent = ws.state;
  $("state").className = `state ${ws.state}`;
  $("attempt").textContent = String(ws.attempt);
  const wait = nextRetryAt - Date.now();
  $("delay").textContent = ws.state === "reconnecting" && wait > 0 ? `${(wait / 1000).toFixed(1)} s` : "–";
  $("queued").textContent = String(ws.stats.queued);
  $("connects").textContent = String(ws.stats.connects);
  $("in").textContent = String(ws.stats.messagesIn ?? 0);
  $("out").textContent = String(ws.stats.messagesOut ?? 0);
  $("prices").classList.toggle("stale", ws.state !== "open");
}
setInterval(render, 100);

function showQuote(q) {
  let row = rows.get(q.pair);
  if (!row) {
    row = document.createElement("tr");
    row.innerHTML = `<td class="pair"></td><td class="bid"></td><td class="ask"></td><td class="ts"></td>`;
    row.querySelector(".pair").textContent = q.pair;
    rows.set(q.pair, row);
    const sorted = [...rows.keys()].sort();
    const tbody = $("prices").tBodies[0];
    tbody.insertBefore(row, tbody.children[sorted.indexOf(q.pair)] ?? null);
    const option = document.createElement("option");
    option.value = option.textContent = q.pair;
    $("pair").append(option);
  }
  const previous = Number(row.querySelector(".bid").textContent || q.bid);
  row.className = q.bid > previous ? "up" : q.bid < previous ? "down" : row.className;
  row.querySelector(".bid").textContent = String(q.bid);
  row.querySelector(".ask").textContent = String(q.ask);
  row.querySelector(".ts").textContent = new Date(q.ts).toLocaleTimeString();
}

function showOrder(id, status, text) {
  let li = orders.get(id);
  if (!li) {
    li = document.createElement("li");
    orders.set(id, li);
    $("orders").prepend(li);
  }
  li.className = status;
  li.textContent = `${id}  ${status}  ${text}`;
}

ws.addEventListener("message", (event) => {
  const m = event.data;
  if (m.type === "quote") showQuote(m);
  else if (m.type === "ack") showOrder(m.id, "acked", `${m.side} ${m.qty} ${m.pair} @ ${m.price}`);
  else if (m.type === "hello") log(`server says hello: connection #${m.connection}`);
});
ws.addEventListener("statechange", (e) => log(`state ${e.from} → ${e.to}`));
ws.addEventListener("reconnecting", (e) => {
  nextRetryAt = Date.now() + e.delay;
  log(`reconnecting: attempt ${e.attempt} in ${Math.round(e.delay)} ms`);
});
ws.addEventListener("open", () => {
  for (const [id, li] of orders) if (li.className === "queued") showOrder(id, "sent", li.textContent.split("queued  ")[1] ?? "");
});
ws.addEventListener("drop", (e) => log(`a queued message was dropped (${e.reason})`));

$("kill").addEventListener("click", () => {
  log("asking the server to kill this connection");
  ws.send({ type: "kill" });
});
$("down").addEventListener("click", () => {
  log("asking the server to go down for 5 s");
  ws.send({ type: "down", ms: 5_000 });
});
$("order").addEventListener("submit", (event) => {
  event.preventDefault();
  orderNo += 1;
  const id = `page-${orderNo}`;
  const order = { type: "order", id, pair: $("pair").value, side: $("side").value, qty: Number($("qty").value) };
  const wasOpen = ws.state === "open";
  ws.send(order);
  showOrder(id, wasOpen ? "sent" : "queued", `${order.side} ${order.qty} ${order.pair}`);
});

render();

/**
 * Runnable STOMP demo: `node --import tsx examples/stomp/demo.ts [ws://host:15674/ws]`.
 * Without a URL it starts a private RabbitMQ node (needs `apt-get install -y rabbitmq-server`).
 * Subscribes to a queue, publishes three orders (each confirmed by a receipt), prints what arrives,
 * forces a reconnect to show the subscription coming back, then disconnects.
 */
import { WebSocket } from "../../src/node-client.js";
import type { TransportConstructor } from "../../src/adapters/transport.js";
import { StompClient } from "./client.js";
import { startRabbitMQ, type Broker } from "./rabbitmq.js";

const given = process.argv[2];
const broker: Broker | undefined = given ? undefined : await startRabbitMQ();
const url = given ?? broker!.url;
try {
  const stomp = new StompClient(url, {
    WebSocket: WebSocket as unknown as TransportConstructor, // the built-in client: Node 20 has no global WebSocket
    reconnect: { minDelay: 100, maxDelay: 1_000 },
    onError: (frame) => console.error("ERROR", frame.headers.message),
  });
  stomp.ws.on("statechange", ({ from, to }) => console.log(`state: ${from} -> ${to}`));
  await stomp.connected();
  console.log(`connected to ${stomp.session?.headers.server} with ${stomp.ws.protocol} (STOMP ${stomp.session?.headers.version})`);
  let received = 0;
  const done = new Promise<void>((resolve) => {
    void stomp.subscribe("/queue/demo-orders", (frame) => {
      console.log(`MESSAGE ${frame.headers["message-id"]}: ${frame.body}`);
      if (++received === 4) resolve();
    });
  });
  for (const qty of [1, 2, 3]) {
    await stomp.publish("/queue/demo-orders", JSON.stringify({ pair: "EURUSD", qty }), { "content-type": "application/json" });
    console.log(`published order ${qty} (receipt received)`);
  }
  stomp.ws.reconnect();
  await stomp.publish("/queue/demo-orders", JSON.stringify({ pair: "USDJPY", qty: 4 }));
  console.log("published order 4 after a reconnect");
  await done;
  await stomp.disconnect();
} finally {
  await broker?.stop();
}

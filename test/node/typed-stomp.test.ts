/**
 * The STOMP example against a real broker: a private RabbitMQ node with its web-stomp plugin
 * (Debian's rabbitmq-server), started by this file on free ports. If RabbitMQ is not installed the
 * suite FAILS with the install command; it never skips. Runs over the `ws` class and the built-in
 * client.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WS from "ws";
import { StompClient } from "../../examples/stomp/client.js";
import { startRabbitMQ, type Broker } from "../../examples/stomp/rabbitmq.js";
import type { StompFrame } from "../../examples/stomp/codec.js";
import { WebSocket as BuiltIn } from "../../src/node-client.js";
import type { TransportConstructor } from "../../src/adapters/transport.js";
import { isResilientError } from "../../src/errors.js";

let broker: Broker | undefined;
before(async () => {
  broker = await startRabbitMQ();
}, { timeout: 90_000 });
after(async () => {
  await broker?.stop();
});

const transports: Array<[string, TransportConstructor]> = [
  ["ws", WS as unknown as TransportConstructor],
  ["built-in", BuiltIn as unknown as TransportConstructor],
];

let queueCounter = 0;
const queue = (name: string) => `/queue/resilient-ws-${process.pid}-${name}-${++queueCounter}`;

function nextMessage(): { handler: (frame: StompFrame<"MESSAGE">) => void; next: () => Promise<StompFrame<"MESSAGE">> } {
  const frames: StompFrame<"MESSAGE">[] = [];
  let wake: (() => void) | undefined;
  return {
    handler: (frame) => {
      frames.push(frame);
      wake?.();
    },
    next: async () => {
      while (!frames.length) await new Promise<void>((resolve) => (wake = resolve));
      return frames.shift() as StompFrame<"MESSAGE">;
    },
  };
}

for (const [name, transport] of transports) {
  describe(`STOMP over ResilientWebSocket (${name}) against RabbitMQ web-stomp`, { timeout: 30_000 }, () => {
    it("negotiates v12.stomp from [v12, v11, v10] and connects with STOMP 1.2", async () => {
      const stomp = new StompClient(broker!.url, { WebSocket: transport });
      await stomp.connected();
      assert.equal(stomp.ws.protocol, "v12.stomp");
      assert.equal(stomp.session?.headers.version, "1.2");
      assert.match(stomp.session?.headers.server ?? "", /^RabbitMQ/);
      await stomp.disconnect();
      assert.equal(stomp.ws.state, "closed");
    });

    it("subscribe and publish are confirmed by receipts; headers needing escapes and a body holding NUL round-trip", async () => {
      const stomp = new StompClient(broker!.url, { WebSocket: transport });
      const destination = queue("pubsub");
      const inbox = nextMessage();
      await stomp.subscribe(destination, inbox.handler);
      const body = "héllo\0wörld";
      await stomp.publish(destination, body, { "x-note": "a:b\nc\\d" });
      const frame = await inbox.next();
      assert.equal(frame.body, body);
      assert.equal(frame.headers.destination, destination);
      assert.equal(frame.headers["x-note"], "a:b\nc\\d");
      await stomp.disconnect();
    });

    it("offering only v10.stomp negotiates STOMP 1.0 with its own codec", async () => {
      const stomp = new StompClient(broker!.url, { WebSocket: transport, protocols: ["v10.stomp"] });
      const destination = queue("v10");
      const inbox = nextMessage();
      await stomp.subscribe(destination, inbox.handler);
      assert.equal(stomp.ws.protocol, "v10.stomp");
      assert.equal(stomp.session?.headers.version, "1.0");
      await stomp.publish(destination, "one-oh");
      assert.equal((await inbox.next()).body, "one-oh");
      await stomp.disconnect();
    });

    it("after a reconnect the client re-CONNECTs and re-SUBSCRIBEs; messages flow again", async () => {
      const stomp = new StompClient(broker!.url, { WebSocket: transport, reconnect: { minDelay: 10, maxDelay: 50 } });
      const destination = queue("reconnect");
      const inbox = nextMessage();
      await stomp.subscribe(destination, inbox.handler);
      const firstSession = stomp.session?.headers.session;
      stomp.ws.reconnect();
      await stomp.publish(destination, "after reconnect");
      assert.equal((await inbox.next()).body, "after reconnect");
      assert.notEqual(stomp.session?.headers.session, firstSession);
      assert.equal(stomp.ws.stats.reconnects, 1);
      await stomp.disconnect();
    });

    it("a broker ERROR reaches onError; the unconfirmed publish times out with ERR_REQUEST_TIMEOUT", async () => {
      const errors: string[] = [];
      const stomp = new StompClient(broker!.url, { WebSocket: transport, onError: (frame) => errors.push(frame.headers.message ?? "") });
      // RabbitMQ answers a destination of an unknown kind with an ERROR frame and no receipt.
      await assert.rejects(stomp.publish("/nonsense/x", "x", {}, { timeout: 300 }), { code: "ERR_REQUEST_TIMEOUT" });
      assert.deepEqual(errors, ["Unknown destination"]);
      await stomp.disconnect();
    });
  });
}

describe("STOMP requireProtocol", { timeout: 30_000 }, () => {
  it("a server that selects no STOMP subprotocol fails the client for good (built-in client)", async () => {
    // RabbitMQ accepts the upgrade without a subprotocol when none of the offered ones is STOMP.
    const stomp = new StompClient(broker!.url, { WebSocket: BuiltIn as unknown as TransportConstructor, protocols: ["v13.stomp"] });
    const error = await new Promise<unknown>((resolve) => stomp.ws.on("error", (e) => resolve(e.error)));
    assert.ok(isResilientError(error) && error.code === "ERR_PROTOCOL_NOT_SELECTED", String(error));
    await assert.rejects(stomp.connected(), /closed/);
    assert.equal(stomp.ws.state, "closed");
  });
});

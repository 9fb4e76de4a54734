/**
 * Node and Bun entry (`resilient-ws` with the `node` / `bun` condition): the same API as the
 * browser entry, with the built-in RFC 6455 client as the default transport, so keepalive uses
 * real protocol pings and `transport` options (headers, tls, proxy, …) apply.
 */
import { ResilientWebSocket as Base, type RawData } from "./client/client.js";
import type { SendData } from "./adapters/transport.js";
import { WebSocket } from "./adapters/node/web-socket.js";

export * from "./index.js";

export class ResilientWebSocket<In = RawData, Out = SendData> extends Base<In, Out> {
  static override defaultWebSocket = WebSocket;
}

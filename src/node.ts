/**
 * Node and Bun entry (`resilient-ws` with the `node` / `bun` condition): the same API as the
 * browser entry, with the built-in RFC 6455 client as the default transport, so keepalive uses
 * real protocol pings and `transport` options (headers, tls, proxy, …) apply.
 */
import { ResilientWebSocket as Base, type RawData } from "./client/client.js";
import type { SendData } from "./adapters/transport.js";
import { WebSocket } from "./adapters/node/web-socket.js";
import type { HandshakeStatusError } from "./adapters/node/errors.js";
import { isHandshakeStatusError as isStatusError } from "./protocol/handshake.js";

export * from "./index.js";
export type { HandshakeStatusError };

/**
 * Narrows an `error` event's `error` to a handshake refused with a status (401, 403, 429 or 503
 * with Retry-After, …): `status`, `headers` and `retryAfter`, without a second import from
 * resilient-ws/node. The built-in client adds `retryAfter` to every such error it makes.
 */
export const isHandshakeStatusError = isStatusError as (error: unknown) => error is HandshakeStatusError;

export class ResilientWebSocket<In = RawData, Out = SendData> extends Base<In, Out> {
  static override defaultWebSocket = WebSocket;
}

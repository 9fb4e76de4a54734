/**
 * What the Node, Bun and Deno entries of `resilient-ws` add to the browser entry: the client class
 * with the built-in RFC 6455 client as its default transport (so keepalive uses real protocol
 * pings and `transport` options apply), `transport` typed as that client's options, and the guard
 * for a handshake refused with a status.
 */
import { ResilientWebSocket as Base, type RawData } from "./client/client.js";
import type { ResilientOptions, TransportOptions, UrlProvider, WebSocketClass } from "./client/options.js";
import type { SendData } from "./adapters/transport.js";
import { WebSocket } from "./adapters/node/web-socket.js";
import type { NodeWebSocketOptions } from "./adapters/node/options.js";
import type { HandshakeStatusError } from "./adapters/node/errors.js";
import { isHandshakeStatusError as isStatusError } from "./protocol/handshake.js";

export type { HandshakeStatusError };

/**
 * Narrows an `error` event's `error` to a handshake refused with a status (401, 403, 429 or 503
 * with Retry-After, …): `status`, `headers` and `retryAfter`, without a second import from
 * resilient-ws/node. The built-in client adds `retryAfter` to every such error it makes.
 */
export const isHandshakeStatusError = isStatusError as (error: unknown) => error is HandshakeStatusError;

/**
 * The options of the built-in client's ResilientWebSocket. With the default transport, `transport`
 * is the built-in client's own options, so a misspelt one (`hedaers`, `tls.rejectUnauthorised`) is
 * a type error instead of an option silently ignored; with another `WebSocket` class, that class's
 * own options (ws's `agent`, say) are accepted as they are.
 */
export type BuiltinResilientOptions<In = unknown, Out = unknown> = Omit<ResilientOptions<In, Out>, "transport" | "WebSocket"> &
  (
    | {
        /** @default the built-in RFC 6455 client (resilient-ws/node) */
        WebSocket?: undefined;
        /** The built-in client's options, passed as its 3rd constructor argument. */
        transport?: NodeWebSocketOptions;
      }
    | {
        /** W3C-compatible WebSocket class to use instead (ws, undici, …). */
        WebSocket: WebSocketClass;
        /** That class's own options, passed as its 3rd constructor argument. */
        transport?: TransportOptions;
      }
  );

/** The class the entries extend: each entry has a class of its own (rollup keeps them separate files). */
export class BuiltinResilientWebSocket<In = RawData, Out = SendData> extends Base<In, Out> {
  static override defaultWebSocket = WebSocket;
  // The options form first: a failed overload would fix the inference of calls in the literal (json()).
  constructor(url: UrlProvider, options?: BuiltinResilientOptions<In, Out>);
  /** `new WebSocket(url, protocols)`'s form: the subprotocols offered, all options default. */
  constructor(url: UrlProvider, protocols?: string | string[]);
  constructor(url: UrlProvider, options?: BuiltinResilientOptions<In, Out> | string | string[]) {
    super(url, options as ResilientOptions<In, Out>);
  }
}

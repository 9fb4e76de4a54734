import type { CloseEventLike, SendData } from "../adapters/transport.js";
import type { Clock } from "../reliability/clock.js";
import type { Overflow } from "../reliability/outbox.js";
import type { Codec } from "./codec.js";

/**
 * Any W3C-compatible WebSocket class (the runtime's, ws, undici, mock-socket, sockjs-client, the
 * built-in client). Typed loosely on purpose: each declares its handlers with its own event types;
 * the client uses only the TransportSocket surface of src/adapters/transport.ts.
 */
export type WebSocketClass = new (url: string, protocols?: string | string[]) => object;

/** A value, or a function returning it (sync or Promise), evaluated before every attempt. */
export type Provider<T> = T | (() => T | Promise<T>);

export type UrlProvider = Provider<string | URL>;
export type ProtocolsProvider = Provider<string | string[]>;

export interface ReconnectOptions {
  /**
   * Smallest delay before a reconnect attempt, in ms.
   * @default 500
   */
  minDelay?: number;
  /**
   * Largest delay before a reconnect attempt, in ms. A server closing with 1013 (try again later)
   * makes the next attempt wait at least this long.
   * @default 30000
   */
  maxDelay?: number;
  /**
   * Growth of the delay per attempt.
   * @default 2
   */
  factor?: number;
  /**
   * `"full"`: each delay is uniform in [minDelay, min(maxDelay, minDelay·factor^attempt)], which spreads
   * clients that were dropped together. `"none"`: minDelay·factor^(attempt−1), capped.
   * @default "full"
   */
  jitter?: "full" | "none";
  /**
   * Failed attempts in a row before giving up (the client then closes for good).
   * @default Infinity
   * @example { maxRetries: 10 }
   */
  maxRetries?: number;
  /**
   * A connection must stay open this long (ms) before the attempt counter goes back to 0, so a
   * server that accepts and drops at once still gets backed off.
   * @default 5000
   */
  resetAfter?: number;
  /**
   * Decides whether a close is retried. Return `undefined` for the default policy: every close is
   * retried except 1008 (policy violation) and 4000–4999 (application codes); 1000 from the server
   * is retried (servers restart with it). An application `close()` is never retried. If it
   * throws, the exception is an `error` event and the default policy applies.
   * @example { shouldReconnect: (event) => event.code !== 4001 || undefined }
   */
  shouldReconnect?: (event: CloseEventLike) => boolean | undefined;
}

export interface KeepaliveOptions {
  /**
   * Quiet time (ms, nothing received) after which the link is probed.
   * @default 25000
   */
  interval?: number;
  /**
   * Time (ms) a probe has to be answered (by a pong or any message) before the connection is
   * declared dead and replaced.
   * @default 10000
   */
  timeout?: number;
  /**
   * Application heartbeat, for transports that cannot ping (browsers): the frame sent as the
   * probe, or a function making it (if it throws: an `error` event, and the probe counts as
   * unanswered). Unused when the transport has `ping()`. Without `ping()` and without a heartbeat,
   * a quiet link is never declared dead. Probes and replies are not counted in `stats`.
   * @example { message: '{"type":"ping"}', isPong: (data) => data === '{"type":"pong"}' }
   */
  message?: SendData | (() => SendData);
  /**
   * Recognizes the server's heartbeat reply in raw received data. Replies count as liveness and
   * are not delivered as messages. If it throws, the exception is an `error` event and the data is
   * delivered as a message.
   */
  isPong?: (data: unknown) => boolean;
}

export interface QueueOptions {
  /**
   * Most messages kept while not open.
   * @default 1000
   */
  maxMessages?: number;
  /**
   * Most bytes kept while not open (UTF-8 bytes of text frames, byte length of binary ones).
   * @default 1048576
   */
  maxBytes?: number;
  /**
   * What happens when a send would exceed a limit: `"drop-oldest"` discards the oldest queued
   * messages, `"drop-newest"` discards the message being sent (send() returns "dropped"),
   * `"error"` makes send() throw a ResilientError `ERR_QUEUE_FULL`. Every discarded message raises
   * a `drop` event.
   * @default "drop-oldest"
   */
  overflow?: Overflow;
  /**
   * Milliseconds a queued message stays valid; older ones are dropped (reason "ttl") instead of
   * sent. `Infinity` keeps them until they are sent or the client closes.
   * @default 60000
   * @example { ttl: 10_000 }
   */
  ttl?: number;
}

/** Options of the built-in Node/Deno client; passed as the 3rd constructor argument of the transport. */
export interface TransportOptions {
  headers?: Record<string, string>;
  origin?: string;
  tls?: object;
  proxy?: string | false;
  maxPayload?: number;
  perMessageDeflate?: boolean | object;
  handshakeTimeout?: number;
  [option: string]: unknown;
}

/**
 * Window-like event source for `online`, `offline`, `visibilitychange`, `pagehide` and `pageshow`;
 * `navigator.onLine` is read from it at construction, `document.visibilityState` when a
 * `visibilitychange` arrives.
 */
export type EnvironmentTarget = EventTarget & { document?: { visibilityState?: string }; navigator?: { onLine?: boolean } };

export interface ResilientOptions<In = unknown, Out = unknown> {
  /**
   * Subprotocols offered, in preference order; a function is evaluated before every attempt.
   * @default none offered
   * @example { protocols: ["fx.v2.json", "fx.v1.json"] }
   */
  protocols?: ProtocolsProvider;
  /**
   * Encodes `send()` and decodes received messages. A message that fails to decode raises
   * `decodeerror`; the connection stays up. With a codec the client uses binaryType "arraybuffer".
   * @default none: send() takes and `message` events carry the raw W3C data
   * @example { codec: json<ServerMsg, ClientMsg>() }
   */
  codec?: Codec<In, Out>;
  /**
   * Codec per subprotocol, chosen after the handshake by the protocol the server selected.
   * Messages sent before the first handshake are encoded with `codec`, or without it the first
   * codec of the map; that codec is also the fallback when the server selects no subprotocol or
   * one not in the map (so typed messages never go out or come in raw). Messages queued under
   * another codec are re-encoded at the flush.
   * @default none
   * @example { protocols: ["v2.json", "v2.bin"], codecs: { "v2.json": json(), "v2.bin": myCodec } }
   */
  codecs?: Record<string, Codec<In, Out>>;
  /**
   * A server that selects no subprotocol, or one not offered, fails the connection: an `error`
   * event with a ResilientError `ERR_PROTOCOL_NOT_SELECTED`, then a final close (not retried).
   * @default false
   * @example { protocols: ["v10.stomp", "v11.stomp"], requireProtocol: true }
   */
  requireProtocol?: boolean;
  /**
   * Reconnect policy, or `false` to never reconnect (a plain WebSocket with the queue and events).
   * @default { minDelay: 500, maxDelay: 30000, factor: 2, jitter: "full", maxRetries: Infinity, resetAfter: 5000 }
   * @example { reconnect: { minDelay: 1000, maxRetries: 20 } }
   */
  reconnect?: ReconnectOptions | false;
  /**
   * An attempt that has not opened in this many ms (URL/protocols providers, TCP, TLS, upgrade) is
   * abandoned and retried.
   * @default 10000
   * @example { connectTimeout: 5_000 }
   */
  connectTimeout?: number;
  /**
   * Dead-connection detection, or `false` to disable it.
   * @default { interval: 25000, timeout: 10000 } (active only when the transport can ping or a heartbeat is set)
   * @example { keepalive: { interval: 15_000, timeout: 5_000 } }
   */
  keepalive?: KeepaliveOptions | false;
  /**
   * The queue that keeps messages sent while not open.
   * @default { maxMessages: 1000, maxBytes: 1048576, overflow: "drop-oldest", ttl: 60000 }
   * @example { queue: { maxMessages: 100, overflow: "error" } }
   */
  queue?: QueueOptions;
  /**
   * W3C-compatible WebSocket class to use (ws, undici, mock-socket, sockjs-client…).
   * @default ResilientWebSocket.defaultWebSocket ?? globalThis.WebSocket
   * @example import WS from "ws"; new ResilientWebSocket(url, { WebSocket: WS })
   */
  WebSocket?: WebSocketClass;
  /**
   * Options for the transport (the built-in client's headers, tls, proxy…), passed as its 3rd
   * constructor argument. Only given when set.
   * @default none (no 3rd argument)
   * @example { transport: { headers: { Authorization: `Bearer ${token}` }, proxy: false } }
   */
  transport?: TransportOptions;
  /**
   * Aborting is `close(1000)`: final, no more reconnects. An already aborted signal never connects.
   * @default none
   * @example { signal: AbortSignal.timeout(60_000) }
   */
  signal?: AbortSignal;
  /**
   * Time source, for tests.
   * @default setTimeout, clearTimeout and Date.now of globalThis
   */
  clock?: Clock;
  /**
   * Random source in [0, 1) for the backoff jitter, for tests.
   * @default Math.random
   */
  random?: () => number;
  /**
   * Where `online`/`offline`/`visibilitychange`/`pagehide`/`pageshow` are listened for; `null`
   * disables it.
   * @default globalThis (the window in browsers)
   */
  window?: EnvironmentTarget | null;
}

/**
 * Options normalized once into a filled object. Defaults that mean "no limit" or the first policy
 * (jitter "full", maxRetries Infinity, overflow "drop-oldest") are left absent: the parts
 * read an absent value as that default, which keeps them out of the browser bundle.
 */
export interface Normalized<In, Out>
  extends Omit<ResilientOptions<In, Out>, "keepalive" | "queue" | "clock" | "random" | "connectTimeout"> {
  retry: (Required<Pick<ReconnectOptions, "minDelay" | "maxDelay" | "factor" | "resetAfter">> & ReconnectOptions) | undefined;
  connectTimeout: number;
  keepalive: (KeepaliveOptions & { interval: number; timeout: number }) | undefined;
  queue: Required<Pick<QueueOptions, "maxMessages" | "maxBytes">> & QueueOptions;
  clock: Clock;
  random: () => number;
}

export const normalize = <In, Out>(o: ResilientOptions<In, Out>, clock: Clock): Normalized<In, Out> => ({
  ...o,
  retry: o.reconnect === false
    ? undefined
    : {
        minDelay: 500,
        maxDelay: 30_000,
        factor: 2,
        resetAfter: 5_000,
        ...o.reconnect,
      },
  connectTimeout: o.connectTimeout ?? 10_000,
  keepalive: o.keepalive === false ? undefined : { interval: 25_000, timeout: 10_000, ...o.keepalive },
  queue: { maxMessages: 1_000, maxBytes: 1 << 20, ttl: 60_000, ...o.queue },
  clock: o.clock ?? clock,
  random: o.random ?? Math.random,
});

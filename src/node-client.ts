/**
 * `resilient-ws/node`: the built-in RFC 6455 WebSocket client for Node (>= 20) and Deno 2,
 * W3C-compatible, plus `ping()`, a `pong` event and transport options.
 */
export { WebSocket, type WebSocketEventMap } from "./adapters/node/web-socket.js";
export { CloseEvent, ErrorEvent, PongEvent, type CloseEventInit } from "./adapters/node/events.js";
export type { NodeWebSocketOptions, PerMessageDeflateOptions, TlsOptions } from "./adapters/node/options.js";
export { isProxyStatusError, parseRetryAfter, type HandshakeStatusError, type ProxyStatusError } from "./adapters/node/errors.js";
export { isHandshakeStatusError } from "./protocol/handshake.js";

/** Browser and default entry: the transport is globalThis.WebSocket unless the WebSocket option says otherwise. */
export { ResilientWebSocket, type RawData, type SendResult, type Stats } from "./client/client.js";
// Types listed one by one: `export type *` made the bundled .d.ts declare the modules' values
// (`event`, `normalize`) as exports that the JavaScript does not have.
export type {
  EventWith,
  OpenEvent,
  ResilientMessageEvent,
  ResilientCloseEvent,
  ResilientErrorEvent,
  ReconnectingEvent,
  StateChangeEvent,
  DropEvent,
  DecodeErrorEvent,
  ResilientEventMap,
} from "./client/events.js";
export type {
  WebSocketClass,
  Provider,
  UrlProvider,
  ProtocolsProvider,
  ReconnectOptions,
  KeepaliveOptions,
  QueueOptions,
  TransportOptions,
  EnvironmentTarget,
  ResilientOptions,
} from "./client/options.js";
export type { State } from "./client/state.js";
export type { Codec, FrameKind } from "./client/codec.js";
export type { Clock } from "./reliability/clock.js";
export type { DropReason, Overflow } from "./reliability/outbox.js";
export type { CloseEventLike, SendData, TransportConstructor, TransportSocket } from "./adapters/transport.js";
export { ResilientError, createError, isResilientError, type ErrorCode } from "./errors.js";
export * from "./client/codecs.js";
export * from "./client/schema.js";
export { route, type RouteOptions, type TagOf, type Tagged } from "./client/route.js";
export { messages, type MessageStream, type MessagesOptions, type MessagesOverflow } from "./client/messages.js";
export { correlate, type RequestClock, type RequestId, type RequestOptions, type Requester, type RequestsOptions } from "./client/request.js";

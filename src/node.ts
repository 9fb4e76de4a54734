/**
 * Node and Bun entry (`resilient-ws` with the `node` / `bun` condition): the same API as the
 * browser entry, with the built-in RFC 6455 client as the default transport, so keepalive uses
 * real protocol pings and `transport` options (headers, tls, proxy, …) apply.
 */

import { BuiltinResilientWebSocket } from "./builtin-entry.js";
import type { RawData } from "./client/client.js";
import type { SendData } from "./adapters/transport.js";

export * from "./index.js";
export { isHandshakeStatusError, type BuiltinResilientOptions, type HandshakeStatusError } from "./builtin-entry.js";

/** ResilientWebSocket with the built-in client as its default transport (a class of this entry's own). */
export class ResilientWebSocket<In = RawData, Out = SendData> extends BuiltinResilientWebSocket<In, Out> {}

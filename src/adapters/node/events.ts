/**
 * Event classes of the built-in client. Node 20 has no global CloseEvent or ErrorEvent, so we
 * define our own with the W3C fields; MessageEvent is global in Node 20 and Deno and is used as is.
 */
import type { ResilientError } from "../../errors.js";
import type { EventInitFields } from "../../dom-types.js";

export interface CloseEventInit extends EventInitFields {
  code?: number;
  reason?: string;
  wasClean?: boolean;
}

export class CloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;

  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? "";
    this.wasClean = init.wasClean ?? false;
  }
}

/** `error` event: `error` is the ResilientError (ERR_HANDSHAKE_STATUS, ERR_PROTOCOL, …). */
export class ErrorEvent extends Event {
  readonly error: ResilientError;
  readonly message: string;

  constructor(type: string, error: ResilientError) {
    super(type);
    this.error = error;
    this.message = error.message;
  }
}

/** `pong` event (RFC 6455 §5.5.3): `data` is the application data the peer echoed. */
export class PongEvent extends Event {
  readonly data: Uint8Array;

  constructor(type: string, data: Uint8Array) {
    super(type);
    this.data = data;
  }
}

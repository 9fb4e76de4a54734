/**
 * RFC 6455 constants shared by the codec and the Node/Deno adapters.
 */

/** RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing into Sec-WebSocket-Accept. */
export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** The name the agreed API uses for WS_GUID. */
export const GUID = WS_GUID;

/** Largest message accepted by default (sum of all fragments), in bytes. */
export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

/**
 * Most fragments one message may have by default. Autobahn 9.3.1 sends a 4 MiB message in 64-byte
 * fragments (65,536 frames); twice that keeps legitimate senders working while bounding the
 * per-fragment bookkeeping a hostile server can make us hold.
 */
export const DEFAULT_MAX_FRAGMENTS = 131_072;

/** RFC 6455 §5.5: control frame payloads are at most 125 bytes. */
export const MAX_CONTROL_PAYLOAD = 125;

/** RFC 6455 §5.5.1: a close reason fits in a control frame after the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** RFC 6455 §7.4.1 close codes. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved: never sent on the wire. */
  NoStatus: 1005,
  /** Reserved: never sent on the wire. */
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  /** Reserved: never sent on the wire. */
  TlsHandshake: 1015,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

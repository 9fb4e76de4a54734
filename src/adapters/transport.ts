/**
 * The one contract every transport satisfies (types only). It is the W3C WebSocket surface the
 * client uses: on* handler properties (which every W3C-compatible class supports: browsers, ws,
 * undici, mock-socket, sockjs-client) plus an optional protocol-level `ping()`.
 */
export type BinaryTypeName = "blob" | "arraybuffer" | "nodebuffer" | "fragments";

export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;

/** Minimal close event shape: the W3C CloseEvent, ws's CloseEvent and ours all have these. */
export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export interface MessageEventLike {
  readonly data: unknown;
}

export interface TransportSocket {
  readonly url: string;
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
  binaryType: string;
  onopen: ((event: Event) => unknown) | null;
  onmessage: ((event: MessageEventLike) => unknown) | null;
  onclose: ((event: CloseEventLike) => unknown) | null;
  onerror: ((event: Event) => unknown) | null;
  send(data: SendData): void;
  close(code?: number, reason?: string): void;
  /**
   * Bytes received so far, counted as they arrive rather than per complete message (the built-in
   * client): keepalive takes them as a sign of life while a large message is still arriving.
   */
  readonly bytesReceived?: number;
  /** Protocol ping (built-in client, `ws`). Absent in browsers, undici and Deno's global. */
  ping?(data?: string | ArrayBufferView | ArrayBuffer): void;
  /** `ws` reports pongs through its EventEmitter `on("pong")`. */
  on?(type: "pong", listener: () => void): unknown;
  off?(type: "pong", listener: () => void): unknown;
  /** The built-in client reports pongs as a `pong` event. */
  addEventListener?(type: "pong", listener: () => void): void;
  removeEventListener?(type: "pong", listener: () => void): void;
}

/**
 * A W3C-compatible WebSocket class. The third argument is given only when the user set
 * `transport` options (the built-in client and `ws` both take an options object there).
 */
export interface TransportConstructor {
  new (url: string, protocols?: string | string[], options?: never): TransportSocket;
  readonly CONNECTING?: number;
  readonly OPEN?: number;
  readonly CLOSING?: number;
  readonly CLOSED?: number;
}

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

import type { DropReason } from "../reliability/outbox.js";
import type { State } from "./state.js";

/**
 * Events are plain `Event` objects with their fields assigned as properties (no class per event,
 * which keeps the browser bundle small; `close` events exist as a class only in some runtimes).
 */
export type EventWith<T> = Event & Readonly<T>;

export type OpenEvent = Event;
/**
 * The runtime's MessageEvent where its types declare one (DOM lib, @types/node): `ports` and
 * `source` are typed like it, so its MessageEvent and ours are assignable both ways (a client fits
 * where a DOM WebSocket is expected, whose onmessage takes the DOM's MessageEvent).
 */
type GlobalMessageEvent = typeof globalThis extends { MessageEvent: { prototype: infer E } } ? E : unknown;
/**
 * `data` is the decoded message with a codec, else the raw W3C data. At run time this is the
 * runtime's MessageEvent. The type spells out MessageEvent's members instead of naming the DOM
 * lib's MessageEvent<In> (which @types/node does not declare as generic), so it needs no DOM lib
 * and still fits where one is expected, e.g. a listener annotated `(e: MessageEvent) => …`.
 */
export interface ResilientMessageEvent<In> extends Event {
  readonly data: In;
  /** Empty for WebSocket messages in every runtime. */
  readonly lastEventId: string;
  readonly origin: string;
  /** Always empty for WebSocket messages. */
  readonly ports: GlobalMessageEvent extends { ports: infer P } ? P : readonly never[];
  /** Always null for WebSocket messages. */
  readonly source: GlobalMessageEvent extends { source: infer S } ? S : null;
  /** The DOM's legacy initializer; browsers have it, Node's and Deno's MessageEvent do not. */
  initMessageEvent(type: string, ...legacy: never[]): void;
}
export type ResilientCloseEvent = EventWith<{ code: number; reason: string; wasClean: boolean }>;
/** `error` is set when the client itself failed the attempt (a ResilientError) or the transport gave one. */
export type ResilientErrorEvent = EventWith<{ error?: unknown }>;
export type ReconnectingEvent = EventWith<{
  /** 1 for the first retry after a connection ended. */
  attempt: number;
  /** Milliseconds until the attempt. */
  delay: number;
  /** Close code of the connection (or attempt) that ended; 1006 when none was received. */
  code: number;
  /** Close reason, or what ended it ("connect timeout", "keepalive timeout", "reconnect()", …). */
  reason: string;
}>;
export type StateChangeEvent = EventWith<{ from: State; to: State }>;
/**
 * Why: "overflow" or "ttl" (the queue discarded it), "closed" (queued at, or sent after, the final
 * close; `error` is ERR_CLOSED), "encode" (`error` is the codec's exception), "unsent" (see DropReason).
 */
export type DropEvent<Out> = EventWith<{ message: Out; reason: DropReason; error?: unknown }>;
export type DecodeErrorEvent = EventWith<{ data: unknown; error: unknown }>;

export interface ResilientEventMap<In = unknown, Out = unknown> {
  open: OpenEvent;
  message: ResilientMessageEvent<In>;
  close: ResilientCloseEvent;
  error: ResilientErrorEvent;
  reconnecting: ReconnectingEvent;
  statechange: StateChangeEvent;
  drop: DropEvent<Out>;
  decodeerror: DecodeErrorEvent;
}

/**
 * Connection state: one union, one transition table. Only ResilientWebSocket's setState() moves
 * between them (stompjs `ActivationState`), instead of a set of boolean flags.
 *
 * - `connecting`: an attempt is in progress (URL/protocol providers, then the handshake).
 * - `open`: connected.
 * - `reconnecting`: between attempts (backoff delay, or paused while the browser is offline).
 * - `closing`: the application called close(); waiting for the transport's close.
 * - `closed`: final. Nothing leaves it.
 */
export type State = "connecting" | "open" | "reconnecting" | "closing" | "closed";

export const transitions: Readonly<Record<State, readonly State[]>> = {
  connecting: ["open", "reconnecting", "closing", "closed"],
  open: ["reconnecting", "closing", "closed"],
  reconnecting: ["connecting", "closed"],
  closing: ["closed"],
  closed: [],
};

/** The W3C readyState of each state: CONNECTING also while waiting to reconnect. */
export const readyStates: Readonly<Record<State, 0 | 1 | 2 | 3>> = {
  connecting: 0,
  reconnecting: 0,
  open: 1,
  closing: 2,
  closed: 3,
};

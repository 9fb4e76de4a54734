/**
 * Connection state: one union, one transition table. Only ResilientWebSocket's #set() moves
 * between them (stompjs `ActivationState`), instead of a set of boolean flags.
 *
 * - `connecting`: an attempt is in progress (URL/protocol providers, then the handshake).
 * - `open`: connected.
 * - `reconnecting`: between attempts (backoff delay, or paused while the browser is offline).
 * - `closing`: the application called close(); waiting for the transport's close.
 * - `closed`: final. Nothing leaves it.
 *
 * Internally a state is its index in `stateNames` (`S`), which keeps the browser bundle small.
 */
export type State = "connecting" | "open" | "reconnecting" | "closing" | "closed";

export const enum S {
  Connecting,
  Open,
  Reconnecting,
  Closing,
  Closed,
}

export const stateNames: readonly State[] = ["connecting", "open", "reconnecting", "closing", "closed"];

/** The transition table: for each state, the bit set of states it may move to (bit i = state i). */
export const transitions: readonly number[] = [
  /* connecting   → open, reconnecting, closing, closed */ 0b11110,
  /* open         → reconnecting, closing, closed */ 0b11100,
  /* reconnecting → connecting, closed */ 0b10001,
  /* closing      → closed */ 0b10000,
  /* closed       → nothing */ 0,
];

export const canMove = (from: S, to: S): boolean => ((transitions[from]! >> to) & 1) == 1;

/** The W3C readyState of each state: CONNECTING also while waiting to reconnect. */
export const readyStates: readonly number[] = [0, 1, 0, 2, 3];

/**
 * The DOM event types our public signatures name, declared here with the DOM lib's shapes.
 * @types/node declares Event and EventTarget but not these, so a Node project compiled without
 * the "dom" lib (and with skipLibCheck off) could not read our .d.ts files if they named the DOM's.
 * Being structural, they accept and match the DOM lib's types wherever that lib is present.
 */

/** The DOM's AddEventListenerOptions. */
export interface ListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}

/** The DOM's EventListenerOptions (for removeEventListener). */
export interface RemoveListenerOptions {
  capture?: boolean;
}

/** The DOM's EventListenerOrEventListenerObject. */
export type AnyEventListener = ((event: Event) => void) | { handleEvent(event: Event): void };

/** The DOM's EventInit. */
export interface EventInitFields {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

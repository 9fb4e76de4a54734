// Event-waiting helpers shared by the browser tests (bundled by @web/dev-server-esbuild) and the
// Deno tests. Runtime-neutral on purpose: only EventTarget-style listeners, setTimeout and Error,
// so the same file runs in Chromium and in Deno without a DOM or Node import.

/** What the helpers need of a target: any EventTarget, or a client typed with its own event map. */
export interface EventSource {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
}

/**
 * Resolves with the first `type` event for which `accept` holds; rejects after `timeoutMs` with a
 * message naming what was awaited (a bound, not a sleep: it resolves as soon as the event fires).
 * The listener is removed either way, so a timed-out wait leaves nothing behind on the target.
 */
export function nextEvent<E extends Event = Event>(
  target: EventSource,
  type: string,
  timeoutMs = 5_000,
  accept: (event: E) => boolean = () => true,
): Promise<E> {
  return new Promise<E>((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(type, listener);
      reject(new Error(`no "${type}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (event: Event) => {
      if (!accept(event as E)) return;
      clearTimeout(timer);
      target.removeEventListener(type, listener);
      resolve(event as E);
    };
    target.addEventListener(type, listener);
  });
}

/** Collects `count` events of `type` (in order) or rejects after `timeoutMs`; the listener is removed either way. */
export function collectEvents<E extends Event = Event>(
  target: EventSource,
  type: string,
  count: number,
  timeoutMs = 5_000,
): Promise<E[]> {
  const events: E[] = [];
  return new Promise<E[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(type, listener);
      reject(new Error(`only ${events.length} of ${count} "${type}" events within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (event: Event) => {
      events.push(event as E);
      if (events.length < count) return;
      clearTimeout(timer);
      target.removeEventListener(type, listener);
      resolve(events);
    };
    target.addEventListener(type, listener);
  });
}

import type { ResilientWebSocket } from "./client.js";

/**
 * Typed routing of a discriminated union by its tag field: `route(ws, "quote", q => …)` receives only
 * the messages whose `type` is "quote", typed as that member of the union. Routing is its own
 * namespace over `message` events, so a tag spelled like an event ("open", "close") never reaches
 * event listeners and an event never reaches a route.
 */

/** Tag values a union `In` carries in field `F` (string, number or boolean literals). */
export type TagOf<In, F extends PropertyKey> = In extends { readonly [K in F]: infer V }
  ? V extends string | number | boolean
    ? V
    : never
  : never;

/** The members of `In` whose field `F` is `T`. */
export type Tagged<In, F extends PropertyKey, T> = In extends { readonly [K in F]: infer V }
  ? T extends V
    ? In
    : never
  : never;

export interface RouteOptions<F extends PropertyKey> {
  /**
   * The field holding the tag.
   * @default "type"
   * @example route(ws, "quote", onQuote, { field: "kind" })
   */
  field?: F;
}

interface Route {
  /** When it was added, for the rare client that routes on more than one field. */
  readonly seq: number;
  readonly handler: (message: never) => unknown;
  /** Removed, possibly while a message is being dispatched: not called any more. */
  off?: boolean;
}

/**
 * The routes of one client behind one `message` listener: a route per message type is the point,
 * and one listener each made Node warn of a leak at the 11th (MaxListenersExceededWarning) and
 * cost a dispatch per route for every message. Routes run in the order they were added, where
 * the listener of the client's first live route sits among its message listeners.
 */
interface Router {
  /** Tag -> routes, per field (almost always just "type"). */
  readonly byField: Map<PropertyKey, Map<unknown, Route[]>>;
  count: number;
  readonly off: () => void;
}

const routers = new WeakMap<object, Router>();

/** Like an event listener's exception: reported, and the other routes still run. */
function report(error: unknown): void {
  if (typeof reportError == "function") reportError(error);
  else
    queueMicrotask(() => {
      throw error;
    });
}

function dispatch(router: Router, data: unknown): void {
  if (typeof data != "object" || data === null) return;
  let due: Route[] | undefined;
  for (const [field, byTag] of router.byField) {
    const routes = byTag.get((data as Record<PropertyKey, unknown>)[field]);
    // Arrays are replaced, never changed (see route()), so routes added by a handler wait for
    // the next message, as with EventTarget. Routes of several fields matched: back to the order
    // they were added in (each array is in that order).
    if (routes) due = due ? [...due, ...routes].sort((a, b) => a.seq - b.seq) : routes;
  }
  if (!due) return;
  for (const r of due) {
    if (r.off) continue;
    try {
      r.handler(data as never);
    } catch (error) {
      report(error);
    }
  }
}

let added = 0;

/**
 * Calls `handler` with the messages of `ws` whose `field` (default "type") equals `tag`, typed as
 * that member of the union; returns the unsubscribe function. Separate from events:
 * `route(ws, "open", …)` gets messages tagged "open", never the open event. A handler that throws
 * is reported like a throwing event listener, and the other routes still run.
 * @example const off = route(ws, "quote", (q) => render(q.bid));
 */
// `& (string | number | boolean)` restates what TagOf yields so TypeScript keeps `tag` a literal
// while `In` is still being inferred from `ws` (else it widens to string and nothing narrows).
export function route<In, Out, T extends TagOf<In, F> & (string | number | boolean), F extends PropertyKey = "type">(
  ws: ResilientWebSocket<In, Out>,
  tag: T,
  handler: (message: Tagged<In, F, T>) => unknown,
  options?: RouteOptions<F>,
): () => void {
  const field: PropertyKey = options?.field ?? "type";
  let router = routers.get(ws);
  if (!router) {
    const byField = new Map<PropertyKey, Map<unknown, Route[]>>();
    const created: Router = { byField, count: 0, off: ws.on("message", (e) => dispatch(created, e.data)) };
    routers.set(ws, (router = created));
  }
  const r: Route = { seq: ++added, handler };
  const byTag = router.byField.get(field) ?? router.byField.set(field, new Map()).get(field)!;
  byTag.set(tag, [...(byTag.get(tag) ?? []), r]);
  router.count++;
  const live = router;
  return () => {
    if (r.off) return;
    r.off = true;
    // New arrays, never changed in place: a dispatch in progress keeps its own.
    const rest = byTag.get(tag)!.filter((x) => x !== r);
    rest.length ? byTag.set(tag, rest) : byTag.delete(tag);
    if (!byTag.size) live.byField.delete(field);
    if (--live.count == 0) {
      live.off();
      routers.delete(ws);
    }
  };
}

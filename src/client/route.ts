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

/**
 * A message listener that calls `handler` with the messages whose `field` equals `tag`. `route()`
 * registers it with `on("message", …)`, so removal, ordering and error isolation are those of
 * ordinary listeners.
 */
export function routeListener<In, T, F extends PropertyKey>(
  field: F,
  tag: T,
  handler: (message: Tagged<In, F, T>) => unknown,
): (event: { readonly data: In }) => void {
  return (event) => {
    const data: unknown = event.data;
    if (typeof data === "object" && data !== null && (data as Record<PropertyKey, unknown>)[field] === tag) {
      handler(data as Tagged<In, F, T>);
    }
  };
}

/**
 * Calls `handler` with the messages of `ws` whose `field` (default "type") equals `tag`, typed as
 * that member of the union; returns the unsubscribe function. Separate from events:
 * `route(ws, "open", …)` gets messages tagged "open", never the open event.
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
  return ws.on("message", routeListener<In, T, F>(options?.field ?? ("type" as F), tag, handler));
}

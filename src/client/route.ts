/**
 * Typed routing of a discriminated union by its tag field: `ws.route("quote", q => …)` receives only
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
   * @example ws.route("quote", onQuote, { field: "kind" })
   */
  field?: F;
}

/**
 * A message listener that calls `handler` with the messages whose `field` equals `tag`. The client's
 * `route()` registers it with `on("message", …)`, so removal, ordering and error isolation are those
 * of ordinary listeners.
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

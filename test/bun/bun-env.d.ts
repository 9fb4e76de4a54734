// The little of Bun's own API that the Bun tests use, declared here because bun-types is not a
// dependency (the tests otherwise use node:test and node:assert, which Bun implements).
declare module "bun:test" {
  export const mock: {
    /** Replaces what `import specifier` gives, for modules imported after the call. */
    module(specifier: string, factory: () => Record<string, unknown>): void;
  };
}

declare const Bun: {
  readonly version: string;
  /** Runs the garbage collector; `true` waits for a full collection. */
  gc(force: boolean): void;
};

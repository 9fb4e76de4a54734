// Small assertion and event helpers for the browser tests (no assertion library is installed, and
// these few keep failure messages specific).
import { executeServerCommand } from "@web/test-runner-commands";

// The event waits live in test/shared/ (the Deno tests use them too); re-exported so the tests
// keep importing everything from here.
export { collectEvents, nextEvent } from "../shared/events.js";

/** A binary message above 64 KiB is logged as its digest (`at`: the server's Date.now() on arrival). */
export type Received = { text: string } | { binary: number[] } | { digest: { length: number; sha1: string; at: number } };

/** Clients a test opened; each test file's afterEach takes and closes them (one page per file). */
const tracked: Array<{ close(): void }> = [];

/** Remember `ws` so that afterEach closes it. */
export function track<T extends { close(): void }>(ws: T): T {
  tracked.push(ws);
  return ws;
}

/** The clients tracked since the last call, for afterEach to close. */
export function takeTracked(): Array<{ close(): void }> {
  return tracked.splice(0);
}

export const server = {
  url: (path: string) => executeServerCommand<string, undefined>("ws:url").then((base) => `${base}${path}`),
  drop: () => executeServerCommand<number, undefined>("ws:drop"),
  mute: () => executeServerCommand<number, undefined>("ws:mute"),
  stop: () => executeServerCommand<boolean, undefined>("ws:stop"),
  start: () => executeServerCommand<boolean, undefined>("ws:start"),
  received: (path: string) => executeServerCommand<Received[], { path: string }>("ws:received", { path }),
  connections: (path: string) => executeServerCommand<number, { path: string }>("ws:connections", { path }),
  send: (path: string, text: string) => executeServerCommand<number, { path: string; text: string }>("ws:send", { path, text }),
  /** A URL for `path` through a relay that reads the browser's bytes at about `bytesPerSecond`. */
  throttledUrl: (path: string, bytesPerSecond: number) =>
    executeServerCommand<string, { path: string; bytesPerSecond: number }>("ws:throttled-url", { path, bytesPerSecond }),
  /** The relay of `path` stops reading and forwarding, sockets left open; → connections blackholed. */
  blackhole: (path: string) => executeServerCommand<number, { path: string }>("ws:blackhole", { path }),
  /** Bytes the server's sockets on `path` have read so far (TCP, frames and handshake included). */
  bytesRead: (path: string) => executeServerCommand<number, { path: string }>("ws:bytes-read", { path }),
  echo: (path: string, echo: boolean) => executeServerCommand<boolean, { path: string; echo: boolean }>("ws:echo", { path, echo }),
  setOnline: (online: boolean) => executeServerCommand<boolean, { online: boolean }>("net:online", { online }),
  backForward: (payload: { url: string; away: string; stayMs: number; path: string; push: string }) =>
    executeServerCommand<{ restored: boolean; events: string[]; closes: Array<[number, string]> }, typeof payload>("page:back-forward", payload),
};

let counter = 0;
/** A URL path of its own for each test, so server-side logs never mix tests. */
export function uniquePath(name: string): string {
  counter += 1;
  return `/${name}-${counter}-${Date.now()}`;
}

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function ok(value: unknown, message: string): asserts value {
  if (!value) throw new AssertionError(message);
}

export function equal<T>(actual: T, expected: T, message = "values differ"): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${message}: expected ${String(expected)}, got ${String(actual)}`);
  }
}

export function deepEqual(actual: unknown, expected: unknown, message = "values differ"): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${message}:\n  expected ${e}\n  got      ${a}`);
}

/** Polls the server (a separate process) until `check` passes or `timeoutMs` elapses. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let value = await read();
  while (!check(value)) {
    if (performance.now() > deadline) {
      throw new AssertionError(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

// Smoke test of `npm run demo` as a newcomer runs it (after the build): the server starts, serves
// the page and the <script src> build, streams quotes, acknowledges orders, and its Node client
// (dist/node.js, built-in transport) reconnects after "server down" on its own.
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { requireBuild, ROOT } from "./package-helpers.js";

/** Collects the child's stdout and resolves when a line matches, or rejects after a bound. */
class Output {
  text = "";
  #waiters: Array<{ pattern: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }> = [];
  constructor(child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      this.text += chunk;
      for (const waiter of [...this.#waiters]) this.#check(waiter);
    });
  }
  #check(waiter: { pattern: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }) {
    const match = this.text.slice(waiter.from).match(waiter.pattern);
    if (!match) return;
    this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
    waiter.resolve(match);
  }
  /** Waits for `pattern` in output printed after offset `from` (default: anywhere). */
  waitFor(pattern: RegExp, from = 0, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo never printed ${pattern}; output:\n${this.text}`)), timeoutMs);
      const waiter = {
        pattern,
        from,
        resolve: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.#waiters.push(waiter);
      this.#check(waiter);
    });
  }
}

type Msg = { type: string; [key: string]: unknown };

describe("npm run demo", () => {
  let child: ChildProcessWithoutNullStreams;
  let out: Output;
  let base: string;

  before(async () => {
    requireBuild();
    child = spawn(process.execPath, [join(ROOT, "examples/demo/server.mjs")], { env: { ...process.env, PORT: "0" } });
    out = new Output(child);
    base = (await out.waitFor(/open (http:\/\/127\.0\.0\.1:\d+)\//))[1]!;
  });

  after(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  });

  it("serves the page and the IIFE build", async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="\/resilient-ws\.iife\.min\.js">/);
    const iife = await fetch(`${base}/resilient-ws.iife.min.js`);
    assert.equal(iife.status, 200);
    assert.match(await iife.text(), /ResilientWS/);
  });

  it("streams quotes and acknowledges an order", async () => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/fx`);
    const messages: Msg[] = [];
    const acked = new Promise<Msg>((resolve) =>
      ws.on("message", (data) => {
        const message = JSON.parse(String(data)) as Msg;
        messages.push(message);
        if (message.type === "ack") resolve(message);
      }),
    );
    await once(ws, "open");
    ws.send(JSON.stringify({ type: "order", id: "t-1", pair: "EUR/USD", side: "buy", qty: 1000 }));
    const ack = await acked;
    assert.equal(ack.id, "t-1");
    assert.equal(typeof ack.price, "number");
    assert.ok(messages.some((m) => m.type === "quote"), "quotes arrived before the ack");
    ws.close();
    await once(ws, "close");
  });

  it("its Node client prints state and prices, and reconnects after the server was down", async () => {
    await out.waitFor(/\[node-client\] state connecting → open/);
    await out.waitFor(/\[node-client\] EUR\/USD \d/);
    const ws = new WebSocket(`${base.replace("http", "ws")}/fx`);
    await once(ws, "open");
    const mark = out.text.length;
    ws.send(JSON.stringify({ type: "down", ms: 300 }));
    await once(ws, "close");
    await out.waitFor(/\[node-client\] reconnecting: attempt 1/, mark);
    await out.waitFor(/\[node-client\] state connecting → open/, mark);
  });
});

// The built-in client against servers that are not `ws`: Deno's own WebSocket server
// (Deno.upgradeWebSocket) and Python's websockets (a non-JS implementation, with permessage-deflate).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Buffer } from "node:buffer";
import { WebSocket, type PongEvent } from "../../src/node-client.js";
import { closed, messages, next } from "./node-client-helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const children: ChildProcess[] = [];

after(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill();
        }),
    ),
  );
});

/** Start a fixture server and read `{"port": N}` from its first line of output. */
function startPeer(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code} before listening`)));
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n")[0];
      if (output.includes("\n") && line !== undefined) resolve(`ws://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
    });
  });
}

const peers: Array<[name: string, start: () => Promise<string>, deflate: boolean]> = [
  ["Deno.upgradeWebSocket", () => startPeer(join(ROOT, "node_modules", ".bin", "deno"), ["run", "--allow-net=127.0.0.1", "test/fixtures/deno-ws-server.ts"]), false],
  ["python3-websockets", () => startPeer("/usr/bin/python3", ["test/fixtures/python-ws-server.py"]), true],
];

for (const [name, start, deflate] of peers) {
  const urlReady = start();
  // Keep a failed start from being an unhandled rejection before the first test awaits it.
  urlReady.catch(() => {});

  test(`${name}: subprotocol, text and binary echo (1 MiB), ping/pong`, async () => {
    const ws = new WebSocket(await urlReady, ["chat.v1"], { perMessageDeflate: deflate });
    await next(ws, "open");
    assert.equal(ws.protocol, "chat.v1");
    if (deflate) assert.match(ws.extensions, /^permessage-deflate/);
    ws.binaryType = "arraybuffer";
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    const got = messages(ws, 3);
    ws.send("hello ✓");
    ws.send(big);
    ws.send("x".repeat(70_000));
    const [first, second, third] = await got;
    assert.equal(first, "hello ✓");
    assert.ok(Buffer.from(second as ArrayBuffer).equals(big));
    assert.equal(third, "x".repeat(70_000));
    const pong = next<PongEvent>(ws, "pong");
    ws.ping("beat");
    assert.equal(Buffer.from((await pong).data).toString(), "beat");
    const done = closed(ws);
    ws.close(3001, "client done");
    const event = await done;
    assert.equal(event.code, 3001);
    assert.equal(event.wasClean, true);
  });

  test(`${name}: server-initiated close 4000 with a reason`, async () => {
    const ws = new WebSocket(await urlReady);
    await next(ws, "open");
    const done = closed(ws);
    ws.send("close-me");
    const event = await done;
    assert.deepEqual([event.code, event.reason, event.wasClean], [4000, "asked", true]);
  });
}

// The built-in client under Deno's permissions: without --allow-env it cannot read HTTP_PROXY,
// HTTPS_PROXY or NO_PROXY, and must connect as if none were set instead of failing every attempt.
import assert from "node:assert/strict";

Deno.test("without --allow-env the built-in client connects (proxy variables count as unset)", async () => {
  const script = new URL("./fixtures/connect-without-env.ts", import.meta.url).pathname;
  const run = new Deno.Command(Deno.execPath(), {
    args: ["run", "--sloppy-imports", "--no-prompt", "--allow-net=127.0.0.1", "--allow-read", script],
    stdout: "piped",
    stderr: "piped",
    env: { HTTP_PROXY: "http://127.0.0.1:9/" },
  });
  const { code, stdout, stderr } = await run.output();
  const out = new TextDecoder().decode(stdout).trim();
  assert.equal(out, "echo hello", `child exited ${code}: ${out}\n${new TextDecoder().decode(stderr)}`);
  assert.equal(code, 0);
});

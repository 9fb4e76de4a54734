// Child-process plumbing shared by run.mjs and profile.mjs: fork with an IPC hello, and
// request/response over IPC matched by id.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
let nextId = 1;

export function request(child, msg, type) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (m?.type === type && m.id === id) {
        child.off("message", onMsg);
        child.off("exit", onExit);
        resolve(m);
      }
    };
    const onExit = (code) => reject(new Error(`child exited (${code}) during ${msg.type}`));
    child.on("message", onMsg);
    child.once("exit", onExit);
    child.send({ ...msg, id });
  });
}

/** Forks bench/<script>; `ready` resolves with its first IPC message ({ type: "ready", ... }). */
export function spawn(script, argv = [], execArgv = []) {
  const child = fork(`${here}${script}`, argv, { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ready = new Promise((resolve, reject) => {
    child.once("message", (m) => (m?.type === "ready" ? resolve(m) : reject(new Error(`bad hello from ${script}`))));
    child.once("exit", (code) => reject(new Error(`${script} ${argv.join(" ")} exited with ${code} before ready`)));
  });
  return { child, ready };
}

/** Asks the runner to exit and waits until it has (a --cpu-prof child writes its profile then). */
export function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.send({ type: "exit" });
  });
}

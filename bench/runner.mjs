// Child process that runs workloads for ONE client library (argv[2]) on request from run.mjs, so
// libraries never share a heap, a JIT or a GC while they are measured.
import { loadClient } from "./clients.mjs";
import { pingPong, receive, rawReceive, rawSend } from "./workloads.mjs";

const name = process.argv[2];
const client = name === "raw" ? { name: "raw", version: process.version, info: "" } : await loadClient(name);

async function run(w, p) {
  switch (w.type) {
    case "pingpong":
      return pingPong(client, { ...p, ...w });
    case "receive":
      return receive(client, { ...p, ...w });
    case "raw-receive":
      return rawReceive({ ...p, ...w });
    case "raw-send":
      return rawSend({ ...p, ...w });
    default:
      throw new Error(`unknown workload type ${w.type}`);
  }
}

process.on("message", async (msg) => {
  if (msg?.type === "exit") process.exit(0);
  if (msg?.type !== "run") return;
  try {
    const result = await run(msg.workload, msg.params);
    process.send({ type: "result", id: msg.id, result });
  } catch (err) {
    process.send({ type: "result", id: msg.id, error: String(err?.stack ?? err) });
  }
});
process.on("disconnect", () => process.exit(0));
process.send({ type: "ready", version: client.version, info: client.info ?? "" });

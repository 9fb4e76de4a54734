// Test agent for the Autobahn|Testsuite fuzzing server (`wstest -m fuzzingserver`): runs every case
// the server has against the built-in client of resilient-ws/node, echoing each message as the
// suite expects, then asks the server to write its reports.
//
//   npm run build
//   node examples/autobahn/agent.mjs [ws://127.0.0.1:9001] [--agent=resilient-ws]
//
// The server judges each case and writes the results to its reports directory (index.html). This
// script prints one line per case with what the client saw: messages, close code, error events (a
// case that provokes a protocol violation on purpose shows the client's close code as its error).
// It exits with 1 only when the server cannot be asked for its cases (no server there, or
// /getCaseCount or /getCaseInfo gives no answer).
//
// The client offers permessage-deflate (RFC 7692), so groups 12 and 13 negotiate it; the fuzzing
// server accepts the offer only in those groups.
import { WebSocket } from "../../dist/node-client.js";

const args = process.argv.slice(2);
const server = (args.find((arg) => !arg.startsWith("--")) ?? "ws://127.0.0.1:9001").replace(/\/+$/, "");
const agent = args.find((arg) => arg.startsWith("--agent="))?.slice("--agent=".length) || "resilient-ws";

/**
 * One connection to `path`: echoes every message with its type (or hands it to `collect`, for the
 * control endpoints), resolves with what the client saw once the close event fired. A case can last
 * long (16 MiB messages, 1,000 round trips): no timeout here, the fuzzing server drops a case that
 * hangs (its killAfter).
 */
function connect(path, collect) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server}${path}`, undefined, { perMessageDeflate: true });
    ws.binaryType = "arraybuffer";
    const seen = { messages: 0, errors: [], code: 0, reason: "", wasClean: false, extensions: "" };
    ws.onopen = () => {
      seen.extensions = ws.extensions;
    };
    ws.onmessage = (event) => {
      seen.messages++;
      if (collect !== undefined) collect(event.data);
      else ws.send(event.data);
    };
    ws.onerror = (event) => seen.errors.push(event.error?.closeCode ?? event.error?.code ?? "error");
    ws.onclose = (event) => {
      Object.assign(seen, { code: event.code, reason: event.reason, wasClean: event.wasClean });
      resolve(seen);
    };
  });
}

/** The text message a control endpoint (getCaseCount, getCaseInfo) answers with. */
async function ask(path) {
  let answer;
  const seen = await connect(path, (data) => {
    answer = data;
  });
  if (typeof answer !== "string") {
    throw new Error(`${server}${path} gave no answer (close ${seen.code}${seen.errors.length > 0 ? `, ${seen.errors.join(", ")}` : ""})`);
  }
  return answer;
}

function describe(seen) {
  const parts = [`${seen.messages} message${seen.messages === 1 ? "" : "s"}`, `close ${seen.code}${seen.wasClean ? "" : " (not clean)"}`];
  if (seen.reason !== "") parts.push(`reason ${JSON.stringify(seen.reason.slice(0, 40))}`);
  if (seen.errors.length > 0) parts.push(`error ${seen.errors.join(", ")}`);
  if (seen.extensions !== "") parts.push(seen.extensions);
  return parts.join(", ");
}

async function main() {
  const count = Number(await ask("/getCaseCount"));
  if (!Number.isInteger(count) || count < 1) throw new Error(`${server}/getCaseCount: not a case count`);
  console.log(`${count} cases on ${server}, agent "${agent}"`);
  const started = Date.now();
  for (let i = 1; i <= count; i++) {
    const info = JSON.parse(await ask(`/getCaseInfo?case=${i}`));
    const seen = await connect(`/runCase?case=${i}&agent=${encodeURIComponent(agent)}`);
    console.log(`case ${String(i).padStart(String(count).length)}/${count} ${String(info.id).padEnd(8)} ${describe(seen)}`);
  }
  await connect(`/updateReports?agent=${encodeURIComponent(agent)}`);
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s; the server's reports have the verdicts`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});

// The built-in client against an Autobahn-style fuzzing peer (test/fixtures/autobahn-server.py on
// python3-autobahn, the library the Autobahn|Testsuite fuzzing server is built on), case by case
// for groups 1-7, 9, 10, 12 and 13. The client is an echo client, as the Autobahn testee is. Each
// case is judged on both sides: the client's events (messages, error, close code, no exception),
// and the server's report, with the rules of the Autobahn judge (Case.onConnectionLost): the events
// the server saw must be the OK ones, the closing handshake must be started by the right side, be
// clean when required, and carry an expected close code. Stricter than Autobahn on one point: the
// client must send a close code (Autobahn also accepts none).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Buffer } from "node:buffer";
import { WebSocket, type NodeWebSocketOptions } from "../../src/node-client.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** What the server saw of one connection (see the header of autobahn-server.py). */
interface ServerReport {
  id: string;
  case: string;
  events: string[];
  closedByMe: boolean;
  remoteCloseCode: number | null;
  remoteCloseReason: string | null;
  wasClean: boolean;
  droppedByMe: boolean;
  failedByMe: boolean;
  closeFrameReceived: boolean;
  extra: Record<string, unknown>;
}

interface ClientOutcome {
  messages: number;
  /** closeCode of each error event (the code the client's close frame carried). */
  errors: Array<number | undefined>;
  code: number;
  reason: string;
  wasClean: boolean;
  extensions: string;
}

// ---- The peer: one python process for the whole file --------------------------------------------

interface Peer {
  url: Promise<string>;
  /** The server's report of the connection with this id, once that connection is gone. */
  report(id: string): Promise<ServerReport>;
  stop(): Promise<void>;
}

/** Starts autobahn-server.py; `env` adds to the environment (AUTOBAHN_FUZZ_CASES). */
function startPeer(env: Record<string, string> = {}): Peer {
  const child = spawn("/usr/bin/python3", ["test/fixtures/autobahn-server.py"], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } });
  const reports = new Map<string, ServerReport>();
  const waiting = new Map<string, (report: ServerReport) => void>();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`autobahn-server.py exited with ${code} before listening`)));
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => resolve(`ws://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`));
    lines.on("line", (line) => {
      const report = JSON.parse(line) as ServerReport | { port: number };
      if (!("id" in report)) return;
      const resolveReport = waiting.get(report.id);
      if (resolveReport === undefined) reports.set(report.id, report);
      else resolveReport(report);
    });
  });
  // Keep a failed start from being an unhandled rejection before the first test awaits it.
  url.catch(() => {});
  return {
    url,
    report(id) {
      const ready = reports.get(id);
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve) => waiting.set(id, resolve));
    },
    async stop() {
      // Closing its stdin ends the server.
      child.stdin!.end();
      await exited;
    },
  };
}

const peer = startPeer();
const baseUrl = peer.url;
after(() => peer.stop());

let nextId = 0;

/** Run one case: an echo client on `path`, until both the client and the server are done. */
async function run(path: string, query: Record<string, string | number> = {}, options?: NodeWebSocketOptions): Promise<{ client: ClientOutcome; server: ServerReport }> {
  const id = String(++nextId);
  const search = new URLSearchParams({ id, ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) });
  const ws = new WebSocket(`${await baseUrl}/${path}?${search}`, undefined, options);
  ws.binaryType = "arraybuffer";
  const client: ClientOutcome = { messages: 0, errors: [], code: 0, reason: "", wasClean: false, extensions: "" };
  ws.onopen = () => {
    client.extensions = ws.extensions;
  };
  ws.onmessage = (event: MessageEvent) => {
    client.messages++;
    ws.send(event.data as string | ArrayBuffer);
  };
  ws.onerror = (event) => client.errors.push((event.error as { closeCode?: number } | undefined)?.closeCode);
  const closed = new Promise<void>((resolve) => {
    ws.onclose = (event) => {
      Object.assign(client, { code: event.code, reason: event.reason, wasClean: event.wasClean });
      resolve();
    };
  });
  const [server] = await Promise.all([peer.report(id), closed]);
  return { client, server };
}

// ---- Expectations -------------------------------------------------------------------------------

interface Expectation {
  /** Events the server must see, in order (Autobahn's OK outcome). */
  events: string[];
  /** Autobahn "closedByMe": the server starts the closing handshake. */
  closedByServer: boolean;
  /** Close codes the client may send. */
  codes: number[];
  requireClean: boolean;
  /** The client's own view. */
  client: { code: number; wasClean: boolean; error?: number; reason?: string };
  /** A close frame without a code is acceptable (empty close from the server echoed back). */
  codeOptional?: boolean;
}

/** The server closes with 1000 once it saw `events`; the client must close cleanly. */
function echoes(...events: string[]): Expectation {
  return { events, closedByServer: true, codes: [1000], requireClean: true, client: { code: 1000, wasClean: true } };
}

/** The client must fail the connection with `code` after the server saw `events`. */
function fails(code: number, ...events: string[]): Expectation {
  return { events, closedByServer: false, codes: [code], requireClean: false, client: { code: 1006, wasClean: false, error: code } };
}

/** The server closes first with something invalid; the client answers `code` and fails. */
function failsOnServerClose(code: number): Expectation {
  return { ...fails(code), closedByServer: true };
}

/** The server closes with `code`; the client echoes it and closes cleanly. */
function closesWith(code: number, reason = ""): Expectation {
  return { events: [], closedByServer: true, codes: [code], requireClean: true, client: { code, wasClean: true, reason } };
}

const hex = (text: string): string => Buffer.from(text).toString("hex");
const pong = (text: string): string => `pong:${hex(text)}`;

/** Autobahn's verdict (Case.onConnectionLost), plus the client side. */
function judge(name: string, { client, server }: { client: ClientOutcome; server: ServerReport }, expected: Expectation): void {
  const context = `${name}\nserver saw: ${JSON.stringify(server)}\nclient saw: ${JSON.stringify(client)}`;
  judgeServer(server, expected, context);
  // The client side: the events a W3C client would show, never an exception.
  assert.deepEqual(client.errors, expected.client.error === undefined ? [] : [expected.client.error], `client error events — ${context}`);
  assert.equal(client.code, expected.client.code, `client close code — ${context}`);
  assert.equal(client.wasClean, expected.client.wasClean, `client wasClean — ${context}`);
  if (expected.client.reason !== undefined) assert.equal(client.reason, expected.client.reason, `client close reason — ${context}`);
  const dataEvents = expected.events.filter((event) => !event.startsWith("pong:")).length;
  assert.equal(client.messages, dataEvents, `messages delivered to the client — ${context}`);
}

/** The server's half of the verdict: what Autobahn itself judges. */
function judgeServer(server: ServerReport, expected: Expectation, context: string): void {
  assert.deepEqual(server.events, expected.events, `events the server received (Autobahn behaviour) — ${context}`);
  assert.equal(server.closedByMe, expected.closedByServer, `the connection was closed by the wrong endpoint — ${context}`);
  if (expected.requireClean) assert.equal(server.wasClean, true, `UNCLEAN: the spec requires a clean close here — ${context}`);
  if (!(expected.codeOptional === true && server.remoteCloseCode === null)) {
    assert.ok(server.remoteCloseCode !== null && expected.codes.includes(server.remoteCloseCode), `WRONG CODE: the client's close code should be ${expected.codes.join(" or ")} — ${context}`);
  }
  assert.equal(server.closeFrameReceived, true, `the client sent no close frame — ${context}`);
  assert.equal(server.extra["killed"], undefined, `the server had to drop a connection that did not close — ${context}`);
  assert.equal(server.droppedByMe || server.wasClean, true, `the client dropped TCP before the server (RFC 6455 §7.1.1) — ${context}`);
}

/**
 * A case as the agent example runs it (examples/autobahn/agent.mjs, tested at the end of this file):
 * judged by the server's report, plus what the agent prints of its client for it.
 */
interface AgentCase {
  id: string;
  path: string;
  query: Record<string, string | number>;
  client: { messages: number; code: number; wasClean: boolean };
  check(server: ServerReport, context: string): void;
}

/** Every case of this file whose client options are the agent's too. */
const agentCases: AgentCase[] = [];

type Case = [id: string, path: string, query: Record<string, string | number>, expected: Expectation];

function cases(list: Case[]): void {
  for (const [id, path, query, expected] of list) {
    test(`Autobahn ${id}`, async () => {
      judge(id, await run(path, query), expected);
    });
    const messages = expected.events.filter((event) => !event.startsWith("pong:")).length;
    const client = { messages, code: expected.client.code, wasClean: expected.client.wasClean };
    agentCases.push({ id, path, query, client, check: (server, context) => judgeServer(server, expected, context) });
  }
}

// ---- Group 1: framing ---------------------------------------------------------------------------

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];
cases([
  ...LENGTHS.map((length, i): Case => [`1.1.${i + 1} text of ${length} bytes`, "1.1", { length }, echoes(`text:${length}:echo`)]),
  ["1.1.8 text of 65536 bytes written in 997-byte chops", "1.1", { length: 65536, chopsize: 997 }, echoes("text:65536:echo")],
  ...LENGTHS.map((length, i): Case => [`1.2.${i + 1} binary of ${length} bytes`, "1.2", { length }, echoes(`binary:${length}:echo`)]),
  ["1.2.8 binary of 65536 bytes written in 997-byte chops", "1.2", { length: 65536, chopsize: 997 }, echoes("binary:65536:echo")],
]);

// ---- Group 2: ping and pong ---------------------------------------------------------------------

const tenPongs = Array.from({ length: 10 }, (_, i) => pong(`payload-${i}`));
cases([
  ["2.1 ping without payload", "2.ping", {}, echoes("pong:")],
  ["2.2 ping with text payload", "2.ping", { hex: hex("Hello, world!") }, echoes(pong("Hello, world!"))],
  ["2.3 ping with binary payload", "2.ping", { hex: "00fffefdfcfb00ff" }, echoes("pong:00fffefdfcfb00ff")],
  ["2.4 ping with 125-byte payload", "2.ping", { hex: "fe".repeat(125) }, echoes(`pong:${"fe".repeat(125)}`)],
  ["2.5 ping with 126-byte payload -> 1002", "2.5", {}, fails(1002)],
  ["2.6 ping with 125-byte payload in 1-byte chops", "2.ping", { hex: "fe".repeat(125), chopsize: 1 }, echoes(`pong:${"fe".repeat(125)}`)],
  ["2.7 unsolicited pong without payload is ignored", "2.unsolicited", {}, echoes(pong("ping payload"))],
  ["2.8/2.9 unsolicited pong with payload is ignored", "2.unsolicited", { hex: hex("unsolicited pong payload") }, echoes(pong("ping payload"))],
  ["2.10 ten pings in a row", "2.10", {}, echoes(...tenPongs)],
  ["2.11 ten pings in 1-byte chops", "2.10", { chopsize: 1 }, echoes(...tenPongs)],
]);

// ---- Group 3: reserved bits -> 1002 -------------------------------------------------------------

cases([
  ["3.1 text with RSV=1", "3", { rsv: 1 }, fails(1002)],
  ["3.2 text, text with RSV=2, ping", "3", { rsv: 2, before: 1 }, fails(1002, "text:13:echo")],
  ["3.3 same with RSV=3, synced writes", "3", { rsv: 3, before: 1, sync: 1 }, fails(1002, "text:13:echo")],
  ["3.4 same with RSV=4, synced writes", "3", { rsv: 4, before: 1, sync: 1 }, fails(1002, "text:13:echo")],
  ["3.5 binary with RSV=5", "3", { rsv: 5, opcode: 2 }, fails(1002)],
  ["3.6 ping with RSV=6", "3", { rsv: 6, opcode: 9 }, fails(1002)],
  ["3.7 close with RSV=7", "3", { rsv: 7, opcode: 8 }, fails(1002)],
]);

// ---- Group 4: reserved opcodes -> 1002 ----------------------------------------------------------

const opcodeCases = (group: string, opcodes: number[]): Case[] => [
  [`${group}.1 opcode ${opcodes[0]}`, "4", { opcode: opcodes[0]! }, fails(1002)],
  [`${group}.2 opcode ${opcodes[1]} with payload`, "4", { opcode: opcodes[1]!, hex: hex("reserved opcode payload") }, fails(1002)],
  [`${group}.3 text, opcode ${opcodes[2]}, ping`, "4", { opcode: opcodes[2]!, before: 1 }, fails(1002, "text:13:echo")],
  [`${group}.4 text, opcode ${opcodes[3]} with payload, ping`, "4", { opcode: opcodes[3]!, before: 1, hex: hex("reserved opcode payload") }, fails(1002, "text:13:echo")],
  [`${group}.5 text, opcode ${opcodes[4]} with payload, ping, in 1-byte chops`, "4", { opcode: opcodes[4]!, before: 1, hex: hex("reserved opcode payload"), chopsize: 1 }, fails(1002, "text:13:echo")],
];
cases([...opcodeCases("4.1", [3, 4, 5, 6, 7]), ...opcodeCases("4.2", [11, 12, 13, 14, 15])]);

// ---- Group 5: fragmentation ---------------------------------------------------------------------

cases([
  ["5.1 ping in 2 fragments -> 1002", "5.1", { opcode: 9 }, fails(1002)],
  ["5.2 pong in 2 fragments -> 1002", "5.1", { opcode: 10 }, fails(1002)],
  ["5.3 text in 2 fragments", "5.3", {}, echoes("text:18:echo")],
  ["5.5 text in 2 fragments, 1-byte chops", "5.3", { chopsize: 1 }, echoes("text:18:echo")],
  ["5.6 text in 2 fragments with a ping between", "5.6", {}, echoes(pong("ping payload"), "text:18:echo")],
  ["5.7 same in 1-byte chops", "5.6", { chopsize: 1 }, echoes(pong("ping payload"), "text:18:echo")],
  ["5.9 continuation (FIN) without a start -> 1002", "5.frames", { frames: "0T,1T" }, fails(1002)],
  ["5.12 continuation (no FIN) without a start -> 1002", "5.frames", { frames: "0F,1T" }, fails(1002)],
  ["5.15 text in 2 fragments, then continuation with nothing to continue", "5.frames", { frames: "1F,0T,0F,1T", echo: hex("fragment1fragment2") }, fails(1002, "text:18:echo")],
  ["5.16 continuation, text (no FIN), continuation (FIN), twice -> 1002", "5.frames", { frames: "0F,1F,0T,0F,1F,0T" }, fails(1002)],
  ["5.17 same with FIN on the first continuation -> 1002", "5.frames", { frames: "0T,1F,0T,0T,1F,0T" }, fails(1002)],
  ["5.18 text (no FIN), then a new text frame -> 1002", "5.frames", { frames: "1F,1T" }, fails(1002)],
  ["5.19 text in 5 fragments with pings between", "5.19", {}, echoes(pong("pongme 1!"), pong("pongme 2!"), "text:45:echo")],
]);

// ---- Group 6: UTF-8 -----------------------------------------------------------------------------

const HELLO = hex("Hello-µ@ßöäüàá-UTF-8!!");
const KOSME = "cebae1bdb9cf83cebcceb5";
const INVALID_KOSME = "cebae1bdb9cf83cebcceb5eda080656469746564";
cases([
  ["6.1.1 empty text", "6.fragments", {}, echoes("text:0:echo")],
  ["6.1.2 empty text in 3 empty fragments", "6.fragments", { sizes: "0,0" }, echoes("text:0:echo")],
  ["6.1.3 empty, non-empty, empty fragment", "6.fragments", { hex: hex("middle frame payload"), sizes: "0,20" }, echoes("text:20:echo")],
  ["6.2.1 valid UTF-8 in one message", "6.fragments", { hex: HELLO }, echoes(`text:${HELLO.length / 2}:echo`)],
  ["6.2.2 valid UTF-8 split inside a code point", "6.fragments", { hex: HELLO, sizes: "12" }, echoes(`text:${HELLO.length / 2}:echo`)],
  ["6.2.3 valid UTF-8 in 1-byte fragments", "6.fragments", { hex: HELLO, size: 1 }, echoes(`text:${HELLO.length / 2}:echo`)],
  ["6.2.4 κόσμε in 1-byte fragments", "6.fragments", { hex: KOSME, size: 1 }, echoes("text:11:echo")],
  ["6.x text in 300 1-byte fragments", "6.fragments", { hex: hex("ab".repeat(150)), size: 1 }, echoes("text:300:echo")],
  ["6.3.1 invalid UTF-8 -> 1007", "6.invalid", { hex: INVALID_KOSME }, fails(1007)],
  ["6.3.2 invalid UTF-8 in 1-byte fragments -> 1007", "6.invalid", { hex: INVALID_KOSME, size: 1 }, fails(1007)],
]);

// Valid and invalid sequences from Autobahn 6.5-6.23 (boundaries, overlong forms, surrogates,
// beyond U+10FFFF, truncated, lone continuation bytes, bytes 0xFE/0xFF).
const VALID_UTF8 = ["00", "7f", "c280", "dfbf", "e0a080", "ed9fbf", "ee8080", "efbfbd", "efbfbe", "efb790", "efbfbf", "f0908080", "f48fbfbf"];
const INVALID_UTF8 = [
  "80", "bf", "80bf", "c0", "df", "e080", "efbf", "f08080", "c020", "e020", "f888808080", "fc8480808080", "fe", "ff", "fefeffff",
  "c0af", "c1bf", "e080af", "e09fbf", "f08080af", "f08fbfbf", "eda080", "edadbf", "edbfbf", "eda080edb080", "f4908080", "f7bfbfbf",
];
cases([
  ...VALID_UTF8.map((sequence): Case => [`6.x valid ${sequence} between text`, "6.fragments", { hex: `${hex("a")}${sequence}${hex("z")}` }, echoes(`text:${sequence.length / 2 + 2}:echo`)]),
  ...INVALID_UTF8.map((sequence): Case => [`6.x invalid ${sequence} -> 1007`, "6.invalid", { hex: `${hex("a")}${sequence}${hex("z")}` }, fails(1007)]),
  ...INVALID_UTF8.slice(0, 8).map((sequence): Case => [`6.x invalid ${sequence} in 1-byte fragments -> 1007`, "6.invalid", { hex: `${hex("a")}${sequence}`, size: 1 }, fails(1007)]),
]);

// 6.4.x: fail fast. The close must come right after the fragment (or chop) that makes the text
// invalid, before the server sends the rest; Autobahn judges a later close NON-STRICT.
for (const [id, query, events] of [
  ["6.4.1 invalid code point in the 2nd of 3 fragments", { parts: 1 }, [pong("after part 1")]],
  ["6.4.2 invalid on the first byte of the 2nd fragment", { parts: 2 }, [pong("after part 1")]],
  ["6.4.3 invalid code point in the 2nd of 3 chops of one frame", { parts: 1, chopped: 1 }, []],
  ["6.4.4 invalid on the first byte of the 2nd chop of one frame", { parts: 2, chopped: 1 }, []],
] as Array<[string, Record<string, number>, string[]]>) {
  const failsFast = (server: ServerReport, context: string): void => {
    judgeServer(server, fails(1007, ...events), context);
    assert.equal(server.extra["part3Sent"], false, `NON-STRICT: the client closed only after the rest of the message — ${context}`);
  };
  test(`Autobahn ${id}: fails fast with 1007`, async () => {
    const outcome = await run("6.4", query);
    judge(id, outcome, fails(1007, ...events));
    failsFast(outcome.server, JSON.stringify(outcome.server));
  });
  agentCases.push({ id, path: "6.4", query, client: { messages: 0, code: 1006, wasClean: false }, check: failsFast });
}

// ---- Group 7: closing handshake -----------------------------------------------------------------

const INVALID_REASON = "cebae1bdb9cf83cebcceb5eda080656469746564";
cases([
  ["7.1.1 message, then close", "7.1.1", {}, echoes("text:12:echo")],
  ["7.1.2 close twice", "7.after", { then: "close" }, closesWith(1000)],
  ["7.1.3 ping after close is ignored", "7.after", { then: "ping" }, closesWith(1000)],
  ["7.1.4 text after close is ignored", "7.after", { then: "text" }, closesWith(1000)],
  ["7.1.5 fragment, close, last fragment: no message", "7.after", { then: "fragment" }, closesWith(1000)],
  // The echo of the text goes out before the client's close, so the server sees it (Autobahn OK).
  ["7.1.6 256 KiB text, close and ping back to back", "7.1.6", {}, { ...closesWith(1000), events: ["text:262144:echo"] }],
  ["7.3.1 close without payload", "7.close", {}, { ...closesWith(1005), codes: [1000], codeOptional: true }],
  ["7.3.2 close with a 1-byte payload -> 1002", "7.close", { body: "61" }, failsOnServerClose(1002)],
  ["7.3.3 close 1000 without reason", "7.close", { code: 1000 }, closesWith(1000)],
  ["7.3.4 close 1000 with a reason", "7.close", { code: 1000, reason: hex("Hello World!") }, closesWith(1000, "Hello World!")],
  ["7.3.5 close 1000 with a 123-byte reason", "7.close", { code: 1000, reason: hex("*".repeat(123)) }, closesWith(1000, "*".repeat(123))],
  ["7.3.6 close with a 124-byte reason (126-byte control frame) -> 1002", "7.close", { code: 1000, reason: hex("*".repeat(124)) }, failsOnServerClose(1002)],
  ["7.5.1 close reason that is not UTF-8 -> 1007", "7.close", { code: 1000, reason: INVALID_REASON }, failsOnServerClose(1007)],
]);

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
cases([
  ...VALID_CODES.map((code, i): Case => [`7.7.${i + 1} close ${code} is echoed`, "7.close", { code }, closesWith(code)]),
  ...INVALID_CODES.map((code): Case => [`${code >= 5000 ? "7.13.x" : "7.9.x"} close with invalid code ${code} -> 1002`, "7.close", { code }, failsOnServerClose(1002)]),
]);

// ---- Groups 9 and 10: large messages, auto-fragmentation -----------------------------------------

const MiB = 1 << 20;
cases([
  // 9.1.1-9.1.6 and 9.2.1-9.2.6: one message of 64 KiB to 16 MiB.
  ...[64 * 1024, 256 * 1024, MiB, 4 * MiB, 8 * MiB, 16 * MiB].flatMap((length, i): Case[] => [
    [`9.1.${i + 1} text of ${length} bytes`, "9", { length }, echoes(`text:${length}:echo`)],
    [`9.2.${i + 1} binary of ${length} bytes`, "9", { length, binary: 1 }, echoes(`binary:${length}:echo`)],
  ]),
  ["9.3.x text of 16 MiB in 64 KiB fragments", "9", { length: 16 * MiB, fragment: 65536 }, echoes(`text:${16 * MiB}:echo`)],
  // 9.3.1-9.3.9 and 9.4.1-9.4.9: a 4 MiB message in fragments of 64 B to 4 MiB.
  ...[64, 256, 1024, 4096, 16384, 65536, 262144, MiB, 4 * MiB].flatMap((fragment, i): Case[] => [
    [`9.3.${i + 1} text of 4 MiB in ${fragment}-byte fragments`, "9", { length: 4 * MiB, fragment }, echoes(`text:${4 * MiB}:echo`)],
    [`9.4.${i + 1} binary of 4 MiB in ${fragment}-byte fragments`, "9", { length: 4 * MiB, fragment, binary: 1 }, echoes(`binary:${4 * MiB}:echo`)],
  ]),
  // 9.5.1-9.5.6 and 9.6.1-9.6.6: a 1 MiB frame written in chops of 64 B to 2 KiB, so the client
  // reads it in many small pieces. The server writes one chop per turn of its event loop (about
  // 0.85 ms each here, as Autobahn's reactor does), so with 64 and 128-byte chops the frame is
  // 256 KiB instead of 1 MiB: 14 s less per runtime for the same code path.
  ...[64, 128, 256, 512, 1024, 2048].flatMap((chopsize, i): Case[] => {
    const length = chopsize < 256 ? MiB / 4 : MiB;
    const size = length === MiB ? "1 MiB" : "256 KiB";
    return [
      [`9.5.${i + 1} text of ${size} written in ${chopsize}-byte chops`, "9", { length, chopsize }, echoes(`text:${length}:echo`)],
      [`9.6.${i + 1} binary of ${size} written in ${chopsize}-byte chops`, "9", { length, chopsize, binary: 1 }, echoes(`binary:${length}:echo`)],
    ];
  }),
  ["10.1.1 text of 65536 bytes auto-fragmented to 1300", "10.1.1", {}, echoes("text:65536:echo")],
]);

// 9.7.1-9.7.6 and 9.8.1-9.8.6: 1,000 messages of 0 B to 4 KiB, one at a time, each echoed.
const ROUND_TRIPS = 1000;
for (const [i, size] of [0, 16, 64, 256, 1024, 4096].entries()) {
  for (const binary of [false, true]) {
    const id = `9.${binary ? 8 : 7}.${i + 1}`;
    const query = { size, count: ROUND_TRIPS, binary: binary ? 1 : 0 };
    const echoedAll = (server: ServerReport, context: string): void => {
      assert.deepEqual([server.extra["sent"], server.extra["echoed"], server.extra["mismatched"]], [ROUND_TRIPS, ROUND_TRIPS, 0], `every echo byte for byte — ${context}`);
      assert.deepEqual([server.closedByMe, server.remoteCloseCode, server.wasClean], [true, 1000, true], `clean close 1000 — ${context}`);
    };
    test(`Autobahn ${id}: ${ROUND_TRIPS} ${binary ? "binary" : "text"} messages of ${size} bytes, one at a time`, async () => {
      const { client, server } = await run("9.7", query);
      const context = `server saw: ${JSON.stringify(server)}\nclient saw: ${JSON.stringify(client)}`;
      echoedAll(server, context);
      assert.deepEqual(client.errors, [], context);
      assert.equal(client.messages, ROUND_TRIPS, context);
      assert.deepEqual([client.code, client.wasClean], [1000, true], context);
    });
    agentCases.push({ id, path: "9.7", query, client: { messages: ROUND_TRIPS, code: 1000, wasClean: true }, check: echoedAll });
  }
}

// ---- Groups 12 and 13: permessage-deflate -------------------------------------------------------

/** Messages per size and type; 10 sizes (16 B to 128 KiB), text and binary. */
const COUNT = 20;
const SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];

interface DeflateCase {
  id: string;
  /** Server accept: Autobahn's (requestNoContextTakeover, requestMaxWindowBits), or none. */
  accept: [noContextTakeover: boolean, maxWindowBits: number] | "none";
  client?: Exclude<NodeWebSocketOptions["perMessageDeflate"], boolean | undefined>;
  /** The parameters both sides must have agreed on (the server's PerMessageDeflate). */
  agreed?: { server_no_context_takeover: boolean; client_no_context_takeover: boolean; server_max_window_bits: number; client_max_window_bits: number };
  fragment?: number;
}

const agreed = (serverNct: boolean, clientNct: boolean, serverBits: number, clientBits: number): DeflateCase["agreed"] => ({
  server_no_context_takeover: serverNct,
  client_no_context_takeover: clientNct,
  server_max_window_bits: serverBits,
  client_max_window_bits: clientBits,
});

const DEFLATE_CASES: DeflateCase[] = [
  // The server accept settings of Autobahn group 13 (13.1-13.6), plus window bits 9.
  { id: "13.1 accept (False, 0)", accept: [false, 0], agreed: agreed(false, false, 15, 15) },
  { id: "13.2 accept (True, 0)", accept: [true, 0], agreed: agreed(false, true, 15, 15) },
  { id: "13.3 accept (False, 8)", accept: [false, 8], agreed: agreed(false, false, 15, 8) },
  { id: "13.x accept (False, 9)", accept: [false, 9], agreed: agreed(false, false, 15, 9) },
  { id: "13.4 accept (False, 15)", accept: [false, 15], agreed: agreed(false, false, 15, 15) },
  { id: "13.5 accept (True, 8)", accept: [true, 8], agreed: agreed(false, true, 15, 8) },
  { id: "13.x accept (True, 9)", accept: [true, 9], agreed: agreed(false, true, 15, 9) },
  { id: "13.6 accept (True, 15)", accept: [true, 15], agreed: agreed(false, true, 15, 15) },
  // What our client can request of the server, and hints about its own side.
  { id: "13.x client requests server_no_context_takeover", accept: [false, 0], client: { serverNoContextTakeover: true }, agreed: agreed(true, false, 15, 15) },
  { id: "13.x client requests server_max_window_bits=9", accept: [false, 0], client: { serverMaxWindowBits: 9 }, agreed: agreed(false, false, 9, 15) },
  // (server_max_window_bits=8 is left out: autobahn 22.7 rejects it in an offer, and Python's zlib
  // cannot deflate with an 8-bit window.)
  { id: "13.x client requests server_max_window_bits=12, server (True, 9)", accept: [true, 9], client: { serverMaxWindowBits: 12 }, agreed: agreed(false, true, 12, 9) },
  { id: "13.x client offers client_no_context_takeover", accept: [false, 0], client: { clientNoContextTakeover: true }, agreed: agreed(false, false, 15, 15) },
  { id: "13.x client offers client_max_window_bits=10, server (False, 9)", accept: [false, 9], client: { clientMaxWindowBits: 10 }, agreed: agreed(false, false, 15, 9) },
  {
    id: "13.x all four client parameters, server (True, 9)",
    accept: [true, 9],
    client: { serverNoContextTakeover: true, serverMaxWindowBits: 10, clientNoContextTakeover: true, clientMaxWindowBits: 12 },
    agreed: agreed(true, true, 10, 9),
  },
  // Group 12.x.11+: the server auto-fragments its compressed messages.
  { id: "12.x compressed messages auto-fragmented to 256 bytes", accept: [false, 0], fragment: 256, agreed: agreed(false, false, 15, 15) },
  { id: "12.x server accepts no deflate: plain echoes", accept: "none" },
];

/** Echoes of every group-12 size at or above the client's default threshold (1 KiB). */
const ABOVE_THRESHOLD = SIZES.filter((size) => size >= 1024).length;

/** The server's side of a group 12/13 case: every echo byte for byte, what was agreed, a clean close. */
function deflateEchoed(c: DeflateCase, compressed: number) {
  return (server: ServerReport, context: string): void => {
    const total = COUNT * SIZES.length * 2;
    assert.deepEqual(
      [server.extra["sent"], server.extra["echoed"], server.extra["mismatched"]],
      [total, total, 0],
      `every echo byte for byte — ${context}`,
    );
    if (c.agreed === undefined) {
      assert.equal(server.extra["pmce"], null, context);
    } else {
      const pmce = server.extra["pmce"] as Record<string, unknown>;
      assert.deepEqual(
        Object.fromEntries(Object.keys(c.agreed).map((key) => [key, pmce[key]])),
        c.agreed,
        `negotiated parameters — ${context}`,
      );
    }
    // A client limited to an 8-bit window sends plain messages (zlib cannot deflate with 256
    // bytes of window).
    const expected = c.agreed === undefined || c.agreed.client_max_window_bits === 8 ? 0 : compressed;
    assert.equal(server.extra["compressedEchoes"], expected, `compressed echoes — ${context}`);
    // Autobahn 12/13: the server closes with 1000 and requires a clean close.
    assert.deepEqual([server.closedByMe, server.remoteCloseCode, server.wasClean], [true, 1000, true], `clean close 1000 — ${context}`);
  };
}

for (const c of DEFLATE_CASES) {
  const query: Record<string, string | number> = c.accept === "none" ? { accept: "none" } : { nct: c.accept[0] ? 1 : 0, mwb: c.accept[1] };
  if (c.fragment !== undefined) query["fragment"] = c.fragment;
  query["count"] = COUNT;
  test(`Autobahn ${c.id}: ${COUNT} messages of each group-12 size, text and binary, echoed`, async () => {
    const { client, server } = await run("13", query, { perMessageDeflate: { threshold: 0, ...c.client } });
    const context = `server saw: ${JSON.stringify(server)}\nclient saw: ${JSON.stringify(client)}`;
    const total = COUNT * SIZES.length * 2;
    // threshold 0: every echo goes out compressed.
    deflateEchoed(c, total)(server, context);
    if (c.agreed === undefined) assert.equal(client.extensions, "", context);
    else assert.match(client.extensions, /^permessage-deflate/, context);
    assert.deepEqual(client.errors, [], context);
    assert.equal(client.messages, total, context);
    assert.deepEqual([client.code, client.wasClean], [1000, true], context);
  });
  // The agent offers permessage-deflate with the defaults: the server's side of the cases that
  // need nothing else of the client, with only the messages of 1 KiB and more compressed.
  if (c.client === undefined) {
    const client = { messages: COUNT * SIZES.length * 2, code: 1000, wasClean: true };
    agentCases.push({ id: c.id, path: "13", query, client, check: deflateEchoed(c, COUNT * ABOVE_THRESHOLD * 2) });
  }
}

test("Autobahn 12.x default threshold: messages under 1 KiB are echoed uncompressed, the rest compressed", async () => {
  const { client, server } = await run("13", { nct: 0, mwb: 0, count: 2 }, { perMessageDeflate: true });
  const total = 2 * SIZES.length * 2;
  const compressible = 2 * ABOVE_THRESHOLD * 2;
  const context = `server saw: ${JSON.stringify(server)}\nclient saw: ${JSON.stringify(client)}`;
  assert.deepEqual([server.extra["echoed"], server.extra["mismatched"], server.extra["compressedEchoes"]], [total, 0, compressible], context);
  assert.deepEqual([server.remoteCloseCode, server.wasClean, client.code, client.wasClean], [1000, true, 1000, true], context);
});

// ---- The agent example, against the fuzzing server's URL protocol -------------------------------

// examples/autobahn/agent.mjs is a Node script over the built package (dist/, which `npm test`
// builds first), so Node runs this test; Deno and Bun run the cases above through run().
const runtimeVersions = process.versions as Record<string, string | undefined>;
if (runtimeVersions["deno"] === undefined && runtimeVersions["bun"] === undefined) {
  test("examples/autobahn/agent.mjs runs every case above through /getCaseCount, /runCase and /updateReports", async () => {
    const fuzz = startPeer({ AUTOBAHN_FUZZ_CASES: JSON.stringify(agentCases.map((c) => [c.id, c.path, c.query])) });
    try {
      const agent = spawn(process.execPath, ["examples/autobahn/agent.mjs", await fuzz.url, "--agent=test"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      agent.stdout!.on("data", (chunk: Buffer) => (stdout += chunk));
      agent.stderr!.on("data", (chunk: Buffer) => (stderr += chunk));
      const exitCode = await new Promise<number | null>((resolve) => agent.once("exit", resolve));
      assert.equal(exitCode, 0, `agent exit code — stderr: ${stderr}\nstdout: ${stdout}`);
      const lines = stdout.split("\n").filter((line) => line.startsWith("case "));
      assert.equal(lines.length, agentCases.length, stdout);
      for (const [i, c] of agentCases.entries()) {
        const server = await fuzz.report(`test:${i + 1}`);
        const line = lines[i]!;
        const context = `${c.id}\nserver saw: ${JSON.stringify(server)}\nagent printed: ${line}`;
        // The agent's own summary of its client: "case N/M <id> <k> messages, close <code>[ (not clean)]".
        const { messages, code, wasClean } = c.client;
        const seen = `${messages} message${messages === 1 ? "" : "s"}, close ${code}${wasClean ? "" : " (not clean)"}`;
        assert.ok(line.startsWith(`case ${String(i + 1).padStart(String(agentCases.length).length)}/${agentCases.length} ${c.id}`), context);
        assert.ok(line.slice(line.indexOf(c.id) + c.id.length).trimStart().startsWith(seen), `the agent's client should show "${seen}" — ${context}`);
        c.check(server, context);
      }
      assert.equal((await fuzz.report("test:updateReports")).closedByMe, true, "the agent asked for the reports last");
    } finally {
      await fuzz.stop();
    }
  });
}

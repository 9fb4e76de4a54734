// Property test (fast-check): one built-in WebSocket per run against a raw TCP server on 127.0.0.1,
// driven through random sequences of server frames (text and binary messages, fragmented with
// pings and pongs between the fragments, pings, pongs, a close frame with a valid or invalid code,
// TCP FIN, TCP destroy; written whole or in random pieces) and application calls (send() of strings,
// ArrayBuffers, Uint8Array views and Blobs up to 256 KiB, ping(), close(code?, reason?),
// terminate(), binaryType switches), while the client's own listeners (onopen, onmessage, onclose,
// onerror, pong) call close(), terminate(), send(), ping() or nothing, each from a pre-generated
// script. The server answers the client's pings with pongs and its close frame with a close frame
// (then FIN), as RFC 6455 asks. Invariants, checked during and after each run:
//
// - nothing escapes the client (uncaughtException / unhandledRejection); the calls the W3C API says
//   must throw (send()/ping() while CONNECTING: InvalidStateError, close(1001): InvalidAccessError,
//   a reason over 123 bytes: SyntaxError, ping data over 125 bytes) throw exactly that, no other does;
// - readyState only moves forward; at most one open (first), message events only while OPEN,
//   exactly one close event and it is the last, an error only right before it; message and pong
//   events come in wire order, each for a frame the server wrote, none twice, and none skipped
//   while the client was still OPEN; the close event's code, reason and wasClean agree with the
//   close frames exchanged (clean only if both were; always clean when nobody dropped TCP);
// - every data message sent while OPEN reaches the server in order and intact (the server unmasks
//   the client's frames), all of them once the server has the client's close frame; nothing after
//   that close frame, nothing sent after close() began; the close frame carries the right code;
// - every server ping is answered with a pong carrying its payload (the latest of a burst at least,
//   RFC 6455 §5.5.3) unless the client is closing; pongs the server sends surface as pong events;
// - bufferedAmount is never negative, and after a clean close it is exactly the bytes given to
//   send() after closing began (WHATWG: counted, never sent);
// - the run ends with the client CLOSED and no timer, immediate or socket of its own left
//   (process.getActiveResourcesInfo() before and after); a run over RUN_MS is a hang.
//
// Environment: PROP_RUNS and PROP_SEED override the number of runs and the seed; PROP_IGNORE
// (comma-separated substrings of failure messages) looks past a known failure for the next one.
import { test } from "node:test";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { WebSocket } from "../../src/node-client.js";
import { rawServer, serverFrame } from "./node-client-helpers.js";
import { assertProperty, BurstBuilder, checkClientClose, checkClientPongs, checkDataMessages, checkEventOrder, ClientRecord, closeWith, type CommonStep, endRun, hex, type Initiator, type Listened, mapEvents, pattern, PropertyRun, resources, type RunContext, runScripts, runSteps, Sends, ServerPeer, Stats, textOf, writeFrames } from "./node-client-property-helpers.js";

/** A run (steps, then closing) that takes longer than this is a hang. */
const RUN_MS = 5000;
/** Waits inside a run (the server's frames processed, a ping answered) fail after this. */
const WAIT_MS = 2000;
/** The client's closeTimeout: the server always answers, so this only bounds a lost close. */
const CLOSE_TIMEOUT = 1000;
/** Payload bytes sent per run beyond which sends shrink to a few bytes (time, not coverage). */
const RUN_BYTES = 1536 * 1024;
const stats = new Stats();
const stat = stats.stat;

// ---------------------------------------------------------------------------------------------
// Scenarios

type SendKind = "text" | "arraybuffer" | "u8" | "blob";
type Act =
  | { kind: "none" }
  | { kind: "send"; type: SendKind; size: number; unit: string; offset: number }
  | { kind: "ping"; size: number; noArg: boolean }
  | { kind: "close"; code: number | undefined; reason: string | undefined }
  | { kind: "terminate" }
  | { kind: "binaryType"; value: string };

type Item =
  | { kind: "message"; text: boolean; size: number; cuts: number[]; between: Array<{ ping: boolean; size: number }> }
  | { kind: "ping"; size: number }
  | { kind: "pong"; size: number }
  | { kind: "close"; shape: "code" | "empty" | "one-byte"; code: number; reason: string };

type FramesStep = { kind: "frames"; items: Item[]; pieces: number[] | undefined; sync: boolean };
type Step = CommonStep<Act> | FramesStep;

interface Scenario {
  preOpen: Act[];
  steps: Step[];
  scripts: Record<Listened, Act[]>;
  ending: "client" | "server" | "fin";
}

const size = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 2, arbitrary: fc.constantFrom(125, 126, 65535, 65536, 65537) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 256 * 1024 }) },
);
const smallSize = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.constant(70_000) });

const sendAct = (sizes: fc.Arbitrary<number>): fc.Arbitrary<Act> =>
  fc.record({
    kind: fc.constant("send" as const),
    type: fc.constantFrom<SendKind>("text", "arraybuffer", "u8", "blob"),
    size: sizes,
    unit: fc.constantFrom("a", "é", "€", "😀"),
    offset: fc.integer({ min: 0, max: 7 }),
  });

const closeAct: fc.Arbitrary<Act> = fc.record({
  kind: fc.constant("close" as const),
  code: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<number | undefined>(undefined, 1000, 3000, 4321, 4999) },
    { weight: 1, arbitrary: fc.constantFrom(1001, 1005, 2999, 5000, 0) }, // InvalidAccessError
  ),
  reason: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<string | undefined>(undefined, "", "bye", "é".repeat(61)) },
    { weight: 1, arbitrary: fc.constant("é".repeat(62)) }, // 124 bytes: SyntaxError
  ),
});

const pingAct: fc.Arbitrary<Act> = fc.record({
  kind: fc.constant("ping" as const),
  size: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 125 }) }, { weight: 1, arbitrary: fc.constant(126) }),
  noArg: fc.boolean(),
});

const appAct: fc.Arbitrary<Act> = fc.oneof(
  { weight: 12, arbitrary: sendAct(size) },
  { weight: 3, arbitrary: pingAct },
  { weight: 1, arbitrary: closeAct },
  { weight: 1, arbitrary: fc.constant<Act>({ kind: "terminate" }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("binaryType" as const), value: fc.constantFrom("blob", "arraybuffer", "bogus") }) },
);

/** What a listener does on its n-th call: mostly nothing or a send, sometimes close or terminate. */
const listenerAct: fc.Arbitrary<Act> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Act>({ kind: "none" }) },
  { weight: 4, arbitrary: sendAct(smallSize) },
  { weight: 1, arbitrary: pingAct },
  { weight: 1, arbitrary: closeAct },
  { weight: 1, arbitrary: fc.constant<Act>({ kind: "terminate" }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("binaryType" as const), value: fc.constantFrom("blob", "arraybuffer") }) },
);

const control = fc.record({ ping: fc.boolean(), size: fc.integer({ min: 0, max: 125 }) });

const item: fc.Arbitrary<Item> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("message" as const),
      text: fc.boolean(),
      size: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 140_000 }) }),
      cuts: fc.array(fc.nat({ max: 140_000 }), { maxLength: 3 }),
      between: fc.array(control, { maxLength: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("ping" as const), size: fc.integer({ min: 0, max: 125 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("pong" as const), size: fc.integer({ min: 0, max: 125 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("close" as const),
      shape: fc.constantFrom<"code" | "empty" | "one-byte">("code", "code", "code", "empty", "one-byte"),
      code: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 4999) },
        { weight: 1, arbitrary: fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 2000, 5000) }, // the client fails (1002)
      ),
      reason: fc.constantFrom("", "server", "é".repeat(61)),
    }),
  },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: appAct.map((act): Step => ({ kind: "app", act })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.constantFrom(0, 1, 3) }) },
  {
    weight: 16,
    arbitrary: fc.record({
      kind: fc.constant("frames" as const),
      items: fc.array(item, { minLength: 1, maxLength: 3 }),
      pieces: fc.option(fc.array(fc.nat({ max: 150_000 }), { minLength: 1, maxLength: 4 }), { freq: 2 }).map((p) => p ?? undefined),
      sync: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom<Step>({ kind: "end" }, { kind: "destroy" }) },
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  preOpen: fc.oneof({ weight: 6, arbitrary: fc.constant<Act[]>([]) }, { weight: 1, arbitrary: fc.array(appAct, { minLength: 1, maxLength: 2 }) }),
  steps: fc.array(step, { maxLength: 16, size: "medium" }),
  scripts: fc.record({
    open: fc.array(listenerAct, { maxLength: 1 }),
    message: fc.array(listenerAct, { maxLength: 5 }),
    pong: fc.array(listenerAct, { maxLength: 4 }),
    error: fc.array(listenerAct, { maxLength: 1 }),
    close: fc.array(listenerAct, { maxLength: 1 }),
  }),
  ending: fc.constantFrom<Scenario["ending"]>("client", "client", "server", "server", "fin"),
});


// ---------------------------------------------------------------------------------------------
// Helpers (the rest are shared: node-client-property-helpers.ts)

const validCloseCode = (code: number): boolean => (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);

/** What the server wrote, in wire order (a message where its last fragment ends). */
type Written =
  | { kind: "text" | "binary"; data: Buffer }
  | { kind: "ping" | "pong"; data: Buffer }
  | { kind: "close"; code: number; reason: string; valid: boolean };

// ---------------------------------------------------------------------------------------------
// One run

async function run(sc: Scenario): Promise<void> {
  const pr = new PropertyRun({ runMs: RUN_MS, waitMs: WAIT_MS });
  const { say, problem, until } = pr;

  const peer = new ServerPeer<Written>(say);
  let upgraded = false;
  const server = await rawServer({
    onUpgrade: (socket) => {
      upgraded = true;
      peer.attach(socket);
      say("server: upgraded");
    },
  });
  pr.startClock();

  // ---- model state
  const expectedData: Array<{ text: boolean; bytes: Buffer }> = [];
  const expectedPings: Buffer[] = [];
  let discarded = 0;
  let initiator: Initiator | undefined; // first close()/terminate() while CONNECTING or OPEN
  let terminated = false; // terminate() while not CLOSED
  let serverDropped = false; // the server's FIN or destroy while its socket was alive

  const ws = new WebSocket(server.url, undefined, { closeTimeout: CLOSE_TIMEOUT, proxy: false });
  // Listeners that record come first, then the scripts (on* handlers and a pong listener).
  const rec = new ClientRecord(ws, pr, { bufferedAmount: true });
  const { events, sample } = rec;
  const ctx: RunContext<Written> = { run: pr, rec, peer, ws, probes: 0 };
  // Binary sends are at least 5 bytes: their tag.
  const sends = new Sends(ws, { budget: RUN_BYTES, text: textOf, minBinary: 5 });

  /** An application call, its expected exception (W3C) and its effect on the model. */
  const act = (a: Act, where: string): void => {
    if (a.kind === "none") return;
    const rs = ws.readyState;
    let expected: string | undefined;
    let describe = "";
    let thrown: unknown;
    try {
      switch (a.kind) {
        case "send":
          sends.send(a, (message, d) => {
            describe = d;
            if (rs === 0) expected = "InvalidStateError";
            else if (rs === 1) expectedData.push(message);
            else discarded += message.bytes.length;
          });
          break;
        case "ping": {
          const payload = Buffer.from(`p${sends.tag++}:${"x".repeat(a.size)}`).subarray(0, a.size);
          describe = a.noArg && a.size === 0 ? "ping()" : `ping(${a.size} B ${hex(payload, 8)})`;
          if (rs === 0) expected = "InvalidStateError";
          else if (a.size > 125) expected = "ERR_INVALID_ARGUMENT";
          else if (rs === 1) expectedPings.push(payload);
          if (a.noArg && a.size === 0) ws.ping();
          else ws.ping(payload);
          break;
        }
        case "close": {
          describe = `close(${a.code}, ${a.reason === undefined ? "undefined" : JSON.stringify(a.reason.slice(0, 8)) + `(${Buffer.byteLength(a.reason)} B)`})`;
          if (a.code !== undefined && a.code !== 1000 && !(a.code >= 3000 && a.code <= 4999)) expected = "InvalidAccessError";
          else if (a.reason !== undefined && Buffer.byteLength(a.reason) > 123) expected = "SyntaxError";
          else if (rs <= 1) initiator ??= a;
          closeWith(ws, a.code, a.reason);
          break;
        }
        case "terminate":
          describe = "terminate()";
          if (rs <= 1) initiator ??= a;
          if (rs < 3) terminated = true;
          ws.terminate();
          break;
        case "binaryType":
          describe = `binaryType = ${a.value}`;
          ws.binaryType = a.value;
          break;
      }
    } catch (error) {
      thrown = error;
    }
    const code = (thrown as { code?: unknown } | undefined)?.code;
    const name = thrown === undefined ? undefined : typeof code === "string" ? code : (thrown as Error).name;
    say(`${where}: ${describe} [readyState ${rs} -> ${ws.readyState}]${thrown === undefined ? "" : ` threw ${name}`}`);
    if (name !== expected) {
      problem(`${describe} in readyState ${rs} (${where}): expected ${expected ?? "no exception"}, got ${thrown === undefined ? "none" : `${name}: ${(thrown as Error).message}`}`);
    }
    if (expected === undefined && a.kind === "close" && rs <= 1 && ws.readyState !== 2) problem(`close() in readyState ${rs} left readyState ${ws.readyState}, not CLOSING`);
    if (a.kind === "terminate" && rs <= 1 && ws.readyState < 2) problem(`terminate() in readyState ${rs} left readyState ${ws.readyState}`);
    sample(`after ${describe}`);
  };
  runScripts(ws, sc.scripts, act);

  /** The server's burst for one "frames" step; `serverTag` numbers its payloads across the run. */
  let serverTag = 0;
  const build = (items: Item[]): BurstBuilder<Written> => {
    const b = new BurstBuilder<Written>(() => serverTag++);
    for (const it of items) {
      if (b.closing) break;
      if (it.kind === "ping" || it.kind === "pong") {
        b.control(it.kind === "ping", it.size);
        b.descr.push(`${it.kind} ${it.size} B`);
      } else if (it.kind === "message") {
        const tag = serverTag++;
        const data = it.text ? Buffer.from(textOf(`S${tag}:`, it.size, "ü")) : pattern(0x53, tag, Math.max(it.size, 5));
        // Pings and pongs between its fragments come first in the log: the message completes after them.
        const { parts } = b.message(it.text, data, false, it.cuts, it.between);
        b.place({ kind: it.text ? "text" : "binary", data });
        b.descr.push(`${it.text ? "text" : "binary"} ${data.length} B in ${parts}`);
      } else {
        b.closing = true;
        peer.sentClose = true;
        const body =
          it.shape === "empty" ? Buffer.alloc(0) : it.shape === "one-byte" ? Buffer.from([it.code >> 8]) : Buffer.concat([Buffer.from([it.code >> 8, it.code & 0xff]), Buffer.from(it.reason)]);
        b.push(serverFrame(8, body));
        const valid = it.shape === "empty" || (it.shape === "code" && validCloseCode(it.code));
        b.place({ kind: "close", code: it.shape === "empty" ? 1005 : it.shape === "code" ? it.code : -1, reason: it.shape === "code" ? it.reason : "", valid });
        b.descr.push(`close ${it.shape === "code" ? it.code : it.shape}${valid ? "" : " (invalid)"}`);
      }
    }
    return b;
  };

  try {
    sample("constructed");
    for (const a of sc.preOpen) act(a, "before open");
    await until(() => (rec.opened && upgraded) || rec.close !== undefined);
    sample("opened");
    if (!pr.hung && rec.close === undefined && !upgraded) problem("open without a server connection");

    stat(`readyState ${ws.readyState} after open`);
    await runSteps(ctx, sc.steps, {
      act,
      drop: (how) => {
        if (peer.open) serverDropped = true;
        say(`step: server ${how}${serverDropped ? "" : " (no effect)"}`);
        peer.drop(how);
      },
      frames: (st: FramesStep) => writeFrames(ctx, () => build(st.items), st),
    });

    // ---- the end: close from either side, or the server's FIN
    await endRun(ctx, sc.ending, {
      onFin: () => {
        serverDropped = true;
      },
      closeByClient: () => act({ kind: "close", code: 1000, reason: undefined }, "ending"),
    });
    if (ws.readyState !== 3) problem(`readyState ${ws.readyState} at the end, not CLOSED`);

    await check();
  } finally {
    if (ws.readyState !== 3) ws.terminate();
    await server.close();
  }
  // The server's sockets are gone too: what is left is the client's.
  await pr.checkLeftovers();
  // PROP_VERBOSE is the deflate property's: this one has never printed the logs of passing runs.
  pr.finish({ hung: pr.hung, verbose: false });

  // ---- checks after the run
  async function check(): Promise<void> {
    const closeEvent = rec.close;
    if (stats.on) {
      stat(`close ${closeEvent?.code} clean=${closeEvent?.wasClean}`);
      stat(`initiator ${initiator?.kind ?? "none"}`);
      if (events.some((e) => e.type === "error")) stat("error event");
      stat(`data sent while OPEN: ${expectedData.length === 0 ? "0" : expectedData.length < 4 ? "1-3" : "4+"}`);
      if (expectedData.some((d) => d.bytes.length > 60_000)) stat("a large send while OPEN");
      if (peer.gotClose !== undefined) stat("server got the client's close frame");
      if (discarded > 0) stat("sends discarded after closing began");
      if (peer.frames.some((f) => f.opcode === 10)) stat("client answered a ping");
      if (events.some((e) => e.type === "message")) stat("message events");
      if (serverDropped) stat("server dropped TCP");
      if (terminated) stat("terminated");
      if (resources().size === 0) stat("no resource info");
    }
    checkEventOrder(events, problem, initiator, {
      open: "at most one",
      each: (e) => {
        if (e.type === "open" && e.readyState !== 1) problem(`open event in readyState ${e.readyState}`);
        if (e.type === "message" && typeof e.data !== "string") {
          const want = e.binaryType === "blob" ? Blob : ArrayBuffer;
          if (!(e.data instanceof want)) problem(`binary message as ${Object.prototype.toString.call(e.data)} with binaryType ${e.binaryType}`);
        }
      },
    });
    const types = events.map((e) => e.type);
    const opens = types.filter((t) => t === "open").length;
    const error = events.find((e) => e.type === "error");
    const close = closeEvent;
    if (close === undefined) return;
    if (opens === 0) {
      // Failed or aborted before open: error then close 1006, nothing on the wire.
      if (types.join(",") !== "error,close") problem(`without open the events are ${types.join(",")}`);
      if (close.code !== 1006 || close.wasClean) problem(`without open: close ${close.code} wasClean=${close.wasClean}`);
      if (peer.frames.length > 0) problem(`frames on the wire from a socket that never opened`);
      if (initiator === undefined) problem("the handshake failed though nothing aborted it");
      return;
    }

    // Message and pong events: in wire order, each for one frame the server wrote.
    const W = peer.written;
    const mapped = await mapEvents(events, W, problem, {
      limit: W.length,
      unmatched: (e, kind, bytes) => problem(`${e.type} event ${kind} ${hex(bytes)} matches no later frame the server wrote (out of order, duplicated or invented)`),
    });
    if (mapped === undefined) return;

    // The close event against the close frames exchanged.
    const serverClose = W.findIndex((w) => w.kind === "close");
    const serverCloseFrame = serverClose === -1 ? undefined : (W[serverClose] as Extract<Written, { kind: "close" }>);
    const clientClose = peer.gotClose;
    if (error !== undefined && (close.code !== 1006 || close.wasClean)) problem(`error event, then close ${close.code} wasClean=${close.wasClean}`);
    if (close.wasClean) {
      if (serverCloseFrame === undefined || !serverCloseFrame.valid) problem("wasClean without a (valid) close frame from the server");
      // RFC 6455 §7.1.4: complete once an endpoint has sent and received a close frame. A server
      // that drops TCP right after its close frame may never read the echo the client did send.
      if (clientClose === undefined && !serverDropped) problem("wasClean, but the server never got the client's close frame");
    }
    if (close.code !== 1006) {
      if (serverCloseFrame === undefined || !serverCloseFrame.valid || serverCloseFrame.code !== close.code || serverCloseFrame.reason !== close.reason) {
        problem(`close ${close.code} ${JSON.stringify(close.reason)}, but the server's close frame was ${serverCloseFrame === undefined ? "none" : `${serverCloseFrame.code} ${JSON.stringify(serverCloseFrame.reason.slice(0, 8))}`}`);
      } else {
        // The client read the server's close frame, so every frame before it.
        for (let i = 0; i < serverClose; i++) {
          const w = W[i]!;
          if (mapped.has(i)) continue;
          if (w.kind === "pong") problem(`server pong ${hex(w.data)} before the server's close has no pong event`);
          if ((w.kind === "text" || w.kind === "binary") && initiator === undefined && error === undefined) problem(`server ${w.kind} message ${hex(w.data)} before the server's close was not delivered, and the client never closed first`);
        }
      }
    } else if (serverCloseFrame !== undefined && serverCloseFrame.valid && !terminated && !serverDropped && error === undefined) {
      problem("close 1006 although the server sent a valid close frame and nobody dropped TCP");
    }
    if (!terminated && !serverDropped && error === undefined && !close.wasClean) problem(`not clean (${close.code}) though nobody dropped TCP and nothing failed`);

    // The client's frames: masked, RSV 0, whole control frames, nothing after the close frame.
    const data: Array<{ text: boolean; bytes: Buffer }> = [];
    const pings: Buffer[] = [];
    const pongs: Buffer[] = [];
    let partial: { text: boolean; parts: Buffer[] } | undefined;
    let closeAt = -1;
    peer.frames.forEach((f, i) => {
      if (!f.masked || f.rsv !== 0) problem(`client frame ${i} unmasked or with RSV bits`);
      if (closeAt !== -1) problem(`client frame ${i} (op ${f.opcode}) after its close frame`);
      if (f.opcode >= 8) {
        if (!f.fin || f.payload.length > 125) problem(`client control frame ${i} fragmented or too long`);
        if (f.opcode === 8) closeAt = i;
        else if (f.opcode === 9) pings.push(f.payload);
        else if (f.opcode === 10) pongs.push(f.payload);
        else problem(`client frame ${i} with opcode ${f.opcode}`);
        return;
      }
      if (f.opcode === 0 ? partial === undefined : partial !== undefined || (f.opcode !== 1 && f.opcode !== 2)) problem(`client frame ${i}: opcode ${f.opcode} out of sequence`);
      partial ??= { text: f.opcode === 1, parts: [] };
      partial.parts.push(f.payload);
      if (f.fin) {
        data.push({ text: partial.text, bytes: Buffer.concat(partial.parts) });
        partial = undefined;
      }
    });
    // Data messages: every one sent while OPEN, in order and intact.
    checkDataMessages(data, expectedData, problem, { allExpected: clientClose !== undefined && error === undefined });
    // Client pings: those called while OPEN, in order, all of them before the close frame.
    const pingsOk = pings.length <= expectedPings.length && pings.every((p, i) => p.equals(expectedPings[i]!));
    if (!pingsOk || (clientClose !== undefined && pings.length !== expectedPings.length)) {
      problem(`client pings on the wire [${pings.map((p) => hex(p, 8))}], ping() while OPEN [${expectedPings.map((p) => hex(p, 8))}]`);
    }
    checkClientPongs(pongs, W, problem);
    checkClientClose(clientClose, initiator, error, serverCloseFrame, problem);
    // bufferedAmount: what was sent after closing began stays counted; after a clean close nothing else.
    const buffered = ws.bufferedAmount;
    if (buffered < discarded) problem(`bufferedAmount ${buffered} after close, below the ${discarded} bytes sent after closing began`);
    if (close.wasClean && !terminated && buffered !== discarded) problem(`bufferedAmount ${buffered} after a clean close, expected ${discarded} (sent after closing began)`);
  }
}

test("the built-in client under random server frames, application calls and re-entrant listener calls keeps the W3C and RFC 6455 invariants", { timeout: 600_000 }, async () => {
  await assertProperty(scenario, run, { interruptAfterTimeLimit: 240_000, stats });
});

/**
 * A small STOMP codec (https://stomp.github.io/stomp-specification-1.2.html) for STOMP over
 * WebSocket: one frame per WebSocket message, as RabbitMQ's web-stomp and stompjs send them.
 * The header escaping differs by version, which is why each negotiated subprotocol gets its own
 * codec (`v12.stomp`, `v11.stomp`, `v10.stomp`).
 */
import type { Codec } from "../../src/client/codec.js";
import { createError } from "../../src/errors.js";

export type StompVersion = "1.0" | "1.1" | "1.2";

export type ClientCommand =
  | "CONNECT" | "STOMP" | "SEND" | "SUBSCRIBE" | "UNSUBSCRIBE" | "ACK" | "NACK"
  | "BEGIN" | "COMMIT" | "ABORT" | "DISCONNECT";
/** HEARTBEAT is not a STOMP command: it stands for a message made only of EOLs (§Heart-beating). */
export type ServerCommand = "CONNECTED" | "MESSAGE" | "RECEIPT" | "ERROR" | "HEARTBEAT";

export interface StompFrame<C extends string = string> {
  readonly command: C;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Discriminated unions by `command`, so `ws.route("MESSAGE", …, { field: "command" })` is typed. */
export type ClientFrame = { [C in ClientCommand]: StompFrame<C> }[ClientCommand];
export type ServerFrame = { [C in ServerCommand]: StompFrame<C> }[ServerCommand];

/** The subprotocols of STOMP over WebSocket, in our order of preference. */
export const STOMP_SUBPROTOCOLS = ["v12.stomp", "v11.stomp", "v10.stomp"] as const;

/** One codec per subprotocol, for the client's `codecs` option. */
export function stompCodecs(): Record<(typeof STOMP_SUBPROTOCOLS)[number], Codec<ServerFrame, ClientFrame>> {
  return { "v12.stomp": stomp("1.2"), "v11.stomp": stomp("1.1"), "v10.stomp": stomp("1.0") };
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

export function stomp(version: StompVersion): Codec<ServerFrame, ClientFrame> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  return {
    frame: "text",
    encode(frame) {
      return encodeFrame(frame, version, encoder);
    },
    decode(data) {
      const bytes = typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
      return decodeFrame(bytes, version, decoder);
    },
  };
}

// STOMP 1.2 "Value Encoding": \r \n : \ are escaped in headers, except in CONNECT and CONNECTED
// frames. STOMP 1.1 has the same rule without \r; STOMP 1.0 has no escaping at all.
function escapes(version: StompVersion, command: string): boolean {
  return version !== "1.0" && command !== "CONNECT" && command !== "CONNECTED";
}

function escapeValue(value: string, version: StompVersion): string {
  return value.replace(version === "1.2" ? /[\\\r\n:]/g : /[\\\n:]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\r" ? "\\r" : c === "\n" ? "\\n" : "\\c",
  );
}

function unescapeValue(value: string, version: StompVersion): string {
  return value.replace(/\\(.?)/gs, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    if (c === "c") return ":";
    if (c === "r" && version === "1.2") return "\r";
    // STOMP 1.2: "Undefined escape sequences such as \t MUST be treated as a fatal protocol error."
    throw createError("ERR_DECODE", `STOMP: undefined escape sequence "\\${c}" in a header`);
  });
}

export function encodeFrame(frame: ClientFrame | StompFrame, version: StompVersion, encoder = new TextEncoder()): string {
  const escape = escapes(version, frame.command);
  let head = frame.command + "\n";
  const headers: Record<string, string> = { ...frame.headers };
  // A body may contain NUL; content-length (in octets) makes that safe (§Frames and Headers).
  if (frame.body !== "" && headers["content-length"] === undefined) {
    headers["content-length"] = String(encoder.encode(frame.body).length);
  }
  for (const [name, value] of Object.entries(headers)) {
    // Without escaping a header cannot carry a line break, nor a name a colon.
    if (!escape && (/[\n:]/.test(name) || value.includes("\n"))) {
      throw createError("ERR_INVALID_ARGUMENT", `STOMP ${version}: header ${JSON.stringify(name)} cannot be encoded in ${frame.command}`);
    }
    head += escape ? `${escapeValue(name, version)}:${escapeValue(value, version)}\n` : `${name}:${value}\n`;
  }
  return `${head}\n${frame.body}\0`;
}

export function decodeFrame(bytes: Uint8Array, version: StompVersion, decoder = new TextDecoder()): ServerFrame {
  let pos = 0;
  // Heart-beats are bare EOLs; frames may also be preceded by them.
  while (pos < bytes.length && (bytes[pos] === LF || bytes[pos] === CR)) pos++;
  if (pos === bytes.length) return { command: "HEARTBEAT", headers: {}, body: "" };

  const readLine = (): string => {
    const end = bytes.indexOf(LF, pos);
    if (end < 0) throw createError("ERR_DECODE", "STOMP: frame ends inside its headers");
    const lineEnd = end > pos && bytes[end - 1] === CR ? end - 1 : end; // EOL = [CR] LF
    const line = decoder.decode(bytes.subarray(pos, lineEnd));
    pos = end + 1;
    return line;
  };

  const command = readLine();
  if (!isServerCommand(command)) throw createError("ERR_DECODE", `STOMP: unexpected server command ${JSON.stringify(command)}`);
  const unescape = escapes(version, command);
  const headers: Record<string, string> = {};
  for (let line = readLine(); line !== ""; line = readLine()) {
    const colon = line.indexOf(":");
    if (colon < 0) throw createError("ERR_DECODE", `STOMP: header line without ":": ${JSON.stringify(line)}`);
    const name = unescape ? unescapeValue(line.slice(0, colon), version) : line.slice(0, colon);
    const value = unescape ? unescapeValue(line.slice(colon + 1), version) : line.slice(colon + 1);
    // STOMP 1.2: "only the first header entry SHOULD be used as the value of header entry".
    if (!(name in headers)) headers[name] = value;
  }

  let end: number;
  const length = headers["content-length"];
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw createError("ERR_DECODE", `STOMP: bad content-length ${JSON.stringify(length)}`);
    end = pos + Number(length);
    if (end >= bytes.length || bytes[end] !== NUL) {
      throw createError("ERR_DECODE", "STOMP: body is not followed by NUL at content-length");
    }
  } else {
    end = bytes.indexOf(NUL, pos);
    if (end < 0) throw createError("ERR_DECODE", "STOMP: frame is not NUL-terminated");
  }
  const body = decoder.decode(bytes.subarray(pos, end));
  for (let i = end + 1; i < bytes.length; i++) {
    if (bytes[i] !== LF && bytes[i] !== CR) {
      throw createError("ERR_DECODE", "STOMP: more than one frame in a WebSocket message");
    }
  }
  return { command, headers, body } as ServerFrame;
}

function isServerCommand(command: string): command is Exclude<ServerCommand, "HEARTBEAT"> {
  return command === "CONNECTED" || command === "MESSAGE" || command === "RECEIPT" || command === "ERROR";
}

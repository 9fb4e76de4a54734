/**
 * RFC 6455 §4.1/§4.2.2 client opening handshake: the request head and the checks on the response.
 */
import { createError, type ResilientError } from "../errors.js";
import { WS_GUID } from "./constants.js";
import { isToken, parseExtensions } from "./extensions.js";
import { parseResponseHead, type ResponseHead } from "./response-head.js";
import { base64, sha1 } from "./sha1.js";

export { isInterimStatus, parseResponseHead, ResponseHeadReader, MAX_HEAD_BYTES, type ResponseHead } from "./response-head.js";

/** RFC 6455 §4.1: a fresh random 16-byte nonce, base64-encoded, for each connection. */
export function createHandshakeKey(): string {
  const nonce = new Uint8Array(16);
  globalThis.crypto.getRandomValues(nonce);
  return base64(nonce);
}

/** RFC 6455 §4.2.2: base64(SHA-1(key + GUID)), the value the server must send back. */
export function computeAccept(key: string): string {
  const input = key + WS_GUID;
  const bytes = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) bytes[i] = input.charCodeAt(i) & 0xff;
  return base64(sha1(bytes));
}

export interface HandshakeRequestOptions {
  /** Host header value, with the port when it is not the scheme's default. */
  host: string;
  /** Request target: path and query, starting with "/". */
  path: string;
  key: string;
  protocols?: readonly string[];
  /** Sec-WebSocket-Extensions offer, e.g. from buildDeflateOffer(). */
  extensions?: string;
  /** Extra headers; Host, Origin and Authorization given here replace the options of that name. */
  headers?: Record<string, string>;
  origin?: string;
  authorization?: string;
}

/** Headers the handshake itself owns: setting them through `headers` would break it. */
const RESERVED = new Set([
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "sec-websocket-accept",
  "content-length",
  "transfer-encoding",
]);

function invalid(message: string): never {
  throw createError("ERR_INVALID_ARGUMENT", message);
}

/** RFC 7230 §3.2: field-value characters (HTAB, visible ASCII, SP, obs-text); no CR/LF injection. */
function checkValue(name: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x09 && (c < 0x20 || c === 0x7f || c > 0xff)) {
      invalid(`Invalid character 0x${c.toString(16)} in ${name} header value`);
    }
  }
}

/**
 * Throws ERR_INVALID_ARGUMENT for a header the application may not add to the opening handshake:
 * a name that is not a token, a header the handshake sets itself, Proxy-Authorization, or a value
 * that is not a field-value (RFC 9110 §5.5; this is what stops CR/LF header injection).
 */
export function checkRequestHeader(name: string, value: string): void {
  if (!isToken(name)) invalid(`Invalid header name "${name}"`);
  if (RESERVED.has(name.toLowerCase())) invalid(`Header "${name}" is set by the WebSocket handshake itself`);
  // RFC 9110 §11.7.2: Proxy-Authorization is the proxy's; in the upgrade request it would go
  // through the CONNECT tunnel to the WebSocket server instead, leaking the proxy's credential.
  if (name.toLowerCase() === "proxy-authorization") {
    invalid(`Header "${name}" would be sent to the WebSocket server, not the proxy: put proxy credentials in the proxy URL (http://user:pass@proxy:3128)`);
  }
  if (typeof value !== "string") invalid(`The value of header "${name}" must be a string`);
  checkValue(name, value);
}

/**
 * The full HTTP/1.1 GET request head of the opening handshake (RFC 6455 §4.1), ending in CRLFCRLF.
 * Characters are all below 0x100: write it as latin1. Throws ERR_INVALID_ARGUMENT on header
 * injection, a bad header name, a reserved header, or an invalid or repeated subprotocol.
 */
export function buildHandshakeRequest(opts: HandshakeRequestOptions): string {
  if (!/^\/[\x21-\x7e]*$/.test(opts.path)) invalid(`Invalid request path "${opts.path}"`);
  const protocols = opts.protocols ?? [];
  const seen = new Set<string>();
  for (const protocol of protocols) {
    // RFC 6455 §4.1: each subprotocol is a token, and offered once.
    if (!isToken(protocol)) invalid(`Invalid subprotocol "${protocol}"`);
    if (seen.has(protocol)) invalid(`Subprotocol "${protocol}" offered twice`);
    seen.add(protocol);
  }

  const fields: Array<[string, string]> = [];
  let host = opts.host;
  let origin = opts.origin;
  let authorization = opts.authorization;
  for (const [name, value] of Object.entries(opts.headers ?? {})) {
    checkRequestHeader(name, value);
    const lower = name.toLowerCase();
    if (lower === "host") host = value;
    else if (lower === "origin") origin = value;
    else if (lower === "authorization") authorization = value;
    else fields.push([name, value]);
  }

  let head = `GET ${opts.path} HTTP/1.1\r\n`;
  const add = (name: string, value: string): void => {
    checkValue(name, value);
    head += `${name}: ${value}\r\n`;
  };
  add("Host", host);
  add("Upgrade", "websocket");
  add("Connection", "Upgrade");
  add("Sec-WebSocket-Key", opts.key);
  add("Sec-WebSocket-Version", "13");
  if (protocols.length > 0) add("Sec-WebSocket-Protocol", protocols.join(", "));
  if (opts.extensions !== undefined && opts.extensions !== "") add("Sec-WebSocket-Extensions", opts.extensions);
  if (origin !== undefined) add("Origin", origin);
  if (authorization !== undefined) add("Authorization", authorization);
  for (const [name, value] of fields) add(name, value);
  return `${head}\r\n`;
}

/** Latin1 bytes of a request head built by buildHandshakeRequest. */
export function encodeHead(head: string): Uint8Array {
  const bytes = new Uint8Array(head.length);
  for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i);
  return bytes;
}

/** A handshake answered with a status other than 101: carries what a retry policy needs. */
export interface HandshakeStatusError extends ResilientError {
  readonly code: "ERR_HANDSHAKE_STATUS";
  readonly status: number;
  readonly statusText: string;
  /** Response headers (e.g. retry-after, www-authenticate, location). */
  readonly headers: Map<string, string>;
}

export function isHandshakeStatusError(error: unknown): error is HandshakeStatusError {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { code?: unknown }).code === "ERR_HANDSHAKE_STATUS" &&
    typeof (error as { status?: unknown }).status === "number"
  );
}

export function createHandshakeStatusError(head: ResponseHead): HandshakeStatusError {
  const error = createError(
    "ERR_HANDSHAKE_STATUS",
    `Unexpected server response: ${head.status}${head.statusText === "" ? "" : ` ${head.statusText}`}`,
  );
  return Object.assign(error, { status: head.status, statusText: head.statusText, headers: head.headers }) as HandshakeStatusError;
}

function rejected(why: string, code: "ERR_HANDSHAKE" | "ERR_PROTOCOL_NOT_SELECTED" = "ERR_HANDSHAKE"): never {
  throw createError(code, `WebSocket handshake failed: ${why} (RFC 6455 §4.1)`);
}

/**
 * RFC 6455 §4.1 (client requirements on the server's response). Returns the selected subprotocol
 * and the accepted extensions ("" when none). Throws ERR_HANDSHAKE_STATUS (a HandshakeStatusError)
 * for a status other than 101, ERR_PROTOCOL_NOT_SELECTED for a subprotocol that was not offered,
 * and ERR_HANDSHAKE for any other violation.
 */
export function validateHandshakeResponse(
  head: ResponseHead,
  opts: { key: string; protocols: readonly string[]; extensionsOffered: readonly string[] },
): { protocol: string; extensions: string } {
  // 1. The status must be 101 Switching Protocols.
  if (head.status !== 101) throw createHandshakeStatusError(head);
  // Upgrade, and so a 101, exists only in HTTP/1.1 (RFC 9110 §7.8); an HTTP/1.0 server cannot
  // have switched, and browsers refuse such a reply too.
  if (head.httpMinor !== 1) rejected("an HTTP/1.0 response cannot switch protocols");
  const headers = head.headers;
  // 2. Upgrade must be "websocket", case-insensitively.
  const upgrade = headers.get("upgrade");
  if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") {
    rejected(`Upgrade header is ${upgrade === undefined ? "missing" : `"${upgrade}"`}`);
  }
  // 3. Connection must contain the "upgrade" token, case-insensitively.
  const connection = headers.get("connection");
  if (connection === undefined || !connection.split(",").some((token) => token.trim().toLowerCase() === "upgrade")) {
    rejected(`Connection header is ${connection === undefined ? "missing" : `"${connection}"`}`);
  }
  // 4. Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)).
  const accept = headers.get("sec-websocket-accept");
  if (accept !== computeAccept(opts.key)) {
    rejected(accept === undefined ? "Sec-WebSocket-Accept header is missing" : "Sec-WebSocket-Accept does not match the key");
  }
  // 5. Extensions must be ones offered, each at most once.
  const extensions = headers.get("sec-websocket-extensions");
  if (extensions !== undefined) {
    const offered = new Set(opts.extensionsOffered.map((offer) => offer.split(";")[0]!.trim().toLowerCase()));
    const accepted = new Set<string>();
    for (const element of parseExtensions(extensions)) {
      if (!offered.has(element.name)) rejected(`server accepted extension "${element.name}" that was not offered`);
      if (accepted.has(element.name)) rejected(`server accepted extension "${element.name}" twice`);
      accepted.add(element.name);
    }
  }
  // 6. A subprotocol, if any, must be one offered (and there is none when none was offered). Its
  // own code lets ResilientWebSocket's requireProtocol tell this failure from others by `code`,
  // not by words in a message that may also hold a URL or a server's reason phrase.
  const protocol = headers.get("sec-websocket-protocol");
  if (protocol !== undefined) {
    if (opts.protocols.length === 0) rejected(`server selected subprotocol "${protocol}" but none was offered`, "ERR_PROTOCOL_NOT_SELECTED");
    if (!opts.protocols.includes(protocol)) rejected(`server selected subprotocol "${protocol}" that was not offered`, "ERR_PROTOCOL_NOT_SELECTED");
  }
  return { protocol: protocol ?? "", extensions: extensions ?? "" };
}

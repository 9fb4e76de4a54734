/**
 * The opening handshake on a socket (RFC 6455 §4.1): send the upgrade request, read the response
 * head, validate it, follow redirects when allowed. Request building and response validation are
 * the pure functions of src/protocol/handshake.ts; this file does the I/O around them.
 */
import type net from "node:net";
import { Buffer } from "node:buffer";
import { createError, isResilientError, type ResilientError } from "../../errors.js";
import {
  buildHandshakeRequest,
  createHandshakeKey,
  createHandshakeStatusError,
  validateHandshakeResponse,
  type ResponseHead,
} from "../../protocol/handshake.js";
import { buildDeflateOffer, parseDeflateResponse } from "../../protocol/deflate-params.js";
import { openStream } from "./connect.js";
import type { DeflateParams } from "./deflate.js";
import { withoutCredentials, withRetryAfter, withStatus } from "./errors.js";
import type { NormalizedOptions, TlsOptions } from "./options.js";
import { readResponseHead, type ReadHead } from "./read-head.js";
import { connectionErrorText } from "./tls-errors.js";

export interface HandshakeResult {
  socket: net.Socket;
  /** Bytes that arrived after the response head: the first frames. */
  rest: Buffer;
  protocol: string;
  extensions: string;
  deflate: DeflateParams | undefined;
}

/** Read the server's response head; the socket is left paused with `rest` unread. */
function readHead(socket: net.Socket, url: URL): Promise<ReadHead> {
  return readResponseHead(socket, {
    lost: (error) =>
      error === undefined
        ? createError("ERR_HANDSHAKE", `${url.host} closed the connection during the handshake`)
        : // A TLS 1.3 server checks our certificate after our side finished the handshake: its alert arrives here.
          createError("ERR_CONNECTION", `${url.host}: ${connectionErrorText(error, "tls")}`, undefined, error),
    malformed: (error) => (isResilientError(error) ? error : createError("ERR_HANDSHAKE", `invalid handshake response from ${url.host}`, undefined, error)),
  });
}

function basicAuth(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return `Basic ${Buffer.from(credentials).toString("base64")}`;
}

function sameOrigin(a: URL, b: URL): boolean {
  const secure = (u: URL): boolean => u.protocol === "wss:" || u.protocol === "https:";
  return secure(a) === secure(b) && a.hostname === b.hostname && (a.port || (secure(a) ? "443" : "80")) === (b.port || (secure(b) ? "443" : "80"));
}

/**
 * Fetch's redirect statuses (RFC 9110 §15.4). The other 3xx are final answers, reported as the
 * status error: 304 is not a redirect (§15.4.5), 305 is deprecated for security reasons
 * (§15.4.6), and following a 300 is optional (§15.4.1).
 */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** The Location of an answer that redirects, or undefined when there is none to follow. */
function redirectLocation(head: ResponseHead): string | undefined {
  return REDIRECT_STATUSES.has(head.status) ? head.headers.get("location") : undefined;
}

/**
 * The Location value as the server meant it. The head is read one char per byte (latin1), but
 * servers send non-ASCII paths as raw UTF-8 although RFC 9110 §10.2.2 asks for a URI-reference
 * (ASCII): browsers and undici's fetch decode the bytes as UTF-8 before parsing the URL
 * (whatwg/fetch#883), so "/ü" becomes /%C3%BC, not /%C3%83%C2%BC. Bytes that are not UTF-8 are
 * kept as %XX escapes, so the server gets back the bytes it sent.
 */
function decodeLocation(location: string): string {
  const bytes = Buffer.from(location, "latin1");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return location.replace(/[\x80-\xff]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  }
}

function redirectTarget(current: URL, head: ResponseHead, location: string): URL {
  let next: URL;
  try {
    next = new URL(decodeLocation(location), current);
  } catch {
    // No cause: Deno's TypeError quotes the base URL, credentials included.
    throw redirectError(head, `invalid redirect location ${withoutCredentials(location)}`);
  }
  if (next.protocol === "http:") next.protocol = "ws:";
  else if (next.protocol === "https:") next.protocol = "wss:";
  if (next.protocol !== "ws:" && next.protocol !== "wss:") {
    throw redirectError(head, `cannot follow a redirect to ${next.protocol} URL`);
  }
  next.hash = "";
  return next;
}

/**
 * ERR_REDIRECT for a redirect we do not follow, carrying the answer's status, statusText, headers
 * and retryAfter as the status error would, for a reconnect policy to read.
 */
function redirectError(head: ResponseHead, message: string): ResilientError {
  return withStatus(createError("ERR_REDIRECT", message), head);
}

/**
 * The TLS settings a redirect target gets. A client certificate is a credential (it authenticates,
 * and discloses, who we are), so like Authorization it stays with the first origin. A `servername`
 * override names the first host: another host is verified against its own name (RFC 9110 §4.3.4,
 * RFC 6125 §6), so it is kept only while the host name is unchanged. Applied hop by hop, what is
 * dropped stays dropped.
 */
function redirectTls(tls: TlsOptions, from: URL, to: URL, crossOrigin: boolean): TlsOptions {
  const { cert, key, servername, ...rest } = tls;
  const next: TlsOptions = { ...rest };
  if (!crossOrigin) {
    next.cert = cert;
    next.key = key;
  }
  if (from.hostname === to.hostname) next.servername = servername;
  return next;
}

/** One request of the handshake: where it goes and what it carries. */
interface Hop {
  url: URL;
  headers: Record<string, string>;
  authorization: string | undefined;
  /** A redirect left the first origin: what is bound to it is not sent any more. */
  crossOrigin: boolean;
  /** The options, with the TLS settings this hop may use. */
  options: NormalizedOptions;
}

/**
 * The hop a redirect to `location` leads to; throws ERR_REDIRECT for one not to follow. `visited`
 * holds the URLs requested so far (without credentials): asking one again is a loop, since every
 * redirect the same request gets is the same.
 */
function nextHop(hop: Hop, head: ResponseHead, location: string, visited: Set<string>): Hop {
  const next = redirectTarget(hop.url, head, location);
  // The application asked for TLS: the path, query, Origin and custom headers must not go out in
  // cleartext. Browsers never follow a WebSocket redirect at all (the WebSockets standard fetches
  // with redirect mode "error").
  if (hop.url.protocol === "wss:" && next.protocol === "ws:") {
    throw redirectError(head, "refusing to follow a redirect from wss: to ws:");
  }
  const key = withoutCredentials(next);
  if (visited.has(key)) throw redirectError(head, `redirect loop: ${next.host}${next.pathname} was already requested`);
  visited.add(key);
  const crossOrigin = hop.crossOrigin || !sameOrigin(hop.url, next);
  return {
    url: next,
    // The application's headers were written for the first origin: besides Authorization and
    // Cookie, any of them may be a credential (X-Api-Key, a signed token) that we cannot tell from
    // the others, and a Host override names that origin's authority (RFC 9110 §7.2). None of them
    // goes to another origin (ws drops only Authorization, Cookie and Host).
    headers: crossOrigin ? {} : hop.headers,
    // Credentials written into the Location itself are the new server's own.
    authorization: basicAuth(next) ?? (crossOrigin ? undefined : hop.authorization),
    crossOrigin,
    options: { ...hop.options, tls: redirectTls(hop.options.tls, hop.url, next, crossOrigin) },
  };
}

/**
 * Connect and upgrade. `track` receives every socket opened so the owner's handshake timeout or
 * close() can destroy it.
 */
export async function handshake(
  startUrl: URL,
  protocols: readonly string[],
  options: NormalizedOptions,
  track: (socket: net.Socket) => void,
): Promise<HandshakeResult> {
  let hop: Hop = { url: startUrl, headers: options.headers, authorization: basicAuth(startUrl), crossOrigin: false, options };
  const visited = new Set([withoutCredentials(startUrl)]);
  const deflateOffer = options.perMessageDeflate;
  for (let hops = 0; ; hops++) {
    const { url } = hop;
    const socket = await openStream(url, hop.options, track);
    const key = createHandshakeKey();
    const offer = deflateOffer === undefined ? undefined : buildDeflateOffer(deflateOffer);
    const request = buildHandshakeRequest({
      host: url.host,
      path: `${url.pathname}${url.search}`,
      key,
      protocols,
      extensions: offer,
      headers: hop.headers,
      origin: options.origin,
      // An Authorization in `headers` replaces this one (buildHandshakeRequest).
      authorization: hop.authorization,
    });
    socket.write(request, "latin1");
    const { head, rest } = await readHead(socket, url);
    const location = redirectLocation(head);
    // Without followRedirects a redirect is the status error, Location included.
    if (location !== undefined && options.followRedirects > 0) {
      socket.destroy();
      if (hops >= options.followRedirects) throw redirectError(head, `too many redirects (${options.followRedirects})`);
      hop = nextHop(hop, head, location, visited);
      continue;
    }
    if (head.status !== 101) {
      socket.destroy();
      throw withRetryAfter(createHandshakeStatusError(head));
    }
    try {
      const accepted = validateHandshakeResponse(head, {
        key,
        protocols,
        extensionsOffered: offer === undefined ? [] : ["permessage-deflate"],
      });
      let deflate: DeflateParams | undefined;
      if (accepted.extensions !== "" && deflateOffer !== undefined) {
        deflate = parseDeflateResponse(accepted.extensions, deflateOffer);
      }
      return { socket, rest, protocol: accepted.protocol, extensions: accepted.extensions, deflate };
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }
}

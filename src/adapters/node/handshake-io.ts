/**
 * The opening handshake on a socket (RFC 6455 §4.1): send the upgrade request, read the response
 * head, validate it, follow redirects when allowed. Request building and response validation are
 * the pure functions of src/protocol/handshake.ts; this file does the I/O around them.
 */
import type net from "node:net";
import { Buffer } from "node:buffer";
import { createError, isResilientError } from "../../errors.js";
import {
  buildHandshakeRequest,
  createHandshakeKey,
  createHandshakeStatusError,
  validateHandshakeResponse,
} from "../../protocol/handshake.js";
import { buildDeflateOffer, parseDeflateResponse } from "../../protocol/deflate-params.js";
import { openStream } from "./connect.js";
import type { DeflateParams } from "./deflate.js";
import { withoutCredentials, withRetryAfter } from "./errors.js";
import type { NormalizedOptions } from "./options.js";
import { readResponseHead, type ReadHead } from "./read-head.js";

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
        : createError("ERR_CONNECTION", `${url.host}: ${error.message}`, undefined, error),
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
 * Headers meant for the first origin only, dropped when a redirect leaves it (like ws): those that
 * carry credentials, and a Host override, since RFC 9110 §7.2 makes Host the authority of the
 * target URI, which is now another server.
 */
const ORIGIN_BOUND_HEADERS = new Set(["authorization", "cookie", "proxy-authorization", "host"]);

function redirectTarget(current: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    // No cause: Deno's TypeError quotes the base URL, credentials included.
    throw createError("ERR_REDIRECT", `invalid redirect location ${withoutCredentials(location)}`);
  }
  if (next.protocol === "http:") next.protocol = "ws:";
  else if (next.protocol === "https:") next.protocol = "wss:";
  if (next.protocol !== "ws:" && next.protocol !== "wss:") {
    throw createError("ERR_REDIRECT", `cannot follow a redirect to ${next.protocol} URL`);
  }
  next.hash = "";
  return next;
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
  let url = startUrl;
  let headers = options.headers;
  let crossOrigin = false;
  let authorization = basicAuth(url);
  const deflateOffer = options.perMessageDeflate;
  for (let hops = 0; ; hops++) {
    const socket = await openStream(url, options, track);
    const key = createHandshakeKey();
    const offer = deflateOffer === undefined ? undefined : buildDeflateOffer(deflateOffer);
    const request = buildHandshakeRequest({
      host: url.host,
      path: `${url.pathname}${url.search}`,
      key,
      protocols,
      extensions: offer,
      headers,
      origin: options.origin,
      // An Authorization in `headers` replaces this one (buildHandshakeRequest).
      authorization,
    });
    socket.write(request, "latin1");
    const { head, rest } = await readHead(socket, url);
    const location = head.headers.get("location");
    if (head.status >= 300 && head.status < 400 && location !== undefined && hops < options.followRedirects) {
      socket.destroy();
      const next = redirectTarget(url, location);
      if (crossOrigin || !sameOrigin(url, next)) {
        crossOrigin = true;
        headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !ORIGIN_BOUND_HEADERS.has(name.toLowerCase())));
        authorization = undefined;
      }
      // Credentials written into the Location itself are the new server's own.
      authorization = basicAuth(next) ?? authorization;
      url = next;
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

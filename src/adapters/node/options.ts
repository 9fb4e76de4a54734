/**
 * Options of the built-in RFC 6455 client (`resilient-ws/node`), normalized once into a fully
 * filled internal object so the rest of the adapter never checks for `undefined`.
 */
import { createError } from "../../errors.js";
import { checkRequestHeader } from "../../protocol/handshake.js";
import { parseProxyUrl } from "./proxy.js";

/**
 * TLS settings: `tls` for the WebSocket server (`wss://`), `proxyTls` for an `https://` proxy.
 * Certificate verification is on unless `rejectUnauthorized: false`.
 */
export interface TlsOptions {
  /** Trusted CA certificates (PEM) instead of the runtime's default roots. @example { ca: readFileSync("ca.pem") } */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Client certificate chain (PEM) for mutual TLS. @example { cert: readFileSync("client.pem"), key: readFileSync("client.key") } */
  cert?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Private key (PEM) of `cert`. @example { key: readFileSync("client.key") } */
  key?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /**
   * SNI server name and the name the certificate must match. @default the host name of the URL
   * (of the proxy URL for `proxyTls`) @example { servername: "api.example.com" }
   */
  servername?: string;
  /** `false` accepts any certificate: for tests only. @default true @example { rejectUnauthorized: false } */
  rejectUnauthorized?: boolean;
}

/** permessage-deflate (RFC 7692) parameters. */
export interface PerMessageDeflateOptions {
  /** Window bits the client may use (8-15); `true` offers the parameter without a value. @default true @example { clientMaxWindowBits: 10 } */
  clientMaxWindowBits?: number | true;
  /** Window bits requested from the server (8-15). @default 15 (parameter not sent) @example { serverMaxWindowBits: 10 } */
  serverMaxWindowBits?: number;
  /** Reset the compressor after every message we send. @default false @example { clientNoContextTakeover: true } */
  clientNoContextTakeover?: boolean;
  /** Ask the server to reset its compressor after every message. @default false @example { serverNoContextTakeover: true } */
  serverNoContextTakeover?: boolean;
  /** Largest inflated message in bytes; beyond it the connection closes with 1009. @default maxPayload @example { maxInflatedSize: 1 << 20 } */
  maxInflatedSize?: number;
  /** Messages smaller than this many bytes are sent uncompressed. @default 1024 @example { threshold: 256 } */
  threshold?: number;
}

export interface NodeWebSocketOptions {
  /** Extra request headers of the opening handshake. @example { headers: { "x-api-key": key } } */
  headers?: Record<string, string>;
  /**
   * `Origin` header, for servers that check it; a value a header cannot carry (CR, LF, other
   * controls) throws `ERR_INVALID_ARGUMENT` from the constructor. @example { origin: "https://app.example" }
   */
  origin?: string;
  /**
   * TLS settings for the WebSocket server of a `wss://` URL (also inside a proxy tunnel). They do
   * not apply to an `https://` proxy itself: that is `proxyTls`.
   * @default {} (the runtime's CA roots, verification on)
   * @example { tls: { ca: readFileSync("ca.pem") } }
   */
  tls?: TlsOptions;
  /**
   * HTTP CONNECT proxy URL (`http://` or `https://`; `host:port` means `http://`), or `false` for a
   * direct connection. Credentials go in the URL (%-encoded) and are sent to the proxy as
   * `Proxy-Authorization: Basic`; a `Proxy-Authorization` in `headers` is refused, since it would
   * reach the WebSocket server instead. Another scheme, a URL that does not parse, a bad %-escape
   * in the credentials, an empty string or `null` throws `ERR_INVALID_ARGUMENT` from the
   * constructor. A proxy that refuses CONNECT fails the connection with `ERR_PROXY` carrying
   * `status`, `statusText`, `headers` and `retryAfter` (a ProxyStatusError).
   * @default from the environment, like curl: `HTTPS_PROXY` (wss) or `HTTP_PROXY` (ws), else
   * `ALL_PROXY`; lower-case spellings first; `NO_PROXY` lists hosts to reach directly. An empty
   * variable counts as unset, one with another scheme (`socks5://`) is ignored, and `HTTP_PROXY`
   * is ignored when `REQUEST_METHOD` is set (CGI, where a request can set it: "httpoxy").
   * @example { proxy: "http://user:pass@proxy.local:3128" }
   */
  proxy?: string | URL | false;
  /**
   * TLS settings for the connection to an `https://` proxy (its certificate, a client certificate
   * for it); the WebSocket server's are `tls`. Verification is on by default, against the proxy's
   * host name. Ignored for an `http://` proxy or none.
   * @default {} (the runtime's CA roots, verification on)
   * @example { proxy: "https://proxy.corp:3129", proxyTls: { ca: readFileSync("corp-ca.pem") } }
   */
  proxyTls?: TlsOptions;
  /**
   * TCP + proxy + TLS + upgrade must finish within this many ms (at most 2147483647), or `Infinity`
   * for no limit. @default 30000 @example { handshakeTimeout: 5000 }
   */
  handshakeTimeout?: number;
  /** Largest message accepted, in bytes; larger closes with 1009. @default 104857600 (100 MiB) @example { maxPayload: 1 << 20 } */
  maxPayload?: number;
  /**
   * Follow up to this many HTTP redirects (301, 302, 303, 307, 308; other 3xx are the status error)
   * during the handshake. A redirect from `wss:` to `ws:` is never followed, and neither is a loop
   * (a URL already requested) or one redirect more than allowed: each fails with `ERR_REDIRECT`,
   * carrying `status`, `headers` and `retryAfter` as `ERR_HANDSHAKE_STATUS` does. When a redirect
   * leaves the first origin, URL credentials, every one of `headers` (any may be a credential:
   * `Authorization`, `Cookie`, an `X-Api-Key`, a `Host` override) and the TLS client certificate
   * (`tls.cert`, `tls.key`) are not sent to it, nor to any later hop; `tls.servername` applies
   * only while the host name stays the same. `origin` goes to every target. A non-ASCII `Location`
   * is read as UTF-8. @default false
   * @example { followRedirects: 3 }
   */
  followRedirects?: false | number;
  /** Offer permessage-deflate (RFC 7692). @default false @example { perMessageDeflate: { serverNoContextTakeover: true } } */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Wait this long (ms, at most 2147483647) for the server's close frame and TCP close after we send
   * ours, or `Infinity` to wait as long as the server takes. @default 10000 @example { closeTimeout: 2000 }
   */
  closeTimeout?: number;
}

export interface NormalizedDeflate {
  clientMaxWindowBits: number | true | undefined;
  serverMaxWindowBits: number | undefined;
  clientNoContextTakeover: boolean;
  serverNoContextTakeover: boolean;
  maxInflatedSize: number;
  threshold: number;
}

export interface NormalizedOptions {
  headers: Record<string, string>;
  origin: string | undefined;
  tls: TlsOptions;
  /** An explicit proxy (already checked), `false`, or undefined for the environment's. */
  proxy: URL | false | undefined;
  proxyTls: TlsOptions;
  handshakeTimeout: number;
  maxPayload: number;
  followRedirects: number;
  perMessageDeflate: NormalizedDeflate | undefined;
  closeTimeout: number;
}

export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;
export const DEFAULT_CLOSE_TIMEOUT = 10_000;
const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

function invalid(message: string): never {
  throw createError("ERR_INVALID_ARGUMENT", message);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) invalid(`${name} must be a positive number, got ${String(value)}`);
  return value;
}

/** setTimeout's largest delay: larger ones (Node, browsers) fire after 1 ms instead. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A delay in ms for setTimeout, or Infinity for no timer at all. */
function timeout(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || (value > MAX_TIMER_DELAY && value !== Infinity)) {
    invalid(`${name} must be a positive number of ms up to ${MAX_TIMER_DELAY}, or Infinity for no timeout, got ${String(value)}`);
  }
  return value;
}

function windowBits(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  // RFC 7692 §7.1.2.1: window bits are an integer from 8 to 15.
  if (!Number.isInteger(value) || value < 8 || value > 15) invalid(`${name} must be an integer from 8 to 15`);
  return value;
}

function typeName(value: unknown): string {
  return value === null ? "null" : typeof value;
}

/** `tls` / `proxyTls`: an object with fields of the right types. The key material is left to tls.connect. */
/** One shared empty TlsOptions: a connection that sets none keeps no object of its own. */
const NO_TLS: TlsOptions = Object.freeze({});

function tlsOptions(name: string, value: TlsOptions | undefined): TlsOptions {
  if (value === undefined) return NO_TLS;
  if (typeof value !== "object" || value === null) invalid(`${name} must be an object, got ${typeName(value)}`);
  if (value.servername !== undefined && typeof value.servername !== "string") invalid(`${name}.servername must be a string`);
  if (value.rejectUnauthorized !== undefined && typeof value.rejectUnauthorized !== "boolean") {
    invalid(`${name}.rejectUnauthorized must be a boolean`);
  }
  return value;
}

/** `origin` is a header value: checked now, like `headers`, not as a failed handshake later. */
function originOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") invalid(`origin must be a string, got ${typeName(value)}`);
  checkRequestHeader("Origin", value);
  return value;
}

/** An explicit proxy, parsed once here so that a bad one throws from the constructor. */
function proxyOption(value: string | URL | false | undefined): URL | false | undefined {
  if (value === undefined || value === false) return value;
  if (typeof value !== "string" && !(value instanceof URL)) {
    invalid(`proxy must be a URL or false, got ${typeName(value)}`);
  }
  // An empty variable means "unset", but an empty option is more likely a missing setting.
  if (typeof value === "string" && value.trim() === "") invalid('proxy must not be empty: use false for a direct connection, or leave it out for the environment\'s proxy');
  return parseProxyUrl(value, "ERR_INVALID_ARGUMENT");
}

export function normalizeOptions(options: NodeWebSocketOptions | undefined): NormalizedOptions {
  const o = options ?? {};
  const maxPayload = positive("maxPayload", o.maxPayload, DEFAULT_MAX_PAYLOAD);
  let perMessageDeflate: NormalizedDeflate | undefined;
  if (o.perMessageDeflate) {
    const d = o.perMessageDeflate === true ? {} : o.perMessageDeflate;
    const client = d.clientMaxWindowBits;
    perMessageDeflate = {
      clientMaxWindowBits: client === true || client === undefined ? true : windowBits("clientMaxWindowBits", client),
      serverMaxWindowBits: windowBits("serverMaxWindowBits", d.serverMaxWindowBits),
      clientNoContextTakeover: d.clientNoContextTakeover === true,
      serverNoContextTakeover: d.serverNoContextTakeover === true,
      maxInflatedSize: positive("maxInflatedSize", d.maxInflatedSize, maxPayload),
      threshold: d.threshold ?? 1024,
    };
  }
  const redirects = o.followRedirects;
  if (redirects !== undefined && redirects !== false && !(Number.isInteger(redirects) && redirects >= 0)) {
    invalid("followRedirects must be false or a number of hops");
  }
  const headers = o.headers ?? {};
  // Caught here, synchronously, rather than as a failed handshake after connecting.
  for (const [name, value] of Object.entries(headers)) checkRequestHeader(name, value);
  return {
    headers,
    origin: originOption(o.origin),
    tls: tlsOptions("tls", o.tls),
    proxy: proxyOption(o.proxy),
    proxyTls: tlsOptions("proxyTls", o.proxyTls),
    handshakeTimeout: timeout("handshakeTimeout", o.handshakeTimeout, DEFAULT_HANDSHAKE_TIMEOUT),
    maxPayload,
    followRedirects: redirects === undefined || redirects === false ? 0 : redirects,
    perMessageDeflate,
    closeTimeout: timeout("closeTimeout", o.closeTimeout, DEFAULT_CLOSE_TIMEOUT),
  };
}

/**
 * Options of the built-in RFC 6455 client (`resilient-ws/node`), normalized once into a fully
 * filled internal object so the rest of the adapter never checks for `undefined`.
 */
import { createError } from "../../errors.js";
import { checkRequestHeader } from "../../protocol/handshake.js";

/** TLS settings for `wss://`. Certificate verification is on unless `rejectUnauthorized: false`. */
export interface TlsOptions {
  /** Trusted CA certificates (PEM) instead of the runtime's default roots. @example { ca: readFileSync("ca.pem") } */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Client certificate chain (PEM) for mutual TLS. @example { cert: readFileSync("client.pem"), key: readFileSync("client.key") } */
  cert?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Private key (PEM) of `cert`. @example { key: readFileSync("client.key") } */
  key?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** SNI server name and the name the certificate must match. @default the URL's host name @example { servername: "api.example.com" } */
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
  /** `Origin` header, for servers that check it. @example { origin: "https://app.example" } */
  origin?: string;
  /** TLS settings for `wss://`. @example { tls: { ca: readFileSync("ca.pem") } } */
  tls?: TlsOptions;
  /**
   * HTTP CONNECT proxy URL, or `false` for a direct connection.
   * @default taken from `HTTPS_PROXY` (wss) / `HTTP_PROXY` (ws), honouring `NO_PROXY`
   * @example { proxy: "http://user:pass@proxy.local:3128" }
   */
  proxy?: string | URL | false;
  /**
   * TCP + proxy + TLS + upgrade must finish within this many ms (at most 2147483647), or `Infinity`
   * for no limit. @default 30000 @example { handshakeTimeout: 5000 }
   */
  handshakeTimeout?: number;
  /** Largest message accepted, in bytes; larger closes with 1009. @default 104857600 (100 MiB) @example { maxPayload: 1 << 20 } */
  maxPayload?: number;
  /**
   * Follow this many HTTP redirects during the handshake; credentials, authorization headers and a
   * `Host` override are never sent to another origin. @default false
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
  proxy: string | URL | false | undefined;
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
    origin: o.origin,
    tls: o.tls ?? {},
    proxy: o.proxy,
    handshakeTimeout: timeout("handshakeTimeout", o.handshakeTimeout, DEFAULT_HANDSHAKE_TIMEOUT),
    maxPayload,
    followRedirects: redirects === undefined || redirects === false ? 0 : redirects,
    perMessageDeflate,
    closeTimeout: timeout("closeTimeout", o.closeTimeout, DEFAULT_CLOSE_TIMEOUT),
  };
}

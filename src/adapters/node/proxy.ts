/**
 * HTTP CONNECT proxies (RFC 9110 §9.3.6): which proxy a URL goes through (the option, else
 * HTTPS_PROXY / HTTP_PROXY / ALL_PROXY honouring NO_PROXY, like curl), and opening the tunnel.
 */
import net from "node:net";
import tls from "node:tls";
import process from "node:process";
import { Buffer } from "node:buffer";
import { createError, type ErrorCode, type ResilientError } from "../../errors.js";
import { createProxyStatusError, withoutCredentials } from "./errors.js";
import type { TlsOptions } from "./options.js";
import { readResponseHead } from "./read-head.js";
import { tlsConnectOptions } from "./tls-connect.js";
import { connectionErrorText } from "./tls-errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** Only HTTP CONNECT proxies, reached over TCP (http:) or TLS (https:). */
const PROXY_PROTOCOLS = new Set(["http:", "https:"]);

/**
 * A variable's value, trimmed; empty counts as unset (curl's curl_getenv, lib/getenv.c), so an
 * exported empty `no_proxy` or `https_proxy` does not hide the upper-case spelling.
 */
function variable(env: Env, name: string): string | undefined {
  const value = readVariable(env, name)?.trim();
  return value === "" ? undefined : value;
}


/** Whether a variable names a proxy we can speak to: http://, https://, or no scheme (http). */
function usableScheme(value: string): boolean {
  const scheme = /^([a-z][a-z\d+.-]*):\/\//i.exec(value)?.[1];
  return scheme === undefined || PROXY_PROTOCOLS.has(`${scheme.toLowerCase()}:`);
}

/**
 * A variable's value, the lower-case spelling first (curl's order), each spelling empty or not
 * `usable` counting as unset.
 */
function envValue(env: Env, name: string, usable: (value: string) => boolean = () => true): string | undefined {
  for (const spelling of [name.toLowerCase(), name.toUpperCase()]) {
    const value = variable(env, spelling);
    if (value !== undefined && usable(value)) return value;
  }
  return undefined;
}

/**
 * A proxy variable's value, or undefined when unset. A value with another scheme counts as unset:
 * `ALL_PROXY=socks5://…`, as desktop settings export for clients that speak SOCKS, must not fail
 * every connection of one that does not.
 */
function proxyVariable(env: Env, name: string): string | undefined {
  return envValue(env, name, usableScheme);
}

/**
 * Deno without --allow-env for a variable throws when it is read: that variable counts as unset,
 * and each spelling is read on its own (a grant of HTTPS_PROXY alone still finds it).
 */
function readVariable(env: Env, name: string): string | undefined {
  try {
    return env[name];
  } catch {
    return undefined;
  }
}

function readEnv(): Env {
  try {
    return process.env;
  } catch {
    return {};
  }
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address, or undefined for anything else. */
function ipBytes(address: string): number[] | undefined {
  if (net.isIPv4(address)) return address.split(".").map(Number);
  if (!net.isIPv6(address)) return undefined;
  let text = address.replace(/%.*$/, "");
  // An IPv4 tail (::ffff:1.2.3.4) is the last two 16-bit groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const groups = (part: string | undefined): string[] => (part === undefined || part === "" ? [] : part.split(":"));
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return all.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

/** Whether `host` lies in `network`/`bits` (no `bits`: the whole address); both of one family. */
function inCidr(host: number[], network: string, bits: number | undefined): boolean {
  const bytes = ipBytes(network);
  if (bytes === undefined || bytes.length !== host.length) return false;
  const prefix = bits ?? host.length * 8;
  if (prefix > host.length * 8) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const mask = prefix - bit >= 8 ? 0xff : (0xff << (8 - (prefix - bit))) & 0xff;
    if (((host[bit / 8]! ^ bytes[bit / 8]!) & mask) !== 0) return false;
  }
  return true;
}

/**
 * Whether `target` bypasses the proxy, with curl's NO_PROXY semantics (lib/noproxy.c): `*` matches
 * all; an IP address host matches only a whole address or a CIDR block (`10.0.0.0/8`, `::1/128`);
 * a host name matches an entry and its subdomains (`example.com` and `.example.com` match
 * `a.example.com`, not `badexample.com`), ignoring a trailing dot. `host:port` matches that port only.
 */
export function isNoProxy(target: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = stripBrackets(target.hostname).toLowerCase().replace(/\.$/, "");
  const address = ipBytes(host);
  const port = target.port || (target.protocol === "wss:" ? "443" : "80");
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    let entryPort: string | undefined;
    // `host:port`, `[v6]:port`; a bare IPv6 address has colons but no port.
    const colon = entry.lastIndexOf(":");
    if (colon !== -1 && !net.isIPv6(entry) && /^\d+$/.test(entry.slice(colon + 1))) {
      entryPort = entry.slice(colon + 1);
      entry = entry.slice(0, colon);
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    if (address !== undefined) {
      // An IP is not a domain: "0.0.1" must not match 127.0.0.1 as a suffix would.
      const cidr = /^(.*)\/(\d+)$/.exec(entry);
      if (inCidr(address, stripBrackets(cidr === null ? entry : cidr[1]!), cidr === null ? undefined : Number(cidr[2]))) return true;
      continue;
    }
    entry = entry.replace(/^\*?\./, "").replace(/\.$/, "");
    if (entry !== "" && (host === entry || host.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/**
 * A proxy URL as given: a bare `host:port` means http://. Throws `code` when it is not a URL, not
 * http: or https:, or has credentials that are not valid %-encoding (they are decoded for
 * Proxy-Authorization). Messages never include the credentials.
 */
export function parseProxyUrl(value: string | URL, code: ErrorCode): URL {
  let url: URL;
  try {
    url = new URL(typeof value === "string" && !value.includes("://") ? `http://${value}` : value);
  } catch {
    // No cause: Deno's TypeError quotes the input, credentials included.
    throw createError(code, `invalid proxy URL ${withoutCredentials(value)}`);
  }
  if (!PROXY_PROTOCOLS.has(url.protocol)) {
    throw createError(code, `unsupported proxy protocol ${url.protocol} (only HTTP CONNECT proxies)`);
  }
  if (proxyCredentials(url) === null) {
    throw createError(code, `invalid %-escape in the credentials of proxy URL ${withoutCredentials(url)}`);
  }
  return url;
}

/**
 * The proxy from the environment for `target`: https_proxy (wss) or http_proxy (ws), else
 * all_proxy, as curl. Under CGI (REQUEST_METHOD set) HTTP_PROXY may be the request's own `Proxy:`
 * header ("httpoxy", CVE-2016-5385): curl never reads HTTP_PROXY and Go refuses it there, so it is
 * not used (either spelling). REQUEST_METHOD is read only when it matters (Deno may prompt).
 */
function environmentProxy(target: URL, env: Env): string | undefined {
  if (target.protocol === "wss:") return proxyVariable(env, "https_proxy") ?? proxyVariable(env, "all_proxy");
  const http = proxyVariable(env, "http_proxy");
  const cgi = http !== undefined && variable(env, "REQUEST_METHOD") !== undefined;
  return (cgi ? undefined : http) ?? proxyVariable(env, "all_proxy");
}

/**
 * The proxy for `target`, or undefined for a direct connection. An explicit `option` that cannot
 * be used is ERR_INVALID_ARGUMENT (normalizeOptions already checked it); a variable from the
 * environment that does not parse is ERR_PROXY at connect time.
 */
export function selectProxy(target: URL, option: string | URL | false | undefined, env: Env = readEnv()): URL | undefined {
  if (option === false) return undefined;
  if (option !== undefined) return parseProxyUrl(option, "ERR_INVALID_ARGUMENT");
  if (isNoProxy(target, envValue(env, "no_proxy"))) return undefined;
  const value = environmentProxy(target, env);
  return value === undefined ? undefined : parseProxyUrl(value, "ERR_PROXY");
}

/** `user:password` of a proxy URL, %-decoded; null when an escape is malformed; undefined without. */
function proxyCredentials(proxy: URL): string | null | undefined {
  if (proxy.username === "" && proxy.password === "") return undefined;
  try {
    return `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  } catch {
    return null;
  }
}

export interface TunnelTarget {
  host: string;
  port: number;
}

/** TCP to an http: proxy, TLS to an https: one, verified with `proxyTls` (not the server's `tls`). */
function connectToProxy(proxy: URL, proxyTls: TlsOptions): net.Socket {
  const host = stripBrackets(proxy.hostname);
  const port = Number(proxy.port || (proxy.protocol === "https:" ? 443 : 80));
  return proxy.protocol === "https:" ? tls.connect({ ...tlsConnectOptions(host, proxyTls), port }) : net.connect({ host, port });
}

/** The CONNECT request head (RFC 9110 §9.3.6: the request target is the authority, host:port). */
function connectRequest(proxy: URL, authority: string): string {
  let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  const credentials = proxyCredentials(proxy);
  if (credentials === null) {
    // parseProxyUrl refuses such a URL before; kept so a bad escape can never become a URIError.
    throw createError("ERR_PROXY", `invalid %-escape in the credentials of proxy URL ${withoutCredentials(proxy)}`);
  }
  if (credentials !== undefined) request += `Proxy-Authorization: Basic ${Buffer.from(credentials).toString("base64")}\r\n`;
  return `${request}\r\n`;
}

/**
 * Connect to `proxy` and ask it for a tunnel to `target`. Resolves with the raw socket once the
 * proxy answered 2xx; `track` receives every socket so the caller's timeout can destroy it.
 */
export async function openTunnel(proxy: URL, target: TunnelTarget, proxyTls: TlsOptions, track: (socket: net.Socket) => void): Promise<net.Socket> {
  const authority = net.isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const request = connectRequest(proxy, authority);
  const socket = connectToProxy(proxy, proxyTls);
  track(socket);
  socket.write(request);

  const proxyError = (message: string, cause?: unknown): ResilientError => createError("ERR_PROXY", `proxy ${proxy.host}${message}`, undefined, cause);
  const { head, rest } = await readResponseHead(socket, {
    lost: (error) => (error === undefined ? proxyError(" closed the connection before answering CONNECT") : proxyError(`: ${connectionErrorText(error, "proxyTls")}`, error)),
    malformed: (error) => proxyError(` sent an invalid answer to CONNECT: ${error instanceof Error ? error.message : String(error)}`, error),
  });
  if (head.status < 200 || head.status > 299) {
    socket.destroy();
    // Status and headers kept, as for the server's own refusal: a 407 (RFC 9110 §15.5.8) says in
    // Proxy-Authenticate what the proxy wants, and a 429/503 Retry-After (§10.2.3) floors the
    // next reconnect delay of ResilientWebSocket.
    throw createProxyStatusError(`proxy ${proxy.host} refused CONNECT ${authority}: ${head.status} ${head.statusText}`.trimEnd(), head);
  }
  // RFC 9110 §9.3.6: after a 2xx the connection is the tunnel; whatever followed the head is the
  // target's (a server that speaks first, or a TLS server hello).
  if (rest.length > 0) socket.unshift(rest);
  return socket;
}

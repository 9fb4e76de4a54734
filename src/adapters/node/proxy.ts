/**
 * HTTP CONNECT proxies (RFC 9110 §9.3.6): which proxy a URL goes through (the option, else
 * HTTPS_PROXY / HTTP_PROXY honouring NO_PROXY, like curl), and opening the tunnel.
 */
import net from "node:net";
import tls from "node:tls";
import process from "node:process";
import { Buffer } from "node:buffer";
import { createError, type ResilientError } from "../../errors.js";
import { withoutCredentials } from "./errors.js";
import { readResponseHead } from "./read-head.js";

export type Env = Readonly<Record<string, string | undefined>>;

function envValue(env: Env, name: string): string | undefined {
  const value = readVariable(env, name.toLowerCase()) ?? readVariable(env, name.toUpperCase());
  return value === undefined || value.trim() === "" ? undefined : value.trim();
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

/** The proxy for `target`, or undefined for a direct connection. */
export function selectProxy(target: URL, option: string | URL | false | undefined, env: Env = readEnv()): URL | undefined {
  if (option === false) return undefined;
  let value: string | URL | undefined = option;
  if (value === undefined) {
    if (isNoProxy(target, envValue(env, "no_proxy"))) return undefined;
    value = target.protocol === "wss:" ? envValue(env, "https_proxy") ?? envValue(env, "all_proxy") : envValue(env, "http_proxy") ?? envValue(env, "all_proxy");
    if (value === undefined) return undefined;
  }
  let url: URL;
  try {
    url = new URL(typeof value === "string" && !value.includes("://") ? `http://${value}` : value);
  } catch {
    // No cause: Deno's TypeError quotes the input, credentials included.
    throw createError("ERR_PROXY", `invalid proxy URL ${withoutCredentials(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw createError("ERR_PROXY", `unsupported proxy protocol ${url.protocol} (only HTTP CONNECT proxies)`);
  }
  return url;
}

export interface TunnelTarget {
  host: string;
  port: number;
}

/**
 * Connect to `proxy` and ask it for a tunnel to `target`. Resolves with the raw socket once the
 * proxy answered 2xx; `track` receives every socket so the caller's timeout can destroy it.
 */
export async function openTunnel(proxy: URL, target: TunnelTarget, track: (socket: net.Socket) => void): Promise<net.Socket> {
  const proxyHost = stripBrackets(proxy.hostname);
  const proxyPort = Number(proxy.port || (proxy.protocol === "https:" ? 443 : 80));
  const socket: net.Socket =
    proxy.protocol === "https:"
      ? tls.connect({ host: proxyHost, port: proxyPort, servername: net.isIP(proxyHost) ? undefined : proxyHost })
      : net.connect({ host: proxyHost, port: proxyPort });
  track(socket);
  const authority = net.isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (proxy.username !== "" || proxy.password !== "") {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    request += `Proxy-Authorization: Basic ${Buffer.from(credentials).toString("base64")}\r\n`;
  }
  socket.write(`${request}\r\n`);

  const proxyError = (message: string, cause?: unknown): ResilientError => createError("ERR_PROXY", `proxy ${proxy.host}${message}`, undefined, cause);
  const { head, rest } = await readResponseHead(socket, {
    lost: (error) => (error === undefined ? proxyError(" closed the connection before answering CONNECT") : proxyError(`: ${error.message}`, error)),
    malformed: (error) => proxyError(` sent an invalid answer to CONNECT: ${error instanceof Error ? error.message : String(error)}`, error),
  });
  if (head.status < 200 || head.status > 299) {
    socket.destroy();
    throw proxyError(` refused CONNECT ${authority}: ${head.status} ${head.statusText}`.trimEnd());
  }
  // RFC 9110 §9.3.6: after a 2xx the connection is the tunnel; whatever followed the head is the
  // target's (a server that speaks first, or a TLS server hello).
  if (rest.length > 0) socket.unshift(rest);
  return socket;
}

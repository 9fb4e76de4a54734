/**
 * HTTP CONNECT proxies (RFC 9110 §9.3.6): which proxy a URL goes through (the option, else
 * HTTPS_PROXY / HTTP_PROXY honouring NO_PROXY, like curl), and opening the tunnel.
 */
import net from "node:net";
import tls from "node:tls";
import process from "node:process";
import { Buffer } from "node:buffer";
import { createError } from "../../errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

function envValue(env: Env, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function readEnv(): Env {
  try {
    return process.env;
  } catch {
    // Deno without --allow-env throws on access: behave as if no proxy is configured.
    return {};
  }
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** curl semantics: `*` matches all; `example.com` and `.example.com` match the host and its subdomains. */
export function isNoProxy(target: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = stripBrackets(target.hostname).toLowerCase();
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
    entry = stripBrackets(entry.replace(/^\*?\./, ""));
    if (host === entry || host.endsWith(`.${entry}`)) return true;
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
  } catch (cause) {
    throw createError("ERR_PROXY", `invalid proxy URL ${String(value)}`, undefined, cause);
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

const MAX_PROXY_HEAD = 16 * 1024;

/**
 * Connect to `proxy` and ask it for a tunnel to `target`. Resolves with the raw socket once the
 * proxy answered 2xx; `track` receives every socket so the caller's timeout can destroy it.
 */
export function openTunnel(proxy: URL, target: TunnelTarget, track: (socket: net.Socket) => void): Promise<net.Socket> {
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

  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    const cleanup = (): void => {
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    const fail = (message: string, cause?: unknown): void => {
      cleanup();
      socket.destroy();
      reject(createError("ERR_PROXY", message, undefined, cause));
    };
    const onError = (error: Error): void => fail(`proxy ${proxy.host}: ${error.message}`, error);
    const onClose = (): void => fail(`proxy ${proxy.host} closed the connection before answering CONNECT`);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) {
        if (head.length > MAX_PROXY_HEAD) fail(`proxy ${proxy.host} sent an oversized response head`);
        return;
      }
      const statusLine = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      const status = match === null ? 0 : Number(match[1]);
      if (status < 200 || status > 299) {
        fail(`proxy ${proxy.host} refused CONNECT ${authority}: ${statusLine || "no status line"}`);
        return;
      }
      cleanup();
      socket.pause();
      // RFC 9110 §9.3.6: after a 2xx the connection is the tunnel; nothing else may follow the head.
      if (head.length > end + 4) socket.unshift(head.subarray(end + 4));
      resolve(socket);
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
}

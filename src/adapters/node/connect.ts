/**
 * Open the byte stream a WebSocket runs on: TCP or TLS, directly or through an HTTP CONNECT
 * tunnel. Resolves once the stream can carry the opening handshake.
 */
import net from "node:net";
import tls from "node:tls";
import { createError } from "../../errors.js";
import type { NormalizedOptions } from "./options.js";
import { openTunnel, selectProxy } from "./proxy.js";
import { tlsConnectOptions } from "./tls-connect.js";
import { connectionErrorText } from "./tls-errors.js";

export function hostOf(url: URL): string {
  const host = url.hostname;
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

export function portOf(url: URL): number {
  return Number(url.port || (url.protocol === "wss:" ? 443 : 80));
}

function connectionError(url: URL, error: Error): Error {
  return createError("ERR_CONNECTION", `cannot connect to ${url.host}: ${connectionErrorText(error, "tls")}`, undefined, error);
}

/** Resolves with `socket` on `ready`; on an earlier error destroys it and rejects. */
function settled(socket: net.Socket, ready: "connect" | "secureConnect", url: URL): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      socket.off(ready, onReady);
      socket.destroy();
      reject(connectionError(url, error));
    };
    const onReady = (): void => {
      socket.off("error", onError);
      resolve(socket);
    };
    socket.once("error", onError);
    socket.once(ready, onReady);
  });
}

function secure(url: URL, options: NormalizedOptions, socket: net.Socket | undefined, track: (s: net.Socket) => void): Promise<net.Socket> {
  const tlsSocket = tls.connect({ ...tlsConnectOptions(hostOf(url), options.tls), socket, port: portOf(url), ALPNProtocols: ["http/1.1"] });
  track(tlsSocket);
  return settled(tlsSocket, "secureConnect", url);
}

function plain(url: URL, track: (s: net.Socket) => void): Promise<net.Socket> {
  const socket = net.connect({ host: hostOf(url), port: portOf(url) });
  track(socket);
  return settled(socket, "connect", url);
}

/** `track` gets every socket as soon as it exists so a handshake timeout can destroy it. */
export async function openStream(url: URL, options: NormalizedOptions, track: (s: net.Socket) => void): Promise<net.Socket> {
  const proxy = selectProxy(url, options.proxy);
  let socket: net.Socket;
  if (proxy === undefined) {
    socket = url.protocol === "wss:" ? await secure(url, options, undefined, track) : await plain(url, track);
  } else {
    const tunnel = await openTunnel(proxy, { host: hostOf(url), port: portOf(url) }, options.proxyTls, track);
    socket = url.protocol === "wss:" ? await secure(url, options, tunnel, track) : tunnel;
  }
  // Small frames go out at once; we already write header and payload with one write.
  socket.setNoDelay(true);
  return socket;
}

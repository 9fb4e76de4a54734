// Shared by the node-client-*.test.ts files (run by Node and, through test/deno/, by Deno): real
// peers on 127.0.0.1 port 0, a raw upgrade server for injecting bad frames, and event helpers.
import net from "node:net";
import tls from "node:tls";
import https from "node:https";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { WebSocketServer, type ServerOptions, type WebSocket as WsSocket } from "ws";
import type { WebSocket } from "../../src/node-client.js";

export const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Next `type` event of `target`; rejects on an `error` event first when `type` is not "error". */
export function next<T extends Event = Event>(target: EventTarget, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (event: Event): void => {
      target.removeEventListener(type, onEvent);
      target.removeEventListener("error", onError);
      resolve(event as T);
    };
    const onError = (event: Event): void => {
      target.removeEventListener(type, onEvent);
      target.removeEventListener("error", onError);
      reject((event as Event & { error?: unknown }).error ?? new Error("error event"));
    };
    target.addEventListener(type, onEvent);
    if (type !== "error") target.addEventListener("error", onError);
  });
}

/** Resolves when `ws` is closed; with `error` it also records the error event that came first. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string; wasClean: boolean; error: unknown }> {
  return new Promise((resolve) => {
    let error: unknown;
    ws.addEventListener("error", (event) => {
      error = event.error;
    });
    ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean, error }));
  });
}

/** The next `count` messages' data. */
export function messages(ws: WebSocket, count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const out: unknown[] = [];
    const onMessage = (event: MessageEvent): void => {
      out.push(event.data);
      if (out.length === count) {
        ws.removeEventListener("message", onMessage);
        resolve(out);
      }
    };
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", () => reject(new Error(`closed after ${out.length} of ${count} messages`)));
  });
}

/**
 * The next `count` messages a `ws` server socket receives, in order. Rejects if the socket fails
 * or closes first (ws closes on a frame it cannot accept, so a corrupted frame fails at once).
 */
export function serverMessages(socket: WsSocket, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    socket.on("message", (data: Buffer) => {
      if (out.push(data) === count) resolve(out);
    });
    socket.on("error", (error: Error) => reject(new Error(`the server failed after ${out.length} of ${count} messages: ${error.message}`)));
    socket.on("close", (code: number) => reject(new Error(`the server closed (${code}) after ${out.length} of ${count} messages`)));
  });
}

export interface WsPeer {
  wss: WebSocketServer;
  url: string;
  port: number;
  /** Server-side sockets, in connection order. */
  sockets: WsSocket[];
  /** Request headers of each upgrade, in order. */
  requests: Array<Record<string, string | string[] | undefined>>;
  nextConnection(): Promise<WsSocket>;
  close(): Promise<void>;
}

/**
 * A self-signed certificate for `san` (default 127.0.0.1 and localhost), made by openssl now. Key
 * and certificate both go to stdout: no temporary files.
 */
export function testCertificate(san = "IP:127.0.0.1,DNS:localhost", cn = "localhost"): { key: string; cert: string } {
  const pem = execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", "-", "-out", "-", "-days", "1", "-subj", `/CN=${cn}`,
    "-addext", `subjectAltName=${san}`,
    "-addext", "basicConstraints=critical,CA:FALSE",
  ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return {
    key: /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/.exec(pem)![0],
    cert: /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(pem)![0],
  };
}

/**
 * A real `ws` server; `echo` answers every message with the same data and type. With `tls` (a
 * testCertificate()) it serves wss:// from an https server.
 */
export async function wsServer(options: ServerOptions & { echo?: boolean; tls?: { key: string; cert: string } } = {}): Promise<WsPeer> {
  const { echo = true, tls, ...serverOptions } = options;
  const httpsServer = tls === undefined ? undefined : https.createServer(tls);
  const wss =
    httpsServer === undefined
      ? new WebSocketServer({ host: "127.0.0.1", port: 0, ...serverOptions })
      : new WebSocketServer({ server: httpsServer, ...serverOptions });
  if (httpsServer === undefined) await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  else await new Promise<void>((resolve) => httpsServer.listen(0, "127.0.0.1", () => resolve()));
  const port = ((httpsServer ?? wss).address() as net.AddressInfo).port;
  const sockets: WsSocket[] = [];
  const requests: WsPeer["requests"] = [];
  const waiters: Array<(socket: WsSocket) => void> = [];
  wss.on("connection", (socket, request) => {
    sockets.push(socket);
    requests.push(request.headers);
    if (echo) socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
    waiters.shift()?.(socket);
  });
  return {
    wss,
    port,
    url: `${httpsServer === undefined ? "ws" : "wss"}://127.0.0.1:${port}`,
    sockets,
    requests,
    nextConnection: () => new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => {
          if (httpsServer === undefined) resolve();
          else httpsServer.close(() => resolve());
        });
      }),
  };
}

export function acceptFor(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

export interface RawPeer {
  url: string;
  port: number;
  /** Raw request heads received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A server speaking raw bytes. By default it answers the upgrade correctly and hands the socket
 * to `onUpgrade`; `respond` replaces the whole response (return undefined to never answer).
 */
export async function rawServer(options: {
  onUpgrade?: (socket: net.Socket, request: string) => void;
  respond?: (key: string, request: string) => string | undefined;
  /** Write the response one byte per write, a millisecond apart, before onUpgrade. */
  byteByByte?: boolean;
}): Promise<RawPeer> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = "";
    const onData = async (chunk: Buffer): Promise<void> => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      const request = head.slice(0, end);
      requests.push(request);
      const key = /sec-websocket-key: *(\S+)/i.exec(request)?.[1] ?? "";
      const response = options.respond
        ? options.respond(key, request)
        : `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
      if (response === undefined) return;
      if (options.byteByByte === true) {
        socket.pause();
        for (const byte of Buffer.from(response, "latin1")) {
          if (socket.destroyed) return;
          socket.write(Uint8Array.of(byte));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        socket.resume();
      } else {
        socket.write(response, "latin1");
      }
      const rest = head.length > end + 4 ? Buffer.from(head.slice(end + 4), "latin1") : undefined;
      if (rest !== undefined) socket.unshift(rest);
      options.onUpgrade?.(socket, request);
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An unmasked server frame (RFC 6455 §5.2), with raw control over every header bit. */
export function serverFrame(opcode: number, payload: Uint8Array | string = new Uint8Array(0), flags: { fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const length = data.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const mask = flags.mask === true;
  const frame = Buffer.alloc(2 + extended + (mask ? 4 : 0) + length);
  frame[0] = ((flags.fin ?? true) ? 0x80 : 0) | ((flags.rsv ?? 0) << 4) | opcode;
  frame[1] = (mask ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) frame.writeUInt16BE(length, 2);
  if (extended === 8) frame.writeBigUInt64BE(BigInt(length), 2);
  const offset = 2 + extended + (mask ? 4 : 0);
  data.copy(frame, offset);
  return frame;
}

/**
 * Collects client frames from a raw socket (unmasking them) so a test can see what the client
 * sent, e.g. the close code after a protocol violation.
 */
export class FrameReader {
  readonly frames: ClientFrame[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #waiters: Array<{ opcode: number; resolve: (payload: Buffer) => void }> = [];

  constructor(socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
  }

  /** Payload of the next frame with `opcode` (already received or still to come). */
  waitFor(opcode: number): Promise<Buffer> {
    const found = this.frames.find((frame) => frame.opcode === opcode);
    if (found !== undefined) return Promise.resolve(found.payload);
    return new Promise((resolve) => this.#waiters.push({ opcode, resolve }));
  }

  #parse(): void {
    for (let taken; (taken = takeClientFrame(this.#buffer)); ) {
      const { frame, rest } = taken;
      this.frames.push(frame);
      this.#buffer = rest;
      for (const waiter of [...this.#waiters]) {
        if (waiter.opcode === frame.opcode) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(frame.payload);
        }
      }
    }
  }
}

/** A frame as a raw server reads it from the client, unmasked. */
export interface ClientFrame {
  opcode: number;
  fin: boolean;
  rsv: number;
  masked: boolean;
  payload: Buffer;
}

/** The first complete frame in `buffer` (unmasked) and the bytes after it; undefined until one is complete. */
export function takeClientFrame(buffer: Buffer): { frame: ClientFrame; rest: Buffer } | undefined {
  const b = buffer;
  if (b.length < 2) return undefined;
  let length = b[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (b.length < 4) return undefined;
    length = b.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (b.length < 10) return undefined;
    length = Number(b.readBigUInt64BE(2));
    offset = 10;
  }
  const masked = (b[1]! & 0x80) !== 0;
  if (b.length < offset + (masked ? 4 : 0) + length) return undefined;
  const key = masked ? b.subarray(offset, offset + 4) : undefined;
  if (masked) offset += 4;
  const payload = Buffer.from(b.subarray(offset, offset + length));
  if (key !== undefined) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  return { frame: { opcode: b[0]! & 0x0f, fin: (b[0]! & 0x80) !== 0, rsv: (b[0]! >> 4) & 0x7, masked, payload }, rest: b.subarray(offset + length) };
}

export function closeCodeOf(payload: Buffer): number | undefined {
  return payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
}

/** A close frame's body as a peer encodes it (the inverse of closeCodeOf): empty, or the code then the reason. */
export function closeBody(code: number | undefined, reason: string | undefined): Buffer {
  if (code === undefined && !reason) return Buffer.alloc(0);
  const body = Buffer.alloc(2);
  body.writeUInt16BE(code ?? 1000);
  return Buffer.concat([body, Buffer.from(reason ?? "")]);
}

export interface Proxy {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export interface ProxyOptions {
  requireAuth?: string;
  established?: string;
  byteByByte?: boolean;
  /** The whole answer to every CONNECT, e.g. a 503 with Retry-After: nothing is tunnelled. */
  refuse?: string;
  /** Serve as an https:// proxy with this certificate (and these server options: requestCert, …). */
  tls?: tls.TlsOptions & { key: string; cert: string };
  /**
   * Tunnel every CONNECT to this host at the requested port instead of the requested host: tests
   * then use host names (a.test) without DNS, and without a net permission for them in Deno.
   */
  upstreamHost?: string;
}

/**
 * A small HTTP CONNECT proxy (RFC 9110 §9.3.6) that records each CONNECT head it tunnels.
 * `established` is its 2xx answer; with `byteByByte` each byte of it is a write of its own.
 */
export async function connectProxy(options: ProxyOptions = {}): Promise<Proxy> {
  const { requireAuth, established = "HTTP/1.1 200 Connection Established\r\n\r\n", byteByByte = false, refuse, upstreamHost } = options;
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const onClient = (client: net.Socket): void => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    let head = "";
    const onData = (chunk: Buffer): void => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      client.off("data", onData);
      // Hold what the client sends next (its upgrade request) until the tunnel is piped.
      client.pause();
      const request = head.slice(0, end);
      requests.push(request);
      const [method, authority] = request.split(" ");
      if (method !== "CONNECT" || authority === undefined) {
        client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
        return;
      }
      if (refuse !== undefined) {
        client.end(refuse);
        return;
      }
      if (requireAuth !== undefined && !request.includes(`\r\nProxy-Authorization: Basic ${requireAuth}`)) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\n\r\n');
        return;
      }
      const colon = authority.lastIndexOf(":");
      const upstream = net.connect(Number(authority.slice(colon + 1)), upstreamHost ?? authority.slice(0, colon).replace(/^\[|\]$/g, ""));
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
      upstream.once("connect", async () => {
        if (byteByByte) {
          for (const byte of Buffer.from(established, "latin1")) {
            client.write(Uint8Array.of(byte));
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        } else {
          client.write(established);
        }
        // Bytes that came with the CONNECT (none from our client, which waits for the 200).
        if (head.length > end + 4) upstream.write(Buffer.from(head.slice(end + 4), "latin1"));
        upstream.pipe(client);
        client.pipe(upstream);
        // pipe() unpipes and pauses the client once upstream is closed; keep reading, so the
        // client's end of the tunnel is seen and its socket closes instead of staying open.
        upstream.once("close", () => client.resume());
      });
    };
    client.on("data", onData);
  };
  const server = options.tls === undefined ? net.createServer(onClient) : tls.createServer(options.tls, onClient);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

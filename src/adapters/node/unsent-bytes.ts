/**
 * How many bytes written to a socket the kernel does not have yet: what bufferedAmount and the
 * count of unsent messages are made from.
 */
import type net from "node:net";

/** The parts of Node's net.Socket internals read here; each may be missing (Deno, Bun, TLS). */
interface SocketInternals {
  encrypted?: unknown;
  _writableState?: { writing?: unknown; writelen?: unknown };
  _handle?: { writeQueueSize?: unknown } | null;
}

/**
 * writableLength counts a write until it completes, and Node gathers everything queued behind a
 * pending write into one writev: on a slow link it falls in steps of tens of MiB, while the kernel
 * takes the writev's bytes bit by bit. Node's libuv handle knows how much of the write in progress
 * is still unwritten (`writeQueueSize`, read live from uv_stream_t), which makes the count exact.
 * A TLS socket's handle counts ciphertext, and Deno and Bun have no such handle: writableLength
 * then, which is never less than the truth.
 */
export function unsentBytes(socket: net.Socket): number {
  const length = socket.writableLength;
  if (length === 0) return 0;
  const internals = socket as unknown as SocketInternals;
  if (internals.encrypted === true) return length;
  const state = internals._writableState;
  const inLibuv = handleQueueSize(socket);
  const inFlight = state?.writelen;
  if (state?.writing !== true || inLibuv === undefined || typeof inFlight !== "number" || inFlight > length) return length;
  // Bytes behind the write in progress, plus what libuv has not written of it.
  return length - inFlight + Math.min(inLibuv, inFlight);
}

/** Bytes of the write in progress that the socket's handle has not written yet; undefined without such a handle (Deno, Bun). */
export function handleQueueSize(socket: net.Socket): number | undefined {
  const size = (socket as unknown as SocketInternals)._handle?.writeQueueSize;
  return typeof size === "number" ? size : undefined;
}

/**
 * Whether unsentBytes falls while a write is in progress: only where the socket's handle counts
 * what is left of the write (Node's plain sockets). Elsewhere (TLS, whose handle counts ciphertext;
 * Deno and Bun, which have no such handle) a write counts whole until it completes.
 */
export function showsWriteProgress(socket: net.Socket): boolean {
  return (socket as unknown as SocketInternals).encrypted !== true && handleQueueSize(socket) !== undefined;
}

/**
 * Reading an HTTP response head off a socket: the server's answer to the upgrade request, and a
 * proxy's answer to CONNECT. Both are parsed by the same ResponseHeadReader (src/protocol), so
 * they accept and refuse the same things (bare LF line endings, a 16 KiB bound), and both skip
 * interim 1xx responses (100 Continue, 103 Early Hints) before the final answer, as RFC 9110
 * §15.2 requires of a client: the head resolved is the 101, the 2xx, or the failure status.
 */
import type net from "node:net";
import { Buffer } from "node:buffer";
import { ResponseHeadReader, type ResponseHead } from "../../protocol/response-head.js";
import type { ResilientError } from "../../errors.js";

/** How a failure before the head is complete is reported; the caller names its own error codes. */
export interface HeadReadFailures {
  /** The socket failed, or closed (error undefined), before the head was complete. */
  lost(error: Error | undefined): ResilientError;
  /** The bytes cannot be an HTTP response head (the parser's error). */
  malformed(error: unknown): ResilientError;
}

export interface ReadHead {
  head: ResponseHead;
  /** Bytes that arrived after the head, in the same chunk. */
  rest: Buffer;
}

/**
 * Resolves with the head once it is complete and leaves the socket paused with `rest` unread,
 * so that whoever takes the socket over decides when data flows. On failure the socket is
 * destroyed and the promise rejects with the caller's error.
 */
export function readResponseHead(socket: net.Socket, failures: HeadReadFailures): Promise<ReadHead> {
  return new Promise((resolve, reject) => {
    const reader = new ResponseHeadReader();
    const cleanup = (): void => {
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    const fail = (error: ResilientError): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(failures.lost(error));
    const onClose = (): void => fail(failures.lost(undefined));
    const onData = (chunk: Buffer): void => {
      let read: { head: ResponseHead; rest: Uint8Array } | null;
      try {
        read = reader.push(chunk);
      } catch (error) {
        fail(failures.malformed(error));
        return;
      }
      if (read === null) return;
      cleanup();
      socket.pause();
      const { rest } = read;
      resolve({ head: read.head, rest: Buffer.from(rest.buffer, rest.byteOffset, rest.byteLength) });
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
    // A proxy tunnel arrives paused (openTunnel stops the flow after the CONNECT answer).
    socket.resume();
  });
}

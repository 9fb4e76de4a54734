/**
 * permessage-deflate (RFC 7692) on node:zlib. One message at a time per direction: the owner
 * serializes calls, which is what keeps messages in order while zlib works asynchronously.
 */
import zlib from "node:zlib";
import { Buffer } from "node:buffer";
import { createError, type ResilientError } from "../../errors.js";

/** Parameters agreed in the handshake (RFC 7692 §7.1). */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

/** RFC 7692 §7.2.1: the sender strips, the receiver appends, this empty stored block. */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

function ignore(): void {}

export type InflateCallback = (error: ResilientError | null, data: Buffer | null) => void;
export type DeflateCallback = (data: Buffer) => void;

export class PerMessageDeflate {
  readonly params: DeflateParams;
  readonly #maxInflated: number;
  // Streams are created on first use: an idle connection holds no zlib memory.
  #inflate: zlib.InflateRaw | undefined;
  #deflate: zlib.DeflateRaw | undefined;
  #inChunks: Buffer[] = [];
  #inLength = 0;
  #inCallback: InflateCallback | undefined;
  #outChunks: Buffer[] = [];
  #outLength = 0;
  #outCallback: DeflateCallback | undefined;

  constructor(params: DeflateParams, maxInflatedSize: number) {
    this.params = params;
    this.#maxInflated = maxInflatedSize;
  }

  /**
   * Whether we may compress what we send. With client_max_window_bits=8, zlib would use a 9-bit
   * window the server did not agree to, so such messages go uncompressed (RFC 7692 §6 leaves the
   * choice per message to the sender).
   */
  get canCompress(): boolean {
    return this.params.clientMaxWindowBits > 8;
  }

  /** Inflate one message (all its fragments' payload, concatenated). */
  decompress(data: Uint8Array, callback: InflateCallback): void {
    const inflate = (this.#inflate ??= this.#createInflate());
    this.#inCallback = callback;
    inflate.write(data);
    // Deno's zlib inflates inside write(): a message over the limit may already have been refused.
    if (this.#inflate !== inflate) return;
    inflate.write(TRAILER);
    // The callback of an inflater abandoned meanwhile (a message over the limit) must not finish
    // the message of the next one.
    inflate.flush(() => {
      if (this.#inflate === inflate) this.#onInflated();
    });
  }

  /** Deflate one message; the callback gets the payload to send with RSV1 set. */
  compress(data: Uint8Array, callback: DeflateCallback): void {
    const deflate = (this.#deflate ??= this.#createDeflate());
    this.#outCallback = callback;
    deflate.write(data);
    deflate.flush(zlib.constants.Z_SYNC_FLUSH, this.#onDeflated);
  }

  close(): void {
    this.#inflate?.close();
    this.#deflate?.close();
    this.#inflate = undefined;
    this.#deflate = undefined;
    this.#inCallback = undefined;
    this.#outCallback = undefined;
  }

  #createInflate(): zlib.InflateRaw {
    // zlib cannot deflate with a 256-byte window and silently uses 512 (Node and zlib do this):
    // a peer that agreed to 8 may send 9-bit distances, which a 9-bit window accepts.
    const inflate = zlib.createInflateRaw({ windowBits: Math.max(9, this.params.serverMaxWindowBits) });
    inflate.on("data", this.#onInflateData);
    inflate.on("error", this.#onInflateError);
    return inflate;
  }

  #createDeflate(): zlib.DeflateRaw {
    const deflate = zlib.createDeflateRaw({ windowBits: this.params.clientMaxWindowBits });
    deflate.on("data", this.#onDeflateData);
    return deflate;
  }

  readonly #onInflateData = (chunk: Buffer): void => {
    this.#inLength += chunk.length;
    if (this.#inLength > this.#maxInflated) {
      // RFC 6455 §7.4.1: 1009 for a message too big to process, at once. The inflater is dropped
      // with the rest of its input: a small compressed bomb costs neither the memory nor the time
      // of its inflated size (1 MiB that inflates to 1 GiB took 2.4 s to refuse, ws takes 27 ms).
      this.#abandonInflate();
      this.#finishInflate(createError("ERR_PAYLOAD_TOO_BIG", `inflated message exceeds maxInflatedSize (${this.#maxInflated} bytes)`, 1009), null);
      return;
    }
    this.#inChunks.push(chunk);
  };

  /** Close the inflater without waiting for what it still has to do. */
  #abandonInflate(): void {
    const inflate = this.#inflate;
    this.#inflate = undefined;
    if (inflate === undefined) return;
    inflate.removeAllListeners("data");
    inflate.removeAllListeners("error");
    // Writes queued before the close may still fail; nothing listens for their outcome any more.
    inflate.on("error", ignore);
    inflate.close();
  }

  /** Hand the message (or its error) to the waiting callback, once. */
  #finishInflate(error: ResilientError | null, data: Buffer | null): void {
    const callback = this.#inCallback;
    this.#inCallback = undefined;
    this.#inChunks = [];
    this.#inLength = 0;
    callback?.(error, data);
  }

  readonly #onInflateError = (error: Error): void => {
    this.#abandonInflate();
    // RFC 7692 §8 leaves the code open; like ws we report undecodable data as 1007.
    this.#finishInflate(createError("ERR_PROTOCOL", `invalid compressed data: ${error.message}`, 1007, error), null);
  };

  #onInflated(): void {
    // Deno calls flush's callback on an inflater that failed before emitting its 'error': the data
    // was not valid, whatever came out of it so far.
    const failed = this.#inflate?.errored;
    if (failed) {
      this.#onInflateError(failed);
      return;
    }
    if (this.#inCallback === undefined) return;
    const chunks = this.#inChunks;
    const length = this.#inLength;
    if (this.#inflate?.readableEnded === true) {
      // RFC 7692 §7.2.3.4: a sender may end a message with a DEFLATE block that has BFINAL set.
      // That ends zlib's stream, and zlib would ignore every later message (each would inflate
      // to nothing), so the next message gets a new inflater, as in ws.
      this.#inflate.close();
      this.#inflate = undefined;
    } else if (this.params.serverNoContextTakeover) {
      // RFC 7692 §7.1.1.1: without context takeover the next message starts from an empty window.
      this.#inflate?.reset();
    }
    this.#finishInflate(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
  }

  readonly #onDeflateData = (chunk: Buffer): void => {
    this.#outChunks.push(chunk);
    this.#outLength += chunk.length;
  };

  readonly #onDeflated = (): void => {
    const callback = this.#outCallback;
    if (callback === undefined) return;
    this.#outCallback = undefined;
    const data = this.#outChunks.length === 1 ? this.#outChunks[0]! : Buffer.concat(this.#outChunks, this.#outLength);
    this.#outChunks = [];
    this.#outLength = 0;
    if (this.params.clientNoContextTakeover) this.#deflate?.reset();
    // RFC 7692 §7.2.1: remove the 4-octet 00 00 ff ff tail of the sync flush.
    callback(data.subarray(0, data.length - 4));
  };
}

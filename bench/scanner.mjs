// Minimal server-side reader of client frames (always masked, RFC 6455 §5.3) for the echo and sink
// endpoints. `ws` does the handshake; this loop replaces ws's per-message server path after it,
// because that path saturates near 135k round trips/s on this machine, below the client speeds
// the benchmark has to resolve. Frames are handed over whole; payloads are kept (and unmasked)
// only when asked for, so a 1 MiB sink costs header parsing and nothing else.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const bufferUtil = require("bufferutil");

export class FrameScanner {
  /** @param {boolean} keep keep data payloads  @param {(fin, opcode, payload) => void} onFrame */
  constructor(keep, onFrame) {
    this.keep = keep;
    this.onFrame = onFrame;
    this.pending = null;
    this.cur = null;
  }

  push(chunk) {
    if (this.pending) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let off = 0;
    while (off < chunk.length) {
      const cur = this.cur;
      if (cur) {
        const n = Math.min(cur.left, chunk.length - off);
        if (cur.keep) cur.parts.push(chunk.subarray(off, off + n));
        cur.left -= n;
        off += n;
        if (cur.left === 0) this.finish();
        continue;
      }
      const avail = chunk.length - off;
      if (avail < 2) break;
      const b0 = chunk[off];
      const b1 = chunk[off + 1];
      let len = b1 & 0x7f;
      const ext = len === 126 ? 2 : len === 127 ? 8 : 0;
      const hl = 2 + ext + (b1 & 0x80 ? 4 : 0);
      if (avail < hl) break;
      if (len === 126) len = chunk.readUInt16BE(off + 2);
      else if (len === 127) len = Number(chunk.readBigUInt64BE(off + 2));
      const opcode = b0 & 0x0f;
      this.cur = {
        fin: (b0 & 0x80) !== 0,
        opcode,
        left: len,
        mask: b1 & 0x80 ? Buffer.from(chunk.subarray(off + hl - 4, off + hl)) : null,
        keep: this.keep || opcode >= 8,
        parts: [],
      };
      off += hl;
      if (len === 0) this.finish();
    }
    if (off < chunk.length) this.pending = Buffer.from(chunk.subarray(off));
  }

  finish() {
    const { fin, opcode, mask, keep, parts } = this.cur;
    this.cur = null;
    let payload = null;
    if (keep) {
      payload = parts.length === 1 ? Buffer.from(parts[0]) : Buffer.concat(parts);
      if (mask) bufferUtil.unmask(payload, mask);
    }
    this.onFrame(fin, opcode, payload);
  }
}

/** Server frame header (unmasked) for a payload of `len` bytes. */
export function serverHeader(fin, opcode, len) {
  const b0 = (fin ? 0x80 : 0) | opcode;
  if (len < 126) return Buffer.from([b0, len]);
  if (len < 65536) {
    const h = Buffer.from([b0, 126, 0, 0]);
    h.writeUInt16BE(len, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = b0;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

const CLOSE_1000 = Buffer.from([0x88, 0x02, 0x03, 0xe8]);

/**
 * Takes the TCP socket away from ws's receiver and runs `reply(fin, opcode, payload)` for every
 * data frame; replies produced while handling one TCP read go out in one write. A close frame is
 * answered with close 1000 and the socket ended (RFC 6455 §5.5.1).
 */
export function takeOver(ws, keep, reply) {
  const socket = ws._socket;
  socket.removeAllListeners("data");
  const out = [];
  const scanner = new FrameScanner(keep, (fin, opcode, payload) => {
    if (opcode === 8) {
      out.push(CLOSE_1000);
      socket.write(Buffer.concat(out.splice(0)));
      socket.end();
      return;
    }
    if (opcode === 9) {
      out.push(serverHeader(true, 10, payload.length), payload);
      return;
    }
    if (opcode === 10) return;
    reply(out, fin, opcode, payload);
  });
  socket.on("data", (chunk) => {
    scanner.push(chunk);
    if (out.length > 0 && !socket.writableEnded) socket.write(out.length === 1 ? out.pop() : Buffer.concat(out.splice(0)));
  });
}

// Pre-encoded server-to-client frames (unmasked, RFC 6455 §5.2) for the generator endpoints.
export const MIB = 1024 * 1024;

export const KINDS = {
  big: { bytes: MIB, text: false, fragments: 1 },
  tiny: { bytes: 16, text: true, fragments: 1 },
  frag: { bytes: 1024, text: true, fragments: 16 },
  // Not WebSocket: raw TCP payload for the node:net ceiling.
  raw: { bytes: MIB, text: false, fragments: 0 },
};

function header(fin, opcode, length) {
  const b0 = (fin ? 0x80 : 0) | opcode;
  if (length < 126) return Buffer.from([b0, length]);
  if (length < 65536) {
    const h = Buffer.alloc(4);
    h[0] = b0;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = b0;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** One message of the kind, as wire bytes: a single frame or `fragments` frames. */
export function encodeMessage(kind) {
  const k = KINDS[kind];
  if (!k) throw new Error(`unknown kind ${kind}`);
  // ASCII text shaped like small JSON; binary is a repeating byte pattern.
  const payload = Buffer.alloc(k.bytes);
  const pattern = k.text ? '{"seq":12345678}' : "\x01\x02\x03\x04\x05\x06\x07\x08";
  for (let i = 0; i < k.bytes; i++) payload[i] = pattern.charCodeAt(i % pattern.length);
  if (k.fragments === 0) return payload;
  const opcode = k.text ? 1 : 2;
  const size = k.bytes / k.fragments;
  const parts = [];
  for (let f = 0; f < k.fragments; f++) {
    parts.push(header(f === k.fragments - 1, f === 0 ? opcode : 0, size));
    parts.push(payload.subarray(f * size, (f + 1) * size));
  }
  return Buffer.concat(parts);
}

/** A batch of whole messages (~64 KiB or one big message) written repeatedly by the generator. */
export function encodeBatch(kind) {
  const one = encodeMessage(kind);
  const perBatch = Math.max(1, Math.floor((64 * 1024) / one.length));
  const batch = Buffer.concat(Array.from({ length: perBatch }, () => one));
  return { batch, perBatch, frameBytes: one.length };
}

/**
 * The codec contract (types only). A codec turns application messages into frames and back.
 * Implementations (json, text, binary) live in codecs.ts; Standard Schema validation of any codec
 * (`withSchema`) in schema.ts.
 */
export type FrameKind = "text" | "binary";

export interface Codec<In, Out> {
  /** Which frame type `encode` produces; binary codecs make the client use binaryType "arraybuffer". */
  readonly frame: FrameKind;
  encode(message: Out): string | ArrayBuffer | ArrayBufferView;
  /**
   * Turn a received frame into a message. Throwing (or a failed validation) raises `decodeerror`
   * on the client with the raw data and the reason; the connection stays up.
   */
  decode(data: string | ArrayBuffer): In;
}

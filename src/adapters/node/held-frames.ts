/**
 * The frames a socket still holds some bytes of, oldest first: what maps the socket's
 * unsent bytes (unsent-bytes.ts: frame bytes, headers, masked and perhaps compressed payloads) back to the
 * application bytes that WHATWG's bufferedAmount counts. A Sender makes one only when a write
 * leaves bytes in the socket, so a connection whose writes the kernel always takes at once has none.
 */
export class HeldFrames {
  /** [frame bytes, payload bytes] pairs from #first on. */
  readonly #frames: number[] = [];
  #first = 0;
  #frameBytes = 0;
  #payloadBytes = 0;
  /** What the socket held when last told (see forgetWritten): kept for once it is destroyed. */
  #socketBytes = 0;

  /** Frame bytes of the held frames. */
  get frameBytes(): number {
    return this.#frameBytes;
  }

  /** The socket now holds `socketBytes` after a frame of `frameBytes` carrying `payloadBytes` was written. */
  add(frameBytes: number, payloadBytes: number, socketBytes: number): void {
    this.#frames.push(frameBytes, payloadBytes);
    this.#frameBytes += frameBytes;
    this.#payloadBytes += payloadBytes;
    this.forgetWritten(socketBytes);
  }

  /** Forget the frames the kernel has all of: the socket holds the last `socketBytes` bytes written. */
  forgetWritten(socketBytes: number): void {
    this.#socketBytes = socketBytes;
    const frames = this.#frames;
    let first = this.#first;
    while (first < frames.length && this.#frameBytes - frames[first]! >= socketBytes) {
      this.#frameBytes -= frames[first]!;
      this.#payloadBytes -= frames[first + 1]!;
      first += 2;
    }
    if (first === frames.length) {
      frames.length = 0;
      first = 0;
    } else if (first >= 1024 && first * 2 >= frames.length) {
      frames.splice(0, first);
      first = 0;
    }
    this.#first = first;
  }

  /**
   * Payload bytes the kernel does not have yet; `socketBytes` is what the socket holds now, or
   * undefined once it is destroyed (then what it held when last told).
   */
  unwrittenPayload(socketBytes: number | undefined): number {
    if (this.#frameBytes === 0) return 0;
    const frames = this.#frames;
    const frameBytes = frames[this.#first]!;
    const payloadBytes = frames[this.#first + 1]!;
    const held = Math.min(socketBytes ?? this.#socketBytes, this.#frameBytes);
    // The oldest held frame may be partly written. Its header went first, so for an uncompressed
    // frame the unwritten bytes are all payload; a compressed one is counted in proportion.
    const unwritten = frameBytes - (this.#frameBytes - held);
    const partial = payloadBytes <= frameBytes ? Math.min(payloadBytes, unwritten) : Math.ceil((payloadBytes * unwritten) / frameBytes);
    return this.#payloadBytes - payloadBytes + partial;
  }
}

// Holds what the server sends on one connection while it drives that connection's requests, so
// that the responses to pipelined requests leave in one write.

/** Sends bytes on a session. */
export type SendBytes = (sid: number, bytes: Uint8Array) => void;

/** The bytes held for one session at a time, passed on when released. */
export class SendCork {
  /** The session whose sends are held, or -1. */
  #sid = -1;
  #held: Uint8Array | null = null;
  readonly #send: SendBytes;

  /** @param send where the bytes go, held or not */
  constructor(send: SendBytes) {
    this.#send = send;
  }

  /** The session being held, or -1. */
  get sid(): number {
    return this.#sid;
  }

  /**
   * Starts holding `sid`'s sends; false (and nothing changes) when a session is held already.
   *
   * @param sid the session
   * @returns whether holding began
   */
  hold(sid: number): boolean {
    if (this.#sid !== -1) return false;
    this.#sid = sid;
    return true;
  }

  /**
   * Sends `bytes` on `sid`, or holds them when `sid` is held.
   *
   * @param sid the session
   * @param bytes what to send
   */
  send(sid: number, bytes: Uint8Array): void {
    if (sid !== this.#sid) {
      this.#send(sid, bytes);
      return;
    }
    const held = this.#held;
    if (held === null) {
      this.#held = bytes;
      return;
    }
    // Consecutive slab views are adjacent in memory, so joining them is only a wider view.
    if (held.buffer === bytes.buffer && held.byteOffset + held.length === bytes.byteOffset) {
      this.#held = new Uint8Array(held.buffer, held.byteOffset, held.length + bytes.length);
      return;
    }
    this.#send(sid, held);
    this.#held = bytes;
  }

  /** Sends what is held and stops holding. */
  release(): void {
    const held = this.#held;
    const sid = this.#sid;
    this.#held = null;
    this.#sid = -1;
    if (held !== null) this.#send(sid, held);
  }
}

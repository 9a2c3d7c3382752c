// One clock reading shared by the work of an event-loop turn, for the server's request starts.
//
// The clock is the dearest part of timing a request (performance.now() costs ~100 ns a call
// on Deno, more than the histogram update), and a start and an end per request doubled it. A
// turn here is one drain of the microtask queue: the runtime delivers I/O between drains (Deno
// resolves every read that completed in one batch and then drains; Node drains after each
// socket's callback), so bytes handed to the server in a turn arrived before the turn began.
// Any reading taken in the turn is therefore no earlier than the arrival of the requests the
// turn dispatches, and no later than their dispatch: a start that never shortens a request's
// latency, and counts at most the time it waited behind the turn's earlier requests.
//
// Each response's end reading is fresh and becomes the turn's reading, so the next request of
// the same turn starts where the previous one ended: back-to-back requests cost one read each.
// The reading expires with the turn through a queued microtask.

/** A clock reading reused until the current event-loop turn ends. */
export class TurnClock {
  #reading = 0;
  #open = false;
  readonly #read: () => number;
  readonly #expire = (): void => {
    this.#open = false;
  };

  /**
   * @param read the clock, in milliseconds (the platform's monotonic `now`)
   */
  constructor(read: () => number) {
    this.#read = read;
  }

  /** The turn's reading: taken no earlier than the turn began, nor later than this call. */
  now(): number {
    return this.#open ? this.#reading : this.fresh();
  }

  /** Reads the clock now; the reading is the turn's from here on. */
  fresh(): number {
    const reading = this.#read();
    this.#reading = reading;
    if (!this.#open) {
      this.#open = true;
      queueMicrotask(this.#expire);
    }
    return reading;
  }
}

// One clock reading shared by the work of an event-loop turn, for the server's request starts.
//
// The clock is the dearest part of timing a request (performance.now() costs ~100 ns a call
// on Deno, more than the histogram update). A turn here is one drain of the microtask queue:
// the runtime delivers I/O between drains (Deno resolves every read that completed in one batch
// and then drains; Node drains after each socket's callback), so bytes handed to the server in
// a turn arrived before the turn began. Any reading taken in the turn is therefore no earlier
// than the arrival of the requests the turn dispatches, and no later than their dispatch: a
// start that never shortens a request's latency, and counts at most the time it waited behind
// the turn's earlier requests.
//
// The reading expires with the turn through a queued microtask, which also tells the owner
// that the turn has ended (TurnLatencies takes the end readings of a turn's responses there).
// Where turns hold one request each (Node delivers each socket's data in a callback of its own)
// that microtask would cost more than the read it saves, so a turn that shared nothing stops
// the sharing, and every PROBE-th reading opens a turn again to see whether sharing pays now.

/** Readings between two trials of sharing, once a turn shared nothing. */
const PROBE = 64;

/** A clock reading reused until the current event-loop turn ends. */
export class TurnClock {
  #reading = 0;
  /** The reading may be reused: its turn has not ended. */
  #open = false;
  /** Readings reused in the open turn. */
  #shared = 0;
  /** Whether the last turn shared its reading; while not, readings until the next trial. */
  #sharing = true;
  #untilProbe = 0;
  readonly #read: () => number;
  readonly #turnEnded: (() => void) | null;
  readonly #expire = (): void => {
    this.#open = false;
    this.#sharing = this.#shared > 0;
    if (!this.#sharing) this.#untilProbe = PROBE;
    this.#turnEnded?.();
  };

  /**
   * @param read the clock, in milliseconds. Default `performance.now()`, which is what every
   *   platform's `now()` returns, called directly because the extra call shows up per request.
   * @param turnEnded called when a turn that opened (its first reading was taken) has ended
   */
  constructor(read: () => number = () => performance.now(), turnEnded: (() => void) | null = null) {
    this.#read = read;
    this.#turnEnded = turnEnded;
  }

  /** Whether a turn is open: readings are shared until its end, which is still to come. */
  get open(): boolean {
    return this.#open;
  }

  /** Counts a reading saved in the open turn other than by {@linkcode now} (one taken at its end). */
  shared(): void {
    this.#shared++;
  }

  /** Reads the clock, leaving the turn as it is. */
  read(): number {
    return this.#read();
  }

  /** The turn's reading: taken no earlier than the turn began, nor later than this call. */
  now(): number {
    if (!this.#open) return this.fresh();
    this.#shared++;
    return this.#reading;
  }

  /** Reads the clock now; the reading is the turn's from here on. */
  fresh(): number {
    const reading = this.#read();
    this.#reading = reading;
    if (!this.#open && (this.#sharing || --this.#untilProbe <= 0)) {
      this.#open = true;
      this.#shared = 0;
      queueMicrotask(this.#expire);
    }
    return reading;
  }
}

// Request latencies timed with one clock reading per event-loop turn at each end.
//
// A request's start is its turn's reading (TurnClock.now). Its end is read once for all the
// responses a turn finished, when that turn ends, instead of once per response: where a turn
// answers many requests (Deno delivers every read that completed in one batch), the clock,
// the dearest part of timing a request, is read twice a turn rather than once a request. The end
// reading comes no earlier than each response was handed to the transport, so a latency never
// comes out short; it may include the rest of its turn's work (an upper bound, off by at most
// the turn's length). Where turns hold one request each the clock stops sharing (TurnClock), and
// a response's end is read at once, as its turn would have read it.
import type { RouteRecorder } from "./_route_metrics.ts";
import { TurnClock } from "./_turn_clock.ts";

/** Slots the waiting arrays keep between turns; a larger turn's are let go. */
const KEPT_SLOTS = 4096;

/** The latencies of responses, recorded with their turn's end reading. */
export class TurnLatencies {
  /** The clock of the starts (and of any reading that cannot wait for the turn's end). */
  readonly clock: TurnClock;
  /** Responses of the open turn waiting for its end reading, in parallel arrays. */
  #waiting = 0;
  readonly #recorders: RouteRecorder[] = [];
  readonly #methods: string[] = [];
  readonly #statuses: number[] = [];
  readonly #starts: number[] = [];

  /** @param read the clock, in milliseconds (default `performance.now()`) */
  constructor(read?: () => number) {
    this.clock = new TurnClock(read, () => this.#turnEnded());
  }

  /**
   * Records a response's latency: at the end of its turn when a turn is open, now otherwise.
   *
   * @param recorder the route's series
   * @param method the request method
   * @param status the response status
   * @param started the request's start reading (milliseconds)
   */
  finished(recorder: RouteRecorder, method: string, status: number, started: number): void {
    const clock = this.clock;
    if (!clock.open) {
      recorder.record(method, status, (clock.fresh() - started) / 1000);
      return;
    }
    const i = this.#waiting++;
    // The first response's end costs the turn's closing read; every other one saves a read.
    if (i > 0) clock.shared();
    this.#recorders[i] = recorder;
    this.#methods[i] = method;
    this.#statuses[i] = status;
    this.#starts[i] = started;
  }

  #turnEnded(): void {
    const n = this.#waiting;
    if (n === 0) return;
    this.#waiting = 0;
    const ended = this.clock.read();
    for (let i = 0; i < n; i++) {
      this.#recorders[i].record(
        this.#methods[i],
        this.#statuses[i],
        (ended - this.#starts[i]) / 1000,
      );
    }
    // A flood of pipelined requests can make one turn answer hundreds of thousands: do not keep
    // arrays that size for the life of the server.
    if (n > KEPT_SLOTS) {
      this.#recorders.length = this.#methods.length = 0;
      this.#statuses.length = this.#starts.length = 0;
    }
  }
}

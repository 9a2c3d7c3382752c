// Which of the DnsClient's servers to try, in which order: the live ones first, from a rotating
// start with `rotate`; a server that timed out is down for `serverDownTime` while others remain,
// and live again once it answers. Private to dns/.

/** The order when there is a single server. */
const ONLY_SERVER = [0];

/** The servers' health and the rotation over them. */
export class ServerHealth {
  #downUntil: number[] = [];
  #rotation = 0;

  /** @param count the number of servers */
  constructor(count: number) {
    for (let i = 0; i < count; i++) this.#downUntil.push(0);
  }

  /** Servers to try, in order: live ones first (from a rotating start with `rotate`). */
  order(count: number, rotate: boolean): number[] {
    if (count === 1) return ONLY_SERVER;
    const now = performance.now();
    const alive: number[] = [];
    const dead: number[] = [];
    const start = rotate ? this.#rotation++ % count : 0;
    for (let k = 0; k < count; k++) {
      const i = (start + k) % count;
      (this.#downUntil[i] > now ? dead : alive).push(i);
    }
    return alive.length > 0 ? alive : dead;
  }

  /** Marks server `index` down for `ms`. */
  markDown(index: number, ms: number): void {
    this.#downUntil[index] = performance.now() + ms;
  }

  /** Marks server `index` live: it answered. */
  markUp(index: number): void {
    this.#downUntil[index] = 0;
  }
}

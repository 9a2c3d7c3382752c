/**
 * Circuit breaker: stops calling a failing service for a while, then lets a
 * few trial requests through and closes again once they succeed.
 *
 * Closed → Open when `failureThreshold` consecutive failures happen, or when
 * at least `minimumRequests` requests in the last `statisticsWindowMs` failed
 * at a rate of `failureRateThreshold` or more. Open → HalfOpen after
 * `timeoutMs`. HalfOpen → Closed after `successThreshold` successes; any
 * failure in HalfOpen opens the circuit again.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "./circuit_breaker.ts";
 * const breaker = new CircuitBreaker({ failureThreshold: 3, timeoutMs: 30_000 });
 * const value = await breaker.execute(() => fetch("http://127.0.0.1:8080/health"));
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/**
 * The states of a {@linkcode CircuitBreaker}.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitBreakerState } from "./circuit_breaker.ts";
 * const open = new CircuitBreaker().getState() === CircuitBreakerState.Open;
 * ```
 */
export const CircuitBreakerState: {
  /** Normal operation: requests pass. */
  readonly Closed: "closed";
  /** Failing fast: requests are refused. */
  readonly Open: "open";
  /** Testing recovery: a few requests pass. */
  readonly HalfOpen: "half-open";
} = { Closed: "closed", Open: "open", HalfOpen: "half-open" };

/** One of the {@linkcode CircuitBreakerState} values. */
export type CircuitBreakerState = typeof CircuitBreakerState[keyof typeof CircuitBreakerState];

/** Settings of a {@linkcode CircuitBreaker} (the seed's `CircuitBreakerConfig`). */
export interface CircuitBreakerConfig {
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** Time the circuit stays open before trying again (the seed's `timeout`). Default 60 000 ms. */
  timeoutMs?: number;
  /** Successes in half-open state that close the circuit. Default 3. */
  successThreshold?: number;
  /** Window of the failure-rate computation (the seed's `statisticsWindow`). Default 300 000 ms. */
  statisticsWindowMs?: number;
  /** Failure rate (0..1) in the window that opens the circuit. Default 0.5. */
  failureRateThreshold?: number;
  /** Requests in the window before the failure rate counts. Default 10. */
  minimumRequests?: number;
  /**
   * How long a half-open trial may go unrecorded before it counts as a failure (and the circuit
   * opens again), so a caller that never reports a trial cannot keep the circuit half-open for
   * good. Default: `timeoutMs`.
   */
  halfOpenTimeoutMs?: number;
}

/** Counters of a {@linkcode CircuitBreaker}. */
export interface CircuitBreakerStats {
  /** The current state. */
  state: CircuitBreakerState;
  /** Outcomes recorded (successes plus failures). */
  totalRequests: number;
  /** Successes recorded. */
  successes: number;
  /** Failures recorded. */
  failures: number;
  /** Requests refused because the circuit was open. */
  rejected: number;
  /** Failures in a row, now. */
  consecutiveFailures: number;
  /** Successes in a row, now. */
  consecutiveSuccesses: number;
  /** Failure rate in the statistics window (0 when empty). */
  failureRate: number;
  /** Requests in the statistics window. */
  windowRequests: number;
  /** State transitions so far. */
  stateChanges: number;
  /** When the last failure happened (ms since the epoch), or null. */
  lastFailureTime: number | null;
  /** When the state last changed (ms since the epoch). */
  lastStateChange: number;
}

/**
 * Thrown by {@linkcode CircuitBreaker.execute} when the circuit refuses the call.
 *
 * @example
 * ```ts
 * import { CircuitOpenError } from "./circuit_breaker.ts";
 * const e = new CircuitOpenError("payments");
 * console.log(e.code); // "CircuitOpen"
 * ```
 */
export class CircuitOpenError extends IoraError {
  /**
   * Creates the error.
   *
   * @param name the breaker's name, when it has one
   */
  constructor(name?: string) {
    super("CircuitOpen", `circuit ${name ? `"${name}" ` : ""}is open; failing fast`);
  }
}

function positive(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) {
    throw new IoraError("InvalidArgument", `${name} must be a number >= ${min}, got ${value}`);
  }
  return value;
}

/**
 * A circuit breaker (the seed's `CircuitBreaker`). Uses `Date.now()`, so
 * tests can drive it with mocked timers.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "./circuit_breaker.ts";
 * const breaker = new CircuitBreaker({ failureThreshold: 2 });
 * if (breaker.allowRequest()) {
 *   try {
 *     breaker.recordSuccess();
 *   } catch {
 *     breaker.recordFailure();
 *   }
 * }
 * ```
 */
export class CircuitBreaker {
  /** The name given by a {@linkcode CircuitBreakerManager}, or empty. */
  readonly name: string;
  #failureThreshold: number;
  #timeoutMs: number;
  #successThreshold: number;
  #windowMs: number;
  #rateThreshold: number;
  #minimumRequests: number;
  #state: CircuitBreakerState = CircuitBreakerState.Closed;
  #openedAt = 0;
  #halfOpenTimeoutMs: number;
  /** When each unrecorded half-open trial started, oldest first. */
  #trials: number[] = [];
  /** Outcome timestamps in the window; failures carry a negative sign. */
  #window: number[] = [];
  #windowHead = 0;
  #windowFailures = 0;
  #stats: Omit<CircuitBreakerStats, "state" | "failureRate" | "windowRequests">;
  #listeners: Array<(from: CircuitBreakerState, to: CircuitBreakerState) => void> = [];

  /**
   * Creates a closed breaker.
   *
   * @param config thresholds and windows; missing fields take the defaults
   * @param name a name for messages and the manager
   */
  constructor(config: CircuitBreakerConfig = {}, name = "") {
    this.name = name;
    this.#failureThreshold = positive("failureThreshold", config.failureThreshold ?? 5, 1);
    this.#timeoutMs = positive("timeoutMs", config.timeoutMs ?? 60_000, 0);
    this.#successThreshold = positive("successThreshold", config.successThreshold ?? 3, 1);
    this.#windowMs = positive("statisticsWindowMs", config.statisticsWindowMs ?? 300_000, 1);
    this.#rateThreshold = positive("failureRateThreshold", config.failureRateThreshold ?? 0.5, 0);
    if (this.#rateThreshold > 1) {
      throw new IoraError("InvalidArgument", "failureRateThreshold must be within 0..1");
    }
    this.#minimumRequests = positive("minimumRequests", config.minimumRequests ?? 10, 1);
    this.#halfOpenTimeoutMs = positive(
      "halfOpenTimeoutMs",
      config.halfOpenTimeoutMs ?? Math.max(this.#timeoutMs, 1),
      1,
    );
    this.#stats = {
      totalRequests: 0,
      successes: 0,
      failures: 0,
      rejected: 0,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      stateChanges: 0,
      lastFailureTime: null,
      lastStateChange: Date.now(),
    };
  }

  /** The current state (an open circuit whose timeout passed reports half-open). */
  getState(): CircuitBreakerState {
    this.#maybeHalfOpen(Date.now());
    return this.#state;
  }

  /** Calls `listener(from, to)` on every transition; returns a function that removes it. */
  onStateChange(
    listener: (from: CircuitBreakerState, to: CircuitBreakerState) => void,
  ): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  #transition(to: CircuitBreakerState, now: number): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#stats.stateChanges++;
    this.#stats.lastStateChange = now;
    this.#trials = [];
    if (to === CircuitBreakerState.Open) this.#openedAt = now;
    if (to !== CircuitBreakerState.Open) this.#stats.consecutiveSuccesses = 0;
    if (to === CircuitBreakerState.Closed) {
      this.#window = [];
      this.#windowHead = 0;
      this.#windowFailures = 0;
      this.#stats.consecutiveFailures = 0;
    }
    for (const l of this.#listeners) l(from, to);
  }

  #maybeHalfOpen(now: number): void {
    if (this.#state === CircuitBreakerState.Open && now - this.#openedAt >= this.#timeoutMs) {
      this.#transition(CircuitBreakerState.HalfOpen, now);
    }
    // A trial nobody reported within its time is a failure: the circuit opens again.
    if (
      this.#state === CircuitBreakerState.HalfOpen && this.#trials.length > 0 &&
      now - this.#trials[0] >= this.#halfOpenTimeoutMs
    ) {
      this.#stats.failures++;
      this.#stats.totalRequests++;
      this.#stats.consecutiveSuccesses = 0;
      this.#stats.consecutiveFailures++;
      this.#stats.lastFailureTime = now;
      this.#transition(CircuitBreakerState.Open, now);
    }
  }

  #prune(now: number): void {
    const w = this.#window;
    const oldest = now - this.#windowMs;
    while (this.#windowHead < w.length && Math.abs(w[this.#windowHead]) <= oldest) {
      if (w[this.#windowHead] < 0) this.#windowFailures--;
      this.#windowHead++;
    }
    if (this.#windowHead > 1024 && this.#windowHead * 2 > w.length) {
      this.#window = w.slice(this.#windowHead);
      this.#windowHead = 0;
    }
  }

  /**
   * True when a request may go ahead. In half-open state only
   * `successThreshold` trial requests pass at once; refusals are counted.
   */
  allowRequest(): boolean {
    const now = Date.now();
    this.#maybeHalfOpen(now);
    if (this.#state === CircuitBreakerState.Closed) return true;
    if (
      this.#state === CircuitBreakerState.HalfOpen &&
      this.#trials.length < this.#successThreshold
    ) {
      this.#trials.push(now);
      return true;
    }
    this.#stats.rejected++;
    return false;
  }

  /** Records a successful request. */
  recordSuccess(): void {
    const now = Date.now();
    this.#maybeHalfOpen(now);
    const s = this.#stats;
    s.totalRequests++;
    s.successes++;
    s.consecutiveFailures = 0;
    s.consecutiveSuccesses++;
    if (this.#state === CircuitBreakerState.HalfOpen) {
      this.#trials.shift();
      if (s.consecutiveSuccesses >= this.#successThreshold) {
        this.#transition(CircuitBreakerState.Closed, now);
      }
      return;
    }
    this.#window.push(Math.max(now, 1));
    this.#prune(now);
  }

  /** Records a failed request. */
  recordFailure(): void {
    const now = Date.now();
    this.#maybeHalfOpen(now);
    const s = this.#stats;
    s.totalRequests++;
    s.failures++;
    s.consecutiveSuccesses = 0;
    s.consecutiveFailures++;
    s.lastFailureTime = now;
    if (this.#state === CircuitBreakerState.HalfOpen) {
      this.#transition(CircuitBreakerState.Open, now);
      return;
    }
    this.#window.push(-Math.max(now, 1));
    this.#windowFailures++;
    this.#prune(now);
    if (this.#state !== CircuitBreakerState.Closed) return;
    const requests = this.#window.length - this.#windowHead;
    if (
      s.consecutiveFailures >= this.#failureThreshold ||
      (requests >= this.#minimumRequests &&
        this.#windowFailures / requests >= this.#rateThreshold)
    ) {
      this.#transition(CircuitBreakerState.Open, now);
    }
  }

  /**
   * Runs `fn` under the breaker: refuses with {@linkcode CircuitOpenError}
   * when open, records the outcome otherwise (a throw or rejection is a
   * failure and is rethrown).
   */
  async execute<T>(fn: () => T | Promise<T>): Promise<T> {
    if (!this.allowRequest()) throw new CircuitOpenError(this.name);
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      this.recordFailure();
      throw error;
    }
    this.recordSuccess();
    return value;
  }

  /** Closes the circuit and clears the window (counters stay). */
  reset(): void {
    const now = Date.now();
    this.#transition(CircuitBreakerState.Closed, now);
    this.#window = [];
    this.#windowHead = 0;
    this.#windowFailures = 0;
    this.#stats.consecutiveFailures = 0;
    this.#stats.consecutiveSuccesses = 0;
  }

  /** A snapshot of the counters. */
  getStats(): CircuitBreakerStats {
    const now = Date.now();
    this.#maybeHalfOpen(now);
    this.#prune(now);
    const requests = this.#window.length - this.#windowHead;
    return {
      ...this.#stats,
      state: this.#state,
      windowRequests: requests,
      failureRate: requests === 0 ? 0 : this.#windowFailures / requests,
    };
  }

  /** Zeroes the counters (the state and window stay). */
  resetStats(): void {
    const s = this.#stats;
    s.totalRequests = 0;
    s.successes = 0;
    s.failures = 0;
    s.rejected = 0;
    s.stateChanges = 0;
  }
}

/**
 * One breaker per named service (the seed's `CircuitBreakerManager`).
 *
 * @example
 * ```ts
 * import { CircuitBreakerManager } from "./circuit_breaker.ts";
 * const breakers = new CircuitBreakerManager();
 * const users = breakers.getBreaker("user-service", { failureThreshold: 3 });
 * console.log(users.allowRequest(), breakers.hasOpenCircuits());
 * ```
 */
export class CircuitBreakerManager {
  #breakers = new Map<string, CircuitBreaker>();
  #defaults: CircuitBreakerConfig;

  /**
   * Creates an empty manager.
   *
   * @param defaults settings for breakers created without their own
   */
  constructor(defaults: CircuitBreakerConfig = {}) {
    this.#defaults = defaults;
  }

  /** The breaker of `name`, created with `config` (or the defaults) on first use. */
  getBreaker(name: string, config?: CircuitBreakerConfig): CircuitBreaker {
    let breaker = this.#breakers.get(name);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(config ?? this.#defaults, name);
      this.#breakers.set(name, breaker);
    }
    return breaker;
  }

  /** True when any breaker is open (half-open ones are not). */
  hasOpenCircuits(): boolean {
    for (const b of this.#breakers.values()) {
      if (b.getState() === CircuitBreakerState.Open) return true;
    }
    return false;
  }

  /** The stats of every breaker, by name. */
  getStats(): Map<string, CircuitBreakerStats> {
    const out = new Map<string, CircuitBreakerStats>();
    for (const [name, b] of this.#breakers) out.set(name, b.getStats());
    return out;
  }

  /** Forgets a breaker; returns whether it existed. */
  removeBreaker(name: string): boolean {
    return this.#breakers.delete(name);
  }

  /** Closes every circuit. */
  resetAll(): void {
    for (const b of this.#breakers.values()) b.reset();
  }
}

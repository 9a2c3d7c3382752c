/**
 * Connection health monitoring: per-session check results (from a periodic
 * probe, or recorded by the caller) folded into a {@linkcode HealthState},
 * with change notifications.
 *
 * State rules, evaluated after every check:
 * - Unhealthy: failing for `unhealthyThresholdMs` or longer (since the last success);
 * - Critical: `2 × consecutiveFailuresThreshold` failures in a row;
 * - Degraded: `consecutiveFailuresThreshold` failures in a row, or failing for
 *   `degradedThresholdMs` or longer;
 * - Warning: the last check failed, or the success rate over the recent
 *   checks is under `successRateThreshold`;
 * - Healthy otherwise.
 *
 * @example
 * ```ts
 * import { HealthMonitor, HealthState } from "./health_monitor.ts";
 * const monitor = new HealthMonitor({ heartbeatIntervalMs: 15_000, probe: () => true });
 * monitor.onHealthChanged((sid, from, to) => {
 *   if (to === HealthState.Unhealthy) console.log(`session ${sid} should reconnect`);
 * });
 * monitor.startMonitoring(1);
 * monitor.stop();
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";
import { platform } from "../core/platform/mod.ts";
import type { SessionId } from "./transport.ts";

/**
 * Health states, from best to worst.
 *
 * @example
 * ```ts
 * import { HealthState } from "./health_monitor.ts";
 * const s: HealthState = HealthState.Degraded;
 * ```
 */
export const HealthState: {
  /** Normal operation. */
  readonly Healthy: "healthy";
  /** Minor issues detected. */
  readonly Warning: "warning";
  /** Performance issues. */
  readonly Degraded: "degraded";
  /** Major issues. */
  readonly Critical: "critical";
  /** The connection should be avoided. */
  readonly Unhealthy: "unhealthy";
} = {
  Healthy: "healthy",
  Warning: "warning",
  Degraded: "degraded",
  Critical: "critical",
  Unhealthy: "unhealthy",
};

/** One of the {@linkcode HealthState} values. */
export type HealthState = typeof HealthState[keyof typeof HealthState];

/** A health probe: resolves true (or nothing) when healthy; false or a throw is a failure. */
export type HealthProbe = (sid: SessionId) => boolean | void | Promise<boolean | void>;

/** Settings of a {@linkcode HealthMonitor} (the seed's `HealthMonitor::Config`). */
export interface HealthMonitorConfig {
  /** How often the probe runs for every monitored session. Default 30 000 ms. */
  heartbeatIntervalMs?: number;
  /** Failing this long marks a session degraded. Default 5 000 ms. */
  degradedThresholdMs?: number;
  /** Failing this long marks a session unhealthy. Default 15 000 ms. */
  unhealthyThresholdMs?: number;
  /** Success rate under which a session is at best `Warning`. Default 0.95. */
  successRateThreshold?: number;
  /** Failures in a row that mark a session degraded. Default 3. */
  consecutiveFailuresThreshold?: number;
  /** Time a probe may take before it counts as failed. Default 5 000 ms. */
  healthCheckTimeoutMs?: number;
  /** How many recent checks the success rate covers. Default 20. */
  rateWindow?: number;
  /** The heartbeat; without one, only results recorded by the caller count. */
  probe?: HealthProbe;
}

/** Per-session health figures (the seed's `HealthStats`). */
export interface HealthStats {
  /** The current state. */
  state: HealthState;
  /** When the last check finished (ms since the epoch), or null. */
  lastCheck: number | null;
  /** Mean response time of the successful checks, in ms. */
  avgResponseTimeMs: number;
  /** Success rate over the recent checks (1 before any check). */
  successRate: number;
  /** Failures in a row, now. */
  consecutiveFailures: number;
  /** Checks so far. */
  totalChecks: number;
}

interface Entry {
  state: HealthState;
  since: number;
  lastSuccess: number;
  lastCheck: number | null;
  recent: boolean[];
  consecutiveFailures: number;
  totalChecks: number;
  successes: number;
  totalResponseMs: number;
  checking: boolean;
}

/** Connection health monitor (the seed's `HealthMonitor`). Uses `Date.now()` and timers. */
export class HealthMonitor {
  #heartbeatMs: number;
  #degradedMs: number;
  #unhealthyMs: number;
  #rateThreshold: number;
  #failuresThreshold: number;
  #timeoutMs: number;
  #rateWindow: number;
  #probe: HealthProbe | undefined;
  #entries = new Map<SessionId, Entry>();
  #listeners: Array<(sid: SessionId, from: HealthState, to: HealthState) => void> = [];
  #timer: ReturnType<typeof setInterval> | null = null;

  /**
   * Creates a monitor; the heartbeat starts with the first monitored session.
   *
   * @param config thresholds, intervals and the probe
   */
  constructor(config: HealthMonitorConfig = {}) {
    const num = (name: string, value: number, min: number) => {
      if (!Number.isFinite(value) || value < min) {
        throw new IoraError("InvalidArgument", `${name} must be a number >= ${min}, got ${value}`);
      }
      return value;
    };
    this.#heartbeatMs = num("heartbeatIntervalMs", config.heartbeatIntervalMs ?? 30_000, 1);
    this.#degradedMs = num("degradedThresholdMs", config.degradedThresholdMs ?? 5_000, 0);
    this.#unhealthyMs = num("unhealthyThresholdMs", config.unhealthyThresholdMs ?? 15_000, 0);
    this.#rateThreshold = num("successRateThreshold", config.successRateThreshold ?? 0.95, 0);
    this.#failuresThreshold = num(
      "consecutiveFailuresThreshold",
      config.consecutiveFailuresThreshold ?? 3,
      1,
    );
    this.#timeoutMs = num("healthCheckTimeoutMs", config.healthCheckTimeoutMs ?? 5_000, 1);
    this.#rateWindow = num("rateWindow", config.rateWindow ?? 20, 1);
    this.#probe = config.probe;
  }

  /** Starts tracking a session (Healthy until a check says otherwise). */
  startMonitoring(sid: SessionId): void {
    if (this.#entries.has(sid)) return;
    const now = Date.now();
    this.#entries.set(sid, {
      state: HealthState.Healthy,
      since: now,
      lastSuccess: now,
      lastCheck: null,
      recent: [],
      consecutiveFailures: 0,
      totalChecks: 0,
      successes: 0,
      totalResponseMs: 0,
      checking: false,
    });
    if (this.#timer === null && this.#probe) {
      this.#timer = setInterval(() => {
        for (const id of [...this.#entries.keys()]) this.checkHealth(id).catch(() => {});
      }, this.#heartbeatMs);
      try {
        platform().unrefTimer(this.#timer);
      } catch { /* a mocked timer (tests) has nothing to unref */ }
    }
  }

  /** Stops tracking a session. */
  stopMonitoring(sid: SessionId): void {
    this.#entries.delete(sid);
    if (this.#entries.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** The sessions being monitored. */
  monitoredSessions(): SessionId[] {
    return [...this.#entries.keys()];
  }

  /** A session's state, or undefined when it is not monitored. */
  getHealthState(sid: SessionId): HealthState | undefined {
    return this.#entries.get(sid)?.state;
  }

  /** Calls `listener(sid, from, to)` on every change; returns a function that removes it. */
  onHealthChanged(
    listener: (sid: SessionId, from: HealthState, to: HealthState) => void,
  ): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Runs the probe for a session now (bounded by `healthCheckTimeoutMs`) and
   * resolves with the new state. Without a probe, re-evaluates the state.
   * Rejects with `InvalidArgument` for a session not monitored.
   */
  async checkHealth(sid: SessionId): Promise<HealthState> {
    const e = this.#entries.get(sid);
    if (e === undefined) {
      throw new IoraError("InvalidArgument", `session ${sid} is not monitored`);
    }
    const probe = this.#probe;
    if (!probe || e.checking) return this.#evaluate(sid, e);
    e.checking = true;
    const started = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let ok: boolean;
    try {
      const result = await Promise.race([
        Promise.resolve().then(() => probe(sid)),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), this.#timeoutMs);
        }),
      ]);
      ok = result !== false;
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
      e.checking = false;
    }
    // Stopped meanwhile, or stopped and started again: this result belongs to no current entry.
    if (this.#entries.get(sid) !== e) return e.state;
    if (ok) this.recordSuccess(sid, Date.now() - started);
    else this.recordFailure(sid);
    return e.state;
  }

  /** Records a successful exchange (or check) with its response time. */
  recordSuccess(sid: SessionId, responseTimeMs = 0): void {
    const e = this.#entries.get(sid);
    if (e === undefined) return;
    const now = Date.now();
    e.totalChecks++;
    e.successes++;
    e.totalResponseMs += responseTimeMs;
    e.consecutiveFailures = 0;
    e.lastSuccess = now;
    e.lastCheck = now;
    this.#push(e, true);
    this.#evaluate(sid, e);
  }

  /** Records a failed exchange (or check). */
  recordFailure(sid: SessionId): void {
    const e = this.#entries.get(sid);
    if (e === undefined) return;
    e.totalChecks++;
    e.consecutiveFailures++;
    e.lastCheck = Date.now();
    this.#push(e, false);
    this.#evaluate(sid, e);
  }

  #push(e: Entry, ok: boolean): void {
    e.recent.push(ok);
    if (e.recent.length > this.#rateWindow) e.recent.shift();
  }

  #rate(e: Entry): number {
    if (e.recent.length === 0) return 1;
    let ok = 0;
    for (const r of e.recent) if (r) ok++;
    return ok / e.recent.length;
  }

  #evaluate(sid: SessionId, e: Entry): HealthState {
    const now = Date.now();
    const failing = e.consecutiveFailures > 0;
    const failingFor = failing ? now - e.lastSuccess : 0;
    let next: HealthState;
    if (failing && failingFor >= this.#unhealthyMs) next = HealthState.Unhealthy;
    else if (e.consecutiveFailures >= 2 * this.#failuresThreshold) next = HealthState.Critical;
    else if (
      e.consecutiveFailures >= this.#failuresThreshold ||
      (failing && failingFor >= this.#degradedMs)
    ) next = HealthState.Degraded;
    else if (failing || this.#rate(e) < this.#rateThreshold) next = HealthState.Warning;
    else next = HealthState.Healthy;
    if (next !== e.state) {
      const from = e.state;
      e.state = next;
      e.since = now;
      for (const l of this.#listeners) l(sid, from, next);
    }
    return next;
  }

  /** A session's figures, or undefined when it is not monitored. */
  getHealthStats(sid: SessionId): HealthStats | undefined {
    const e = this.#entries.get(sid);
    if (e === undefined) return undefined;
    return {
      state: e.state,
      lastCheck: e.lastCheck,
      avgResponseTimeMs: e.successes === 0 ? 0 : e.totalResponseMs / e.successes,
      successRate: this.#rate(e),
      consecutiveFailures: e.consecutiveFailures,
      totalChecks: e.totalChecks,
    };
  }

  /** Stops the heartbeat and forgets every session. */
  stop(): void {
    this.#stopTimer();
    this.#entries.clear();
  }

  /** Same as {@linkcode stop}. */
  [Symbol.dispose](): void {
    this.stop();
  }
}

/**
 * {@linkcode ClusterLocks}: lease locks with fencing tokens, and leader
 * election built on them.
 *
 * A lease is a Redis key set with `NX` and a time to live (`PX`): the lock
 * is taken over by another holder only after the lease expired (its holder
 * died, hung, or lost Redis). Each successful acquisition gets a fencing
 * token from a per-lock counter that only grows; renewal and release check
 * the token, and {@linkcode ClusterLocks.fenced} runs a Redis command only
 * while the token still holds the lock, so a holder that woke up after its
 * lease expired is refused (`StaleToken`) instead of corrupting the work of
 * its successor. Resources outside Redis should remember the highest token
 * they saw and refuse lower ones. A new counter starts at Redis's clock in
 * microseconds, so tokens keep growing even after a Redis that lost its data
 * (a restart without persistence) is back.
 *
 * @example
 * ```ts ignore
 * import { ClusterLocks } from "./locks.ts";
 * await using locks = await ClusterLocks.start({ url: "redis://127.0.0.1:6379" });
 * const lease = await locks.acquire("nightly-report", { ttlMs: 30_000 });
 * if (lease) {
 *   try {
 *     await locks.fenced(lease, ["SET", "report:last", new Date().toISOString()]);
 *   } finally {
 *     await lease.release();
 *   }
 * }
 * ```
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import { ClusterError } from "./errors.ts";
import type { RedisConnection, RedisConnectionChoice, RedisReply } from "./connection.ts";
import { checkName, checkPositive } from "./_option_checks.ts";
import { ownedConnection, randomId } from "./_shared.ts";

/** Options of {@linkcode ClusterLocks.start}. */
export interface ClusterLocksOptions extends RedisConnectionChoice {
  /**
   * Prefix of every Redis key.
   * @default {"iora:"}
   */
  prefix?: string;
  /**
   * The holder name written into leases (shown by {@linkcode ClusterLocks.holder}).
   * @default {a random id}
   */
  owner?: string;
}

/** Options of {@linkcode ClusterLocks.acquire}. */
export interface AcquireOptions {
  /**
   * The lease's length: without renewal, the lock frees itself this long after it was taken.
   * @default {10000}
   */
  ttlMs?: number;
  /**
   * Keep trying this long while another holder has the lock (0: one attempt).
   * @default {0}
   */
  waitMs?: number;
  /**
   * Delay between attempts while waiting.
   * @default {50}
   */
  retryMs?: number;
}

/** A held lease (see {@linkcode ClusterLocks.acquire}). */
export interface Lease {
  /** The lock's name. */
  readonly name: string;
  /** The fencing token: larger than every token given out for this lock before. */
  readonly token: number;
  /** When the lease runs out if not renewed, by this process's clock (`platform().now()`). */
  readonly validUntil: number;
  /**
   * Extends the lease by `ttlMs` (default: the acquisition's) from now.
   * @returns false when the lease had already expired or been taken over
   */
  renew(ttlMs?: number): Promise<boolean>;
  /**
   * Frees the lock.
   * @returns false when the lease had already expired or been taken over
   */
  release(): Promise<boolean>;
}

/** Options of {@linkcode ClusterLocks.leader}. */
export interface LeaderOptions {
  /**
   * The leader's lease: after the leader dies, another instance takes over within this.
   * @default {10000}
   */
  ttlMs?: number;
  /**
   * How often the leader renews its lease and the others try to take it.
   * @default {ttlMs / 3}
   */
  renewIntervalMs?: number;
  /** Called when this instance becomes the leader, with its lease. */
  onElected?: (lease: Lease) => void;
  /**
   * Called when this instance stops being the leader: `"lost"` (another holder has the
   * lock), `"expired"` (Redis could not be reached before the lease ran out) or `"stopped"`.
   */
  onLost?: (reason: "lost" | "expired" | "stopped") => void;
}

/** An election entered with {@linkcode ClusterLocks.leader}. */
export interface Leadership extends AsyncDisposable {
  /** True while this instance holds the leader lease. */
  readonly isLeader: boolean;
  /** The current lease, while leader. */
  readonly lease: Lease | undefined;
  /** Leaves the election, releasing the lease when held. */
  stop(): Promise<void>;
}

/** Counters of {@linkcode ClusterLocks}. */
export interface ClusterLocksStats {
  /** Locks acquired. */
  acquired: number;
  /** Attempts that found the lock held by another. */
  contended: number;
  /** Successful renewals. */
  renewed: number;
  /** Renewals or releases refused because the lease had expired or been taken over. */
  lost: number;
  /** Fenced commands refused for a stale token. */
  staleTokens: number;
  /** Times this instance became a leader. */
  elections: number;
  /** Elections running now. */
  leaderships: number;
}

const ACQUIRE = {
  source: `
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('PTTL', KEYS[1])} end
local t = redis.call('INCR', KEYS[2])
if t == 1 then
  -- A new counter (or a Redis that lost its data): start from the clock in microseconds,
  -- above every token handed out before.
  local now = redis.call('TIME')
  t = string.format('%d', tonumber(now[1]) * 1000000 + tonumber(now[2]))
  redis.call('SET', KEYS[2], t)
else
  t = string.format('%d', t)
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. t, 'PX', ARGV[2])
return {t, 0}`,
};

const RENEW = {
  source: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`,
};

const RELEASE = {
  source: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
};

// Runs ARGV[2..] as a command when the lock holds the value ARGV[1]; {0} otherwise.
const FENCED = {
  source: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
return {1, redis.call(unpack(ARGV, 2))}`,
};

function zeroStats(): Omit<ClusterLocksStats, "leaderships"> {
  return { acquired: 0, contended: 0, renewed: 0, lost: 0, staleTokens: 0, elections: 0 };
}

/**
 * Lease locks with fencing tokens, and leader election (see the module documentation).
 *
 * @example
 * ```ts ignore
 * import { ClusterLocks } from "./locks.ts";
 * const locks = await ClusterLocks.start({ url: "redis://127.0.0.1:6379" });
 * const leadership = await locks.leader("scheduler", {
 *   ttlMs: 5000,
 *   onElected: (lease) => console.log("leading with token", lease.token),
 *   onLost: (reason) => console.log("no longer leading:", reason),
 * });
 * console.log(leadership.isLeader);
 * await locks.stop();
 * ```
 */
export class ClusterLocks implements AsyncDisposable {
  /** The holder name written into this instance's leases. */
  readonly owner: string;
  readonly #redis: RedisConnection;
  readonly #owns: boolean;
  readonly #prefix: string;
  #leaderships = new Set<Leadership>();
  #stopped = false;
  #stats = zeroStats();

  private constructor(redis: RedisConnection, owns: boolean, options: ClusterLocksOptions) {
    this.#redis = redis;
    this.#owns = owns;
    this.#prefix = options.prefix ?? "iora:";
    this.owner = checkName("owner", options.owner ?? randomId()).replaceAll("|", "_");
  }

  /**
   * Connects (unless given a connection). Fails with {@linkcode ClusterError} `Unavailable`
   * naming the URL when Redis is down.
   *
   * @example
   * ```ts ignore
   * import { ClusterLocks } from "./locks.ts";
   * const locks = await ClusterLocks.start({ url: "redis://127.0.0.1:6379", owner: "node-1" });
   * await locks.stop();
   * ```
   */
  static async start(options: ClusterLocksOptions): Promise<ClusterLocks> {
    if (!options || typeof options !== "object") {
      throw new ClusterError("InvalidArgument", "ClusterLocks.start needs options");
    }
    const { connection, owned } = await ownedConnection(options, "iora-locks");
    try {
      return new ClusterLocks(connection, owned, options);
    } catch (error) {
      if (owned) await connection.close();
      throw error;
    }
  }

  #key(name: string): string {
    return `${this.#prefix}lock:${checkName("lock name", name)}`;
  }

  #checkRunning(): void {
    if (this.#stopped) throw new ClusterError("Closed", "the cluster locks are stopped");
  }

  /**
   * Takes the lock `name` for `ttlMs`, trying for up to `waitMs` while another holds it.
   *
   * @returns the lease, or undefined when the lock stayed taken
   * @throws {ClusterError} `InvalidArgument`, `Closed`, or the connection's failures
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<Lease | undefined> {
    this.#checkRunning();
    const key = this.#key(name);
    const ttl = Math.ceil(checkPositive("ttlMs", options.ttlMs, 10_000));
    const wait = options.waitMs ?? 0;
    if (!(Number.isFinite(wait) && wait >= 0)) {
      throw new ClusterError("InvalidArgument", `waitMs must be >= 0, got ${wait}`);
    }
    const retry = checkPositive("retryMs", options.retryMs, 50);
    const deadline = platform().now() + wait;
    for (;;) {
      const sent = platform().now();
      const reply = await this.#redis.script(ACQUIRE, [key, `${key}:fence`], [this.owner, ttl]);
      const token = Array.isArray(reply) ? Number(reply[0]) : 0;
      if (token > 0) {
        this.#stats.acquired++;
        return this.#lease(name, key, token, ttl, sent + ttl);
      }
      this.#stats.contended++;
      const now = platform().now();
      if (now >= deadline || this.#stopped) return undefined;
      const pttl = Array.isArray(reply) ? Number(reply[1]) : retry;
      const pause = Math.min(deadline - now, Math.max(1, Math.min(retry, pttl > 0 ? pttl : retry)));
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  #lease(name: string, key: string, token: number, ttl: number, validUntil: number): Lease {
    const value = `${this.owner}|${token}`;
    // deno-lint-ignore no-this-alias
    const locks = this;
    const lease = {
      name,
      token,
      validUntil,
      async renew(ttlMs?: number): Promise<boolean> {
        const ms = Math.ceil(checkPositive("ttlMs", ttlMs, ttl));
        const sent = platform().now();
        const ok = Number(await locks.#redis.script(RENEW, [key], [value, ms])) === 1;
        if (ok) {
          lease.validUntil = sent + ms;
          locks.#stats.renewed++;
        } else locks.#stats.lost++;
        return ok;
      },
      async release(): Promise<boolean> {
        const ok = Number(await locks.#redis.script(RELEASE, [key], [value])) === 1;
        if (!ok) locks.#stats.lost++;
        lease.validUntil = 0;
        return ok;
      },
    };
    return lease;
  }

  /**
   * Runs one Redis command only while `lease` still holds its lock (atomically, in a Lua
   * script): the fencing check for data kept in Redis.
   *
   * @returns the command's reply
   * @throws {ClusterError} `StaleToken` when the lease expired or another holder has the lock
   */
  async fenced(
    lease: Pick<Lease, "name" | "token">,
    command: readonly (string | number)[],
  ): Promise<RedisReply> {
    this.#checkRunning();
    if (!Array.isArray(command) || command.length === 0) {
      throw new ClusterError("InvalidArgument", "a fenced command needs at least its name");
    }
    const key = this.#key(lease.name);
    const reply = await this.#redis.script(FENCED, [key], [
      `${this.owner}|${lease.token}`,
      ...command,
    ]);
    if (!Array.isArray(reply) || Number(reply[0]) !== 1) {
      this.#stats.staleTokens++;
      throw new ClusterError(
        "StaleToken",
        `fencing token ${lease.token} no longer holds the lock ${lease.name}`,
        this.#redis.url,
      );
    }
    return reply[1];
  }

  /**
   * Who holds the lock `name` now, or undefined when it is free.
   *
   * @returns the holder's owner name and fencing token
   */
  async holder(name: string): Promise<{ owner: string; token: number } | undefined> {
    this.#checkRunning();
    const value = await this.#redis.command(["GET", this.#key(name)]);
    if (typeof value !== "string") return undefined;
    const bar = value.lastIndexOf("|");
    return { owner: value.slice(0, bar), token: Number(value.slice(bar + 1)) };
  }

  /**
   * Enters the election `name`: this instance tries to take the leader lease every
   * `renewIntervalMs` and, once leader, renews it as often. Leadership ends with `onLost`
   * when another instance has the lock, or when the lease ran out before Redis could be
   * reached to renew it (so two leaders never overlap, clocks running at the same rate).
   *
   * @example
   * ```ts ignore
   * import { ClusterLocks } from "./locks.ts";
   * const locks = await ClusterLocks.start({ url: "redis://127.0.0.1:6379" });
   * const election = await locks.leader("cron", { onElected: () => console.log("leader") });
   * await election.stop();
   * await locks.stop();
   * ```
   */
  async leader(name: string, options: LeaderOptions = {}): Promise<Leadership> {
    this.#checkRunning();
    this.#key(name);
    const ttl = Math.ceil(checkPositive("ttlMs", options.ttlMs, 10_000));
    const interval = checkPositive("renewIntervalMs", options.renewIntervalMs, ttl / 3);
    if (interval >= ttl) {
      throw new ClusterError("InvalidArgument", "renewIntervalMs must be shorter than ttlMs");
    }
    let lease: Lease | undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let running: Promise<void> = Promise.resolve();
    const notify = (fn: (() => void) | undefined) => {
      try {
        fn?.();
      } catch { /* the callback's failure is its own */ }
    };
    const lose = (reason: "lost" | "expired" | "stopped") => {
      clearTimeout(watchdog);
      lease = undefined;
      notify(() => options.onLost?.(reason));
    };
    // Ends leadership when the lease runs out, even while a renewal hangs on a lost Redis.
    const watch = () => {
      clearTimeout(watchdog);
      if (!lease || stopped) return;
      watchdog = setTimeout(() => {
        if (lease && !stopped && platform().now() >= lease.validUntil) lose("expired");
        else watch();
      }, Math.max(1, lease.validUntil - platform().now()));
    };
    const tick = async () => {
      if (stopped) return;
      try {
        if (lease) {
          if (!(await lease.renew(ttl))) lose("lost");
          else watch();
        } else {
          const got = await this.acquire(name, { ttlMs: ttl });
          if (got && !stopped) {
            lease = got;
            this.#stats.elections++;
            watch();
            notify(() => options.onElected?.(got));
          } else if (got) await got.release().catch(() => {});
        }
      } catch {
        // Redis unreachable: leadership lasts only as long as the lease we know of.
      }
      if (lease && platform().now() >= lease.validUntil) lose("expired");
    };
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(() => {
        running = tick().then(schedule);
      }, interval);
    };
    await tick();
    schedule();
    const leadership: Leadership = {
      get isLeader() {
        return lease !== undefined && platform().now() < lease.validUntil;
      },
      get lease() {
        return lease;
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        clearTimeout(watchdog);
        await running;
        this.#leaderships.delete(leadership);
        if (lease) {
          const held = lease;
          lease = undefined;
          await held.release().catch(() => {});
          notify(() => options.onLost?.("stopped"));
        }
      },
      [Symbol.asyncDispose]: () => leadership.stop(),
    };
    this.#leaderships.add(leadership);
    return leadership;
  }

  /** Counters since start or the last `resetStats()`. */
  getStats(): ClusterLocksStats {
    return { ...this.#stats, leaderships: this.#leaderships.size };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = zeroStats();
  }

  /**
   * Leaves every election (releasing leader leases) and closes the own connection. Leases
   * from `acquire` are not released: release them first. Stopping twice is harmless.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await Promise.all([...this.#leaderships].map((l) => l.stop()));
    this.#stopped = true;
    if (this.#owns) await this.#redis.close();
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

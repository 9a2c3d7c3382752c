/**
 * Shared test helpers. Runtime-neutral: tests that import only this file,
 * `node:*` test modules and Iora's own modules run under Deno and, through
 * the npm build, under Node.
 *
 * @module
 */
import { createServer } from "node:net";
import { availablePlatforms, platform, setPlatform } from "../core/platform/mod.ts";
import type { Platform } from "../core/platform/mod.ts";

export { availablePlatforms };
export type { Platform };

/** True when the suite runs under Deno. */
export const isDeno: boolean = "Deno" in globalThis;

/** A temporary directory removed (with its content) on dispose. */
export interface TempDir extends AsyncDisposable {
  /** The directory's path. */
  path: string;
  /** `path` joined with a relative file name. */
  join(name: string): string;
}

/**
 * Creates a temporary directory; use with `await using`.
 *
 * ```ts
 * await using dir = await tempDir();
 * await platform().writeTextFile(dir.join("a.txt"), "x");
 * ```
 */
export async function tempDir(prefix = "iora-test-"): Promise<TempDir> {
  const path = await platform().makeTempDir({ prefix });
  return {
    path,
    join: (name: string) => `${path}/${name}`,
    [Symbol.asyncDispose]: async () => {
      await platform().remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Runs `fn` with `p` as the current platform, restoring the previous one
 * afterwards; for tests that loop over {@linkcode availablePlatforms}.
 */
export async function withPlatform<T>(p: Platform, fn: () => Promise<T>): Promise<T> {
  const previous = setPlatform(p);
  try {
    return await fn();
  } finally {
    setPlatform(previous);
  }
}

/** Resolves with a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Thrown by {@linkcode waitFor} and {@linkcode withDeadline} when time runs out. */
export class DeadlineError extends Error {
  /** @param what what was being waited for */
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`);
    this.name = "DeadlineError";
  }
}

/**
 * Rejects with a {@linkcode DeadlineError} unless `promise` settles within
 * `ms`. The deadline is a safety net against hangs, not a timing assertion.
 */
export function withDeadline<T>(promise: Promise<T>, ms = 10_000, what = "a promise"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Waits until `condition()` is true, re-checking every few milliseconds,
 * with a deadline. Prefer awaiting the event itself ({@linkcode deferred});
 * this is for state outside our control, such as a file another process
 * writes or a process that must be gone.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = platform().now();
  while (!(await condition())) {
    if (platform().now() - started > timeoutMs) {
      throw new DeadlineError(options.what ?? "a condition", timeoutMs);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A one-shot event: `resolve` it from a callback, `await` it in the test.
 *
 * ```ts
 * const closed = deferred<string>();
 * server.onClose = (reason) => closed.resolve(reason);
 * assert.equal(await closed.wait(), "eof");
 * ```
 */
export interface Deferred<T> {
  /** Settles with a value. Later calls are ignored. */
  resolve(value: T): void;
  /** Settles with an error. Later calls are ignored. */
  reject(error: unknown): void;
  /** Waits for the value, failing after `timeoutMs` (default 10 s). */
  wait(timeoutMs?: number): Promise<T>;
  /** True once settled. */
  readonly settled: boolean;
}

/** Creates a {@linkcode Deferred}. */
export function deferred<T = void>(what = "an event"): Deferred<T> {
  let settled = false;
  let resolveFn!: (value: T) => void;
  let rejectFn!: (error: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    resolveFn = resolve;
    rejectFn = reject;
  });
  promise.catch(() => {});
  return {
    resolve(value) {
      if (!settled) {
        settled = true;
        resolveFn(value);
      }
    },
    reject(error) {
      if (!settled) {
        settled = true;
        rejectFn(error);
      }
    },
    wait: (timeoutMs = 10_000) => withDeadline(promise, timeoutMs, what),
    get settled() {
      return settled;
    },
  };
}

/**
 * Resolves once a runtime timer of `ms`, armed now, has fired. Runtime timers fire in deadline
 * order, so a timer armed earlier with a shorter delay (such as the 1 ms that runtimes make of a
 * delay beyond 2^31-1 ms) has fired by then: awaiting this shows such a timer did not exist.
 */
export function runtimeTimerFired(ms = 30): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The directory of the repository's test fixtures, as a file URL. */
export const fixturesUrl: URL = new URL("./fixtures/", import.meta.url);

/**
 * The command line that runs a fixture module (a path under
 * `tests/fixtures/`, without extension) with the runtime running the tests:
 * `deno run <permissions> x.ts` under Deno, `node x.js` under Node.
 */
export function fixtureCommand(
  name: string,
  permissions: string[] = ["--allow-read", "--allow-write", "--allow-env"],
): { command: string; args: string[] } {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const script = decodeURIComponent(new URL(`${name}.${ext}`, fixturesUrl).pathname);
  const args = isDeno ? ["run", ...permissions, script] : [script];
  return { command: platform().execPath(), args };
}

/** The lines of a byte stream (a child's output), as they complete. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const complete = pending.split("\n");
    pending = complete.pop()!;
    yield* complete;
  }
  if (pending !== "") yield pending;
}

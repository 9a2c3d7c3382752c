/**
 * Runs external commands safely: arguments go to the program as a vector
 * (no shell parses them, so shell metacharacters stay literal), a shell is
 * used only when asked for with `shell: true`, an allow-list is checked
 * before anything is spawned, output is capped per stream with the
 * truncation reported, and a timeout ends the process (SIGTERM, then
 * SIGKILL after a grace period).
 *
 * @example
 * ```ts
 * import { ShellRunner } from "./shell_runner.ts";
 * const runner = new ShellRunner({ allowedCommands: ["git"] });
 * const result = await runner.run("git", ["log", "-1", "--format=%H"], { timeoutMs: 5000 });
 * if (result.code === 0) console.log(result.stdout.trim());
 * ```
 *
 * @module
 */
import { IoraError } from "./errors.ts";
import { platform } from "./platform/mod.ts";
import type { ChildProcessHandle } from "./platform/mod.ts";
import { timerDelay } from "./_timer_delay.ts";

/** Stable codes of {@linkcode ShellRunnerError}. */
export type ShellRunnerErrorCode = "CommandNotAllowed" | "SpawnFailed" | "InvalidArgument";

/** A command that could not be started: refused by the allow-list, missing, or badly specified. */
export class ShellRunnerError extends IoraError {
  /** What went wrong. */
  declare readonly code: ShellRunnerErrorCode;
  /** The command concerned. */
  readonly command: string;

  /**
   * Creates a shell runner error.
   *
   * @param code what went wrong
   * @param command the command concerned
   * @param message a description
   * @param options standard error options (`cause`)
   */
  constructor(
    code: ShellRunnerErrorCode,
    command: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.command = command;
  }
}

/** Options of one {@linkcode ShellRunner.run}. */
export interface RunOptions {
  /** Working directory of the process. */
  cwd?: string;
  /** Variables merged over the parent's environment (or alone with `clearEnv`). */
  env?: Record<string, string>;
  /** Start from an empty environment (plus `env`). */
  clearEnv?: boolean;
  /** Text or bytes written to the process's standard input, which is then closed. */
  stdin?: string | Uint8Array;
  /** After this long the process gets SIGTERM, then SIGKILL after `killGraceMs`. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL on a timeout or abort; default from the runner. */
  killGraceMs?: number;
  /** The most bytes kept per stream; the rest is read and discarded, and `truncated` says so. */
  maxOutputBytes?: number;
  /**
   * Run `command` through `/bin/sh -c` (with `args` as `$1`, `$2`...).
   * Explicit opt-in only: the shell interprets `command`, so never build it
   * from untrusted input. Refused when the runner has an allow-list.
   */
  shell?: boolean;
  /** Aborting kills the process like a timeout (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
}

/** How a run ended. */
export interface RunResult {
  /** The process id the run had (gone by the time the result exists). */
  pid: number;
  /** The exit code, or null when a signal ended the process. */
  code: number | null;
  /** The signal that ended the process, or null. */
  signal: string | null;
  /** Standard output (UTF-8), at most `maxOutputBytes`. */
  stdout: string;
  /** Standard error (UTF-8), at most `maxOutputBytes`. */
  stderr: string;
  /** True when the timeout ended the process. */
  timedOut: boolean;
  /** True when the abort signal ended the process. */
  aborted: boolean;
  /**
   * Which streams were cut: at `maxOutputBytes`, or because the stream was still open 200 ms
   * after the process exited (a background grandchild holding it) and reading stopped there.
   */
  truncated: { stdout: boolean; stderr: boolean };
  /** Wall time from spawn to exit, in milliseconds. */
  durationMs: number;
}

/** Options of {@linkcode ShellRunner}. */
export interface ShellRunnerOptions {
  /** When set, only these commands may run (compared with the command exactly as given). */
  allowedCommands?: string[];
  /** Default timeout of each run; default none. */
  timeoutMs?: number;
  /** Default per-stream output cap; default 10 MiB. */
  maxOutputBytes?: number;
  /** Default time between SIGTERM and SIGKILL; default 2000 ms. */
  killGraceMs?: number;
  /** The shell used with `shell: true`; default `/bin/sh`. */
  shellPath?: string;
}

/** Counters of a {@linkcode ShellRunner}. */
export interface ShellRunnerStats {
  /** Processes started. */
  runs: number;
  /** Runs refused by the allow-list. */
  refused: number;
  /** Runs ended by their timeout. */
  timeouts: number;
  /** Runs whose output was truncated. */
  truncations: number;
}

// How long to keep reading a stream after the process exited: a grandchild
// that inherited the pipe must not keep `run()` waiting forever.
const PIPE_DRAIN_MS = 200;

interface Captured {
  chunks: Uint8Array[];
  kept: number;
  truncated: boolean;
}

async function capture(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
  exited: Promise<unknown>,
): Promise<Captured> {
  const out: Captured = { chunks: [], kept: 0, truncated: false };
  if (!stream) return out;
  const reader = stream.getReader();
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<null>((resolve) => {
    void exited.then(() => {
      if (finished) return resolve(null);
      timer = setTimeout(() => resolve(null), PIPE_DRAIN_MS);
      platform().unrefTimer(timer);
    });
  });
  try {
    while (true) {
      const next = await Promise.race([reader.read(), gaveUp]);
      if (next === null) {
        // Abandon the pending read rather than cancel it: cancelling Node's adapted streams
        // raises an uncatchable AbortError on Deno, and the read ends with the grandchild.
        // What the pipe still brings is not read, so the capture may be incomplete: say so.
        out.truncated = true;
        break;
      }
      const { done, value } = next;
      if (done) break;
      const room = limit - out.kept;
      if (value.length > room) out.truncated = true;
      if (room > 0) {
        const piece = value.length > room ? value.subarray(0, room) : value;
        out.chunks.push(piece);
        out.kept += piece.length;
      }
    }
  } catch {
    /* the pipe broke: keep what we have */
  } finally {
    finished = true;
    clearTimeout(timer);
  }
  return out;
}

function decode(captured: Captured): string {
  const all = new Uint8Array(captured.kept);
  let offset = 0;
  for (const c of captured.chunks) {
    all.set(c, offset);
    offset += c.length;
  }
  return new TextDecoder().decode(all);
}

function nonNegative(value: number | undefined, name: string, command: string): void {
  if (value !== undefined && !(typeof value === "number" && value >= 0)) {
    throw new ShellRunnerError("InvalidArgument", command, `${name} must be a number >= 0`);
  }
}

/**
 * Runs commands with an optional allow-list, timeouts and output caps.
 *
 * @example
 * ```ts
 * import { ShellRunner } from "./shell_runner.ts";
 * const runner = new ShellRunner();
 * const { stdout } = await runner.run("echo", ["$HOME; rm -rf /"]); // printed literally
 * console.log(stdout);
 * const piped = await runner.run("wc", ["-c"], { stdin: "hello" });
 * console.log(piped.stdout.trim()); // "5"
 * ```
 */
export class ShellRunner {
  #allowed: Set<string> | undefined;
  #timeoutMs: number | undefined;
  #maxOutput: number;
  #grace: number;
  #shellPath: string;
  #stats: ShellRunnerStats = { runs: 0, refused: 0, timeouts: 0, truncations: 0 };

  /**
   * Creates a runner.
   *
   * @param options allow-list and defaults for every run
   */
  constructor(options: ShellRunnerOptions = {}) {
    this.#allowed = options.allowedCommands ? new Set(options.allowedCommands) : undefined;
    nonNegative(options.timeoutMs, "timeoutMs", "<runner>");
    nonNegative(options.maxOutputBytes, "maxOutputBytes", "<runner>");
    nonNegative(options.killGraceMs, "killGraceMs", "<runner>");
    this.#timeoutMs = options.timeoutMs;
    this.#maxOutput = options.maxOutputBytes ?? 10 * 1024 * 1024;
    this.#grace = options.killGraceMs ?? 2000;
    this.#shellPath = options.shellPath ?? "/bin/sh";
  }

  /** Counters since creation or the last `resetStats()`. */
  getStats(): ShellRunnerStats {
    return { ...this.#stats };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = { runs: 0, refused: 0, timeouts: 0, truncations: 0 };
  }

  /**
   * Runs `command` with `args` and resolves once it has exited, with its
   * output and how it ended. Rejects with a {@linkcode ShellRunnerError}
   * when the command is not allowed or cannot be started; a non-zero exit
   * is a normal result, not an error.
   */
  async run(command: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
    if (typeof command !== "string" || command === "") {
      throw new ShellRunnerError(
        "InvalidArgument",
        String(command),
        "command must be a non-empty string",
      );
    }
    if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) {
      throw new ShellRunnerError("InvalidArgument", command, "args must be an array of strings");
    }
    if (args.some((a) => a.includes("\0")) || command.includes("\0")) {
      throw new ShellRunnerError("InvalidArgument", command, "arguments cannot contain NUL bytes");
    }
    nonNegative(options.timeoutMs, "timeoutMs", command);
    nonNegative(options.maxOutputBytes, "maxOutputBytes", command);
    nonNegative(options.killGraceMs, "killGraceMs", command);
    if (this.#allowed) {
      if (options.shell) {
        this.#stats.refused++;
        throw new ShellRunnerError(
          "CommandNotAllowed",
          command,
          "shell: true is refused when an allow-list is set: the shell would run anything",
        );
      }
      if (!this.#allowed.has(command)) {
        this.#stats.refused++;
        throw new ShellRunnerError(
          "CommandNotAllowed",
          command,
          `command ${JSON.stringify(command)} is not in the allow-list (${
            [...this.#allowed].join(", ")
          })`,
        );
      }
    }
    if (options.signal?.aborted) {
      throw new ShellRunnerError("SpawnFailed", command, "aborted before start", {
        cause: options.signal.reason,
      });
    }

    const program = options.shell ? this.#shellPath : command;
    const argv = options.shell ? ["-c", command, "sh", ...args] : args;
    const started = platform().now();
    let child: ChildProcessHandle;
    try {
      child = platform().spawn(program, {
        args: argv,
        cwd: options.cwd,
        env: options.env,
        clearEnv: options.clearEnv,
        stdin: options.stdin !== undefined ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
        // A timeout or an abort ends what the command started too, not only the command.
        processGroup: true,
      });
    } catch (error) {
      throw new ShellRunnerError("SpawnFailed", command, `cannot start ${command}: ${error}`, {
        cause: error,
      });
    }
    this.#stats.runs++;

    const limit = options.maxOutputBytes ?? this.#maxOutput;
    const status = child.status;
    const exited = status.catch(() => {});
    const outputs = Promise.all([
      capture(child.stdout, limit, exited),
      capture(child.stderr, limit, exited),
    ]);
    const writing = this.#feed(child, options.stdin);

    let timedOut = false;
    let aborted = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const grace = options.killGraceMs ?? this.#grace;
    const terminate = () => {
      child.kill("SIGTERM");
      if (grace !== Infinity) {
        killTimer ??= setTimeout(() => child.kill("SIGKILL"), timerDelay(grace));
      }
    };
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timeout = timeoutMs === undefined || timeoutMs === Infinity
      ? undefined
      : setTimeout(() => {
        timedOut = true;
        terminate();
      }, timerDelay(timeoutMs));
    const onAbort = () => {
      aborted = true;
      terminate();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });

    let result;
    try {
      result = await status;
    } catch (error) {
      throw new ShellRunnerError(
        "SpawnFailed",
        command,
        `cannot start ${command}: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", onAbort);
    }
    const durationMs = platform().now() - started;
    const [out, err] = await outputs;
    await writing;
    if (timedOut) this.#stats.timeouts++;
    if (out.truncated || err.truncated) this.#stats.truncations++;
    return {
      pid: child.pid,
      code: result.code,
      signal: result.signal,
      stdout: decode(out),
      stderr: decode(err),
      timedOut,
      aborted,
      truncated: { stdout: out.truncated, stderr: err.truncated },
      durationMs,
    };
  }

  async #feed(child: ChildProcessHandle, input: string | Uint8Array | undefined): Promise<void> {
    if (input === undefined || !child.stdin) return;
    const writer = child.stdin.getWriter();
    try {
      await writer.write(typeof input === "string" ? new TextEncoder().encode(input) : input);
      await writer.close();
    } catch { /* the process exited without reading everything: not an error of the run */ }
  }
}

/**
 * The runtime seam: everything Iora needs from the host runtime besides
 * sockets, described once. `deno.ts` and `node.ts` implement it with the
 * same shape; nothing outside `core/platform/` and the network adapters
 * touches `Deno.*` or `node:*`.
 *
 * @module
 */
import type { ContextManager, TracerProvider } from "../tracing_api.ts";

/** The name of a runtime implementation. */
export type RuntimeName = "deno" | "node";

/** What `stat` reports about a path. */
export interface FileInfo {
  /** True for a regular file. */
  isFile: boolean;
  /** True for a directory. */
  isDirectory: boolean;
  /** True for a symbolic link (only from `lstat`-style calls; `stat` follows links). */
  isSymlink: boolean;
  /** Size in bytes. */
  size: number;
  /** Last modification time in milliseconds since the epoch, or null when unknown. */
  mtimeMs: number | null;
}

/** One entry of a directory listing. */
export interface DirEntry {
  /** The entry's file name (no directory part). */
  name: string;
  /** True for a regular file. */
  isFile: boolean;
  /** True for a directory. */
  isDirectory: boolean;
}

/** How to open a file with {@linkcode Platform.open}. */
export interface OpenOptions {
  /** Open for reading. */
  read?: boolean;
  /** Open for writing. */
  write?: boolean;
  /** Create the file when missing. */
  create?: boolean;
  /** Empty the file on open. */
  truncate?: boolean;
  /**
   * Create the file, failing (`AlreadyExists`) if anything is at the path, a symbolic link
   * included: it is never followed (O_CREAT | O_EXCL).
   */
  createNew?: boolean;
  /** Every write goes to the end of the file. */
  append?: boolean;
  /** Permission bits for a created file (POSIX), for example `0o600`. */
  mode?: number;
}

/** An open file: ordered writes, reads, fsync and close. */
export interface FileHandle {
  /** Writes all of `data` (looping over short writes) and resolves with its length. */
  write(data: Uint8Array): Promise<number>;
  /**
   * Writes all of `data` synchronously and returns its length. For writers that must keep
   * strict ordering under a producer that never yields (the logger's file sink).
   */
  writeSync(data: Uint8Array): number;
  /** Reads into `buffer`; resolves with the number of bytes read, or null at end of file. */
  read(buffer: Uint8Array): Promise<number | null>;
  /**
   * Positional read: fills `buffer` from byte `position` of the file (looping over short reads)
   * and resolves with the count read, less than `buffer.length` only at the end of the file, or
   * null when `position` is at or past it. Node reads with `pread` and leaves the file position
   * alone. Deno has no `pread`: it seeks, then reads, so the file position moves; its `readAt`
   * calls on one handle run one at a time, and a `readAtSync` while one is pending fails with an
   * `UnsupportedError` naming the runtime. Give positional readers a handle of their own.
   */
  readAt(buffer: Uint8Array, position: number): Promise<number | null>;
  /** {@linkcode FileHandle.readAt}, synchronously: for small reads that must not yield. */
  readAtSync(buffer: Uint8Array, position: number): number | null;
  /** Flushes the file's data and metadata to the disk (fsync). */
  sync(): Promise<void>;
  /** Closes the file. Closing twice is harmless. */
  close(): Promise<void>;
}

/** What a file watcher reports. */
export interface WatchEvent {
  /** The kind of change, normalised across runtimes. */
  kind: "create" | "modify" | "remove" | "rename" | "other";
  /** The paths involved (absolute or as given to `watch`). */
  paths: string[];
}

/** A running file watcher. */
export interface Watcher {
  /** Stops watching. Closing twice is harmless. */
  close(): void;
}

/** What to do with a child's standard stream. */
export type StdioMode = "piped" | "inherit" | "null";

/** Options of {@linkcode Platform.spawn}. */
export interface SpawnOptions {
  /** Arguments, passed as a vector: no shell ever parses them. */
  args?: string[];
  /** Working directory of the child. */
  cwd?: string;
  /** Variables merged over the parent's environment (or alone with `clearEnv`). */
  env?: Record<string, string>;
  /** Start from an empty environment instead of the parent's. */
  clearEnv?: boolean;
  /** Standard input; default `"null"`. */
  stdin?: StdioMode;
  /** Standard output; default `"piped"`. */
  stdout?: StdioMode;
  /** Standard error; default `"piped"`. */
  stderr?: StdioMode;
  /**
   * Start the child in a process group of its own (POSIX), so that `kill()` signals the whole
   * group: the processes it started too. Default false.
   */
  processGroup?: boolean;
}

/** How a child process ended. */
export interface ProcessStatus {
  /** True when the exit code is 0. */
  success: boolean;
  /** The exit code, or null when a signal ended the process. */
  code: number | null;
  /** The signal that ended the process (for example `"SIGKILL"`), or null. */
  signal: string | null;
}

/** A spawned child process. */
export interface ChildProcessHandle {
  /** The operating system's process id. */
  readonly pid: number;
  /** The child's standard input when piped, else null. */
  readonly stdin: WritableStream<Uint8Array> | null;
  /** The child's standard output when piped, else null. */
  readonly stdout: ReadableStream<Uint8Array> | null;
  /** The child's standard error when piped, else null. */
  readonly stderr: ReadableStream<Uint8Array> | null;
  /** Resolves once the child has exited. */
  readonly status: Promise<ProcessStatus>;
  /**
   * Sends a signal (default `"SIGTERM"`) to the child, or to its whole process group when it
   * was spawned with `processGroup`. Harmless after the child has exited.
   */
  kill(signal?: string): void;
  /** Lets the parent exit while the child still runs. */
  unref(): void;
}

/** A permission grant: `true` for everything, a list to name what is allowed, `false` or absent for nothing. */
export type PermissionGrant = boolean | string[];

/**
 * Permissions for a sandboxed worker. Everything absent is denied. Only
 * Deno enforces per-worker permissions; Node refuses them with an
 * {@linkcode UnsupportedError}.
 */
export interface WorkerPermissions {
  /** Paths the worker may read. */
  read?: PermissionGrant;
  /** Paths the worker may write. */
  write?: PermissionGrant;
  /** Hosts (`host` or `host:port`) the worker may reach. */
  net?: PermissionGrant;
  /** Environment variable names the worker may read. */
  env?: PermissionGrant;
  /** Commands the worker may run. */
  run?: PermissionGrant;
  /** System information the worker may query. */
  sys?: PermissionGrant;
  /** Libraries the worker may load through FFI. */
  ffi?: PermissionGrant;
  /** Modules the worker may import from remote hosts. */
  import?: PermissionGrant;
}

/** Options of {@linkcode Platform.startWorker}. */
export interface WorkerOptions {
  /** A name shown in debuggers and error messages. */
  name?: string;
  /**
   * `"inherit"` (the default) gives the worker the parent's permissions;
   * an object scopes them (Deno only).
   */
  permissions?: "inherit" | WorkerPermissions;
}

/** A worker seen from the parent. */
export interface WorkerHandle {
  /** Sends a structured-clonable message, transferring the listed objects. */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Sets the handler of messages from the worker (one handler; a new one replaces it). */
  onMessage(handler: (message: unknown) => void): void;
  /** Sets the handler of uncaught errors and failures to start (one handler). */
  onError(handler: (error: Error) => void): void;
  /** Stops the worker at once. Resolves when it is gone. */
  terminate(): Promise<void>;
  /** Lets the process exit while the worker is idle. A no-op on Deno, which has no way to unref a worker. */
  unref(): void;
  /** Keeps the process alive while the worker exists (undoes `unref`). */
  ref(): void;
}

/** The parent, seen from inside a worker. */
export interface ParentPort {
  /** Sends a structured-clonable message to the parent. */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Sets the handler of messages from the parent. */
  onMessage(handler: (message: unknown) => void): void;
}

/** The runtime's OpenTelemetry provider and context manager (see `core/tracing.ts`). */
export interface RuntimeTelemetry {
  /** Spans started here go to the runtime's exporter. */
  tracerProvider: TracerProvider;
  /** The runtime's context manager (its own instrumentation follows it). */
  contextManager: ContextManager;
}

/**
 * A value that follows a call into everything that descends from it: its awaits, promise
 * callbacks and timers (`AsyncLocalStorage`).
 */
export interface AsyncContext<T> {
  /**
   * Runs `fn` with the context set to `value`.
   *
   * @param value the value
   * @param fn the function
   * @returns what `fn` returns
   */
  run<R>(value: T, fn: () => R): R;
  /** The value of the innermost `run` this code descends from, or undefined. */
  get(): T | undefined;
}

/** A signal Iora can listen for. */
export type ShutdownSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** An opaque timer handle as returned by `setTimeout`/`setInterval`. */
export type TimerHandle = ReturnType<typeof setTimeout>;

/**
 * Everything runtime-specific that Iora's core needs: files, processes,
 * workers, file watching, signals, environment, clock and timer control.
 */
export interface Platform {
  /** Which runtime this implementation drives. */
  readonly name: RuntimeName;

  // Files
  /** Reads a whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Reads a whole file as UTF-8 text. */
  readTextFile(path: string): Promise<string>;
  /** Writes a whole file, creating it (with `mode`) or replacing its content. */
  writeFile(path: string, data: Uint8Array, options?: { mode?: number }): Promise<void>;
  /** Writes a whole file as UTF-8 text. */
  writeTextFile(path: string, text: string, options?: { mode?: number }): Promise<void>;
  /** Appends bytes to a file, creating it when missing. */
  appendFile(path: string, data: Uint8Array): Promise<void>;
  /** Opens a file for handle-based I/O. */
  open(path: string, options: OpenOptions): Promise<FileHandle>;
  /** Renames (atomically, on one file system) `from` to `to`, replacing `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Opens a file synchronously (for writers that cannot wait, such as log rotation). */
  openSync(path: string, options: OpenOptions): FileHandle;
  /** Renames synchronously, like {@linkcode Platform.rename}. */
  renameSync(from: string, to: string): void;
  /** Describes a path synchronously, like {@linkcode Platform.stat}. */
  statSync(path: string): FileInfo;
  /** Removes a file or (with `recursive`) a directory tree. */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** Creates a directory (with `recursive`, its parents too; an existing one is fine). */
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** Describes a path, following symbolic links. Rejects with code `NotFound` when missing. */
  stat(path: string): Promise<FileInfo>;
  /** Lists a directory. */
  readDir(path: string): Promise<DirEntry[]>;
  /** Flushes a directory's entries to the disk, so a rename inside it is durable. */
  syncDir(path: string): Promise<void>;
  /** Creates a fresh, empty temporary directory and returns its path. */
  makeTempDir(options?: { prefix?: string }): Promise<string>;
  /** The absolute form of `path`, resolved against the working directory. */
  realPath(path: string): Promise<string>;
  /** Reads a whole file synchronously (for start-up and exit paths only). */
  readTextFileSync(path: string): string;
  /** Watches a file or directory for changes. */
  watch(path: string, handler: (event: WatchEvent) => void): Watcher;

  // Process and environment
  /** The value of an environment variable, or undefined. */
  getEnv(name: string): string | undefined;
  /** Sets an environment variable. */
  setEnv(name: string, value: string): void;
  /** Removes an environment variable. */
  deleteEnv(name: string): void;
  /** A copy of the whole environment. */
  envObject(): Record<string, string>;
  /** The command-line arguments after the script. */
  args(): string[];
  /** The current working directory. */
  cwd(): string;
  /** This process's id. */
  pid(): number;
  /** The absolute path of the running runtime's executable (`deno` or `node`). */
  execPath(): string;
  /** Ends the process with `code`. */
  exit(code: number): never;
  /** Starts a child process. */
  spawn(command: string, options?: SpawnOptions): ChildProcessHandle;
  /** Calls `handler` on a signal; returns a function that removes it. */
  onSignal(signal: ShutdownSignal, handler: () => void): () => void;
  /** Writes bytes to standard error, unbuffered. */
  writeStderr(data: Uint8Array): void;
  /** Writes bytes to standard output, unbuffered. */
  writeStdout(data: Uint8Array): void;
  /**
   * Reads from this process's standard input into `buffer`; resolves with the number of bytes
   * read, or null at its end. A plain read, not a stream: the sandbox channel's latency.
   */
  readStdin(buffer: Uint8Array): Promise<number | null>;

  // Workers
  /** Starts a module worker from a module URL. */
  startWorker(url: string | URL, options?: WorkerOptions): WorkerHandle;
  /** The parent port when running inside a worker, else null. */
  parentPort(): ParentPort | null;

  /** This process's resident memory in bytes and CPU time (user + system) in seconds. */
  processUsage(): { rssBytes: number; cpuSeconds: number };
  /** A new async context (see {@linkcode AsyncContext}). */
  asyncContext<T>(): AsyncContext<T>;
  /**
   * The runtime's built-in OpenTelemetry when it is on (Deno with `OTEL_DENO=true`: spans go
   * to its OTLP exporter), else null.
   */
  telemetry(): RuntimeTelemetry | null;

  // Time
  /** Monotonic time in milliseconds with sub-millisecond resolution. */
  now(): number;
  /** Lets the process exit while this timer is pending. */
  unrefTimer(handle: TimerHandle): void;
  /** Keeps the process alive while this timer is pending (undoes `unrefTimer`). */
  refTimer(handle: TimerHandle): void;
}

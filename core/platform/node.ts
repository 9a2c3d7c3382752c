/**
 * The Node implementation of the runtime seam. It also runs under Deno's
 * Node compatibility layer, which is how the Deno test run covers it.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import * as childProcess from "node:child_process";
import * as nodeFs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as nodePath from "node:path";
import process from "node:process";
import { Readable, Writable } from "node:stream";
import * as workerThreads from "node:worker_threads";
import { type FileSystemErrorCode, UnsupportedError } from "../errors.ts";
import { fsWrappers } from "./_fs.ts";
import type {
  AsyncContext,
  ChildProcessHandle,
  FileHandle,
  FileInfo,
  OpenOptions,
  ParentPort,
  Platform,
  ProcessStatus,
  ShutdownSignal,
  SpawnOptions,
  StdioMode,
  TimerHandle,
  Watcher,
  WorkerHandle,
  WorkerOptions,
} from "./types.ts";

const FS_CODES: Record<string, FileSystemErrorCode> = {
  ENOENT: "NotFound",
  EEXIST: "AlreadyExists",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  ENOTDIR: "NotADirectory",
  EISDIR: "IsADirectory",
};

const { fsError, fs, fsSync } = fsWrappers((error) =>
  FS_CODES[(error as { code?: string }).code ?? ""]
);

function openFlags(options: OpenOptions): number {
  const c = nodeFs.constants;
  const write = options.write || options.append;
  let flags = write ? (options.read ? c.O_RDWR : c.O_WRONLY) : c.O_RDONLY;
  if (options.create || options.createNew) flags |= c.O_CREAT;
  if (options.createNew) flags |= c.O_EXCL;
  if (options.truncate) flags |= c.O_TRUNC;
  if (options.append) flags |= c.O_APPEND;
  return flags;
}

/** Runs a callback-style `node:fs` call on a descriptor as a promise. */
function onFd<T>(call: (done: (error: Error | null, result: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => call((e, result) => e ? reject(e) : resolve(result)));
}

// One handle over a raw descriptor serves both `open` and `openSync`.
function fdHandle(fd: number, path: string): FileHandle {
  let closed = false;
  return {
    write: (data) =>
      fs(path, async () => {
        let written = 0;
        while (written < data.length) {
          written += await onFd<number>((done) =>
            nodeFs.write(fd, data, written, data.length - written, null, done)
          );
        }
        return written;
      }),
    writeSync: (data) => {
      fsSync(path, () => writeAllSync(fd, data));
      return data.length;
    },
    read: (buffer) =>
      fs(path, async () => {
        const bytesRead = await onFd<number>((done) =>
          nodeFs.read(fd, buffer, 0, buffer.length, null, done)
        );
        return bytesRead === 0 && buffer.length > 0 ? null : bytesRead;
      }),
    readAt: (buffer, position) =>
      fs(path, async () => {
        let got = 0;
        while (got < buffer.length) {
          const n = await onFd<number>((done) =>
            nodeFs.read(fd, buffer, got, buffer.length - got, position + got, done)
          );
          if (n === 0) break;
          got += n;
        }
        return got === 0 && buffer.length > 0 ? null : got;
      }),
    readAtSync: (buffer, position) =>
      fsSync(path, () => {
        let got = 0;
        while (got < buffer.length) {
          const n = nodeFs.readSync(fd, buffer, got, buffer.length - got, position + got);
          if (n === 0) break;
          got += n;
        }
        return got === 0 && buffer.length > 0 ? null : got;
      }),
    sync: () => fs(path, () => onFd<void>((done) => nodeFs.fsync(fd, (e) => done(e, undefined)))),
    close: () => {
      if (!closed) {
        closed = true;
        try {
          nodeFs.closeSync(fd);
        } catch { /* already closed */ }
      }
      return Promise.resolve();
    },
  };
}

async function open(path: string, options: OpenOptions): Promise<FileHandle> {
  const fd = await fs(
    path,
    () => onFd<number>((done) => nodeFs.open(path, openFlags(options), options.mode, done)),
  );
  return fdHandle(fd, path);
}

function openSync(path: string, options: OpenOptions): FileHandle {
  return fdHandle(
    fsSync(path, () => nodeFs.openSync(path, openFlags(options), options.mode)),
    path,
  );
}

function toInfo(stats: nodeFs.Stats): FileInfo {
  return {
    isFile: stats.isFile(),
    isDirectory: stats.isDirectory(),
    isSymlink: stats.isSymbolicLink(),
    size: stats.size,
    mtimeMs: stats.mtimeMs,
  };
}

function watch(
  path: string,
  handler: (event: { kind: "modify" | "rename"; paths: string[] }) => void,
): Watcher {
  let watcher: nodeFs.FSWatcher;
  try {
    watcher = nodeFs.watch(path, (eventType, filename) => {
      const changed = filename ? nodePath.join(nodePath.dirname(path), String(filename)) : path;
      handler({ kind: eventType === "change" ? "modify" : "rename", paths: [changed] });
    });
  } catch (error) {
    throw fsError(error, path);
  }
  // A watcher error (the watched file vanished) ends watching rather than crashing the process.
  watcher.on("error", () => watcher.close());
  return { close: () => watcher.close() };
}

function stdio(mode: StdioMode | undefined, fallback: StdioMode): "pipe" | "inherit" | "ignore" {
  const chosen = mode ?? fallback;
  return chosen === "piped" ? "pipe" : chosen === "inherit" ? "inherit" : "ignore";
}

// Standard input as plain reads: chunks from the stream, handed out as far as each buffer takes.
let stdinChunks: AsyncIterator<Uint8Array> | undefined;
let stdinRest: Uint8Array = new Uint8Array(0);

async function readStdin(buffer: Uint8Array): Promise<number | null> {
  if (stdinRest.length === 0) {
    stdinChunks ??= process.stdin[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    const next = await stdinChunks.next();
    if (next.done) return null;
    stdinRest = next.value;
  }
  const n = Math.min(buffer.length, stdinRest.length);
  buffer.set(stdinRest.subarray(0, n));
  stdinRest = stdinRest.subarray(n);
  return n;
}

function spawn(command: string, options: SpawnOptions = {}): ChildProcessHandle {
  const env = options.clearEnv ? { ...options.env } : { ...process.env, ...options.env };
  const child = childProcess.spawn(command, options.args ?? [], {
    cwd: options.cwd,
    env,
    stdio: [
      stdio(options.stdin, "null"),
      stdio(options.stdout, "piped"),
      stdio(options.stderr, "piped"),
    ],
    shell: false,
    detached: options.processGroup ?? false,
  });
  // Our own flag: Deno's node:child_process sets `signalCode` at kill() time, which would
  // make a SIGKILL after an ignored SIGTERM look unnecessary.
  let exited = false;
  const status = new Promise<ProcessStatus>((resolve, reject) => {
    child.once("error", (error) => reject(fsError(error, command)));
    child.once("exit", (code, signal) => {
      exited = true;
      resolve({ success: code === 0, code, signal });
    });
  });
  status.catch(() => {});
  // Cancelling the web stream destroys the Node stream with an AbortError (and a child that
  // exits early breaks stdin): the web side already reports these, they must not go uncaught.
  for (const s of [child.stdin, child.stdout, child.stderr]) s?.on("error", () => {});
  return {
    pid: child.pid ?? -1,
    stdin: child.stdin ? Writable.toWeb(child.stdin) as WritableStream<Uint8Array> : null,
    stdout: child.stdout ? Readable.toWeb(child.stdout) as ReadableStream<Uint8Array> : null,
    stderr: child.stderr ? Readable.toWeb(child.stderr) as ReadableStream<Uint8Array> : null,
    status,
    kill(signal = "SIGTERM") {
      // The group outlives its leader while members live: signal it even after the exit.
      if (options.processGroup && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal as NodeJS.Signals);
          return;
        } catch { /* the group is gone: fall back to the child */ }
      }
      if (!exited && child.pid !== undefined) {
        // process.kill, not child.kill: Deno's compat ignores a second child.kill().
        try {
          process.kill(child.pid, signal as NodeJS.Signals);
        } catch { /* exited in the meantime */ }
      }
    },
    unref: () => child.unref(),
  };
}

function startWorker(url: string | URL, options: WorkerOptions = {}): WorkerHandle {
  if (options.permissions !== undefined && options.permissions !== "inherit") {
    throw new UnsupportedError(
      "node",
      "per-worker permissions",
      "Node has no permission-scoped workers; run the code unsandboxed only if you trust it",
    );
  }
  const worker = new workerThreads.Worker(typeof url === "string" ? new URL(url) : url, {
    name: options.name,
  });
  let onError: (error: Error) => void = () => {};
  let onMessage: (message: unknown) => void = () => {};
  worker.on("message", (message) => onMessage(message));
  worker.on("error", (error) => onError(error instanceof Error ? error : new Error(String(error))));
  worker.on("exit", (code) => {
    if (code !== 0 && code !== 1) onError(new Error(`worker exited with code ${code}`));
  });
  return {
    postMessage: (message, transfer) =>
      worker.postMessage(message, transfer as workerThreads.TransferListItem[] | undefined),
    onMessage: (handler) => {
      onMessage = handler;
    },
    onError: (handler) => {
      onError = handler;
    },
    terminate: async () => {
      await worker.terminate();
    },
    unref: () => worker.unref(),
    ref: () => worker.ref(),
  };
}

function parentPort(): ParentPort | null {
  const port = workerThreads.parentPort;
  if (!port) return null;
  let onMessage: ((message: unknown) => void) | null = null;
  return {
    postMessage: (message, transfer) =>
      port.postMessage(message, transfer as workerThreads.TransferListItem[] | undefined),
    onMessage: (handler) => {
      // One listener for the port's life; a new handler replaces the old one.
      if (!onMessage) port.on("message", (message) => onMessage?.(message));
      onMessage = handler;
    },
  };
}

// A non-blocking pipe (a child's stdout read by a slow parent) answers EAGAIN when full: wait
// a moment for the reader, synchronously, and go on; the caller asked for a blocking write.
const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAllSync(fd: number, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) {
    try {
      written += nodeFs.writeSync(fd, data, written);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** The seam implemented with Node's built-in modules. */
export const nodePlatform: Platform = {
  name: "node",

  readFile: (path) => fs(path, async () => new Uint8Array(await fsp.readFile(path))),
  readTextFile: (path) => fs(path, () => fsp.readFile(path, "utf8")),
  writeFile: (path, data, options) =>
    fs(path, () => fsp.writeFile(path, data, { mode: options?.mode })),
  writeTextFile: (path, text, options) =>
    fs(path, () => fsp.writeFile(path, text, { encoding: "utf8", mode: options?.mode })),
  appendFile: (path, data) => fs(path, () => fsp.appendFile(path, data)),
  open,
  rename: (from, to) => fs(from, () => fsp.rename(from, to)),
  openSync,
  renameSync: (from, to) => fsSync(from, () => nodeFs.renameSync(from, to)),
  statSync: (path) => fsSync(path, () => toInfo(nodeFs.statSync(path))),
  remove: (path, options) =>
    fs(path, async () => {
      const info = await fsp.lstat(path);
      if (info.isDirectory()) await fsp.rm(path, { recursive: options?.recursive ?? false });
      else await fsp.unlink(path);
    }),
  mkdir: (path, options) =>
    fs(path, async () => {
      await fsp.mkdir(path, { recursive: options?.recursive ?? false });
    }),
  stat: (path) => fs(path, async () => toInfo(await fsp.stat(path))),
  readDir: (path) =>
    fs(path, async () =>
      (await fsp.readdir(path, { withFileTypes: true })).map((e) => ({
        name: e.name,
        isFile: e.isFile(),
        isDirectory: e.isDirectory(),
      }))),
  syncDir: (path) =>
    fs(path, async () => {
      const dir = await fsp.open(path, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }),
  makeTempDir: (options) =>
    fs("<temp>", () => fsp.mkdtemp(nodePath.join(os.tmpdir(), options?.prefix ?? "tmp-"))),
  realPath: (path) => fs(path, () => fsp.realpath(path)),
  readTextFileSync: (path) => fsSync(path, () => nodeFs.readFileSync(path, "utf8")),
  watch,

  getEnv: (name) => process.env[name],
  setEnv: (name, value) => {
    process.env[name] = value;
  },
  deleteEnv: (name) => {
    delete process.env[name];
  },
  envObject: () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    return env;
  },
  args: () => process.argv.slice(2),
  cwd: () => process.cwd(),
  pid: () => process.pid,
  execPath: () => process.execPath,
  exit: (code) => process.exit(code),
  spawn,
  onSignal: (signal: ShutdownSignal, handler) => {
    process.on(signal, handler);
    return () => {
      process.off(signal, handler);
    };
  },
  writeStderr: (data) => writeAllSync(2, data),
  writeStdout: (data) => writeAllSync(1, data),
  readStdin,

  startWorker,
  parentPort,

  processUsage: () => {
    const cpu = process.cpuUsage();
    return { rssBytes: process.memoryUsage.rss(), cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  },
  asyncContext: <T>(): AsyncContext<T> => {
    const storage = new AsyncLocalStorage<T>();
    return {
      run: <R>(value: T, fn: () => R): R => storage.run(value, fn),
      get: () => storage.getStore(),
    };
  },
  // Node has no built-in OpenTelemetry: the application passes its TracerProvider.
  telemetry: () => null,
  now: () => performance.now(),
  unrefTimer: (handle: TimerHandle) => {
    (handle as { unref?: () => void }).unref?.();
  },
  refTimer: (handle: TimerHandle) => {
    (handle as { ref?: () => void }).ref?.();
  },
};

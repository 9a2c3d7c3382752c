/**
 * The Deno implementation of the runtime seam.
 *
 * @module
 */
// Deno implements node:async_hooks natively; it is the one async-context API both runtimes share.
import { AsyncLocalStorage } from "node:async_hooks";
import nodeProcess from "node:process";
import { type FileSystemErrorCode, UnsupportedError } from "../errors.ts";
import { fsWrappers } from "./_fs.ts";
import type {
  AsyncContext,
  ChildProcessHandle,
  DirEntry,
  FileHandle,
  FileInfo,
  OpenOptions,
  ParentPort,
  Platform,
  ProcessStatus,
  RuntimeTelemetry,
  ShutdownSignal,
  SpawnOptions,
  TimerHandle,
  Watcher,
  WatchEvent,
  WorkerHandle,
  WorkerOptions,
  WorkerPermissions,
} from "./types.ts";

// Built lazily: this module is imported on Node too, where `Deno` does not exist.
function fsErrorTypes(): [new (...args: never[]) => Error, FileSystemErrorCode][] {
  return [
    [Deno.errors.NotFound, "NotFound"],
    [Deno.errors.AlreadyExists, "AlreadyExists"],
    [Deno.errors.PermissionDenied, "PermissionDenied"],
    [Deno.errors.NotADirectory, "NotADirectory"],
    [Deno.errors.IsADirectory, "IsADirectory"],
  ];
}

const { fsError, fs, fsSync } = fsWrappers((error) =>
  fsErrorTypes().find(([type]) => error instanceof type)?.[1]
);

function fileHandle(file: Deno.FsFile, path: string): FileHandle {
  let closed = false;
  // Deno has no pread: a positional read is a seek and a read, so async ones queue behind each
  // other, and a sync one refuses to run between another's seek and read.
  let positional: Promise<unknown> = Promise.resolve();
  let pending = 0;
  const readAtSync = (buffer: Uint8Array, position: number): number | null => {
    file.seekSync(position, Deno.SeekMode.Start);
    let got = 0;
    while (got < buffer.length) {
      const n = file.readSync(got === 0 ? buffer : buffer.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    return got === 0 && buffer.length > 0 ? null : got;
  };
  return {
    write: (data) =>
      fs(path, async () => {
        let written = 0;
        while (written < data.length) written += await file.write(data.subarray(written));
        return written;
      }),
    writeSync: (data) =>
      fsSync(path, () => {
        let written = 0;
        while (written < data.length) written += file.writeSync(data.subarray(written));
        return written;
      }),
    read: (buffer) => fs(path, () => file.read(buffer)),
    readAt: (buffer, position) => {
      pending++;
      const run = positional.then(() =>
        fs(path, async () => {
          await file.seek(position, Deno.SeekMode.Start);
          let got = 0;
          while (got < buffer.length) {
            const n = await file.read(buffer.subarray(got));
            if (n === null || n === 0) break;
            got += n;
          }
          return got === 0 && buffer.length > 0 ? null : got;
        })
      ).finally(() => pending--);
      positional = run.catch(() => {});
      return run;
    },
    readAtSync: (buffer, position) => {
      if (pending > 0) {
        throw new UnsupportedError(
          "deno",
          "readAtSync while a readAt is pending on the same handle",
          "give sync and async positional readers handles of their own",
        );
      }
      return fsSync(path, () => readAtSync(buffer, position));
    },
    sync: () => fs(path, () => file.sync()),
    close: () => {
      if (!closed) {
        closed = true;
        file.close();
      }
      return Promise.resolve();
    },
  };
}

function toInfo(info: Deno.FileInfo): FileInfo {
  return {
    isFile: info.isFile,
    isDirectory: info.isDirectory,
    isSymlink: info.isSymlink,
    size: info.size,
    mtimeMs: info.mtime ? info.mtime.getTime() : null,
  };
}

const WATCH_KINDS: Record<string, WatchEvent["kind"]> = {
  create: "create",
  modify: "modify",
  remove: "remove",
  rename: "rename",
};

function watch(path: string, handler: (event: WatchEvent) => void): Watcher {
  const watcher = Deno.watchFs(path, { recursive: false });
  let closed = false;
  (async () => {
    try {
      for await (const event of watcher) {
        handler({ kind: WATCH_KINDS[event.kind] ?? "other", paths: event.paths });
      }
    } catch (error) {
      if (!closed) throw error;
    }
  })();
  return {
    close() {
      if (closed) return;
      closed = true;
      try {
        watcher.close();
      } catch { /* already closed by the runtime */ }
    },
  };
}

function spawn(command: string, options: SpawnOptions = {}): ChildProcessHandle {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: options.args ?? [],
      cwd: options.cwd,
      env: options.env,
      clearEnv: options.clearEnv ?? false,
      stdin: options.stdin ?? "null",
      stdout: options.stdout ?? "piped",
      stderr: options.stderr ?? "piped",
      detached: options.processGroup ?? false,
    }).spawn();
  } catch (error) {
    // Spawn failures are reported through `status`, as on Node.
    const failed = Promise.reject(fsError(error, command));
    failed.catch(() => {});
    return {
      pid: -1,
      stdin: null,
      stdout: null,
      stderr: null,
      status: failed,
      kill() {},
      unref() {},
    };
  }
  const status: Promise<ProcessStatus> = child.status.then((s) => ({
    success: s.success,
    code: s.signal === null ? s.code : null,
    signal: s.signal,
  }));
  return {
    pid: child.pid,
    stdin: options.stdin === "piped" ? child.stdin : null,
    stdout: (options.stdout ?? "piped") === "piped" ? child.stdout : null,
    stderr: (options.stderr ?? "piped") === "piped" ? child.stderr : null,
    status,
    kill(signal = "SIGTERM") {
      // A detached child leads a process group of its own: signal every member.
      if (options.processGroup) {
        try {
          Deno.kill(-child.pid, signal as Deno.Signal);
          return;
        } catch { /* the group is gone: fall back to the child */ }
      }
      try {
        child.kill(signal as Deno.Signal);
      } catch { /* the child has already exited */ }
    },
    unref: () => child.unref(),
  };
}

function denoPermissions(permissions: WorkerPermissions): Deno.PermissionOptionsObject {
  const grant = (value: boolean | string[] | undefined) => value ?? false;
  return {
    read: grant(permissions.read),
    write: grant(permissions.write),
    net: grant(permissions.net),
    env: grant(permissions.env),
    run: grant(permissions.run),
    sys: grant(permissions.sys) as Deno.PermissionOptionsObject["sys"],
    ffi: grant(permissions.ffi),
    import: grant(permissions.import),
  };
}

function startWorker(url: string | URL, options: WorkerOptions = {}): WorkerHandle {
  const permissions = options.permissions ?? "inherit";
  const worker = new Worker(
    url,
    {
      type: "module",
      name: options.name,
      deno: { permissions: permissions === "inherit" ? "inherit" : denoPermissions(permissions) },
    } as WorkerOptions & { type: "module" },
  );
  let onError: (error: Error) => void = () => {};
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    onError(event.error instanceof Error ? event.error : new Error(event.message));
  };
  worker.onmessageerror = () => onError(new Error("a worker message could not be deserialized"));
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer ?? []),
    onMessage: (handler) => {
      worker.onmessage = (event: MessageEvent) => handler(event.data);
    },
    onError: (handler) => {
      onError = handler;
    },
    terminate: () => {
      worker.terminate();
      return Promise.resolve();
    },
    // Deno has no API to unref a worker: a live worker keeps the process alive until terminated.
    unref: () => {},
    ref: () => {},
  };
}

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

function parentPort(): ParentPort | null {
  if (!("WorkerGlobalScope" in globalThis)) return null;
  const scope = globalThis as unknown as WorkerScope;
  return {
    postMessage: (message, transfer) => scope.postMessage(message, transfer ?? []),
    onMessage: (handler) => {
      scope.onmessage = (event) => handler(event.data);
    },
  };
}

function writeAll(target: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) written += target.writeSync(data.subarray(written));
}

/** The seam implemented with Deno's APIs. */
export const denoPlatform: Platform = {
  name: "deno",

  readFile: (path) => fs(path, () => Deno.readFile(path)),
  readTextFile: (path) => fs(path, () => Deno.readTextFile(path)),
  writeFile: (path, data, options) => fs(path, () => Deno.writeFile(path, data, options)),
  writeTextFile: (path, text, options) => fs(path, () => Deno.writeTextFile(path, text, options)),
  appendFile: (path, data) => fs(path, () => Deno.writeFile(path, data, { append: true })),
  open: (path, options: OpenOptions) =>
    fs(path, async () => fileHandle(await Deno.open(path, options), path)),
  rename: (from, to) => fs(from, () => Deno.rename(from, to)),
  openSync: (path, options: OpenOptions) =>
    fsSync(path, () => fileHandle(Deno.openSync(path, options), path)),
  renameSync: (from, to) => fsSync(from, () => Deno.renameSync(from, to)),
  statSync: (path) => fsSync(path, () => toInfo(Deno.statSync(path))),
  remove: (path, options) => fs(path, () => Deno.remove(path, options)),
  mkdir: (path, options) => fs(path, () => Deno.mkdir(path, options)),
  stat: (path) => fs(path, async () => toInfo(await Deno.stat(path))),
  readDir: (path) =>
    fs(path, async () => {
      const entries: DirEntry[] = [];
      for await (const e of Deno.readDir(path)) {
        entries.push({ name: e.name, isFile: e.isFile, isDirectory: e.isDirectory });
      }
      return entries;
    }),
  syncDir: (path) =>
    fs(path, async () => {
      using dir = await Deno.open(path, { read: true });
      await dir.sync();
    }),
  makeTempDir: (options) => fs("<temp>", () => Deno.makeTempDir({ prefix: options?.prefix })),
  realPath: (path) => fs(path, () => Deno.realPath(path)),
  readTextFileSync: (path) => fsSync(path, () => Deno.readTextFileSync(path)),
  watch,

  getEnv: (name) => Deno.env.get(name),
  setEnv: (name, value) => Deno.env.set(name, value),
  deleteEnv: (name) => Deno.env.delete(name),
  envObject: () => Deno.env.toObject(),
  args: () => [...Deno.args],
  cwd: () => Deno.cwd(),
  pid: () => Deno.pid,
  execPath: () => Deno.execPath(),
  exit: (code) => Deno.exit(code),
  spawn,
  onSignal: (signal: ShutdownSignal, handler) => {
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  },
  writeStderr: (data) => writeAll(Deno.stderr, data),
  writeStdout: (data) => writeAll(Deno.stdout, data),
  readStdin: (buffer) => Deno.stdin.read(buffer),

  startWorker,
  parentPort,

  processUsage: () => {
    // Deno has no CPU-time API of its own; its node:process implements cpuUsage.
    const cpu = nodeProcess.cpuUsage();
    return { rssBytes: Deno.memoryUsage().rss, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  },
  asyncContext: <T>(): AsyncContext<T> => {
    const storage = new AsyncLocalStorage<T>();
    return {
      run: <R>(value: T, fn: () => R): R => storage.run(value, fn),
      get: () => storage.getStore(),
    };
  },
  telemetry: (): RuntimeTelemetry | null => {
    const telemetry = (Deno as unknown as { telemetry?: RuntimeTelemetry }).telemetry;
    if (telemetry === undefined) return null;
    try {
      // Off unless OTEL_DENO=true: Deno's tracer then refuses to start a span. A span never
      // ended is never exported, so the probe leaves no trace.
      telemetry.tracerProvider.getTracer("iora").startSpan("probe");
      return telemetry;
    } catch {
      return null;
    }
  },
  now: () => performance.now(),
  unrefTimer: (handle: TimerHandle) => Deno.unrefTimer(handle as unknown as number),
  refTimer: (handle: TimerHandle) => Deno.refTimer(handle as unknown as number),
};

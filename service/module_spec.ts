/**
 * How a module is described to the plugin host: where it is, whether it
 * runs sandboxed, what the sandbox may touch and how much of the host it
 * may use. A leaf module: the configuration parser and the plugin host
 * both build on it.
 *
 * @module
 */
import type { WorkerPermissions } from "../core/platform/mod.ts";

/** The host services a sandbox can be granted, in one list the type derives from. */
export const SANDBOX_SERVICES = ["logger", "apis", "state", "routes"] as const;

/** A host service a sandbox can be granted. */
export type SandboxServiceName = typeof SANDBOX_SERVICES[number];

/**
 * Where a sandbox runs. `"process"`: a child process of its own started
 * with exactly its grants, its own heap limit, no terminal and no
 * permission prompt (Deno). `"worker"`: a permission-scoped worker inside
 * the host's process — weaker: it shares the host's heap (an
 * out-of-memory sandbox aborts the host) and process.
 */
export type SandboxIsolation = "process" | "worker";

/** How much of the host one sandbox may use. */
export interface SandboxLimits {
  /**
   * The V8 heap limit of a process sandbox, in MiB.
   *
   * @default 128
   */
  heapMb: number;
  /**
   * The largest message either way (a call's arguments, a result, a log line), in bytes.
   *
   * @default 4194304
   */
  maxMessageBytes: number;
  /**
   * Calls in flight at once, into the sandbox and from it into the host (each).
   *
   * @default 1024
   */
  maxCallsInFlight: number;
  /**
   * Exported APIs.
   *
   * @default 256
   */
  maxExports: number;
  /**
   * HTTP routes.
   *
   * @default 64
   */
  maxRoutes: number;
  /**
   * Bytes of state (keys and values, UTF-16 code units) kept in the host's state store.
   *
   * @default 1048576
   */
  maxStateBytes: number;
  /**
   * Log lines per second (its logger and its standard error together); the excess is dropped
   * and counted.
   *
   * @default 100
   */
  maxLogLinesPerSecond: number;
}

/** The limits a sandbox gets when its spec names none. */
export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  heapMb: 128,
  maxMessageBytes: 4 * 1024 * 1024,
  maxCallsInFlight: 1024,
  maxExports: 256,
  maxRoutes: 64,
  maxStateBytes: 1024 * 1024,
  maxLogLinesPerSecond: 100,
});

/** How to load one module. A bare string is the same as `{ url }`. */
export interface ModuleSpec {
  /**
   * Where the module is: a path (relative ones resolve against the
   * host's directory), a `file:` or `https:` URL, or any specifier the
   * runtime resolves (`npm:`, `jsr:`, a bare import-map name).
   */
  url: string;
  /** The name the module is known by; defaults to the file name without extension. */
  name?: string;
  /** Run the module in a sandbox. */
  sandbox?: boolean;
  /**
   * Where a sandbox runs.
   *
   * @default "process"
   */
  isolation?: SandboxIsolation;
  /** What the sandbox may touch; everything absent is denied. */
  permissions?: WorkerPermissions;
  /**
   * Host services a sandbox may call.
   *
   * @default ["logger"]
   */
  services?: SandboxServiceName[];
  /**
   * The exported APIs a sandbox with the `apis` service may call: names, and prefixes ending
   * in `.` (`"kvstore."` allows every `kvstore.*`).
   *
   * @default every API
   */
  apis?: string[];
  /**
   * The API namespaces a sandbox may export under (`"a"` allows `a` and `a.*`).
   *
   * @default [the module name]
   */
  namespaces?: string[];
  /**
   * Path prefixes a sandbox may serve routes under (needs the `routes` service).
   *
   * @default ["/<module name>"]
   */
  routePrefixes?: string[];
  /**
   * The folder a sandbox's code must lie in: every module of its import
   * graph is under it, part of Iora, or from a granted remote origin.
   *
   * @default the module file's folder
   */
  root?: string;
  /** How much of the host a sandbox may use; absent keys take their defaults. */
  limits?: Partial<SandboxLimits>;
  /**
   * Deadline of each call into the sandbox, `onUnload` included, in milliseconds; past it the
   * sandbox is stopped.
   *
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * On runtimes that cannot enforce a sandbox's permissions (Node), run a sandboxed module in a
   * worker with the host's full permissions instead of refusing it.
   */
  allowUnsandboxed?: boolean;
  /** The plugin's own options (its `this.options`). */
  options?: Record<string, unknown>;
}

// The host side of one sandboxed plugin: starts it (a child process or a
// worker), speaks the RPC protocol, enforces deadlines and quotas, and
// reports its death. Everything the sandbox sends is untrusted.
import { parseTraceparent, type Tracing } from "../core/tracing.ts";
import { platform } from "../core/platform/mod.ts";
import type { WorkerPermissions } from "../core/platform/mod.ts";
import { PluginError } from "./errors.ts";
import type { SandboxLimits, SandboxServiceName } from "./module_spec.ts";
import { RpcPeer } from "./_rpc.ts";
import { type SandboxChannel, startWorkerChannel } from "./_sandbox_channel.ts";
import { startProcessChannel } from "./_sandbox_process.ts";

export type { SandboxServiceName };

/** What the sandbox may ask of the host; each op is checked against the grants. */
export interface SandboxBridge {
  require(dependency: string): void;
  exportApi(api: string): void;
  log(level: string, message: string): void;
  callApi(api: string, args: unknown[]): Promise<unknown>;
  hasApi(api: string): boolean;
  state(op: "get" | "set" | "remove" | "keys", args: unknown[]): Promise<unknown>;
  addRoute(path: string): void;
}

export interface SandboxOptions {
  name: string;
  importUrl: string;
  isolation: "process" | "worker";
  permissions: WorkerPermissions | "inherit";
  /** Local files of the checked module graph (process isolation reads them). */
  graphFiles: string[];
  /** The plugin's root folder as a `file:` URL. */
  root: string;
  services: ReadonlySet<SandboxServiceName>;
  /** The APIs it may call (names, or prefixes ending in "."); undefined for all. */
  apis: readonly string[] | undefined;
  routePrefixes: readonly string[];
  limits: SandboxLimits;
  timeoutMs: number;
  loadTimeoutMs: number;
  bridge: SandboxBridge;
  /** The host's tracing: calls into the sandbox carry the active span's traceparent, and its
   * calls back run under the traceparent they carry. */
  tracing: Tracing | null;
  onFailure(error: PluginError): void;
}

function text(value: unknown, what: string, max = 4096): string {
  if (typeof value !== "string" || value.length > max) {
    throw new TypeError(`${what} must be a string of at most ${max} characters`);
  }
  return value;
}

function underPrefix(path: string, prefix: string): boolean {
  const base = prefix.replace(/\/+$/, "");
  return path === base || path.startsWith(`${base}/`);
}

/** Lines per second, with the excess counted and reported once a second. */
class LogRate {
  #max: number;
  #windowStart = 0;
  #count = 0;
  dropped = 0;
  constructor(max: number) {
    this.#max = max;
  }
  /** True when the line may be written; `report` hears of the lines dropped in the last window. */
  admit(now: number, report: (dropped: number) => void): boolean {
    if (now - this.#windowStart >= 1000) {
      if (this.dropped > 0) report(this.dropped);
      this.#windowStart = now;
      this.#count = 0;
      this.dropped = 0;
    }
    if (this.#count < this.#max) {
      this.#count++;
      return true;
    }
    this.dropped++;
    return false;
  }
}

export class SandboxConnection {
  readonly name: string;
  #options: SandboxOptions;
  #channel: SandboxChannel | undefined;
  #rpc: RpcPeer;
  #alive = false;
  #failed: PluginError | undefined;
  #exports = 0;
  #routes = 0;
  #refusals = new Set<string>();
  #logRate: LogRate;
  #onStart: ((error?: Error) => void) | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  exportErrors: Error[] = [];

  constructor(options: SandboxOptions) {
    this.name = options.name;
    this.#options = options;
    this.#logRate = new LogRate(options.limits.maxLogLinesPerSecond);
    this.#rpc = new RpcPeer((message) => {
      if (!this.#channel) throw new Error("the sandbox has not started");
      this.#channel.post(message);
    });
    this.#rpc.maxInbound = options.limits.maxCallsInFlight;
    const tracing = options.tracing;
    if (tracing !== null) {
      this.#rpc.traceOut = () => tracing.traceparent();
      // Untrusted input: a malformed traceparent is ignored (parseTraceparent gives null).
      this.#rpc.traceIn = (tp, fn) => tracing.runRemote(parseTraceparent(tp), fn);
    }
    this.#rpc.onProtocolError = (detail) =>
      this.fail(
        new PluginError(
          "SandboxProtocol",
          this.name,
          `sandbox "${this.name}" broke the protocol: ${detail}`,
        ),
      );
    this.#wire();
  }

  get alive(): boolean {
    return this.#alive;
  }

  get failure(): PluginError | undefined {
    return this.#failed;
  }

  /** Starts the sandbox and waits for the runtime's "ready". */
  async start(): Promise<void> {
    const { name, importUrl, permissions, loadTimeoutMs, limits, isolation } = this.#options;
    const channel = isolation === "worker" || permissions === "inherit"
      ? startWorkerChannel(name, importUrl, permissions)
      : await startProcessChannel({
        name,
        importUrl,
        permissions,
        graphFiles: this.#options.graphFiles,
        root: this.#options.root,
        heapMb: limits.heapMb,
        maxMessageBytes: limits.maxMessageBytes,
        onStderr: (line) => this.#log("warn", line),
      });
    this.#channel = channel;
    this.#alive = true;
    channel.onMessage((message) => this.#rpc.receive(message));
    channel.onFailure((error) => this.fail(error));
    if (this.#failed) throw this.#failed;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(
          new PluginError(
            "SandboxTimeout",
            name,
            `sandbox "${name}" did not start within ${loadTimeoutMs} ms`,
          ),
        );
      }, loadTimeoutMs);
      this.#onStart = (error) => {
        clearTimeout(timer);
        this.#onStart = undefined;
        if (error) reject(error);
        else resolve();
      };
    });
    // A sandbox that spins between calls (in a timer, say) answers nothing: a ping every call
    // deadline finds it, so it is stopped even when no call is waiting on it.
    this.#heartbeat = setInterval(() => {
      if (this.#rpc.pendingCount === 0) {
        this.#request("ping", [], this.#options.timeoutMs).catch(() => {});
      }
    }, this.#options.timeoutMs);
    platform().unrefTimer(this.#heartbeat);
  }

  load(options: Record<string, unknown>): Promise<unknown> {
    return this.#request("load", [this.name, options], this.#options.loadTimeoutMs);
  }

  call(api: string, args: unknown[]): Promise<unknown> {
    return this.#boundedRequest("call", [api, args]);
  }

  route(path: string, body: unknown): Promise<unknown> {
    return this.#boundedRequest("route", [path, body]);
  }

  async dependency(kind: "loaded" | "unloaded", dependency: string): Promise<void> {
    await this.#request("dep", [kind, dependency], this.#options.timeoutMs);
  }

  /** Runs the plugin's `onUnload` within its call deadline (or `budgetMs`, if shorter), then stops it. */
  async unload(budgetMs: number = Infinity): Promise<void> {
    const ms = Math.max(1, Math.min(budgetMs, this.#options.timeoutMs));
    try {
      if (this.#alive) await this.#request("unload", [], ms);
    } finally {
      await this.terminate();
    }
  }

  async terminate(): Promise<void> {
    clearInterval(this.#heartbeat);
    const channel = this.#channel;
    this.#alive = false;
    this.#rpc.close(
      this.#failed ??
        new PluginError("PluginNotLoaded", this.name, `module "${this.name}" was unloaded`),
    );
    if (channel) await channel.terminate();
  }

  /** Marks the sandbox failed: stops it, rejects pending calls, tells the host once. */
  fail(error: PluginError): void {
    if (this.#failed) return;
    clearInterval(this.#heartbeat);
    this.#failed = error;
    this.#alive = false;
    this.#rpc.close(error);
    this.#channel?.terminate().catch(() => {});
    if (this.#onStart) this.#onStart(error);
    else this.#options.onFailure(error);
  }

  #boundedRequest(op: string, args: unknown[]): Promise<unknown> {
    const max = this.#options.limits.maxCallsInFlight;
    if (this.#rpc.pendingCount >= max) {
      return Promise.reject(
        new PluginError(
          "QuotaExceeded",
          this.name,
          `sandbox "${this.name}" already has ${max} calls in flight (limits.maxCallsInFlight)`,
        ),
      );
    }
    return this.#request(op, args, this.#options.timeoutMs);
  }

  #request(op: string, args: unknown[], ms: number): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    return this.#rpc.request(op, args, {
      ms,
      error: () => {
        const failure = new PluginError(
          "SandboxTimeout",
          this.name,
          `sandbox "${this.name}" did not answer "${op}" within ${ms} ms`,
        );
        // A hung sandbox cannot be trusted with anything else: stop it.
        queueMicrotask(() => this.fail(failure));
        return failure;
      },
    });
  }

  #log(level: string, message: string): void {
    if (this.#logRate.admit(performance.now(), (dropped) => this.#refuseOnce("log", dropped))) {
      this.#options.bridge.log(level, message);
    }
  }

  // One log line per kind of refusal, not one per attempt.
  #refuseOnce(kind: string, detail: string | number): void {
    if (kind === "log") {
      this.#options.bridge.log("warn", `dropped ${detail} log lines over the rate limit`);
      return;
    }
    if (this.#refusals.has(kind)) return;
    this.#refusals.add(kind);
    this.#options.bridge.log("error", `${detail} (further refusals of this kind are not logged)`);
  }

  #quota(kind: "exports" | "routes", used: number, max: number, key: string): void {
    if (used >= max) {
      throw new PluginError(
        "QuotaExceeded",
        this.name,
        `sandbox "${this.name}" may have at most ${max} ${kind} (limits.${key})`,
      );
    }
  }

  #grant(service: SandboxServiceName): void {
    if (!this.#options.services.has(service)) {
      throw new PluginError(
        "SandboxRefused",
        this.name,
        `sandbox "${this.name}" is not granted the "${service}" service`,
      );
    }
  }

  // The API name a call asks for, once the grant and the allow-list admit it.
  #api(value: unknown): string {
    this.#grant("apis");
    const name = text(value, "API name", 256);
    const allowed = this.#options.apis;
    if (
      allowed !== undefined &&
      !allowed.some((a) => a.endsWith(".") ? name.startsWith(a) : name === a)
    ) {
      throw new PluginError(
        "SandboxRefused",
        this.name,
        `sandbox "${this.name}" may not call API "${name}" (not in its apis list)`,
      );
    }
    return name;
  }

  #wire(): void {
    const { bridge, limits } = this.#options;
    const rpc = this.#rpc;
    rpc.onNote("ready", () => this.#onStart?.());
    rpc.onNote("log", ([level, message]) => {
      if (!this.#options.services.has("logger")) return;
      this.#log(text(level, "level", 16), text(message, "message", 65536));
    });
    rpc.onNote("export", ([api]) => {
      try {
        this.#quota("exports", this.#exports, limits.maxExports, "maxExports");
        bridge.exportApi(text(api, "API name", 256));
        this.#exports++;
      } catch (error) {
        // Refused during the load, this fails the load; later it is logged once.
        if (this.exportErrors.length === 0) this.exportErrors.push(error as Error);
        const code = (error as { code?: string }).code ?? "export";
        this.#refuseOnce(code, `export refused: ${(error as Error).message}`);
      }
    });
    rpc.handle("require", ([dependency]) => bridge.require(text(dependency, "module name")));
    rpc.handle("api.call", ([api, args]) => {
      const name = this.#api(api);
      if (!Array.isArray(args)) throw new TypeError("arguments must be an array");
      return bridge.callApi(name, args);
    });
    rpc.handle("api.has", ([api]) => bridge.hasApi(this.#api(api)));
    for (const op of ["get", "set", "remove", "keys"] as const) {
      rpc.handle(`state.${op}`, (args) => {
        this.#grant("state");
        return bridge.state(op, args);
      });
    }
    rpc.handle("route.add", ([path]) => {
      this.#grant("routes");
      const route = text(path, "route path", 1024);
      const prefixes = this.#options.routePrefixes;
      if (!prefixes.some((prefix) => underPrefix(route, prefix))) {
        const error = new PluginError(
          "SandboxRefused",
          this.name,
          `sandbox "${this.name}" may serve routes only under ${prefixes.join(", ")}, not ${route}`,
        );
        this.#refuseOnce("route-prefix", error.message);
        throw error;
      }
      this.#quota("routes", this.#routes, limits.maxRoutes, "maxRoutes");
      bridge.addRoute(route);
      this.#routes++;
    });
  }
}

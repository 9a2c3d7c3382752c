// The host side of one sandboxed plugin: starts its worker from a generated
// boot module, speaks the RPC protocol, enforces deadlines and reports
// crashes. Everything the worker sends is untrusted.
import { UnsupportedError } from "../core/errors.ts";
import { platform } from "../core/platform/mod.ts";
import type { WorkerHandle, WorkerPermissions } from "../core/platform/mod.ts";
import { PluginError } from "./errors.ts";
import { RpcPeer } from "./_rpc.ts";

/** Host services a sandbox can be granted. */
export type SandboxServiceName = "logger" | "apis" | "state" | "routes";

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
  permissions: WorkerPermissions | "inherit";
  services: ReadonlySet<SandboxServiceName>;
  timeoutMs: number;
  loadTimeoutMs: number;
  bridge: SandboxBridge;
  onFailure(error: PluginError): void;
}

const runtimeUrl = new URL(
  import.meta.url.endsWith(".ts") ? "./sandbox_runtime.ts" : "./sandbox_runtime.js",
  import.meta.url,
).href;

// Static imports of a worker's main module are not checked against the
// worker's read permission, dynamic ones are: so the boot module imports
// the plugin statically and a plugin needs no read grant for its own code.
function bootModule(importUrl: string): string {
  const source = `import { runSandbox } from ${JSON.stringify(runtimeUrl)};\n` +
    `import * as plugin from ${JSON.stringify(importUrl)};\n` +
    `runSandbox(plugin);\n`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

function text(value: unknown, what: string, max = 4096): string {
  if (typeof value !== "string" || value.length > max) {
    throw new TypeError(`${what} must be a string of at most ${max} characters`);
  }
  return value;
}

export class SandboxConnection {
  readonly name: string;
  #options: SandboxOptions;
  #worker: WorkerHandle | undefined;
  #rpc: RpcPeer;
  #alive = false;
  #failed: PluginError | undefined;
  exportErrors: Error[] = [];

  constructor(options: SandboxOptions) {
    this.name = options.name;
    this.#options = options;
    this.#rpc = new RpcPeer((message) => this.#worker?.postMessage(message));
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

  /** Starts the worker and waits for the runtime's "ready". */
  start(): Promise<void> {
    const { name, importUrl, permissions, loadTimeoutMs } = this.#options;
    return new Promise<void>((resolve, reject) => {
      let worker: WorkerHandle;
      try {
        worker = platform().startWorker(bootModule(importUrl), {
          name: `iora:${name}`,
          permissions,
        });
      } catch (error) {
        if (error instanceof UnsupportedError) {
          reject(
            new PluginError(
              "SandboxRefused",
              name,
              `module "${name}" is marked sandbox = true, but ${error.message}; ` +
                `set allowUnsandboxed = true for it to run it with the host's permissions`,
              { cause: error },
            ),
          );
        } else reject(error);
        return;
      }
      this.#worker = worker;
      this.#alive = true;
      const timer = setTimeout(() => {
        const failure = new PluginError(
          "SandboxTimeout",
          name,
          `sandbox "${name}" did not start within ${loadTimeoutMs} ms`,
        );
        this.fail(failure);
      }, loadTimeoutMs);
      this.#onStart = (error) => {
        clearTimeout(timer);
        this.#onStart = undefined;
        if (error) reject(error);
        else resolve();
      };
      worker.onMessage((message) => this.#rpc.receive(message));
      worker.onError((error) =>
        this.fail(
          new PluginError(
            "SandboxCrashed",
            name,
            `sandbox "${name}" crashed: ${error.message}`,
            { cause: error },
          ),
        )
      );
    });
  }

  #onStart: ((error?: Error) => void) | undefined;

  load(options: Record<string, unknown>): Promise<unknown> {
    return this.#request("load", [this.name, options], this.#options.loadTimeoutMs);
  }

  call(api: string, args: unknown[]): Promise<unknown> {
    return this.#request("call", [api, args], this.#options.timeoutMs);
  }

  route(path: string, body: unknown): Promise<unknown> {
    return this.#request("route", [path, body], this.#options.timeoutMs);
  }

  async dependency(kind: "loaded" | "unloaded", dependency: string): Promise<void> {
    await this.#request("dep", [kind, dependency], this.#options.timeoutMs);
  }

  async unload(): Promise<void> {
    try {
      if (this.#alive) await this.#request("unload", [], this.#options.timeoutMs);
    } finally {
      await this.terminate();
    }
  }

  async terminate(): Promise<void> {
    if (!this.#worker) return;
    const worker = this.#worker;
    this.#alive = false;
    this.#rpc.close(
      this.#failed ??
        new PluginError("PluginNotLoaded", this.name, `module "${this.name}" was unloaded`),
    );
    await worker.terminate();
  }

  /** Marks the sandbox failed: stops the worker, rejects pending calls, tells the host once. */
  fail(error: PluginError): void {
    if (this.#failed) return;
    this.#failed = error;
    this.#alive = false;
    this.#rpc.close(error);
    this.#worker?.terminate().catch(() => {});
    if (this.#onStart) this.#onStart(error);
    else this.#options.onFailure(error);
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
        // A hung worker cannot be trusted with anything else: stop it.
        queueMicrotask(() => this.fail(failure));
        return failure;
      },
    });
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

  #wire(): void {
    const { bridge } = this.#options;
    const rpc = this.#rpc;
    rpc.onNote("ready", () => this.#onStart?.());
    rpc.onNote("log", ([level, message]) => {
      if (!this.#options.services.has("logger")) return;
      bridge.log(text(level, "level", 16), text(message, "message", 65536));
    });
    rpc.onNote("export", ([api]) => {
      try {
        bridge.exportApi(text(api, "API name", 256));
      } catch (error) {
        // Refused during the load, this fails the load; later it is logged.
        this.exportErrors.push(error as Error);
        bridge.log("error", `export refused: ${(error as Error).message}`);
      }
    });
    rpc.handle("require", ([dependency]) => bridge.require(text(dependency, "module name")));
    rpc.handle("api.call", ([api, args]) => {
      this.#grant("apis");
      if (!Array.isArray(args)) throw new TypeError("arguments must be an array");
      return bridge.callApi(text(api, "API name", 256), args);
    });
    rpc.handle("api.has", ([api]) => {
      this.#grant("apis");
      return bridge.hasApi(text(api, "API name", 256));
    });
    for (const op of ["get", "set", "remove", "keys"] as const) {
      rpc.handle(`state.${op}`, (args) => {
        this.#grant("state");
        return bridge.state(op, args);
      });
    }
    rpc.handle("route.add", ([path]) => {
      this.#grant("routes");
      bridge.addRoute(text(path, "route path", 1024));
    });
  }
}

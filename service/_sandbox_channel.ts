// How the host talks to one sandbox, whatever runs it: a child process
// (the default) or a permission-scoped worker (the weaker option). The
// connection above speaks RPC over this and never sees the difference.
import { UnsupportedError } from "../core/errors.ts";
import { platform } from "../core/platform/mod.ts";
import type { WorkerPermissions } from "../core/platform/mod.ts";
import { PluginError } from "./errors.ts";

/** A live link to a sandbox. Everything it delivers is untrusted. */
export interface SandboxChannel {
  /** Sends a message; throws when it cannot be serialized or is too large. */
  post(message: unknown): void;
  /** Sets the handler of the sandbox's messages. */
  onMessage(handler: (message: unknown) => void): void;
  /** Sets the handler of the sandbox's death: exit, crash, broken framing. Called at most once. */
  onFailure(handler: (error: PluginError) => void): void;
  /** Stops the sandbox at once; resolves when it is gone. */
  terminate(): Promise<void>;
}

const runtimeUrl = new URL(
  import.meta.url.endsWith(".ts") ? "./sandbox_runtime.ts" : "./sandbox_runtime.js",
  import.meta.url,
).href;

// Static imports of a worker's main module are not checked against the
// worker's read permission: the module graph check before the start is
// what keeps them inside the plugin's root.
function bootModule(importUrl: string): string {
  const source = `import { runSandbox } from ${JSON.stringify(runtimeUrl)};\n` +
    `import * as plugin from ${JSON.stringify(importUrl)};\n` +
    `runSandbox(plugin);\n`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/**
 * Starts a sandbox in a worker of this process: permission-scoped on
 * Deno, but sharing the host's process, heap and signals.
 */
export function startWorkerChannel(
  name: string,
  importUrl: string,
  permissions: WorkerPermissions | "inherit",
): SandboxChannel {
  let worker;
  try {
    worker = platform().startWorker(bootModule(importUrl), { name: `iora:${name}`, permissions });
  } catch (error) {
    if (error instanceof UnsupportedError) {
      throw new PluginError(
        "SandboxRefused",
        name,
        `module "${name}" is marked sandbox = true, but ${error.message}; ` +
          `set allowUnsandboxed = true for it to run it with the host's permissions`,
        { cause: error },
      );
    }
    throw error;
  }
  let failed = false;
  let onFailure: (error: PluginError) => void = () => {};
  worker.onError((error) => {
    if (failed) return;
    failed = true;
    onFailure(
      new PluginError("SandboxCrashed", name, `sandbox "${name}" crashed: ${error.message}`, {
        cause: error,
      }),
    );
  });
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (handler) => worker.onMessage(handler),
    onFailure: (handler) => {
      onFailure = handler;
    },
    terminate: () => {
      failed = true;
      return worker.terminate();
    },
  };
}

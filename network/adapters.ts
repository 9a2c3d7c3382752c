/**
 * Chooses the socket adapter: the one of the runtime we run on by default
 * (`detectRuntime()`), or the one named, so tests drive the Node adapter
 * under Deno too.
 *
 * Each adapter is imported the first time one of its sockets is opened, so
 * the Deno build never loads `node:net`, `node:tls` or `node:dgram` unless
 * something asks for the Node adapter.
 *
 * @example
 * ```ts
 * import { availableAdapters, getAdapter } from "./adapters.ts";
 * console.log(getAdapter().name, availableAdapters());
 * ```
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import { detectRuntime } from "../core/platform/mod.ts";
import type { RuntimeName } from "../core/platform/types.ts";
import type { NetworkAdapter } from "./_adapter.ts";

export type { NetworkAdapter };

/** An adapter whose implementation is imported by the first call that needs it. */
function lazyAdapter(name: RuntimeName, load: () => Promise<NetworkAdapter>): NetworkAdapter {
  let loaded: Promise<NetworkAdapter> | undefined;
  const adapter = () => (loaded ??= load());
  return {
    name,
    listenTcp: async (options) => (await adapter()).listenTcp(options),
    connectTcp: async (options) => (await adapter()).connectTcp(options),
    bindUdp: async (options) => (await adapter()).bindUdp(options),
  };
}

const adapters: Record<RuntimeName, NetworkAdapter> = {
  deno: lazyAdapter("deno", async () => (await import("./deno/mod.ts")).denoAdapter),
  node: lazyAdapter("node", async () => (await import("./node/mod.ts")).nodeAdapter),
};

/**
 * The adapter for `runtime`, default the current runtime. Asking for the
 * Deno adapter outside Deno fails with an `UnsupportedError`.
 *
 * @example
 * ```ts
 * import { getAdapter } from "./adapters.ts";
 * const adapter = getAdapter("node");
 * ```
 */
export function getAdapter(runtime: RuntimeName = detectRuntime()): NetworkAdapter {
  if (runtime === "deno" && detectRuntime() !== "deno") {
    throw new UnsupportedError("node", "the deno network adapter");
  }
  return adapters[runtime];
}

/**
 * Runtimes whose adapter can run here: both under Deno, only Node's under Node.
 *
 * @example
 * ```ts
 * import { availableAdapters } from "./adapters.ts";
 * for (const runtime of availableAdapters()) console.log(runtime);
 * ```
 */
export function availableAdapters(): RuntimeName[] {
  return detectRuntime() === "deno" ? ["deno", "node"] : ["node"];
}

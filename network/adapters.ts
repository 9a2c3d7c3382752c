/**
 * Chooses the socket adapter: the one of the runtime we run on by default
 * (`detectRuntime()`), or the one named, so tests drive the Node adapter
 * under Deno too.
 *
 * @example
 * ```ts
 * import { availableAdapters, getAdapter } from "./adapters.ts";
 * console.log(getAdapter().name, availableAdapters().map((a) => a.name));
 * ```
 *
 * @module
 */
import { UnsupportedError } from "../core/errors.ts";
import { detectRuntime } from "../core/platform/mod.ts";
import type { RuntimeName } from "../core/platform/types.ts";
import type { NetworkAdapter } from "./_adapter.ts";
import { denoAdapter } from "./deno/mod.ts";
import { nodeAdapter } from "./node/mod.ts";

export type { NetworkAdapter };

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
  if (runtime === "deno") {
    if (detectRuntime() !== "deno") throw new UnsupportedError("node", "the deno network adapter");
    return denoAdapter;
  }
  return nodeAdapter;
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

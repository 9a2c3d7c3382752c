/**
 * The runtime seam: one {@linkcode Platform} per runtime, chosen once at
 * start-up and replaceable, so tests can drive the Node implementation
 * under Deno too.
 *
 * Only the running runtime's implementation is loaded (a dynamic import
 * awaited at the top of this module): the Deno build never loads
 * `node:child_process`, `node:worker_threads` and the rest of the Node
 * implementation unless {@linkcode loadPlatform} asks for it.
 *
 * @example
 * ```ts
 * import { platform } from "./mod.ts";
 * const dir = await platform().makeTempDir({ prefix: "iora-" });
 * await platform().writeTextFile(`${dir}/hello.txt`, "hi");
 * await platform().remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { UnsupportedError } from "../errors.ts";
import type { Platform, RuntimeName } from "./types.ts";

export type * from "./types.ts";

/**
 * The runtime this code runs on.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "./mod.ts";
 * console.log(detectRuntime()); // "deno" or "node"
 * ```
 */
export function detectRuntime(): RuntimeName {
  return "Deno" in globalThis ? "deno" : "node";
}

/**
 * The implementation for `runtime`, imported on first use. Under Deno both
 * load (its Node compatibility runs the Node one); asking for Deno's outside
 * Deno fails with an `UnsupportedError`.
 *
 * @example
 * ```ts
 * import { loadPlatform } from "./mod.ts";
 * const node = await loadPlatform("node");
 * console.log(node.name);
 * ```
 */
export async function loadPlatform(runtime: RuntimeName): Promise<Platform> {
  if (runtime === "deno") {
    if (detectRuntime() !== "deno") throw new UnsupportedError("node", "the deno platform");
    return (await import("./deno.ts")).denoPlatform;
  }
  return (await import("./node.ts")).nodePlatform;
}

/**
 * The implementations that can run here: both under Deno (its Node
 * compatibility runs the Node one), only Node's under Node. Loads them.
 *
 * @example
 * ```ts
 * import { availablePlatforms } from "./mod.ts";
 * for (const p of await availablePlatforms()) console.log(p.name);
 * ```
 */
export function availablePlatforms(): Promise<Platform[]> {
  const names: RuntimeName[] = detectRuntime() === "deno" ? ["deno", "node"] : ["node"];
  return Promise.all(names.map(loadPlatform));
}

let current: Platform = await loadPlatform(detectRuntime());

/**
 * The implementation in use.
 *
 * @example
 * ```ts
 * import { platform } from "./mod.ts";
 * console.log(platform().name, platform().now());
 * ```
 */
export function platform(): Platform {
  return current;
}

/**
 * Chooses the implementation explicitly; returns the previous one so a test
 * can restore it.
 *
 * @example
 * ```ts
 * import { loadPlatform, setPlatform } from "./mod.ts";
 * const previous = setPlatform(await loadPlatform("node"));
 * setPlatform(previous);
 * ```
 */
export function setPlatform(next: Platform): Platform {
  const previous = current;
  current = next;
  return previous;
}

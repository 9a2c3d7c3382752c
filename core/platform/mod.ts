/**
 * The runtime seam: one {@linkcode Platform} per runtime, chosen once at
 * start-up and replaceable, so tests can drive the Node implementation
 * under Deno too.
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
import { denoPlatform } from "./deno.ts";
import { nodePlatform } from "./node.ts";
import type { Platform, RuntimeName } from "./types.ts";

export type * from "./types.ts";
export { denoPlatform, nodePlatform };

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
 * The implementations that can run here: both under Deno (its Node
 * compatibility runs the Node one), only Node's under Node.
 *
 * @example
 * ```ts
 * import { availablePlatforms } from "./mod.ts";
 * for (const p of availablePlatforms()) console.log(p.name);
 * ```
 */
export function availablePlatforms(): Platform[] {
  return detectRuntime() === "deno" ? [denoPlatform, nodePlatform] : [nodePlatform];
}

let current: Platform = detectRuntime() === "deno" ? denoPlatform : nodePlatform;

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
 * import { nodePlatform, setPlatform } from "./mod.ts";
 * const previous = setPlatform(nodePlatform);
 * setPlatform(previous);
 * ```
 */
export function setPlatform(next: Platform): Platform {
  const previous = current;
  current = next;
  return previous;
}

/**
 * Iora's core layer: the runtime seam, errors, and the building blocks
 * every other layer stands on.
 *
 * @example
 * ```ts
 * import { platform } from "./mod.ts";
 * console.log(platform().name);
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./platform/mod.ts";
export * from "./logger.ts";
export * from "./state_store.ts";
export * from "./timer.ts";
export * from "./config.ts";
export * from "./blocking_queue.ts";
export * from "./event_queue.ts";
export * from "./shell_runner.ts";
export * from "./expiring_cache.ts";
export * from "./thread_pool.ts";
export * from "./metrics.ts";
export * from "./tracing.ts";
export * from "./tracing_api.ts";

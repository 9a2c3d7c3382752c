/**
 * Iora: a framework for high-performance networked services, Deno first,
 * Node too. This entry re-exports every layer; each layer is also
 * importable on its own (`@iora/iora/core`, `@iora/iora/http`, ...).
 *
 * @example
 * ```ts
 * import { platform } from "@iora/iora";
 * console.log(`running on ${platform().name}`);
 * ```
 *
 * @module
 */
export * from "./core/mod.ts";
export * from "./parsers/mod.ts";
export * from "./network/mod.ts";
export * from "./dns/mod.ts";
export * from "./http/mod.ts";
export * from "./service/mod.ts";

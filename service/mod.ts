/**
 * Iora's service layer: `IoraService` (the service host), plugins (trusted
 * in-process, or sandboxed in child processes of their own), the
 * exported-API registry with its three accessors, and the configuration.
 *
 * @example
 * ```ts ignore
 * import { IoraService } from "./mod.ts";
 * const service = await IoraService.init("config/iora.toml");
 * const get = service.getExportedApiSafe<(key: string) => string | undefined>("kvstore.get");
 * console.log(get.isAvailable());
 * await IoraService.shutdown();
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./api_registry.ts";
export * from "./plugin.ts";
export * from "./service_context.ts";
export * from "./module_spec.ts";
export * from "./plugin_host.ts";
export * from "./sandbox_runtime.ts";
export * from "./config.ts";
export * from "./iora_service.ts";
export * from "./health.ts";

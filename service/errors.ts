/**
 * Errors of the service layer: plugin loading, dependencies, sandboxes,
 * exported APIs and the service configuration.
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/** Stable codes of {@linkcode PluginError}. */
export type PluginErrorCode =
  | "PluginLoadFailed"
  | "PluginNotLoaded"
  | "PluginAlreadyLoaded"
  | "PluginBusy"
  | "InvalidPlugin"
  | "DependencyMissing"
  | "DependencyCycle"
  | "Reentrant"
  | "SandboxCrashed"
  | "SandboxTimeout"
  | "SandboxRefused"
  | "SandboxProtocol"
  | "ApiConflict"
  | "NamespaceConflict"
  | "QuotaExceeded"
  | "InvalidApi";

/**
 * A plugin could not be loaded, unloaded or reached. `plugin` names the
 * module the failure is about.
 *
 * @example
 * ```ts
 * import { PluginError } from "./errors.ts";
 * const e = new PluginError("DependencyMissing", "b", "b requires a, which is not loaded");
 * console.log(e.code, e.plugin);
 * ```
 */
export class PluginError extends IoraError {
  /** The module name (or URL when no name is known yet). */
  readonly plugin: string;
  /** The kind of failure. */
  declare readonly code: PluginErrorCode;

  /**
   * Creates a plugin error.
   *
   * @param code the kind of failure
   * @param plugin the module the failure is about
   * @param message human-readable description
   * @param options standard error options (`cause`)
   */
  constructor(code: PluginErrorCode, plugin: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.plugin = plugin;
  }
}

/**
 * An exported API was called, or looked up, while no loaded plugin
 * exports it (never exported, or its plugin was unloaded).
 *
 * @example
 * ```ts
 * import { ApiUnavailableError } from "./errors.ts";
 * const e = new ApiUnavailableError("kv.get");
 * console.log(e.code, e.apiName); // "ApiUnavailable" "kv.get"
 * ```
 */
export class ApiUnavailableError extends IoraError {
  /** The API name that was asked for. */
  readonly apiName: string;

  /**
   * Creates the error for `apiName`.
   *
   * @param apiName the API name that was asked for
   * @param detail optional explanation appended to the message
   */
  constructor(apiName: string, detail?: string) {
    super("ApiUnavailable", `API "${apiName}" is not available${detail ? `: ${detail}` : ""}`);
    this.apiName = apiName;
  }
}

/**
 * The service configuration is invalid: `key` is the dotted path of the
 * offending entry, such as `server.port`.
 *
 * @example
 * ```ts
 * import { ServiceConfigError } from "./errors.ts";
 * const e = new ServiceConfigError("server.port", "must be an integer in 0..65535");
 * console.log(e.message); // "server.port: must be an integer in 0..65535"
 * ```
 */
export class ServiceConfigError extends IoraError {
  /** Dotted path of the offending configuration key. */
  readonly key: string;

  /**
   * Creates a configuration error.
   *
   * @param key dotted path of the offending key
   * @param message what is wrong with it
   * @param options standard error options (`cause`)
   */
  constructor(key: string, message: string, options?: ErrorOptions) {
    super("InvalidConfig", `${key}: ${message}`, options);
    this.key = key;
  }
}

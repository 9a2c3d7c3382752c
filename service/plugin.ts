/**
 * The plugin contract: a module whose default export is a class extending
 * {@linkcode Plugin} (or made by {@linkcode definePlugin}).
 *
 * @module
 */
import type { ApiFunction } from "./api_registry.ts";
import { PluginError } from "./errors.ts";
import { getPluginContext, type PluginContext } from "./_plugin_context.ts";
import type { ServiceContext } from "./service_context.ts";

/**
 * The base class of every plugin. The host constructs it with no
 * arguments, attaches it, then calls {@linkcode Plugin.onLoad}. `S` is what
 * `onLoad` receives: the service's {@linkcode ServiceContext} (what
 * `IoraService` offers) for trusted plugins, a `SandboxService` inside a
 * sandbox.
 *
 * @example
 * ```ts
 * import { Plugin } from "./plugin.ts";
 * import type { ServiceContext } from "./service_context.ts";
 *
 * export default class Greeter extends Plugin {
 *   override onLoad(_service: ServiceContext): void {
 *     this.exportApi("greeter.greet", (who: string) => `hello ${who}`);
 *   }
 * }
 * ```
 */
export abstract class Plugin<S = ServiceContext> {
  /**
   * API namespaces a trusted plugin exports under besides its module name
   * (`static override namespaces = ["jsonrpc"]`). Each has one owner at a
   * time: a load that finds one taken fails. Sandboxes ignore this; their
   * namespaces come from their configuration.
   *
   * @default []
   */
  static readonly namespaces: readonly string[] = [];

  /**
   * The module name the host knows this plugin by.
   *
   * @returns the module name
   */
  get name(): string {
    return this.#context().name;
  }

  /**
   * What `onLoad` received, for use in later hooks.
   *
   * @returns the service
   */
  get service(): S {
    return this.#context().service as S;
  }

  /**
   * The plugin's own options: the module's `options` table in the config.
   *
   * @returns the options (empty when none were given)
   */
  get options(): Readonly<Record<string, unknown>> {
    return this.#context().options;
  }

  /**
   * Declares that this plugin needs the module `name`: fails (throws a
   * {@linkcode PluginError} with code `DependencyMissing` or
   * `DependencyCycle`) when it is not loaded or would close a cycle, so
   * calling it in `onLoad` fails the load. Returns a promise inside a
   * sandbox: await it there.
   *
   * @param name the required module's name
   * @returns nothing, or a promise inside a sandbox
   */
  require(name: string): void | Promise<void> {
    return this.#context().require(name);
  }

  /**
   * Exports `fn` as `name`, owned by this plugin: it is withdrawn when the
   * plugin unloads.
   *
   * @param name the API name, such as `"kvstore.get"`
   * @param fn the function
   */
  exportApi(name: string, fn: ApiFunction): void {
    this.#context().exportApi(name, fn);
  }

  /**
   * Called once after the plugin is attached. Throwing (or rejecting)
   * fails the load; the host logs it and moves on.
   *
   * @param service the service the plugin runs in
   */
  abstract onLoad(service: S): void | Promise<void>;

  /** Called before the plugin is dropped: release what `onLoad` acquired. */
  onUnload(): void | Promise<void> {}

  /**
   * Called when a module this plugin required is loaded again.
   *
   * @param _name the dependency's module name
   */
  onDependencyLoaded(_name: string): void | Promise<void> {}

  /**
   * Called before a module this plugin required unloads.
   *
   * @param _name the dependency's module name
   */
  onDependencyUnloaded(_name: string): void | Promise<void> {}

  #context(): PluginContext {
    const context = getPluginContext(this);
    if (context === undefined) {
      throw new PluginError(
        "InvalidPlugin",
        this.constructor.name,
        "this plugin is not attached to a host yet (use it from onLoad or later)",
      );
    }
    return context;
  }
}

/** A class the host can instantiate as a plugin. */
export type PluginClass<S = ServiceContext> = new () => Plugin<S>;

/** The hooks {@linkcode definePlugin} turns into a plugin class. */
export interface PluginHooks<S = ServiceContext> {
  /**
   * Called once after the plugin is attached.
   *
   * @param service the service the plugin runs in
   */
  onLoad(this: Plugin<S>, service: S): void | Promise<void>;
  /** Called before the plugin is dropped. */
  onUnload?(this: Plugin<S>): void | Promise<void>;
  /**
   * Called when a required module loads again.
   *
   * @param name the dependency's module name
   */
  onDependencyLoaded?(this: Plugin<S>, name: string): void | Promise<void>;
  /**
   * Called before a required module unloads.
   *
   * @param name the dependency's module name
   */
  onDependencyUnloaded?(this: Plugin<S>, name: string): void | Promise<void>;
}

/**
 * Makes a plugin class from plain hooks; the counterpart of the seed's
 * `IORA_DECLARE_PLUGIN`. Export the result as the module's default.
 *
 * @example
 * ```ts
 * import { definePlugin } from "./plugin.ts";
 * export default definePlugin({
 *   onLoad() {
 *     this.exportApi("hello.say", () => "hello");
 *   },
 * });
 * ```
 *
 * @param hooks the plugin's hooks; `this` is the plugin instance
 * @returns a plugin class
 */
export function definePlugin<S = ServiceContext>(hooks: PluginHooks<S>): PluginClass<S> {
  return class DefinedPlugin extends Plugin<S> {
    override onLoad(service: S): void | Promise<void> {
      return hooks.onLoad.call(this, service);
    }
    override onUnload(): void | Promise<void> {
      return hooks.onUnload?.call(this);
    }
    override onDependencyLoaded(name: string): void | Promise<void> {
      return hooks.onDependencyLoaded?.call(this, name);
    }
    override onDependencyUnloaded(name: string): void | Promise<void> {
      return hooks.onDependencyUnloaded?.call(this, name);
    }
  };
}

/**
 * Picks the plugin class out of an imported module namespace: the default
 * export must be a class whose prototype has `onLoad`. Duck-typed on
 * purpose, so a plugin importing `Plugin` through another URL still works.
 *
 * @example
 * ```ts
 * import { pluginClassOf } from "./plugin.ts";
 * const mod = { default: class { onLoad() {} } };
 * console.log(typeof pluginClassOf(mod, "x"));
 * ```
 *
 * @param namespace the module namespace
 * @param name the module name, for the error message
 * @returns the class
 */
export function pluginClassOf<S>(namespace: Record<string, unknown>, name: string): PluginClass<S> {
  const candidate = namespace.default;
  if (
    typeof candidate !== "function" ||
    typeof (candidate.prototype as { onLoad?: unknown } | undefined)?.onLoad !== "function"
  ) {
    throw new PluginError(
      "InvalidPlugin",
      name,
      `module "${name}" must default-export a class extending Plugin (or definePlugin(...))`,
    );
  }
  return candidate as PluginClass<S>;
}

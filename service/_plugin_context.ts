// What the host (or the sandbox runtime) attaches to a plugin instance
// before calling its hooks. Kept in a WeakMap so nothing internal shows on
// the public Plugin class.
import type { ApiFunction } from "./api_registry.ts";

export interface PluginContext {
  readonly name: string;
  readonly service: unknown;
  readonly options: Readonly<Record<string, unknown>>;
  require(name: string): void | Promise<void>;
  exportApi(name: string, fn: ApiFunction): void;
}

const contexts = new WeakMap<object, PluginContext>();

export function setPluginContext(plugin: object, context: PluginContext): void {
  contexts.set(plugin, context);
}

export function getPluginContext(plugin: object): PluginContext | undefined {
  return contexts.get(plugin);
}

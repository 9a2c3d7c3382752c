// Paths of the plugin fixtures, with the extension of the running build
// (.ts under Deno, .js after the npm build).
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** The URL of `tests/fixtures/plugins/<name>` with the right extension. */
export function pluginFixture(name: string): string {
  return new URL(`../fixtures/plugins/${name}${ext}`, import.meta.url).href;
}

/** The URL of a module under `service/` with the right extension. */
export function serviceModule(name: string): string {
  return new URL(`../../service/${name}${ext}`, import.meta.url).href;
}

/** The URL of a module under `plugins/` with the right extension. */
export function shippedPlugin(name: string): string {
  return new URL(`../../plugins/${name}${ext}`, import.meta.url).href;
}

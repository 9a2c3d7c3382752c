// Paths of the plugin fixtures, with the extension of the running build
// (.ts under Deno, .js after the npm build).
import type { ServiceConfigInput } from "../../service/config.ts";
import type { TempDir } from "../harness.ts";

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

/**
 * A service configuration confined to `dir` (log and state files there,
 * server on an ephemeral 127.0.0.1 port), with `extra` merged over it.
 */
export function serviceConfig(dir: TempDir, extra: ServiceConfigInput = {}): ServiceConfigInput {
  return {
    ...extra,
    server: { host: "127.0.0.1", port: 0, ...extra.server },
    log: { level: "debug", file: dir.join("iora.log"), ...extra.log },
    state: { file: dir.join("state.json"), ...extra.state },
  };
}

/** POSTs `body` as JSON to `path` on the local server listening on `port`. */
export function postJson(port: number, path: string, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/**
 * The options of a `RedisConnection`, checked and with their defaults: a
 * `redis://` or `rediss://` URL, positive timeouts and delays, an integer
 * `maxPending`.
 *
 * @module
 */
import { checkPositive } from "./_option_checks.ts";
import { ClusterError, redactUrl } from "./errors.ts";
import type { RedisConnectionOptions } from "./connection_types.ts";

/** Every option of {@linkcode RedisConnectionOptions} given a value but the client name. */
export type ConnectionSettings = Required<Omit<RedisConnectionOptions, "clientName">> & {
  clientName?: string;
};

/** `options` with their defaults, or a {@linkcode ClusterError} `InvalidArgument`. */
export function connectionSettings(options: RedisConnectionOptions): ConnectionSettings {
  if (!options || typeof options.url !== "string" || options.url === "") {
    throw new ClusterError("InvalidArgument", "a Redis url is required (redis://host:port)");
  }
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new ClusterError("InvalidArgument", `bad Redis url ${redactUrl(options.url)}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ClusterError(
      "InvalidArgument",
      `a Redis url starts with redis:// or rediss://, got ${redactUrl(options.url)}`,
    );
  }
  const maxPending = checkPositive("maxPending", options.maxPending, 10_000);
  if (!Number.isInteger(maxPending)) {
    throw new ClusterError("InvalidArgument", "maxPending must be an integer");
  }
  return {
    url: options.url,
    connectTimeoutMs: checkPositive("connectTimeoutMs", options.connectTimeoutMs, 5000),
    commandTimeoutMs: checkPositive("commandTimeoutMs", options.commandTimeoutMs, 5000),
    maxPending,
    reconnectMinMs: checkPositive("reconnectMinMs", options.reconnectMinMs, 50),
    reconnectMaxMs: checkPositive("reconnectMaxMs", options.reconnectMaxMs, 2000),
    clientName: options.clientName,
  };
}

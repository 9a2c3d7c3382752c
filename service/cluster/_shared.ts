// What the cluster backends share: their connection (their own or a shared one) and ids.
import { ClusterError } from "./errors.ts";
import { RedisConnection, type RedisConnectionChoice } from "./connection.ts";

/** The options every backend takes to reach Redis. */
export type ConnectionChoice = RedisConnectionChoice;

/** The given connection (not owned), or a new one to `url` (owned: the backend closes it). */
export async function ownedConnection(
  options: ConnectionChoice,
  clientName: string,
): Promise<{ connection: RedisConnection; owned: boolean }> {
  if (options.connection) {
    if (!(options.connection instanceof RedisConnection)) {
      throw new ClusterError("InvalidArgument", "connection must be a RedisConnection");
    }
    return { connection: options.connection, owned: false };
  }
  if (typeof options.url !== "string") {
    throw new ClusterError("InvalidArgument", "a Redis url or a connection is required");
  }
  const connection = await RedisConnection.connect({
    clientName,
    ...options.connectionOptions,
    url: options.url,
  });
  return { connection, owned: true };
}

/** A random id, unique enough to tell instances and lock holders apart. */
export function randomId(): string {
  return crypto.randomUUID();
}

/** Checks that `value` is a non-empty string without whitespace (a name used in Redis keys). */
export function checkName(what: string, value: unknown): string {
  if (typeof value !== "string" || value === "" || value.length > 200 || /\s/.test(value)) {
    throw new ClusterError(
      "InvalidArgument",
      `${what} must be a non-empty string of at most 200 characters without spaces, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

/** Checks a positive, finite number option and returns it (or the default). */
export function checkPositive(what: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) {
    throw new ClusterError("InvalidArgument", `${what} must be a positive number, got ${v}`);
  }
  return v;
}

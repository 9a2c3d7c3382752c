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

// Checks of the options the cluster backends and their connection take: names used in Redis
// keys, positive numbers.
import { ClusterError } from "./errors.ts";

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

/**
 * Cancellation errors without a captured stack: aborting thousands of queries
 * at once would otherwise spend most of its time capturing stacks nobody
 * reads (the stack of an abort is the abort's dispatcher, not the caller's).
 * Setting `Error.stackTraceLimit` does not help on Deno, so the error is
 * built from its prototype: `instanceof`, `code`, `message` and `question`
 * are as usual; `stack` is just the name and message.
 *
 * @module
 */
import { DnsResolverError } from "./errors.ts";

/** A `Cancelled` {@linkcode DnsResolverError} built without a stack trace. */
export function cancelledError(
  question?: { name: string; type: number },
  message = "query cancelled",
): DnsResolverError {
  const e = Object.create(DnsResolverError.prototype) as DnsResolverError;
  Object.assign(e, {
    name: "DnsResolverError",
    message,
    code: "Cancelled",
    question,
    rcode: undefined,
    stack: `DnsResolverError: ${message}`,
  });
  return e;
}

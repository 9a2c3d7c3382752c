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

interface CancelledFields {
  name: string;
  message: string;
  code: string;
  question: { name: string; type: number } | undefined;
  rcode: undefined;
  stack: string;
}

/**
 * A plain constructor sharing DnsResolverError's prototype: objects of one
 * shape, built without Error's constructor (which captures a stack).
 */
const Cancelled = function (
  this: CancelledFields,
  message: string,
  question: { name: string; type: number } | undefined,
): void {
  this.name = "DnsResolverError";
  this.message = message;
  this.code = "Cancelled";
  this.question = question;
  this.rcode = undefined;
  this.stack = `DnsResolverError: ${message}`;
} as unknown as new (
  message: string,
  question: { name: string; type: number } | undefined,
) => DnsResolverError;
(Cancelled as unknown as { prototype: object }).prototype = DnsResolverError.prototype;

/** A `Cancelled` {@linkcode DnsResolverError} built without a stack trace. */
export function cancelledError(
  question?: { name: string; type: number },
  message = "query cancelled",
): DnsResolverError {
  return new Cancelled(message, question);
}

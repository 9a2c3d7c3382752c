/**
 * The error every failed resolution rejects with: a {@linkcode DnsResolverError}
 * whose `code` tells the outcomes apart (NXDOMAIN, NODATA, SERVFAIL, REFUSED,
 * timeout, cancellation, ...).
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/**
 * Stable codes of {@linkcode DnsResolverError}:
 * - `NXDomain`: the name does not exist (rcode 3).
 * - `NoData`: the name exists but has no record of the type asked.
 * - `ServFail`, `Refused`, `FormErr`, `NotImp`: the server's rcode; `ServerError` for any other rcode.
 * - `Timeout`: no valid answer in time (after every retry), or `maxResolutionTime` ran out.
 * - `Cancelled`: the caller aborted (an `AbortSignal` or `cancel()`).
 * - `CnameLoop`: a CNAME chain looped or exceeded the limit.
 * - `InvalidName`: the name cannot be sent (label over 63 octets, name over 255, empty label).
 * - `NoServers`: no server configured and none in resolv.conf.
 * - `NetworkError`: a socket failed (bind, send, TCP connect).
 * - `Closed`: the client was closed.
 *
 * @example
 * ```ts
 * import type { DnsErrorCode } from "./errors.ts";
 * const code: DnsErrorCode = "NXDomain";
 * ```
 */
export type DnsErrorCode =
  | "NXDomain"
  | "NoData"
  | "ServFail"
  | "Refused"
  | "FormErr"
  | "NotImp"
  | "ServerError"
  | "Timeout"
  | "Cancelled"
  | "CnameLoop"
  | "InvalidName"
  | "NoServers"
  | "NetworkError"
  | "Closed";

/**
 * A failed resolution, with the question concerned (when there is one) and
 * the server's rcode (when the server gave one).
 *
 * @example
 * ```ts
 * import { DnsResolverError } from "./errors.ts";
 * const e = new DnsResolverError("NXDomain", "nope.test does not exist", { name: "nope.test", type: 1 }, 3);
 * if (e.code === "NXDomain") console.log(e.question?.name);
 * ```
 */
export class DnsResolverError extends IoraError {
  /** The failure. */
  declare readonly code: DnsErrorCode;
  /** The question that failed, when any. */
  readonly question: { name: string; type: number } | undefined;
  /** The response code the server gave, when it answered. */
  readonly rcode: number | undefined;

  /**
   * Creates the error.
   *
   * @param code the failure
   * @param message human-readable description
   * @param question the question concerned
   * @param rcode the server's response code
   * @param options standard error options (`cause`)
   */
  constructor(
    code: DnsErrorCode,
    message: string,
    question?: { name: string; type: number },
    rcode?: number,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.question = question;
    this.rcode = rcode;
  }
}

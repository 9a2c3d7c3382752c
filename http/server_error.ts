/**
 * The error `WebhookServer` and its requests throw for misuse.
 *
 * @example
 * ```ts
 * import { WebhookServerError } from "./server_error.ts";
 * const error = new WebhookServerError("InvalidConfig", "TLS needs a certificate and a private key");
 * console.log(error.code); // InvalidConfig
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/**
 * Thrown for misuse of the server (starting twice, TLS on an unsupported runtime...).
 *
 * @example
 * ```ts
 * import { WebhookServerError } from "./server_error.ts";
 * try {
 *   throw new WebhookServerError("AlreadyStarted", "server already started");
 * } catch (e) {
 *   if (e instanceof WebhookServerError) console.log(e.code);
 * }
 * ```
 */
export class WebhookServerError extends IoraError {
  /**
   * Creates the error.
   *
   * @param code stable identifier, such as `"AlreadyStarted"` or `"InvalidConfig"`
   * @param message what went wrong
   * @param options standard error options (`cause`)
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

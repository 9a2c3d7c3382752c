/**
 * Which JSON errors are the client's. `req.json()` marks the errors of a
 * request body here; the server answers those with a 400 and their position.
 * Any other JSON error a handler lets escape is the server's own: a 500.
 *
 * @module
 */
import type { JsonParseError } from "../parsers/json.ts";

const BAD_BODIES = new WeakSet<JsonParseError>();

/** Records `error` as raised by a request body. */
export function markBadBody(error: JsonParseError): void {
  BAD_BODIES.add(error);
}

/** True when `error` was raised by a request body (`req.json()`). */
export function isBadBody(error: JsonParseError): boolean {
  return BAD_BODIES.has(error);
}

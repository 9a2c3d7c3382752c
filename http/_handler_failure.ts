// How the server answers a handler that threw (or rejected): the client's faults (a body too
// large, a request body that is not valid JSON) with a 4xx that says what was wrong, anything
// else with a bare 500 that carries no internals.
import { JsonParseError } from "../parsers/json.ts";
import { isBadBody } from "./_json_body.ts";
import type { WebhookResponse } from "./response.ts";
import { WebhookServerError } from "./server_error.ts";

/**
 * Replaces whatever `res` held with the answer to `error`.
 *
 * @param res the response being built
 * @param error what the handler threw
 * @returns true when the failure is the server's own (a 500, to count and log)
 */
export function answerHandlerFailure(res: WebhookResponse, error: unknown): boolean {
  if (res.streamBody instanceof ReadableStream) res.streamBody.cancel().catch(() => {});
  res.streamBody = null;
  res.headers.delete("content-type");
  if (error instanceof WebhookServerError && error.code === "PayloadTooLarge") {
    res.json({ error: error.message, code: error.code }, 413);
    return false;
  }
  if (error instanceof JsonParseError && isBadBody(error)) {
    const { message, code, line, column, offset } = error;
    res.json({ error: message, code, line, column, offset }, 400);
    return false;
  }
  // No stack or message in the response: it may carry internals.
  res.json({ error: "Internal Server Error" }, 500);
  return true;
}

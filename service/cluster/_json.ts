// JSON from Redis, through the project's parser: it avoids the engine's JSON.parse key bug (V8 15,
// see parsers/_json_engine.ts), which could give a payload key the spelling of an earlier one.
import { parseJson } from "../../parsers/json.ts";

/** Parses `text` as JSON; the caller states the shape it expects (and checks what matters). */
export function parseJsonAs<T>(text: string): T {
  return parseJson(text) as unknown as T;
}

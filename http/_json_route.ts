// The route handler behind `handleJson`: the request body parsed as JSON under the server's JSON
// limits, the handler's return value sent as JSON.
import type { JsonValue } from "../parsers/json.ts";
import type { JsonConfig } from "./request.ts";
import type { JsonHandler, RouteHandler } from "./server_types.ts";

/** True for `application/json` and `application/*+json`, parameters ignored. */
function isJsonContentType(ct: string | null): boolean {
  if (ct === null) return false;
  const semi = ct.indexOf(";");
  const base = (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  return base === "application/json" || (base.startsWith("application/") && base.endsWith("+json"));
}

/**
 * A route handler that gives `fn` the parsed body (null when there is none) and answers with
 * what it returns (204 for undefined); 415 for a body that is not JSON, 413 past the payload
 * limit.
 *
 * @param fn the JSON handler
 * @param config the server's JSON limits, read per request (they may change)
 * @returns the route handler
 */
export function jsonRoute(fn: JsonHandler, config: () => JsonConfig): RouteHandler {
  return (req, res) => {
    let value: JsonValue = null;
    if (req.body.length > 0 || req.headers.has("content-type")) {
      if (!isJsonContentType(req.headers.get("content-type"))) {
        res.json({ error: "expected an application/json body" }, 415);
        return;
      }
      const limit = config().maxPayloadSize;
      if (req.body.length > limit) {
        res.json({ error: `JSON body exceeds ${limit} bytes` }, 413);
        return;
      }
      value = req.json();
    }
    const out = fn(value, req);
    if (out instanceof Promise) {
      return out.then((v) => {
        if (v === undefined) res.status = 204;
        else res.json(v);
      });
    }
    if (out === undefined) res.status = 204;
    else res.json(out);
  };
}

// The redirects HttpClient follows: a 301, 302, 303, 307 or 308 with a
// Location. A 303 (and a 301 or 302 after a POST) turns the request into a
// GET without a body; the others send the body again, which a stream
// cannot be. Credentials stay with the origin they were meant for.
import { HttpClientError } from "./client_error.ts";
import type { HttpHeaders } from "./message.ts";
import { discard, type ExchangeResult } from "./_client_connection.ts";
import type { PreparedBody } from "./_client_body.ts";
import { parseUrl } from "./_client_url.ts";

const REDIRECT_STATUSES = [301, 302, 303, 307, 308];
const CROSS_ORIGIN_DROPPED = ["authorization", "cookie", "proxy-authorization"];
const BODY_HEADERS = ["content-type", "content-length", "content-encoding", "transfer-encoding"];

/** A request along a redirect chain. */
export interface RedirectedRequest {
  method: string;
  url: URL;
  body: PreparedBody;
}

/**
 * The request that `result`, the answer to `request`, redirects to, or undefined when it is no
 * redirect. Following it drops `result`'s body and changes `headers` (the request's) to match.
 *
 * @param redirects the redirects followed before this one
 * @param maxRedirects how many may be followed
 * @throws {HttpClientError} `RedirectFailed` for one redirect too many, a bad Location, or a
 *   stream body that would have to be sent again
 */
export async function redirectHop(
  result: ExchangeResult,
  request: RedirectedRequest,
  headers: HttpHeaders,
  redirects: number,
  maxRedirects: number,
): Promise<RedirectedRequest | undefined> {
  const { url } = request;
  let { method, body } = request;
  const location = result.headers.get("location");
  if (location === null || !REDIRECT_STATUSES.includes(result.status)) return undefined;
  if (redirects >= maxRedirects) {
    await discard(result);
    throw new HttpClientError("RedirectFailed", `${url.href}: more than ${maxRedirects} redirects`);
  }
  let next: URL;
  try {
    next = parseUrl(new URL(location, url));
  } catch (error) {
    await discard(result);
    throw new HttpClientError("RedirectFailed", `${url.href}: bad Location ${location}`, {
      cause: error,
    });
  }
  const toGet = result.status === 303 ? method !== "HEAD" : (result.status === 301 ||
    result.status === 302) && method === "POST";
  if (toGet) {
    method = "GET";
    body = null;
    for (const name of BODY_HEADERS) headers.delete(name);
  } else if (body instanceof ReadableStream) {
    await discard(result);
    throw new HttpClientError(
      "RedirectFailed",
      `${url.href}: a ${result.status} redirect needs the body again, and a stream cannot be replayed`,
    );
  }
  // Credentials stay with the origin they were meant for (as fetch does).
  if (next.origin !== url.origin) {
    for (const name of CROSS_ORIGIN_DROPPED) headers.delete(name);
  }
  await discard(result);
  return { method, url: next, body };
}

// The URLs HttpClient takes (absolute http:, https:, srv+http: and srv+https:
// URLs without credentials), and how one shows in a span.
import { HttpClientError } from "./client_error.ts";

/**
 * `input` as a URL the client can request.
 *
 * @throws {HttpClientError} `InvalidRequest` for a relative URL, another scheme or credentials
 */
export function parseUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new HttpClientError("InvalidRequest", `not an absolute URL: ${String(input)}`);
  }
  if (!["http:", "https:", "srv+http:", "srv+https:"].includes(url.protocol)) {
    throw new HttpClientError(
      "InvalidRequest",
      `${url.href}: only http:, https:, srv+http: and srv+https: are supported`,
    );
  }
  if (url.username || url.password) {
    throw new HttpClientError(
      "InvalidRequest",
      `${url.origin}: credentials in the URL are not sent; use an Authorization header`,
    );
  }
  return url;
}

/** A URL for a span attribute: without user name and password. */
export function redacted(input: string | URL): string {
  try {
    const url = new URL(String(input));
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return String(input);
  }
}

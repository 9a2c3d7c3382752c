/**
 * The syntax under the HTTP/1.1 parsers: field lines and the fields that decide framing
 * (Content-Length, Transfer-Encoding, Host), methods, versions and keep-alive.
 *
 * @module
 */
import type { HttpHeaders } from "./headers.ts";
import { HttpParseError } from "./message_types.ts";
import { type HeaderInternals, HEADERS } from "./_headers_access.ts";
import { TOKEN, trimOws } from "./_fields.ts";

const HEADER_TABLE = HEADERS as HeaderInternals<HttpHeaders>;

// Parses CRLF-separated field lines of `text` from `from` into `headers`.
// `framing`, when given, collects the fields that decide framing, for the checks after.
export function parseFieldLines(
  text: string,
  from: number,
  headers: HttpHeaders,
  maxCount: number,
  framing: Framing | null,
): void {
  let pos = from;
  const len = text.length;
  let count = 0;
  while (pos < len) {
    let eol = text.indexOf("\r\n", pos);
    if (eol < 0) eol = len;
    const first = text.charCodeAt(pos);
    if (first === 32 || first === 9) {
      throw new HttpParseError("InvalidHeader", 400, "obsolete line folding is not allowed");
    }
    const colon = text.indexOf(":", pos);
    if (colon < 0 || colon > eol) {
      throw new HttpParseError("InvalidHeader", 400, "header line without a colon");
    }
    if (colon === pos) throw new HttpParseError("InvalidHeader", 400, "empty header name");
    for (let i = pos; i < colon; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128 || TOKEN[c] === 0) {
        throw new HttpParseError(
          "InvalidHeader",
          400,
          c === 32 || c === 9
            ? "whitespace before the colon of a header"
            : `invalid character in header name (0x${c.toString(16)})`,
        );
      }
    }
    let a = colon + 1;
    let b = eol;
    while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
    while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
    for (let i = a; i < b; i++) {
      const c = text.charCodeAt(i);
      if ((c < 32 && c !== 9) || c === 127) {
        throw new HttpParseError(
          c === 13 ? "InvalidLineEnding" : "InvalidHeader",
          400,
          c === 13
            ? "bare CR in a header value"
            : `control character in header value (0x${c.toString(16)})`,
        );
      }
    }
    if (++count > maxCount) {
      throw new HttpParseError("HeaderTooLarge", 431, `more than ${maxCount} header fields`);
    }
    const lower = knownField(text, pos, colon) ?? text.slice(pos, colon).toLowerCase();
    const value = text.slice(a, b);
    HEADER_TABLE.appendTrusted(headers, lower, value);
    if (framing !== null) collect(framing, lower, value);
    pos = eol + 2;
  }
}

// Common field names, by length: a match (case-insensitive) yields the constant, sparing a copy,
// a lower-casing and a hash per field.
const KNOWN_FIELDS: string[][] = [];
for (
  const name of [
    "host",
    "accept",
    "cookie",
    "origin",
    "expect",
    "referer",
    "upgrade",
    "connection",
    "user-agent",
    "content-type",
    "content-length",
    "cache-control",
    "authorization",
    "accept-encoding",
    "accept-language",
    "transfer-encoding",
  ]
) (KNOWN_FIELDS[name.length] ??= []).push(name);

// `text[from, to)` holds token characters only (checked before), so `| 0x20` folds case
// without letting anything else match.
function knownField(text: string, from: number, to: number): string | null {
  const candidates = KNOWN_FIELDS[to - from];
  if (candidates === undefined) return null;
  outer: for (let k = 0; k < candidates.length; k++) {
    const name = candidates[k];
    for (let i = 0; i < name.length; i++) {
      if ((text.charCodeAt(from + i) | 0x20) !== name.charCodeAt(i)) continue outer;
    }
    return name;
  }
  return null;
}

/** The fields that decide a message's framing, collected while its field lines are read. */
export interface Framing {
  contentLength: string[] | null;
  transferEncoding: string[] | null;
  connection: string[] | null;
  host: number;
  /** The last Host value seen. */
  hostValue: string;
  expect: string | null;
}

/** A {@linkcode Framing} with nothing collected yet. */
export function emptyFraming(): Framing {
  return {
    contentLength: null,
    transferEncoding: null,
    connection: null,
    host: 0,
    hostValue: "",
    expect: null,
  };
}

function collect(framing: Framing, lower: string, value: string): void {
  switch (lower) {
    case "content-length":
      (framing.contentLength ??= []).push(value);
      break;
    case "transfer-encoding":
      (framing.transferEncoding ??= []).push(value);
      break;
    case "connection":
      (framing.connection ??= []).push(value);
      break;
    case "host":
      framing.host++;
      framing.hostValue = value;
      break;
    case "expect":
      framing.expect = framing.expect === null ? value : `${framing.expect}, ${value}`;
      break;
  }
}

// The bytes of uri-host [":" port] (RFC 3986: reg-name, IP-literal, IPv4): unreserved, "%",
// sub-delims, ":", "[" and "]". Anything else ("/", "?", "#", "@", space, "\\") could make a URL
// built from Host name another path or host than the one the request was routed by.
const HOST_CHAR = new Uint8Array(128);
for (
  const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]"
) {
  HOST_CHAR[c.charCodeAt(0)] = 1;
}

export function isValidHost(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || HOST_CHAR[c] === 0) return false;
  }
  return true;
}

export function listTokens(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const t = trimOws(part).toLowerCase();
      if (t !== "") out.push(t);
    }
  }
  return out;
}

// Content-Length = 1*DIGIT; repeated identical values collapse (RFC 9110 section 8.6).
export function parseContentLength(values: string[], maxBody: number): number {
  let result = -1;
  for (const v of values) {
    for (const part of v.split(",")) {
      const t = trimOws(part);
      if (t.length === 0) {
        throw new HttpParseError(
          "InvalidContentLength",
          400,
          `invalid Content-Length: ${JSON.stringify(v)}`,
        );
      }
      // Leading zeros are valid digits (1*DIGIT) and do not count towards the magnitude.
      let n = 0;
      let significant = 0;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c < 48 || c > 57) {
          throw new HttpParseError(
            "InvalidContentLength",
            400,
            `invalid Content-Length: ${JSON.stringify(v)}`,
          );
        }
        if (significant > 0 || c !== 48) significant++;
        n = n * 10 + (c - 48);
      }
      if (significant > 15) {
        throw new HttpParseError(
          "BodyTooLarge",
          413,
          `Content-Length ${t.slice(0, 32)} is too large`,
        );
      }
      if (result !== -1 && result !== n) {
        throw new HttpParseError("InvalidContentLength", 400, "conflicting Content-Length values");
      }
      result = n;
    }
  }
  if (result > maxBody) {
    throw new HttpParseError("BodyTooLarge", 413, `body of ${result} bytes exceeds ${maxBody}`);
  }
  return result;
}

// Returns true when the codings end in chunked; throws for what we must refuse.
export function checkTransferEncoding(values: string[], isRequest: boolean): boolean {
  const codings = listTokens(values);
  const last = codings[codings.length - 1];
  const chunkedCount = codings.filter((c) => c === "chunked").length;
  if (last !== "chunked") {
    if (isRequest) {
      throw new HttpParseError(
        "InvalidTransferEncoding",
        400,
        "the final transfer coding of a request must be chunked",
      );
    }
    return false;
  }
  if (chunkedCount > 1) {
    throw new HttpParseError("InvalidTransferEncoding", 400, "chunked applied more than once");
  }
  if (codings.length > 1) {
    throw new HttpParseError(
      "UnsupportedTransferEncoding",
      501,
      `unsupported transfer coding: ${codings.slice(0, -1).join(", ")}`,
    );
  }
  return true;
}

// The common methods as constants: no copy per request, and map lookups by method then
// compare an internalized string.
export function knownMethod(text: string, length: number): string | null {
  if (length === 3) {
    if (text.startsWith("GET")) return "GET";
    if (text.startsWith("PUT")) return "PUT";
  } else if (length === 4) {
    if (text.startsWith("POST")) return "POST";
    if (text.startsWith("HEAD")) return "HEAD";
  } else if (length === 6 && text.startsWith("DELETE")) return "DELETE";
  else if (length === 5 && text.startsWith("PATCH")) return "PATCH";
  return null;
}

export function parseVersion(v: string, what: string): "1.0" | "1.1" {
  if (v === "HTTP/1.1") return "1.1";
  if (v === "HTTP/1.0") return "1.0";
  if (
    v.length === 8 && v.startsWith("HTTP/") && v.charCodeAt(6) === 46 &&
    isDigit(v.charCodeAt(5)) && isDigit(v.charCodeAt(7))
  ) {
    // A higher 1.x minor version is compatible with 1.1 (RFC 9110 section 6.2).
    if (v.charCodeAt(5) === 49) return "1.1";
    throw new HttpParseError("UnsupportedVersion", 505, `unsupported HTTP version ${v}`);
  }
  throw new HttpParseError("InvalidStartLine", 400, `invalid HTTP version in ${what}`);
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function keepAliveOf(version: "1.0" | "1.1", connection: string[] | null): boolean {
  if (connection === null) return version === "1.1";
  const tokens = listTokens(connection);
  if (tokens.includes("close")) return false;
  return version === "1.1" || tokens.includes("keep-alive");
}

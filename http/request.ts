/**
 * `WebhookRequest`: an HTTP request as `WebhookServer`'s handlers see it,
 * with its query, text and JSON body computed on first use.
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./server.ts";
 * new WebhookServer().onPost("/users/{id}", (req, res) => {
 *   res.json({ id: req.params.id, q: req.query.get("q"), body: req.json() });
 * });
 * ```
 *
 * @module
 */
import {
  JsonParseError,
  type JsonParseOptions,
  type JsonValue,
  parseJson,
} from "../parsers/json.ts";
import type { HttpHeaders, HttpRequestMessage } from "./message.ts";
import { markBadBody } from "./_json_body.ts";
import { WebhookServerError } from "./server_error.ts";

/** JSON limits of `handleJson` and `req.json()`. */
export interface JsonConfig {
  /**
   * Largest JSON body in bytes (413 beyond it). Default 10 MiB.
   *
   * @default {10485760}
   */
  maxPayloadSize: number;
  /** Limits passed to the JSON parser (depth, string length...). */
  parseLimits: NonNullable<JsonParseOptions["limits"]>;
}

/**
 * A request as handlers see it. Query and text are computed on first use.
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./server.ts";
 * new WebhookServer().onGet("/users/{id}", (req, res) => {
 *   res.json({ id: req.params.id, q: req.query.get("q"), from: req.remoteAddress });
 * });
 * ```
 */
export class WebhookRequest {
  /** The method (`GET`, `POST`...). */
  readonly method: string;
  /** The path, still percent-encoded, without the query string. */
  readonly path: string;
  /** The raw query string without `?` (empty when absent). */
  readonly queryString: string;
  /** Route parameters, percent-decoded; a trailing wildcard is under `"*"`. */
  params: Record<string, string>;
  /** The request's header fields. */
  readonly headers: HttpHeaders;
  /** The body bytes (empty when there is none). */
  readonly body: Uint8Array;
  /** The trailer fields of a chunked body, or null when it had none. */
  readonly trailers: HttpHeaders | null;
  /** The peer's address, `host:port`. */
  readonly remoteAddress: string;
  /** `"1.1"` or `"1.0"`. */
  readonly version: "1.0" | "1.1";
  /** The raw request target. */
  readonly target: string;
  #query: URLSearchParams | null = null;
  #json: JsonConfig;

  /**
   * Wraps a parsed message.
   *
   * @param message the parsed message
   * @param remoteAddress the peer's `host:port`
   * @param json limits used by `json()`
   */
  constructor(message: HttpRequestMessage, remoteAddress: string, json: JsonConfig) {
    this.method = message.method;
    this.target = message.target;
    let target = message.target;
    if (target.charCodeAt(0) !== 47) {
      // absolute-form: keep the path part only
      const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(target);
      target = m ? target.slice(m[0].length) : "";
      // An empty path is "/" (RFC 9112 section 3.2.2), also before a query.
      if (target.charCodeAt(0) !== 47) target = `/${target}`;
    }
    const q = target.indexOf("?");
    this.path = q === -1 ? target : target.slice(0, q);
    this.queryString = q === -1 ? "" : target.slice(q + 1);
    this.params = EMPTY_PARAMS;
    this.headers = message.headers;
    this.body = message.body;
    this.trailers = message.trailers;
    this.remoteAddress = remoteAddress;
    this.version = message.version;
    this.#json = json;
  }

  /** The parsed query string. */
  get query(): URLSearchParams {
    return this.#query ??= new URLSearchParams(this.queryString);
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return DECODER.decode(this.body);
  }

  /**
   * The body parsed by Iora's JSON parser with the server's JSON limits.
   * Throws `JsonParseError` (with line, column and offset) on bad JSON.
   */
  json(): JsonValue {
    if (this.body.length > this.#json.maxPayloadSize) {
      throw new WebhookServerError(
        "PayloadTooLarge",
        `JSON body exceeds ${this.#json.maxPayloadSize} bytes`,
      );
    }
    try {
      return parseJson(this.body, { limits: this.#json.parseLimits });
    } catch (e) {
      if (e instanceof JsonParseError) markBadBody(e);
      throw e;
    }
  }
}

const DECODER = new TextDecoder();
const EMPTY_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

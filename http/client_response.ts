/**
 * What {@linkcode HttpClient} answers with: the seed's `statusCode`,
 * `statusText`, `body` and `success()`, plus the headers, the raw bytes and
 * JSON parsed with the project's parser and limits.
 *
 * @example
 * ```ts
 * import { HttpClientResponse } from "./client_response.ts";
 * import { HttpHeaders } from "./message.ts";
 * const response = new HttpClientResponse(
 *   "http://example.test/",
 *   200,
 *   "OK",
 *   new HttpHeaders({ "content-type": "application/json" }),
 *   new TextEncoder().encode('{"ok":true}'),
 * );
 * console.log(response.success(), response.json()); // true { ok: true }
 * ```
 *
 * @module
 */
import { JsonParseError, type JsonValue, parseJson } from "../parsers/json.ts";
import { HttpClientError } from "./client_error.ts";
import type { HttpHeaders } from "./message.ts";
import type { JsonConfig } from "./request.ts";

const decoder = new TextDecoder();
const NO_JSON_CONFIG: JsonConfig = { maxPayloadSize: 10 * 1024 * 1024, parseLimits: {} };

/**
 * A complete response (its body read into memory).
 *
 * @example
 * ```ts ignore
 * import { HttpClient } from "./client.ts";
 * const client = new HttpClient();
 * const response = await client.get("http://127.0.0.1:8080/health");
 * if (response.success()) console.log(response.statusCode, response.body);
 * await client.close();
 * ```
 */
export class HttpClientResponse {
  /** The URL that answered (after redirects). */
  readonly url: string;
  /** The status code. */
  readonly statusCode: number;
  /** The reason phrase as sent. */
  readonly statusText: string;
  /** The header fields. */
  readonly headers: HttpHeaders;
  /** The body's bytes. */
  readonly bytes: Uint8Array;
  /** How many redirects led here. */
  readonly redirects: number;
  #text: string | undefined;
  #json: JsonConfig;

  /**
   * Made by the client.
   *
   * @param url the URL that answered
   * @param statusCode the status
   * @param statusText the reason phrase
   * @param headers the header fields
   * @param bytes the body
   * @param redirects how many redirects were followed
   * @param json the limits of {@linkcode HttpClientResponse.json}
   */
  constructor(
    url: string,
    statusCode: number,
    statusText: string,
    headers: HttpHeaders,
    bytes: Uint8Array,
    redirects = 0,
    json: JsonConfig = NO_JSON_CONFIG,
  ) {
    this.url = url;
    this.statusCode = statusCode;
    this.statusText = statusText;
    this.headers = headers;
    this.bytes = bytes;
    this.redirects = redirects;
    this.#json = json;
  }

  /** The status, as fetch names it. */
  get status(): number {
    return this.statusCode;
  }

  /** True for a 2xx status (the seed's `success()`). */
  success(): boolean {
    return this.statusCode >= 200 && this.statusCode < 300;
  }

  /** The same as {@linkcode HttpClientResponse.success}, as fetch names it. */
  get ok(): boolean {
    return this.success();
  }

  /** The body as UTF-8 text (the seed's `body`). */
  get body(): string {
    return this.#text ??= decoder.decode(this.bytes);
  }

  /** The body as UTF-8 text. */
  text(): string {
    return this.body;
  }

  /**
   * The body parsed as JSON with the client's `jsonConfig` limits; throws
   * `InvalidJson` when it is not JSON or exceeds them.
   */
  json<T = JsonValue>(): T {
    if (this.bytes.length > this.#json.maxPayloadSize) {
      throw new HttpClientError(
        "InvalidJson",
        `${this.url}: JSON body of ${this.bytes.length} bytes exceeds jsonConfig.maxPayloadSize ` +
          `(${this.#json.maxPayloadSize})`,
      );
    }
    try {
      return parseJson(this.bytes, { limits: this.#json.parseLimits }) as T;
    } catch (error) {
      if (error instanceof JsonParseError) {
        throw new HttpClientError("InvalidJson", `${this.url}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * The JSON body of a 2xx response; throws `HttpStatus` for any other status
   * and `InvalidJson` for a body that is not JSON (the seed's `parseJsonOrThrow`).
   */
  parseJsonOrThrow<T = JsonValue>(): T {
    if (!this.success()) {
      throw new HttpClientError(
        "HttpStatus",
        `${this.url} answered ${this.statusCode} ${this.statusText}`,
        { status: this.statusCode },
      );
    }
    return this.json<T>();
  }
}

/**
 * `HttpClientPool` (the seed's): a bounded set of client handles to borrow
 * and give back, for flow control — `get()` waits when all are out,
 * `tryGet()` does not. The handles share one {@linkcode HttpClient}, so
 * its connection pool is shared too: N handles do not mean N times the
 * sockets.
 *
 * @example
 * ```ts ignore
 * import { HttpClientPool } from "./client_pool.ts";
 * const pool = new HttpClientPool({ poolSize: 10, requestTimeout: 30_000 });
 * {
 *   using client = await pool.get();
 *   const response = await client.get("http://127.0.0.1:8080/users");
 *   console.log(response.statusCode);
 * } // given back here
 * console.log(pool.available, pool.utilization);
 * await pool.close();
 * ```
 *
 * @module
 */
import {
  HttpClient,
  type HttpClientConfig,
  type HttpRequestOptions,
  type HttpStreamResponse,
} from "./client.ts";
import { HttpClientError } from "./client_error.ts";
import type { HttpClientResponse } from "./client_response.ts";
import type { JsonValue } from "../parsers/json.ts";

/** Options of {@linkcode HttpClientPool}: the client's, plus the seed's pool settings. */
export interface HttpClientPoolConfig extends HttpClientConfig {
  /**
   * Handles that can be out at once.
   *
   * @default 10
   */
  poolSize?: number;
  /** The seed's pool spelling of `connectTimeout`. */
  connectionTimeout?: number;
  /** Makes the client instead of `new HttpClient(config)`; the handles share what it returns. */
  clientFactory?: () => HttpClient;
  /**
   * Adjusts the client once it is made.
   *
   * @param client the shared client
   */
  clientConfigurer?: (client: HttpClient) => void;
}

/**
 * A borrowed handle: the client's request methods, usable until given back
 * (`release()`, or the end of a `using` block).
 *
 * @example
 * ```ts ignore
 * import { HttpClientPool } from "./client_pool.ts";
 * const pool = new HttpClientPool({ poolSize: 2 });
 * const client = pool.tryGet();
 * if (client) {
 *   await client.get("http://127.0.0.1:8080/");
 *   client.release();
 * }
 * ```
 */
export class PooledHttpClient implements Disposable {
  #client: HttpClient | null;
  #giveBack: () => void;

  /**
   * Made by the pool.
   *
   * @param client the shared client
   * @param giveBack returns the slot to the pool
   */
  constructor(client: HttpClient, giveBack: () => void) {
    this.#client = client;
    this.#giveBack = giveBack;
  }

  /** True until the handle is given back. */
  get active(): boolean {
    return this.#client !== null;
  }

  /**
   * See {@linkcode HttpClient.get}.
   *
   * @param url the URL
   * @param options options or headers
   * @param retries tries after the first
   * @returns the response
   */
  get(
    url: string | URL,
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    return this.#use().get(url, options, retries);
  }

  /**
   * See {@linkcode HttpClient.post}.
   *
   * @param url the URL
   * @param body the body
   * @param options options or headers
   * @param retries tries after the first
   * @returns the response
   */
  post(
    url: string | URL,
    body?: HttpRequestOptions["body"],
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    return this.#use().post(url, body, options, retries);
  }

  /**
   * See {@linkcode HttpClient.postJson}.
   *
   * @param url the URL
   * @param value the JSON value
   * @param options options or headers
   * @param retries tries after the first
   * @returns the response
   */
  postJson(
    url: string | URL,
    value: unknown,
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    return this.#use().postJson(url, value, options, retries);
  }

  /**
   * See {@linkcode HttpClient.getJson}.
   *
   * @param url the URL
   * @param options options or headers
   * @returns the parsed body
   */
  getJson<T = JsonValue>(
    url: string | URL,
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<T> {
    return this.#use().getJson<T>(url, options);
  }

  /**
   * See {@linkcode HttpClient.request}.
   *
   * @param method the method
   * @param url the URL
   * @param options headers, body, signal, retries, timeouts
   * @returns the response
   */
  request(
    method: string,
    url: string | URL,
    options?: HttpRequestOptions,
  ): Promise<HttpClientResponse> {
    return this.#use().request(method, url, options);
  }

  /**
   * See {@linkcode HttpClient.stream}.
   *
   * @param method the method
   * @param url the URL
   * @param options headers, body, signal, retries, timeouts
   * @returns the head and the body stream
   */
  stream(
    method: string,
    url: string | URL,
    options?: HttpRequestOptions,
  ): Promise<HttpStreamResponse> {
    return this.#use().stream(method, url, options);
  }

  /** Gives the handle back; using it afterwards throws. Giving it back twice is harmless. */
  release(): void {
    if (this.#client === null) return;
    this.#client = null;
    this.#giveBack();
  }

  /** Same as {@linkcode PooledHttpClient.release}. */
  [Symbol.dispose](): void {
    this.release();
  }

  #use(): HttpClient {
    if (this.#client === null) {
      throw new HttpClientError("Closed", "this pooled client was given back to its pool");
    }
    return this.#client;
  }
}

/**
 * The seed's `HttpClientPool`.
 *
 * @example
 * ```ts ignore
 * import { HttpClientPool } from "./client_pool.ts";
 * const pool = new HttpClientPool({ poolSize: 4, userAgent: "MyApp/2.0" });
 * const client = await pool.get(1000); // waits up to 1 s for a free handle
 * try {
 *   await client.get("http://127.0.0.1:8080/");
 * } finally {
 *   client.release();
 * }
 * await pool.close();
 * ```
 */
export class HttpClientPool implements AsyncDisposable {
  readonly #client: HttpClient;
  readonly #capacity: number;
  #out = 0;
  #waiters: ((handle: PooledHttpClient | null) => void)[] = [];
  #closing: Promise<void> | null = null;
  #drained: (() => void) | null = null;

  /**
   * Creates the pool and its shared client.
   *
   * @param config pool size and the client's settings
   */
  constructor(config: HttpClientPoolConfig = {}) {
    const size = config.poolSize ?? 10;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError("HttpClientPool: poolSize must be a positive integer");
    }
    this.#capacity = size;
    const { poolSize: _size, connectionTimeout, clientFactory, clientConfigurer, ...client } =
      config;
    this.#client = clientFactory?.() ??
      new HttpClient({ ...client, connectTimeout: client.connectTimeout ?? connectionTimeout });
    clientConfigurer?.(this.#client);
  }

  /** How many handles the pool holds. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Handles free now. */
  get available(): number {
    return this.#capacity - this.#out;
  }

  /** Handles borrowed now. */
  get inUse(): number {
    return this.#out;
  }

  /** The share of handles borrowed, 0 to 1. */
  get utilization(): number {
    return this.#out / this.#capacity;
  }

  /** True when every handle is borrowed. */
  get empty(): boolean {
    return this.#out === this.#capacity;
  }

  /** True when no handle is borrowed. */
  get full(): boolean {
    return this.#out === 0;
  }

  /**
   * Borrows a handle, waiting up to `timeoutMs` (default: as long as it takes) for one to be
   * given back. Rejects with `RequestTimeout` when the wait runs out and `Closed` after `close()`.
   *
   * @param timeoutMs the longest wait, in milliseconds
   * @returns the handle
   */
  get(timeoutMs: number = Infinity): Promise<PooledHttpClient> {
    const handle = this.tryGet();
    if (handle !== undefined) return Promise.resolve(handle);
    if (this.#closing) return Promise.reject(this.#closedError());
    return new Promise<PooledHttpClient>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = (handle: PooledHttpClient | null) => {
        clearTimeout(timer);
        if (handle === null) reject(this.#closedError());
        else resolve(handle);
      };
      this.#waiters.push(waiter);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(
            new HttpClientError(
              "RequestTimeout",
              `no pooled HTTP client free within ${timeoutMs} ms (poolSize ${this.#capacity})`,
            ),
          );
        }, timeoutMs);
      }
    });
  }

  /**
   * Borrows a handle if one is free.
   *
   * @returns the handle, or undefined when all are out or the pool is closed
   */
  tryGet(): PooledHttpClient | undefined {
    if (this.#closing || this.#out >= this.#capacity) return undefined;
    this.#out++;
    return new PooledHttpClient(this.#client, () => this.#giveBack());
  }

  /** Refuses new borrowers, waits for the borrowed handles to come back, then closes the client. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const waiter of this.#waiters.splice(0)) waiter(null);
      if (this.#out > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      await this.#client.close();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode HttpClientPool.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #giveBack(): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter(new PooledHttpClient(this.#client, () => this.#giveBack()));
      return;
    }
    this.#out--;
    if (this.#out === 0) this.#drained?.();
  }

  #closedError(): HttpClientError {
    return new HttpClientError("Closed", "the HTTP client pool is closed");
  }
}

/**
 * `JsonRpcClient`: JSON-RPC 2.0 calls over Iora's `HttpClient` (pooled
 * keep-alive connections, timeouts, retries of connection failures only —
 * a delivered call is never sent twice), with notifications, batches,
 * asynchronous jobs tracked by id, typed errors and statistics.
 *
 * @example
 * ```ts ignore
 * import { JsonRpcClient } from "./jsonrpc_client.ts";
 * await using rpc = new JsonRpcClient({ timeoutMs: 2000, bearerToken: "s3cret" });
 * const sum = await rpc.call("http://127.0.0.1:8080/rpc", "add", [1, 2]);
 * const job = rpc.callAsync("http://127.0.0.1:8080/rpc", "slow.report", { day: 3 });
 * console.log(sum, rpc.result(job)); // 3 { done: false }
 * ```
 *
 * @module
 */
import { JsonParseError, type JsonValue, parseJson } from "../parsers/json.ts";
import { HttpClient, type HttpClientConfig } from "./client.ts";
import { HttpClientError } from "./client_error.ts";
import type { HttpClientResponse } from "./client_response.ts";
import {
  encodeJsonRpcRequest,
  isJsonRpcResponse,
  type JsonRpcId,
  type JsonRpcParams,
  type JsonRpcResponse,
} from "./jsonrpc.ts";
import {
  JsonRpcError,
  PoolExhaustedError,
  RemoteError,
  RPC_INTERNAL_ERROR,
  RPC_TIMEOUT,
} from "./jsonrpc_error.ts";

/** Options of {@linkcode JsonRpcClient}. */
export interface JsonRpcClientOptions {
  /** An HTTP client to use (not closed by this one); default one made from `http`. */
  httpClient?: HttpClient;
  /** Settings of the HTTP client made when `httpClient` is not given. */
  http?: HttpClientConfig;
  /**
   * Time for a whole call, in ms.
   *
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Tries after the first when the connection could not be made (never after the request left).
   *
   * @default 2
   */
  retries?: number;
  /** Header fields sent with every call (a call's own headers win). */
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer <token>` unless a call sets its own. */
  bearerToken?: string;
  /**
   * Most calls in flight at once; beyond it calls fail with `PoolExhaustedError`.
   *
   * @default 1024
   */
  maxInFlight?: number;
  /**
   * How long a finished job's outcome is kept, in ms.
   *
   * @default 60000
   */
  jobTtlMs?: number;
  /**
   * Most jobs kept (pending and finished); `callAsync` beyond it fails with `TooManyJobs`.
   *
   * @default 10000
   */
  maxJobs?: number;
  /**
   * Largest response body read, in bytes. The client built from `http` stops reading past
   * it; a shared `httpClient` reads up to its own `maxResponseBytes`, then this applies.
   *
   * @default 16777216
   */
  maxResponseBytes?: number;
}

/** Counters of {@linkcode JsonRpcClient.getStats}. */
export interface JsonRpcClientStats {
  /** Calls, notifications and batches sent (a batch counts once). */
  totalRequests: number;
  /** Calls answered with a result, notifications and batches delivered. */
  successfulRequests: number;
  /** Calls that failed (remote errors included). */
  failedRequests: number;
  /** Calls that ran out of time (also failed). */
  timeoutRequests: number;
  /** Batches sent. */
  batchRequests: number;
  /** Notifications sent. */
  notificationRequests: number;
  /** Connection attempts tried again (never a delivered request). */
  retriedRequests: number;
  /** Calls refused because `maxInFlight` calls were running. */
  poolExhaustions: number;
  /** Connections opened. */
  connectionsCreated: number;
  /** Connections closed (idle timeout, purge, server close). */
  connectionsEvicted: number;
  /** Jobs still running. */
  pendingJobs: number;
  /** Jobs kept (running and finished). */
  storedJobs: number;
}

/** One member of {@linkcode JsonRpcClient.callBatch}. */
export interface JsonRpcBatchItem {
  /** The method. */
  method: string;
  /** The parameters. */
  params?: JsonRpcParams;
  /** Sent without an id: no answer is expected. */
  notification?: boolean;
}

/** The outcome of one call of a batch. */
export type JsonRpcOutcome =
  | { ok: true; result: JsonValue }
  | { ok: false; error: JsonRpcError };

/** What {@linkcode JsonRpcClient.result} says about a job. */
export type JsonRpcJobResult =
  | { done: false }
  | { done: true; result: JsonValue }
  | { done: true; error: JsonRpcError };

interface Job {
  outcome: JsonRpcJobResult;
  expiresAt: number;
}

const encoder = new TextEncoder();

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) {
    throw new RangeError(`JsonRpcClient: ${name} must be a positive number`);
  }
  return value;
}

function zeroStats(): Omit<
  JsonRpcClientStats,
  "connectionsCreated" | "connectionsEvicted" | "retriedRequests" | "pendingJobs" | "storedJobs"
> {
  return {
    totalRequests: 0,
    successfulRequests: 0,
    failedRequests: 0,
    timeoutRequests: 0,
    batchRequests: 0,
    notificationRequests: 0,
    poolExhaustions: 0,
  };
}

/**
 * A JSON-RPC 2.0 client over HTTP (the seed's JSON-RPC client).
 *
 * @example
 * ```ts ignore
 * import { JsonRpcClient, RemoteError } from "./mod.ts";
 * const rpc = new JsonRpcClient();
 * try {
 *   await rpc.call("http://127.0.0.1:8080/rpc", "nope");
 * } catch (e) {
 *   if (e instanceof RemoteError) console.log(e.rpcCode, e.message); // -32601 Method not found
 * }
 * await rpc.close();
 * ```
 */
export class JsonRpcClient implements AsyncDisposable {
  readonly #http: HttpClient;
  readonly #ownsHttp: boolean;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #headers: Record<string, string>;
  readonly #maxInFlight: number;
  readonly #jobTtlMs: number;
  readonly #maxJobs: number;
  readonly #maxResponseBytes: number;
  readonly #jobs = new Map<string, Job>();
  #stats = zeroStats();
  #baseline = { retries: 0, opened: 0, closed: 0 };
  #pendingJobs = 0;
  #inFlight = 0;
  #nextId = 1;
  #nextJob = 1;
  #jobPrefix = `${Date.now().toString(36)}-`;
  #closed = false;
  #nextSweep = 0;

  /**
   * Creates a client; no connection is made until the first call.
   *
   * @param options HTTP client, timeouts, headers, limits and job settings
   */
  constructor(options: JsonRpcClientOptions = {}) {
    this.#maxResponseBytes = positive("maxResponseBytes", options.maxResponseBytes, 16 << 20);
    this.#ownsHttp = options.httpClient === undefined;
    this.#http = options.httpClient ??
      new HttpClient({ maxResponseBytes: this.#maxResponseBytes, ...options.http });
    this.#timeoutMs = positive("timeoutMs", options.timeoutMs, 30_000);
    this.#retries = options.retries ?? 2;
    if (!Number.isInteger(this.#retries) || this.#retries < 0) {
      throw new RangeError("JsonRpcClient: retries must be an integer of 0 or more");
    }
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
    };
    for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
    if (options.bearerToken !== undefined && headers.authorization === undefined) {
      headers.authorization = `Bearer ${options.bearerToken}`;
    }
    this.#headers = headers;
    this.#maxInFlight = positive("maxInFlight", options.maxInFlight, 1024);
    this.#jobTtlMs = positive("jobTtlMs", options.jobTtlMs, 60_000);
    this.#maxJobs = positive("maxJobs", options.maxJobs, 10_000);
  }

  /**
   * Calls `method` and resolves with its result. Rejects with
   * {@linkcode RemoteError} when the server answers an error,
   * {@linkcode PoolExhaustedError} when too many calls are in flight, and
   * {@linkcode JsonRpcError} (`Timeout`, `TransportError`, `InvalidResponse`,
   * `Closed`) otherwise.
   *
   * @param endpoint the server's URL
   * @param method the method
   * @param params the parameters
   * @param headers extra header fields for this call
   * @returns the result
   */
  async call(
    endpoint: string,
    method: string,
    params?: JsonRpcParams,
    headers?: Record<string, string>,
  ): Promise<JsonValue> {
    this.#stats.totalRequests++;
    const id = this.#nextId++;
    try {
      const response = await this.#post(
        endpoint,
        encodeJsonRpcRequest(method, params, id),
        headers,
      );
      const value = this.#parse(response);
      if (!isJsonRpcResponse(value) || (value.id !== id && !(value.error && value.id === null))) {
        throw new JsonRpcError(
          RPC_INTERNAL_ERROR,
          `${endpoint}: the answer is not a JSON-RPC 2.0 response to call ${id}`,
          undefined,
          { code: "InvalidResponse" },
        );
      }
      if (value.error !== undefined) throw new RemoteError(value.error);
      this.#stats.successfulRequests++;
      return value.result as JsonValue;
    } catch (e) {
      throw this.#failed(e);
    }
  }

  /**
   * Sends a notification (no answer is read beyond the HTTP status).
   *
   * @param endpoint the server's URL
   * @param method the method
   * @param params the parameters
   * @param headers extra header fields
   */
  async notify(
    endpoint: string,
    method: string,
    params?: JsonRpcParams,
    headers?: Record<string, string>,
  ): Promise<void> {
    this.#stats.totalRequests++;
    this.#stats.notificationRequests++;
    try {
      const response = await this.#post(endpoint, encodeJsonRpcRequest(method, params), headers);
      if (!response.success()) throw this.#statusError(endpoint, response);
      this.#stats.successfulRequests++;
    } catch (e) {
      throw this.#failed(e);
    }
  }

  /**
   * Sends `items` as one batch. Resolves with one outcome per item, in the
   * items' order (undefined for notifications); rejects only when the
   * batch as a whole failed (transport, timeout, an unreadable answer).
   *
   * @param endpoint the server's URL
   * @param items the calls and notifications
   * @param headers extra header fields
   * @returns the outcomes
   */
  async callBatch(
    endpoint: string,
    items: readonly JsonRpcBatchItem[],
    headers?: Record<string, string>,
  ): Promise<(JsonRpcOutcome | undefined)[]> {
    this.#stats.totalRequests++;
    this.#stats.batchRequests++;
    try {
      if (!Array.isArray(items) || items.length === 0) {
        throw new JsonRpcError(RPC_INTERNAL_ERROR, "a batch needs at least one item", undefined, {
          code: "InvalidRequest",
        });
      }
      const ids: (number | undefined)[] = [];
      const parts: string[] = [];
      for (const item of items) {
        const id = item.notification ? undefined : this.#nextId++;
        ids.push(id);
        parts.push(encodeJsonRpcRequest(item.method, item.params, id));
      }
      const response = await this.#post(endpoint, `[${parts.join(",")}]`, headers);
      const expected = ids.some((id) => id !== undefined);
      if (!expected) {
        if (!response.success()) throw this.#statusError(endpoint, response);
        this.#stats.successfulRequests++;
        return ids.map(() => undefined);
      }
      const value = this.#parse(response);
      const byId = new Map<JsonRpcId, JsonRpcResponse>();
      let whole: RemoteError | undefined;
      if (Array.isArray(value)) {
        for (const r of value) if (isJsonRpcResponse(r)) byId.set(r.id, r);
      } else if (isJsonRpcResponse(value) && value.error !== undefined && value.id === null) {
        whole = new RemoteError(value.error); // the batch itself was refused
      } else {
        throw new JsonRpcError(
          RPC_INTERNAL_ERROR,
          `${endpoint}: the answer to a batch is not an array of responses`,
          undefined,
          { code: "InvalidResponse" },
        );
      }
      this.#stats.successfulRequests++;
      return ids.map((id): JsonRpcOutcome | undefined => {
        if (id === undefined) return undefined;
        const r = byId.get(id);
        if (r === undefined) {
          return {
            ok: false,
            error: whole ?? new JsonRpcError(
              RPC_INTERNAL_ERROR,
              `${endpoint}: no answer to call ${id} of the batch`,
              undefined,
              { code: "InvalidResponse" },
            ),
          };
        }
        return r.error !== undefined
          ? { ok: false, error: new RemoteError(r.error) }
          : { ok: true, result: r.result as JsonValue };
      });
    } catch (e) {
      throw this.#failed(e);
    }
  }

  /**
   * Starts a call and returns a job id at once; read the outcome with
   * {@linkcode JsonRpcClient.result}. Finished jobs are kept `jobTtlMs`.
   *
   * @param endpoint the server's URL
   * @param method the method
   * @param params the parameters
   * @param headers extra header fields
   * @returns the job id
   */
  callAsync(
    endpoint: string,
    method: string,
    params?: JsonRpcParams,
    headers?: Record<string, string>,
  ): string {
    return this.#startJob(this.call(endpoint, method, params, headers));
  }

  /**
   * Starts a batch as a job; its result is the array of outcomes.
   *
   * @param endpoint the server's URL
   * @param items the calls and notifications
   * @param headers extra header fields
   * @returns the job id
   */
  callBatchAsync(
    endpoint: string,
    items: readonly JsonRpcBatchItem[],
    headers?: Record<string, string>,
  ): string {
    return this.#startJob(
      this.callBatch(endpoint, items, headers).then((outcomes) =>
        outcomes.map((o): JsonValue =>
          o === undefined ? null : o.ok ? { result: o.result } : {
            error: { code: o.error.rpcCode, message: o.error.message, data: o.error.data ?? null },
          }
        )
      ),
    );
  }

  /**
   * The state of a job: `{done: false}` while it runs, then its result or
   * error. Throws `UnknownJob` for an id never issued or expired.
   *
   * @param jobId the id from `callAsync` or `callBatchAsync`
   * @returns the job's state
   */
  result(jobId: string): JsonRpcJobResult {
    this.#sweep();
    const job = this.#jobs.get(jobId);
    if (job === undefined) {
      throw new JsonRpcError(
        RPC_INTERNAL_ERROR,
        `no job ${jobId} (never started, or expired)`,
        undefined,
        {
          code: "UnknownJob",
        },
      );
    }
    return job.outcome;
  }

  /**
   * Counters since creation or the last reset.
   *
   * @returns a snapshot
   */
  getStats(): JsonRpcClientStats {
    const http = this.#http.getStats();
    return {
      ...this.#stats,
      retriedRequests: http.retries - this.#baseline.retries,
      connectionsCreated: http.connectionsOpened - this.#baseline.opened,
      connectionsEvicted: http.connectionsClosed - this.#baseline.closed,
      pendingJobs: this.#pendingJobs,
      storedJobs: this.#jobs.size,
    };
  }

  /** Zeroes the counters (jobs are kept). */
  resetStats(): void {
    this.#stats = zeroStats();
    const http = this.#http.getStats();
    this.#baseline = {
      retries: http.retries,
      opened: http.connectionsOpened,
      closed: http.connectionsClosed,
    };
  }

  /** Closes idle pooled connections. */
  purgeIdle(): void {
    this.#http.purgeIdle();
  }

  /** Closes the client (and its own HTTP client); later calls fail with `Closed`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsHttp) await this.#http.close();
  }

  /** Same as {@linkcode JsonRpcClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #post(
    endpoint: string,
    body: string,
    headers: Record<string, string> | undefined,
  ): Promise<HttpClientResponse> {
    if (this.#closed) {
      throw new JsonRpcError(RPC_INTERNAL_ERROR, "the JSON-RPC client is closed", undefined, {
        code: "Closed",
      });
    }
    if (this.#inFlight >= this.#maxInFlight) {
      this.#stats.poolExhaustions++;
      throw new PoolExhaustedError(this.#maxInFlight);
    }
    let all = this.#headers;
    if (headers !== undefined) {
      all = { ...all };
      for (const [k, v] of Object.entries(headers)) all[k.toLowerCase()] = v;
    }
    this.#inFlight++;
    try {
      return await this.#http.post(endpoint, encoder.encode(body), {
        headers: all,
        retries: this.#retries,
        timeouts: { total: this.#timeoutMs },
      });
    } finally {
      this.#inFlight--;
    }
  }

  #parse(response: HttpClientResponse): JsonValue {
    const bytes = response.bytes;
    if (bytes.length === 0 || bytes.length > this.#maxResponseBytes) {
      if (!response.success()) throw this.#statusError(response.url, response);
      throw new JsonRpcError(
        RPC_INTERNAL_ERROR,
        `${response.url}: ${
          bytes.length === 0 ? "an empty answer" : `an answer over ${this.#maxResponseBytes} bytes`
        }`,
        undefined,
        { code: "InvalidResponse" },
      );
    }
    try {
      return parseJson(bytes, { limits: { maxBytes: this.#maxResponseBytes } });
    } catch (e) {
      if (!response.success()) throw this.#statusError(response.url, response);
      throw new JsonRpcError(
        RPC_INTERNAL_ERROR,
        `${response.url}: the answer is not JSON (${(e as JsonParseError).message})`,
        undefined,
        { code: "InvalidResponse", cause: e },
      );
    }
  }

  #statusError(endpoint: string, response: HttpClientResponse): JsonRpcError {
    return new JsonRpcError(
      RPC_INTERNAL_ERROR,
      `${endpoint} answered HTTP ${response.statusCode} ${response.statusText}`,
      { status: response.statusCode },
      { code: "TransportError" },
    );
  }

  #failed(e: unknown): JsonRpcError {
    this.#stats.failedRequests++;
    if (e instanceof JsonRpcError) return e;
    if (e instanceof HttpClientError) {
      if (e.code.endsWith("Timeout")) {
        this.#stats.timeoutRequests++;
        return new JsonRpcError(RPC_TIMEOUT, e.message, undefined, { code: "Timeout", cause: e });
      }
      return new JsonRpcError(RPC_INTERNAL_ERROR, e.message, undefined, {
        code: e.code === "Closed" ? "Closed" : "TransportError",
        cause: e,
      });
    }
    return new JsonRpcError(RPC_INTERNAL_ERROR, String((e as Error)?.message ?? e), undefined, {
      code: "TransportError",
      cause: e,
    });
  }

  #startJob(work: Promise<JsonValue>): string {
    this.#sweep();
    if (this.#jobs.size >= this.#maxJobs) {
      work.catch(() => {});
      throw new JsonRpcError(
        RPC_INTERNAL_ERROR,
        `${this.#maxJobs} jobs are kept already`,
        undefined,
        {
          code: "TooManyJobs",
        },
      );
    }
    const id = `${this.#jobPrefix}${(this.#nextJob++).toString(36)}`;
    const job: Job = { outcome: { done: false }, expiresAt: Infinity };
    this.#jobs.set(id, job);
    this.#pendingJobs++;
    work.then(
      (result) => (job.outcome = { done: true, result }),
      (e) => (job.outcome = { done: true, error: this.#asError(e) }),
    ).finally(() => {
      this.#pendingJobs--;
      job.expiresAt = Date.now() + this.#jobTtlMs;
    });
    return id;
  }

  #asError(e: unknown): JsonRpcError {
    return e instanceof JsonRpcError
      ? e
      : new JsonRpcError(RPC_INTERNAL_ERROR, String(e), undefined, { code: "TransportError" });
  }

  // Expired jobs go at most once a second (or per TTL, when shorter): a read stays O(1).
  #sweep(): void {
    const now = Date.now();
    if (now < this.#nextSweep && this.#jobs.size < this.#maxJobs) return;
    this.#nextSweep = now + Math.min(1000, this.#jobTtlMs);
    for (const [id, job] of this.#jobs) if (job.expiresAt <= now) this.#jobs.delete(id);
  }
}

// HttpClient's options: its configuration with the defaults applied and
// checked, and the forms a request's options come in (an options object,
// or the seed's headers record and retries).
import { HttpHeaders } from "./message.ts";
import type { JsonConfig } from "./request.ts";
import type { PoolOptions } from "./_connection_pool.ts";
import type { HttpClientConfig, HttpRequestOptions, HttpRetryConfig } from "./client_types.ts";

const OPTION_KEYS = ["headers", "body", "signal", "retries", "timeouts"];

/** An {@linkcode HttpClientConfig} with its defaults applied. */
export interface ClientSettings {
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  requestTimeout: number;
  followRedirects: boolean;
  maxRedirects: number;
  /** The headers of every request, `user-agent` included. */
  defaultHeaders: [string, string][];
  retry: Required<HttpRetryConfig>;
  json: JsonConfig;
  /** The connection pool's options but its resolver. */
  pool: Omit<PoolOptions, "resolver">;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new RangeError(`HttpClient: ${name} must be a positive number of milliseconds`);
  }
  return value;
}

/**
 * Applies the defaults to `config` and checks it.
 *
 * @throws {RangeError} for a time or limit that is not positive, or a bad `maxRedirects`
 */
export function clientSettings(config: HttpClientConfig): ClientSettings {
  const connectTimeout = positive("connectTimeout", config.connectTimeout, 10_000);
  const headersTimeout = positive("headersTimeout", config.headersTimeout, 30_000);
  const bodyTimeout = positive("bodyTimeout", config.bodyTimeout, 30_000);
  const requestTimeout = positive("requestTimeout", config.requestTimeout, Infinity);
  const followRedirects = config.followRedirects ?? true;
  const maxRedirects = config.maxRedirects ?? 5;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) {
    throw new RangeError("HttpClient: maxRedirects must be an integer of 0 or more");
  }
  const defaults = new HttpHeaders(config.defaultHeaders);
  if (!defaults.has("user-agent")) defaults.set("user-agent", config.userAgent ?? "iora");
  const retry = config.retry === false ? { limit: 0 } : config.retry ?? {};
  const tls = config.tlsConfig;
  return {
    connectTimeout,
    headersTimeout,
    bodyTimeout,
    requestTimeout,
    followRedirects,
    maxRedirects,
    defaultHeaders: [...defaults],
    retry: {
      limit: retry.limit ?? 2,
      statusCodes: retry.statusCodes ?? [408, 429, 500, 502, 503, 504],
      backoffMs: retry.backoffMs ?? 200,
      maxDelayMs: retry.maxDelayMs ?? 30_000,
    },
    json: {
      maxPayloadSize: config.jsonConfig?.maxPayloadSize ?? 10 * 1024 * 1024,
      parseLimits: config.jsonConfig?.parseLimits ?? {},
    },
    pool: {
      transport: { ...config.transport },
      tls: tls === undefined ? undefined : {
        caFile: tls.caFile,
        certFile: tls.certFile ?? tls.clientCertFile,
        keyFile: tls.keyFile ?? tls.clientKeyFile,
        verifyPeer: tls.verifyPeer,
      },
      connectTimeoutMs: connectTimeout,
      idleTimeoutMs: positive("connectionIdleTimeout", config.connectionIdleTimeout, 4000),
      maxConnectionsPerHost: positive("maxConnectionsPerHost", config.maxConnectionsPerHost, 256),
      reuse: config.reuseConnections ?? config.enableKeepAlive ?? true,
      maxResponseBytes: positive("maxResponseBytes", config.maxResponseBytes, 64 * 1024 * 1024),
      maxHeaderBytes: positive("maxHeaderBytes", config.maxHeaderBytes, 64 * 1024),
      attemptDelayMs: 250,
    },
  };
}

function isOptions(value: object): value is HttpRequestOptions {
  const keys = Object.keys(value);
  return keys.length === 0 || keys.some((k) => OPTION_KEYS.includes(k));
}

/**
 * A request's options from what a method was given: options, or the headers (the seed's form),
 * and the seed's retries argument.
 */
export function requestOptions(
  options: HttpRequestOptions | Record<string, string> | undefined,
  retries?: number,
): HttpRequestOptions {
  const base: HttpRequestOptions = options === undefined
    ? {}
    : isOptions(options)
    ? options
    : { headers: options as Record<string, string> };
  return retries === undefined ? base : { ...base, retries };
}

/**
 * Defaults and validation of {@linkcode TransportConfig}.
 *
 * @module
 */
import { detectRuntime } from "../core/platform/mod.ts";
import type { RuntimeName } from "../core/platform/types.ts";
import { asRangeError } from "../core/errors.ts";
import {
  type BackpressurePolicy,
  type TlsConfig,
  type TransportConfig,
  TransportError,
} from "./transport.ts";

/** A {@linkcode TransportConfig} with every default applied. */
export interface ResolvedConfig {
  runtime: RuntimeName;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  highWaterMark: number;
  backpressurePolicy: BackpressurePolicy;
  maxWriteQueueBytes: number;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveDelayMs: number;
  allowHalfOpen: boolean;
  maxSessions: number;
  readBufferSize: number;
  tls: TlsConfig | undefined;
  maxDatagramSize: number;
  udpSessionIdleMs: number;
}

function check(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) {
    const message = `${name} must be a number >= ${min}, got ${value}`;
    throw asRangeError(new TransportError("InvalidArgument", message));
  }
  return value;
}

/** Applies defaults and rejects nonsense with `InvalidArgument`. */
export function resolveConfig(config: TransportConfig = {}): ResolvedConfig {
  const policy = config.backpressurePolicy ?? "wait";
  if (policy !== "wait" && policy !== "close") {
    throw asRangeError(
      new TransportError("InvalidArgument", `unknown backpressurePolicy ${String(policy)}`),
    );
  }
  const runtime = config.runtime ?? detectRuntime();
  if (runtime !== "deno" && runtime !== "node") {
    throw asRangeError(new TransportError("InvalidArgument", `unknown runtime ${String(runtime)}`));
  }
  const highWaterMark = check("highWaterMark", config.highWaterMark ?? 1024 * 1024, 1);
  return {
    runtime,
    idleTimeoutMs: check("idleTimeoutMs", config.idleTimeoutMs ?? 0, 0),
    connectTimeoutMs: check("connectTimeoutMs", config.connectTimeoutMs ?? 10_000, 1),
    highWaterMark,
    backpressurePolicy: policy,
    maxWriteQueueBytes: Math.max(
      highWaterMark,
      check("maxWriteQueueBytes", config.maxWriteQueueBytes ?? 64 * 1024 * 1024, 1),
    ),
    noDelay: config.noDelay ?? true,
    keepAlive: config.keepAlive ?? true,
    keepAliveDelayMs: check("keepAliveDelayMs", config.keepAliveDelayMs ?? 60_000, 0),
    allowHalfOpen: config.allowHalfOpen ?? false,
    maxSessions: check("maxSessions", config.maxSessions ?? 65_536, 1),
    readBufferSize: check("readBufferSize", config.readBufferSize ?? 64 * 1024, 512),
    tls: config.tls,
    maxDatagramSize: check("maxDatagramSize", config.maxDatagramSize ?? 65_507, 1),
    udpSessionIdleMs: check("udpSessionIdleMs", config.udpSessionIdleMs ?? 60_000, 1),
  };
}

/** The sweep period for an idle limit: fine enough, never busy. */
export function sweepInterval(limitMs: number): number {
  return Math.max(5, Math.min(1000, Math.floor(limitMs / 4)));
}

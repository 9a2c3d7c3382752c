/**
 * The service configuration: its shape, embedded defaults, validation with
 * clear errors naming the offending key, and loading from TOML.
 *
 * @module
 */
import { ConfigLoader } from "../core/config.ts";
import type { LogFormat, LogThreshold } from "../core/logger.ts";
import type { PermissionGrant, WorkerPermissions } from "../core/platform/mod.ts";
import type { DnsConfig } from "../dns/client.ts";
import type { HttpClientConfig, HttpClientTlsConfig } from "../http/client_types.ts";
import { parseToml } from "../parsers/toml.ts";
import { ServiceConfigError } from "./errors.ts";
import {
  DEFAULT_SANDBOX_LIMITS,
  type ModuleSpec,
  SANDBOX_SERVICES,
  type SandboxLimits,
  type SandboxServiceName,
} from "./module_spec.ts";

/** TLS files of the HTTP server. */
export interface ServiceTlsConfig {
  /** PEM certificate chain. */
  certFile: string;
  /** PEM private key. */
  keyFile: string;
  /** PEM CA bundle for client certificates (refused on Deno: see the README). */
  caFile?: string;
}

/** The HTTP server. */
export interface ServiceServerConfig {
  /** Whether the service starts a server at all (default true). */
  enabled: boolean;
  /** The address to bind; default `127.0.0.1`. */
  host: string;
  /** The port; default 8080, 0 picks a free one. */
  port: number;
  /** TLS, when set. */
  tls?: ServiceTlsConfig;
  /**
   * Serve `GET /metrics` (Prometheus text format 0.0.4, OpenMetrics when asked) and count
   * requests per route; default true.
   */
  metrics: boolean;
  /**
   * The status page `GET /_iora`: `"loopback"` (the default) serves it to clients on
   * 127.0.0.1 or ::1 only, `"on"` to everyone, `"off"` not at all.
   */
  statusPage: "off" | "loopback" | "on";
}

/** Log rotation of the log file. */
export interface ServiceLogRotationConfig {
  /** Rotate before the file exceeds this many bytes. */
  maxBytes?: number;
  /** Rotate when the UTC day changes. */
  daily?: boolean;
  /** Rotated files to keep (default 5). */
  retain?: number;
}

/** Logging. */
export interface ServiceLogConfig {
  /** The threshold; default `"info"`. */
  level: LogThreshold;
  /** A log file; when absent, logs go to the console (stderr). */
  file?: string;
  /** Line format; default `"text"` on the console, `"json"` in a file. */
  format?: LogFormat;
  /** Rotation of `file`. */
  rotation?: ServiceLogRotationConfig;
}

/** The state store. */
export interface ServiceStateConfig {
  /** The JSON file holding the state; default `iora_state.json` in the working directory. */
  file: string;
}

/** The shared in-memory cache (`IoraService.cache`). */
export interface ServiceCacheConfig {
  /** Default time to live of an entry, in milliseconds; default 300000 (5 min). */
  ttlMs: number;
  /** The most entries kept (least recently used evicted first); default 10000. */
  maxSize: number;
}

/** TLS of the service's HTTP client. */
export type ServiceHttpClientTlsConfig = Pick<
  HttpClientTlsConfig,
  "caFile" | "certFile" | "keyFile" | "verifyPeer"
>;

/** The service's HTTP client (`IoraService.httpClient`); absent keys take the client's defaults. */
export type ServiceHttpClientConfig =
  & Pick<
    HttpClientConfig,
    | "connectTimeout"
    | "headersTimeout"
    | "bodyTimeout"
    | "requestTimeout"
    | "followRedirects"
    | "maxRedirects"
    | "userAgent"
    | "reuseConnections"
    | "connectionIdleTimeout"
    | "maxConnectionsPerHost"
    | "maxResponseBytes"
    | "defaultHeaders"
    | "circuitBreaker"
  >
  & {
    /** Tries after the first for safe requests (default 2; 0 for none). */
    retryLimit?: number;
    /** TLS settings. */
    tls?: ServiceHttpClientTlsConfig;
  };

/**
 * The service's DNS client (`IoraService.dnsClient`, also the HTTP client's resolver): the
 * `DnsConfig` keys; absent keys take the client's defaults (servers from /etc/resolv.conf).
 */
export type ServiceDnsConfig = Omit<DnsConfig, "runtime">;

/**
 * Several instances as one service, through Redis (`IoraService.cluster`). Off unless `url` is
 * set; the embedded defaults need no Redis.
 */
export interface ServiceClusterConfig {
  /** The Redis URL (`redis://host:port`); unset, the service runs alone. */
  url?: string;
  /** Prefix of every key and channel (default `"iora:"`). */
  prefix?: string;
  /** Keep the state store in Redis, shared by the instances (default false: the JSON file). */
  state?: boolean;
  /** Start the cluster event bus, `cluster.events` (default false). */
  events?: boolean;
  /** The event bus's consumer group: instances of one service share it (default `"iora"`). */
  group?: string;
  /** Start the lease locks, `cluster.locks` (default false). */
  locks?: boolean;
  /**
   * A work-queue event left pending this long by an instance (it died, or its handler failed)
   * is claimed by another, in milliseconds (default 30000).
   */
  claimIdleMs?: number;
  /**
   * Register this instance in `cluster.registry` (id, name, address, port, version, exported
   * APIs, health) with a heartbeat TTL, deregistered at shutdown (default false).
   */
  registry?: boolean;
  /** The service name instances register under (default `"iora"`). */
  name?: string;
  /** The address peers reach this instance at (default `server.host`, or `127.0.0.1` for a wildcard). */
  address?: string;
  /** The version registered (default: none). */
  version?: string;
  /** An instance without a heartbeat for this long leaves the registry, in milliseconds (default 15000). */
  ttlMs?: number;
  /**
   * When Redis cannot be reached at start: `"fail"` (default) fails the start with an error
   * naming the URL; `"local"` starts alone on the embedded backends (the JSON state file, no
   * event bus, locks or registration), reports the cluster `down` with `fallback: "local"` in
   * `/health`, and does not join later: restart the instance once Redis is back.
   */
  fallback?: "fail" | "local";
}

/** Outbound HTTP. */
export interface ServiceHttpConfig {
  /** The service's HTTP client. */
  client: ServiceHttpClientConfig;
}

/** Plugins. */
export interface ServiceModulesConfig {
  /** Where relative module paths resolve; default `plugins`. */
  directory: string;
  /** Load `modules` at start-up (default true). */
  autoLoad: boolean;
  /** The modules, loaded in this order. */
  modules: ModuleSpec[];
}

/** The whole service configuration. */
export interface ServiceConfig {
  /** The HTTP server. */
  server: ServiceServerConfig;
  /** Logging. */
  log: ServiceLogConfig;
  /** The state store. */
  state: ServiceStateConfig;
  /** The shared cache. */
  cache: ServiceCacheConfig;
  /** Outbound HTTP. */
  http: ServiceHttpConfig;
  /** The DNS client. */
  dns: ServiceDnsConfig;
  /** Redis-backed cluster services. */
  cluster: ServiceClusterConfig;
  /** Plugins. */
  modules: ServiceModulesConfig;
}

/** A partial configuration, as accepted by `IoraService.init`. */
export interface ServiceConfigInput {
  /** The HTTP server. */
  server?: Partial<ServiceServerConfig>;
  /** Logging. */
  log?: Partial<ServiceLogConfig>;
  /** The state store. */
  state?: Partial<ServiceStateConfig>;
  /** The shared cache. */
  cache?: Partial<ServiceCacheConfig>;
  /** Outbound HTTP. */
  http?: Partial<ServiceHttpConfig>;
  /** The DNS client. */
  dns?: ServiceDnsConfig;
  /** Redis-backed cluster services. */
  cluster?: ServiceClusterConfig;
  /** Plugins; module entries may be bare locations. */
  modules?: Partial<Omit<ServiceModulesConfig, "modules">> & { modules?: (string | ModuleSpec)[] };
}

/**
 * The embedded defaults: 127.0.0.1:8080, console logging at info, state in
 * `iora_state.json`, a 5-minute cache of 10,000 entries, no plugins.
 *
 * @example
 * ```ts
 * import { defaultServiceConfig } from "./config.ts";
 * console.log(defaultServiceConfig().server.port); // 8080
 * ```
 *
 * @returns a fresh default configuration
 */
export function defaultServiceConfig(): ServiceConfig {
  return {
    server: {
      enabled: true,
      host: "127.0.0.1",
      port: 8080,
      metrics: true,
      statusPage: "loopback",
    },
    log: { level: "info" },
    state: { file: "iora_state.json" },
    cache: { ttlMs: 300_000, maxSize: 10_000 },
    http: { client: {} },
    dns: {},
    cluster: {},
    modules: { directory: "plugins", autoLoad: true, modules: [] },
  };
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function table(value: unknown, key: string): Table {
  if (value === undefined) return {};
  if (!isTable(value)) throw new ServiceConfigError(key, "must be a table");
  return value;
}

function checkKeys(t: Table, key: string, allowed: string[]): void {
  for (const k of Object.keys(t)) {
    if (!allowed.includes(k)) {
      throw new ServiceConfigError(
        key ? `${key}.${k}` : k,
        `unknown key (expected one of: ${allowed.join(", ")})`,
      );
    }
  }
}

function str(value: unknown, key: string, fallback: string): string;
function str(value: unknown, key: string): string | undefined;
function str(value: unknown, key: string, fallback?: string): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "") {
    throw new ServiceConfigError(key, "must be a non-empty string");
  }
  return value;
}

function bool(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new ServiceConfigError(key, "must be true or false");
  return value;
}

function int(value: unknown, key: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "bigint") value = Number(value);
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ServiceConfigError(key, `must be an integer in ${min}..${max}`);
  }
  return value;
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "off"];
const PERMISSION_KINDS = ["read", "write", "net", "env", "run", "sys", "ffi", "import"] as const;

function grant(value: unknown, key: string): PermissionGrant | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "boolean") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "string" && v !== "")) {
    return value as string[];
  }
  throw new ServiceConfigError(key, "must be true, false or a list of non-empty strings");
}

function permissions(value: unknown, key: string): WorkerPermissions | undefined {
  if (value === undefined) return undefined;
  const t = table(value, key);
  checkKeys(t, key, [...PERMISSION_KINDS]);
  const out: WorkerPermissions = {};
  for (const kind of PERMISSION_KINDS) {
    const g = grant(t[kind], `${key}.${kind}`);
    if (g !== undefined) out[kind] = g;
  }
  return out;
}

function strings(value: unknown, key: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v !== "")) {
    throw new ServiceConfigError(key, "must be a list of non-empty strings");
  }
  return value as string[];
}

// The largest value each limit accepts: beyond these a "limit" protects nothing.
const LIMIT_MAXIMA: Record<keyof SandboxLimits, number> = {
  heapMb: 65_536,
  maxMessageBytes: 1 << 30,
  maxCallsInFlight: 1_000_000,
  maxExports: 1_000_000,
  maxRoutes: 100_000,
  maxStateBytes: 2 ** 40,
  maxLogLinesPerSecond: 1_000_000,
};

function limits(value: unknown, key: string): Partial<SandboxLimits> {
  const t = table(value, key);
  const names = Object.keys(DEFAULT_SANDBOX_LIMITS) as (keyof SandboxLimits)[];
  checkKeys(t, key, names);
  const out: Partial<SandboxLimits> = {};
  for (const name of names) {
    const n = int(t[name], `${key}.${name}`, 1, LIMIT_MAXIMA[name]);
    if (n !== undefined) out[name] = n;
  }
  return out;
}

const DNS_INTEGERS = {
  timeout: [1, 3_600_000],
  tcpTimeout: [1, 3_600_000],
  retryCount: [0, 100],
  initialRetryDelay: [0, 3_600_000],
  maxRetryDelay: [0, 3_600_000],
  maxUdpSize: [512, 65_535],
  maxResolutionTime: [1, 3_600_000],
  maxCacheSize: [0, 100_000_000],
  cacheTimeout: [0, 31_536_000],
  serverDownTime: [0, 3_600_000],
  maxCnameHops: [1, 64],
  ndots: [0, 15],
  socketCount: [1, 64],
  socketIdleTimeout: [1, 3_600_000],
} as const;

function dnsConfig(t: Table): ServiceDnsConfig {
  const key = "dns";
  checkKeys(t, key, [
    ...Object.keys(DNS_INTEGERS),
    "servers",
    "search",
    "retryMultiplier",
    "jitterFactor",
    "recursionDesired",
    "enableCache",
    "rotate",
    "transportMode",
    "addressResolutionPolicy",
    "resolvConfPath",
    "hostsPath",
  ]);
  const out: ServiceDnsConfig = {};
  for (const [name, [min, max]] of Object.entries(DNS_INTEGERS)) {
    const n = int(t[name], `${key}.${name}`, min, max);
    if (n !== undefined) (out as Record<string, number>)[name] = n;
  }
  for (const name of ["servers", "search"] as const) {
    const list = strings(t[name], `${key}.${name}`);
    if (list !== undefined) out[name] = list;
  }
  for (const [name, max] of [["retryMultiplier", 100], ["jitterFactor", 1]] as const) {
    const value = t[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value >= 0 && value <= max)) {
      throw new ServiceConfigError(`${key}.${name}`, `must be a number in 0..${max}`);
    }
    out[name] = value;
  }
  for (const name of ["recursionDesired", "enableCache", "rotate"] as const) {
    if (t[name] !== undefined) out[name] = bool(t[name], `${key}.${name}`, true);
  }
  const oneOf = <T extends string>(name: string, values: readonly T[]): T | undefined => {
    const value = t[name];
    if (value === undefined) return undefined;
    if (!values.includes(value as T)) {
      throw new ServiceConfigError(`${key}.${name}`, `must be one of: ${values.join(", ")}`);
    }
    return value as T;
  };
  const mode = oneOf("transportMode", ["UDP", "TCP", "Both"] as const);
  if (mode !== undefined) out.transportMode = mode;
  const policy = oneOf(
    "addressResolutionPolicy",
    ["IPv4Only", "IPv6Only", "IPv4First", "IPv6First"] as const,
  );
  if (policy !== undefined) out.addressResolutionPolicy = policy;
  const resolvConf = str(t.resolvConfPath, `${key}.resolvConfPath`);
  if (resolvConf !== undefined) out.resolvConfPath = resolvConf;
  const hosts = str(t.hostsPath, `${key}.hostsPath`);
  if (hosts !== undefined) out.hostsPath = hosts;
  return out;
}

const CLIENT_TIMES = [
  "connectTimeout",
  "headersTimeout",
  "bodyTimeout",
  "requestTimeout",
  "connectionIdleTimeout",
] as const;

function httpClient(t: Table): ServiceHttpClientConfig {
  const key = "http.client";
  checkKeys(t, key, [
    ...CLIENT_TIMES,
    "followRedirects",
    "maxRedirects",
    "userAgent",
    "reuseConnections",
    "maxConnectionsPerHost",
    "maxResponseBytes",
    "retryLimit",
    "defaultHeaders",
    "tls",
    "circuitBreaker",
  ]);
  const out: ServiceHttpClientConfig = {};
  for (const name of CLIENT_TIMES) {
    const ms = int(t[name], `${key}.${name}`, 1, 86_400_000);
    if (ms !== undefined) out[name] = ms;
  }
  if (t.followRedirects !== undefined) {
    out.followRedirects = bool(t.followRedirects, `${key}.followRedirects`, true);
  }
  const redirects = int(t.maxRedirects, `${key}.maxRedirects`, 0, 100);
  if (redirects !== undefined) out.maxRedirects = redirects;
  const agent = str(t.userAgent, `${key}.userAgent`);
  if (agent !== undefined) out.userAgent = agent;
  if (t.reuseConnections !== undefined) {
    out.reuseConnections = bool(t.reuseConnections, `${key}.reuseConnections`, true);
  }
  const perHost = int(t.maxConnectionsPerHost, `${key}.maxConnectionsPerHost`, 1, 100_000);
  if (perHost !== undefined) out.maxConnectionsPerHost = perHost;
  const bytes = int(t.maxResponseBytes, `${key}.maxResponseBytes`, 1, Number.MAX_SAFE_INTEGER);
  if (bytes !== undefined) out.maxResponseBytes = bytes;
  const retries = int(t.retryLimit, `${key}.retryLimit`, 0, 100);
  if (retries !== undefined) out.retryLimit = retries;
  if (t.defaultHeaders !== undefined) {
    const headers = table(t.defaultHeaders, `${key}.defaultHeaders`);
    for (const [name, value] of Object.entries(headers)) {
      str(value, `${key}.defaultHeaders.${name}`);
    }
    out.defaultHeaders = headers as Record<string, string>;
  }
  if (t.tls !== undefined) {
    const tls = table(t.tls, `${key}.tls`);
    checkKeys(tls, `${key}.tls`, ["caFile", "certFile", "keyFile", "verifyPeer"]);
    out.tls = {};
    for (const name of ["caFile", "certFile", "keyFile"] as const) {
      const path = str(tls[name], `${key}.tls.${name}`);
      if (path !== undefined) out.tls[name] = path;
    }
    if (tls.verifyPeer !== undefined) {
      out.tls.verifyPeer = bool(tls.verifyPeer, `${key}.tls.verifyPeer`, true);
    }
  }
  if (t.circuitBreaker !== undefined) {
    const cb = table(t.circuitBreaker, `${key}.circuitBreaker`);
    const names = ["failureThreshold", "timeoutMs", "successThreshold"] as const;
    checkKeys(cb, `${key}.circuitBreaker`, [...names]);
    out.circuitBreaker = {};
    for (const name of names) {
      const n = int(cb[name], `${key}.circuitBreaker.${name}`, 1, 86_400_000);
      if (n !== undefined) out.circuitBreaker[name] = n;
    }
  }
  return out;
}

function moduleSpec(value: unknown, key: string): ModuleSpec {
  if (typeof value === "string") {
    if (value === "") throw new ServiceConfigError(key, "must be a non-empty string");
    return { url: value };
  }
  const t = table(value, key);
  checkKeys(t, key, [
    "url",
    "name",
    "sandbox",
    "isolation",
    "permissions",
    "services",
    "apis",
    "namespaces",
    "routePrefixes",
    "root",
    "limits",
    "timeoutMs",
    "allowUnsandboxed",
    "options",
  ]);
  const url = str(t.url, `${key}.url`);
  if (url === undefined) throw new ServiceConfigError(`${key}.url`, "is required");
  const spec: ModuleSpec = { url };
  const name = str(t.name, `${key}.name`);
  if (name !== undefined) spec.name = name;
  if (t.sandbox !== undefined) spec.sandbox = bool(t.sandbox, `${key}.sandbox`, false);
  const perms = permissions(t.permissions, `${key}.permissions`);
  if (perms !== undefined) spec.permissions = perms;
  if (t.services !== undefined) {
    if (
      !Array.isArray(t.services) ||
      !t.services.every((s) => (SANDBOX_SERVICES as readonly string[]).includes(s))
    ) {
      throw new ServiceConfigError(
        `${key}.services`,
        `must be a list of: ${SANDBOX_SERVICES.join(", ")}`,
      );
    }
    spec.services = t.services as SandboxServiceName[];
  }
  if (t.isolation !== undefined) {
    if (t.isolation !== "process" && t.isolation !== "worker") {
      throw new ServiceConfigError(`${key}.isolation`, `must be "process" or "worker"`);
    }
    spec.isolation = t.isolation;
  }
  const apis = strings(t.apis, `${key}.apis`);
  if (apis !== undefined) spec.apis = apis;
  const namespaces = strings(t.namespaces, `${key}.namespaces`);
  if (namespaces !== undefined) spec.namespaces = namespaces;
  const prefixes = strings(t.routePrefixes, `${key}.routePrefixes`);
  if (prefixes !== undefined) {
    if (!prefixes.every((p) => p.startsWith("/"))) {
      throw new ServiceConfigError(`${key}.routePrefixes`, "each prefix must start with /");
    }
    spec.routePrefixes = prefixes;
  }
  const root = str(t.root, `${key}.root`);
  if (root !== undefined) spec.root = root;
  if (t.limits !== undefined) spec.limits = limits(t.limits, `${key}.limits`);
  const timeout = int(t.timeoutMs, `${key}.timeoutMs`, 1, 3_600_000);
  if (timeout !== undefined) spec.timeoutMs = timeout;
  if (t.allowUnsandboxed !== undefined) {
    spec.allowUnsandboxed = bool(t.allowUnsandboxed, `${key}.allowUnsandboxed`, false);
  }
  if (t.options !== undefined) spec.options = table(t.options, `${key}.options`);
  return spec;
}

/**
 * Validates a configuration object (from TOML, JSON or code) over the
 * defaults. Unknown keys and wrong types are refused with a
 * {@linkcode ServiceConfigError} naming the key. A top-level `iora` table
 * (the seed's `iora.server.port` style) is accepted too.
 *
 * @example
 * ```ts
 * import { parseServiceConfig } from "./config.ts";
 * const config = parseServiceConfig({ server: { port: 9000 }, modules: { modules: ["kv.ts"] } });
 * console.log(config.server.port, config.modules.modules[0].url); // 9000 "kv.ts"
 * ```
 *
 * @param input the configuration object
 * @returns the full, validated configuration
 */
export function parseServiceConfig(input: unknown): ServiceConfig {
  let root = table(input, "(root)");
  if (isTable(root.iora) && Object.keys(root).length === 1) root = root.iora;
  checkKeys(root, "", ["server", "log", "state", "cache", "http", "dns", "cluster", "modules"]);
  const config = defaultServiceConfig();

  const server = table(root.server, "server");
  checkKeys(server, "server", ["enabled", "host", "port", "tls", "metrics", "statusPage"]);
  config.server.metrics = bool(server.metrics, "server.metrics", true);
  const page = str(server.statusPage, "server.statusPage", "loopback");
  if (page !== "off" && page !== "loopback" && page !== "on") {
    throw new ServiceConfigError("server.statusPage", `must be "off", "loopback" or "on"`);
  }
  config.server.statusPage = page;
  config.server.enabled = bool(server.enabled, "server.enabled", true);
  config.server.host = str(server.host, "server.host", config.server.host);
  config.server.port = int(server.port, "server.port", 0, 65535) ?? config.server.port;
  if (server.tls !== undefined) {
    const tls = table(server.tls, "server.tls");
    checkKeys(tls, "server.tls", ["certFile", "keyFile", "caFile"]);
    const certFile = str(tls.certFile, "server.tls.certFile");
    const keyFile = str(tls.keyFile, "server.tls.keyFile");
    if (certFile === undefined || keyFile === undefined) {
      throw new ServiceConfigError("server.tls", "needs both certFile and keyFile");
    }
    config.server.tls = { certFile, keyFile };
    const caFile = str(tls.caFile, "server.tls.caFile");
    if (caFile !== undefined) config.server.tls.caFile = caFile;
  }

  const log = table(root.log, "log");
  checkKeys(log, "log", ["level", "file", "format", "rotation"]);
  if (log.level !== undefined) {
    if (!LEVELS.includes(log.level as string)) {
      throw new ServiceConfigError("log.level", `must be one of: ${LEVELS.join(", ")}`);
    }
    config.log.level = log.level as LogThreshold;
  }
  const file = str(log.file, "log.file");
  if (file !== undefined) config.log.file = file;
  if (log.format !== undefined) {
    if (log.format !== "text" && log.format !== "json") {
      throw new ServiceConfigError("log.format", `must be "text" or "json"`);
    }
    config.log.format = log.format;
  }
  if (log.rotation !== undefined) {
    const r = table(log.rotation, "log.rotation");
    checkKeys(r, "log.rotation", ["maxBytes", "daily", "retain"]);
    config.log.rotation = {};
    const maxBytes = int(r.maxBytes, "log.rotation.maxBytes", 1, Number.MAX_SAFE_INTEGER);
    if (maxBytes !== undefined) config.log.rotation.maxBytes = maxBytes;
    if (r.daily !== undefined) {
      config.log.rotation.daily = bool(r.daily, "log.rotation.daily", false);
    }
    const retain = int(r.retain, "log.rotation.retain", 0, 10_000);
    if (retain !== undefined) config.log.rotation.retain = retain;
  }

  const state = table(root.state, "state");
  checkKeys(state, "state", ["file"]);
  config.state.file = str(state.file, "state.file", config.state.file);

  const cache = table(root.cache, "cache");
  checkKeys(cache, "cache", ["ttlMs", "maxSize"]);
  config.cache.ttlMs = int(cache.ttlMs, "cache.ttlMs", 1, Number.MAX_SAFE_INTEGER) ??
    config.cache.ttlMs;
  config.cache.maxSize = int(cache.maxSize, "cache.maxSize", 1, 100_000_000) ??
    config.cache.maxSize;

  const http = table(root.http, "http");
  checkKeys(http, "http", ["client"]);
  config.http.client = httpClient(table(http.client, "http.client"));

  config.dns = dnsConfig(table(root.dns, "dns"));

  const cluster = table(root.cluster, "cluster");
  checkKeys(cluster, "cluster", [
    "url",
    "prefix",
    "state",
    "events",
    "group",
    "locks",
    "claimIdleMs",
    "registry",
    "name",
    "address",
    "version",
    "ttlMs",
    "fallback",
  ]);
  for (const name of ["url", "prefix", "group", "name", "address", "version"] as const) {
    const value = str(cluster[name], `cluster.${name}`);
    if (value !== undefined) config.cluster[name] = value;
  }
  if (config.cluster.url !== undefined && !/^rediss?:\/\//.test(config.cluster.url)) {
    throw new ServiceConfigError("cluster.url", "must be a redis:// or rediss:// URL");
  }
  for (const name of ["state", "events", "locks", "registry"] as const) {
    if (cluster[name] !== undefined) {
      config.cluster[name] = bool(cluster[name], `cluster.${name}`, false);
    }
  }
  const fallback = str(cluster.fallback, "cluster.fallback");
  if (fallback !== undefined) {
    if (fallback !== "fail" && fallback !== "local") {
      throw new ServiceConfigError("cluster.fallback", `must be "fail" or "local"`);
    }
    config.cluster.fallback = fallback;
  }
  for (const name of ["claimIdleMs", "ttlMs"] as const) {
    const value = int(cluster[name], `cluster.${name}`, 10, 86_400_000);
    if (value !== undefined) config.cluster[name] = value;
  }

  const modules = table(root.modules, "modules");
  checkKeys(modules, "modules", ["directory", "autoLoad", "modules"]);
  config.modules.directory = str(modules.directory, "modules.directory", config.modules.directory);
  config.modules.autoLoad = bool(modules.autoLoad, "modules.autoLoad", true);
  if (modules.modules !== undefined) {
    if (!Array.isArray(modules.modules)) {
      throw new ServiceConfigError("modules.modules", "must be a list");
    }
    config.modules.modules = modules.modules.map((m, i) => moduleSpec(m, `modules.modules[${i}]`));
  }
  return config;
}

/**
 * Reads and validates a TOML configuration file through a
 * {@linkcode ConfigLoader}, so environment overrides apply
 * (`IORA__SERVER__PORT=9000`). Relative paths inside it (`log.file`,
 * `state.file`, `modules.directory`, TLS files) are kept as written: they
 * resolve against the working directory.
 *
 * @example
 * ```ts ignore
 * import { loadServiceConfig } from "./config.ts";
 * const config = await loadServiceConfig("config/iora.toml");
 * ```
 *
 * @param path the TOML file
 * @param loader the loader to use (kept by `IoraService` as its `configLoader`)
 * @returns the validated configuration
 */
export async function loadServiceConfig(
  path: string,
  loader: ConfigLoader = new ConfigLoader(),
): Promise<ServiceConfig> {
  const config = await loader.load(path);
  return parseServiceConfig(config.toObject());
}

/**
 * Parses and validates TOML configuration text.
 *
 * @example
 * ```ts
 * import { parseServiceConfigText } from "./config.ts";
 * const config = parseServiceConfigText("[server]\nport = 9090\n");
 * console.log(config.server.port); // 9090
 * ```
 *
 * @param text the TOML text
 * @param source where it came from, for error messages
 * @returns the validated configuration
 */
export function parseServiceConfigText(text: string, source = "<config>"): ServiceConfig {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    throw new ServiceConfigError(source, (error as Error).message, { cause: error });
  }
  return parseServiceConfig(raw);
}

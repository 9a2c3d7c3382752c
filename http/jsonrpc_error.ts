/**
 * The errors of Iora's JSON-RPC 2.0 server and client: {@linkcode JsonRpcError}
 * carries the wire error object (`rpcCode`, `message`, `data`) and a stable
 * string `code` like every Iora error; {@linkcode InvalidParamsError},
 * {@linkcode RemoteError} and {@linkcode PoolExhaustedError} are its kinds
 * that callers most often tell apart.
 *
 * @example
 * ```ts
 * import { InvalidParamsError, JsonRpcError, RPC_INVALID_PARAMS } from "./jsonrpc_error.ts";
 * const e = new InvalidParamsError("a must be a number", { got: "x" });
 * console.log(e instanceof JsonRpcError, e.rpcCode === RPC_INVALID_PARAMS, e.toErrorObject());
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";
import type { JsonValue } from "../parsers/json.ts";

/** −32700: the body is not JSON. */
export const RPC_PARSE_ERROR: number = -32700;
/** −32600: the JSON is not a valid request object (or breaks a limit). */
export const RPC_INVALID_REQUEST: number = -32600;
/** −32601: no such method. */
export const RPC_METHOD_NOT_FOUND: number = -32601;
/** −32602: the method's parameters are invalid. */
export const RPC_INVALID_PARAMS: number = -32602;
/** −32603: the server failed (details are logged, never sent). */
export const RPC_INTERNAL_ERROR: number = -32603;
/** −32000: the method ran past its timeout. */
export const RPC_TIMEOUT: number = -32000;
/** −32001: the method requires authentication that the request lacks. */
export const RPC_UNAUTHORIZED: number = -32001;
/** −32002: too many requests (rate limit or calls in flight). */
export const RPC_RATE_LIMITED: number = -32002;

/** The stable kinds of {@linkcode JsonRpcError}. */
export type JsonRpcErrorCode =
  /** −32700 */
  | "ParseError"
  /** −32600 */
  | "InvalidRequest"
  /** −32601 */
  | "MethodNotFound"
  /** −32602 */
  | "InvalidParams"
  /** −32603 */
  | "InternalError"
  /** −32000 */
  | "Timeout"
  /** −32001 */
  | "Unauthorized"
  /** −32002 */
  | "RateLimited"
  /** Any other code a handler or a remote server chose. */
  | "ServerError"
  /** Client: the server answered with an error object. */
  | "RemoteError"
  /** Client: too many calls in flight on this client. */
  | "PoolExhausted"
  /** Client: the HTTP exchange failed (connect, closed connection, bad status, bad body). */
  | "TransportError"
  /** Client: the answer is not a JSON-RPC 2.0 response to the request sent. */
  | "InvalidResponse"
  /** Client: no such job (never created, or expired). */
  | "UnknownJob"
  /** Client: the job table is full. */
  | "TooManyJobs"
  /** Client: the client was closed. */
  | "Closed"
  /** A method name, handler or option that cannot be registered. */
  | "InvalidRegistration";

/** A JSON-RPC 2.0 error object as it travels. */
export interface JsonRpcErrorObject {
  /** The numeric error code. */
  code: number;
  /** A short description. */
  message: string;
  /** Optional detail. */
  data?: JsonValue;
}

const KIND_OF: Record<number, JsonRpcErrorCode> = {
  [RPC_PARSE_ERROR]: "ParseError",
  [RPC_INVALID_REQUEST]: "InvalidRequest",
  [RPC_METHOD_NOT_FOUND]: "MethodNotFound",
  [RPC_INVALID_PARAMS]: "InvalidParams",
  [RPC_INTERNAL_ERROR]: "InternalError",
  [RPC_TIMEOUT]: "Timeout",
  [RPC_UNAUTHORIZED]: "Unauthorized",
  [RPC_RATE_LIMITED]: "RateLimited",
};

/**
 * The kind a numeric JSON-RPC code stands for.
 *
 * @example
 * ```ts
 * import { kindOfRpcCode } from "./jsonrpc_error.ts";
 * console.log(kindOfRpcCode(-32601)); // "MethodNotFound"
 * ```
 *
 * @param rpcCode the wire code
 * @returns its kind, `"ServerError"` for codes without a name
 */
export function kindOfRpcCode(rpcCode: number): JsonRpcErrorCode {
  return KIND_OF[rpcCode] ?? "ServerError";
}

/**
 * A JSON-RPC error. Thrown by a server-side handler, it is sent as is
 * (`rpcCode`, `message`, `data`): throw it for errors the caller may see.
 * Any other exception is answered −32603 "Internal error" with no detail.
 *
 * @example
 * ```ts
 * import { JsonRpcError } from "./jsonrpc_error.ts";
 * const e = new JsonRpcError(-32010, "quota used up", { retryAfterS: 60 });
 * console.log(e.code, e.rpcCode, JSON.stringify(e.toErrorObject()));
 * ```
 */
export class JsonRpcError extends IoraError {
  /** The stable kind. */
  declare readonly code: JsonRpcErrorCode;
  /** The numeric JSON-RPC code on the wire. */
  readonly rpcCode: number;
  /** The error object's `data`, when it has one. */
  readonly data: JsonValue | undefined;

  /**
   * Creates the error.
   *
   * @param rpcCode the numeric JSON-RPC code
   * @param message the message (sent to the caller)
   * @param data optional detail (sent to the caller)
   * @param options `cause`, and `code` to choose the kind (default: from `rpcCode`)
   */
  constructor(
    rpcCode: number,
    message: string,
    data?: JsonValue,
    options?: ErrorOptions & { code?: JsonRpcErrorCode },
  ) {
    super(options?.code ?? kindOfRpcCode(rpcCode), message, options);
    this.rpcCode = rpcCode;
    this.data = data;
  }

  /**
   * The wire form.
   *
   * @returns `{ code, message, data? }`
   */
  toErrorObject(): JsonRpcErrorObject {
    return this.data === undefined
      ? { code: this.rpcCode, message: this.message }
      : { code: this.rpcCode, message: this.message, data: this.data };
  }
}

/**
 * Thrown by a handler whose parameters are wrong: answered −32602.
 *
 * @example
 * ```ts
 * import { InvalidParamsError } from "./jsonrpc_error.ts";
 * const add = (params: unknown) => {
 *   if (!Array.isArray(params)) throw new InvalidParamsError("expected [a, b]");
 *   return params.length;
 * };
 * console.log(add([1, 2]));
 * ```
 */
export class InvalidParamsError extends JsonRpcError {
  /**
   * Creates the error.
   *
   * @param message what is wrong with the parameters (sent to the caller)
   * @param data optional detail
   */
  constructor(message = "Invalid params", data?: JsonValue) {
    super(RPC_INVALID_PARAMS, message, data);
  }
}

/**
 * Client side: the server answered the call with an error object
 * (`rpcCode`, `message`, `data` are the server's).
 *
 * @example
 * ```ts
 * import { RemoteError } from "./jsonrpc_error.ts";
 * const e = new RemoteError({ code: -32601, message: "Method not found" });
 * console.log(e.code, e.rpcCode, e.remoteKind); // RemoteError -32601 MethodNotFound
 * ```
 */
export class RemoteError extends JsonRpcError {
  /** The kind of the server's code (`"MethodNotFound"`, `"Timeout"`...). */
  readonly remoteKind: JsonRpcErrorCode;

  /**
   * Wraps the server's error object.
   *
   * @param error the error object received
   */
  constructor(error: JsonRpcErrorObject) {
    super(error.code, error.message, error.data, { code: "RemoteError" });
    this.remoteKind = kindOfRpcCode(error.code);
  }
}

/**
 * Client side: the call was refused because the client already has its
 * limit of calls in flight (`maxInFlight`).
 *
 * @example
 * ```ts
 * import { PoolExhaustedError } from "./jsonrpc_error.ts";
 * console.log(new PoolExhaustedError(256).message);
 * ```
 */
export class PoolExhaustedError extends JsonRpcError {
  /**
   * Creates the error.
   *
   * @param limit the limit that was reached
   */
  constructor(limit: number) {
    super(RPC_RATE_LIMITED, `${limit} calls already in flight on this client`, { limit }, {
      code: "PoolExhausted",
    });
  }
}

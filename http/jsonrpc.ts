/**
 * The JSON-RPC 2.0 wire shapes shared by {@linkcode JsonRpcServer} and
 * {@linkcode JsonRpcClient}: ids, parameters, request and response
 * objects, and the encoding of requests and responses as text.
 *
 * @example
 * ```ts
 * import { encodeJsonRpcRequest, isJsonRpcResponse } from "./jsonrpc.ts";
 * console.log(encodeJsonRpcRequest("subtract", [42, 23], 1));
 * // {"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}
 * console.log(isJsonRpcResponse({ jsonrpc: "2.0", result: 19, id: 1 })); // true
 * ```
 *
 * @module
 */
import { type JsonValue, stringifyJson } from "../parsers/json.ts";
import type { JsonRpcErrorObject } from "./jsonrpc_error.ts";

/** A request id: a string, a number or null (notifications have none). */
export type JsonRpcId = string | number | null;

/** Parameters: by position (an array) or by name (an object). */
export type JsonRpcParams = JsonValue[] | { [name: string]: JsonValue };

/** A request object (a notification when `id` is absent). */
export interface JsonRpcRequest {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** The method name. */
  method: string;
  /** The parameters, when there are any. */
  params?: JsonRpcParams;
  /** The id; absent for a notification. */
  id?: JsonRpcId;
}

/** A response object: `result` on success, `error` on failure. */
export interface JsonRpcResponse {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** The result, on success. */
  result?: JsonValue;
  /** The error, on failure. */
  error?: JsonRpcErrorObject;
  /** The id of the request answered (null when it could not be read). */
  id: JsonRpcId;
}

/**
 * Writes `value` as JSON text: `JSON.stringify` first (fast), Iora's
 * `stringifyJson` for what it cannot write (bigint, exact raw numbers).
 * Throws for values that are no JSON (cycles, symbols).
 *
 * @example
 * ```ts
 * import { jsonText } from "./jsonrpc.ts";
 * console.log(jsonText({ n: 10n ** 20n }), jsonText(undefined)); // {"n":100000000000000000000} null
 * ```
 *
 * @param value the value
 * @returns its JSON text
 */
export function jsonText(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? "null" : text;
  } catch {
    return stringifyJson(value as JsonValue);
  }
}

/**
 * The text of an id.
 *
 * @example
 * ```ts
 * import { idText } from "./jsonrpc.ts";
 * console.log(idText("a"), idText(1), idText(null)); // "a" 1 null
 * ```
 *
 * @param id the id
 * @returns its JSON text
 */
export function idText(id: JsonRpcId): string {
  return typeof id === "string" ? JSON.stringify(id) : id === null ? "null" : String(id);
}

/**
 * Encodes one request (a notification when `id` is undefined).
 *
 * @example
 * ```ts
 * import { encodeJsonRpcRequest } from "./jsonrpc.ts";
 * console.log(encodeJsonRpcRequest("update", [1, 2, 3])); // a notification
 * ```
 *
 * @param method the method name
 * @param params the parameters (omitted when undefined)
 * @param id the id; undefined for a notification
 * @returns the JSON text
 */
export function encodeJsonRpcRequest(
  method: string,
  params?: JsonRpcParams,
  id?: JsonRpcId,
): string {
  let out = `{"jsonrpc":"2.0","method":${JSON.stringify(method)}`;
  if (params !== undefined) out += `,"params":${jsonText(params)}`;
  if (id !== undefined) out += `,"id":${idText(id)}`;
  return out + "}";
}

/**
 * Encodes a success response.
 *
 * @example
 * ```ts
 * import { encodeJsonRpcResult } from "./jsonrpc.ts";
 * console.log(encodeJsonRpcResult(19, 1)); // {"jsonrpc":"2.0","result":19,"id":1}
 * ```
 *
 * @param result the result (undefined is written as null)
 * @param id the request's id
 * @returns the JSON text; throws when `result` is no JSON value
 */
export function encodeJsonRpcResult(result: unknown, id: JsonRpcId): string {
  return `{"jsonrpc":"2.0","result":${jsonText(result)},"id":${idText(id)}}`;
}

/**
 * Encodes an error response. A `data` that cannot be written is left out.
 *
 * @example
 * ```ts
 * import { encodeJsonRpcError } from "./jsonrpc.ts";
 * console.log(encodeJsonRpcError({ code: -32601, message: "Method not found" }, "1"));
 * ```
 *
 * @param error the error object
 * @param id the request's id (null when it could not be read)
 * @returns the JSON text
 */
export function encodeJsonRpcError(error: JsonRpcErrorObject, id: JsonRpcId): string {
  let data = "";
  if (error.data !== undefined) {
    try {
      data = `,"data":${jsonText(error.data)}`;
    } catch {
      data = "";
    }
  }
  return `{"jsonrpc":"2.0","error":{"code":${error.code},"message":${
    JSON.stringify(String(error.message))
  }${data}},"id":${idText(id)}}`;
}

/**
 * True for a valid id value.
 *
 * @example
 * ```ts
 * import { isJsonRpcId } from "./jsonrpc.ts";
 * console.log(isJsonRpcId(1), isJsonRpcId(null), isJsonRpcId({})); // true true false
 * ```
 *
 * @param value anything
 * @returns whether it is a string, a finite number or null
 */
export function isJsonRpcId(value: unknown): value is JsonRpcId {
  return value === null || typeof value === "string" ||
    (typeof value === "number" && Number.isFinite(value));
}

/**
 * True for a JSON-RPC 2.0 response object (a `result` or an `error` with a
 * numeric code and a string message, and an id).
 *
 * @example
 * ```ts
 * import { isJsonRpcResponse } from "./jsonrpc.ts";
 * console.log(isJsonRpcResponse({ jsonrpc: "2.0", error: { code: 1, message: "x" }, id: null }));
 * ```
 *
 * @param value a parsed value
 * @returns whether it is a response object
 */
export function isJsonRpcResponse(value: unknown): value is JsonRpcResponse {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const r = value as Record<string, unknown>;
  if (r.jsonrpc !== "2.0" || !("id" in r) || !isJsonRpcId(r.id)) return false;
  const hasResult = "result" in r;
  const hasError = "error" in r;
  if (hasResult === hasError) return false;
  if (hasResult) return true;
  const e = r.error as Record<string, unknown> | null;
  return typeof e === "object" && e !== null && typeof e.code === "number" &&
    typeof e.message === "string";
}

/**
 * Iora's parsers: strict JSON with limits and positions, incremental JSON streams, strict
 * XML 1.0 (pull, SAX and DOM over one tokenizer) and a TOML facade.
 *
 * @example
 * ```ts
 * import { parseJson, stringifyJson } from "./mod.ts";
 * const v = parseJson('{"b": 1, "a": 2}');
 * console.log(stringifyJson(v, { indent: 2, sortKeys: true }));
 * ```
 *
 * @module
 */
export { IoraError } from "../core/errors.ts";
export {
  DEFAULT_JSON_LIMITS,
  JsonParseError,
  JsonRawNumber,
  JsonStringifyError,
  parseJson,
  stringifyJson,
  tryParseJson,
} from "./json.ts";
export type {
  JsonLimits,
  JsonParseErrorCode,
  JsonParseOptions,
  JsonParseResult,
  JsonStringifyErrorCode,
  JsonStringifyOptions,
  JsonValue,
} from "./json.ts";
export { parseToml, stringifyToml, TomlParseError } from "./toml.ts";
export type { TomlTable } from "./toml.ts";
export * from "./xml/mod.ts";
export { JsonStreamParser } from "./json_stream.ts";
export type { JsonStreamItem, JsonStreamOptions, JsonStreamToken } from "./json_stream.ts";

/**
 * TOML 1.0 through `smol-toml`, with Iora's typed error carrying line and column.
 *
 * @module
 */
import { parse as smolParse, stringify as smolStringify, TomlError } from "smol-toml";
import { IoraError } from "../core/errors.ts";

/** A TOML table as plain data (dates and times are `Date` objects). */
export type TomlTable = Record<string, unknown>;

/**
 * A malformed TOML document, with the 1-based position of the problem.
 *
 * @example
 * ```ts
 * import { parseToml, TomlParseError } from "./toml.ts";
 * try {
 *   parseToml("a = ");
 * } catch (e) {
 *   if (e instanceof TomlParseError) console.log(e.line, e.column);
 * }
 * ```
 */
export class TomlParseError extends IoraError {
  /** Always `"InvalidToml"`. */
  declare readonly code: "InvalidToml";
  /** 1-based line of the problem. */
  readonly line: number;
  /** 1-based column of the problem. */
  readonly column: number;
  /** The lines around the problem with a caret, for humans. */
  readonly codeblock: string;

  /**
   * Creates the error.
   *
   * @param message what is wrong
   * @param line 1-based line
   * @param column 1-based column
   * @param codeblock the excerpt with a caret
   * @param options standard error options (`cause`)
   */
  constructor(
    message: string,
    line: number,
    column: number,
    codeblock: string,
    options?: ErrorOptions,
  ) {
    super("InvalidToml", message, options);
    this.line = line;
    this.column = column;
    this.codeblock = codeblock;
  }
}

/**
 * Parses a TOML document into a plain table.
 *
 * @param text the TOML source
 * @returns the root table
 * @throws {TomlParseError} when the document is not valid TOML
 *
 * @example
 * ```ts
 * import { parseToml } from "./toml.ts";
 * const cfg = parseToml('[server]\nport = 8080') as { server: { port: number } };
 * console.log(cfg.server.port); // 8080
 * ```
 */
export function parseToml(text: string): TomlTable {
  try {
    // Integers beyond 2^53 come back as bigint: never silently rounded.
    return smolParse(text, { integersAsBigInt: "asNeeded" }) as TomlTable;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0];
      throw new TomlParseError(first, e.line, e.column, e.codeblock, { cause: e });
    }
    throw e;
  }
}

/**
 * Writes a plain table as TOML.
 *
 * @param table the root table (values: strings, numbers, bigints, booleans, dates, arrays,
 *   tables)
 * @returns the TOML text
 *
 * @example
 * ```ts
 * import { stringifyToml } from "./toml.ts";
 * console.log(stringifyToml({ server: { port: 8080 } }));
 * ```
 */
export function stringifyToml(table: TomlTable): string {
  return smolStringify(table);
}

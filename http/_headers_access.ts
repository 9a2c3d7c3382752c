/**
 * The operations on {@linkcode HttpHeaders}' private fields that the rest of
 * `http/` needs (the parser adds validated fields without checking them again,
 * the response writer lays the fields out in its buffer). They are not methods
 * of the class, so users never see them: the class fills this table in from
 * its static block, the only code that can reach its `#` fields.
 *
 * Typed over the headers class so that this module imports nothing (the class
 * imports it): a user writes `HEADERS as HeaderInternals<HttpHeaders>`.
 *
 * @module
 */

/** What {@linkcode HEADERS} holds once `message.ts` is loaded. */
export interface HeaderInternals<H> {
  /** `set` for a name known to be a lower-case token; the value is still validated. */
  setLower(headers: H, lower: string, value: string): void;
  /** `set` for a field the caller knows is valid (a constant). */
  setTrusted(headers: H, lower: string, value: string): void;
  /** Adds a field the parser already validated (lower-cased name). */
  appendTrusted(headers: H, lower: string, value: string): void;
  /** The fields as `name: value` lines (CRLF-terminated), without the framing fields. */
  serializeExceptFraming(headers: H): string;
  /** The byte length of `writeExceptFraming`'s output. */
  lengthExceptFraming(headers: H): number;
  /**
   * Writes the `serializeExceptFraming` lines as latin1 bytes into `out` at `at`; returns the
   * end offset.
   */
  writeExceptFraming(headers: H, out: Uint8Array, at: number): number;
}

function unset(): never {
  throw new Error("http/message.ts is not loaded");
}

/** The table, filled in by `HttpHeaders`' static block. */
export const HEADERS: HeaderInternals<unknown> = {
  setLower: unset,
  setTrusted: unset,
  appendTrusted: unset,
  serializeExceptFraming: unset,
  lengthExceptFraming: unset,
  writeExceptFraming: unset,
};

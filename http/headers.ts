/**
 * `HttpHeaders`: the header fields of a message, case-insensitive, in order,
 * repeated fields kept apart, every name and value validated.
 *
 * @example
 * ```ts
 * import { HttpHeaders } from "./headers.ts";
 * const h = new HttpHeaders([["Accept", "a"], ["accept", "b"]]);
 * console.log(h.get("ACCEPT")); // a, b
 * ```
 *
 * @module
 */
import { type HeaderInternals, HEADERS } from "./_headers_access.ts";
import { isFramingField, validateFieldName, validateFieldValue } from "./_fields.ts";

/**
 * An ordered, case-insensitive multimap of header fields. Names are kept
 * lower-cased. `get` combines repeated fields with `", "` as RFC 9110
 * section 5.3 allows, except `set-cookie`, which must stay apart
 * (`getSetCookie`).
 *
 * @example
 * ```ts
 * import { HttpHeaders } from "./headers.ts";
 * const h = new HttpHeaders({ "Content-Type": "text/plain" });
 * h.append("Accept", "a");
 * h.append("accept", "b");
 * console.log(h.get("content-type"), h.get("ACCEPT")); // text/plain a, b
 * ```
 */
export class HttpHeaders implements Iterable<[string, string]> {
  #names: string[] = [];
  #values: string[] = [];

  /**
   * Creates the collection, validating every field.
   *
   * @param init initial fields, as pairs or a record
   */
  constructor(init?: Iterable<readonly [string, string]> | Record<string, string>) {
    if (init === undefined) return;
    if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) {
        this.append(name, value);
      }
    } else {
      for (const name of Object.keys(init)) {
        this.append(name, (init as Record<string, string>)[name]);
      }
    }
  }

  /** Number of fields (repeated fields count once each). */
  get size(): number {
    return this.#names.length;
  }

  /** The combined value of every field called `name`, or null. */
  get(name: string): string | null {
    const lower = name.toLowerCase();
    const names = this.#names;
    let result: string | null = null;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === lower) {
        result = result === null ? this.#values[i] : `${result}, ${this.#values[i]}`;
      }
    }
    return result;
  }

  /** Every value of the fields called `name`, in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const out: string[] = [];
    for (let i = 0; i < this.#names.length; i++) {
      if (this.#names[i] === lower) out.push(this.#values[i]);
    }
    return out;
  }

  /** Every `set-cookie` value, never combined. */
  getSetCookie(): string[] {
    return this.getAll("set-cookie");
  }

  /** True when at least one field is called `name`. */
  has(name: string): boolean {
    return this.#names.indexOf(name.toLowerCase()) !== -1;
  }

  /**
   * Adds a field. Throws a `TypeError` for a name that is not a token or a
   * value holding a control character other than tab (CR or LF would let data
   * split the message) or a character above U+00FF.
   */
  append(name: string, value: string): void {
    const lower = validateFieldName(name);
    this.#names.push(lower);
    this.#values.push(validateFieldValue(value));
  }

  /** Replaces every field called `name` with one field. */
  set(name: string, value: string): void {
    this.#setLower(validateFieldName(name), value);
  }

  static {
    const table = HEADERS as HeaderInternals<HttpHeaders>;
    table.setLower = (h, lower, value) => h.#setLower(lower, value);
    table.setTrusted = (h, lower, value) => h.#setTrusted(lower, value);
    table.appendTrusted = (h, lower, value) => h.#appendTrusted(lower, value);
    table.serializeExceptFraming = (h) => h.#serializeExceptFraming();
    table.lengthExceptFraming = (h) => h.#lengthExceptFraming();
    table.writeExceptFraming = (h, out, at) => h.#writeExceptFraming(out, at);
  }

  // `set` for a name known to be a lower-case token; the value is still validated.
  #setLower(lower: string, value: string): void {
    const v = validateFieldValue(value);
    this.#remove(lower);
    this.#names.push(lower);
    this.#values.push(v);
  }

  // `set` for a field the caller knows is valid (a constant).
  #setTrusted(lower: string, value: string): void {
    this.#remove(lower);
    this.#names.push(lower);
    this.#values.push(value);
  }

  /** Removes every field called `name`. */
  delete(name: string): void {
    this.#remove(name.toLowerCase());
  }

  #remove(lower: string): void {
    const names = this.#names;
    const values = this.#values;
    const first = names.indexOf(lower);
    if (first === -1) return;
    let j = first;
    for (let i = first; i < names.length; i++) {
      if (names[i] !== lower) {
        names[j] = names[i];
        values[j] = values[i];
        j++;
      }
    }
    names.length = j;
    values.length = j;
  }

  // Adds a field the parser already validated (lower-cased name).
  #appendTrusted(lowerName: string, value: string): void {
    this.#names.push(lowerName);
    this.#values.push(value);
  }

  /** The fields as `[lowerName, value]` pairs, repeated fields separately. */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.#names.length; i++) yield [this.#names[i], this.#values[i]];
  }

  /** Same as {@linkcode HttpHeaders.entries}. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  // The fields as `name: value` lines (CRLF-terminated), leaving out the framing fields the
  // server writes itself.
  #serializeExceptFraming(): string {
    let out = "";
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (!isFramingField(name)) out += `${name}: ${this.#values[i]}\r\n`;
    }
    return out;
  }

  // The byte length of `#writeExceptFraming`'s output.
  #lengthExceptFraming(): number {
    let n = 0;
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (!isFramingField(name)) n += name.length + this.#values[i].length + 4;
    }
    return n;
  }

  // Writes the `#serializeExceptFraming` lines as latin1 bytes into `out` at `at` (every code
  // unit is at most 255: `append` and `set` refuse others); returns the end offset.
  #writeExceptFraming(out: Uint8Array, at: number): number {
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (isFramingField(name)) continue;
      for (let k = 0; k < name.length; k++) out[at++] = name.charCodeAt(k);
      out[at++] = 58;
      out[at++] = 32;
      const value = this.#values[i];
      for (let k = 0; k < value.length; k++) out[at++] = value.charCodeAt(k);
      out[at++] = 13;
      out[at++] = 10;
    }
    return at;
  }

  /** Calls `fn` for every field, without allocating an iterator. */
  forEach(fn: (value: string, name: string) => void): void {
    for (let i = 0; i < this.#names.length; i++) fn(this.#values[i], this.#names[i]);
  }

  /** Copies the fields into a standard `Headers`. */
  toHeaders(): Headers {
    const h = new Headers();
    for (let i = 0; i < this.#names.length; i++) h.append(this.#names[i], this.#values[i]);
    return h;
  }
}

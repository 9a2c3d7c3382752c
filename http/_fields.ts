/**
 * Field syntax shared by the header collection, the parsers and the serializers: tokens,
 * the validation of names and values, optional whitespace, and the framing fields.
 *
 * @module
 */

/** True for the fields a server or client writes itself from the message's framing. */
export function isFramingField(lower: string): boolean {
  return lower === "content-length" || lower === "transfer-encoding" || lower === "connection";
}

/** Token characters (RFC 9110 section 5.6.2), indexed by char code. */
export const TOKEN: Uint8Array = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN[c.charCodeAt(0)] = 1;
}

/** True when `s` is a non-empty RFC 9110 token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] === 0) return false;
  }
  return true;
}

/** The lower-cased `name`; a TypeError when it is not a token. */
export function validateFieldName(name: string): string {
  if (!isToken(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

/** `value` without surrounding whitespace; a TypeError when it holds a forbidden character. */
export function validateFieldValue(value: string): string {
  const v = String(value);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    // The field-value rule of RFC 9110 5.5 (the parser holds received fields to the same).
    if ((c < 32 && c !== 9) || c === 127 || c > 255) {
      throw new TypeError(`invalid header value: ${JSON.stringify(v)}`);
    }
  }
  return trimOws(v);
}

/** `s` without leading and trailing spaces and tabs (optional whitespace). */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * Responses counted by status class, as the HTTP server's and client's stats report them.
 *
 * @example
 * ```ts
 * import { noResponses, statusClass } from "./status_class.ts";
 * const counts = noResponses();
 * counts[statusClass(404)]++;
 * console.log(counts["4xx"]); // 1
 * ```
 *
 * @module
 */

/** Responses counted by status class. */
export interface ResponsesByClass {
  /** Informational (100-199). */
  "1xx": number;
  /** Success (200-299). */
  "2xx": number;
  /** Redirection (300-399). */
  "3xx": number;
  /** Client error (400-499). */
  "4xx": number;
  /** Server error (500 and above). */
  "5xx": number;
}

/** The status classes, in order: {@linkcode statusClassIndex} indexes this list. */
export const STATUS_CLASSES: readonly (keyof ResponsesByClass)[] = [
  "1xx",
  "2xx",
  "3xx",
  "4xx",
  "5xx",
];

/**
 * The position of the class a status code counts under in {@linkcode STATUS_CLASSES}, for
 * counters kept in an array (cheaper per response than a property named by a string).
 *
 * @param status the status code
 * @returns 0 for 1xx (and below) to 4 for 5xx (and above)
 */
export function statusClassIndex(status: number): number {
  return status < 200 ? 0 : status < 300 ? 1 : status < 400 ? 2 : status < 500 ? 3 : 4;
}

/**
 * The class a status code counts under (a code above 599 counts as 5xx).
 *
 * @param status the status code
 * @returns its class
 */
export function statusClass(status: number): keyof ResponsesByClass {
  return STATUS_CLASSES[statusClassIndex(status)];
}

/**
 * Counts with nothing counted yet.
 *
 * @returns every class at zero
 */
export function noResponses(): ResponsesByClass {
  return { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 };
}

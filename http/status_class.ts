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

/**
 * The class a status code counts under (a code above 599 counts as 5xx).
 *
 * @param status the status code
 * @returns its class
 */
export function statusClass(status: number): keyof ResponsesByClass {
  return status < 200
    ? "1xx"
    : status < 300
    ? "2xx"
    : status < 400
    ? "3xx"
    : status < 500
    ? "4xx"
    : "5xx";
}

/**
 * Counts with nothing counted yet.
 *
 * @returns every class at zero
 */
export function noResponses(): ResponsesByClass {
  return { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 };
}

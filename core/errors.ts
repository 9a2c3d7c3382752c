/**
 * The base of every error Iora throws: a normal `Error` with a stable,
 * machine-readable `code`, so callers branch on `error.code`, never on text.
 *
 * @example
 * ```ts
 * import { IoraError } from "./errors.ts";
 * try {
 *   throw new IoraError("Unsupported", "not here");
 * } catch (e) {
 *   if (e instanceof IoraError && e.code === "Unsupported") console.log(e.message);
 * }
 * ```
 */
export class IoraError extends Error {
  /** A stable identifier of the failure, such as `"Timeout"` or `"Unsupported"`. */
  readonly code: string;

  /**
   * Creates an error with a code.
   *
   * @param code stable identifier of the failure
   * @param message human-readable description
   * @param options standard error options (`cause`)
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Thrown when the current runtime cannot do what was asked. The message
 * names the runtime, so the feature never silently does less.
 *
 * @example
 * ```ts
 * import { UnsupportedError } from "./errors.ts";
 * const err = new UnsupportedError("node", "per-worker permissions");
 * console.log(err.message); // "per-worker permissions is not supported on node"
 * ```
 */
export class UnsupportedError extends IoraError {
  /** The runtime that lacks the feature. */
  readonly runtime: string;

  /**
   * Creates the error for a feature `runtime` lacks.
   *
   * @param runtime the runtime name, for example `"deno"` or `"node"`
   * @param feature what was asked for
   * @param hint optional advice on what to do instead
   */
  constructor(runtime: string, feature: string, hint?: string) {
    super(
      "Unsupported",
      `${feature} is not supported on ${runtime}${hint ? `: ${hint}` : ""}`,
    );
    this.runtime = runtime;
  }
}

/** Stable codes of {@linkcode FileSystemError}. */
export type FileSystemErrorCode =
  | "NotFound"
  | "AlreadyExists"
  | "PermissionDenied"
  | "NotADirectory"
  | "IsADirectory"
  | "Io";

/**
 * A file-system failure with the same `code` on every runtime, carrying the
 * path and the runtime's own error as `cause`.
 *
 * @example
 * ```ts
 * import { FileSystemError } from "./errors.ts";
 * const e = new FileSystemError("NotFound", "/nope", "no such file");
 * console.log(e.code, e.path);
 * ```
 */
export class FileSystemError extends IoraError {
  /** The path the operation was about. */
  readonly path: string;
  /** The normalised failure. */
  declare readonly code: FileSystemErrorCode;

  /**
   * Creates a file-system error for `path`.
   *
   * @param code the normalised failure
   * @param path the path the operation was about
   * @param message the runtime's description
   * @param options standard error options (`cause`)
   */
  constructor(code: FileSystemErrorCode, path: string, message: string, options?: ErrorOptions) {
    super(code, `${message}: ${path}`, options);
    this.path = path;
  }
}

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
   * `instanceof` holds for the error's own class chain, as usual, and also for an argument error
   * made by {@linkcode asRangeError} or {@linkcode asTypeError} from this class (or a subclass):
   * that error is a standard `RangeError`/`TypeError` and still this class's error.
   *
   * @param value the value tested
   * @returns whether `value` is an error of this class
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const owner = (value as { [OWNER]?: unknown } | null | undefined)?.[OWNER];
    return typeof owner === "function" &&
      (owner === this || Object.prototype.isPrototypeOf.call(this.prototype, owner.prototype));
  }

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

/** The Iora error class an argument error stands for, on its prototype. */
const OWNER = Symbol("iora.argumentErrorOwner");

type StandardError = RangeErrorConstructor | TypeErrorConstructor;

const standardPrototypes = new Map<StandardError, WeakMap<object, object>>([
  [RangeError, new WeakMap()],
  [TypeError, new WeakMap()],
]);

/**
 * A prototype inheriting from `base.prototype` that carries the members of `owner`'s class chain
 * (its constructor, any method or accessor) and names `owner` for {@linkcode IoraError}'s
 * `instanceof`; one per class and base.
 */
function standardPrototype(owner: { prototype: object }, base: StandardError): object {
  const cache = standardPrototypes.get(base)!;
  let proto = cache.get(owner);
  if (proto === undefined) {
    proto = Object.create(base.prototype) as object;
    for (let p = owner.prototype; p !== Error.prototype; p = Object.getPrototypeOf(p)) {
      for (const key of Reflect.ownKeys(p)) {
        if (!Object.hasOwn(proto, key)) {
          Object.defineProperty(proto, key, Object.getOwnPropertyDescriptor(p, key)!);
        }
      }
    }
    Object.defineProperty(proto, OWNER, { value: owner });
    cache.set(owner, proto);
  }
  return proto;
}

/**
 * Makes `error` a standard `RangeError` as well: what std throws for a number out of range or a
 * value outside the allowed set. It keeps its class's `instanceof`, `code`, `name` and fields, so
 * `error instanceof ThreadPoolError && error.code === "InvalidArgument"` still holds and
 * `error instanceof RangeError` now does too.
 *
 * @example
 * ```ts
 * import { asRangeError, IoraError } from "./errors.ts";
 * const error = asRangeError(new IoraError("InvalidArgument", "size must be >= 1, got 0"));
 * console.log(error instanceof RangeError, error instanceof IoraError, error.code);
 * // true true InvalidArgument
 * ```
 *
 * @param error the typed error, just constructed
 * @returns the same object
 */
export function asRangeError<E extends IoraError>(error: E): E & RangeError {
  Object.setPrototypeOf(error, standardPrototype(error.constructor, RangeError));
  return error as E & RangeError;
}

/**
 * Makes `error` a standard `TypeError` as well: what std throws for an argument of the wrong type
 * (a handler that is not a function). It keeps its class's `instanceof`, `code`, `name` and
 * fields, like {@linkcode asRangeError}.
 *
 * @example
 * ```ts
 * import { asTypeError, IoraError } from "./errors.ts";
 * const error = asTypeError(new IoraError("InvalidArgument", "handler must be a function"));
 * console.log(error instanceof TypeError, error instanceof IoraError); // true true
 * ```
 *
 * @param error the typed error, just constructed
 * @returns the same object
 */
export function asTypeError<E extends IoraError>(error: E): E & TypeError {
  Object.setPrototypeOf(error, standardPrototype(error.constructor, TypeError));
  return error as E & TypeError;
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

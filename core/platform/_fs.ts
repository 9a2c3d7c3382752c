/**
 * The file-system error wrapper both runtime implementations share: each
 * brings only its own way of naming an error's kind.
 *
 * @module
 */
import { FileSystemError, type FileSystemErrorCode, IoraError } from "../errors.ts";

/** The wrappers {@linkcode fsWrappers} builds around one runtime's error classifier. */
export interface FsWrappers {
  /** Turns whatever a file operation threw into a `FileSystemError` naming `path`. */
  fsError(error: unknown, path: string): Error;
  /** Runs an async file operation, rethrowing its failure through `fsError`. */
  fs<T>(path: string, op: () => Promise<T>): Promise<T>;
  /** Runs a sync file operation, rethrowing its failure through `fsError`. */
  fsSync<T>(path: string, op: () => T): T;
}

/** Builds the wrappers; `classify` names a native error's kind, or `undefined` for "Io". */
export function fsWrappers(
  classify: (error: Error) => FileSystemErrorCode | undefined,
): FsWrappers {
  function fsError(error: unknown, path: string): Error {
    if (!(error instanceof Error)) return new FileSystemError("Io", path, String(error));
    if (error instanceof IoraError) return error;
    return new FileSystemError(classify(error) ?? "Io", path, error.message, { cause: error });
  }
  return {
    fsError,
    async fs<T>(path: string, op: () => Promise<T>): Promise<T> {
      try {
        return await op();
      } catch (error) {
        throw fsError(error, path);
      }
    },
    fsSync<T>(path: string, op: () => T): T {
      try {
        return op();
      } catch (error) {
        throw fsError(error, path);
      }
    },
  };
}

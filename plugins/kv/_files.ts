/**
 * The files of a {@linkcode KvStore} (private to `plugins/`): creating an
 * empty store file and keeping a copy of a damaged one. Every rename is
 * preceded by an fsync of the file and followed by one of the directory.
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import type { FileHandle } from "../../core/platform/mod.ts";
import { fileHeader } from "./_format.ts";

/** The directory of `path`, for an fsync after a rename in it. */
export function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
}

/** True when something is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await platform().stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes a store file holding only the header at `path`, through `<path>.new` and a rename. */
export async function createStoreFile(path: string): Promise<void> {
  const p = platform();
  const temp = `${path}.new`;
  const handle = await p.open(temp, { write: true, create: true, truncate: true });
  try {
    await handle.write(fileHeader());
    await handle.sync();
  } finally {
    await handle.close();
  }
  await p.rename(temp, path);
  await p.syncDir(dirOf(path));
}

/**
 * Copies the first `size` bytes of the store at `path` (read through `reader`) to
 * `<path>.damaged`, or `.damaged.N` when that is taken.
 *
 * @returns the copy's path
 */
export async function keepDamagedCopy(
  path: string,
  reader: FileHandle,
  size: number,
): Promise<string> {
  const p = platform();
  let copy = `${path}.damaged`;
  for (let n = 1; await exists(copy); n++) copy = `${path}.damaged.${n}`;
  const out = await p.open(copy, { write: true, create: true, truncate: true });
  try {
    const buffer = new Uint8Array(1024 * 1024);
    for (let at = 0; at < size;) {
      const n = await reader.readAt(buffer.subarray(0, Math.min(buffer.length, size - at)), at);
      if (!n) break;
      await out.write(buffer.subarray(0, n));
      at += n;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  await p.syncDir(dirOf(path));
  return copy;
}

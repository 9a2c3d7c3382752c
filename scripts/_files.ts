/**
 * What the build, test and check scripts share about the repository's files: the library's
 * folders and a recursive listing.
 *
 * @module
 */

/** The folders of the published library. */
export const LIBRARY_DIRS: readonly string[] = [
  "core",
  "parsers",
  "network",
  "dns",
  "http",
  "service",
  "plugins",
];

/** Lists the files under `dir` (recursively), as paths starting with `prefix`; none when it is missing. */
export async function walk(dir: URL, found: string[] = [], prefix = ""): Promise<string[]> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      const rel = prefix + entry.name;
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), found, `${rel}/`);
      else found.push(rel);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found;
}

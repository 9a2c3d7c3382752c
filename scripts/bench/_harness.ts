/**
 * Shared pieces of the parser benchmarks (not a benchmark itself): the corpus location, the
 * timing loop and the row printer. Works from `scripts/bench/` under Deno and from the npm
 * build's `npm/scripts/bench/` under Node.
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";

/** `"deno"` or `"node"`, printed at the start of every row. */
export const runtime: string = "Deno" in globalThis ? "deno" : "node";

/** Reads `/work/shared/corpus/<sub>/<name>`, found relative to this script. */
export async function corpus(sub: string, name: string): Promise<Uint8Array> {
  // The corpus sits beside the repository; the npm build sits one level deeper.
  for (const rel of ["../../../shared/corpus/", "../../../../shared/corpus/"]) {
    const url = new URL(`${rel}${sub}/${name}`, import.meta.url);
    try {
      return await platform().readFile(decodeURIComponent(url.pathname));
    } catch {
      // try the next location
    }
  }
  throw new Error(`corpus file ${sub}/${name} not found beside the repository`);
}

/**
 * MB/s of `fn` over `bytes` bytes, for about `ms` milliseconds after a warm-up of at least three
 * calls and 250 ms (so the first figure of a run is not taken before the JIT has settled).
 */
export async function mbps(bytes: number, fn: () => unknown, ms = 700): Promise<number> {
  const w0 = performance.now();
  for (let i = 0; i < 3 || performance.now() - w0 < 250; i++) await fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms || n < 3) {
    await fn();
    n++;
    t = performance.now();
  }
  return (bytes * n) / 1e6 / ((t - t0) / 1000);
}

/**
 * MB/s of `peer` and of `ours`, measured in alternating slices of about 50 ms for `ms`
 * milliseconds each after a warm-up of both, so that a load change on a shared machine hits both
 * alike and their ratio stays meaningful.
 */
export async function mbpsPair(
  bytes: number,
  peer: () => unknown,
  ours: () => unknown,
  ms = 1000,
): Promise<{ peer: number; ours: number }> {
  const fns = [peer, ours];
  const w0 = performance.now();
  for (let i = 0; i < 3 || performance.now() - w0 < 300; i++) {
    await peer();
    await ours();
  }
  const count = [0, 0];
  const time = [0, 0];
  while (time[0] < ms || time[1] < ms || count[0] < 3 || count[1] < 3) {
    for (let k = 0; k < 2; k++) {
      const fn = fns[k];
      const t0 = performance.now();
      let t = t0;
      let n = 0;
      do {
        await fn();
        n++;
        t = performance.now();
      } while (t - t0 < 50);
      count[k] += n;
      time[k] += t - t0;
    }
  }
  const rate = (k: number) => (bytes * count[k]) / 1e6 / (time[k] / 1000);
  return { peer: rate(0), ours: rate(1) };
}

/** Prints one figure, with `ours/peer` when a peer figure is given. */
export function row(file: string, name: string, v: number, peer?: number): void {
  const ratio = peer === undefined ? "" : `  ours/peer ${(v / peer).toFixed(2)}x`;
  console.log(
    `${runtime}  ${file.padEnd(26)} ${name.padEnd(34)} ${v.toFixed(1).padStart(8)} MB/s${ratio}`,
  );
}

/** Runs a command to its end and resolves with its standard output; rejects when it fails. */
export async function runCommand(cmd: string, argv: string[]): Promise<string> {
  const child = platform().spawn(cmd, { args: argv });
  const [out, , status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  if (!status.success) throw new Error(`${cmd} ${argv.join(" ")} failed`);
  return out;
}

/**
 * Pins this process to core 0 with `taskset`, leaving core 1 to a load generator; false when it
 * cannot (no taskset, one core).
 */
export async function pinToCoreZero(): Promise<boolean> {
  try {
    await runCommand("taskset", ["-p", "-c", "0", String(platform().pid())]);
    return true;
  } catch {
    return false;
  }
}

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

/** The runtime with its version: `deno 2.9.6`, `node v20.20.2`. */
export const runtimeVersion: string = "Deno" in globalThis
  ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `node ${(globalThis as unknown as { process: { version: string } }).process.version}`;

/** The benchmark's command-line arguments (after the script's name). */
export const benchArgs: string[] = "Deno" in globalThis
  ? (globalThis as unknown as { Deno: { args: string[] } }).Deno.args
  : (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);

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

/** The median with the min and max of a set of figures, one per round. */
export interface Stats {
  /** The median (of an even count, the mean of the two middle figures). */
  median: number;
  /** The lowest figure. */
  min: number;
  /** The highest figure. */
  max: number;
  /** The figures, in round order. */
  values: number[];
}

/** Median, min and max of `values` (at least one). */
export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], values };
}

/** The median of `values` (at least one). */
export function median(values: number[]): number {
  return stats(values).median;
}

/** A rate or a time with about three significant figures (`123456`, `12.3`, `1.23`). */
export function figure(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** `median (min–max)` with `digits` decimals, the form every figure is reported in. */
export function fmt(s: Stats, digits = 1): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** The per-round ratios `a[i] / b[i]` of two series measured in the same rounds. */
export function ratio(a: Stats, b: Stats): Stats {
  return stats(a.values.map((v, i) => v / b.values[i]));
}

/** Rounds every throughput figure is taken over (at least five, by the benchmark rules). */
export const ROUNDS = 7;

/**
 * MB/s of each function over `bytes` bytes, in `rounds` rounds: within a round every function
 * runs for about `ms` milliseconds in turn, so a load change on a shared machine hits all alike
 * and their per-round ratios stay meaningful. A warm-up of every function (at least three calls
 * and 300 ms in all) comes first, so the first round is not taken before the JIT has settled.
 */
export async function mbpsRounds<K extends string>(
  bytes: number,
  fns: Record<K, () => unknown>,
  options: { rounds?: number; ms?: number } = {},
): Promise<Record<K, Stats>> {
  const rounds = Math.max(5, options.rounds ?? ROUNDS);
  const ms = options.ms ?? 150;
  const names = Object.keys(fns) as K[];
  const w0 = performance.now();
  for (let i = 0; i < 3 || performance.now() - w0 < 300; i++) {
    for (const k of names) await fns[k]();
  }
  const rates = new Map<K, number[]>(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const k of names) {
      const fn = fns[k];
      const t0 = performance.now();
      let t = t0;
      let n = 0;
      do {
        await fn();
        n++;
        t = performance.now();
      } while (t - t0 < ms || n < 3);
      rates.get(k)!.push((bytes * n) / 1e6 / ((t - t0) / 1000));
    }
  }
  const out = {} as Record<K, Stats>;
  for (const k of names) out[k] = stats(rates.get(k)!);
  return out;
}

/** MB/s of `peer` and of `ours` over the same interleaved rounds (see {@link mbpsRounds}). */
export async function mbpsPair(
  bytes: number,
  peer: () => unknown,
  ours: () => unknown,
  ms?: number,
): Promise<{ peer: Stats; ours: Stats }> {
  return await mbpsRounds(bytes, { peer, ours }, { ms });
}

/**
 * Prints one figure as median (min–max) MB/s, with the per-round `ours/peer` ratio when a peer
 * figure from the same rounds is given.
 */
export function row(file: string, name: string, v: Stats, peer?: Stats): void {
  const r = peer === undefined ? "" : `  ours/peer ${fmt(ratio(v, peer), 2)}x`;
  console.log(`${runtime}  ${file.padEnd(26)} ${name.padEnd(40)} ${fmt(v).padStart(22)} MB/s${r}`);
}

/**
 * Runs `measure` once per case, each in a fresh process of the same runtime, so that no case runs
 * on code the JIT shaped for another (a parser's shared paths, tuned for namespaces in one case,
 * are slower for the next one without). Given `--case=<name>`, this process is such a child and
 * runs that case only. `script` is the benchmark's `import.meta.url`.
 */
export async function eachCaseInFreshProcess(
  script: string,
  cases: string[],
  measure: (name: string) => Promise<void>,
): Promise<void> {
  const chosen = platform().args().find((a) => a.startsWith("--case="))?.slice(7);
  if (chosen !== undefined) return await measure(chosen);
  const path = decodeURIComponent(new URL(script).pathname);
  for (const c of cases) {
    const argv = runtime === "deno" ? ["run", "-A", path, `--case=${c}`] : [path, `--case=${c}`];
    const out = await runCommand(platform().execPath(), argv);
    console.log(out.trimEnd());
  }
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
 * Pins this process to core 0 with `taskset`, every thread it has (`-a`: the runtime's I/O,
 * GC and compiler threads too, which would otherwise share the load generator's core), leaving
 * core 1 to a load generator; false when it cannot (no taskset, one core).
 */
export async function pinToCoreZero(): Promise<boolean> {
  try {
    await runCommand("taskset", ["-a", "-p", "-c", "0", String(platform().pid())]);
    return true;
  } catch {
    return false;
  }
}

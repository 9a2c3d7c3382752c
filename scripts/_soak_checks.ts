/**
 * What every soak case shares: a check that prints `ok`/`FAIL` with what it checked and keeps
 * the failures, so a case returns them and the soak fails at the end, after every case ran.
 *
 * @module
 */

/** A check recorder: `check(ok, what)` logs the outcome; `failures` lists what failed. */
export interface SoakChecks {
  /** Logs `ok` or `FAIL` with `what`, and keeps `what` when it failed. */
  check(ok: boolean, what: string): void;
  /** What failed so far, in order. */
  readonly failures: string[];
}

/** A new check recorder that logs through `log`. */
export function soakChecks(log: (line: string) => void = console.log): SoakChecks {
  const failures: string[] = [];
  return {
    failures,
    check(ok, what) {
      log(`  ${ok ? "ok  " : "FAIL"} ${what}`);
      if (!ok) failures.push(what);
    },
  };
}

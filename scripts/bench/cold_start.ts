/**
 * Cold start of the service host: from spawning `deno task start -- --port 0` to the first answer
 * of `GET /health`, against the floor of the same runtime, a `deno run` of a one-line `Deno.serve`
 * script answering `/health` (the peer). Rounds of ours and the peer interleave; the figures are
 * the median with the min–max, and the ratio is ours / peer (above 1: slower than the floor).
 *
 * Deno only: it measures `deno task start` as the README tells users to run it. Under Node it
 * prints that and exits.
 *
 * Usage: `deno run -A scripts/bench/cold_start.ts [rounds] [baseline-dir]` (default 7 rounds).
 * With a baseline directory (another checkout, for example `git archive` of an older commit), its
 * `deno task start` runs as a third contender in the same rounds, for a before/after comparison.
 *
 * @module
 */

const ROUNDS = Number(globalThis.Deno?.args[0] ?? 7);
const BASELINE: string | undefined = globalThis.Deno?.args[1];

/** The peer: the runtime's own server, as small as a service can be. */
const FLOOR = `Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) =>
  console.log("listening on http://127.0.0.1:" + port) }, () => new Response("ok"));`;

/**
 * Milliseconds from spawning `cmd` until `/health` on the port it prints answers 200; the process
 * is stopped (SIGTERM, then awaited) before it resolves.
 */
async function coldStart(cmd: string, args: string[], cwd: string): Promise<number> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "null" }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    let port: string | undefined;
    while (port === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${cmd} ${args.join(" ")} exited before listening`);
      seen += value;
      port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen)?.[1];
    }
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    await response.body?.cancel();
    if (response.status !== 200) throw new Error(`/health answered ${response.status}`);
    const ms = performance.now() - t0;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    return ms;
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  }
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `${median.toFixed(0)} ms (${sorted[0].toFixed(0)}–${sorted.at(-1)!.toFixed(0)})`;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

if (!("Deno" in globalThis)) {
  console.log("cold_start: Deno only (it measures `deno task start`)");
} else {
  const root = new URL("../../", import.meta.url).pathname;
  const floorFile = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(floorFile, FLOOR);
  const start = ["task", "start", "--", "--port", "0"];
  const contenders: { name: string; args: string[]; cwd: string; ms: number[] }[] = [
    { name: "deno task start -> first /health", args: start, cwd: root, ms: [] },
    {
      name: "deno run Deno.serve -> /health (peer)",
      args: ["run", "-A", floorFile],
      cwd: root,
      ms: [],
    },
  ];
  if (BASELINE) {
    contenders.push({ name: `baseline ${BASELINE}`, args: start, cwd: BASELINE, ms: [] });
  }
  try {
    // One unmeasured start of each fills Deno's module cache, as any later start finds it.
    for (const c of contenders) await coldStart(Deno.execPath(), c.args, c.cwd);
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contenders) c.ms.push(await coldStart(Deno.execPath(), c.args, c.cwd));
    }
  } finally {
    await Deno.remove(floorFile);
  }
  const [ours, peer, baseline] = contenders;
  for (const c of contenders) console.log(`deno  ${c.name.padEnd(40)} ${summary(c.ms)}`);
  console.log(
    `deno  ours/peer ${(median(ours.ms) / median(peer.ms)).toFixed(2)}x over ${ROUNDS} rounds`,
  );
  if (baseline) {
    console.log(`deno  ours/baseline ${(median(ours.ms) / median(baseline.ms)).toFixed(2)}x`);
  }
}

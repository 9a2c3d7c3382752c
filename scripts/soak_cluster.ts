/**
 * Cluster soak: three instances (separate processes, tests/fixtures/cluster/soak_instance.ts)
 * share one redis-server for `--seconds=N` (default 60) with state writes and work-queue
 * events; one of them is killed with SIGKILL halfway. Checks that no acknowledged state write
 * and no acknowledged event is lost: every write an instance saw flushed is in Redis with its
 * value, and every event whose enqueue resolved was handled by some instance (the killed
 * one's pending events are claimed by the others).
 *
 * Usage: `deno run -A scripts/soak_cluster.ts [--seconds=60]`; exits non-zero on a failure.
 * {@linkcode soakCluster} runs it from another script (`scripts/soak.ts`).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { RedisConnection } from "../service/cluster/connection.ts";
import { startRedis } from "../tests/fixtures/cluster/redis_server.ts";
import { soakChecks } from "./_soak_checks.ts";

/** Keys per instance, as in tests/fixtures/cluster/soak_instance.ts. */
const SLOTS = 5000;

interface Child {
  id: string;
  proc: ChildProcess;
  acked: { writes: number; events: number };
  finished: Promise<boolean>;
  exited: Promise<void>;
}

function execPath(): string {
  const g = globalThis as unknown as {
    Deno?: { execPath(): string };
    process?: { execPath: string };
  };
  return g.Deno ? g.Deno.execPath() : g.process!.execPath;
}

function startChild(url: string, id: string, seconds: number): Child {
  const ts = import.meta.url.endsWith(".ts");
  const script = decodeURIComponent(
    new URL(`../tests/fixtures/cluster/soak_instance.${ts ? "ts" : "js"}`, import.meta.url)
      .pathname,
  );
  const args = ts
    ? ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", script]
    : [script];
  const proc = spawn(execPath(), [...args, url, id, String(seconds)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const child: Child = {
    id,
    proc,
    acked: { writes: 0, events: 0 },
    finished: Promise.resolve(false),
    exited: new Promise((resolve) => proc.once("exit", () => resolve())),
  };
  let buffer = "";
  child.finished = new Promise((resolve) => {
    proc.once("exit", () => resolve(false));
    proc.stdout!.on("data", (chunk: Uint8Array) => {
      buffer += new TextDecoder().decode(chunk);
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /^acked (\d+) (\d+)$/.exec(line);
        if (m) child.acked = { writes: Number(m[1]), events: Number(m[2]) };
        if (line === "finished") resolve(true);
      }
    });
  });
  return child;
}

/**
 * Runs the soak; resolves with the failures (empty when everything held).
 *
 * @example
 * ```ts ignore
 * import { soakCluster } from "./soak_cluster.ts";
 * const failures = await soakCluster(60, (line) => console.log(line));
 * ```
 */
export async function soakCluster(
  seconds: number,
  log: (line: string) => void = console.log,
): Promise<string[]> {
  const { check, failures } = soakChecks(log);
  const redis = await startRedis();
  const children: Child[] = [];
  let raw: RedisConnection | undefined;
  try {
    for (const id of ["i1", "i2", "i3"]) children.push(startChild(redis.url, id, seconds));
    // Kill one halfway (at a random moment of the middle third).
    const victim = children[0];
    await new Promise((r) => setTimeout(r, seconds * 1000 * (1 / 3 + Math.random() / 3)));
    victim.proc.kill("SIGKILL");
    await victim.exited;
    log(`  killed ${victim.id} with SIGKILL after ${victim.acked.writes} acknowledged writes`);
    const survivors = children.slice(1);
    const finished = await Promise.all(survivors.map((c) => c.finished));
    check(finished.every(Boolean), "the surviving instances ran to the end");
    raw = await RedisConnection.connect({ url: redis.url });
    // Every acknowledged state write is in Redis, with its value.
    let missing = 0;
    let wrong = 0;
    // One Redis key per entry (see RedisStateStore's layout): iora:state:{soak}:<key>.
    const prefix = "iora:state:{soak}:";
    const map = new Map<string, string>();
    let cursor = "0";
    do {
      const reply = await raw.command(["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", 1000]);
      const [next, keys] = reply as [string, string[]];
      cursor = next;
      if (keys.length === 0) continue;
      const values = await raw.command(["MGET", ...keys]) as (string | null)[];
      keys.forEach((key, i) => {
        if (values[i] !== null) map.set(key.slice(prefix.length), String(values[i]));
      });
    } while (cursor !== "0");
    // Write n of an instance goes to slot n % SLOTS; a slot must hold its last acknowledged
    // write or a later one.
    for (const c of children) {
      for (let slot = 0; slot < Math.min(SLOTS, c.acked.writes); slot++) {
        const last = slot + SLOTS * Math.floor((c.acked.writes - 1 - slot) / SLOTS);
        const entry = map.get(`${c.id}:${slot}`);
        if (entry === undefined) missing++;
        else if (Number(JSON.parse(entry)[1]) < last) wrong++;
      }
    }
    const writes = children.reduce((s, c) => s + c.acked.writes, 0);
    check(
      missing === 0 && wrong === 0,
      `${writes} acknowledged state writes all in Redis (slots missing ${missing}, holding an older write ${wrong})`,
    );
    // Every acknowledged event is handled, the victim's pending ones by the survivors.
    const events = children.reduce((s, c) => s + c.acked.events, 0);
    const deadline = Date.now() + 30_000;
    let unhandled: string[] = [];
    do {
      unhandled = [];
      for (const c of children) {
        const names = Array.from({ length: c.acked.events }, (_, n) => `${c.id}:${n}`);
        for (let i = 0; i < names.length; i += 1000) {
          const flags = await raw.command([
            "SMISMEMBER",
            "soak:handled",
            ...names.slice(i, i + 1000),
          ]);
          if (Array.isArray(flags)) {
            flags.forEach((f, k) => {
              if (Number(f) !== 1) unhandled.push(names[i + k]);
            });
          }
        }
      }
      if (unhandled.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    } while (Date.now() < deadline);
    check(
      unhandled.length === 0,
      `${events} acknowledged events all handled (unhandled ${unhandled.length}${
        unhandled.length ? `: ${unhandled.slice(0, 5).join(", ")}` : ""
      })`,
    );
  } finally {
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
      await c.exited;
    }
    await raw?.close();
    await redis.stop();
  }
  return failures;
}

if (import.meta.main) {
  const g = globalThis as unknown as { Deno?: { args: string[]; exit(code: number): never } };
  const args = g.Deno?.args ?? [];
  const seconds = Number(args.find((a) => a.startsWith("--seconds="))?.split("=")[1] ?? 60);
  console.log(`cluster soak: 3 instances, ${seconds} s, one killed with SIGKILL`);
  const failures = await soakCluster(seconds);
  if (failures.length) {
    console.log(`${failures.length} failure(s)`);
    g.Deno?.exit(1);
  }
}

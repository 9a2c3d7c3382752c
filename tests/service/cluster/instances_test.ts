// Two cluster instances as separate processes, one killed with SIGKILL: its registry entry
// expires within the TTL, its unacknowledged work is finished by the other, and its lock is
// taken over only after the lease ran out, its fencing token refused afterwards.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { ClusterEventBus } from "../../../service/cluster/event_bus.ts";
import { ClusterLocks } from "../../../service/cluster/locks.ts";
import { ClusterRegistry, type RegistryChange } from "../../../service/cluster/registry.ts";
import { ClusterError } from "../../../service/cluster/errors.ts";
import { deferred, fixtureCommand } from "../../harness.ts";
import { type RedisServer, startRedis } from "../../fixtures/cluster/redis_server.ts";

const TTL = 600;

interface Instance {
  child: ChildProcess;
  lines: string[];
  /** When each line arrived (Date.now()). */
  times: number[];
  /** Resolves with the first line starting with `prefix`. */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  kill(): Promise<void>;
}

function startInstance(url: string, id: string): Instance {
  const { command, args } = fixtureCommand("cluster/instance", [
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-sys",
  ]);
  const child = spawn(command, [...args, url, id, String(TTL)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const times: number[] = [];
  const waiters: { prefix: string; done: (line: string) => void }[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Uint8Array) => {
    buffer += new TextDecoder().decode(chunk);
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      times.push(Date.now());
      for (const w of waiters) if (line.startsWith(w.prefix)) w.done(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    lines,
    times,
    line(prefix, timeoutMs = 20_000) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found) return Promise.resolve(found);
      const d = deferred<string>(`${id} to print "${prefix}"`);
      waiters.push({ prefix, done: d.resolve });
      return d.wait(timeoutMs);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

let redis: RedisServer;

describe("cluster instances in separate processes", () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it("survives a kill -9 of an instance: registry expiry, claimed work, lock takeover with fencing", async () => {
    const a = startInstance(redis.url, "inst-a");
    const b = startInstance(redis.url, "inst-b");
    const registry = await ClusterRegistry.start({ url: redis.url, ttlMs: TTL });
    const bus = await ClusterEventBus.start({ url: redis.url, group: "svc" });
    const locks = await ClusterLocks.start({ url: redis.url, owner: "test" });
    try {
      await Promise.all([a.line("ready"), b.line("ready")]);
      // The leader is the victim: whichever of the two took the lock first.
      const first = await Promise.race([
        a.line("lock").then(() => [a, b, "inst-a", "inst-b"] as const),
        b.line("lock").then(() => [b, a, "inst-b", "inst-a"] as const),
      ]);
      const [victim, survivor, victimId, survivorId] = first;
      const aLock = Number((await victim.line("lock")).split(" ")[1]);
      assert.ok(aLock > 0);
      assert.deepEqual(
        (await registry.instances("fixture")).map((i) => i.id),
        ["inst-a", "inst-b"],
      );
      const changes: RegistryChange[] = [];
      const aGone = deferred<number>("the victim to leave the registry");
      const stopWatch = await registry.watch("fixture", (change) => {
        changes.push(change);
        if (change.removed.includes(victimId)) aGone.resolve(Date.now());
      });
      // Jobs that hang on the victim; the group spreads them over both instances.
      const jobs = 6;
      for (let n = 0; n < jobs; n++) await bus.enqueue("jobs", { n, hangOn: victimId });
      await victim.line("took");
      const killedAt = Date.now();
      await victim.kill();
      assert.equal(
        (await locks.holder("singleton"))?.owner,
        victimId,
        "the lease outlives its holder",
      );
      // The survivor finishes every job, those the victim had taken included.
      for (let n = 0; n < jobs; n++) await survivor.line(`done ${n}`, 10_000);
      const taken = victim.lines.filter((l) => l.startsWith("took")).length;
      assert.ok(taken >= 1);
      // The victim's registry entry is gone within the TTL (plus one watch check).
      const goneAt = await aGone.wait(5000);
      assert.ok(
        goneAt - killedAt <= TTL + TTL / 3 + 300,
        `expired ${goneAt - killedAt} ms after the kill`,
      );
      assert.deepEqual((await registry.instances("fixture")).map((i) => i.id), [survivorId]);
      // The survivor is elected only once the victim's lease ran out, with a larger token.
      const bLock = Number((await survivor.line("lock", 10_000)).split(" ")[1]);
      const tookOver = survivor.times[survivor.lines.findIndex((l) => l.startsWith("lock"))];
      // The victim renewed every TTL/4, so its lease had at least 3/4 of the TTL left.
      assert.ok(
        tookOver - killedAt >= TTL / 2,
        `taken over ${tookOver - killedAt} ms after the kill`,
      );
      assert.ok(bLock > aLock);
      const holder = await locks.holder("singleton");
      assert.deepEqual(holder, { owner: survivorId, token: bLock });
      // The victim's old token is refused (a process that woke up with it would be told so).
      await using asA = await ClusterLocks.start({ url: redis.url, owner: victimId });
      await assert.rejects(
        asA.fenced({ name: "singleton", token: aLock }, ["SET", "report", "from-a"]),
        (e) => e instanceof ClusterError && e.code === "StaleToken",
      );
      await stopWatch();
    } finally {
      await a.kill();
      await b.kill();
      await bus.stop();
      await locks.stop();
      await registry.stop();
    }
  });
});

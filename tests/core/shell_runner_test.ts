import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ShellRunner, ShellRunnerError } from "../../core/shell_runner.ts";
import { platform } from "../../core/platform/mod.ts";
import { availablePlatforms, tempDir, waitFor, withDeadline, withPlatform } from "../harness.ts";

function code(c: string) {
  return (e: unknown) => e instanceof ShellRunnerError && e.code === c;
}

/** True while a process with this id exists (`kill -0` succeeds). */
/** True while `pid` runs: a zombie (dead, not yet reaped by its new parent) does not count. */
async function alive(pid: number): Promise<boolean> {
  const r = await new ShellRunner().run("ps", ["-o", "stat=", "-p", String(pid)]);
  return r.code === 0 && !r.stdout.trim().startsWith("Z");
}

for (const p of await availablePlatforms()) {
  describe(`ShellRunner on ${p.name}`, () => {
    const runner = new ShellRunner();

    it("passes arguments as a vector: shell metacharacters stay literal", () =>
      withPlatform(p, async () => {
        const nasty = [
          "$(touch /tmp/iora-pwned); `id`",
          "a && b || c ; d | e > f < g",
          "*",
          "'\"\\",
          "$HOME ${PATH}",
          "line\nbreak",
        ];
        const r = await runner.run("printf", ["%s\\n", ...nasty]);
        assert.equal(r.code, 0);
        assert.equal(r.stdout, nasty.map((a) => a + "\n").join(""));
        await assert.rejects(platform().stat("/tmp/iora-pwned"));
      }));

    it("uses a shell only when asked, with args as positional parameters", () =>
      withPlatform(p, async () => {
        const r = await runner.run('echo "$1|$2"', ["a b", "$(c)"], { shell: true });
        assert.equal(r.stdout, "a b|$(c)\n");
        const status = await runner.run("exit 3", [], { shell: true });
        assert.equal(status.code, 3);
        assert.equal(status.signal, null);
      }));

    it("checks the allow-list before spawning", () =>
      withPlatform(p, async () => {
        const strict = new ShellRunner({ allowedCommands: ["echo"] });
        assert.equal((await strict.run("echo", ["ok"])).stdout, "ok\n");
        await assert.rejects(strict.run("rm", ["-rf", "/tmp/x"]), code("CommandNotAllowed"));
        await assert.rejects(strict.run("/bin/echo", ["x"]), code("CommandNotAllowed"));
        await assert.rejects(strict.run("echo", ["x"], { shell: true }), code("CommandNotAllowed"));
        assert.equal(strict.getStats().refused, 3);
        assert.equal(strict.getStats().runs, 1);
      }));

    it("feeds stdin as text or bytes", () =>
      withPlatform(p, async () => {
        assert.equal((await runner.run("cat", [], { stdin: "héllo\n" })).stdout, "héllo\n");
        const bytes = new Uint8Array(70_000).fill(65);
        assert.equal((await runner.run("wc", ["-c"], { stdin: bytes })).stdout.trim(), "70000");
      }));

    it("merges or clears the environment and honours cwd", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const merged = await runner.run("/usr/bin/env", [], { env: { IORA_T: "1" } });
        assert.match(merged.stdout, /^IORA_T=1$/m);
        assert.match(merged.stdout, /^PATH=/m);
        const clean = await runner.run("/usr/bin/env", [], { clearEnv: true, env: { ONLY: "x" } });
        assert.equal(clean.stdout, "ONLY=x\n");
        const pwd = await runner.run("pwd", [], { cwd: dir.path });
        assert.equal(pwd.stdout.trim(), await platform().realPath(dir.path));
      }));

    it("kills a timed-out command, and the process is gone afterwards", () =>
      withPlatform(p, async () => {
        const r = await runner.run("sleep", ["30"], { timeoutMs: 100 });
        assert.equal(r.timedOut, true);
        assert.equal(r.signal, "SIGTERM");
        assert.equal(r.code, null);
        assert.ok(r.durationMs < 10_000);
        assert.equal(await alive(r.pid), false);
      }));

    it("a timeout kills what the command started too (its whole process group)", () =>
      withPlatform(p, async () => {
        const r = await runner.run("sleep 30 & echo $!; wait", [], { shell: true, timeoutMs: 200 });
        assert.equal(r.timedOut, true);
        const grandchild = Number(r.stdout.trim());
        assert.ok(grandchild > 0, r.stdout);
        await waitFor(async () => !(await alive(grandchild)), {
          what: "the grandchild to be killed with its group",
        });
        assert.equal(await alive(r.pid), false);
      }));

    it("a timeout beyond setTimeout's 2^31-1 ms range (or Infinity) lets the command finish", () =>
      withPlatform(p, async () => {
        // Runtimes run an out-of-range setTimeout after 1 ms: the command was killed at once.
        const long = new ShellRunner({ timeoutMs: 2 ** 31 });
        for (
          const r of [
            await long.run("sleep", ["0.2"]),
            await runner.run("sleep", ["0.2"], { timeoutMs: Infinity }),
          ]
        ) {
          assert.equal(r.timedOut, false);
          assert.equal(r.signal, null);
          assert.equal(r.code, 0);
        }
      }));

    it("escalates to SIGKILL when SIGTERM is ignored", () =>
      withPlatform(p, async () => {
        const r = await runner.run(
          "trap '' TERM; echo ready; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
          [],
          {
            shell: true,
            timeoutMs: 150,
            killGraceMs: 150,
          },
        );
        assert.equal(r.timedOut, true);
        assert.equal(r.signal, "SIGKILL");
        assert.ok(r.durationMs < 5000, "ended by SIGKILL, not by the loop's own end");
        assert.equal(r.stdout, "ready\n");
        assert.equal(await alive(r.pid), false);
      }));

    it("caps output per stream and reports the truncation", () =>
      withPlatform(p, async () => {
        const r = await runner.run("head", ["-c", "200000", "/dev/zero"], { maxOutputBytes: 1000 });
        assert.equal(r.code, 0, "the process was drained, not blocked");
        assert.equal(r.stdout.length, 1000);
        assert.deepEqual(r.truncated, { stdout: true, stderr: false });
        const exact = await runner.run("printf", ["12345"], { maxOutputBytes: 5 });
        assert.deepEqual(exact.truncated, { stdout: false, stderr: false });
        assert.equal(exact.stdout, "12345");
      }));

    it("does not wait forever for a grandchild holding the pipe", () =>
      withPlatform(p, async () => {
        const r = await withDeadline(
          runner.run("sleep 20 & echo $!", [], { shell: true }),
          5000,
          "run() despite a background grandchild",
        );
        const orphan = Number(r.stdout.trim());
        assert.ok(orphan > 0);
        // Reading stopped while the grandchild still held the pipe: the result says so.
        assert.deepEqual(r.truncated, { stdout: true, stderr: true });
        await runner.run("kill", ["-KILL", String(orphan)]);
      }));

    it("aborts through an AbortSignal", () =>
      withPlatform(p, async () => {
        const controller = new AbortController();
        const running = runner.run("sleep", ["30"], { signal: controller.signal });
        // run() spawns and listens for the abort before it first yields: the child is running.
        controller.abort();
        const r = await running;
        assert.equal(r.aborted, true);
        assert.equal(r.timedOut, false);
        assert.equal(r.signal, "SIGTERM");
      }));

    it("rejects a missing command and bad arguments clearly", () =>
      withPlatform(p, async () => {
        await assert.rejects(runner.run("/nonexistent/iora-cmd"), code("SpawnFailed"));
        await assert.rejects(runner.run(""), code("InvalidArgument"));
        await assert.rejects(runner.run("echo", ["a\0b"]), code("InvalidArgument"));
        await assert.rejects(
          runner.run("echo", [], { timeoutMs: -1 }),
          code("InvalidArgument"),
        );
      }));
  });
}

/**
 * The `test` task: provisions what the tests need, runs the suite under
 * Deno, builds the npm package, runs the runtime-neutral tests under Node,
 * and ends with one line `N passed, N failed` over both runtimes.
 *
 * Usage: `deno task test [path-filter ...]` — filters (substrings of test
 * file paths) narrow both runs, for working on one area.
 *
 * @module
 */
import { buildNpm, walk } from "./build_npm.ts";

const ROOT = new URL("../", import.meta.url);

/** The permissions the suite needs, and nothing more. */
export const TEST_PERMISSIONS: string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
  "--allow-net",
];

/** System tools the tests use: command -> Debian package. */
const SYSTEM_TOOLS: Record<string, string> = {
  openssl: "openssl",
  curl: "curl",
  nsd: "nsd",
  dig: "dnsutils",
};

async function run(cmd: string, args: string[], options: { capture?: boolean; cwd?: URL } = {}) {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? ROOT,
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  // Tee the output: show it live and keep it to read the runner's summary.
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    chunks.push(decoder.decode(chunk, { stream: true }));
  }
  const status = await child.status;
  return { success: status.success, output: chunks.join("") };
}

async function has(command: string): Promise<boolean> {
  const { success } = await new Deno.Command("sh", {
    args: ["-c", `command -v ${command}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return success;
}

/** Installs missing system tools with apt-get when root; otherwise fails naming them. */
async function provision(): Promise<void> {
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(SYSTEM_TOOLS)) {
    if (!(await has(command))) missing.push(pkg);
  }
  if (missing.length === 0) return;
  const isRoot = Deno.uid?.() === 0;
  if (!isRoot || !(await has("apt-get"))) {
    throw new Error(`the tests need these packages; install them first: ${missing.join(" ")}`);
  }
  console.log(`installing ${missing.join(" ")} with apt-get`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await new Deno.Command("apt-get", { args: ["update", "-qq"], env, stdout: "null" }).output();
  const install = await new Deno.Command("apt-get", {
    args: ["install", "-y", "-qq", "--no-install-recommends", ...missing],
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!install.success) throw new Error(`apt-get install ${missing.join(" ")} failed`);
}

/** Reads Deno's closing `ok | 12 passed (30 steps) | 0 failed (1 step)` line. */
export function denoCounts(output: string): { passed: number; failed: number } | null {
  const line = output.split("\n").reverse().find((l) => /^(ok|FAILED) \| \d+ passed/.test(l));
  if (!line) return null;
  const count = (re: RegExp) => {
    const m = re.exec(line);
    return m ? Number(m[1]) + Number(m[2] ?? 0) : 0;
  };
  return {
    passed: count(/(\d+) passed(?: \((\d+) steps?\))?/),
    failed: count(/(\d+) failed(?: \((\d+) steps?\))?/),
  };
}

/** Reads the `ℹ pass N` / `ℹ fail N` (or TAP `# pass N`) summary of `node --test`. */
export function nodeCounts(output: string): { passed: number; failed: number } | null {
  const pass = /^[ℹ#] pass (\d+)/m.exec(output);
  const fail = /^[ℹ#] fail (\d+)/m.exec(output);
  if (!pass || !fail) return null;
  return { passed: Number(pass[1]), failed: Number(fail[1]) };
}

/** Keeps the paths containing any of the filters (all of them when there is none). */
function matching(paths: string[], filters: string[]): string[] {
  return paths.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
}

async function main(): Promise<number> {
  const filters = Deno.args;
  await provision();
  let passed = 0;
  let failed = 0;
  let broken = false;

  // The build comes first: the Deno run includes a test of the package from a real Node process.
  console.log("== npm build ==");
  const compiled = await buildNpm();
  const nodeTests = matching(compiled, filters);

  console.log("== Deno ==");
  const denoTests = matching(
    (await walk(new URL("tests/", ROOT), [], "tests/")).filter((f) => f.endsWith("_test.ts"))
      .sort(),
    filters,
  );
  const deno = await run(Deno.execPath(), [
    "test",
    ...TEST_PERMISSIONS,
    "--parallel",
    ...denoTests,
  ]);
  const d = denoCounts(deno.output);
  if (d) {
    passed += d.passed;
    failed += d.failed;
  }
  if (!deno.success || !d) broken = true;

  console.log("== Node ==");
  const node = await run("node", [
    "--test",
    "--test-reporter=spec",
    "--test-concurrency=2",
    ...nodeTests,
  ], {
    cwd: new URL("npm/", ROOT),
  });
  const n = nodeCounts(node.output);
  if (n) {
    passed += n.passed;
    failed += n.failed;
  }
  if (!node.success || !n) broken = true;

  if (broken && failed === 0) failed = 1; // a runner that crashed counts as a failure
  console.log(
    `\nDeno: ${d ? `${d.passed} passed, ${d.failed} failed` : "no summary"}; ` +
      `Node: ${n ? `${n.passed} passed, ${n.failed} failed` : "no summary"}`,
  );
  console.log(`${passed} passed, ${failed} failed`);
  return broken || failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());

/**
 * The `test` task: provisions what the tests need, runs the suite under
 * Deno, builds the npm package, runs the runtime-neutral tests under Node,
 * and ends with one line `N passed, N failed` over both runtimes.
 *
 * Usage: `deno task test [--deno-only] [--no-check] [path-filter ...]` — `--deno-only` skips
 * the npm build and the Node run; filters (substrings of test
 * file paths) narrow both runs, for working on one area. Filters that match
 * no test file fail the run rather than widen it to the whole suite.
 *
 * A full run (no filter, not `--deno-only`) is what CI runs, so it runs the
 * gates of `deno task check` first (fmt, lint, type-check, import circles,
 * doc lint, publish dry run) and fails without testing when one fails;
 * `--no-check` skips them for a quick local run.
 *
 * Both runtimes count the same unit: a test case (`it()`/`test()`), never a
 * `describe()`; the counts come from each runner's JUnit report.
 *
 * @module
 */
import { walk } from "./_files.ts";
import { buildNpm } from "./build_npm.ts";
import { runChecks } from "./check.ts";

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
  "redis-server": "redis-server",
  nginx: "nginx",
  promtool: "prometheus",
  chromium: "chromium",
  ss: "iproute2",
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

/** Passed and failed test cases of one runner. */
export interface Counts {
  passed: number;
  failed: number;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi,
    (_m, e: string) =>
      e[0] === "#"
        ? String.fromCodePoint(
          e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1)),
        )
        : ENTITIES[e.toLowerCase()],
  );
}

interface JunitCase {
  name: string;
  failed: boolean;
  skipped: boolean;
}

/** The `<testcase>` elements of a JUnit report, in order, with their outcome. */
function junitCases(xml: string): JunitCase[] {
  const cases: JunitCase[] = [];
  const tag = /<testcase\b([^>]*?)(\/?)>/g;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const name = unescapeXml(/\bname="([^"]*)"/.exec(m[1])?.[1] ?? "");
    let body = "";
    if (m[2] !== "/") {
      const end = xml.indexOf("</testcase>", tag.lastIndex);
      body = xml.slice(tag.lastIndex, end < 0 ? xml.length : end);
    }
    cases.push({
      name,
      failed: /<(failure|error)\b/.test(body) || /\bfailure="/.test(m[1]),
      skipped: /<skipped\b/.test(body),
    });
  }
  return cases;
}

/**
 * Counts test cases in Deno's JUnit report (`deno test --junit-path`) the way
 * Node counts them: every `it()`/`test()` that runs a body is one case, a
 * `describe()` is none. Deno runs node:test's `describe` as a test and its
 * `it`s as steps, and lists both as `<testcase>`, steps under their full
 * path (`suite > inner > case`); a case whose path prefixes another is a
 * suite, not counted. A suite that failed with no failed case inside (a hook
 * threw) counts as one failure.
 */
export function denoCounts(junit: string): Counts | null {
  if (!/<testsuites\b/.test(junit)) return null;
  const cases = junitCases(junit);
  const parents = new Set<string>();
  for (const c of cases) {
    const parts = c.name.split(" > ");
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join(" > "));
  }
  const failedLeaves = new Set<string>();
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    if (parents.has(c.name) || c.skipped) continue;
    if (c.failed) {
      failed++;
      failedLeaves.add(c.name);
    } else passed++;
  }
  for (const c of cases) {
    if (!c.failed || !parents.has(c.name)) continue;
    const inside = [...failedLeaves].some((leaf) => leaf.startsWith(`${c.name} > `));
    if (!inside) failed++;
  }
  return { passed, failed };
}

/**
 * Counts test cases in Node's JUnit report (`--test-reporter=junit`): Node
 * writes a test with subtests, like a `describe`, as a `<testsuite>`, so the
 * `<testcase>` elements are exactly the cases that ran a body.
 */
export function nodeCounts(junit: string): Counts | null {
  if (!/<testsuites\b/.test(junit)) return null;
  let passed = 0;
  let failed = 0;
  for (const c of junitCases(junit)) {
    if (c.skipped) continue;
    if (c.failed) failed++;
    else passed++;
  }
  // A suite whose hook failed has no failed case of its own.
  if (failed === 0 && /<testsuite\b[^>]*\bfailures="[1-9]/.test(junit)) failed = 1;
  return { passed, failed };
}

/** Keeps the paths containing any of the filters (all of them when there is none). */
export function matching(paths: string[], filters: string[]): string[] {
  return paths.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
}

async function readReport(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

/**
 * Waits until no other test run of this working tree is under way, and holds it until this
 * process ends: every run rebuilds `npm/`, and two at once delete each other's files.
 */
async function lockTree(): Promise<void> {
  await Deno.mkdir(new URL(".tmp/", ROOT), { recursive: true });
  const file = await Deno.open(new URL(".tmp/test.lock", ROOT), { create: true, write: true });
  const locked = file.lock(true);
  const waiting = setTimeout(() => console.log("waiting for another test run of this tree"), 1000);
  await locked;
  clearTimeout(waiting);
}

async function main(): Promise<number> {
  // --deno-only: the Deno run alone, without the npm build (and so without the tests of it).
  const denoOnly = Deno.args.includes("--deno-only");
  const noCheck = Deno.args.includes("--no-check");
  const filters = Deno.args.filter((a) => a !== "--deno-only" && a !== "--no-check");
  const denoTests = matching(
    (await walk(new URL("tests/", ROOT), [], "tests/")).filter((f) =>
      f.endsWith("_test.ts") && !(denoOnly && f.includes("npm_package"))
    )
      .sort(),
    filters,
  );
  // An empty list would make either runner run everything it finds: a typo must not pass.
  if (denoTests.length === 0) {
    console.error(`no test file matches ${filters.map((f) => JSON.stringify(f)).join(", ")}`);
    console.log("0 passed, 1 failed");
    return 1;
  }
  if (filters.length === 0 && !denoOnly && !noCheck) {
    console.log("== check (skip with --no-check) ==");
    const failed = await runChecks();
    if (failed.length > 0) {
      console.error(`check failed: ${failed.join(", ")}; the tests did not run`);
      console.log("0 passed, 1 failed");
      return 1;
    }
  }
  await provision();
  await lockTree();
  let passed = 0;
  let failed = 0;
  let broken = false;
  const reports = await Deno.makeTempDir({ prefix: "iora-test-" });

  // The build comes first: the Deno run includes a test of the package from a real Node process.
  let nodeTests: string[] = [];
  if (!denoOnly) {
    console.log("== npm build ==");
    nodeTests = matching(await buildNpm(), filters);
  }

  console.log("== Deno ==");
  const denoReport = `${reports}/deno.xml`;
  const deno = await run(Deno.execPath(), [
    "test",
    ...TEST_PERMISSIONS,
    "--parallel",
    `--junit-path=${denoReport}`,
    ...denoTests,
  ]);
  const d = denoCounts(await readReport(denoReport));
  if (d) {
    passed += d.passed;
    failed += d.failed;
  }
  if (!deno.success || !d) broken = true;

  let n: Counts | null = null;
  if (denoOnly) {
    console.log("== Node: skipped (--deno-only) ==");
  } else if (nodeTests.length === 0) {
    console.log("== Node: no runtime-neutral test file matches ==");
  } else {
    console.log("== Node ==");
    const nodeReport = `${reports}/node.xml`;
    const node = await run("node", [
      "--test",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=junit",
      `--test-reporter-destination=${nodeReport}`,
      "--test-concurrency=2",
      ...nodeTests,
    ], {
      cwd: new URL("npm/", ROOT),
    });
    n = nodeCounts(await readReport(nodeReport));
    if (n) {
      passed += n.passed;
      failed += n.failed;
    }
    if (!node.success || !n) broken = true;
  }
  await Deno.remove(reports, { recursive: true }).catch(() => {});

  if (broken && failed === 0) failed = 1; // a runner that crashed counts as a failure
  const summary = (c: Counts | null, ran: boolean) =>
    c ? `${c.passed} passed, ${c.failed} failed` : ran ? "no summary" : "not run";
  console.log(
    `\nTest cases (it/test, not describe): Deno: ${summary(d, true)}; ` +
      `Node: ${summary(n, nodeTests.length > 0)}`,
  );
  console.log(`${passed} passed, ${failed} failed`);
  return broken || failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());

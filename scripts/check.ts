/**
 * The `check` task: formatting, lint, type-check of everything, no import
 * circle in the library (`import_cycles.ts`), the JSDoc lint of the public
 * surface and the JSR publish dry run. Runs every gate and fails when any
 * fails. A full `deno task test` runs them first (see `scripts/test.ts`).
 *
 * @module
 */
const ROOT = new URL("../", import.meta.url);

/** The gates, in order: a name and the `deno` arguments that run it. */
async function gates(): Promise<[string, string[]][]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    exports: Record<string, string>;
  };
  return [
    ["fmt", ["fmt", "--check"]],
    ["lint", ["lint"]],
    ["type-check", ["check", "."]],
    [
      "import circles",
      ["run", "--allow-read", "--allow-write", "--allow-run", "scripts/import_cycles.ts"],
    ],
    ["doc lint", ["doc", "--lint", ...Object.values(config.exports)]],
    ["publish dry run", ["publish", "--dry-run", "--allow-dirty"]],
  ];
}

/** Runs every gate, printing its output; resolves with the names of those that failed. */
export async function runChecks(): Promise<string[]> {
  const failed: string[] = [];
  for (const [name, args] of await gates()) {
    console.log(`== ${name}: deno ${args.join(" ")}`);
    const { success } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!success) failed.push(name);
  }
  return failed;
}

if (import.meta.main) {
  const failed = await runChecks();
  if (failed.length > 0) {
    console.error(`check failed: ${failed.join(", ")}`);
    Deno.exit(1);
  }
  console.log("check passed");
}

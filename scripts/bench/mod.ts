/**
 * The `bench` task: runs every benchmark in this folder under Deno, then
 * (after an npm build with the benchmark peers) under Node. Each benchmark
 * prints its own figures and ratios against its peers.
 *
 * Usage: `deno task bench [name ...] [--deno-only | --node-only]`, where a
 * name is a file name in `scripts/bench/` without `.ts` (for example
 * `timer`).
 *
 * @module
 */
import { buildNpm } from "../build_npm.ts";

const HERE = new URL("./", import.meta.url);
const ROOT = new URL("../../", import.meta.url);
const flags = new Set(Deno.args.filter((a) => a.startsWith("--")));
const names = Deno.args.filter((a) => !a.startsWith("--"));

const all: string[] = [];
for await (const entry of Deno.readDir(HERE)) {
  if (
    entry.isFile && entry.name.endsWith(".ts") && entry.name !== "mod.ts" &&
    !entry.name.startsWith("_")
  ) {
    all.push(entry.name.slice(0, -3));
  }
}
const chosen = all.sort().filter((n) => names.length === 0 || names.includes(n));
if (chosen.length === 0) {
  console.error(`no benchmark matches ${names.join(", ")}; available: ${all.join(", ")}`);
  Deno.exit(2);
}

async function run(cmd: string, args: string[]): Promise<boolean> {
  const { success } = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  return success;
}

const failed: string[] = [];
if (!flags.has("--node-only")) {
  for (const name of chosen) {
    console.log(`\n== ${name} (Deno ${Deno.version.deno}) ==`);
    if (!(await run(Deno.execPath(), ["run", "-A", `scripts/bench/${name}.ts`]))) {
      failed.push(`deno:${name}`);
    }
  }
}
if (!flags.has("--deno-only")) {
  await buildNpm({ bench: true });
  const node = new TextDecoder().decode(
    (await new Deno.Command("node", { args: ["--version"] }).output()).stdout,
  );
  for (const name of chosen) {
    console.log(`\n== ${name} (Node ${node.trim()}) ==`);
    if (!(await run("node", [`npm/scripts/bench/${name}.js`]))) failed.push(`node:${name}`);
  }
}
if (failed.length > 0) {
  console.error(`benchmarks failed: ${failed.join(", ")}`);
  Deno.exit(1);
}

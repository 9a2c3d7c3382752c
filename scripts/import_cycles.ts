/**
 * Finds import circles in the library: every module of the published folders, with every kind of
 * import (`import type` and dynamic `import()` included), as `deno info --json` resolves them.
 * Prints each circle as a path and exits with 1 when there is one; a step of `deno task check`.
 *
 * Usage: `deno run --allow-read --allow-write --allow-run scripts/import_cycles.ts`
 *
 * @module
 */
import { LIBRARY_DIRS, walk } from "./_files.ts";

const ROOT = new URL("../", import.meta.url);

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/** The import graph: module URL -> the library module URLs it imports. */
export type ImportGraph = Map<string, Set<string>>;

/** The library's import graph, from one `deno info --json` of a module importing all of it. */
export async function libraryGraph(): Promise<ImportGraph> {
  const files = ["mod.ts"];
  for (const dir of LIBRARY_DIRS) {
    files.push(
      ...(await walk(new URL(`${dir}/`, ROOT), [], `${dir}/`)).filter((f) => f.endsWith(".ts")),
    );
  }
  await Deno.mkdir(new URL(".tmp/", ROOT), { recursive: true });
  const entry = new URL(`.tmp/all_modules_${crypto.randomUUID()}.ts`, ROOT);
  await Deno.writeTextFile(entry, files.map((f) => `import "${new URL(f, ROOT)}";\n`).join(""));
  try {
    const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry.pathname],
      cwd: ROOT,
    }).output();
    if (!success) throw new Error(`deno info failed: ${new TextDecoder().decode(stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(stdout)) as { modules: InfoModule[] };
    const inLibrary = (url: string | undefined): url is string =>
      url !== undefined && url.startsWith(ROOT.href) && url !== entry.href;
    const graph: ImportGraph = new Map();
    for (const module of info.modules) {
      if (!inLibrary(module.specifier)) continue;
      const edges = new Set<string>();
      for (const dep of module.dependencies ?? []) {
        for (const target of [dep.code?.specifier, dep.type?.specifier]) {
          if (inLibrary(target)) edges.add(target);
        }
      }
      graph.set(module.specifier, edges);
    }
    return graph;
  } finally {
    await Deno.remove(entry).catch(() => {});
  }
}

/** One set of modules that import each other, and one circle through them as an example. */
export interface ImportCycle {
  /** Every module of the strongly connected component, sorted. */
  modules: string[];
  /** A path from the first module back to itself. */
  example: string[];
}

/**
 * The circles of `graph`: one per strongly connected component of more than one module (or a
 * module importing itself).
 */
export function findCycles(graph: ImportGraph): ImportCycle[] {
  // Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: [string, string[]][] = [[start, [...(graph.get(start) ?? [])]]];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const [node, pending] = work[work.length - 1];
      const next = pending.pop();
      if (next !== undefined) {
        if (!index.has(next)) {
          index.set(next, counter);
          low.set(next, counter++);
          stack.push(next);
          onStack.add(next);
          work.push([next, [...(graph.get(next) ?? [])]]);
        } else if (onStack.has(next)) {
          low.set(node, Math.min(low.get(node)!, index.get(next)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(node)!));
      }
      if (low.get(node) === index.get(node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== node);
        if (component.length > 1 || graph.get(node)?.has(node)) components.push(component);
      }
    }
  }
  return components.map((component) => ({
    modules: component.sort(),
    example: circleThrough(graph, new Set(component)),
  }));
}

/** One circle through the component's first module, found breadth-first inside the component. */
function circleThrough(graph: ImportGraph, component: Set<string>): string[] {
  const [start] = [...component].sort();
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!component.has(next)) continue;
      if (next === start) {
        const back = [node];
        while (back[back.length - 1] !== start) back.push(previous.get(back[back.length - 1])!);
        return [...back.reverse(), start];
      }
      if (next !== start && !previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

if (import.meta.main) {
  const cycles = findCycles(await libraryGraph());
  const rel = (url: string) => url.slice(ROOT.href.length);
  for (const { modules, example } of cycles) {
    console.error(
      `import circle among ${modules.map(rel).join(", ")}\n  for example ${
        example.map(rel).join(" -> ")
      }`,
    );
  }
  if (cycles.length > 0) Deno.exit(1);
  console.log("no import circle in the library");
}

// The library has no import circle (type-only and dynamic imports included), and the finder that
// `deno task check` runs finds one where there is one. Deno-only: it runs `deno info`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findCycles, type ImportGraph, libraryGraph } from "../scripts/import_cycles.ts";

function graph(edges: Record<string, string[]>): ImportGraph {
  return new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));
}

describe("import circles", () => {
  it("finds a circle through every module of it, and none in a tree", () => {
    const found = findCycles(graph({ a: ["b"], b: ["c", "d"], c: ["a"], d: [], e: ["e"] }));
    assert.deepEqual(found.map((c) => c.modules).sort(), [["a", "b", "c"], ["e"]]);
    const abc = found.find((c) => c.modules.length === 3)!;
    assert.deepEqual(abc.example, ["a", "b", "c", "a"]);
    assert.deepEqual(findCycles(graph({ a: ["b", "c"], b: ["c"], c: [] })), []);
  });

  it("the library has none", async () => {
    const library = await libraryGraph();
    assert.ok(library.size > 100, `only ${library.size} modules in the graph`);
    assert.deepEqual(findCycles(library).map((c) => c.example), []);
  });
});

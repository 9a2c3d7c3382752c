/**
 * Builds the npm package into `npm/` — our replacement for dnt, which lives
 * on JSR and is out of reach. Each module is transpiled on its own with the
 * TypeScript compiler (`transpileModule` per file, declarations from one
 * unchecked program, possible because the sources have no slow types), relative `.ts` specifiers are
 * rewritten to `.js`, and `npm:` specifiers to bare package names.
 *
 * Besides the package it compiles the runtime-neutral tests (every
 * `*_test.ts` except `*_deno_test.ts`), their fixtures and the benchmarks,
 * which package.json's `files` keeps out of the published package.
 *
 * Usage: `deno task build:npm [--bench] [--update-lock]` (`--bench` also
 * installs the benchmark peers). Dependencies install with `npm ci` from the
 * committed lockfile `scripts/npm-lock/package-lock.json` (with `--bench`,
 * `scripts/npm-lock/bench/package-lock.json`), never resolved afresh;
 * `--update-lock` resolves them with `npm install` and rewrites that lockfile.
 *
 * @module
 */
import ts from "npm:typescript@6.0.3";
import { LIBRARY_DIRS, walk } from "./_files.ts";

const ROOT = new URL("../", import.meta.url);
const OUT = new URL("npm/", ROOT);
/** Layers with an export entry. */
const LAYERS = ["core", "parsers", "network", "dns", "http", "service", "plugins"];

interface DenoConfig {
  name: string;
  version: string;
  license: string;
  imports: Record<string, string>;
}

const JSON_IMPORT =
  /import\s+(\w+)\s+from\s*(["'])(\.\.?\/[^"']+\.json)\2\s*with\s*\{\s*type:\s*["']json["']\s*\};?/g;

/**
 * Inlines the JSON modules `code` imports (`import x from "../deno.json" with { type: "json" }`)
 * as constants: the package does not ship those files, and Node before 20.10 cannot parse
 * import attributes.
 */
async function inlineJson(code: string, rel: string): Promise<string> {
  const found = [...code.matchAll(JSON_IMPORT)];
  for (const [statement, name, , specifier] of found) {
    const file = new URL(specifier, new URL(rel, ROOT));
    const value = JSON.stringify(JSON.parse(await Deno.readTextFile(file)));
    code = code.replace(statement, `const ${name} = ${value};`);
  }
  return code;
}

const NPM_SPECIFIER = /(["'])npm:((?:@[^/@"']+\/)?[^/@"']+)(?:@[^/"']*)?(\/[^"']*)?\1/g;
const RELATIVE_TS = /((?:from|import)\s*\(?\s*)(["'])(\.\.?\/[^"']*?)\.ts\2/g;

/** Rewrites `npm:` specifiers to bare names, recording each package and its version range. */
function rewriteNpm(
  code: string,
  packages: Map<string, string>,
  rangesFromSource: boolean,
): string {
  return code.replace(NPM_SPECIFIER, (_m, quote, name, sub = "") => {
    if (rangesFromSource && !packages.has(name)) {
      const range = /npm:(?:@[^/@"']+\/)?[^/@"']+@([^/"']+)/.exec(_m)?.[1] ?? "*";
      packages.set(name, range);
    }
    return `${quote}${name}${sub}${quote}`;
  });
}

function fail(file: string, diagnostics: readonly ts.Diagnostic[]): never {
  const text = diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) return message;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${file}:${line + 1}:${character + 1}: ${message}`;
  }).join("\n  ");
  throw new Error(`cannot build ${file}:\n  ${text}`);
}

/** Transpiles one module into `npm/`. */
async function compile(rel: string, devPackages: Map<string, string>) {
  const source = await Deno.readTextFile(new URL(rel, ROOT));
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2022,
    rewriteRelativeImportExtensions: true,
    useDefineForClassFields: true,
    sourceMap: false,
  };
  const js = ts.transpileModule(source, {
    compilerOptions: options,
    fileName: rel,
    reportDiagnostics: true,
  });
  if (js.diagnostics?.length) fail(rel, js.diagnostics);
  const outJs = new URL(rel.replace(/\.ts$/, ".js"), OUT);
  await Deno.mkdir(new URL(".", outJs), { recursive: true });
  // Inlined after the rewrite: the JSON's own `npm:` strings are data, not imports.
  const code = await inlineJson(rewriteNpm(js.outputText, devPackages, true), rel);
  await Deno.writeTextFile(outJs, code);
}

function exportsMap(): Record<string, { types: string; default: string }> {
  const entry = (path: string) => ({ types: `./${path}.d.ts`, default: `./${path}.js` });
  const map: Record<string, { types: string; default: string }> = { ".": entry("mod") };
  for (const layer of LAYERS) map[`./${layer}`] = entry(`${layer}/mod`);
  // Its own entry, so that only the applications that use Redis load its client.
  map["./cluster"] = entry("service/cluster/mod");
  return map;
}

function rangeOf(specifier: string): string {
  return /^npm:(?:@[^/@]+\/)?[^/@]+@([^/]+)/.exec(specifier)?.[1] ?? "*";
}

/**
 * Emits the library's declarations in one program. `noCheck` and
 * `noResolve` keep it fast and independent of Deno's types, which works
 * because the sources are written for isolated declarations. (Per-file
 * `transpileDeclaration` emits computed symbol methods twice.)
 */
async function emitDeclarations(library: string[], packages: Map<string, string>): Promise<void> {
  const program = ts.createProgram(library.map((f) => new URL(f, ROOT).pathname), {
    declaration: true,
    emitDeclarationOnly: true,
    noCheck: true,
    noResolve: true,
    // Symbol.dispose must be known as a well-known symbol, or methods named by it are emitted twice.
    lib: ["lib.esnext.d.ts", "lib.dom.d.ts"],
    isolatedDeclarations: true,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    rootDir: ROOT.pathname,
    outDir: OUT.pathname,
  });
  const written: Promise<void>[] = [];
  const result = program.emit(undefined, (fileName, text) => {
    const declarations = rewriteNpm(text, packages, true).replace(RELATIVE_TS, "$1$2$3.js$2");
    written.push(Deno.writeTextFile(fileName, declarations));
  });
  await Promise.all(written);
  if (result.diagnostics.length > 0) fail("declarations", result.diagnostics);
}

/**
 * Type-checks the emitted declarations as a Node consumer would see them,
 * so a declaration that only made sense to Deno fails the build.
 */
function checkDeclarations(library: string[]): void {
  const rootNames = library.map((f) => new URL(f.replace(/\.ts$/, ".d.ts"), OUT).pathname);
  const program = ts.createProgram(rootNames, {
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.esnext.d.ts", "lib.dom.d.ts"],
    types: ["node"],
    typeRoots: [new URL("node_modules/@types/", OUT).pathname],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => OUT.pathname,
      getNewLine: () => "\n",
    };
    throw new Error(
      `the npm declarations do not type-check:\n${
        ts.formatDiagnostics(diagnostics.slice(0, 20), host)
      }`,
    );
  }
}

/**
 * The lockfiles the build installs from, one for each package.json it writes:
 * the test build's, and the benchmark build's, which adds the peers.
 */
const LOCKFILES = {
  test: new URL("scripts/npm-lock/package-lock.json", ROOT),
  bench: new URL("scripts/npm-lock/bench/package-lock.json", ROOT),
};

async function npm(args: string[]): Promise<boolean> {
  const { success } = await new Deno.Command("npm", {
    args: [...args, "--no-audit", "--no-fund", "--loglevel=error"],
    cwd: OUT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return success;
}

/**
 * Installs the dependencies of `npm/` exactly as `lockfile` pins them (`npm ci`,
 * which fails when package.json asks for something the lockfile does not
 * hold). With `update`, resolves afresh (`npm install`) and writes the new
 * lockfile back, for when a dependency changed.
 */
async function install(lockfile: URL, update: boolean): Promise<void> {
  const local = new URL("package-lock.json", OUT);
  const rel = lockfile.href.slice(ROOT.href.length);
  if (update) {
    // Without registry URLs: the lockfile pins versions and hashes, not where they came from.
    if (!(await npm(["install", "--omit-lockfile-registry-resolved"]))) {
      throw new Error("npm install in npm/ failed");
    }
    await Deno.mkdir(new URL(".", lockfile), { recursive: true });
    await Deno.copyFile(local, lockfile);
    console.log(`wrote ${rel}`);
    return;
  }
  try {
    await Deno.copyFile(lockfile, local);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(`${rel} is missing: run \`deno task build:npm --update-lock\` and commit it`);
  }
  if (!(await npm(["ci"]))) {
    throw new Error(
      `npm ci in npm/ failed (see npm's error above: another build writing npm/ at the same ` +
        `time fails so too); if a dependency changed, run ` +
        `\`deno task build:npm${lockfile === LOCKFILES.bench ? " --bench" : ""} --update-lock\` ` +
        `and commit ${rel}`,
    );
  }
}

/** Builds `npm/`; resolves with the list of compiled test files (relative to `npm/`). */
export async function buildNpm(
  options: { bench?: boolean; install?: boolean; updateLock?: boolean } = {},
): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as DenoConfig;
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  await Deno.mkdir(OUT, { recursive: true });

  const packages = new Map<string, string>();
  const library = ["mod.ts"];
  for (const dir of LIBRARY_DIRS) {
    for (const f of await walk(new URL(`${dir}/`, ROOT), [], `${dir}/`)) {
      if (f.endsWith(".ts") && !f.endsWith("_test.ts")) library.push(f);
    }
  }
  const tests: string[] = [];
  const testSupport: string[] = [];
  for (const f of await walk(new URL("tests/", ROOT), [], "tests/")) {
    if (f.endsWith("_deno_test.ts")) continue;
    if (f.endsWith("_test.ts")) tests.push(f);
    else testSupport.push(f);
  }
  const bench = (await walk(new URL("scripts/bench/", ROOT), [], "scripts/bench/"))
    .filter((f) => f.endsWith(".ts"));

  for (const f of library) await compile(f, packages);
  await emitDeclarations(library, packages);
  const runtimePackages = new Map(packages);
  for (const f of [...tests, ...testSupport.filter((f) => f.endsWith(".ts"))]) {
    await compile(f, packages);
  }
  const testPackages = new Map([...packages].filter(([name]) => !runtimePackages.has(name)));
  for (const f of bench) await compile(f, packages);
  for (const f of testSupport.filter((f) => !f.endsWith(".ts"))) {
    const target = new URL(f, OUT);
    await Deno.mkdir(new URL(".", target), { recursive: true });
    await Deno.copyFile(new URL(f, ROOT), target);
  }
  for (const f of await walk(new URL("config/", ROOT), [], "config/")) {
    await Deno.mkdir(new URL("config/", OUT), { recursive: true });
    await Deno.copyFile(new URL(f, ROOT), new URL(f, OUT));
  }

  // Bare specifiers mapped in deno.json ("smol-toml": "npm:smol-toml@^1") take that range.
  const dependencies: Record<string, string> = {};
  const devDependencies: Record<string, string> = {};
  for (const [bare, specifier] of Object.entries(config.imports)) {
    if (!specifier.startsWith("npm:")) continue;
    const used = (await Promise.all(library.map((f) => Deno.readTextFile(new URL(f, ROOT)))))
      .some((text) => text.includes(`"${bare}"`));
    (used ? dependencies : devDependencies)[bare] = rangeOf(specifier);
  }
  for (const [name, range] of runtimePackages) dependencies[name] ??= range;
  for (const [name, range] of testPackages) devDependencies[name] ??= range;
  // The declarations are type-checked against Node's types after the install.
  devDependencies["@types/node"] = "^20";
  if (options.bench) {
    for (const [name, range] of packages) {
      if (!(name in dependencies)) devDependencies[name] ??= range;
    }
  }

  const hasCli = library.includes("service/main.ts");
  const pkg = {
    name: config.name,
    version: config.version,
    description:
      "Iora: a framework for high-performance networked services (Deno first, Node too).",
    license: config.license,
    type: "module",
    engines: { node: ">=20" },
    exports: exportsMap(),
    ...(hasCli ? { bin: { iora: "./service/main.js" } } : {}),
    files: [
      "mod.js",
      "mod.d.ts",
      ...LIBRARY_DIRS.map((d) => `${d}/`),
      "config/",
      "README.md",
      "LICENSE",
    ],
    dependencies,
    devDependencies,
  };
  await Deno.writeTextFile(new URL("package.json", OUT), JSON.stringify(pkg, null, 2) + "\n");
  await Deno.copyFile(new URL("README.md", ROOT), new URL("README.md", OUT)).catch(() => {});
  await Deno.copyFile(new URL("LICENSE", ROOT), new URL("LICENSE", OUT));
  if (hasCli) {
    const main = new URL("service/main.js", OUT);
    const text = await Deno.readTextFile(main);
    if (!text.startsWith("#!")) await Deno.writeTextFile(main, `#!/usr/bin/env node\n${text}`);
    await Deno.chmod(main, 0o755);
  }

  if (options.install ?? true) {
    await install(options.bench ? LOCKFILES.bench : LOCKFILES.test, options.updateLock ?? false);
    checkDeclarations(library);
  }
  return tests.map((f) => f.replace(/\.ts$/, ".js"));
}

if (import.meta.main) {
  const started = performance.now();
  const tests = await buildNpm({
    bench: Deno.args.includes("--bench"),
    updateLock: Deno.args.includes("--update-lock"),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`npm/ built in ${seconds} s (${tests.length} test files for Node)`);
}

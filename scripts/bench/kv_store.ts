/**
 * KvStore against `node:sqlite` (WAL, `synchronous=NORMAL`), npm `lmdb` and Deno KV, in one run,
 * durability stated per row:
 *
 * 1. sets of 100-byte values under 16-byte keys, one write per commit (batch 1) and 100 per
 *    commit (batch 100);
 * 2. 64 concurrent single-key writers (group commit) against one writer;
 * 3. random gets over 100k keys with our value cache at 10% of the data;
 * 4. p99 set latency while a compaction runs, against the same loop without one.
 *
 * Rows that fsync every commit (ours `always`, lmdb, Deno KV) run fewer operations than the
 * others, the same count on every side of a comparison. Rounds interleave ours and the peers; each
 * figure is the median with the min-max over the rounds.
 *
 * Usage: `deno run -A --no-lock --unstable-kv scripts/bench/kv_store.ts [--rounds=5]`
 * (`--no-lock` keeps the lmdb peer out of deno.lock; without `--unstable-kv` the Deno KV rows are
 * skipped and say so). Under Node (after the npm build) the `node:sqlite` rows need Node 22+ and
 * the lmdb rows need the `lmdb` package installed; missing peers are reported, not hidden.
 *
 * @module
 */
import { KvStore, type KvSyncMode } from "../../plugins/kv/store.ts";
import { platform } from "../../core/platform/mod.ts";

const isDeno = "Deno" in globalThis;
const runtime = isDeno ? "deno" : "node";
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const argv: string[] = isDeno ? g.Deno.args : g.process.argv.slice(2);
const ROUNDS = Number(argv.find((a) => a.startsWith("--rounds="))?.split("=")[1] ?? 5);
const N = 100_000;
const N_SYNC = 2_000; // operations for the rows that fsync every commit
const WRITERS = 64;
const VALUE = 100;
const dir = await platform().makeTempDir({ prefix: "iora-bench-kv-" });

const keys = Array.from({ length: N }, (_, i) => `key:${String(i).padStart(12, "0")}`); // 16 bytes
const values = Array.from({ length: 64 }, (_, i) => new Uint8Array(VALUE).fill(i + 1));
const value = (i: number) => values[i % values.length];
let run = 0;
const fresh = (name: string) => `${dir}/${name}-${run++}`;

// Peers, each loaded if it can be, with the reason when not.
interface SqliteDb {
  exec(sql: string): void;
  prepare(sql: string): {
    run(...args: unknown[]): unknown;
    get(...args: unknown[]): unknown;
  };
  close(): void;
}
interface Lmdb {
  put(key: string, value: Uint8Array): Promise<boolean>;
  getBinary(key: string): Uint8Array | undefined;
  transaction<T>(fn: () => T): Promise<T>;
  putSync(key: string, value: Uint8Array): boolean;
  close(): Promise<void>;
}
interface DenoKv {
  set(key: string[], value: Uint8Array): Promise<unknown>;
  get(key: string[]): Promise<{ value: unknown }>;
  atomic(): { set(key: string[], value: Uint8Array): unknown; commit(): Promise<unknown> };
  close(): void;
}
const missing: string[] = [];
let sqliteOpen: ((path: string) => SqliteDb) | undefined;
let sqliteVersion = "";
try {
  // Through a variable: node:sqlite has no types here (Node 20's @types), and Node 20 lacks it.
  const sqliteModule = "node:sqlite";
  const { DatabaseSync } = await import(sqliteModule) as {
    DatabaseSync: new (path: string) => unknown;
  };
  sqliteOpen = (path) => {
    const db = new DatabaseSync(path) as unknown as SqliteDb;
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    db.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID");
    return db;
  };
  const probe = sqliteOpen(":memory:");
  sqliteVersion = (probe.prepare("select sqlite_version() v").get() as { v: string }).v;
  probe.close();
} catch (error) {
  missing.push(`node:sqlite (${(error as Error).message.split("\n")[0]})`);
}
let lmdbOpen: ((path: string) => Lmdb) | undefined;
const LMDB_VERSION = "3.5.6";
try {
  const spec = isDeno ? `npm:lmdb@${LMDB_VERSION}` : "lmdb";
  const lmdb = await import(spec);
  lmdbOpen = (path) =>
    lmdb.open({ path, encoding: "binary", compression: false, noReadAhead: true }) as Lmdb;
} catch (error) {
  missing.push(`lmdb (${(error as Error).message.split("\n")[0]})`);
}
const denoKvOpen: ((path: string) => Promise<DenoKv>) | undefined =
  isDeno && typeof g.Deno.openKv === "function" ? (path) => g.Deno.openKv(path) : undefined;
if (!denoKvOpen) missing.push(isDeno ? "Deno KV (run with --unstable-kv)" : "Deno KV (Deno only)");

// Measurement.
const now = () => performance.now();
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
const fmt = (v: number) =>
  v >= 100_000
    ? `${(v / 1000).toFixed(0)}k`
    : v >= 1000
    ? `${(v / 1000).toFixed(1)}k`
    : v.toFixed(0);

interface Row {
  name: string;
  durability: string;
  ops: number;
  // Returns elapsed ms for `ops` operations (setup excluded).
  run: () => Promise<number>;
  samples: number[];
}
const rows: Row[] = [];
function row(name: string, durability: string, ops: number, fn: () => Promise<number>): Row {
  const r = { name, durability, ops, run: fn, samples: [] };
  rows.push(r);
  return r;
}

async function ours(
  mode: KvSyncMode,
  fn: (s: KvStore) => Promise<void>,
  options = {},
): Promise<number> {
  const s = await KvStore.open(fresh("ours"), { sync: mode, ...options });
  const t0 = now();
  await fn(s);
  const t = now() - t0;
  await s.close();
  return t;
}
const oursSets = (n: number, batch: number) => async (s: KvStore) => {
  if (batch === 1) { for (let i = 0; i < n; i++) await s.set(keys[i], value(i)); }
  else {
    for (let i = 0; i < n; i += batch) {
      const entries: [string, Uint8Array][] = [];
      for (let j = i; j < i + batch; j++) entries.push([keys[j], value(j)]);
      await s.setBatch(entries);
    }
  }
};
const oursConcurrent = (n: number) => (s: KvStore) =>
  Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = w; i < n; i += WRITERS) await s.set(keys[i], value(i));
  })).then(() => {});

function sqliteSets(n: number, batch: number): () => Promise<number> {
  return () => {
    const db = sqliteOpen!(fresh("sqlite"));
    const put = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
    const t0 = now();
    for (let i = 0; i < n; i += batch) {
      if (batch > 1) db.exec("BEGIN");
      for (let j = i; j < i + batch; j++) put.run(keys[j], value(j));
      if (batch > 1) db.exec("COMMIT");
    }
    const t = now() - t0;
    db.close();
    return Promise.resolve(t);
  };
}

function lmdbSets(n: number, batch: number, concurrent = false): () => Promise<number> {
  return async () => {
    const db = lmdbOpen!(fresh("lmdb"));
    const t0 = now();
    if (concurrent) {
      await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = w; i < n; i += WRITERS) await db.put(keys[i], value(i));
      }));
    } else {
      for (let i = 0; i < n; i += batch) {
        if (batch === 1) await db.put(keys[i], value(i));
        else {
          await db.transaction(() => {
            for (let j = i; j < i + batch; j++) db.putSync(keys[j], value(j));
          });
        }
      }
    }
    const t = now() - t0;
    await db.close();
    return t;
  };
}

function denoKvSets(n: number, batch: number, concurrent = false): () => Promise<number> {
  return async () => {
    const kv = await denoKvOpen!(fresh("denokv"));
    const t0 = now();
    if (concurrent) {
      await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = w; i < n; i += WRITERS) await kv.set([keys[i]], value(i));
      }));
    } else {
      for (let i = 0; i < n; i += batch) {
        if (batch === 1) await kv.set([keys[i]], value(i));
        else {
          const op = kv.atomic();
          for (let j = i; j < i + batch; j++) op.set([keys[j]], value(j));
          await op.commit();
        }
      }
    }
    const t = now() - t0;
    kv.close();
    return t;
  };
}

// 1 and 2: writes.
const OS = "no fsync per commit (OS writes back)";
const FS = "fsync per commit";
for (const batch of [1, 100]) {
  const tag = `${N / 1000}k sets, batch ${batch}`;
  row(`ours never   ${tag}`, OS, N, () => ours("never", oursSets(N, batch)));
  row(`ours batch   ${tag}`, "fsync every 100 ms", N, () => ours("batch", oursSets(N, batch)));
  if (sqliteOpen) {
    row(`sqlite WAL   ${tag}`, "synchronous=NORMAL: fsync at checkpoints", N, sqliteSets(N, batch));
  }
  const n = batch === 1 ? N_SYNC : N_SYNC * 10;
  const stag = `${n / 1000}k sets, batch ${batch}`;
  row(`ours always  ${stag}`, FS, n, () => ours("always", oursSets(n, batch)));
  if (lmdbOpen) row(`lmdb         ${stag}`, FS, n, lmdbSets(n, batch));
  if (denoKvOpen) row(`Deno KV      ${stag}`, FS, n, denoKvSets(n, batch));
}
const ctag = `${N_SYNC * 5 / 1000}k sets, ${WRITERS} writers`;
row(`ours always  ${ctag}`, FS, N_SYNC * 5, () => ours("always", oursConcurrent(N_SYNC * 5)));
if (lmdbOpen) row(`lmdb         ${ctag}`, FS, N_SYNC * 5, lmdbSets(N_SYNC * 5, 1, true));
if (denoKvOpen) row(`Deno KV      ${ctag}`, FS, N_SYNC * 5, denoKvSets(N_SYNC * 5, 1, true));

// 3: random gets over N keys, each store filled once, outside the timing.
// Uniformly random keys (mulberry32, fixed seed), the same sequence for every store.
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const order = Array.from({ length: N }, () => Math.floor(random() * N));
const dataBytes = N * (16 + VALUE);
const reader = await KvStore.open(fresh("ours-get"), { sync: "never", cacheBytes: dataBytes / 10 });
await oursSets(N, 1000)(reader);
row(`ours get     ${N / 1000}k random, cache 10%`, "reads", N, () => {
  const t0 = now();
  for (let i = 0; i < N; i++) if (reader.get(keys[order[i]]) === undefined) throw new Error("miss");
  return Promise.resolve(now() - t0);
});
let sqliteReader: SqliteDb | undefined;
if (sqliteOpen) {
  sqliteReader = sqliteOpen(fresh("sqlite-get"));
  const put = sqliteReader.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
  sqliteReader.exec("BEGIN");
  for (let i = 0; i < N; i++) put.run(keys[i], value(i));
  sqliteReader.exec("COMMIT");
  const get = sqliteReader.prepare("SELECT v FROM kv WHERE k = ?");
  row(`sqlite get   ${N / 1000}k random`, "reads", N, () => {
    const t0 = now();
    for (let i = 0; i < N; i++) if (get.get(keys[order[i]]) === undefined) throw new Error("miss");
    return Promise.resolve(now() - t0);
  });
}
let lmdbReader: Lmdb | undefined;
if (lmdbOpen) {
  lmdbReader = lmdbOpen(fresh("lmdb-get"));
  for (let i = 0; i < N; i += 1000) {
    await lmdbReader.transaction(() => {
      for (let j = i; j < i + 1000; j++) lmdbReader!.putSync(keys[j], value(j));
    });
  }
  row(`lmdb get     ${N / 1000}k random`, "reads", N, () => {
    const t0 = now();
    for (let i = 0; i < N; i++) {
      if (lmdbReader!.getBinary(keys[order[i]]) === undefined) throw new Error("miss");
    }
    return Promise.resolve(now() - t0);
  });
}
let kvReader: DenoKv | undefined;
if (denoKvOpen) {
  kvReader = await denoKvOpen(fresh("denokv-get"));
  for (let i = 0; i < N; i += 100) {
    const op = kvReader.atomic();
    for (let j = i; j < i + 100; j++) op.set([keys[j]], value(j));
    await op.commit();
  }
  row(`Deno KV get  ${N / 10_000}k random`, "reads", N / 10, async () => {
    const t0 = now();
    for (let i = 0; i < N / 10; i++) {
      if ((await kvReader!.get([keys[order[i]]])).value === null) throw new Error("miss");
    }
    return now() - t0;
  });
}

// 4: p99 set latency with and without a compaction running (batch mode; the writer yields to the
// event loop every 64 sets in both cases, as a server's writers do between requests).
async function latencies(compacting: boolean): Promise<number[]> {
  const s = await KvStore.open(fresh("ours-p99"), { sync: "batch", compactMinBytes: 1 << 30 });
  for (let i = 0; i < N; i += 1000) await oursSets(1000, 1000)(s); // 1000 keys, rewritten
  for (let i = 0; i < N; i += 1000) {
    const entries: [string, Uint8Array][] = [];
    for (let j = i; j < i + 1000; j++) entries.push([keys[j], value(j)]);
    await s.setBatch(entries);
  }
  const lat: number[] = [];
  let done = !compacting;
  const compaction = compacting ? s.compact().then(() => done = true) : Promise.resolve();
  for (let i = 0; lat.length < 20_000 || !done; i++) {
    if (i % 64 === 0) await new Promise((r) => setTimeout(r, 0));
    const t0 = now();
    await s.set(keys[i % N], value(i));
    lat.push(now() - t0);
  }
  await compaction;
  await s.close();
  return lat;
}
const p99 = (lat: number[]) => [...lat].sort((a, b) => a - b)[Math.floor(lat.length * 0.99)];
const latRows = { base: [] as number[], during: [] as number[], sets: [] as number[] };

// Rounds: every row once per round, in order, so a load change hits all alike.
for (let r = 0; r < ROUNDS; r++) {
  for (const x of rows) x.samples.push(await x.run());
  latRows.base.push(p99(await latencies(false)));
  const during = await latencies(true);
  latRows.during.push(p99(during));
  latRows.sets.push(during.length);
  console.error(`round ${r + 1}/${ROUNDS} done`);
}
await reader.close();
sqliteReader?.close();
await lmdbReader?.close();
kvReader?.close();
await platform().remove(dir, { recursive: true });

const rate = (x: Row) => x.samples.map((ms) => x.ops / ms * 1000);
const cell = (x: Row) => {
  const rates = rate(x);
  return `${fmt(median(rates))}/s (${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))})`;
};
const medianRate = (prefix: string) => {
  const x = rows.find((r) => r.name.startsWith(prefix));
  return x ? median(rate(x)) : undefined;
};
console.log(
  `# kv_store bench, ${runtime} ${
    isDeno ? g.Deno.version.deno : g.process.versions.node
  }, ${ROUNDS} rounds, median (min-max)`,
);
console.log(
  `# peers: sqlite ${sqliteVersion || "n/a"} (node:sqlite), lmdb ${
    lmdbOpen ? LMDB_VERSION : "n/a"
  }, Deno KV ${denoKvOpen ? "(built in)" : "n/a"}`,
);
if (missing.length) console.log(`# missing peers: ${missing.join("; ")}`);
for (const x of rows) console.log(`${x.name.padEnd(42)} ${cell(x).padEnd(28)} ${x.durability}`);
const ratio = (a?: number, b?: number) =>
  a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}x` : "n/a";
console.log("# ratios (ours / peer, >1 means ours is faster)");
for (const batch of [1, 100]) {
  const tag = `${N / 1000}k sets, batch ${batch}`;
  const n = batch === 1 ? N_SYNC : N_SYNC * 10;
  const stag = `${n / 1000}k sets, batch ${batch}`;
  console.log(
    `batch ${batch}: never/sqlite ${
      ratio(medianRate(`ours never   ${tag}`), medianRate(`sqlite WAL   ${tag}`))
    }, ` +
      `batch/sqlite ${
        ratio(medianRate(`ours batch   ${tag}`), medianRate(`sqlite WAL   ${tag}`))
      }, ` +
      `always/lmdb ${
        ratio(medianRate(`ours always  ${stag}`), medianRate(`lmdb         ${stag}`))
      }, ` +
      `always/Deno KV ${
        ratio(medianRate(`ours always  ${stag}`), medianRate(`Deno KV      ${stag}`))
      }`,
  );
}
const single = medianRate(`ours always  ${N_SYNC / 1000}k sets, batch 1`);
const many = medianRate(`ours always  ${ctag}`);
console.log(
  `${WRITERS} writers: ours/ours single writer ${ratio(many, single)}, ` +
    `ours/lmdb ${ratio(many, medianRate(`lmdb         ${ctag}`))}, ` +
    `ours/Deno KV ${ratio(many, medianRate(`Deno KV      ${ctag}`))}`,
);
console.log(
  `gets: ours/lmdb ${ratio(medianRate("ours get"), medianRate("lmdb get"))}, ` +
    `ours/sqlite ${ratio(medianRate("ours get"), medianRate("sqlite get"))}, ` +
    `ours/Deno KV ${ratio(medianRate("ours get"), medianRate("Deno KV get"))}`,
);
const ms = (v: number[]) =>
  `${(median(v) * 1000).toFixed(0)} us (${(Math.min(...v) * 1000).toFixed(0)}-${
    (Math.max(...v) * 1000).toFixed(0)
  })`;
console.log(
  `set p99 (batch mode): baseline ${ms(latRows.base)}, during compaction ${ms(latRows.during)}, ` +
    `ratio ${(median(latRows.during) / median(latRows.base)).toFixed(2)}x ` +
    `(${median(latRows.sets)} sets measured while compacting)`,
);

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  FileSink,
  formatJson,
  formatText,
  HandlerSink,
  log,
  Logger,
  LoggerError,
  type LogRecord,
  setDefaultLogger,
} from "../../core/logger.ts";
import { FileSystemError } from "../../core/errors.ts";
import { platform, setPlatform } from "../../core/platform/mod.ts";
import { availablePlatforms, runtimeTimerFired, tempDir, withPlatform } from "../harness.ts";

const decoder = new TextDecoder();

function collect(): { records: LogRecord[]; sink: HandlerSink } {
  const records: LogRecord[] = [];
  return { records, sink: new HandlerSink((r) => records.push(r)) };
}

async function readLines(path: string): Promise<string[]> {
  const text = await platform().readTextFile(path);
  return text === "" ? [] : text.slice(0, -1).split("\n");
}

describe("logger formatting", () => {
  it("renders JSON lines with bound and call fields, the call's winning", () => {
    const { records, sink } = collect();
    const logger = new Logger({ level: "trace", sinks: [sink], fields: { app: "x" } });
    logger.child({ component: "db", n: 1 }).info('hello "world"\n', { n: 2, ok: true });
    const line = formatJson(records[0]);
    assert.ok(line.endsWith("\n"));
    assert.equal(line.split("\n").length, 2, "one line per record");
    const parsed = JSON.parse(line);
    assert.equal(parsed.level, "info");
    assert.equal(parsed.message, 'hello "world"\n');
    assert.equal(parsed.app, "x");
    assert.equal(parsed.component, "db");
    assert.equal(parsed.n, 2);
    assert.deepEqual(records[0].fields, { app: "x", component: "db", n: 2, ok: true });
  });

  it("never throws on bigint, cycles or errors in fields", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const { records, sink } = collect();
    const logger = new Logger({ sinks: [sink] });
    logger.error("odd fields", { big: 2n ** 70n, cyclic, err: new Error("boom") });
    const parsed = JSON.parse(formatJson(records[0]));
    assert.equal(parsed.big, (2n ** 70n).toString());
    assert.equal(parsed.cyclic.self, "[Circular]");
    assert.equal(parsed.err.message, "boom");
    assert.match(formatText(records[0]), /ERROR odd fields big=/);
  });

  it("renders text on one line", () => {
    const line = formatText({ time: 0, level: "warn", message: "a\nb", fields: { k: "v w" } });
    assert.equal(line, '1970-01-01T00:00:00.000Z WARN  a\\nb k="v w"\n');
  });
});

describe("Logger", () => {
  it("filters by level, shares the threshold with children and counts", () => {
    const { records, sink } = collect();
    const logger = new Logger({ level: "warn", sinks: [sink] });
    const child = logger.child({ c: 1 });
    logger.info("skipped");
    child.warn("kept");
    assert.equal(logger.isLevelEnabled("debug"), false);
    child.setLevel("debug");
    logger.debug("now kept");
    logger.trace("still skipped");
    logger.setLevel("off");
    logger.fatal("off means off");
    assert.deepEqual(records.map((r) => r.message), ["kept", "now kept"]);
    assert.equal(logger.getStats().logged.warn, 1);
    assert.equal(child.getStats().logged.debug, 1);
    logger.resetStats();
    assert.equal(logger.getStats().logged.warn, 0);
    assert.throws(() => logger.setLevel("loud" as "info"), LoggerError);
  });

  it("reports a failing sink once on stderr and never throws into the caller", () => {
    const written: string[] = [];
    const real = platform();
    setPlatform({ ...real, writeStderr: (d: Uint8Array) => written.push(decoder.decode(d)) });
    try {
      const { records, sink } = collect();
      const bad = new HandlerSink(() => {
        throw new Error("sink down");
      });
      const logger = new Logger({ sinks: [bad, sink] });
      for (let i = 0; i < 5; i++) logger.info(`m${i}`);
      assert.equal(records.length, 5, "the healthy sink still gets every record");
      assert.equal(written.length, 1);
      assert.match(written[0], /sink down/);
      assert.equal(logger.getStats().sinkErrors, 5);
    } finally {
      setPlatform(real);
    }
  });

  it("a file sink whose disk fails reports once and never throws into the caller", async () => {
    await using dir = await tempDir();
    const written: string[] = [];
    const real = platform();
    // A disk that fails every write (ENOSPC-like): a double only for the failure, real file otherwise.
    setPlatform({
      ...real,
      writeStderr: (d: Uint8Array) => written.push(decoder.decode(d)),
      openSync: (path, options) => ({
        ...real.openSync(path, options),
        writeSync: () => {
          throw new Error("no space left on device");
        },
      }),
    });
    try {
      const sink = new FileSink({ path: dir.join("full.log"), maxBufferBytes: 1024 });
      const logger = new Logger({ sinks: [sink] });
      for (let i = 0; i < 200; i++) logger.info("into the void", { i });
      await logger.close();
      assert.equal(sink.getStats().failed, 200);
      assert.equal(sink.getStats().written, 0);
      assert.equal(written.length, 1);
      assert.match(written[0], /full\.log.*no space left/);
    } finally {
      setPlatform(real);
    }
  });

  it("external handlers receive every record and can be removed", () => {
    const logger = new Logger({ sinks: [] });
    const seen: string[] = [];
    const remove = logger.addHandler((r) => seen.push(`${r.level}:${r.message}`));
    logger.info("a");
    logger.error("b");
    remove();
    logger.info("c");
    assert.deepEqual(seen, ["info:a", "error:b"]);
  });

  it("log.* write to the default logger", () => {
    const { records, sink } = collect();
    const previous = setDefaultLogger(new Logger({ level: "debug", sinks: [sink] }));
    try {
      log.debug("via log", { x: 1 });
      log.fatal("bad");
    } finally {
      setDefaultLogger(previous);
    }
    assert.deepEqual(records.map((r) => r.level), ["debug", "fatal"]);
  });
});

for (const p of await availablePlatforms()) {
  describe(`FileSink on ${p.name}`, () => {
    it("rejects a file in a missing directory at construction", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        assert.throws(
          () => new FileSink({ path: dir.join("nope/app.log") }),
          (e) => e instanceof FileSystemError && e.code === "NotFound",
        );
        assert.throws(() => new FileSink({ path: dir.join("a.log"), overflow: "x" as "drop" }));
      }));

    it("flush puts every earlier record on disk; close drops later ones", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const sink = new FileSink({ path: dir.join("app.log"), flushIntervalMs: 60_000 });
        const logger = new Logger({ sinks: [sink] });
        for (let i = 0; i < 100; i++) logger.info("line", { i });
        await logger.flush();
        const lines = await readLines(dir.join("app.log"));
        assert.equal(lines.length, 100);
        assert.deepEqual(lines.map((l) => JSON.parse(l).i), [...Array(100).keys()]);
        await logger.close();
        logger.info("after close");
        assert.equal(sink.getStats().dropped, 1);
        assert.equal((await readLines(dir.join("app.log"))).length, 100);
      }));

    it("close writes records that arrive while its fsync runs and leaves the file closed", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("c.log");
        const sink = new FileSink({ path, flushIntervalMs: 0 });
        const rec = (message: string): LogRecord => ({
          time: Date.now(),
          level: "info",
          message,
          fields: {},
        });
        sink.write(rec("before"));
        const closing = sink.close();
        // close() has drained and awaits the fsync: this record was received before it ended.
        sink.write(rec("during"));
        await closing;
        const messages = (await readLines(path)).map((l) => JSON.parse(l).message);
        assert.deepEqual(messages, ["before", "during"]);
        sink.write(rec("after"));
        assert.equal(sink.getStats().dropped, 1);
        assert.equal(sink.getStats().written, 2);
      }));

    it("flushIntervalMs Infinity leaves the batch to flush() (no write 1 ms later)", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("i.log");
        const sink = new FileSink({ path, flushIntervalMs: Infinity });
        sink.write({ time: Date.now(), level: "info", message: "held", fields: {} });
        await runtimeTimerFired();
        assert.deepEqual(await readLines(path), []);
        await sink.close();
        assert.equal((await readLines(path)).length, 1);
      }));

    it("many concurrent loggers across several rotations lose and duplicate no line", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("app.log");
        const sink = new FileSink({
          path,
          flushIntervalMs: 1,
          rotation: { maxBytes: 32 * 1024, retain: 100 },
        });
        const root = new Logger({ sinks: [sink] });
        const loggers = 8;
        const perLogger = 1500;
        await Promise.all(Array.from({ length: loggers }, async (_, id) => {
          const logger = root.child({ id });
          for (let seq = 0; seq < perLogger; seq++) {
            logger.info("concurrent record with some padding to fill files", { seq });
            if (seq % 50 === 0) await new Promise((r) => setTimeout(r, 0));
          }
        }));
        await root.close();
        const stats = sink.getStats();
        assert.ok(stats.rotations >= 3, `expected several rotations, got ${stats.rotations}`);
        const files = [];
        for (let i = stats.rotations; i >= 1; i--) files.push(`${path}.${i}`);
        files.push(path);
        const next = new Array(loggers).fill(0);
        let total = 0;
        for (const file of files) {
          const info = await platform().stat(file);
          assert.ok(info.size <= 32 * 1024, `${file} is ${info.size} bytes`);
          for (const line of await readLines(file)) {
            const { id, seq } = JSON.parse(line);
            assert.equal(seq, next[id], `logger ${id}: expected seq ${next[id]}, got ${seq}`);
            next[id]++;
            total++;
          }
        }
        assert.equal(total, loggers * perLogger);
        assert.equal(stats.written, loggers * perLogger);
      }));

    it("keeps only `retain` rotated files", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const sink = new FileSink({
          path: dir.join("r.log"),
          rotation: { maxBytes: 2048, retain: 2 },
        });
        const logger = new Logger({ sinks: [sink] });
        for (let i = 0; i < 500; i++) logger.info("retention test line", { i });
        await logger.close();
        const names = (await platform().readDir(dir.path)).map((e) => e.name).sort();
        assert.deepEqual(names, ["r.log", "r.log.1", "r.log.2"]);
        const last = await readLines(dir.join("r.log"));
        assert.equal(JSON.parse(last[last.length - 1]).i, 499);
      }));

    it("rotates when the day changes, between two records", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const sink = new FileSink({ path: dir.join("d.log"), rotation: { daily: true } });
        const now = Date.now();
        const rec = (time: number, message: string): LogRecord => ({
          time,
          level: "info",
          message,
          fields: {},
        });
        sink.write(rec(now, "today"));
        sink.write(rec(now + 86_400_000, "tomorrow"));
        // The next day is measured from the records' time, not re-read from the clock: a second
        // record of that day stays in the same file.
        sink.write(rec(now + 86_400_001, "tomorrow again"));
        await sink.close();
        assert.equal(JSON.parse((await readLines(dir.join("d.log.1")))[0]).message, "today");
        assert.deepEqual(
          (await readLines(dir.join("d.log"))).map((l) => JSON.parse(l).message),
          ["tomorrow", "tomorrow again"],
        );
        assert.equal(sink.getStats().rotations, 1);
      }));

    it("'block' keeps memory bounded under a producer that never yields, losing nothing", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("b.log");
        const sink = new FileSink({ path, maxBufferBytes: 8 * 1024, flushIntervalMs: 60_000 });
        const logger = new Logger({ sinks: [sink] });
        for (let i = 0; i < 5000; i++) logger.info("never yields", { i });
        const before = (await platform().stat(path)).size;
        assert.ok(before > 0, "full batches were written during the loop");
        assert.ok(sink.getStats().blockingWrites > 10);
        await logger.close();
        assert.equal((await readLines(path)).length, 5000);
      }));

    it("'drop' discards and counts when the batch is full, then says so in the file", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("x.log");
        const sink = new FileSink({
          path,
          maxBufferBytes: 4 * 1024,
          overflow: "drop",
          flushIntervalMs: 60_000,
        });
        const logger = new Logger({ sinks: [sink] });
        for (let i = 0; i < 1000; i++) logger.info("dropping", { i });
        await logger.close();
        const stats = sink.getStats();
        assert.ok(stats.dropped > 0);
        assert.equal(stats.written + stats.dropped, 1000);
        const lines = (await readLines(path)).map((l) => JSON.parse(l));
        assert.equal(lines.length, stats.written + 1);
        assert.equal(lines[lines.length - 1].dropped, stats.dropped);
      }));

    it("writes readable text when asked", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const logger = new Logger({
          sinks: [new FileSink({ path: dir.join("t.log"), format: "text" })],
        });
        logger.child({ req: 7 }).warn("slow", { ms: 1200 });
        await logger.close();
        const [line] = await readLines(dir.join("t.log"));
        assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}slow req=7 ms=1200$/);
      }));
  });
}

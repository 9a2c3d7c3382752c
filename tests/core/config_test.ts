import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Config, ConfigError, ConfigLoader, parseConfigToml } from "../../core/config.ts";
import { HandlerSink, Logger, type LogRecord } from "../../core/logger.ts";
import { platform } from "../../core/platform/mod.ts";
import { availablePlatforms, deferred, tempDir, withPlatform } from "../harness.ts";

const SAMPLE = `
title = "iora"
big = 9007199254740993
ratio = 0.5
enabled = true

[server]
port = 8080
hosts = ["a", "b"]

[[modules]]
name = "kv"

[[modules]]
name = "rpc"
`;

function isConfigError(code: string, check: (e: ConfigError) => boolean = () => true) {
  return (e: unknown) => e instanceof ConfigError && e.code === code && check(e);
}

describe("Config getters", () => {
  const config = new Config(parseConfigToml(SAMPLE, "sample.toml"), "sample.toml");

  it("reads typed values on dotted paths", () => {
    assert.equal(config.getString("title"), "iora");
    assert.equal(config.getInt("server.port"), 8080);
    assert.equal(config.getNumber("ratio"), 0.5);
    assert.equal(config.getNumber("server.port"), 8080);
    assert.equal(config.getBool("enabled"), true);
    assert.deepEqual(config.getStringArray("server.hosts"), ["a", "b"]);
    assert.equal(config.getTable("server").port, 8080);
    assert.deepEqual(config.getTableArray("modules").map((m) => m.name), ["kv", "rpc"]);
  });

  it("uses defaults only for missing keys", () => {
    assert.equal(config.getInt("server.timeout", 30), 30);
    assert.equal(config.getString("nope.deeper", "x"), "x");
    assert.equal(config.getInt("server.port", 1), 8080);
    assert.throws(
      () => config.getInt("server.timeout"),
      isConfigError("MissingKey", (e) => e.key === "server.timeout"),
    );
    assert.throws(() => config.getString("server.port", "fallback"), isConfigError("TypeMismatch"));
  });

  it("names the key, the expected and the found type on a mismatch", () => {
    assert.throws(
      () => config.getInt("title"),
      isConfigError(
        "TypeMismatch",
        (e) =>
          e.key === "title" && e.expected === "integer" && e.found === "string" &&
          /title.*expected integer, found string/.test(e.message),
      ),
    );
    assert.throws(
      () => config.getInt("ratio"),
      isConfigError("TypeMismatch", (e) => e.found === "float"),
    );
    assert.throws(
      () => config.getBool("server"),
      isConfigError("TypeMismatch", (e) => e.found === "table"),
    );
    assert.throws(
      () => config.getStringArray("modules"),
      isConfigError("TypeMismatch", (e) => e.key === "modules[0]"),
    );
  });

  it("never rounds integers beyond 2^53", () => {
    assert.equal(config.getBigInt("big"), 9007199254740993n);
    assert.equal(config.getBigInt("server.port"), 8080n);
    assert.throws(() => config.getInt("big"), isConfigError("OutOfRange", (e) => e.key === "big"));
    assert.throws(() => config.getNumber("big"), isConfigError("OutOfRange"));
  });

  it("is an immutable snapshot", () => {
    const table = config.getTable("server") as Record<string, unknown>;
    assert.throws(() => {
      table.port = 1;
    }, TypeError);
  });

  it("reports parse errors with file, line and column", () => {
    assert.throws(
      () => parseConfigToml('a = 1\nb = "unterminated\n', "broken.toml"),
      isConfigError(
        "ParseError",
        (e) =>
          e.file === "broken.toml" && e.line === 2 && typeof e.column === "number" &&
          e.message.startsWith("broken.toml:2:"),
      ),
    );
  });
});

describe("ConfigLoader", () => {
  it("puts defaults under the file's values", async () => {
    await using dir = await tempDir();
    await platform().writeTextFile(dir.join("c.toml"), "[server]\nport = 9000\n");
    const defaults = { server: { port: 80, host: "0.0.0.0" }, log: { level: "info" } };
    using loader = new ConfigLoader({ defaults, env: {} });
    await loader.load(dir.join("c.toml"));
    assert.equal(loader.getInt("server.port"), 9000);
    assert.equal(loader.getString("server.host"), "0.0.0.0");
    assert.equal(loader.getString("log.level"), "info");
    assert.equal(Object.isFrozen(defaults.server), false, "the caller's defaults stay mutable");
  });

  it("refuses a debounce no runtime timer can wait (negative, NaN, beyond 2^31-1 ms)", () => {
    for (const debounceMs of [-1, NaN, Infinity, 2 ** 31]) {
      assert.throws(() => new ConfigLoader({ env: {}, debounceMs }), ConfigError, `${debounceMs}`);
    }
    using loader = new ConfigLoader({ env: {}, debounceMs: 0 });
    assert.ok(loader);
  });

  it("applies environment overrides with the documented scheme", () => {
    const loader = new ConfigLoader({
      defaults: '[log]\nlevel = "info"\n',
      env: {
        IORA__SERVER__PORT: "9090",
        IORA__SERVER__NAME: "123",
        IORA__SERVER__TAGS: '["a", "b"]',
        IORA__LOG__LEVEL: "debug",
        IORA__FEATURE__ENABLED: "true",
        OTHER__SERVER__PORT: "1",
        IORA__: "ignored",
      },
    });
    const config = loader.loadString('[Server]\nport = 81\nname = "x"\n');
    assert.equal(config.getInt("Server.port"), 9090, "matches existing keys ignoring case");
    assert.equal(config.getString("Server.name"), "123", "a string stays a string");
    assert.deepEqual(config.getStringArray("Server.tags"), ["a", "b"]);
    assert.equal(config.getString("log.level"), "debug");
    assert.equal(config.getBool("feature.enabled"), true);
    const bad = new ConfigLoader({ env: { IORA__PORT: "eighty" } }).loadString("port = 80");
    assert.throws(
      () => bad.getInt("port"),
      isConfigError("TypeMismatch", (e) => e.message.includes("IORA__PORT")),
    );
    const off = new ConfigLoader({ envPrefix: false, env: { IORA__PORT: "1" } }).loadString(
      "port = 80",
    );
    assert.equal(off.getInt("port"), 80);
  });

  it("keeps keys named __proto__ as plain keys, on every runtime", () => {
    // On Node a merge assigning out["__proto__"] set the table's prototype instead: the key was
    // lost and its table's keys were inherited (hidden from the getters).
    const loader = new ConfigLoader({ envPrefix: false, defaults: { a: { b: 1 } } });
    const config = loader.loadString('"__proto__" = "x"\n[a]\n"__proto__" = { c = 2 }\n');
    assert.equal(config.getString("__proto__"), "x");
    assert.equal(config.getInt("a.__proto__.c"), 2);
    assert.equal(config.getInt("a.b"), 1);
    assert.equal(({} as Record<string, unknown>).c, undefined);
  });

  it("throws NotLoaded before a load", () => {
    const loader = new ConfigLoader({ env: {} });
    assert.throws(() => loader.getInt("x"), isConfigError("NotLoaded"));
    assert.throws(() => loader.watch(), isConfigError("NotLoaded"));
  });
});

for (const p of await availablePlatforms()) {
  describe(`ConfigLoader hot reload on ${p.name}`, () => {
    it("swaps on a good change and keeps the last good configuration on a broken one", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("app.toml");
        await platform().writeTextFile(path, "[server]\nport = 1\n");
        const logged: LogRecord[] = [];
        const logger = new Logger({ sinks: [new HandlerSink((r) => logged.push(r))] });
        using loader = new ConfigLoader({ env: {}, debounceMs: 20, logger });
        await loader.load(path);
        loader.watch();

        const reloaded = deferred<[number, number]>("a reload");
        const stopReload = loader.onReload((next, old) =>
          reloaded.resolve([next.getInt("server.port"), old.getInt("server.port")])
        );
        await platform().writeTextFile(path, "[server]\nport = 2\n");
        assert.deepEqual(await reloaded.wait(), [2, 1]);
        stopReload();

        const failed = deferred<Error>("a reload error");
        loader.onReloadError((e) => failed.resolve(e));
        await platform().writeTextFile(path, "[server]\nport = = 3\n");
        const error = await failed.wait();
        assert.ok(error instanceof ConfigError && error.code === "ParseError" && error.line === 2);
        assert.equal(loader.getInt("server.port"), 2, "the last good configuration stays");
        const record = logged.find((r) => r.level === "error");
        assert.equal(record?.fields.line, 2);
        assert.equal(record?.fields.file, path);

        // Editors often replace the file instead of writing it in place.
        const swapped = deferred<number>("a reload after a rename");
        loader.onReload((next) => swapped.resolve(next.getInt("server.port")));
        await platform().writeTextFile(dir.join("app.toml.new"), "[server]\nport = 4\n");
        await platform().rename(dir.join("app.toml.new"), path);
        assert.equal(await swapped.wait(), 4);
        assert.deepEqual(loader.getStats(), { reloads: 2, reloadErrors: 1 });
      }));
  });
}

describe("ConfigLoader nesting limit", () => {
  it("a key nested past maxDepth is a ConfigError with its position, not a RangeError", () => {
    const deep = Array.from({ length: 20_000 }, (_, i) => `k${i}`).join(".");
    const loader = new ConfigLoader({ envPrefix: false });
    assert.throws(
      () => loader.loadString(`title = "x"\n${deep} = 1\n`, "deep.toml"),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.code, "ParseError");
        assert.equal(e.line, 2);
        assert.equal(e.column, 1);
        assert.match(e.message, /deep\.toml:2:1: .*nested more than 64 tables deep/);
        return true;
      },
    );
    const roomy = new ConfigLoader({ envPrefix: false, maxDepth: 200 });
    const key = Array.from({ length: 150 }, (_, i) => `k${i}`).join(".");
    assert.equal(roomy.loadString(`${key} = 7\n`).getInt(key), 7);
    assert.throws(() => new ConfigLoader({ maxDepth: 0 }), { code: "InvalidOption" });
  });
});

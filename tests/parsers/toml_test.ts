import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseToml, stringifyToml, TomlParseError } from "../../parsers/toml.ts";

describe("toml facade", () => {
  it("parses and stringifies round trip", () => {
    const v = parseToml(
      'title = "x"\n[server]\nport = 8080\nhosts = ["a", "b"]\nat = 1979-05-27\n',
    );
    assert.equal((v.server as { port: number }).port, 8080);
    assert.ok((v.server as { at: unknown }).at instanceof Date);
    assert.deepEqual(parseToml(stringifyToml(v)), v);
  });

  it("throws TomlParseError with line and column", () => {
    const e = assert.throws(() => parseToml("a = 1\nb = \n"), (e: unknown) => {
      assert.ok(e instanceof TomlParseError);
      assert.equal(e.code, "InvalidToml");
      assert.equal(e.line, 2);
      assert.equal(e.column, 5);
      assert.match(e.codeblock, /\^/);
      return true;
    });
    void e;
  });

  it("keeps integers beyond 2^53 exact as bigint", () => {
    const v = parseToml("big = 9007199254740993\nsmall = 42\n");
    assert.equal(v.big, 9007199254740993n);
    assert.equal(v.small, 42);
    assert.match(stringifyToml(v), /big = 9007199254740993\b/);
  });
});

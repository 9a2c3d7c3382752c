import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeChunk,
  HttpHeaders,
  HttpParseError,
  type HttpRequestMessage,
  HttpRequestParser,
  type HttpResponseMessage,
  HttpResponseParser,
  LAST_CHUNK,
  serializeRequestHead,
  serializeResponseHead,
} from "../../http/message.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);

function parseAll(input: string | Uint8Array, limits = {}): HttpRequestMessage[] {
  const p = new HttpRequestParser({ limits });
  p.push(typeof input === "string" ? b(input) : input);
  const out: HttpRequestMessage[] = [];
  for (let m = p.next(); m !== null; m = p.next()) out.push(m);
  return out;
}

function rejects(input: string, status: number, code?: string, limits = {}): void {
  assert.throws(
    () => parseAll(input, limits),
    (e: unknown) => {
      assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${e}`);
      assert.equal(e.status, status, `${JSON.stringify(input.slice(0, 80))}: ${e.message}`);
      if (code) assert.equal(e.code, code);
      return true;
    },
  );
}

describe("HttpHeaders", () => {
  it("is case-insensitive and combines repeats except set-cookie", () => {
    const h = new HttpHeaders();
    h.append("Accept", "a");
    h.append("ACCEPT", "b");
    h.append("Set-Cookie", "x=1, y");
    h.append("set-cookie", "z=2");
    assert.equal(h.get("accept"), "a, b");
    assert.deepEqual(h.getSetCookie(), ["x=1, y", "z=2"]);
    assert.equal(h.has("SET-COOKIE"), true);
    h.set("accept", "c");
    assert.equal(h.get("Accept"), "c");
    h.delete("set-cookie");
    assert.equal(h.get("set-cookie"), null);
    assert.equal(h.size, 1);
  });

  it("refuses names and values that could split a message", () => {
    const h = new HttpHeaders();
    assert.throws(() => h.append("bad name", "x"), TypeError);
    assert.throws(() => h.append("x", "a\r\nInjected: 1"), TypeError);
    assert.throws(() => h.append("x", "a\0"), TypeError);
    // Every control character but tab, as the parser refuses them when received.
    for (const c of ["\x01", "\x1b", "\x7f", "\u0100"]) {
      assert.throws(() => h.append("x", `a${c}b`), TypeError, JSON.stringify(c));
    }
    h.append("x", "tab\there, latin-1 \u00e9");
    assert.throws(() => serializeResponseHead(200, [["x", "a\nb"]]), TypeError);
  });
});

describe("HttpRequestParser", () => {
  it("discard drops a message in progress, its body so far and pipelined bytes", () => {
    const p = new HttpRequestParser();
    p.push(b("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"));
    p.push(new Uint8Array(40_000));
    assert.equal(p.next(), null);
    assert.ok(p.pendingHead !== null && !p.idle);
    p.discard();
    assert.equal(p.bufferedBytes, 0);
    assert.equal(p.pendingHead, null);
    assert.equal(p.idle, true);
    // Nothing of the dropped message leaks into the next one.
    p.push(b("GET /next HTTP/1.1\r\nHost: h\r\n\r\n"));
    const m = p.next();
    assert.equal(m?.target, "/next");
    assert.equal(m?.body.length, 0);
  });

  it("parses a simple GET with headers", () => {
    const [m] = parseAll("GET /a/b?x=1 HTTP/1.1\r\nHost: example\r\nX-Y:  v v \r\n\r\n");
    assert.equal(m.method, "GET");
    assert.equal(m.target, "/a/b?x=1");
    assert.equal(m.version, "1.1");
    assert.equal(m.headers.get("x-y"), "v v");
    assert.equal(m.keepAlive, true);
    assert.equal(m.body.length, 0);
  });

  it("accepts every form of uri-host[:port] in Host, and an empty one", () => {
    for (
      const host of [
        "example.com:8080",
        "[::1]:80",
        "[v1.x]",
        "127.0.0.1",
        "a_b-c~d%41!$&'()*+,;=",
        "",
      ]
    ) {
      const [m] = parseAll(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.equal(m.headers.get("host"), host);
    }
    // Only requests are checked: a response's stray Host field is none of our business.
    const p = new HttpResponseParser();
    p.push(b("HTTP/1.1 200 OK\r\nHost: a/b c\r\nContent-Length: 0\r\n\r\n"));
    assert.equal(p.next()?.headers.get("host"), "a/b c");
  });

  it("folds the case of common and other field names alike", () => {
    const [m] = parseAll(
      "PATCH /x HTTP/1.1\r\nhOsT: a\r\nCONTENT-length: 2\r\nX-Host: b\r\nHosts: c\r\n" +
        "Content_Type: d\r\nConnection: keep-alive\r\n\r\nhi",
    );
    assert.equal(m.method, "PATCH");
    assert.deepEqual([...m.headers.entries()].map(([n]) => n), [
      "host",
      "content-length",
      "x-host",
      "hosts",
      "content_type",
      "connection",
    ]);
    assert.equal(m.headers.get("host"), "a");
    assert.equal(m.contentLength, 2);
    assert.equal(new TextDecoder().decode(m.body), "hi");
    const [other] = parseAll("PATCHY /x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(other.method, "PATCHY");
  });

  it("parses Content-Length bodies and pipelined requests", () => {
    const msgs = parseAll(
      "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /g HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert.equal(msgs.length, 2);
    assert.equal(dec.decode(msgs[0].body), "hello");
    assert.equal(msgs[1].target, "/g");
    assert.equal(msgs[1].keepAlive, false);
  });

  it("parses chunked bodies with extensions and trailers", () => {
    const [m] = parseAll(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    assert.equal(dec.decode(m.body), "hello world");
    assert.equal(m.trailers?.get("x-trailer"), "t");
    assert.equal(m.headers.has("x-trailer"), false);
  });

  it("yields the same messages whatever the chunk boundaries (property)", () => {
    const raw = b(
      "\r\nPOST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
        "PUT /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n" +
        "GET /c HTTP/1.0\r\n\r\n",
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: raw.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((x, y) => x - y);
        const p = new HttpRequestParser();
        const out: HttpRequestMessage[] = [];
        let last = 0;
        for (const c of [...points, raw.length]) {
          p.push(raw.slice(last, c));
          last = c;
          for (let m = p.next(); m !== null; m = p.next()) out.push(m);
        }
        assert.deepEqual(out.map((m) => [m.method, m.target, dec.decode(m.body)]), [
          ["POST", "/a", "abc"],
          ["PUT", "/b", "xyz!"],
          ["GET", "/c", ""],
        ]);
        assert.equal(out[1].trailers?.get("t"), "1");
        assert.equal(out[2].keepAlive, false);
        assert.equal(p.idle, true);
      }),
      { numRuns: 300 },
    );
  });

  it("reaches the same messages and the same error whatever the boundaries (property)", () => {
    // Mostly well-formed requests with a few odd fields and bodies, so that both outcomes occur.
    const field = fc.constantFrom(
      "Host: h",
      "Host: a/b",
      "Content-Length: 3",
      "Content-Length: 03",
      "Content-Length: 9",
      "Transfer-Encoding: chunked",
      "Transfer-Encoding: gzip, chunked",
      "Expect: 100-continue",
      "Connection: close",
      "X :y",
      " folded",
      "X: a\rb",
      "X: \xff",
    );
    const body = fc.constantFrom(
      "",
      "abc",
      "0\r\n\r\n",
      "3\r\nabc\r\n0\r\n\r\n",
      "3;x=1\r\nabc\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n",
      "3\r\nabcX",
      "\r\n",
    );
    const request = fc.tuple(
      fc.constantFrom("GET", "POST", "PUT"),
      fc.constantFrom("/a?b", "http://h/x", "/", "*"),
      fc.constantFrom("HTTP/1.1", "HTTP/1.0"),
      fc.array(field, { maxLength: 4 }),
      body,
    ).map(([m, t, v, fields, b]) =>
      `${m} ${t} ${v}\r\n${fields.map((f) => `${f}\r\n`).join("")}\r\n${b}`
    );
    const limits = { maxBodyBytes: 8, maxHeaderBytes: 4000, maxUriLength: 2000 };
    const run = (bytes: Uint8Array, cuts: number[], eager: boolean): string[] => {
      const p = new HttpRequestParser({ limits });
      const out: string[] = [];
      const drain = (): void => {
        for (let m = p.next(); m !== null; m = p.next()) {
          out.push(`${m.method} ${m.target} ${dec.decode(m.body)} ${m.trailers?.get("t")}`);
        }
      };
      let last = 0;
      try {
        for (const c of [...cuts, bytes.length]) {
          p.push(bytes.slice(last, c));
          last = c;
          // Not eager: bytes pile up as behind a busy handler, parsed at the end.
          if (eager) drain();
        }
        drain();
      } catch (e) {
        if (!(e instanceof HttpParseError)) throw e;
        out.push(`error ${e.status} ${e.code}`);
      }
      return out;
    };
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(400), { maxLength: 16 }),
        fc.boolean(),
        (requests, cuts, eager) => {
          const bytes = Uint8Array.from(requests.join(""), (c) => c.charCodeAt(0));
          const points = [...new Set(cuts)].filter((c) => c <= bytes.length).sort((x, y) => x - y);
          assert.deepEqual(run(bytes, points, eager), run(bytes, [], true));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("never crashes or hangs on random bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const p = new HttpRequestParser({ limits: { maxHeaderBytes: 256 } });
        try {
          p.push(b("POST / HTTP/1.1\r\n"));
          p.push(bytes);
          while (p.next() !== null);
        } catch (e) {
          assert.ok(e instanceof HttpParseError);
          assert.ok([400, 413, 414, 431, 501, 505].includes(e.status));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("keeps HTTP/1.0 keep-alive semantics", () => {
    assert.equal(parseAll("GET / HTTP/1.0\r\n\r\n")[0].keepAlive, false);
    assert.equal(parseAll("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")[0].keepAlive, true);
    assert.equal(
      parseAll("GET / HTTP/1.1\r\nHost: h\r\nConnection: x, close\r\n\r\n")[0].keepAlive,
      false,
    );
  });

  it("reports Expect: 100-continue before the body arrives", () => {
    const p = new HttpRequestParser();
    p.push(b("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
    assert.equal(p.next(), null);
    assert.equal(p.pendingHead?.expectContinue, true);
    p.push(b("ok"));
    assert.equal(dec.decode(p.next()!.body), "ok");
    assert.equal(p.pendingHead, null);
    assert.equal(
      parseAll("GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n")[0].unsupportedExpect,
      "magic",
    );
  });

  it("holds a body of many one-byte chunks in about its own size", () => {
    // Every chunk used to become an object of its own: 4 MB of one-byte chunks held 1.7 GB.
    const memory = (): number =>
      (globalThis as unknown as { process: { memoryUsage(): { rss: number } } }).process
        .memoryUsage().rss;
    const chunks = 3_000_000;
    const p = new HttpRequestParser({ limits: { maxBodyBytes: chunks } });
    p.push(b("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const piece = b("1\r\na\r\n".repeat(10_000));
    const before = memory();
    for (let i = 0; i < chunks / 10_000; i++) {
      p.push(piece);
      assert.equal(p.next(), null);
    }
    const grown = memory() - before;
    p.push(b("0\r\n\r\n"));
    const m = p.next()!;
    assert.equal(m.body.length, chunks);
    assert.ok(m.body.every((x) => x === 97));
    assert.ok(grown < 300e6, `a ${chunks / 1e6} MB body grew the process by ${grown / 1e6} MB`);
  });

  it("buffers bytes that trickle in at a cost linear in their size", () => {
    // Each push used to copy everything pending: 20 MB pipelined behind a busy handler in
    // 16 KB reads meant ~12 GB of copying (seconds); now tens of milliseconds.
    const size = 20_000_000;
    const p = new HttpRequestParser({ limits: { maxBodyBytes: size } });
    const piece = new Uint8Array(16 * 1024).fill(120);
    const started = performance.now();
    p.push(b(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`));
    for (let sent = 0; sent < size; sent += piece.length) {
      p.push(piece.subarray(0, Math.min(piece.length, size - sent)));
    }
    p.push(b("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    const first = p.next()!;
    const second = p.next()!;
    const ms = performance.now() - started;
    assert.equal(first.body.length, size);
    assert.equal(first.body[size - 1], 120);
    assert.equal(second.method, "GET");
    assert.ok(ms < 1500, `buffering 20 MB in 16 KB pushes took ${ms.toFixed(0)} ms`);
  });

  it("streams bodies through onBody", () => {
    const seen: string[] = [];
    const p = new HttpRequestParser({ onBody: (c) => seen.push(dec.decode(c)) });
    p.push(b("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc"));
    assert.equal(p.next(), null);
    p.push(b("def"));
    assert.equal(p.next()!.body.length, 0);
    assert.deepEqual(seen, ["abc", "def"]);
  });

  describe("refuses smuggling vectors", () => {
    const H = "Host: h\r\n";
    const cases: Array<[string, string, number, string]> = [
      [
        "conflicting Content-Length",
        `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
        400,
        "InvalidContentLength",
      ],
      [
        "conflicting Content-Length list",
        `POST / HTTP/1.1\r\n${H}Content-Length: 3, 4\r\n\r\nabcd`,
        400,
        "InvalidContentLength",
      ],
      [
        "signed Content-Length",
        `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`,
        400,
        "InvalidContentLength",
      ],
      [
        "CL with TE",
        `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        400,
        "InvalidTransferEncoding",
      ],
      [
        "TE final not chunked",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`,
        400,
        "InvalidTransferEncoding",
      ],
      [
        "TE identity",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`,
        400,
        "InvalidTransferEncoding",
      ],
      [
        "TE chunked twice",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`,
        400,
        "InvalidTransferEncoding",
      ],
      [
        "TE xchunked",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n`,
        400,
        "InvalidTransferEncoding",
      ],
      [
        "TE in HTTP/1.0",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "InvalidTransferEncoding",
      ],
      [
        "gzip before chunked",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`,
        501,
        "UnsupportedTransferEncoding",
      ],
      [
        "invalid chunk size",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n`,
        400,
        "InvalidChunk",
      ],
      [
        "0x chunk size",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`,
        400,
        "InvalidChunk",
      ],
      [
        "negative chunk size",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-1\r\n`,
        400,
        "InvalidChunk",
      ],
      [
        "overflowing chunk size",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n`,
        400,
        "InvalidChunk",
      ],
      [
        "chunk data without CRLF",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n`,
        400,
        "InvalidChunk",
      ],
      [
        "chunk size with bare LF",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`,
        400,
        "InvalidLineEnding",
      ],
      ["obs-fold", `GET / HTTP/1.1\r\n${H}X: a\r\n  b\r\n\r\n`, 400, "InvalidHeader"],
      [
        "obs-fold on Transfer-Encoding",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n`,
        400,
        "InvalidHeader",
      ],
      ["bare CR in value", `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, 400, "InvalidLineEnding"],
      ["bare LF line", `GET / HTTP/1.1\r\n${H}X: a\nY: b\r\n\r\n`, 400, "InvalidLineEnding"],
      ["NUL in value", `GET / HTTP/1.1\r\n${H}X: a\0b\r\n\r\n`, 400, "InvalidHeader"],
      ["control char in name", `GET / HTTP/1.1\r\n${H}X\x01Y: a\r\n\r\n`, 400, "InvalidHeader"],
      ["non-token name", `GET / HTTP/1.1\r\n${H}X(Y): a\r\n\r\n`, 400, "InvalidHeader"],
      [
        "space before colon",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n`,
        400,
        "InvalidHeader",
      ],
      ["tab before colon", `GET / HTTP/1.1\r\n${H}X\t: a\r\n\r\n`, 400, "InvalidHeader"],
      ["no colon", `GET / HTTP/1.1\r\n${H}Nope\r\n\r\n`, 400, "InvalidHeader"],
      ["missing Host", "GET / HTTP/1.1\r\nX: 1\r\n\r\n", 400, "MissingHost"],
      ["two Hosts", `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400, "InvalidHeader"],
      ["Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "InvalidHeader"],
      ["Host with a query", "GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", 400, "InvalidHeader"],
      ["Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "InvalidHeader"],
      ["Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "InvalidHeader"],
      ["Host with obs-text", "GET / HTTP/1.1\r\nHost: a\xe9\r\n\r\n", 400, "InvalidHeader"],
      ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "UnsupportedVersion"],
      ["HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505, "UnsupportedVersion"],
      ["bad version", "GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400, "InvalidStartLine"],
      ["lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400, "InvalidStartLine"],
      ["double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "InvalidStartLine"],
      ["bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "InvalidStartLine"],
      ["bad target form", "GET abc HTTP/1.1\r\nHost: h\r\n\r\n", 400, "InvalidStartLine"],
      ["fragment in target", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "InvalidStartLine"],
      ["control char in target", "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400, "InvalidStartLine"],
      [
        "trailing junk on request line",
        "GET / HTTP/1.1 x\r\nHost: h\r\n\r\n",
        400,
        "InvalidStartLine",
      ],
    ];
    for (const [name, input, status, code] of cases) {
      it(`${name} -> ${status}`, () => rejects(input, status, code));
    }
  });

  describe("enforces limits with the right status", () => {
    it("414 for a long target", () => {
      rejects(`GET /${"a".repeat(200)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414, "UriTooLong", {
        maxUriLength: 100,
      });
    });
    it("414 for a target longer than the whole head allows, arriving at once", () => {
      // Over maxHeaderBytes too, but the request line is what is too long.
      rejects(`GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414, "UriTooLong");
      rejects(`GET /?${"a".repeat(20_000)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414, "UriTooLong");
      // A long field after a short request line stays 431.
      rejects(`GET / HTTP/1.1\r\nHost: h\r\nX: ${"a".repeat(20_000)}\r\n\r\n`, 431);
    });
    it("414 early for a request line that never ends", () => {
      const p = new HttpRequestParser({ limits: { maxUriLength: 100 } });
      p.push(b(`GET /${"a".repeat(300)}`));
      assert.throws(() => p.next(), (e: HttpParseError) => e.status === 414);
    });
    it("431 for a large header section, even before it ends", () => {
      const p = new HttpRequestParser({ limits: { maxHeaderBytes: 1024 } });
      p.push(b(`GET / HTTP/1.1\r\nHost: h\r\nX: ${"a".repeat(2000)}`));
      assert.throws(() => p.next(), (e: HttpParseError) => e.status === 431);
    });
    it("431 for too many fields", () => {
      const many = Array.from({ length: 11 }, (_, i) => `X-${i}: v\r\n`).join("");
      rejects(`GET / HTTP/1.1\r\nHost: h\r\n${many}\r\n`, 431, "HeaderTooLarge", {
        maxHeaderCount: 10,
      });
    });
    it("431 for large trailers", () => {
      rejects(
        `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ${
          "a".repeat(300)
        }\r\n\r\n`,
        431,
        "HeaderTooLarge",
        { maxHeaderBytes: 128 },
      );
    });
    it("413 for a declared or chunked body over maxBodyBytes", () => {
      rejects("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 413, "BodyTooLarge", {
        maxBodyBytes: 10,
      });
      rejects(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n",
        413,
        "BodyTooLarge",
        { maxBodyBytes: 10 },
      );
      rejects("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999\r\n\r\n", 413);
      rejects("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1234567890123456a\r\n\r\n", 400);
    });
    it("reads a Content-Length with many leading zeros by its value", () => {
      const [m] = parseAll(
        `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${"0".repeat(20)}3\r\n\r\nabc`,
      );
      assert.equal(m.contentLength, 3);
      assert.equal(dec.decode(m.body), "abc");
    });
  });

  it("stays failed after an error and reports incomplete messages at end of stream", () => {
    const p = new HttpRequestParser();
    p.push(b("GET / HTTP/1.1\r\n\r\n"));
    assert.throws(() => p.next(), HttpParseError);
    assert.throws(() => p.next(), HttpParseError);
    const q = new HttpRequestParser();
    q.push(b("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab"));
    assert.equal(q.next(), null);
    assert.throws(() => q.finish(), (e: HttpParseError) => e.code === "IncompleteMessage");
    assert.equal(new HttpRequestParser().finish(), null);
  });

  it("keeps obs-text octets of header values as latin1", () => {
    const bytes = new Uint8Array([
      ...b("GET / HTTP/1.1\r\nHost: h\r\nX: caf"),
      0xe9,
      ...b("\r\n\r\n"),
    ]);
    const [m] = parseAll(bytes);
    assert.equal(m.headers.get("x"), "caf\u00e9");
  });
});

describe("HttpResponseParser", () => {
  function responses(raw: string, methods: string[], end = false): HttpResponseMessage[] {
    const p = new HttpResponseParser();
    for (const m of methods) p.expectResponseTo(m);
    p.push(b(raw));
    const out: HttpResponseMessage[] = [];
    for (let m = p.next(); m !== null; m = p.next()) out.push(m);
    if (end) {
      const last = p.finish();
      if (last) out.push(last);
    }
    return out;
  }

  it("reads bodies by length and chunks, and none for HEAD/204/304/1xx", () => {
    const out = responses(
      "HTTP/1.1 100 Continue\r\n\r\n" +
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
        "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n" +
        "HTTP/1.1 204 No Content\r\n\r\n" +
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" +
        "HTTP/1.1 201 \r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
      ["POST", "HEAD", "GET", "GET", "GET"],
    );
    assert.deepEqual(out.map((r) => [r.status, dec.decode(r.body)]), [
      [100, ""],
      [200, "ok"],
      [200, ""],
      [204, ""],
      [304, ""],
      [201, "ab"],
    ]);
    assert.equal(out[5].reason, "");
  });

  it("reads a close-delimited body until finish", () => {
    const out = responses("HTTP/1.1 200 OK\r\n\r\nall of it", ["GET"], true);
    assert.equal(dec.decode(out[0].body), "all of it");
    assert.equal(out[0].keepAlive, false);
  });

  it("refuses CL with TE and malformed status lines", () => {
    assert.throws(
      () =>
        responses("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", []),
      HttpParseError,
    );
    assert.throws(() => responses("HTTP/1.1 2000 OK\r\n\r\n", []), HttpParseError);
    assert.throws(() => responses("HTTP/1.1 20 OK\r\n\r\n", []), HttpParseError);
    assert.throws(() => responses("HTTP/1.1 200 O\x01K\r\n\r\n", []), HttpParseError);
  });
});

describe("serializers", () => {
  it("round-trip through the parsers", () => {
    const head = serializeRequestHead("POST", "/x?y", [["host", "h"], [
      "transfer-encoding",
      "chunked",
    ]]);
    const body = new Uint8Array([
      ...encodeChunk(b("hello")),
      ...encodeChunk(new Uint8Array(0)),
      ...LAST_CHUNK,
    ]);
    const p = new HttpRequestParser();
    p.push(new Uint8Array([...b(head), ...body]));
    const m = p.next()!;
    assert.equal(m.target, "/x?y");
    assert.equal(dec.decode(m.body), "hello");
    const r = new HttpResponseParser();
    r.push(b(serializeResponseHead(404, [["content-length", "0"]])));
    const res = r.next()!;
    assert.equal(res.status, 404);
    assert.equal(res.reason, "Not Found");
    assert.throws(() => serializeResponseHead(42, []), RangeError);
    assert.throws(() => serializeRequestHead("GET", "/a b", []), TypeError);
  });
});

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { platform } from "../../core/platform/mod.ts";
import { HandlerSink, Logger, type LogRecord } from "../../core/logger.ts";
import { availableAdapters } from "../../network/adapters.ts";
import type { RuntimeName } from "../../core/platform/types.ts";
import {
  type ServerTransportEvents,
  WebhookServer,
  type WebhookServerOptions,
} from "../../http/server.ts";
import { deferred, isDeno, tempDir, waitFor } from "../harness.ts";
import { generateTestCerts } from "../tls_certs.ts";
import { RawClients } from "./_raw_client.ts";

let runtime: RuntimeName = "deno";
const clients = new RawClients();
after(() => clients[Symbol.asyncDispose]());

async function startServer(
  setup: (s: WebhookServer) => void,
  options: WebhookServerOptions = {},
): Promise<WebhookServer> {
  const server = new WebhookServer({ network: { runtime }, ...options });
  setup(server);
  await server.start({ hostname: "127.0.0.1", port: 0 });
  return server;
}

/** Sends raw bytes and collects everything until the server closes. */
/** A ReadableStream that hands out each string as its own UTF-8 piece. */
function pieces(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      if (next < parts.length) controller.enqueue(encoder.encode(parts[next++]));
      else controller.close();
    },
  });
}

function raw(port: number, data: string): Promise<string> {
  return clients.exchange(port, data);
}

async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const child = platform().spawn("curl", { args: ["-sS", ...args] });
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  return { code: status.code ?? -1, out, err };
}

for (const adapter of availableAdapters()) {
  describe(`WebhookServer on the ${adapter} transport`, () => {
    before(() => {
      runtime = adapter;
    });
    let server: WebhookServer;
    let base: string;
    const logs: LogRecord[] = [];

    before(async () => {
      const logger = new Logger({ sinks: [new HandlerSink((r) => logs.push(r))] });
      server = await startServer((s) => {
        s.onGet("/hello", (_req, res) => res.json({ hello: "world" }));
        s.onGet("/users/{id}", (req, res) => {
          res.json({ id: req.params.id, q: req.query.get("q"), remote: req.remoteAddress });
        });
        s.onPost("/echo", (req, res) => res.setContent(req.body, "application/octet-stream"));
        s.onPut("/put", async (req, res) => {
          await new Promise((r) => setTimeout(r, 1));
          res.status = 201;
          res.setContent(req.text().toUpperCase(), "text/plain");
        });
        s.onDelete("/users/{id}", (_req, res) => {
          res.status = 204;
        });
        s.onPatch("/boom", () => {
          throw new Error("secret internals");
        });
        s.onGet("/async-boom", async () => {
          await Promise.resolve();
          throw new TypeError("also secret");
        });
        s.on("/api/users").handleJson((body) => {
          const b = body as { name: string };
          return { status: "success", name: b.name };
        });
        s.on("/api/none").handleJson(() => undefined);
        s.onGet("/utf8", (_q, r) => r.setContent("h\u00e9llo \u2713", "text/plain; charset=utf-8"));
        s.onGet("/bad-status", (_q, r) => {
          r.status = 42;
        });
        s.onGet("/bad-body", (_q, r) => {
          r.body = { not: "bytes" } as unknown as string;
        });
        s.onGet("/stream", (_req, res) => {
          res.stream(
            (async function* () {
              for (let i = 0; i < 5; i++) yield `part${i};`;
            })(),
            "text/plain",
          );
        });
        s.onGet("/web-stream", (_req, res) => {
          res.stream(pieces(["web0;", "web1;", "web2;"]), "text/plain");
        });
        // A fetch handler whose body comes in several pieces: the server reads two, then streams.
        s.mount("/parts", () => new Response(pieces(["p0;", "p1;", "p2;", "p3;"])));
        s.mount("/app", async (request) => {
          const url = new URL(request.url);
          const body = request.method === "POST" ? await request.text() : "";
          const headers = new Headers({ "x-app": "1" });
          headers.append("set-cookie", "a=1");
          headers.append("set-cookie", "b=2");
          return new Response(`${request.method} ${url.pathname}${url.search} ${body}`, {
            status: 202,
            headers,
          });
        });
      }, { logger });
      base = `http://127.0.0.1:${server.port}`;
    });

    after(async () => {
      await server.stop();
    });

    it("serves JSON, params, query and remote address to fetch", async () => {
      const r = await fetch(`${base}/hello`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "application/json");
      assert.ok(r.headers.get("date"));
      assert.deepEqual(await r.json(), { hello: "world" });
      const u = await (await fetch(`${base}/users/a%20b?q=x%26y`)).json();
      assert.equal(u.id, "a b");
      assert.equal(u.q, "x&y");
      assert.match(u.remote, /^127\.0\.0\.1:\d+$/);
    });

    it("answers 404, 405 with Allow, and HEAD through GET", async () => {
      const nf = await fetch(`${base}/nope`);
      assert.equal(nf.status, 404);
      await nf.body?.cancel();
      const na = await fetch(`${base}/hello`, { method: "POST", body: "x" });
      assert.equal(na.status, 405);
      assert.equal(na.headers.get("allow"), "GET, HEAD");
      await na.body?.cancel();
      const head = await fetch(`${base}/hello`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), "17");
      assert.equal(await head.text(), "");
    });

    it("handles sync and async handlers, 204 and bodies", async () => {
      const e = await fetch(`${base}/echo`, { method: "POST", body: new Uint8Array([1, 2, 3]) });
      assert.deepEqual(new Uint8Array(await e.arrayBuffer()), new Uint8Array([1, 2, 3]));
      const p = await fetch(`${base}/put`, { method: "PUT", body: "abc" });
      assert.equal(p.status, 201);
      assert.equal(await p.text(), "ABC");
      const d = await fetch(`${base}/users/1`, { method: "DELETE" });
      assert.equal(d.status, 204);
      assert.equal(d.headers.get("content-length"), null);
    });

    it("turns a throwing handler into a 500 JSON error without internals", async () => {
      for (const [method, path] of [["PATCH", "/boom"], ["GET", "/async-boom"]]) {
        const r = await fetch(`${base}${path}`, { method });
        assert.equal(r.status, 500);
        const text = await r.text();
        assert.deepEqual(JSON.parse(text), { error: "Internal Server Error" });
        assert.doesNotMatch(text, /secret|at /);
      }
      assert.ok(logs.some((l) => l.level === "error" && l.message === "handler failed"));
      for (const path of ["/bad-status", "/bad-body"]) {
        const r = await fetch(`${base}${path}`);
        assert.equal(r.status, 500, path);
        await r.body?.cancel();
      }
    });

    it("handleJson: parses, serializes, and answers 400/413/415", async () => {
      const ok = await fetch(`${base}/api/users`, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({ name: "Ada" }),
      });
      assert.deepEqual(await ok.json(), { status: "success", name: "Ada" });
      const bad = await fetch(`${base}/api/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{\n  "name": tru }',
      });
      assert.equal(bad.status, 400);
      const err = await bad.json();
      assert.equal(err.line, 2);
      assert.equal(typeof err.column, "number");
      const wrong = await fetch(`${base}/api/users`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "{}",
      });
      assert.equal(wrong.status, 415);
      await wrong.body?.cancel();
      const none = await fetch(`${base}/api/none`, { method: "POST" });
      assert.equal(none.status, 204);
      server.setJsonConfig({ maxPayloadSize: 10 });
      try {
        const big = await fetch(`${base}/api/users`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ name: "a".repeat(50) }),
        });
        assert.equal(big.status, 413);
        await big.body?.cancel();
      } finally {
        server.setJsonConfig({ maxPayloadSize: 1 << 20 });
      }
    });

    it("sends UTF-8 text with its byte length", async () => {
      const r = await fetch(`${base}/utf8`);
      assert.equal(r.headers.get("content-length"), "10");
      assert.equal(await r.text(), "h\u00e9llo \u2713");
      const head = await fetch(`${base}/utf8`, { method: "HEAD" });
      assert.equal(head.headers.get("content-length"), "10");
      assert.equal(await head.text(), "");
    });

    it("streams a chunked body", async () => {
      const r = await fetch(`${base}/stream`);
      assert.equal(r.headers.get("transfer-encoding"), "chunked");
      assert.equal(await r.text(), "part0;part1;part2;part3;part4;");
    });

    it("streams a ReadableStream body, and a fetch handler's body of several pieces", async () => {
      const web = await fetch(`${base}/web-stream`);
      assert.equal(web.headers.get("transfer-encoding"), "chunked");
      assert.equal(await web.text(), "web0;web1;web2;");
      const parts = await fetch(`${base}/parts`);
      assert.equal(parts.headers.get("transfer-encoding"), "chunked");
      assert.equal(await parts.text(), "p0;p1;p2;p3;");
    });

    it("mounts a fetch handler with the prefix removed", async () => {
      const r = await fetch(`${base}/app/x/y?z=1`, { method: "POST", body: "hi" });
      assert.equal(r.status, 202);
      assert.equal(r.headers.get("x-app"), "1");
      assert.deepEqual(r.headers.getSetCookie(), ["a=1", "b=2"]);
      assert.equal(await r.text(), "POST /x/y?z=1 hi");
      assert.equal(await (await fetch(`${base}/app`)).text(), "GET / ");
      // The prefix matches in its escaped spellings too, and is cut where the router matched it.
      assert.equal(await (await fetch(`${base}/%61pp/x%2Fy`)).text(), "GET /x%2Fy ");
    });

    it("works with curl: keep-alive reuse, chunked upload, Expect: 100-continue", async () => {
      const reuse = await curl([
        "-v",
        `${base}/hello`,
        `${base}/users/7`,
      ]);
      assert.equal(reuse.code, 0, reuse.err);
      assert.match(reuse.err, /Re-using existing connection|Reusing existing/i);
      assert.equal(
        reuse.out,
        '{"hello":"world"}{"id":"7","q":null,"remote":' + reuse.out.split('"remote":')[1],
      );
      const chunked = await curl([
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        "chunky",
        `${base}/echo`,
      ]);
      assert.equal(chunked.code, 0, chunked.err);
      assert.equal(chunked.out, "chunky");
      const http10 = await curl(["--http1.0", "-i", `${base}/hello`]);
      assert.match(http10.out, /^HTTP\/1\.1 200 OK/);
      assert.match(http10.out, /connection: close/i);
    });

    it("answers pipelined requests in order on one connection", async () => {
      const text = await raw(
        server.port,
        "GET /users/1 HTTP/1.1\r\nHost: h\r\n\r\n" +
          "PUT /put HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx" +
          "GET /users/2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      );
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
      assert.deepEqual(statuses, ["200", "201", "200"]);
      assert.ok(
        text.indexOf('"id":"1"') < text.indexOf("X") &&
          text.indexOf("X") < text.indexOf('"id":"2"'),
      );
    });

    it("refuses malformed and smuggling requests with 4xx and closes", async () => {
      const cases: Array<[string, number]> = [
        [
          "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          400,
        ],
        ["POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400],
        ["GET /hello HTTP/1.1\r\n\r\n", 400],
        ["GET /hello HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400],
        ["GET /hello HTTP/2.0\r\nHost: h\r\n\r\n", 505],
        ["POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
        [`GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414],
        [`GET / HTTP/1.1\r\nHost: h\r\nX: ${"a".repeat(17000)}\r\n\r\n`, 431],
        ["GET /hello HTTP/1.1\r\nHost: h\r\nExpect: nonsense\r\nConnection: close\r\n\r\n", 417],
      ];
      for (const [input, status] of cases) {
        const text = await raw(server.port, input);
        assert.match(
          text,
          new RegExp(`^HTTP/1\\.1 ${status} `),
          `${input.slice(0, 60)} -> ${text.slice(0, 60)}`,
        );
      }
      // The smuggled second request must never be answered.
      const smuggle = await raw(
        server.port,
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\n\r\n",
      );
      assert.equal([...smuggle.matchAll(/HTTP\/1\.1/g)].length, 1);
      assert.ok(server.getStats().parseErrors >= cases.length - 1);
    });

    it("counts requests, responses, bytes and writes the access log", async () => {
      server.resetStats();
      logs.length = 0;
      await (await fetch(`${base}/hello`)).text();
      await (await fetch(`${base}/nope`)).text();
      const s = server.getStats();
      assert.equal(s.requests, 2);
      assert.equal(s.responses["2xx"], 1);
      assert.equal(s.responses["4xx"], 1);
      assert.ok(s.bytesIn > 0 && s.bytesOut > 0);
      const access = logs.filter((l) => l.message === "request");
      assert.equal(access.length, 2);
      assert.equal(access[0].fields.path, "/hello");
      assert.equal(access[0].fields.status, 200);
    });
  });

  describe(`WebhookServer limits and lifecycle on the ${adapter} transport`, () => {
    before(() => {
      runtime = adapter;
    });
    it("closes slow headers (408) and idle keep-alive connections", async () => {
      const server = await startServer((s) => s.onGet("/", (_q, r) => r.json(1)), {
        headerTimeoutMs: 200,
        keepAliveTimeoutMs: 200,
      });
      try {
        const sent = platform().now();
        const slow = await raw(server.port, "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: ");
        assert.match(slow, /^HTTP\/1\.1 408 /);
        // Stamps come from a coarse clock; the timeout must still never fire early.
        const waited = platform().now() - sent;
        assert.ok(waited >= 195, `408 after ${waited.toFixed(0)} ms, before the 200 ms timeout`);
        const idle = await raw(server.port, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert.match(idle, /^HTTP\/1\.1 200 /); // then closed by the idle timeout
        assert.ok(server.getStats().timeouts >= 2);
      } finally {
        await server.stop();
      }
    });

    it("refuses connections beyond maxConnections with 503", async () => {
      const server = await startServer((s) => s.onGet("/", (_q, r) => r.json(1)), {
        maxConnections: 1,
      });
      try {
        const first = await clients.open(server.port);
        await waitFor(() => server.getStats().activeConnections === 1, { what: "first accept" });
        const second = await raw(server.port, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert.match(second, /^HTTP\/1\.1 503 /);
        first.close();
        assert.equal(server.getStats().rejectedConnections, 1);
      } finally {
        await server.stop();
      }
    });

    it("shuts down gracefully: in-flight finish, idle close, new refused", async () => {
      const entered = deferred("handler entered");
      const release = deferred("release");
      const server = await startServer((s) => {
        s.onGet("/slow", async (_q, r) => {
          entered.resolve();
          await release.wait();
          r.json({ done: s.getShutdownChecker().isShuttingDown() });
        });
        s.onGet("/fast", (_q, r) => r.json(1));
      });
      const port = server.port;
      const idle = raw(port, "GET /fast HTTP/1.1\r\nHost: h\r\n\r\n");
      const slow = raw(port, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
      await entered.wait();
      const stopped = server.stop({ timeoutMs: 5000 });
      assert.equal(server.getShutdownChecker().isShuttingDown(), true);
      release.resolve();
      await stopped;
      const idleText = await idle;
      assert.match(idleText, /^HTTP\/1\.1 200 /);
      const slowText = await slow;
      assert.match(slowText, /^HTTP\/1\.1 200 /);
      assert.match(slowText, /connection: close/);
      assert.match(slowText, /\{"done":true\}/);
      assert.equal(server.running, false);
      await assert.rejects(fetch(`http://127.0.0.1:${port}/fast`));
    });

    it("cuts requests that outlive the stop deadline", async () => {
      const entered = deferred("handler entered");
      const server = await startServer((s) => {
        s.onGet("/forever", async () => {
          entered.resolve();
          await new Promise(() => {});
        });
      });
      const pending = raw(server.port, "GET /forever HTTP/1.1\r\nHost: h\r\n\r\n");
      await entered.wait();
      await server.stop({ timeoutMs: 100 });
      assert.equal(await pending, "");
    });

    it("serves HTTPS to curl with generated certificates", async () => {
      await using dir = await tempDir();
      const certs = await generateTestCerts(dir.path);
      const server = new WebhookServer({ network: { runtime } });
      server.onGet("/secure", (_q, r) => r.setContent("secret", "text/plain"));
      server.enableTls({ cert: certs.server.cert, key: certs.server.key });
      await server.start({ hostname: "127.0.0.1", port: 0 });
      try {
        const ok = await curl([
          "--cacert",
          certs.ca.certFile,
          `https://127.0.0.1:${server.port}/secure`,
        ]);
        assert.equal(ok.code, 0, ok.err);
        assert.equal(ok.out, "secret");
        const untrusted = await curl([
          "--cacert",
          certs.otherCa.certFile,
          `https://127.0.0.1:${server.port}/secure`,
        ]);
        assert.notEqual(untrusted.code, 0);
      } finally {
        await server.stop();
      }
    });

    it("requires client certificates on Node, and says it cannot on Deno", async () => {
      await using dir = await tempDir();
      const certs = await generateTestCerts(dir.path);
      const server = new WebhookServer({ network: { runtime } });
      server.onGet("/mtls", (_q, r) => r.setContent("hello client", "text/plain"));
      server.enableTls({
        cert: certs.server.cert,
        key: certs.server.key,
        ca: certs.ca.cert,
        requireClientCert: true,
      });
      if (runtime === "deno" || isDeno) {
        // Deno.listenTls has no such option, and Deno's node:tls drops these handshakes.
        await assert.rejects(
          server.start({ hostname: "127.0.0.1", port: 0 }),
          (e: Error & { code?: string }) => e.code === "Unsupported" && /deno/i.test(e.message),
        );
        assert.equal(server.running, false);
        return;
      }
      await server.start({ hostname: "127.0.0.1", port: 0 });
      try {
        const url = `https://127.0.0.1:${server.port}/mtls`;
        const ok = await curl([
          "--cacert",
          certs.ca.certFile,
          "--cert",
          certs.client.certFile,
          "--key",
          certs.client.keyFile,
          url,
        ]);
        assert.equal(ok.code, 0, ok.err);
        assert.equal(ok.out, "hello client");
        const anonymous = await curl(["--cacert", certs.ca.certFile, url]);
        assert.notEqual(anonymous.code, 0);
      } finally {
        await server.stop();
      }
    });

    it("refuses to start twice and to enable TLS without a key", async () => {
      const server = await startServer(() => {});
      try {
        await assert.rejects(
          server.start(),
          (e: Error & { code?: string }) => e.code === "AlreadyStarted",
        );
        assert.throws(
          () => server.enableTls({ cert: "x" }),
          (e: Error & { code?: string }) => e.code === "InvalidConfig",
        );
      } finally {
        await server.stop();
      }
    });
  });
}

describe("WebhookServer write coalescing", () => {
  it("answers pipelined requests that arrive together with one send, in order", async () => {
    const sends: Array<[number, string]> = [];
    let events: ServerTransportEvents | null = null;
    const server = new WebhookServer({
      transport: (e) => {
        events = e;
        return {
          listen: () => Promise.resolve(1),
          send: (sid, bytes) => void sends.push([sid, new TextDecoder().decode(bytes)]),
          sendAsync: (sid, bytes) => {
            sends.push([sid, new TextDecoder().decode(bytes)]);
            return Promise.resolve();
          },
          close: () => {},
          stopListening: () => Promise.resolve(),
          stop: () => Promise.resolve(),
        };
      },
    });
    server.onGet("/n/{n}", (req, res) => res.setContent(`n=${req.params.n}`, "text/plain"));
    await server.start({ hostname: "127.0.0.1", port: 0 });
    try {
      const ev = events!;
      ev.onAccept(7, "127.0.0.1:1");
      ev.onData(
        7,
        new TextEncoder().encode(
          "GET /n/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /n/2 HTTP/1.1\r\nHost: h\r\n\r\n" +
            "GET /missing HTTP/1.1\r\nHost: h\r\n\r\n",
        ),
      );
      assert.equal(sends.length, 1);
      const [sid, text] = sends[0];
      assert.equal(sid, 7);
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
      assert.deepEqual(statuses, ["200", "200", "404"]);
      assert.ok(text.indexOf("n=1") < text.indexOf("n=2"));
      // A lone request still goes out at once.
      ev.onData(7, new TextEncoder().encode("GET /n/3 HTTP/1.1\r\nHost: h\r\n\r\n"));
      assert.equal(sends.length, 2);
      assert.match(sends[1][1], /n=3$/);
      assert.equal(server.getStats().bytesOut, sends[0][1].length + sends[1][1].length);
    } finally {
      await server.stop({ timeoutMs: 10 });
    }
  });
});

describe("WebhookServer options", () => {
  it("refuses timeouts and a connection cap that are not positive, and takes Infinity", () => {
    for (const bad of [0, -1, NaN]) {
      for (const name of ["headerTimeoutMs", "keepAliveTimeoutMs", "requestTimeoutMs"] as const) {
        assert.throws(() => new WebhookServer({ [name]: bad }), RangeError, `${name}: ${bad}`);
      }
      assert.throws(() => new WebhookServer({ maxConnections: bad }), RangeError);
    }
    assert.ok(new WebhookServer({ requestTimeoutMs: Infinity, maxConnections: Infinity }));
  });
});

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../network/adapters.ts";
import type { RuntimeName } from "../../core/platform/types.ts";
import { type ServerTransportEvents, WebhookServer } from "../../http/server.ts";
import { parseJson } from "../../parsers/json.ts";
import { deferred, waitFor, withDeadline } from "../harness.ts";
import { RawClients } from "./_raw_client.ts";

const clients = new RawClients();
after(() => clients[Symbol.asyncDispose]());

const encoder = new TextEncoder();

/** The status codes of every response in `text`, in order. */
function statuses(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d+) /g)].map((m) => m[1]);
}

for (const runtime of availableAdapters() as RuntimeName[]) {
  describe(`WebhookServer edge cases on the ${runtime} transport`, () => {
    let server: WebhookServer;
    const streamCancelled = deferred("the HEAD stream to be cancelled");
    const sseFirstPieceSent = deferred("the SSE stream's first piece");
    const sseCancelled = deferred("the SSE stream to be cancelled");
    const appStreamCancelled = deferred("the route stream to be cancelled");
    const headStreamCancelled = deferred("the mounted HEAD stream to be cancelled");
    const quietCancelled = deferred("the quiet stream to be cancelled");
    const failedStreamCancelled = deferred("the failed handler's stream to be cancelled");

    before(async () => {
      server = new WebhookServer({ network: { runtime } });
      server.onGet("/", (req, res) => res.json({ path: req.path, query: req.queryString }));
      server.onGet("/gen", (_req, res) => {
        res.stream(
          (async function* () {
            yield "a";
            yield "b";
          })(),
          "text/plain",
        );
      });
      server.onGet("/web", (_req, res) => {
        res.stream(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(encoder.encode("w"));
            },
            cancel() {
              streamCancelled.resolve();
            },
          }),
          "text/plain",
        );
      });
      server.onGet("/forever", (_req, res) => {
        res.stream(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(encoder.encode("first;"));
            },
            cancel() {
              appStreamCancelled.resolve();
            },
          }),
          "text/plain",
        );
      });
      server.onGet("/x", (_req, res) => res.setContent("x", "text/plain"));
      server.onGet("/internal-json", () => {
        // The server's own data is bad, not the request: that is a 500.
        parseJson('{"secret": tru}');
      });
      server.onPost("/req-json", (req, res) => res.json({ got: req.json() }));
      server.onPost(
        "/trailers",
        (req, res) => res.json({ body: req.text(), sum: req.trailers?.get("x-sum") ?? null }),
      );
      const date = "Tue, 01 Jan 2030 00:00:00 GMT";
      server.onGet("/dated", (_req, res) => {
        res.setHeader("Date", date);
        res.setContent("d", "text/plain");
      });
      server.onGet("/dated-stream", (_req, res) => {
        res.setHeader("date", date);
        res.stream(
          (async function* () {
            yield "d";
          })(),
        );
      });
      server.mount("/proxy", () => new Response("upstream", { headers: { date } }));
      server.onGet("/bye", (_req, res) => {
        res.setHeader("Connection", "close");
        res.setContent("bye", "text/plain");
      });
      server.mount("/bye-app", () => new Response("bye", { headers: { connection: "close" } }));
      server.onGet("/fails-late", (_req, res) => {
        res.stream(
          new ReadableStream<Uint8Array>({
            cancel() {
              failedStreamCancelled.resolve();
            },
          }),
        );
        throw new Error("after setting headers");
      });
      server.onGet("/a/b", (_req, res) => res.json(1));
      server.onDelete("/a/*", (_req, res) => res.json(1));
      server.mount("/url", (request) => new Response(request.url));
      server.mount(
        "/sized",
        () => new Response(null, { headers: { "content-length": "1234", "x-s": "1" } }),
      );
      server.mount("/head-stream", () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(encoder.encode("never sent"));
            },
            cancel() {
              headStreamCancelled.resolve();
            },
          }),
          { headers: { "content-length": "99" } },
        ));
      // An events app with nothing to say yet: its headers must still go out.
      server.mount("/quiet", () =>
        new Response(
          new ReadableStream<Uint8Array>({
            cancel() {
              quietCancelled.resolve();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ));
      // A server-sent-events app: one event now, the next one much later (here: never).
      server.mount("/sse", () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(encoder.encode("data: 1\n\n"));
              sseFirstPieceSent.resolve();
            },
            cancel() {
              sseCancelled.resolve();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ));
      await server.start({ hostname: "127.0.0.1", port: 0 });
    });

    after(() => server.stop({ timeoutMs: 1000 }));

    it("HEAD on a streamed route sends no body, not even the last chunk", async () => {
      for (const path of ["/gen", "/web"]) {
        const text = await clients.exchange(
          server.port,
          `HEAD ${path} HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
        );
        assert.deepEqual(statuses(text), ["200", "200"], text);
        const second = text.indexOf("HTTP/1.1", 1);
        // The head's empty line is the last thing before the next response.
        assert.equal(text.indexOf("\r\n\r\n"), second - 4, JSON.stringify(text));
        assert.ok(text.endsWith("\r\n\r\nx"), JSON.stringify(text));
      }
      // The source of a HEAD response is not read, but it is released.
      await streamCancelled.wait(5000);
    });

    it("HEAD keeps the length a fetch handler declares for a body it leaves out", async () => {
      const text = await clients.exchange(
        server.port,
        "HEAD /sized HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      );
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.match(text, /\r\ncontent-length: 1234\r\n/, text);
      assert.match(text, /\r\nx-s: 1\r\n/);
      assert.ok(text.endsWith("\r\n\r\n"));
    });

    it("HEAD on a mounted streaming app: its headers and declared length, no body", async () => {
      const text = await clients.exchange(
        server.port,
        "HEAD /head-stream HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      );
      assert.deepEqual(statuses(text), ["200", "200"], text);
      const second = text.indexOf("HTTP/1.1", 1);
      assert.equal(text.indexOf("\r\n\r\n"), second - 4, JSON.stringify(text));
      assert.match(text.slice(0, second), /\r\ncontent-length: 99\r\n/);
      assert.doesNotMatch(text, /never sent/);
      await headStreamCancelled.wait(5000);
    });

    it("refuses a Host that is not a valid authority (400), so mounts see the real path", async () => {
      for (const host of ["a/evil?", "a#b", "u@host", "a b", "a\\b"]) {
        const text = await clients.exchange(
          server.port,
          `GET /url/x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        );
        assert.match(text, /^HTTP\/1\.1 400 /, `${host}: ${text.slice(0, 120)}`);
      }
      for (const host of ["example.com:8080", "[::1]:8080", "127.0.0.1", "xn--bcher-kva.example"]) {
        const text = await clients.exchange(
          server.port,
          `GET /url/x?q=1 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        );
        assert.match(text, /^HTTP\/1\.1 200 /, host);
        assert.ok(text.endsWith(`http://${host}/x?q=1`), text);
      }
    });

    it("a handler that fails after setting a stream gets a 500, and the stream is released", async () => {
      const text = await clients.exchange(
        server.port,
        "GET /fails-late HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      );
      assert.match(text, /^HTTP\/1\.1 500 /);
      assert.match(text, /content-type: application\/json/);
      assert.ok(text.endsWith('{"error":"Internal Server Error"}'), text);
      await failedStreamCancelled.wait(5000);
    });

    it("a mounted app sees the request's path whatever the Host (empty, or none in HTTP/1.0)", async () => {
      const empty = await clients.exchange(
        server.port,
        "GET /url/x/y?q HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
      );
      assert.match(empty, /^HTTP\/1\.1 200 /);
      assert.ok(empty.endsWith(`http://127.0.0.1:${server.port}/x/y?q`), empty);
      const none = await clients.exchange(server.port, "GET /url/x/y HTTP/1.0\r\n\r\n");
      assert.ok(none.endsWith(`http://127.0.0.1:${server.port}/x/y`), none);
    });

    it("hands a chunked body's trailer fields to the handler", async () => {
      const send = (trailer: string) =>
        clients.exchange(
          server.port,
          "POST /trailers HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n" +
            `Connection: close\r\n\r\n3\r\nabc\r\n0\r\n${trailer}\r\n`,
        );
      assert.ok((await send("X-Sum: 294\r\n")).endsWith('{"body":"abc","sum":"294"}'));
      assert.ok((await send("")).endsWith('{"body":"abc","sum":null}'));
    });

    it("answers 501 for methods a fetch handler cannot receive (CONNECT, TRACE, TRACK)", async () => {
      for (const method of ["CONNECT", "TRACE", "TRACK"]) {
        const text = await clients.exchange(
          server.port,
          `${method} /url/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
        );
        assert.match(text, /^HTTP\/1\.1 501 /, text);
        assert.match(text, /cannot be passed to a fetch handler/);
      }
    });

    it("sends one Date field when the handler (or a proxied response) brings its own", async () => {
      for (const path of ["/dated", "/proxy", "/dated-stream"]) {
        const text = await clients.exchange(
          server.port,
          `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
        );
        assert.match(text, /^HTTP\/1\.1 200 /);
        const dates = [...text.matchAll(/\r\ndate: ([^\r]*)/gi)].map((m) => m[1]);
        assert.deepEqual(dates, ["Tue, 01 Jan 2030 00:00:00 GMT"], `${path}: ${text}`);
      }
      // Without one, the server's own.
      const own = await clients.exchange(
        server.port,
        "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      );
      assert.equal([...own.matchAll(/\r\ndate: /g)].length, 1);
    });

    it("a handler's Connection: close is honoured, not dropped", async () => {
      for (const path of ["/bye", "/bye-app"]) {
        // No Connection: close from the client: only the handler asks for the close.
        const text = await clients.exchange(
          server.port,
          `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n`,
        );
        assert.deepEqual(statuses(text), ["200"], text);
        assert.match(text, /\r\nconnection: close\r\n/);
      }
    });

    it("only a bad request body is a 400; the handler's own bad JSON is a 500", async () => {
      const internal = await clients.exchange(
        server.port,
        "GET /internal-json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      );
      assert.match(internal, /^HTTP\/1\.1 500 /, internal);
      assert.doesNotMatch(internal, /secret|line|column/);
      const body = '{"a": tru}';
      const bad = await clients.exchange(
        server.port,
        `POST /req-json HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
      assert.match(bad, /^HTTP\/1\.1 400 /, bad);
      assert.match(bad, /"line":1/);
    });

    it("absolute-form targets without a path serve '/' with the query", async () => {
      const text = await clients.exchange(
        server.port,
        "GET http://h?a=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      );
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.ok(text.endsWith('{"path":"/","query":"a=1"}'), text);
    });

    it("405 lists every method any matching route accepts", async () => {
      const text = await clients.exchange(
        server.port,
        "POST /a/b HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      );
      assert.match(text, /^HTTP\/1\.1 405 /);
      const allow = /\r\nallow: ([^\r]*)\r\n/.exec(text)?.[1] ?? "";
      assert.deepEqual(allow.split(", ").sort(), ["DELETE", "GET", "HEAD"]);
    });

    it("a mounted streaming app's first piece goes out before its next one exists", async () => {
      const conn = await clients.open(server.port);
      try {
        conn.write("GET /sse HTTP/1.1\r\nHost: h\r\n\r\n");
        await sseFirstPieceSent.wait(5000);
        await waitFor(() => conn.text.includes("data: 1\n\n"), {
          timeoutMs: 5000,
          what: "the first event to reach the client",
        });
        assert.match(conn.text, /^HTTP\/1\.1 200 /);
        assert.match(conn.text, /content-type: text\/event-stream/);
      } finally {
        conn.close();
      }
      // The client is gone: the app's stream is cancelled, not left waiting forever.
      await sseCancelled.wait(5000);
    });

    it("a mounted app's headers go out before its stream has any data", async () => {
      const conn = await clients.open(server.port);
      try {
        conn.write("GET /quiet HTTP/1.1\r\nHost: h\r\n\r\n");
        await waitFor(() => conn.text.includes("\r\n\r\n"), {
          timeoutMs: 5000,
          what: "the response head",
        });
        assert.match(conn.text, /^HTTP\/1\.1 200 /);
        assert.match(conn.text, /content-type: text\/event-stream/);
        assert.match(conn.text, /transfer-encoding: chunked/);
      } finally {
        conn.close();
      }
      await quietCancelled.wait(5000);
    });

    it("cancels a streamed body when the client goes away", async () => {
      const conn = await clients.open(server.port);
      conn.write("GET /forever HTTP/1.1\r\nHost: h\r\n\r\n");
      await waitFor(() => conn.text.includes("first;"), { timeoutMs: 5000, what: "first piece" });
      conn.close();
      await appStreamCancelled.wait(5000);
    });
  });
}

for (const runtime of availableAdapters() as RuntimeName[]) {
  describe(`WebhookServer shutdown edge cases on the ${runtime} transport`, () => {
    it("closes a connection whose streamed response ends during shutdown", async () => {
      const release = deferred("release the stream");
      const server = new WebhookServer({ network: { runtime }, keepAliveTimeoutMs: 60_000 });
      server.onGet("/stream", (_req, res) => {
        res.stream(
          (async function* () {
            yield "one;";
            await release.wait();
            yield "two;";
          })(),
          "text/plain",
        );
      });
      await server.start({ hostname: "127.0.0.1", port: 0 });
      const conn = await clients.open(server.port);
      try {
        conn.write("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
        await waitFor(() => conn.text.includes("one;"), { timeoutMs: 5000, what: "first piece" });
        const stopped = server.stop({ timeoutMs: 60_000 });
        release.resolve();
        // The response was begun as keep-alive; shutdown must still close it once it ends,
        // not leave stop() waiting for the idle timeout or its own deadline.
        await withDeadline(stopped, 5000, "stop() after the stream ended");
        await withDeadline(conn.closed, 5000, "the connection to close");
        assert.ok(conn.text.endsWith("two;\r\n0\r\n\r\n"), JSON.stringify(conn.text));
      } finally {
        conn.close();
        await server.stop({ timeoutMs: 100 });
      }
    });

    it("a second stop() while the first is draining waits for the same end", async () => {
      const entered = deferred("handler entered");
      const release = deferred("release");
      const server = new WebhookServer({ network: { runtime } });
      server.onGet("/slow", async (_req, res) => {
        entered.resolve();
        await release.wait();
        res.json(1);
      });
      await server.start({ hostname: "127.0.0.1", port: 0 });
      try {
        const answer = clients.exchange(server.port, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
        await entered.wait();
        const first = server.stop({ timeoutMs: 60_000 });
        const second = server.stop({ timeoutMs: 60_000 });
        release.resolve();
        await withDeadline(Promise.all([first, second]), 5000, "both stops");
        assert.match(await answer, /^HTTP\/1\.1 200 /);
        assert.equal(server.running, false);
      } finally {
        release.resolve();
        await server.stop({ timeoutMs: 100 });
      }
    });
  });
}

describe("WebhookServer mount on an IPv6 wildcard address", () => {
  it("builds a valid URL for a request without Host", async (t) => {
    const server = new WebhookServer();
    server.mount("/url", (request) => new Response(request.url));
    try {
      await server.start({ hostname: "::", port: 0 });
    } catch {
      t.skip("no IPv6 on this machine");
      return;
    }
    try {
      // Dual-stack: the IPv4 loopback reaches the "::" listener.
      const text = await clients.exchange(server.port, "GET /url/x HTTP/1.0\r\n\r\n");
      assert.match(text, /^HTTP\/1\.1 200 /, text);
      assert.ok(text.endsWith(`http://[::]:${server.port}/x`), text);
    } finally {
      await server.stop();
    }
  });
});

describe("WebhookServer after refusing a request", () => {
  it("reads and drops the rest of the upload before closing, then closes", async () => {
    const sends: string[] = [];
    const closed = deferred<number>("the session to be closed");
    let closedSync = false;
    let events: ServerTransportEvents | null = null;
    const server = new WebhookServer({
      limits: { maxBodyBytes: 1024 },
      keepAliveTimeoutMs: 50,
      transport: (e) => {
        events = e;
        return {
          listen: () => Promise.resolve(1),
          send: (_sid, bytes) => void sends.push(new TextDecoder().decode(bytes)),
          sendAsync: (_sid, bytes) => {
            sends.push(new TextDecoder().decode(bytes));
            return Promise.resolve();
          },
          close: (sid) => {
            closedSync = true;
            closed.resolve(sid);
          },
          stopListening: () => Promise.resolve(),
          stop: () => Promise.resolve(),
        };
      },
    });
    server.onPost("/up", (req, res) => res.json(req.body.length));
    await server.start({ hostname: "127.0.0.1", port: 0 });
    try {
      const ev = events!;
      ev.onAccept(3, "127.0.0.1:1");
      ev.onData(
        3,
        encoder.encode("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5000000\r\n\r\nxxxx"),
      );
      assert.equal(sends.length, 1);
      assert.match(sends[0], /^HTTP\/1\.1 413 /);
      assert.match(sends[0], /connection: close/);
      // Closing now would have the kernel answer the rest of the upload with a reset, and
      // clients (Deno's and Node's fetch) report that instead of the 413.
      assert.equal(closedSync, false);
      ev.onData(3, new Uint8Array(64 * 1024));
      ev.onData(3, encoder.encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
      assert.equal(sends.length, 1, "nothing more is parsed or answered");
      // Once the client stops sending, the connection goes.
      assert.equal(await closed.wait(5000), 3);
    } finally {
      await server.stop({ timeoutMs: 10 });
    }
  });

  for (const runtime of availableAdapters() as RuntimeName[]) {
    it(`fetch streaming an upload over the limit gets the 413 (${runtime} transport)`, async () => {
      const server = new WebhookServer({ network: { runtime }, limits: { maxBodyBytes: 1 << 20 } });
      server.onPost("/up", (req, res) => res.json(req.body.length));
      await server.start({ hostname: "127.0.0.1", port: 0 });
      try {
        for (let i = 0; i < 3; i++) {
          let sent = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(c) {
              if (sent++ < 200) c.enqueue(new Uint8Array(64 * 1024));
              else c.close();
            },
          });
          const r = await fetch(`http://127.0.0.1:${server.port}/up`, {
            method: "POST",
            body,
            duplex: "half",
          } as RequestInit);
          assert.equal(r.status, 413);
          await r.body?.cancel();
        }
      } finally {
        await server.stop({ timeoutMs: 1000 });
      }
    });
  }
});

describe("WebhookServer start and stop overlapping", () => {
  it("a second start() while the first is binding is refused, and stop() waits for the start", async () => {
    const server = new WebhookServer();
    server.onGet("/", (_req, res) => res.json(1));
    const first = server.start({ hostname: "127.0.0.1", port: 0 });
    const second = server.start({ hostname: "127.0.0.1", port: 0 });
    await assert.rejects(second, (e: Error & { code?: string }) => e.code === "AlreadyStarted");
    await first;
    assert.equal(server.running, true);
    await server.stop();
    // A stop() issued while the start is still binding must not leave a server running.
    const started = server.start({ hostname: "127.0.0.1", port: 0 });
    const stopped = server.stop();
    await started;
    await stopped;
    assert.equal(server.running, false);
  });
});

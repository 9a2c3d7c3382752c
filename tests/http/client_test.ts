// HttpClient against real servers on 127.0.0.1: node:http, Iora's own
// WebhookServer (also over TLS), and raw TCP servers written to misbehave
// (closing a kept-alive socket as the next request arrives, resetting after
// a POST, splitting a chunked response at every byte, stalling).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { HttpClient } from "../../http/client.ts";
import { HttpClientError } from "../../http/client_error.ts";
import { WebhookServer } from "../../http/server.ts";
import { generateTestCerts, type TestCerts } from "../tls_certs.ts";
import { deferred, type TempDir, tempDir, waitFor } from "../harness.ts";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

interface NodeServer {
  url: string;
  port: number;
  connections: number;
  seen: { method: string; url: string; body: string; headers: IncomingMessage["headers"] }[];
  server: Server;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}

async function nodeServer(handler: Handler): Promise<NodeServer> {
  const state = { connections: 0, seen: [] as NodeServer["seen"] };
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    state.seen.push({ method: req.method!, url: req.url!, body, headers: req.headers });
    handler(req, body, res);
  });
  server.on("connection", () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    get connections() {
      return state.connections;
    },
    seen: state.seen,
  };
}

async function rawServer(onSocket: (socket: Socket, index: number) => void): Promise<{
  url: string;
  server: TcpServer;
  sockets: Socket[];
}> {
  const sockets: Socket[] = [];
  const server = createTcpServer((socket) => {
    sockets.push(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    onSocket(socket, sockets.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    server,
    sockets,
  };
}

async function closeServer(server: Server | TcpServer, sockets: Socket[] = []): Promise<void> {
  for (const socket of sockets) socket.destroy();
  (server as Server).closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}

/** Reads HTTP/1.1 requests from a raw socket (heads and Content-Length bodies). */
function onRequests(socket: Socket, handle: (head: string, body: string, n: number) => void): void {
  let buffer = "";
  let n = 0;
  socket.on("data", (data) => {
    buffer += data.toString("latin1");
    for (;;) {
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buffer.slice(0, end);
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      const body = buffer.slice(end + 4, end + 4 + length);
      buffer = buffer.slice(end + 4 + length);
      handle(head, body, n++);
    }
  });
}

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

describe("HttpClient", () => {
  let dir: TempDir;
  let certs: TestCerts;
  let api: NodeServer;

  before(async () => {
    dir = await tempDir();
    certs = await generateTestCerts(dir.path);
    api = await nodeServer((req, body, res) => {
      if (req.url === "/json") {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ method: req.method, body, agent: req.headers["user-agent"] }));
      } else if (req.url === "/missing") {
        res.statusCode = 404;
        res.statusMessage = "Nope";
        res.end("no such thing");
      } else if (req.url === "/big") {
        res.end("x".repeat(200_000));
      } else if (req.url === "/echo") {
        res.setHeader("content-type", req.headers["content-type"] ?? "text/plain");
        res.end(body);
      } else res.end("hello");
    });
  });

  after(async () => {
    await closeServer(api.server);
    await dir[Symbol.asyncDispose]();
  });

  it("GET, POST, postJson, getJson and the seed's response fields", async () => {
    await using client = new HttpClient({ userAgent: "iora-test/1" });
    const hello = await client.get(`${api.url}/`);
    assert.equal(hello.statusCode, 200);
    assert.equal(hello.statusText, "OK");
    assert.equal(hello.body, "hello");
    assert.equal(hello.success(), true);
    const posted = await client.postJson(`${api.url}/json`, { a: [1, 2] });
    assert.deepEqual(posted.json(), { method: "POST", body: '{"a":[1,2]}', agent: "iora-test/1" });
    assert.deepEqual(await client.getJson(`${api.url}/json`), {
      method: "GET",
      body: "",
      agent: "iora-test/1",
    });
    const missing = await client.get(`${api.url}/missing`, { "x-custom": "1" });
    assert.deepEqual([missing.statusCode, missing.statusText, missing.success()], [
      404,
      "Nope",
      false,
    ]);
    assert.throws(() => missing.parseJsonOrThrow(), { code: "HttpStatus", status: 404 });
    await assert.rejects(client.getJson(`${api.url}/missing`), { code: "HttpStatus" });
    assert.equal(api.seen.at(-2)?.headers["x-custom"], "1", "headers given positionally are sent");
    const text = await client.post(`${api.url}/echo`, "plain text");
    assert.equal(text.body, "plain text");
    assert.match(text.headers.get("content-type")!, /text\/plain/);
    await assert.rejects(client.get("ftp://127.0.0.1/"), { code: "InvalidRequest" });
    await assert.rejects(client.get("/relative"), { code: "InvalidRequest" });
  });

  it("reuses one keep-alive connection for sequential requests", async () => {
    await using client = new HttpClient();
    const before = api.connections;
    for (let i = 0; i < 10; i++) assert.equal((await client.get(`${api.url}/`)).body, "hello");
    assert.equal(api.connections - before, 1);
    const stats = client.getStats();
    assert.equal(stats.connectionsOpened, 1);
    assert.equal(stats.connectionsReused, 9);
    assert.equal(stats.responses["2xx"], 10);
  });

  it("a kept-alive socket the server closes as the next request arrives: GET is replayed, POST is not", async () => {
    const counts: Record<string, number> = {};
    const raw = await rawServer((socket) =>
      onRequests(socket, (head, _body, n) => {
        const method = head.split(" ")[0];
        counts[method] = (counts[method] ?? 0) + 1;
        // The first request of each connection is answered and kept alive; the second one
        // finds the server closing the socket (the race a stale keep-alive socket loses).
        if (n === 0) socket.write(OK);
        else socket.destroy();
      })
    );
    try {
      await using client = new HttpClient({ retry: false });
      assert.equal((await client.get(`${raw.url}/a`)).body, "ok");
      assert.equal((await client.get(`${raw.url}/b`)).body, "ok", "replayed on a fresh connection");
      assert.equal(counts.GET, 3);
      await assert.rejects(client.post(`${raw.url}/pay`, "1"), (error: unknown) => {
        assert.ok(error instanceof HttpClientError);
        assert.equal(error.code, "ConnectionClosed");
        return true;
      });
      assert.equal(counts.POST, 1, "the POST was sent exactly once");
    } finally {
      await closeServer(raw.server, raw.sockets);
    }
  });

  it("a server that resets after reading a POST: the POST arrives once, the error is clear", async () => {
    let posts = 0;
    const raw = await rawServer((socket) =>
      onRequests(socket, () => {
        posts++;
        socket.resetAndDestroy();
      })
    );
    try {
      await using client = new HttpClient();
      await assert.rejects(client.post(`${raw.url}/`, "data", {}, 3), {
        code: "ConnectionClosed",
      });
      assert.equal(posts, 1);
    } finally {
      await closeServer(raw.server, raw.sockets);
    }
  });

  it("a server that closes idle sockets: requests after its idle limit open a new one, no error", async () => {
    const server = await nodeServer((_req, _body, res) => res.end("fresh"));
    server.server.keepAliveTimeout = 100;
    try {
      await using client = new HttpClient();
      for (let i = 0; i < 2; i++) {
        assert.equal((await client.get(server.url)).body, "fresh");
        // Wait until the server has closed the socket, seen through the pool's own count.
        const closed = client.getStats().connectionsClosed;
        await waitFor(() => client.getStats().connectionsClosed > closed, {
          what: "the server's idle close",
        });
      }
      assert.equal(client.getStats().errors.ConnectionClosed ?? 0, 0);
      assert.equal(server.connections, 2);
    } finally {
      await closeServer(server.server);
    }
  });

  it("reads a chunked response split at every byte boundary", async () => {
    const body = "Wikipedia in\r\n\r\nchunks.";
    const response = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" +
      "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
    const raw = await rawServer((socket) =>
      onRequests(socket, (head) => {
        const cut = Number(/\/(\d+)/.exec(head)![1]);
        socket.write(response.slice(0, cut));
        setTimeout(() => socket.write(response.slice(cut)), 1);
      })
    );
    try {
      await using client = new HttpClient();
      for (let cut = 1; cut < response.length; cut++) {
        assert.equal((await client.get(`${raw.url}/${cut}`)).body, body, `cut at ${cut}`);
      }
      assert.equal(raw.sockets.length, 1, "all on one kept-alive connection");
    } finally {
      await closeServer(raw.server, raw.sockets);
    }
  });

  it("follows the redirect matrix per RFC 9110 and drops credentials across origins", async () => {
    const target = await nodeServer((req, body, res) =>
      res.end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null }))
    );
    const origin = await nodeServer((req, body, res) => {
      const [, status, where] = /^\/(\d+)\/(same|cross)/.exec(req.url!) ?? [];
      if (status) {
        res.statusCode = Number(status);
        res.setHeader("location", where === "same" ? "/landing" : `${target.url}/landing`);
        res.end();
        return;
      }
      res.end(
        JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null }),
      );
    });
    try {
      await using client = new HttpClient();
      const cases: [number, string, string][] = [
        [301, "GET", "GET"],
        [301, "POST", "GET"],
        [302, "POST", "GET"],
        [303, "POST", "GET"],
        [303, "HEAD", "HEAD"],
        [307, "POST", "POST"],
        [308, "POST", "POST"],
        [308, "HEAD", "HEAD"],
      ];
      for (const [status, method, expected] of cases) {
        for (const where of ["same", "cross"]) {
          const response = await client.request(method, `${origin.url}/${status}/${where}`, {
            headers: { authorization: "Bearer secret" },
            body: method === "POST" ? "payload" : undefined,
          });
          const what = `${status} ${method} ${where}`;
          assert.equal(response.redirects, 1, what);
          if (method === "HEAD") {
            assert.equal(response.statusCode, 200, what);
            continue;
          }
          const seen = response.json<{ method: string; body: string; auth: string | null }>();
          assert.equal(seen.method, expected, what);
          assert.equal(seen.body, expected === "POST" ? "payload" : "", what);
          assert.equal(seen.auth, where === "same" ? "Bearer secret" : null, what);
        }
      }
      const noFollow = new HttpClient({ followRedirects: false });
      assert.equal((await noFollow.get(`${origin.url}/302/same`)).statusCode, 302);
      await noFollow.close();
      const few = new HttpClient({ maxRedirects: 0 });
      await assert.rejects(few.get(`${origin.url}/302/same`), { code: "RedirectFailed" });
      await few.close();
    } finally {
      await closeServer(origin.server);
      await closeServer(target.server);
    }
  });

  it("each timeout fires with its own code", async () => {
    const raw = await rawServer((socket) =>
      onRequests(socket, (head) => {
        if (head.includes("/stall-body")) {
          socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
        } else if (head.includes("/trickle")) {
          socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n");
          const timer = setInterval(() => socket.writable && socket.write("x"), 20);
          socket.on("close", () => clearInterval(timer));
        } // "/silent": never answers
      })
    );
    try {
      await using client = new HttpClient({ headersTimeout: 200, bodyTimeout: 200 });
      const timed = async (path: string, code: string, ms: number, total?: number) => {
        const t0 = performance.now();
        await assert.rejects(
          client.get(`${raw.url}${path}`, { timeouts: total ? { total } : undefined }),
          { code },
        );
        const took = performance.now() - t0;
        assert.ok(took >= ms - 5, `${code} after ${took} ms, not before ${ms}`);
        assert.ok(took < ms + 1500, `${code} after ${took} ms`);
      };
      await timed("/silent", "HeadersTimeout", 200);
      await timed("/stall-body", "BodyTimeout", 200);
      await timed("/trickle", "RequestTimeout", 400, 400);
      const stats = client.getStats();
      assert.equal(stats.timeouts, 3);
      assert.deepEqual(
        [stats.errors.HeadersTimeout, stats.errors.BodyTimeout, stats.errors.RequestTimeout],
        [1, 1, 1],
      );
    } finally {
      await closeServer(raw.server, raw.sockets);
    }
  });

  it("retries 429 after its Retry-After; never retries a POST on a status", async () => {
    let calls = 0;
    const server = await nodeServer((_req, _body, res) => {
      calls++;
      if (calls === 1 || calls === 3) {
        res.statusCode = calls === 1 ? 429 : 503;
        res.setHeader("retry-after", "1");
        res.end();
      } else res.end("served");
    });
    try {
      await using client = new HttpClient();
      const t0 = performance.now();
      const response = await client.get(server.url);
      assert.equal(response.body, "served");
      assert.ok(performance.now() - t0 >= 990, "waited for Retry-After");
      assert.equal(client.getStats().retries, 1);
      const post = await client.post(server.url, "x");
      assert.equal(post.statusCode, 503, "a POST gets its status back, not a second send");
      assert.equal(calls, 3);
    } finally {
      await closeServer(server.server);
    }
  });

  it("aborting settles at once with Aborted; limits are enforced", async () => {
    const requested = deferred("the request at the silent server");
    // Accepts, reads the request, never answers.
    const raw = await rawServer((socket) => socket.once("data", () => requested.resolve()));
    try {
      await using client = new HttpClient({ maxResponseBytes: 100_000 });
      const controller = new AbortController();
      const pending = client.get(`${raw.url}/`, { signal: controller.signal });
      await requested.wait();
      controller.abort();
      await assert.rejects(pending, { code: "Aborted" });
      await assert.rejects(client.get(`${api.url}/big`), { code: "ResponseTooLarge" });
      assert.equal((await client.get(`${api.url}/`)).body, "hello", "still serving");
    } finally {
      await closeServer(raw.server, raw.sockets);
    }
  });

  it("streams bodies both ways", async () => {
    await using client = new HttpClient();
    const parts = ["alpha ", "beta ", "gamma"];
    const upload = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    const echoed = await client.post(`${api.url}/echo`, upload);
    assert.equal(echoed.body, parts.join(""));
    assert.equal(api.seen.at(-1)?.headers["transfer-encoding"], "chunked");
    const streamed = await client.stream("GET", `${api.url}/big`);
    let size = 0;
    for await (const chunk of streamed.body) size += chunk.length;
    assert.equal(size, 200_000);
    assert.equal((await client.get(`${api.url}/`)).body, "hello");
  });

  it("talks TLS to Iora's server with a trusted CA, and refuses an untrusted certificate", async () => {
    const server = new WebhookServer();
    server.enableTls({ certFile: certs.server.certFile, keyFile: certs.server.keyFile });
    server.onGet("/secure", (_req, res) => res.setContent("secret", "text/plain"));
    await server.start({ hostname: "127.0.0.1", port: 0 });
    try {
      await using trusted = new HttpClient({ tlsConfig: { caFile: certs.ca.certFile } });
      const response = await trusted.get(`https://127.0.0.1:${server.port}/secure`);
      assert.equal(response.body, "secret");
      await using stranger = new HttpClient({ tlsConfig: { caFile: certs.otherCa.certFile } });
      await assert.rejects(stranger.get(`https://127.0.0.1:${server.port}/secure`), {
        code: "ConnectFailed",
      });
    } finally {
      await server.stop();
    }
  });

  it("resolves names (localhost from /etc/hosts) and falls back across addresses (Happy Eyeballs)", async () => {
    await using client = new HttpClient();
    assert.equal((await client.get(`http://localhost:${api.port}/`)).body, "hello");
    // A resolver that puts a dead address first: the next one is tried and wins.
    const dead = await rawServer((socket) => socket.destroy());
    const deadPort = Number(new URL(dead.url).port);
    await closeServer(dead.server); // nothing listens there now: connection refused
    const resolved: string[] = [];
    await using fallback = new HttpClient({
      dns: {
        resolveHost: (name) => {
          resolved.push(name);
          return Promise.resolve(["::1", "127.0.0.1"]);
        },
      },
    });
    const response = await fallback.get(`http://api.example.test:${api.port}/`);
    assert.equal(response.body, "hello");
    assert.deepEqual(resolved, ["api.example.test"]);
    await using nowhere = new HttpClient({
      dns: { resolveHost: () => Promise.resolve(["127.0.0.1"]) },
      retry: false,
    });
    await assert.rejects(nowhere.get(`http://gone.example.test:${deadPort}/`), {
      code: "ConnectFailed",
    });
    await using unresolved = new HttpClient({
      dns: { resolveHost: () => Promise.reject(new Error("NXDOMAIN")) },
      retry: false,
    });
    await assert.rejects(unresolved.get("http://nx.example.test/"), { code: "DnsFailed" });
  });
});

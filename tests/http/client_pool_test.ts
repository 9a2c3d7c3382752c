// HttpClientPool: bounded borrowing with waits and try, handles unusable
// after release, shared sockets, and a close that lets borrowers finish.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { HttpClient } from "../../http/client.ts";
import { HttpClientPool } from "../../http/client_pool.ts";

describe("HttpClientPool", () => {
  let server: Server;
  let url = "";
  let connections = 0;

  before(async () => {
    server = createServer((_req, res) => res.end("pooled"));
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("lends at most poolSize handles; get waits, tryGet does not; counters follow", async () => {
    const pool = new HttpClientPool({ poolSize: 2 });
    assert.deepEqual([pool.capacity, pool.available, pool.inUse, pool.full, pool.empty], [
      2,
      2,
      0,
      true,
      false,
    ]);
    const a = await pool.get();
    const b = pool.tryGet()!;
    assert.deepEqual([pool.available, pool.utilization, pool.empty], [0, 1, true]);
    assert.equal(pool.tryGet(), undefined);
    await assert.rejects(pool.get(30), { code: "RequestTimeout" });
    const waiting = pool.get();
    a.release();
    const c = await waiting;
    assert.equal((await c.get(url)).body, "pooled");
    assert.throws(() => a.get(url), { code: "Closed" }, "a released handle is unusable");
    a.release(); // harmless twice
    b.release();
    c.release();
    assert.equal(pool.full, true);
    await pool.close();
  });

  it("handles share the connection pool: eight borrowers, one socket at a time reused", async () => {
    const pool = new HttpClientPool({ poolSize: 8 });
    const before = connections;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 8; i++) {
        using client = await pool.get();
        assert.equal((await client.get(url)).body, "pooled");
      }
    }
    assert.equal(connections - before, 1);
    await pool.close();
  });

  it("close refuses new borrowers and waits for the borrowed ones", async () => {
    let configured = 0;
    const pool = new HttpClientPool({
      poolSize: 1,
      clientFactory: () => new HttpClient({ userAgent: "factory" }),
      clientConfigurer: () => configured++,
    });
    assert.equal(configured, 1);
    const held = await pool.get();
    const waiter = pool.get();
    const closed = pool.close();
    await assert.rejects(waiter, { code: "Closed" });
    assert.equal(pool.tryGet(), undefined);
    await assert.rejects(pool.get(), { code: "Closed" });
    let done = false;
    closed.then(() => (done = true));
    assert.equal((await held.get(url)).body, "pooled", "a borrower finishes its work");
    assert.equal(done, false);
    held.release();
    await closed;
  });
});

// The latency the server records (route histogram, access log) shares clock readings among the
// requests of an event-loop turn: these check it never makes a request shorter than its handler
// ran, whether the requests come pipelined on one connection or on several at once, with the
// access log (each end read at once) and without (a turn's ends read once, at its end).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MetricsRegistry } from "../../core/metrics.ts";
import type { LogFields } from "../../core/log_types.ts";
import { WebhookServer } from "../../http/server.ts";
import { waitFor } from "../harness.ts";
import { RawClients } from "./_raw_client.ts";

const BUSY_MS = 2;

/** The value of the sample line `series` in `text`, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe("server latency", () => {
  for (const withLog of [true, false]) {
    it(
      `records no request as shorter than its handler ran, when requests share a turn (${
        withLog ? "with" : "without"
      } an access log)`,
      async () => {
        await busyRequests(withLog);
      },
    );
  }
});

async function busyRequests(withLog: boolean): Promise<void> {
  const metrics = new MetricsRegistry();
  const logged: number[] = [];
  const ran: number[] = [];
  await using server = new WebhookServer({
    metrics,
    logger: withLog
      ? {
        info: (_message: string, fields?: LogFields) => logged.push(Number(fields?.ms)),
        error: () => {},
      }
      : undefined,
  });
  server.onGet("/busy/{n}", (req, res) => {
    // A synchronous handler: the requests behind it in the turn wait for it.
    const start = performance.now();
    while (performance.now() - start < BUSY_MS) { /* spin */ }
    ran.push(performance.now() - start);
    res.json({ n: req.params.n });
  });
  await server.start({ hostname: "127.0.0.1", port: 0 });
  await using clients = new RawClients();
  const conns = await Promise.all([1, 2, 3].map(() => clients.open(server.port)));
  const pipelined = [1, 2, 3, 4].map((n) => `GET /busy/${n} HTTP/1.1\r\nhost: x\r\n\r\n`).join(
    "",
  );
  for (const conn of conns) conn.write(pipelined);
  const answered = () =>
    conns.reduce((n, c) => n + (c.text.match(/HTTP\/1\.1 200/g)?.length ?? 0), 0);
  await waitFor(() => answered() === 12, { what: "12 answers" });
  const text = metrics.render();
  const latency = "iora_http_server_request_duration_seconds";
  const labels = `route="/busy/{n}",method="GET"`;
  assert.equal(sample(text, `${latency}_count{${labels}}`), 12);
  // Every request ran at least BUSY_MS: none may fall in the buckets below it.
  assert.equal(sample(text, `${latency}_bucket{${labels},le="0.001"}`), 0);
  const total = ran.reduce((a, b) => a + b, 0) / 1000;
  assert.ok(sample(text, `${latency}_sum{${labels}}`)! >= total);
  assert.equal(logged.length, withLog ? 12 : 0);
  // The log rounds to 0.01 ms.
  for (const ms of logged) assert.ok(ms >= BUSY_MS - 0.01, `logged ${ms} ms`);
  for (const conn of conns) conn.close();
}

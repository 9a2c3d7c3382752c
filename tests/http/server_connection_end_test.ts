// How a connection ends: a client that half-closes after its request still gets the answer, and
// a close-delimited (HTTP/1.0) body that fails midway ends with a reset, not a clean end.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { availableAdapters } from "../../network/adapters.ts";
import { WebhookServer } from "../../http/server.ts";
import { networkServerTransport } from "../../http/server_transport.ts";
import { SharedTransport } from "../../network/shared_transport.ts";
import { deferred } from "../harness.ts";

/** Sends `request`, half-closes, and resolves with what came back and how the connection ended. */
function halfCloseExchange(
  port: number,
  request: string,
  onFinish?: () => void,
): Promise<{ text: string; end: string }> {
  const done = deferred<{ text: string; end: string }>("the server's answer and end");
  let text = "";
  const socket = connect(port, "127.0.0.1", () => socket.end(request));
  socket.on("finish", () => onFinish?.());
  socket.on("data", (d: Uint8Array) => text += new TextDecoder().decode(d));
  socket.on("end", () => done.resolve({ text, end: "end" }));
  socket.on("error", (e: Error & { code?: string }) => done.resolve({ text, end: e.code ?? "?" }));
  return done.wait().finally(() => socket.destroy());
}

for (const runtime of availableAdapters()) {
  describe(`WebhookServer connection ends on the ${runtime} adapter`, () => {
    it("answers an async handler after the client half-closed", async () => {
      // The server's own transport, with its end-of-input event watched: the handler answers
      // only once the server has taken in the client's FIN.
      const finSeen = deferred<void>("the server to see the client's FIN");
      const transport = networkServerTransport((tls) =>
        new SharedTransport({ runtime, tls, allowHalfOpen: true })
      );
      const server = new WebhookServer({
        transport: (events) =>
          transport({
            ...events,
            onEnd: (sid) => {
              events.onEnd?.(sid);
              finSeen.resolve();
            },
          }),
      });
      server.onGet("/slow", async (_req, res) => {
        await finSeen.wait();
        res.json({ late: true });
      });
      await server.start({ hostname: "127.0.0.1", port: 0 });
      try {
        const { text, end } = await halfCloseExchange(
          server.port,
          "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n",
        );
        assert.equal(end, "end");
        assert.match(text, /^HTTP\/1\.1 200 /);
        assert.match(text, /\{"late":true\}$/);
      } finally {
        await server.stop();
      }
    });

    it("answers pipelined requests sent before the half-close, then closes", async () => {
      const server = new WebhookServer({ network: { runtime } });
      server.onGet("/n/{i}", async (req, res) => {
        await Promise.resolve();
        res.setContent(`n${req.params.i}`, "text/plain");
      });
      await server.start({ hostname: "127.0.0.1", port: 0 });
      try {
        const req = (i: number) => `GET /n/${i} HTTP/1.1\r\nHost: t\r\n\r\n`;
        const { text, end } = await halfCloseExchange(server.port, req(1) + req(2) + req(3));
        assert.equal(end, "end");
        assert.deepEqual(text.match(/n\d$|n\d(?=HTTP)/g), ["n1", "n2", "n3"]);
      } finally {
        await server.stop();
      }
    });

    it(
      runtime === "node"
        ? "resets the connection when an HTTP/1.0 streamed body fails midway"
        : "closes the connection when an HTTP/1.0 streamed body fails (Deno cannot reset)",
      async () => {
        const server = new WebhookServer({ network: { runtime } });
        const firstPieceRead = deferred<void>("the client to read the first piece");
        server.onGet("/stream", (_req, res) => {
          res.stream(
            (async function* () {
              yield "first piece;";
              // Fails once the client has read what was sent: a reset arriving while bytes
              // still wait in the client's socket may be reported as a plain end by Node.
              await firstPieceRead.wait();
              throw new Error("the source failed");
            })(),
            "text/plain",
          );
        });
        await server.start({ hostname: "127.0.0.1", port: 0 });
        try {
          const done = deferred<string>("the end of the response");
          const socket = connect(server.port, "127.0.0.1", () => {
            socket.write("GET /stream HTTP/1.0\r\n\r\n");
          });
          let text = "";
          socket.on("data", (d: Uint8Array) => {
            text += new TextDecoder().decode(d);
            if (text.includes("first piece;")) firstPieceRead.resolve();
          });
          socket.on("end", () => done.resolve("end"));
          socket.on("error", (e: Error & { code?: string }) => done.resolve(e.code ?? "?"));
          try {
            // A clean end would tell an HTTP/1.0 client that the body is complete.
            assert.equal(await done.wait(), runtime === "node" ? "ECONNRESET" : "end");
          } finally {
            socket.destroy();
          }
        } finally {
          await server.stop();
        }
      },
    );
  });
}

// A local OpenAI-compatible chat-completions server for the microservice tests (node:http on
// 127.0.0.1): answers with a summary, fails with a status, answers slowly, or holds requests
// until it is closed; records what it was asked.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** How the fake answers the next requests. */
export type FakeMode = "ok" | "fail" | "slow" | "hold";

/** One request the fake received. */
export interface FakeRequest {
  authorization: string | undefined;
  model: string;
  text: string;
}

async function body(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}

/** The fake server; `close()` ends it and every request it holds. */
export class FakeOpenAI {
  mode: FakeMode = "ok";
  /** How long `slow` waits before answering, in ms. */
  slowMs = 2000;
  readonly requests: FakeRequest[] = [];
  #server: Server;
  #port = 0;
  #held = new Set<ServerResponse>();
  #waiters: { n: number; resolve: () => void }[] = [];
  #timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  /** Starts a fake on a free 127.0.0.1 port. */
  static async start(): Promise<FakeOpenAI> {
    const fake = new FakeOpenAI();
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.#port = (fake.#server.address() as { port: number }).port;
    return fake;
  }

  /** The chat-completions URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/v1/chat/completions`;
  }

  /** The summary the fake gives for `text`. */
  static summaryOf(text: string): string {
    return `model summary of ${text.length} chars`;
  }

  /** Resolves once `n` requests arrived in all. */
  received(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = JSON.parse(await body(req));
    const text = String(request.messages?.[1]?.content ?? "");
    this.requests.push({ authorization: req.headers.authorization, model: request.model, text });
    for (const w of this.#waiters.filter((w) => this.requests.length >= w.n)) w.resolve();
    this.#waiters = this.#waiters.filter((w) => this.requests.length < w.n);
    const answer = () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({
        id: "chatcmpl-test",
        object: "chat.completion",
        choices: [{
          index: 0,
          message: { role: "assistant", content: FakeOpenAI.summaryOf(text) },
        }],
      }));
    };
    switch (this.mode) {
      case "ok":
        return answer();
      case "fail":
        res.statusCode = 503;
        res.end(JSON.stringify({ error: { message: "overloaded" } }));
        return;
      case "slow": {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (!res.destroyed) answer();
        }, this.slowMs);
        this.#timers.add(timer);
        return;
      }
      case "hold":
        this.#held.add(res);
        return;
    }
  }

  /** Stops the server, dropping held and slow requests. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    for (const res of this.#held) res.destroy();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

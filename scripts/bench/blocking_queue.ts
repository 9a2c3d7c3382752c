/**
 * BlockingQueue throughput: 1,000,000 items from one producer to one
 * consumer through a queue of capacity 1024, against a minimal
 * promise-based bounded queue (one promise hand-off per item, the usual
 * hand-written shape). Variants: item by item with `await` on both sides,
 * a producer that awaits only when full (`tryQueue` first), and a consumer
 * that drains in batches (`dequeueBatch`).
 *
 * Usage: `deno run -A scripts/bench/blocking_queue.ts` or, after the npm
 * build, `node npm/scripts/bench/blocking_queue.js`.
 *
 * @module
 */
import { BlockingQueue } from "../../core/blocking_queue.ts";
import { fmt, ratio, ROUNDS, type Stats, stats } from "./_harness.ts";

const ITEMS = 1_000_000;
const CAPACITY = 1024;
const runtime = "Deno" in globalThis ? "deno" : "node";

/** The peer: a bounded queue as one writes it by hand, one promise per hand-off. */
class MinimalQueue<T> {
  #items: T[] = [];
  #takers: ((item: T) => void)[] = [];
  #putters: (() => void)[] = [];
  constructor(readonly capacity: number) {}

  async put(item: T): Promise<void> {
    while (this.#items.length >= this.capacity) {
      await new Promise<void>((resolve) => this.#putters.push(resolve));
    }
    const taker = this.#takers.shift();
    if (taker) taker(item);
    else this.#items.push(item);
  }

  take(): Promise<T> {
    if (this.#items.length > 0) {
      const item = this.#items.shift()!;
      this.#putters.shift()?.();
      return Promise.resolve(item);
    }
    return new Promise<T>((resolve) => this.#takers.push(resolve));
  }
}

async function minimal(): Promise<number> {
  const q = new MinimalQueue<number>(CAPACITY);
  let sum = 0;
  const consumer = (async () => {
    for (let i = 0; i < ITEMS; i++) sum += await q.take();
  })();
  for (let i = 0; i < ITEMS; i++) await q.put(i);
  await consumer;
  return sum;
}

// Our variants: one consumer shape and one producer shape per case, so each
// hot loop stays a plain loop with no callback per item.
type Queue = BlockingQueue<number>;

async function consumeDequeue(q: Queue): Promise<number> {
  let sum = 0;
  for (;;) {
    const r = await q.dequeue();
    if (r.done) return sum;
    sum += r.value;
  }
}

async function consumeBatch(q: Queue): Promise<number> {
  let sum = 0;
  for (;;) {
    const batch = await q.dequeueBatch(CAPACITY);
    if (batch.length === 0) return sum;
    for (const n of batch) sum += n;
  }
}

async function consumeIterator(q: Queue): Promise<number> {
  let sum = 0;
  for await (const n of q) sum += n;
  return sum;
}

async function produceAwait(q: Queue): Promise<void> {
  for (let i = 0; i < ITEMS; i++) await q.queue(i);
}

async function produceTryFirst(q: Queue): Promise<void> {
  for (let i = 0; i < ITEMS; i++) if (!q.tryQueue(i)) await q.queue(i);
}

function ours(
  consume: (q: Queue) => Promise<number>,
  produce: (q: Queue) => Promise<void>,
): () => Promise<number> {
  return async () => {
    const q = new BlockingQueue<number>(CAPACITY);
    const consumer = consume(q);
    await produce(q);
    q.close();
    return await consumer;
  };
}

const expected = (ITEMS * (ITEMS - 1)) / 2;
const cases: [string, () => Promise<number>][] = [
  ["minimal promise queue (peer)", minimal],
  ["BlockingQueue await queue/dequeue", ours(consumeDequeue, produceAwait)],
  ["BlockingQueue tryQueue + await dequeue", ours(consumeDequeue, produceTryFirst)],
  ["BlockingQueue for await", ours(consumeIterator, produceTryFirst)],
  ["BlockingQueue dequeueBatch", ours(consumeBatch, produceTryFirst)],
];
// Rounds interleave the cases; every figure is the median (min–max) of the rounds.
for (const [, run] of cases) await run(); // warm up the JIT for every case
const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, run] of cases) {
    const started = performance.now();
    const sum = await run();
    const ms = performance.now() - started;
    if (sum !== expected) throw new Error(`${name}: lost items (sum ${sum})`);
    samples.get(name)!.push(ITEMS / ms * 1000 / 1e6);
  }
}
const rates = new Map<string, Stats>([...samples].map(([name, v]) => [name, stats(v)]));
const peer = rates.get(cases[0][0])!;
for (const [name, rate] of rates) {
  const r = rate === peer ? "" : `  ours/peer ${fmt(ratio(rate, peer), 2)}x`;
  console.log(
    `${runtime}  ${name.padEnd(40)} ${fmt(rate, 2).padStart(18)} M items/s${r}`,
  );
}

// The pieces of a streamed response body as bytes, whatever the handler gave: a ReadableStream
// or an async iterable, of bytes or strings.
import type { BodyStream } from "./response.ts";

const ENCODER = new TextEncoder();

/**
 * Iterates `source` as non-empty byte pieces. For a ReadableStream, `onCancel` receives the
 * function that cancels it (a client that goes away cancels the source, which may be waiting
 * for data that never comes, as server-sent events do: its pending read then ends).
 *
 * @param source the body
 * @param onCancel receives the canceller of a ReadableStream source
 * @returns the pieces
 */
export async function* bodyPieces(
  source: BodyStream,
  onCancel: (cancel: () => void) => void,
): AsyncIterable<Uint8Array> {
  let iterable = source as AsyncIterable<Uint8Array | string>;
  if (source instanceof ReadableStream) {
    const reader = source.getReader();
    onCancel(() => void reader.cancel().catch(() => {}));
    iterable = readerChunks(reader);
  }
  for await (const piece of iterable) {
    const bytes = typeof piece === "string" ? ENCODER.encode(piece) : piece;
    if (bytes.length > 0) yield bytes;
  }
}

/** Yields what `reader` reads; releases its lock at the end. */
async function* readerChunks(
  reader: ReadableStreamDefaultReader<Uint8Array | string>,
): AsyncIterable<Uint8Array | string> {
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

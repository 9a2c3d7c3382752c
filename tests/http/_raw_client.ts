/**
 * Raw HTTP test clients on Iora's own transport: send exact bytes
 * (malformed, smuggling, half headers) and read exactly what comes back.
 *
 * @module
 */
import { SharedTransport } from "../../network/shared_transport.ts";
import { withDeadline } from "../harness.ts";

const decoder = new TextDecoder("latin1");

/** One raw connection. */
export interface RawConnection {
  /** Everything received so far, as latin1 text. */
  readonly text: string;
  /** Resolves once the server (or we) closed the connection. */
  readonly closed: Promise<void>;
  /** Sends text (latin1) or bytes. */
  write(data: string | Uint8Array): void;
  /** Closes the connection from our side. */
  close(): void;
}

/** A set of raw connections sharing one client transport; dispose to stop it. */
export class RawClients implements AsyncDisposable {
  readonly #transport = new SharedTransport();
  readonly #texts = new Map<number, string>();
  readonly #closers = new Map<number, () => void>();

  constructor() {
    this.#transport.setCallbacks({
      onData: (sid, data) => {
        this.#texts.set(sid, (this.#texts.get(sid) ?? "") + decoder.decode(data));
      },
      onClose: (sid) => this.#closers.get(sid)?.(),
    });
  }

  /** Opens a connection to 127.0.0.1:`port`. */
  async open(port: number): Promise<RawConnection> {
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    const sid = await this.#transport.connect("127.0.0.1", port);
    this.#closers.set(sid, resolveClosed);
    if (this.#transport.getSessionInfo(sid) === undefined) resolveClosed();
    const transport = this.#transport;
    const texts = this.#texts;
    return {
      get text() {
        return texts.get(sid) ?? "";
      },
      closed,
      write(data) {
        const bytes = typeof data === "string"
          ? Uint8Array.from(data, (c) => c.charCodeAt(0))
          : data;
        transport.send(sid, bytes);
      },
      close() {
        transport.close(sid);
      },
    };
  }

  /** Sends `data` and returns everything received until the server closes. */
  async exchange(port: number, data: string, timeoutMs = 10_000): Promise<string> {
    const conn = await this.open(port);
    conn.write(data);
    await withDeadline(conn.closed, timeoutMs, "the server to close the connection");
    return conn.text;
  }

  /** Stops the client transport. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#transport.stop();
  }
}

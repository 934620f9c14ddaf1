/**
 * A minimal raw JSON-RPC client for protocol tests and benchmarks: sends exactly what it is given and records every frame, so
 * tests can check the wire format (ids, sessionId, error codes) that kurento-client depends on.
 */
import WebSocket from "ws";

export interface RpcMessage {
  jsonrpc?: string;
  id?: number | string | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown> | null;
  error?: { code: number; message: string; data?: { type: string } };
}

export class RpcClient {
  readonly ws: WebSocket;
  readonly events: RpcMessage[] = [];
  readonly #waiting = new Map<number | string, (m: RpcMessage) => void>();
  readonly #eventWaiters: { pred: (m: RpcMessage) => boolean; resolve: (m: RpcMessage) => void }[] = [];
  readonly #nullIdWaiters: ((m: RpcMessage) => void)[] = [];
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer) => {
      const m = JSON.parse(data.toString("utf8")) as RpcMessage;
      if (m.method === "onEvent") {
        this.events.push(m);
        for (const w of [...this.#eventWaiters]) {
          if (w.pred(m)) {
            this.#eventWaiters.splice(this.#eventWaiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
        return;
      }
      if (m.id === null || m.id === undefined) {
        this.#nullIdWaiters.shift()?.(m);
        return;
      }
      this.#waiting.get(m.id)?.(m);
      this.#waiting.delete(m.id);
    });
  }

  static async open(url: string): Promise<RpcClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new RpcClient(ws);
  }

  /** Sends a request and resolves with the whole response message. */
  call(method: string, params?: Record<string, unknown>, id: number | string = this.#nextId++): Promise<RpcMessage> {
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) }));
    });
  }

  /** Sends raw text and resolves with the next response whose id is null. */
  raw(text: string): Promise<RpcMessage> {
    return new Promise((resolve) => {
      this.#nullIdWaiters.push(resolve);
      this.ws.send(text);
    });
  }

  /**
   * Resolves with the first (past or future) event matching `pred`; rejects after `timeoutMs` with the types of the
   * events seen so far, so a missing event fails a test with a reason instead of hanging it.
   */
  event(pred: (m: RpcMessage) => boolean, timeoutMs = 30_000): Promise<RpcMessage> {
    const past = this.events.find(pred);
    if (past !== undefined) {
      return Promise.resolve(past);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (m: RpcMessage): void => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.#eventWaiters.splice(this.#eventWaiters.indexOf(waiter), 1);
        const seen = this.events.map((e) => {
          const v = e.params?.["value"] as { type?: string; data?: { state?: string } } | undefined;
          return `${v?.type ?? "?"}${v?.data?.state === undefined ? "" : `(${v.data.state})`}`;
        });
        reject(new Error(`no matching event within ${timeoutMs} ms; events seen: ${seen.join(", ") || "none"}`));
      }, timeoutMs);
      this.#eventWaiters.push(waiter);
    });
  }

  /** The `value` of a successful response, or throws with the error. */
  async value(method: string, params?: Record<string, unknown>): Promise<unknown> {
    const m = await this.call(method, params);
    if (m.error !== undefined) {
      throw new Error(`${method} failed: ${m.error.code} ${m.error.message}`);
    }
    return m.result?.["value"];
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}

/**
 * A Kurento JSON-RPC client that talks to the server's own handler in-process: it is a {@link ClientConnection}
 * like a WebSocket client, sends the same requests an application sends over `/kurento` and receives the same
 * responses and `onEvent` notifications. The gateway demo's relay drives pipelines with it, so the demo uses the
 * public API only.
 */
import type { RpcHandler } from "../rpc/RpcHandler.js";
import type { RpcRequest } from "../kurento/KurentoServer.js";
import type { ClientConnection } from "../kurento/SessionManager.js";

/** An error reply of the server (code and message as sent). */
export class KurentoRpcError extends Error {
  override readonly name = "KurentoRpcError";
  readonly code: number;
  constructor(code: number, message: string) {
    super(`${message} (${code})`);
    this.code = code;
  }
}

/** The client was closed while a request was pending. */
export class RpcClientClosedError extends Error {
  override readonly name = "RpcClientClosedError";
  constructor() {
    super("the in-process Kurento client is closed");
  }
}

/** The server did not answer a request in time. */
export class RpcTimeoutError extends Error {
  override readonly name = "RpcTimeoutError";
  constructor(method: string, ms: number) {
    super(`no answer to '${method}' within ${ms} ms`);
  }
}

export interface KurentoEvent {
  /** Id of the object that raised it. */
  object: string;
  /** Event name. */
  type: string;
  /** The event's fields (`source`, `timestampMillis`, `tags`, `type`, then its own). */
  data: Record<string, unknown>;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class InProcessRpcClient implements ClientConnection {
  readonly id: number;
  sessionId: string | null = null;
  readonly #handler: RpcHandler;
  readonly #pending = new Map<number, Pending>();
  readonly #onEvent: (ev: KurentoEvent) => void;
  #nextId = 1;
  #open = true;

  readonly #timeoutMs: number;

  constructor(id: number, handler: RpcHandler, onEvent: (ev: KurentoEvent) => void, timeoutMs = 30_000) {
    this.id = id;
    this.#timeoutMs = timeoutMs;
    this.#handler = handler;
    this.#onEvent = onEvent;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Sends one request; resolves with `result.value` (or the whole result when it has none). */
  async request(method: string, params: Record<string, unknown>): Promise<unknown> {
    if (!this.#open) {
      throw new RpcClientClosedError();
    }
    const id = this.#nextId++;
    const p: Record<string, unknown> = { ...params };
    if (this.sessionId !== null) {
      p["sessionId"] = this.sessionId;
    }
    const req: RpcRequest = { jsonrpc: "2.0", id, method, params: p };
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RpcTimeoutError(method, this.#timeoutMs));
      }, this.#timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
    const res = await this.#handler.handle(this, req);
    if (res !== null) {
      this.send(JSON.stringify(res));
    }
    return answer;
  }

  /** Called by the server with every response and notification for this client. */
  send(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!isObj(msg)) {
      return;
    }
    if (msg["method"] === "onEvent") {
      const value = isObj(msg["params"]) ? msg["params"]["value"] : undefined;
      if (isObj(value) && typeof value["object"] === "string" && typeof value["type"] === "string") {
        this.#onEvent({
          object: value["object"],
          type: value["type"],
          data: isObj(value["data"]) ? value["data"] : {},
        });
      }
      return;
    }
    const id = msg["id"];
    if (typeof id !== "number") {
      return;
    }
    const pending = this.#pending.get(id);
    if (pending === undefined) {
      return;
    }
    this.#pending.delete(id);
    const err = msg["error"];
    if (isObj(err)) {
      pending.reject(
        new KurentoRpcError(
          typeof err["code"] === "number" ? err["code"] : -1,
          typeof err["message"] === "string" ? err["message"] : "error",
        ),
      );
      return;
    }
    const result = msg["result"];
    if (isObj(result) && typeof result["sessionId"] === "string") {
      this.sessionId = result["sessionId"];
    }
    pending.resolve(isObj(result) && "value" in result ? result["value"] : result);
  }

  close(_code?: number, _reason?: string): void {
    if (!this.#open) {
      return;
    }
    this.#open = false;
    for (const p of this.#pending.values()) {
      p.reject(new RpcClientClosedError());
    }
    this.#pending.clear();
    this.#handler.onDisconnect(this);
  }
}

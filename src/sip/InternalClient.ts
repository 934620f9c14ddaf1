/**
 * An in-process Kurento client: the dial plan drives pipelines through the same JSON-RPC methods as any application
 * (create, invoke, subscribe, release), on a session of its own that never expires (its connection stays open).
 */
import type { JsonObject, JsonValue } from "../../media/index.js";
import type { KurentoServer } from "../kurento/KurentoServer.js";
import type { ClientConnection } from "../kurento/SessionManager.js";

/** A JSON-RPC error answered to an internal request. */
export class InternalRpcError extends Error {
  override readonly name = "InternalRpcError";
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export type EventListener = (data: JsonObject) => void;

let nextConnId = -1;

export class InternalClient {
  readonly #k: KurentoServer;
  readonly #conn: ClientConnection;
  readonly #listeners = new Map<string, EventListener[]>();
  #id = 0;
  #open = true;

  constructor(k: KurentoServer) {
    this.#k = k;
    const isOpen = (): boolean => this.#open;
    this.#conn = {
      id: nextConnId--,
      sessionId: null,
      get open(): boolean {
        return isOpen();
      },
      send: (text) => this.#onMessage(text),
      close: () => {
        this.#open = false;
      },
    };
  }

  async #call(method: string, params: Record<string, unknown>): Promise<JsonValue> {
    const res = await this.#k.handle(this.#conn, { jsonrpc: "2.0", id: ++this.#id, method, params });
    if (res === null) {
      return null;
    }
    if ("error" in res) {
      throw new InternalRpcError(res.error.code, res.error.message);
    }
    const r = res.result;
    return typeof r === "object" && r !== null && !Array.isArray(r) ? (r["value"] ?? null) : r;
  }

  async create(type: string, constructorParams: JsonObject): Promise<string> {
    const v = await this.#call("create", { type, constructorParams });
    if (typeof v !== "string") {
      throw new InternalRpcError(-32603, `create ${type} returned no id`);
    }
    return v;
  }

  invoke(object: string, operation: string, operationParams: JsonObject = {}): Promise<JsonValue> {
    return this.#call("invoke", { object, operation, operationParams });
  }

  // Typed operations: the one place that names the operations the dial plan uses and builds their Kurento JSON.

  /** `MediaElement.connect`: `source` feeds `sink` (every media type, or only `mediaType`). */
  async connect(source: string, sink: string, mediaType?: "AUDIO" | "VIDEO"): Promise<void> {
    await this.invoke(source, "connect", mediaType === undefined ? { sink } : { sink, mediaType });
  }

  /** `SipEndpoint.call`: places an outgoing call (`options.trunk`, `options.from` as the kmd CallOptions). */
  async call(leg: string, uri: string, options: { readonly trunk?: string; readonly from?: string }): Promise<void> {
    const o: JsonObject = { __module__: "korus", __type__: "CallOptions" };
    if (options.trunk !== undefined) {
      o["trunk"] = options.trunk;
    }
    if (options.from !== undefined) {
      o["from"] = options.from;
    }
    await this.invoke(leg, "call", { uri, options: o });
  }

  /** `SipEndpoint.answer`: answers the claimed incoming call. */
  async answer(leg: string): Promise<void> {
    await this.invoke(leg, "answer");
  }

  /** `SipEndpoint.reject`: rejects the claimed incoming call with `status`. */
  async reject(leg: string, status: number): Promise<void> {
    await this.invoke(leg, "reject", { status });
  }

  /** `SipEndpoint.hangup`: ends the call. */
  async hangup(leg: string): Promise<void> {
    await this.invoke(leg, "hangup");
  }

  /** `PlayerEndpoint.play`. */
  async play(player: string): Promise<void> {
    await this.invoke(player, "play");
  }

  /** `MediaObject.getChildren`: the ids of the object's children, or undefined when the answer is not a list. */
  async children(object: string): Promise<string[] | undefined> {
    const v = await this.invoke(object, "getChildren");
    return Array.isArray(v) ? v.filter((c): c is string => typeof c === "string") : undefined;
  }

  /** Subscribes to `type` events of `object`; the listener runs for each. */
  async on(object: string, type: string, listener: EventListener): Promise<void> {
    await this.#call("subscribe", { object, type });
    const key = `${object}|${type}`;
    this.#listeners.set(key, [...(this.#listeners.get(key) ?? []), listener]);
  }

  /** Releases an object; errors (already gone) are ignored. */
  async release(object: string): Promise<void> {
    this.#forgetUnder(object);
    try {
      await this.#call("release", { object });
    } catch {
      // already released
    }
  }

  close(): void {
    this.#open = false;
    this.#listeners.clear();
  }

  #forgetUnder(object: string): void {
    for (const key of [...this.#listeners.keys()]) {
      if (key.startsWith(object)) {
        this.#listeners.delete(key);
      }
    }
  }

  #onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    const value = (msg as { params?: { value?: { object?: unknown; type?: unknown; data?: unknown } } }).params?.value;
    if (typeof value?.object !== "string" || typeof value.type !== "string") {
      return;
    }
    const data = (typeof value.data === "object" && value.data !== null ? value.data : {}) as JsonObject;
    for (const l of this.#listeners.get(`${value.object}|${value.type}`) ?? []) {
      try {
        l(data);
      } catch {
        // a listener's failure must not reach the server
      }
    }
  }
}

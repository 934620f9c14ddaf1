/**
 * The WebSocket to the bot with its reconnection policy (issue 14, docs/voicebots.md §Failures):
 *
 *     CONNECTING ──open──▶ STREAMING ──bot closes cleanly (1000) / release──▶ CLOSED
 *        ▲   │                 │
 *        │   └─fails─┐         └─drops (any other close, error)─┐
 *        └── retry with exponential backoff (250 ms … 5 s) ◀────┘
 *             until `retryMs` after the outage began ─▶ FAILED
 *
 * One state change per transition (`CONNECTING` once per outage, not per attempt). The socket's own failures never
 * throw out of here: they are states with a reason. Sends while not STREAMING are dropped (the caller's audio of
 * an outage is not buffered), and so are sends past `maxBufferedBytes` of unsent data (a stalled bot).
 */
import type { LookupFunction } from "node:net";
import { WebSocket, type RawData } from "ws";
import type { ElementTimers, TimerHandle } from "../../sdk/index.js";

export type StreamState = "CONNECTING" | "STREAMING" | "CLOSED" | "FAILED";

export interface BotSocketOptions {
  readonly url: string;
  readonly subprotocols: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  /** Keeps DNS answers inside the media policy. */
  readonly lookup: LookupFunction;
  readonly retryMs: number;
  /** Frames above this are refused by the socket itself (close 1009; the element's own limit is lower). */
  readonly maxPayload: number;
  readonly maxBufferedBytes: number;
}

export interface BotSocketHooks {
  open(): void;
  message(data: Uint8Array, isBinary: boolean): void;
  state(state: StreamState, reason: string): void;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
const HANDSHAKE_TIMEOUT_MS = 5000;

export class BotSocket {
  readonly #opts: BotSocketOptions;
  readonly #hooks: BotSocketHooks;
  readonly #timers: ElementTimers;
  #ws: WebSocket | undefined;
  #state: StreamState | undefined;
  #outageSince = 0;
  #attempt = 0;
  #retry: TimerHandle | undefined;
  /** Messages not sent: not streaming, or the bot does not read fast enough. */
  dropped = 0;
  /** Reconnection attempts made. */
  retries = 0;

  constructor(opts: BotSocketOptions, hooks: BotSocketHooks, timers: ElementTimers) {
    this.#opts = opts;
    this.#hooks = hooks;
    this.#timers = timers;
    this.#outageSince = performance.now();
    this.#setState("CONNECTING", "connecting");
    this.#connect();
  }

  get state(): StreamState | undefined {
    return this.#state;
  }

  /** Sends one frame when streaming; false when dropped. */
  send(data: string | Uint8Array): boolean {
    const ws = this.#ws;
    if (this.#state !== "STREAMING" || ws === undefined || ws.bufferedAmount > this.#opts.maxBufferedBytes) {
      this.dropped++;
      return false;
    }
    ws.send(data);
    return true;
  }

  /** Ends the stream: `last` (the protocol's stop message) then a normal close. Idempotent. */
  close(reason: string, last?: string): void {
    if (this.#state === "CLOSED" || this.#state === "FAILED") {
      return;
    }
    this.#timers.clear(this.#retry);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws !== undefined) {
      if (ws.readyState === WebSocket.OPEN && last !== undefined) {
        ws.send(last);
      }
      this.#drop(ws, 1000);
    }
    this.#setState("CLOSED", reason);
  }

  #connect(): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#opts.url, [...this.#opts.subprotocols], {
        headers: { ...this.#opts.headers },
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        maxPayload: this.#opts.maxPayload,
        lookup: this.#opts.lookup,
        followRedirects: false,
        perMessageDeflate: false,
      });
    } catch (err) {
      this.#lost(`cannot connect: ${String(err)}`);
      return;
    }
    this.#ws = ws;
    ws.binaryType = "nodebuffer";
    ws.on("open", () => {
      if (this.#ws !== ws) {
        return;
      }
      this.#attempt = 0;
      this.#setState("STREAMING", "connected");
      this.#hooks.open();
    });
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (this.#ws === ws) {
        this.#hooks.message(asBytes(data), isBinary);
      }
    });
    ws.on("error", () => {
      // Always followed by "close", which carries the outcome.
    });
    ws.on("unexpected-response", (_req, res) => {
      if (this.#ws === ws) {
        this.#ws = undefined;
        this.#drop(ws, 1000);
        this.#lost(`the bot answered the upgrade with HTTP ${res.statusCode ?? 0}`);
      }
    });
    ws.on("close", (code: number, reason: Buffer) => {
      if (this.#ws !== ws) {
        return;
      }
      this.#ws = undefined;
      if (code === 1000 && this.#state === "STREAMING") {
        this.#setState("CLOSED", `the bot closed the stream${reason.length > 0 ? `: ${reason.toString()}` : ""}`);
        return;
      }
      this.#lost(
        this.#state === "STREAMING" ? `the connection dropped (close ${code})` : `connection failed (close ${code})`,
      );
    });
  }

  /** A failed attempt or a dropped socket: retry with backoff inside the window, else FAILED. */
  #lost(reason: string): void {
    if (this.#state === "CLOSED" || this.#state === "FAILED") {
      return;
    }
    const now = performance.now();
    if (this.#state === "STREAMING") {
      this.#outageSince = now;
      this.#setState("CONNECTING", reason);
    }
    const elapsed = now - this.#outageSince;
    if (elapsed >= this.#opts.retryMs) {
      this.#setState("FAILED", `${reason}; gave up after ${Math.round(elapsed / 1000)} s`);
      return;
    }
    // The last attempt falls at the end of the window.
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.#attempt, this.#opts.retryMs - elapsed);
    this.#attempt++;
    this.retries++;
    this.#retry = this.#timers.setTimeout(() => this.#connect(), delay);
  }

  #drop(ws: WebSocket, code: number): void {
    ws.removeAllListeners("open");
    ws.removeAllListeners("message");
    ws.on("error", () => undefined);
    try {
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(code);
        const kill = setTimeout(() => ws.terminate(), 1000);
        kill.unref();
      } else {
        ws.terminate();
      }
    } catch {
      ws.terminate();
    }
  }

  #setState(state: StreamState, reason: string): void {
    if (this.#state === state) {
      return;
    }
    this.#state = state;
    this.#hooks.state(state, reason);
  }
}

function asBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) {
    return Buffer.concat(data);
  }
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

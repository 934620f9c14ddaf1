/**
 * The WebRTC-to-phone gateway demo served by Korus itself (issue 5 §4):
 *
 * - `GET /demo/gateway` → the page; `GET /demo/gateway/app.js` → its script;
 * - WebSocket `/demo/gateway/ws` → a {@link GatewayRelay} per page, which drives a pipeline through the public
 *   Kurento JSON-RPC API in-process (WebRtcEndpoint ⇄ SipEndpoint).
 *
 * Anyone who can load the page can place SIP calls through the server's trunks: expose the HTTP port only where
 * that is acceptable.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { Logger } from "../logging/logger.js";
import type { RpcHandler } from "../rpc/RpcHandler.js";
import { GatewayRelay } from "./GatewayRelay.js";
import { GATEWAY_HTML } from "./gatewayPage.js";
import { GATEWAY_JS } from "./gatewayScript.js";

export const DEMO_PATH = "/demo/gateway";
const WS_PATH = `${DEMO_PATH}/ws`;
/** Page messages are small; the SDP offer is the largest. */
const MAX_FRAME = 64 * 1024;
/** Messages of one page waiting to be handled. */
const MAX_QUEUED = 256;
/** Time the demo's calls get to hang up when the server stops. */
const CLOSE_GRACE_MS = 3_000;
/** Sockets open at once (each may hold a pipeline and a call). */
const MAX_SOCKETS = 64;

const HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; media-src 'self' blob:",
};

export interface GatewayDemoOptions {
  handler: RpcHandler;
  logger: Logger;
  /** A connection id unique among the server's clients. */
  nextConnId: () => number;
}

export class GatewayDemo {
  readonly #opts: GatewayDemoOptions;
  readonly #logger: Logger;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME });
  readonly #relays = new Map<WebSocket, GatewayRelay>();

  constructor(opts: GatewayDemoOptions) {
    this.#opts = opts;
    this.#logger = opts.logger.child({ ns: "demo" });
  }

  /** Answers the page and its script; false for any other request. */
  route(req: IncomingMessage, res: ServerResponse): boolean {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return false;
    }
    if (path === DEMO_PATH || path === `${DEMO_PATH}/`) {
      res.writeHead(200, { ...HEADERS, "content-type": "text/html; charset=utf-8" }).end(GATEWAY_HTML);
      return true;
    }
    if (path === `${DEMO_PATH}/app.js`) {
      res.writeHead(200, { ...HEADERS, "content-type": "text/javascript; charset=utf-8" }).end(GATEWAY_JS);
      return true;
    }
    return false;
  }

  /** Takes the WebSocket upgrade of the relay path; false for any other path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== WS_PATH) {
      return false;
    }
    if (this.#relays.size >= MAX_SOCKETS) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
      return true;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws));
    return true;
  }

  #onSocket(ws: WebSocket): void {
    const send = (msg: Record<string, unknown>): void => {
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify(msg));
      }
    };
    const relay = new GatewayRelay(this.#opts.nextConnId(), this.#opts.handler, send, this.#logger);
    this.#relays.set(ws, relay);
    // One message at a time, in order: a candidate must not overtake the call it belongs to. A page that queues
    // more than MAX_QUEUED messages is cut off.
    let chain = Promise.resolve();
    let queued = 0;
    ws.on("message", (data: RawData) => {
      if (++queued > MAX_QUEUED) {
        ws.close(1008, "Too many messages");
        return;
      }
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString("utf8")
        : Buffer.from(data as ArrayBuffer).toString("utf8");
      chain = chain.then(() => relay.onMessage(text)).finally(() => queued--);
    });
    ws.on("error", (err) => this.#logger.debug({ err }, "demo websocket error"));
    ws.on("close", () => {
      this.#relays.delete(ws);
      chain = chain.then(() => relay.close()).catch((err: unknown) => this.#logger.warn({ err }, "demo relay close"));
    });
  }

  /** Ends every demo call (the server is stopping). */
  async close(): Promise<void> {
    const relays = [...this.#relays.entries()];
    this.#relays.clear();
    for (const [ws] of relays) {
      ws.close(1001, "Server shutting down");
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(relays.map(([, r]) => r.close().catch(() => undefined))),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    this.#wss.close();
  }
}

/**
 * HTTP + WebSocket front of the control plane.
 *
 * - `ws://host:port/kurento` (query strings allowed, as KMS strips them) carries Kurento JSON-RPC 2.0, one object
 *   per frame; text and binary frames alike (UTF-8), as in KMS. Any other path completes the upgrade and closes with 1002 "Invalid path", as KMS
 *   does (kurento-protocol.md §1).
 * - Framing errors answer as KMS: unparsable JSON → -32700 with id null; a batch, a bad `jsonrpc`, an array/object
 *   id or no method → -32600 with id null. Frames over `maxFrameBytes` are refused (close 1009).
 * - `GET /health` answers 200 with a JSON status once the server accepts work, 503 before; `GET /metrics` is the
 *   Prometheus route set with {@link setMetrics}. Both need the `monitorAuth` token when one is configured.
 * - Extra HTTP routes (admin) are registered with {@link route}; with token authentication they need a token too.
 * - The gateway demo (`GET /demo/gateway`, its script and its relay WebSocket `/demo/gateway/ws`, src/demo/) is
 *   served unless `demo: false` is given.
 * - Every request is routed, and guarded, on one normalised path (httpPath.ts); `req.url` is rewritten to it.
 * - With `tls`, the listener speaks HTTPS/WSS only.
 * - A Kurento WebSocket upgrade without a valid token (auth "tokens") gets HTTP 401; over `maxConnections` 503,
 *   over `maxConnectionsPerAddress` 429; none of them is upgraded.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { ClientConnection } from "../kurento/SessionManager.js";
import type { RpcRequest } from "../kurento/KurentoServer.js";
import type { Logger } from "../logging/logger.js";
import { GatewayDemo } from "../demo/GatewayDemo.js";
import { isLoopbackAddress, TokenAuth } from "./auth.js";
import { normaliseRequestUrl, pathOf } from "./httpPath.js";
import type { RpcHandler } from "./RpcHandler.js";

export type { RpcHandler } from "./RpcHandler.js";

export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface JsonRpcServerOptions {
  host: string;
  port: number;
  path: string;
  maxFrameBytes: number;
  /**
   * Serve the gateway demo at /demo/gateway (default true). Unless `allowRemote`, only loopback clients may use it:
   * the demo places SIP calls, so an open HTTP port must not make it a free dialler (config `demo.*`).
   */
  demo?: boolean | { allowRemote: boolean };
  /** Who may connect (default: anyone, KMS behaviour). */
  auth?: TokenAuth;
  /** PEM certificate and key: HTTPS/WSS only. */
  tls?: { cert: Buffer; key: Buffer };
  /** Who may read `/health` and `/metrics` (config `metrics.token`; default: anyone). */
  monitorAuth?: TokenAuth;
  /** Kurento WebSocket connections at once (default 2000); more get HTTP 503. */
  maxConnections?: number;
  /** Kurento WebSocket connections at once from one address (default 200); more get HTTP 429. */
  maxConnectionsPerAddress?: number;
}

/** At most one log line a second for refused connections, with the number of refusals it stands for. */
class RefusalLog {
  #last = 0;
  #count = 0;
  constructor(readonly logger: Logger) {}

  note(fields: Record<string, unknown>, msg: string): void {
    this.#count++;
    const now = Date.now();
    if (now - this.#last >= 1000) {
      this.logger.warn({ ...fields, refused: this.#count }, msg);
      this.#last = now;
      this.#count = 0;
    }
  }
}

const refuse = (socket: Duplex, status: string, extra = ""): void => {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${extra}Content-Length: 0\r\n\r\n`);
};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

class WsConnection implements ClientConnection {
  readonly id: number;
  sessionId: string | null = null;
  readonly application: string;
  readonly address: string;
  readonly #ws: WebSocket;

  constructor(id: number, ws: WebSocket, application: string, address: string) {
    this.id = id;
    this.#ws = ws;
    this.application = application;
    this.address = address;
  }

  get open(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  send(text: string): void {
    if (this.open) {
      this.#ws.send(text);
    }
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }
}

export class JsonRpcServer {
  readonly #opts: JsonRpcServerOptions;
  readonly #handler: RpcHandler;
  readonly #logger: Logger;
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #routes: Route[] = [];
  /** Routes that check their callers themselves (the admin console, src/admin): tried before the token check. */
  readonly #ownAuthRoutes: Route[] = [];
  readonly #connections = new Set<WebSocket>();
  readonly #auth: TokenAuth;
  readonly #refusals: RefusalLog;
  /** Kurento sockets (upgrading or open) per client address, and in total. */
  readonly #perAddress = new Map<string, number>();
  #sockets = 0;
  #nextConnId = 1;
  #ready = false;
  #health: () => Record<string, unknown> = () => ({});
  #metrics: Route | undefined;
  readonly #demo: GatewayDemo | undefined;

  constructor(opts: JsonRpcServerOptions, handler: RpcHandler, logger: Logger) {
    this.#opts = opts;
    this.#handler = handler;
    this.#logger = logger.child({ ns: "rpc" });
    this.#auth = opts.auth ?? new TokenAuth("none", []);
    this.#refusals = new RefusalLog(this.#logger);
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes });
    this.#demo =
      opts.demo === false
        ? undefined
        : new GatewayDemo({ handler, logger: this.#logger, nextConnId: () => this.#nextConnId++ });
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      this.#serveHttp(req, res).catch((err: unknown) => {
        this.#logger.error({ err }, "HTTP handler failed");
        if (!res.headersSent) {
          res.writeHead(500).end();
        }
      });
    };
    this.#http =
      opts.tls === undefined
        ? http.createServer(onRequest)
        : https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest);
    this.#http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    this.#http.on("clientError", (_err, socket: Duplex) => socket.destroy());
    // A TLS handshake that fails is the client's problem, never the process's.
    this.#http.on("tlsClientError", (_err, socket: Duplex) => socket.destroy());
  }

  /** Rewrites `req.url` to its normalised form; false when it cannot be read (answer 400). */
  static #normalise(req: IncomingMessage): boolean {
    const url = normaliseRequestUrl(req.url ?? "/");
    if (url === null) {
      return false;
    }
    req.url = url;
    return true;
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    if (!JsonRpcServer.#normalise(req)) {
      refuse(socket, "400 Bad Request");
      return;
    }
    if (this.#isDemoPath(req) && !this.#demoAllowed(req)) {
      refuse(socket, "403 Forbidden");
      return;
    }
    if (this.#demo?.upgrade(req, socket, head) === true) {
      return;
    }
    const address = req.socket.remoteAddress ?? "";
    const application = this.#auth.authenticate(req);
    if (application === null) {
      this.#refusals.note({ remote: address }, "websocket refused: no valid token (HTTP 401)");
      refuse(socket, "401 Unauthorized", 'WWW-Authenticate: Bearer realm="korus"\r\n');
      return;
    }
    const perAddress = this.#perAddress.get(address) ?? 0;
    if (this.#sockets >= (this.#opts.maxConnections ?? 2000)) {
      this.#refusals.note({ remote: address, open: this.#sockets }, "websocket refused: connection limit (HTTP 503)");
      refuse(socket, "503 Service Unavailable", "Retry-After: 5\r\n");
      return;
    }
    if (perAddress >= (this.#opts.maxConnectionsPerAddress ?? 200)) {
      this.#refusals.note({ remote: address, open: perAddress }, "websocket refused: per-address limit (HTTP 429)");
      refuse(socket, "429 Too Many Requests", "Retry-After: 5\r\n");
      return;
    }
    // Counted from the upgrade until the TCP socket closes, whatever happens to the handshake.
    this.#sockets++;
    this.#perAddress.set(address, perAddress + 1);
    socket.once("close", () => {
      this.#sockets--;
      const n = (this.#perAddress.get(address) ?? 1) - 1;
      if (n <= 0) {
        this.#perAddress.delete(address);
      } else {
        this.#perAddress.set(address, n);
      }
    });
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws, req, application));
  }

  /** Every path the demo serves starts with /demo/ (or is /demo): the guard covers them all. */
  #isDemoPath(req: IncomingMessage): boolean {
    const path = pathOf(req.url ?? "/");
    return this.#demo !== undefined && (path === "/demo" || path.startsWith("/demo/"));
  }

  /** Remote clients reach the demo only with `allowRemote`. */
  #demoAllowed(req: IncomingMessage): boolean {
    const d = this.#opts.demo;
    return (typeof d === "object" && d.allowRemote) || isLoopbackAddress(req.socket.remoteAddress ?? "");
  }

  /**
   * Registers an HTTP route; a route returns true when it answered. With `ownAuth` the route authenticates its
   * callers itself (the admin console's token) and is tried before the Kurento token check.
   */
  route(r: Route, opts: { ownAuth?: boolean } = {}): void {
    (opts.ownAuth === true ? this.#ownAuthRoutes : this.#routes).push(r);
  }

  /** Serves `GET /metrics` with `route` (behind the `monitorAuth` token). */
  setMetrics(route: Route): void {
    this.#metrics = route;
  }

  /** Sets the `/health` body provider and marks the server as accepting work. */
  setReady(health: () => Record<string, unknown>): void {
    this.#health = health;
    this.#ready = true;
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once("error", reject);
      this.#http.listen(this.#opts.port, this.#opts.host, () => {
        this.#http.off("error", reject);
        resolve();
      });
    });
    return this.#http.address() as AddressInfo;
  }

  async #serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!JsonRpcServer.#normalise(req)) {
      res.writeHead(400, { "content-type": "text/plain" }).end("Bad request target\n");
      return;
    }
    const path = pathOf(req.url ?? "/");
    if ((path === "/health" || (path === "/metrics" && this.#metrics !== undefined)) && req.method === "GET") {
      if (this.#opts.monitorAuth !== undefined && this.#opts.monitorAuth.authenticate(req) === null) {
        this.#refusals.note({ remote: req.socket.remoteAddress, path }, "HTTP request refused: no valid token (401)");
        res
          .writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="korus"' })
          .end("Unauthorized\n");
        return;
      }
      if (path === "/metrics" && this.#metrics !== undefined) {
        await this.#metrics(req, res);
        return;
      }
      const body = JSON.stringify(this.#ready ? { status: "ok", ...this.#health() } : { status: "starting" });
      res.writeHead(this.#ready ? 200 : 503, { "content-type": "application/json" }).end(body);
      return;
    }
    if (this.#isDemoPath(req) && !this.#demoAllowed(req)) {
      res.writeHead(403, { "content-type": "text/plain" }).end("the gateway demo is only served to local clients\n");
      return;
    }
    if (this.#demo?.route(req, res) === true) {
      return;
    }
    for (const r of this.#ownAuthRoutes) {
      if (await r(req, res)) {
        return;
      }
    }
    if (this.#routes.length > 0 && this.#auth.authenticate(req) === null) {
      this.#refusals.note({ remote: req.socket.remoteAddress, path }, "HTTP request refused: no valid token (401)");
      res
        .writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="korus"' })
        .end("Unauthorized\n");
      return;
    }
    for (const r of this.#routes) {
      if (await r(req, res)) {
        return;
      }
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("Not found\n");
  }

  #onSocket(ws: WebSocket, req: IncomingMessage, application: string): void {
    const path = pathOf(req.url ?? "/");
    if (path !== this.#opts.path) {
      ws.close(1002, "Invalid path");
      return;
    }
    const conn = new WsConnection(this.#nextConnId++, ws, application, req.socket.remoteAddress ?? "");
    this.#connections.add(ws);
    this.#logger.debug({ conn: conn.id, remote: conn.address, application }, "client connected");
    ws.on("message", (data, isBinary) => this.#onFrame(conn, data, isBinary));
    ws.on("error", (err) => this.#logger.warn({ err, conn: conn.id }, "websocket error"));
    ws.on("close", (code) => {
      this.#connections.delete(ws);
      this.#logger.debug({ conn: conn.id, code, sessionId: conn.sessionId }, "client disconnected");
      this.#handler.onDisconnect(conn);
    });
  }

  #onFrame(conn: WsConnection, data: RawData, _isBinary: boolean): void {
    // Binary frames are read as UTF-8 JSON too, as KMS (websocketpp) does: kurento-client 7.3.0 installed with the
    // npm reconnect-ws@0.1.0 (kurento-protocol.md §12) sends every request in a binary frame (websocket-stream 1.5
    // over ws 0.7 writes Buffers).
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString("utf8")
      : Buffer.from(data as ArrayBuffer).toString("utf8");
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      conn.send(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error." } }));
      return;
    }
    const invalid = this.#checkRequest(msg);
    if (invalid !== null) {
      conn.send(
        JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message: `Invalid Request: ${invalid}` } }),
      );
      return;
    }
    const req = msg as RpcRequest;
    this.#handler.handle(conn, req).then(
      (res) => {
        if (res !== null) {
          conn.send(JSON.stringify(res));
        }
      },
      (err: unknown) => {
        this.#logger.error({ err }, "request handler threw");
        if (req.id != null) {
          conn.send(JSON.stringify({ jsonrpc: "2.0", id: req.id, error: { code: -32603, message: "Internal error" } }));
        }
      },
    );
  }

  /** Returns why `msg` is not a valid JSON-RPC 2.0 request, or null. */
  #checkRequest(msg: unknown): string | null {
    if (Array.isArray(msg)) {
      return "batches are not supported";
    }
    if (!isObj(msg)) {
      return "not an object";
    }
    if (msg["jsonrpc"] !== "2.0") {
      return "'jsonrpc' must be \"2.0\"";
    }
    const id = msg["id"];
    if (id !== undefined && id !== null && typeof id !== "string" && typeof id !== "number") {
      return "'id' must be a string or a number";
    }
    if (typeof msg["method"] !== "string") {
      return "'method' must be a string";
    }
    const params = msg["params"];
    if (params !== undefined && params !== null && !isObj(params)) {
      return "'params' must be an object";
    }
    return null;
  }

  /** Drops every client (the process is stopping) and stops listening. */
  async close(): Promise<void> {
    this.#ready = false;
    await this.#demo?.close();
    for (const ws of this.#connections) {
      ws.close(1001, "Server shutting down");
    }
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
    this.#wss.close();
  }
}

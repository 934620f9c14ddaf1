/**
 * The connection side shared by SIP's stream transports (TCP and TLS, RFC 3261 §18): one Content-Length framer
 * per connection, inbound and outbound connections handled alike (either side may send requests on it, RFC 3261
 * §18.2.2 and RFC 5923), connections indexed by remote `host:port` so that a response to an inbound request
 * reuses its connection, a shared in-flight connect per destination, and a framing error closing the connection
 * (a stream cannot be resynchronised, RFC 4475 §3.1.2.3). RFC 5626 double-CRLF pings get a CRLF pong.
 *
 * Hardening (issue 9 §3): an inbound connection is admitted at accept ({@link StreamConnections.accept}) only when
 * the source may send SIP at all (the trunk ACL), when its source holds fewer than `maxPerSource` connections and
 * when fewer than `maxTotal` are open; otherwise it is closed at once and counted. A connection with no complete
 * message (or keep-alive) for `idleTimeoutMs`, or with a partial message older than `partialMessageTimeoutMs`, is
 * closed by one sweep timer (no per-chunk timer). A message that does not parse, or a framing error, is answered
 * (400, or 513 for an oversize message, when a request line was readable) and the connection is then closed.
 *
 * The transports own their listener and how a new connection is dialled (plain TCP, or TLS with certificate
 * checks); this class owns everything after that.
 */
import type net from "node:net";
import { SipParseError } from "../errors.js";
import type { Logger } from "../logger.js";
import { parseMessage } from "../message/parser.js";
import { createResponse, createStatelessErrorResponse } from "../message/responses.js";
import { SipRequest, type SipMessage, type SipResponse } from "../message/SipMessage.js";
import { SipStreamFramer, type SipStreamFramerOptions } from "../message/SipStreamFramer.js";
import { handleInbound, type InboundHandlers } from "./inbound.js";
import type { SipDestination } from "./SipTransport.js";

/** Connection limits of a stream transport (all optional; 0 or absent = no limit). */
export interface StreamConnectionLimits {
  /** Open connections at once (inbound and outbound); inbound ones past it are refused at accept. */
  readonly maxTotal?: number;
  /** Inbound connections at once from one source address. */
  readonly maxPerSource?: number;
  /** Close a connection that completed no message (or keep-alive) for this long, in ms. */
  readonly idleTimeoutMs?: number;
  /** Close a connection whose partial message is not complete after this long, in ms. */
  readonly partialMessageTimeoutMs?: number;
}

/** Why an inbound connection was refused at accept. */
export type ConnectionRefusal = "acl" | "maxTotal" | "maxPerSource";

/** Hooks for the owner of a stream transport (the SIP service's admission). */
export interface StreamAdmission {
  /** False refuses a new inbound connection from `host` at accept (a source that may not send SIP at all). */
  readonly acceptSource?: (host: string, transport: "TCP" | "TLS") => boolean;
  /** Called for every refused inbound connection. */
  readonly onRefused?: (host: string, reason: ConnectionRefusal) => void;
}

export interface StreamConnectionsOptions {
  readonly protocol: "TCP" | "TLS";
  readonly handlers: InboundHandlers;
  readonly limits: Pick<SipStreamFramerOptions, "maxMessageSize" | "maxHeaderCount"> | undefined;
  readonly logger: Logger;
  /** Close connections idle for this long, in ms (0 = never). Overridden by `connectionLimits.idleTimeoutMs`. */
  readonly idleTimeoutMs?: number;
  readonly connectionLimits?: StreamConnectionLimits | undefined;
  readonly admission?: StreamAdmission | undefined;
}

/** Connection index key: remote address and port (a SIP "flow", RFC 5626 §3.1, without the local side). */
export function connectionKey(host: string, port: number): string {
  return `${host}|${port}`;
}

/** Per-connection state read by the sweep; updated with field writes only on the data path. */
interface Conn {
  readonly socket: net.Socket;
  /** Sweep tick of the last complete message or keep-alive. */
  lastActive: number;
  /** Sweep tick at which the current partial message began (-1: none buffered). */
  partialSince: number;
}

/** Time to let a last answer drain before a closing connection is destroyed. */
const CLOSE_GRACE_MS = 1000;

export class StreamConnections<S extends net.Socket> {
  readonly #o: StreamConnectionsOptions;
  readonly #connections = new Map<string, S>();
  readonly #connecting = new Map<string, Promise<S>>();
  readonly #live = new Set<Conn>();
  /** Inbound sockets (handshaking ones included) per source address. */
  readonly #perSource = new Map<string, number>();
  #inbound = 0;
  readonly #maxTotal: number;
  readonly #maxPerSource: number;
  readonly #idleMs: number;
  readonly #partialMs: number;
  readonly #tickMs: number;
  #tick = 0;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: StreamConnectionsOptions) {
    this.#o = options;
    const l = options.connectionLimits ?? {};
    this.#maxTotal = l.maxTotal ?? 0;
    this.#maxPerSource = l.maxPerSource ?? 0;
    this.#idleMs = l.idleTimeoutMs ?? options.idleTimeoutMs ?? 0;
    this.#partialMs = l.partialMessageTimeoutMs ?? 0;
    const shortest = Math.min(this.#idleMs || Infinity, this.#partialMs || Infinity);
    this.#tickMs = shortest === Infinity ? 0 : Math.max(50, Math.min(1000, Math.floor(shortest / 4)));
  }

  /** Open connections (indexed). */
  get size(): number {
    return this.#connections.size;
  }

  /** Inbound connections accepted and not yet closed (TLS handshakes included). */
  get inboundCount(): number {
    return this.#inbound;
  }

  /**
   * Admission of a freshly accepted inbound socket (before any TLS handshake): the ACL, the per-source and the
   * total limits. A refused socket is destroyed at once. An admitted one is counted until it closes.
   * @returns true when admitted.
   */
  accept(socket: net.Socket): boolean {
    const host = socket.remoteAddress ?? "";
    const { admission, protocol, logger } = this.#o;
    let refusal: ConnectionRefusal | undefined;
    if (this.#closed) {
      refusal = "maxTotal";
    } else if (admission?.acceptSource !== undefined && !admission.acceptSource(host, protocol)) {
      refusal = "acl";
    } else if (this.#maxTotal > 0 && this.#inbound + this.#outbound >= this.#maxTotal) {
      refusal = "maxTotal";
    } else if (this.#maxPerSource > 0 && (this.#perSource.get(host) ?? 0) >= this.#maxPerSource) {
      refusal = "maxPerSource";
    }
    if (refusal !== undefined) {
      socket.on("error", () => undefined);
      socket.destroy();
      logger.debug(`refused ${protocol} connection`, { peer: host, reason: refusal });
      admission?.onRefused?.(host, refusal);
      return false;
    }
    this.#inbound++;
    this.#perSource.set(host, (this.#perSource.get(host) ?? 0) + 1);
    socket.once("close", () => {
      this.#inbound--;
      const n = (this.#perSource.get(host) ?? 1) - 1;
      if (n <= 0) {
        this.#perSource.delete(host);
      } else {
        this.#perSource.set(host, n);
      }
    });
    return true;
  }

  /** Outbound (dialled) connections open: they hold descriptors too. */
  #outbound = 0;

  /** Wires framing and parsing onto a connected socket and indexes it by remote address. */
  adopt(socket: S, inbound = false): void {
    const { protocol, logger } = this.#o;
    const host = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    const id = connectionKey(host, port);
    this.#connections.set(id, socket);
    if (!inbound) {
      this.#outbound++;
    }
    const source = { host, port, transport: protocol };
    const conn: Conn = { socket, lastActive: this.#tick, partialSince: -1 };
    const framer = new SipStreamFramer({
      ...this.#o.limits,
      // RFC 5626 §3.5.1: answer a double-CRLF ping with a single CRLF pong.
      onKeepAlive: () => {
        conn.lastActive = this.#tick;
        socket.write("\r\n");
      },
    });
    this.#live.add(conn);
    this.#startSweeper();
    let broken = false;
    const reply = (r: SipResponse): void => {
      socket.write(r.toBuffer());
    };
    socket.on("data", (chunk: Buffer) => {
      if (broken) {
        return;
      }
      const { frames, error } = framer.push(chunk);
      for (const frame of frames) {
        conn.lastActive = this.#tick;
        if (handleInbound(frame, "stream", source, this.#o.handlers, reply, logger) !== undefined) {
          // A message that does not parse leaves the stream out of step with the peer (RFC 4475 §3.1.2.3): close it
          // once the answer (if any) has gone.
          broken = true;
          this.#closeAfterAnswer(socket, undefined);
          return;
        }
      }
      if (error) {
        broken = true;
        logger.info(`closing ${protocol} connection after framing error`, { reason: error.reason, peer: id });
        const answer = framingErrorAnswer(chunk, error);
        try {
          this.#o.handlers.onParseError?.(error, source, answer !== undefined);
        } catch (handlerError) {
          logger.error("onParseError handler threw", { error: handlerError });
        }
        this.#closeAfterAnswer(socket, answer);
        return;
      }
      if (framer.buffered === 0) {
        conn.partialSince = -1;
      } else if (conn.partialSince < 0) {
        conn.partialSince = this.#tick;
      }
    });
    socket.on("error", (error: Error) =>
      logger.debug(`${protocol} connection error`, { peer: id, error: error.message }),
    );
    socket.on("close", () => {
      this.#live.delete(conn);
      if (!inbound) {
        this.#outbound--;
      }
      if (this.#connections.get(id) === socket) {
        this.#connections.delete(id);
      }
      if (this.#live.size === 0) {
        this.#stopSweeper();
      }
    });
  }

  /** Sends `answer` (when given), half-closes, and destroys the socket after a short grace. */
  #closeAfterAnswer(socket: net.Socket, answer: SipResponse | undefined): void {
    socket.pause();
    if (answer === undefined) {
      socket.end();
    } else {
      socket.end(answer.toBuffer());
    }
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined || this.#tickMs === 0) {
      return;
    }
    this.#sweeper = setInterval(() => this.#sweep(), this.#tickMs);
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /** Closes idle connections and those whose partial message is too old. */
  #sweep(): void {
    const tick = ++this.#tick;
    const idleTicks = this.#idleMs > 0 ? Math.ceil(this.#idleMs / this.#tickMs) : Infinity;
    const partialTicks = this.#partialMs > 0 ? Math.ceil(this.#partialMs / this.#tickMs) : Infinity;
    for (const conn of this.#live) {
      const partial = conn.partialSince >= 0 && tick - conn.partialSince >= partialTicks;
      if (partial || tick - conn.lastActive >= idleTicks) {
        this.#live.delete(conn);
        this.#o.logger.info(`closing ${partial ? "stalled" : "idle"} ${this.#o.protocol} connection`, {
          peer: `${conn.socket.remoteAddress ?? ""}:${conn.socket.remotePort ?? 0}`,
        });
        conn.socket.destroy();
      }
    }
  }

  /**
   * An open connection to `destination`: an existing one (RFC 3261 §18.1.1: "the client ... MAY use an existing
   * connection"), the in-flight connect to it, or a new one from `dial`, which resolves once the connection is
   * usable and is then adopted. With `destination.noDial`, only an existing connection.
   */
  async connection(destination: SipDestination, dial: () => Promise<S>): Promise<S> {
    const id = connectionKey(destination.host, destination.port);
    const existing = this.#connections.get(id);
    if (existing && !existing.destroyed) {
      return existing;
    }
    if (destination.noDial === true) {
      throw new Error(`no open ${this.#o.protocol} connection to ${destination.host}:${destination.port}`);
    }
    const pending = this.#connecting.get(id);
    if (pending) {
      return pending;
    }
    const connecting = dial().then((socket) => {
      this.adopt(socket);
      // Index by the address we dialled as well, which may differ in form from remoteAddress.
      this.#connections.set(id, socket);
      return socket;
    });
    this.#connecting.set(id, connecting);
    try {
      return await connecting;
    } finally {
      this.#connecting.delete(id);
    }
  }

  /**
   * Sends over a (possibly new) connection; resolves once the bytes are handed on.
   * @throws when the connection cannot be established or the write fails (the transaction reports it to its TU).
   */
  async send(message: SipMessage, destination: SipDestination, dial: () => Promise<S>): Promise<void> {
    if (this.#closed) {
      throw new Error(`${this.#o.protocol} transport closed`);
    }
    const socket = await this.connection(destination, dial);
    await new Promise<void>((resolve, reject) => {
      socket.write(message.toBuffer(), (error) => {
        if (error) {
          reject(error);
        } else {
          resolve();
        }
      });
    });
  }

  /** Destroys every connection; returns false when already closed. */
  close(): boolean {
    if (this.#closed) {
      return false;
    }
    this.#closed = true;
    this.#stopSweeper();
    for (const socket of this.#connections.values()) {
      socket.destroy();
    }
    for (const conn of this.#live) {
      conn.socket.destroy();
    }
    this.#connections.clear();
    this.#live.clear();
    return true;
  }
}

/**
 * The answer to a stream that broke framing, when the chunk that broke it starts with a readable request: 513 for
 * an oversize message (RFC 3261 §21.5.14), else 400. Only on this error path does it parse anything.
 */
function framingErrorAnswer(chunk: Buffer, error: SipParseError): SipResponse | undefined {
  const status = error.status ?? 400;
  try {
    const message = parseMessage(chunk, { framing: "datagram" });
    return message instanceof SipRequest && message.method !== "ACK"
      ? createResponse(message, status, status === 400 ? { reason: `Bad Request (${error.reason})` } : {})
      : undefined;
  } catch (parseError) {
    if (parseError instanceof SipParseError && parseError.status !== undefined) {
      return createStatelessErrorResponse(parseError.withInit({ status }));
    }
    return undefined;
  }
}

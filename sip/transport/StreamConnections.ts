/**
 * The connection side shared by SIP's stream transports (TCP and TLS, RFC 3261 §18): one Content-Length framer
 * per connection, inbound and outbound connections handled alike (either side may send requests on it, RFC 3261
 * §18.2.2 and RFC 5923), connections indexed by remote `host:port` so that a response to an inbound request
 * reuses its connection, a shared in-flight connect per destination, and a framing error closing the connection
 * (a stream cannot be resynchronised, RFC 4475 §3.1.2.3). RFC 5626 double-CRLF pings get a CRLF pong.
 *
 * The transports own their listener and how a new connection is dialled (plain TCP, or TLS with certificate
 * checks); this class owns everything after that.
 */
import type net from "node:net";
import type { Logger } from "../logger.js";
import type { SipMessage } from "../message/SipMessage.js";
import { SipStreamFramer, type SipStreamFramerOptions } from "../message/SipStreamFramer.js";
import { handleInbound, type InboundHandlers } from "./inbound.js";
import type { SipDestination } from "./SipTransport.js";

export interface StreamConnectionsOptions {
  readonly protocol: "TCP" | "TLS";
  readonly handlers: InboundHandlers;
  readonly limits: Pick<SipStreamFramerOptions, "maxMessageSize" | "maxHeaderCount"> | undefined;
  readonly logger: Logger;
  /** Close connections idle for this long, in ms (0 = never). */
  readonly idleTimeoutMs?: number;
}

/** Connection index key: remote address and port (a SIP "flow", RFC 5626 §3.1, without the local side). */
export function connectionKey(host: string, port: number): string {
  return `${host}|${port}`;
}

export class StreamConnections<S extends net.Socket> {
  readonly #o: StreamConnectionsOptions;
  readonly #connections = new Map<string, S>();
  readonly #connecting = new Map<string, Promise<S>>();
  #closed = false;

  constructor(options: StreamConnectionsOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#connections.size;
  }

  /** Wires framing and parsing onto a connected socket and indexes it by remote address. */
  adopt(socket: S): void {
    const { protocol, logger } = this.#o;
    const host = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    const id = connectionKey(host, port);
    this.#connections.set(id, socket);
    const source = { host, port, transport: protocol };
    const framer = new SipStreamFramer({
      ...this.#o.limits,
      // RFC 5626 §3.5.1: answer a double-CRLF ping with a single CRLF pong.
      onKeepAlive: () => socket.write("\r\n"),
    });
    const idle = this.#o.idleTimeoutMs ?? 0;
    if (idle > 0) {
      socket.setTimeout(idle, () => {
        logger.debug(`closing idle ${protocol} connection`, { peer: id });
        socket.destroy();
      });
    }
    socket.on("data", (chunk: Buffer) => {
      const { frames, error } = framer.push(chunk);
      for (const frame of frames) {
        handleInbound(frame, "stream", source, this.#o.handlers, (r) => socket.write(r.toBuffer()), logger);
      }
      if (error) {
        logger.info(`closing ${protocol} connection after framing error`, { reason: error.reason, peer: id });
        socket.destroy();
      }
    });
    socket.on("error", (error: Error) =>
      logger.debug(`${protocol} connection error`, { peer: id, error: error.message }),
    );
    socket.on("close", () => {
      if (this.#connections.get(id) === socket) {
        this.#connections.delete(id);
      }
    });
  }

  /**
   * An open connection to `destination`: an existing one (RFC 3261 §18.1.1: "the client ... MAY use an existing
   * connection"), the in-flight connect to it, or a new one from `dial`, which resolves once the connection is
   * usable and is then adopted.
   */
  async connection(destination: SipDestination, dial: () => Promise<S>): Promise<S> {
    const id = connectionKey(destination.host, destination.port);
    const existing = this.#connections.get(id);
    if (existing && !existing.destroyed) {
      return existing;
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
    for (const socket of this.#connections.values()) {
      socket.destroy();
    }
    this.#connections.clear();
    return true;
  }
}

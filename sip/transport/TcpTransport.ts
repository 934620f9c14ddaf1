/**
 * SIP over TCP (RFC 3261 §18): Content-Length framing per connection, connection reuse, responses on the connection
 * the request came in on (§18.2.2: "If the 'sent-protocol' is a reliable transport protocol such as TCP or SCTP ...
 * the response MUST be sent using the existing connection to the source of the original request").
 *
 * Connections are indexed by remote `host:port`, so sending to the source of an inbound request reuses its
 * connection. A framing error (bad Content-Length, size limits) closes the connection: a stream cannot be
 * resynchronised (RFC 4475 §3.1.2.3). RFC 5626 double-CRLF pings are answered with a CRLF pong.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-18.3
 */

import net from "node:net";
import { getLogger } from "../logger.js";
import type { SipMessage } from "../message/SipMessage.js";
import { SipStreamFramer, type SipStreamFramerOptions } from "../message/SipStreamFramer.js";
import { handleInbound, type InboundHandlers } from "./inbound.js";
import type { SipDestination, SipTransport } from "./SipTransport.js";

/*
 * Not yet here (issue 3 follow-ups): TLS (`node:tls`, RFC 5922 certificate checks), idle connection timeouts,
 * RFC 5626 outbound flows with keep-alive scheduling, and RFC 5923 alias handling.
 */

/** Options of {@link TcpTransport.listen}. */
export interface TcpTransportOptions extends InboundHandlers {
  /** Local address to listen on (default `0.0.0.0`). */
  readonly host?: string;
  /** Local port (default 5060; 0 picks an ephemeral port). */
  readonly port?: number;
  /** Framing limits per connection. */
  readonly limits?: Pick<SipStreamFramerOptions, "maxMessageSize" | "maxHeaderCount">;
}

/** Connection index key: remote address and port (a SIP "flow", RFC 5626 §3.1, without the local side). */
function key(host: string, port: number): string {
  return `${host}|${port}`;
}

export class TcpTransport implements SipTransport {
  readonly protocol = "TCP" as const;
  readonly reliable = true;
  readonly #server: net.Server;
  readonly #handlers: InboundHandlers;
  readonly #limits: TcpTransportOptions["limits"];
  readonly #connections = new Map<string, net.Socket>();
  readonly #connecting = new Map<string, Promise<net.Socket>>();
  readonly #logger = getLogger("sip:transport:tcp");
  #closed = false;

  private constructor(server: net.Server, options: TcpTransportOptions) {
    this.#server = server;
    this.#handlers = options;
    this.#limits = options.limits;
    server.on("connection", (socket) => this.#adopt(socket));
    server.on("error", (error) => this.#logger.warn("TCP server error", { error: error.message }));
  }

  /**
   * Starts listening.
   * @throws the listen error (e.g. EADDRINUSE).
   */
  static async listen(options: TcpTransportOptions): Promise<TcpTransport> {
    const server = net.createServer();
    const transport = new TcpTransport(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 5060, options.host ?? "0.0.0.0", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return transport;
  }

  /** The listening address. */
  get address(): { host: string; port: number } {
    const a = this.#server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Wires framing and parsing onto a connected socket and indexes it by remote address. */
  // Inbound and outbound connections are handled alike: either side may send requests on it (RFC 3261 §18.2.2,
  // RFC 5923 connection reuse), so every connection gets its own framer and parse path.
  #adopt(socket: net.Socket): void {
    const host = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    const id = key(host, port);
    this.#connections.set(id, socket);
    const source = { host, port, transport: "TCP" as const };
    const framer = new SipStreamFramer({
      ...this.#limits,
      // RFC 5626 §3.5.1: answer a double-CRLF ping with a single CRLF pong.
      onKeepAlive: () => socket.write("\r\n"),
    });
    socket.on("data", (chunk: Buffer) => {
      const { frames, error } = framer.push(chunk);
      for (const frame of frames) {
        handleInbound(
          frame,
          "stream",
          source,
          this.#handlers,
          (response) => socket.write(response.toBuffer()),
          this.#logger,
        );
      }
      if (error) {
        this.#logger.info("closing TCP connection after framing error", { reason: error.reason, peer: id });
        socket.destroy();
      }
    });
    socket.on("error", (error) => this.#logger.debug("TCP connection error", { peer: id, error: error.message }));
    socket.on("close", () => {
      if (this.#connections.get(id) === socket) {
        this.#connections.delete(id);
      }
    });
  }

  /**
   * An open connection to `destination`, reusing an existing one (RFC 3261 §18.1.1: "the client ... MAY use an
   * existing connection"), sharing an in-flight connect, or dialling a new one.
   */
  async #connection(destination: SipDestination): Promise<net.Socket> {
    const id = key(destination.host, destination.port);
    const existing = this.#connections.get(id);
    if (existing && !existing.destroyed) {
      return existing;
    }
    const pending = this.#connecting.get(id);
    if (pending) {
      return pending;
    }
    const connecting = new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: destination.host, port: destination.port });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        this.#adopt(socket);
        // Index by the address we dialled as well, which may differ in form from remoteAddress.
        this.#connections.set(id, socket);
        resolve(socket);
      });
    });
    this.#connecting.set(id, connecting);
    try {
      return await connecting;
    } finally {
      this.#connecting.delete(id);
    }
  }

  /**
   * Sends over a (possibly new) connection; resolves once the bytes are handed to the kernel.
   * @throws when the connection cannot be established or the write fails (the transaction reports it to its TU).
   */
  async send(message: SipMessage, destination: SipDestination): Promise<void> {
    if (this.#closed) {
      throw new Error("TCP transport closed");
    }
    const socket = await this.#connection(destination);
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

  /** Closes every connection and the listener; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const socket of this.#connections.values()) {
      socket.destroy();
    }
    this.#connections.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

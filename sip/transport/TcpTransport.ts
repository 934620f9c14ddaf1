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
import type { SipStreamFramerOptions } from "../message/SipStreamFramer.js";
import type { InboundHandlers } from "./inbound.js";
import type { SipDestination, SipTransport } from "./SipTransport.js";
import { StreamConnections, type StreamAdmission, type StreamConnectionLimits } from "./StreamConnections.js";

/*
 * Not yet here (issue 3 follow-ups): RFC 5626 outbound flows with keep-alive scheduling, and RFC 5923 alias handling.
 * TLS is TlsTransport. Connection limits, the accept-time ACL and the idle/partial-message timeouts are in
 * StreamConnections.
 */

/** Options of {@link TcpTransport.listen}. */
export interface TcpTransportOptions extends InboundHandlers {
  /** Local address to listen on (default `0.0.0.0`). */
  readonly host?: string;
  /** Local port (default 5060; 0 picks an ephemeral port). */
  readonly port?: number;
  /** Framing limits per connection. */
  readonly limits?: Pick<SipStreamFramerOptions, "maxMessageSize" | "maxHeaderCount">;
  /** Connection limits and timeouts (issue 9 §3). */
  readonly connectionLimits?: StreamConnectionLimits;
  /** Accept-time ACL and refusal reporting. */
  readonly admission?: StreamAdmission;
}

/** Opens a plain TCP connection; resolves once connected. */
function dialTcp(destination: SipDestination): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: destination.host, port: destination.port });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

export class TcpTransport implements SipTransport {
  readonly protocol = "TCP" as const;
  readonly reliable = true;
  readonly #server: net.Server;
  readonly #connections: StreamConnections<net.Socket>;
  readonly #logger = getLogger("sip:transport:tcp");

  private constructor(server: net.Server, options: TcpTransportOptions) {
    this.#server = server;
    this.#connections = new StreamConnections({
      protocol: "TCP",
      handlers: options,
      limits: options.limits,
      logger: this.#logger,
      connectionLimits: options.connectionLimits,
      admission: options.admission,
    });
    server.on("connection", (socket) => {
      if (this.#connections.accept(socket)) {
        this.#connections.adopt(socket, true);
      }
    });
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

  /**
   * Sends over a (possibly new) connection; resolves once the bytes are handed to the kernel.
   * @throws when the connection cannot be established or the write fails (the transaction reports it to its TU).
   */
  send(message: SipMessage, destination: SipDestination): Promise<void> {
    return this.#connections.send(message, destination, () => dialTcp(destination));
  }

  /** Closes every connection and the listener; idempotent. */
  async close(): Promise<void> {
    if (this.#connections.close()) {
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }
  }
}

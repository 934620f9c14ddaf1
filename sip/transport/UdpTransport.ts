/**
 * SIP over UDP (RFC 3261 §18 with RFC 3581 symmetric response routing).
 *
 * One socket both sends and receives, so requests leave from the port in their Via and `rport` works. Each datagram
 * is one message (§18.3: octets after Content-Length are ignored; without Content-Length the body runs to the end).
 * Switching large requests to TCP (§18.1.1, ~1300 bytes) is the caller's choice of transport.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-18
 */

import dgram from "node:dgram";
import { isIP } from "node:net";
import { getLogger } from "../logger.js";
import type { SipMessage } from "../message/SipMessage.js";
import { handleInbound, type InboundHandlers } from "./inbound.js";
import type { SipDestination, SipTransport } from "./SipTransport.js";

/** Options of {@link UdpTransport.listen}. */
export interface UdpTransportOptions extends InboundHandlers {
  /** Local address to bind (default `0.0.0.0`; `::` or an IPv6 address selects udp6). */
  readonly host?: string;
  /** Local port (default 5060; 0 picks an ephemeral port). */
  readonly port?: number;
}

/** Largest UDP payload (65535 − 8 − 20). */
const MAX_DATAGRAM = 65507;

export class UdpTransport implements SipTransport {
  readonly protocol = "UDP" as const;
  readonly reliable = false;
  readonly #socket: dgram.Socket;
  readonly #logger = getLogger("sip:transport:udp");
  #closed = false;

  private constructor(socket: dgram.Socket, handlers: InboundHandlers) {
    this.#socket = socket;
    socket.on("message", (data, rinfo) => {
      // Cheap classification first: empty or whitespace-only datagrams (keep-alives) are ignored.
      if (data.length < 4) {
        return;
      }
      const source = { host: rinfo.address, port: rinfo.port, transport: "UDP" as const };
      handleInbound(
        data,
        "datagram",
        source,
        handlers,
        (response) => {
          this.#sendRaw(response.toBuffer(), source.host, source.port).catch(() => undefined);
        },
        this.#logger,
      );
    });
    socket.on("error", (error) => {
      this.#logger.warn("UDP socket error", { error: error.message });
    });
  }

  /**
   * Binds a socket and starts receiving.
   * @throws the bind error (e.g. EADDRINUSE).
   */
  static async listen(options: UdpTransportOptions): Promise<UdpTransport> {
    const host = options.host ?? "0.0.0.0";
    const socket = dgram.createSocket(isIP(host) === 6 ? "udp6" : "udp4");
    const transport = new UdpTransport(socket, options);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.port ?? 5060, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    return transport;
  }

  /** The bound address. */
  get address(): { host: string; port: number } {
    const a = this.#socket.address();
    return { host: a.address, port: a.port };
  }

  /**
   * Sends one datagram from the bound socket (so the peer's responses and rport reach it).
   * @throws {RangeError} when the message cannot fit in a datagram; the UA should have used TCP (RFC 3261 §18.1.1).
   */
  send(message: SipMessage, destination: SipDestination): Promise<void> {
    const data = message.toBuffer();
    if (data.length > MAX_DATAGRAM) {
      return Promise.reject(new RangeError(`message of ${data.length} bytes does not fit a UDP datagram`));
    }
    return this.#sendRaw(data, destination.host, destination.port);
  }

  #sendRaw(data: Buffer, host: string, port: number): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error("UDP transport closed"));
    }
    return new Promise((resolve, reject) => {
      this.#socket.send(data, port, host, (error) => {
        if (error) {
          reject(error);
        } else {
          resolve();
        }
      });
    });
  }

  /** Closes the socket; idempotent. */
  close(): Promise<void> {
    if (this.#closed) {
      return Promise.resolve();
    }
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

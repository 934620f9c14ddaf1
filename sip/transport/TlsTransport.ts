/**
 * SIP over TLS (RFC 3261 §18, §26.2; RFC 5922 for certificate identity; RFC 5630 `sips:` is a routing matter above
 * this layer). Same behaviour as the TCP transport (Content-Length framing per connection with size limits, connection
 * reuse in both directions, responses on the connection the request came in on, RFC 5626 CRLF pong), over `node:tls`
 * with the certificate and key read from files named in config.
 *
 * Identity: outbound connections verify the peer's certificate against the system store or `caFile`, and its name
 * against the host dialled (Node's `checkServerIdentity`: subjectAltName DNS or IP entries, RFC 5922 §7.1). Inbound
 * connections may require a client certificate (`requestClientCert`, mutual TLS as carriers' SBCs use it).
 * A framing error or a handshake that does not finish within `handshakeTimeoutMs` closes the connection; nothing a
 * peer sends reaches an exception outside this file.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-26.2
 * @see https://www.rfc-editor.org/rfc/rfc5922#section-7
 */

import { readFile } from "node:fs/promises";
import type net from "node:net";
import tls from "node:tls";
import { getLogger, type Logger } from "../logger.js";
import type { SipMessage } from "../message/SipMessage.js";
import type { SipStreamFramerOptions } from "../message/SipStreamFramer.js";
import type { InboundHandlers } from "./inbound.js";
import type { SipDestination, SipTransport } from "./SipTransport.js";
import {
  StreamConnections,
  connectionKey,
  type StreamAdmission,
  type StreamConnectionLimits,
} from "./StreamConnections.js";

/** Options of {@link TlsTransport.listen}. */
export interface TlsTransportOptions extends InboundHandlers {
  /** Local address to listen on (default `0.0.0.0`). */
  readonly host?: string;
  /** Local port (default 5061, RFC 3261 §19.1.2; 0 picks an ephemeral port). */
  readonly port?: number;
  /** PEM certificate chain file (leaf first). */
  readonly certFile: string;
  /** PEM private key file. */
  readonly keyFile: string;
  /** PEM CA bundle used to verify peers instead of the system store (private PKI, self-signed test certs). */
  readonly caFile?: string;
  /** Ask inbound peers for a certificate and refuse those without a valid one (mutual TLS). Default false. */
  readonly requestClientCert?: boolean;
  /** Verify outbound peers' certificates (default true; switch off only for lab setups). */
  readonly rejectUnauthorized?: boolean;
  /** Time allowed for a TLS handshake, in ms (default 10 000). */
  readonly handshakeTimeoutMs?: number;
  /** Close connections idle for this long, in ms (default 0 = never; CRLF keep-alives count as traffic). */
  readonly idleTimeoutMs?: number;
  /** Most simultaneous inbound connections (default 10 000). */
  readonly maxConnections?: number;
  /** Framing limits per connection. */
  readonly limits?: Pick<SipStreamFramerOptions, "maxMessageSize" | "maxHeaderCount">;
  /** Connection limits and timeouts (issue 9 §3); `idleTimeoutMs` here wins over the option above. */
  readonly connectionLimits?: StreamConnectionLimits;
  /** Accept-time ACL (checked before the handshake) and refusal reporting. */
  readonly admission?: StreamAdmission;
}

/**
 * A logger that lets through at most `perWindow` lines of each message text per `windowMs` and then reports how
 * many it swallowed (architecture.md §5.7: socket edges "catch and log at a bounded rate"), so a peer flooding
 * garbage or failed handshakes cannot flood the log. Keys are bounded too.
 */
class BoundedLogger implements Logger {
  readonly #inner: Logger;
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #windows = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(inner: Logger, perWindow = 20, windowMs = 10_000) {
    this.#inner = inner;
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
  }

  #allow(message: string): boolean {
    const now = Date.now();
    let w = this.#windows.get(message);
    if (w === undefined || now - w.start >= this.#windowMs) {
      if (w !== undefined && w.suppressed > 0) {
        this.#inner.warn(`${w.suppressed} similar lines suppressed`, { message });
      }
      w = { start: now, count: 0, suppressed: 0 };
      this.#windows.delete(message);
      this.#windows.set(message, w);
      if (this.#windows.size > 100) {
        const oldest = this.#windows.keys().next();
        if (oldest.done !== true) {
          this.#windows.delete(oldest.value);
        }
      }
    }
    if (w.count < this.#perWindow) {
      w.count++;
      return true;
    }
    w.suppressed++;
    return false;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.#allow(message)) {
      this.#inner.debug(message, fields);
    }
  }

  info(message: string, fields?: Record<string, unknown>): void {
    if (this.#allow(message)) {
      this.#inner.info(message, fields);
    }
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    if (this.#allow(message)) {
      this.#inner.warn(message, fields);
    }
  }

  error(message: string, fields?: Record<string, unknown>): void {
    if (this.#allow(message)) {
      this.#inner.error(message, fields);
    }
  }
}

interface Credentials {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

async function loadCredentials(options: TlsTransportOptions): Promise<Credentials> {
  const [cert, keyPem, ca] = await Promise.all([
    readFile(options.certFile),
    readFile(options.keyFile),
    options.caFile === undefined ? Promise.resolve(undefined) : readFile(options.caFile),
  ]);
  return { cert, key: keyPem, ca };
}

export class TlsTransport implements SipTransport {
  readonly protocol = "TLS" as const;
  readonly reliable = true;
  readonly #server: tls.Server;
  readonly #options: TlsTransportOptions;
  #credentials: Credentials;
  readonly #logger: Logger = new BoundedLogger(getLogger("sip:transport:tls"));
  readonly #connections: StreamConnections<tls.TLSSocket>;

  private constructor(server: tls.Server, options: TlsTransportOptions, credentials: Credentials) {
    this.#server = server;
    this.#options = options;
    this.#credentials = credentials;
    this.#connections = new StreamConnections({
      protocol: "TLS",
      handlers: options,
      limits: options.limits,
      logger: this.#logger,
      idleTimeoutMs: options.idleTimeoutMs ?? 0,
      connectionLimits: options.connectionLimits,
      admission: options.admission,
    });
    // The ACL and the limits apply to the raw TCP socket, before any handshake work.
    server.on("connection", (socket: net.Socket) => {
      this.#connections.accept(socket);
    });
    server.on("secureConnection", (socket) => this.#connections.adopt(socket, true));
    // Handshake failures (bad client certificate, plain TCP garbage, timeouts) never reach the SIP layer.
    server.on("tlsClientError", (error, socket) => {
      this.#logger.info("TLS handshake failed", { error: error.message, peer: socket.remoteAddress });
      socket.destroy();
    });
    server.on("error", (error: Error) => this.#logger.warn("TLS server error", { error: error.message }));
  }

  /**
   * Reads the certificate files and starts listening.
   * @throws the file read error (ENOENT…), a TLS context error for a bad PEM, or the listen error (EADDRINUSE).
   */
  static async listen(options: TlsTransportOptions): Promise<TlsTransport> {
    const credentials = await loadCredentials(options);
    const server = tls.createServer({
      cert: credentials.cert,
      key: credentials.key,
      ...(credentials.ca ? { ca: credentials.ca } : {}),
      requestCert: options.requestClientCert ?? false,
      rejectUnauthorized: options.requestClientCert ?? false,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      minVersion: "TLSv1.2",
    });
    server.maxConnections = options.maxConnections ?? options.connectionLimits?.maxTotal ?? 10_000;
    const transport = new TlsTransport(server, options, credentials);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 5061, options.host ?? "0.0.0.0", () => {
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
   * Re-reads the certificate files (after a renewal) for new connections; open ones keep their session.
   * @throws when a file cannot be read or the PEM is invalid; the old certificate then stays in use.
   */
  async reloadCertificates(): Promise<void> {
    const credentials = await loadCredentials(this.#options);
    this.#server.setSecureContext({
      cert: credentials.cert,
      key: credentials.key,
      ...(credentials.ca ? { ca: credentials.ca } : {}),
    });
    this.#credentials = credentials;
  }

  /** Dials and verifies a new TLS connection to `destination`; resolves after the handshake. */
  #dial(destination: SipDestination): Promise<tls.TLSSocket> {
    const id = connectionKey(destination.host, destination.port);
    const { cert, key: keyPem, ca } = this.#credentials;
    const isAddress = /^[\d.]+$/.test(destination.host) || destination.host.includes(":");
    return new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({
        host: destination.host,
        port: destination.port,
        cert,
        key: keyPem,
        ...(ca ? { ca } : {}),
        // SNI only carries host names (RFC 6066 §3); the identity check still covers IP SANs.
        ...(isAddress ? {} : { servername: destination.host }),
        rejectUnauthorized: this.#options.rejectUnauthorized ?? true,
        minVersion: "TLSv1.2",
      });
      const timer = setTimeout(() => {
        socket.destroy(new Error(`TLS handshake with ${id} timed out`));
      }, this.#options.handshakeTimeoutMs ?? 10_000);
      timer.unref();
      socket.once("error", (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(socket);
      });
    });
  }

  /**
   * Sends over a (possibly new) verified connection; resolves once the bytes are handed to TLS.
   * @throws when the connection cannot be established, the certificate is refused, or the write fails.
   */
  send(message: SipMessage, destination: SipDestination): Promise<void> {
    return this.#connections.send(message, destination, () => this.#dial(destination));
  }

  /** Closes every connection and the listener; idempotent. */
  async close(): Promise<void> {
    if (this.#connections.close()) {
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }
  }
}

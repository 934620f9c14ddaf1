/**
 * The SIP listeners (issue 3 §5, issue 9 §3): UDP and TCP on `sip.host`/`sip.port`, TLS on `sip.tls.port` when set,
 * every message handed to the admission. TCP and TLS connections are capped below the open-file limit (a descriptor
 * reserve stays free) and refused at accept when their source may not send SIP at all.
 */
import type { InboundMessage, SipTransport } from "../../sip/index.js";
import { connectionCap, openFileSoftLimit } from "../../sip/transport/fdLimit.js";
import type { StreamAdmission, StreamConnectionLimits } from "../../sip/transport/StreamConnections.js";
import { TcpTransport } from "../../sip/transport/TcpTransport.js";
import { TlsTransport } from "../../sip/transport/TlsTransport.js";
import { UdpTransport } from "../../sip/transport/UdpTransport.js";
import type { Logger } from "../logging/logger.js";
import type { KorusConfig } from "../config/schema.js";

/** What the listeners hand their messages to. */
export interface ListenerAdmission {
  admit(inbound: InboundMessage): void;
  readonly onParseError: () => void;
  readonly streamAdmission: StreamAdmission;
}

export interface SipListeners {
  /** The transports to send on (UDP, TCP, TLS when configured). */
  readonly transports: SipTransport[];
  /** What to close at shutdown. */
  readonly owned: { close(): Promise<void> }[];
  /** The port UDP and TCP listen on. */
  readonly port: number;
}

/**
 * Opens the listeners. Everything opened is closed again when a later one fails.
 * @throws on a port already in use or unreadable TLS files.
 */
export async function openListeners(
  cfg: KorusConfig["sip"],
  admission: ListenerAdmission,
  logger: Logger,
): Promise<SipListeners> {
  const onMessage = (m: InboundMessage): void => admission.admit(m);
  const onParseError = admission.onParseError;
  const cl = cfg.connections;
  const soft = openFileSoftLimit();
  const maxTotal = connectionCap(cl.maxTotal, cl.fdReserve, soft);
  if (maxTotal < cl.maxTotal) {
    logger.warn(
      { maxTotal, configured: cl.maxTotal, openFileLimit: soft, fdReserve: cl.fdReserve },
      "sip: connection limit lowered to keep a descriptor reserve under the open-file limit",
    );
  }
  const connectionLimits: StreamConnectionLimits = {
    maxTotal,
    maxPerSource: cl.maxPerSource,
    idleTimeoutMs: cl.idleTimeoutS * 1000,
    partialMessageTimeoutMs: cl.partialMessageTimeoutMs,
  };
  const streamAdmission = admission.streamAdmission;
  const owned: { close(): Promise<void> }[] = [];
  const transports: SipTransport[] = [];
  try {
    const udp = await UdpTransport.listen({ host: cfg.host, port: cfg.port, onMessage, onParseError });
    owned.push(udp);
    transports.push(udp);
    const tcp = await TcpTransport.listen({
      host: cfg.host,
      port: udp.address.port,
      onMessage,
      onParseError,
      connectionLimits,
      admission: streamAdmission,
    });
    owned.push(tcp);
    transports.push(tcp);
    if (cfg.tls.port !== 0) {
      const tls = await TlsTransport.listen({
        host: cfg.host,
        port: cfg.tls.port,
        certFile: cfg.tls.certFile,
        keyFile: cfg.tls.keyFile,
        ...(cfg.tls.caFile === "" ? {} : { caFile: cfg.tls.caFile }),
        requestClientCert: cfg.tls.requestClientCert,
        onMessage,
        onParseError,
        connectionLimits,
        admission: streamAdmission,
      });
      owned.push(tls);
      transports.push(tls);
    }
    return { transports, owned, port: udp.address.port };
  } catch (err) {
    await Promise.all(owned.map((t) => t.close().catch(() => undefined)));
    throw err;
  }
}

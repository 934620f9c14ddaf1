/**
 * ICE attributes: `a=candidate` (RFC 8839 §5.1), `a=ice-ufrag` / `a=ice-pwd` (RFC 8839 §5.4), `a=ice-options`
 * (RFC 8839 §5.6), `a=ice-lite` (RFC 8839 §5.3) and `a=end-of-candidates` (RFC 8840 §8.1).
 *
 * Candidates are kept as raw text in the model; this parser gives typed access, and keeps every extension pair in
 * order (`generation 0 ufrag X network-id 1 network-cost 10`), which sdp-transform drops (libraries.md §11).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8839#section-5.1
 */
import { SdpParseError } from "../errors.js";

/** A parsed ICE candidate. */
export interface Candidate {
  readonly foundation: string;
  readonly component: number;
  /** "udp" or "tcp" (case preserved as received). */
  readonly transport: string;
  readonly priority: number;
  /** IP address or, with mDNS obfuscation, a `*.local` host name. */
  readonly address: string;
  readonly port: number;
  /** "host", "srflx", "prflx" or "relay". */
  readonly type: string;
  readonly relatedAddress?: string;
  readonly relatedPort?: number;
  /** `tcptype active|passive|so` (RFC 6544 §4.5). */
  readonly tcpType?: string;
  /** Every other `name value` pair, in order (e.g. `generation`, `ufrag`, `network-id`, `network-cost`). */
  readonly extensions: readonly (readonly [string, string])[];
}

/**
 * Parses the value of an `a=candidate:` line (also accepts a leading `candidate:` as used by trickle ICE in
 * JSON signalling).
 *
 * Grammar (RFC 8839 §5.1): `foundation SP component-id SP transport SP priority SP connection-address SP port SP
 * "typ" SP cand-type [SP "raddr" SP addr] [SP "rport" SP port] *(SP extension-att-name SP extension-att-value)`.
 *
 * @throws {SdpParseError} when a mandatory field is missing or not a number.
 */
export function parseCandidate(value: string, line = 0): Candidate {
  const text = `a=candidate:${value}`;
  const body = value.startsWith("candidate:") ? value.slice("candidate:".length) : value;
  const f = body.trim().split(/ +/);
  const [foundation, component, transport, priority, address, port, typ, type] = f;
  if (
    foundation === undefined ||
    transport === undefined ||
    address === undefined ||
    typ !== "typ" ||
    type === undefined ||
    !/^\d+$/.test(component ?? "") ||
    !/^\d+$/.test(priority ?? "") ||
    !/^\d+$/.test(port ?? "")
  ) {
    throw new SdpParseError(
      "candidate must be <foundation> <component> <transport> <priority> <addr> <port> typ <type>",
      line,
      text,
    );
  }
  let relatedAddress: string | undefined;
  let relatedPort: number | undefined;
  let tcpType: string | undefined;
  const extensions: [string, string][] = [];
  // After "typ <type>" come name/value pairs. raddr/rport (RFC 8839 §5.1) and tcptype (RFC 6544 §4.5) get typed
  // fields; everything else (generation, ufrag, network-id, network-cost, ...) is kept in order so that
  // formatCandidate() reproduces the line.
  for (let i = 8; i + 1 < f.length; i += 2) {
    const name = f[i] ?? "";
    const v = f[i + 1] ?? "";
    if (name === "raddr") {
      relatedAddress = v;
    } else if (name === "rport" && /^\d+$/.test(v)) {
      relatedPort = Number(v);
    } else if (name === "tcptype") {
      tcpType = v;
    } else {
      extensions.push([name, v]);
    }
  }
  return {
    foundation,
    component: Number(component),
    transport,
    priority: Number(priority),
    address,
    port: Number(port),
    type,
    ...(relatedAddress === undefined ? {} : { relatedAddress }),
    ...(relatedPort === undefined ? {} : { relatedPort }),
    ...(tcpType === undefined ? {} : { tcpType }),
    extensions,
  };
}

/** Formats a {@link Candidate} as the value of an `a=candidate:` line (fields in RFC 8839 §5.1 order). */
export function formatCandidate(c: Candidate): string {
  let s = `${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.relatedAddress !== undefined) {
    s += ` raddr ${c.relatedAddress}`;
  }
  if (c.relatedPort !== undefined) {
    s += ` rport ${c.relatedPort}`;
  }
  if (c.tcpType !== undefined) {
    s += ` tcptype ${c.tcpType}`;
  }
  for (const [name, v] of c.extensions) {
    s += ` ${name} ${v}`;
  }
  return s;
}

/**
 * ICE credentials and options of one media section (or inherited from the session level, RFC 8839 §5.4: "the
 * ice-pwd and ice-ufrag attributes can appear at either the session-level or media-level").
 */
export interface IceParameters {
  readonly ufrag: string;
  readonly pwd: string;
  /** `a=ice-options` tokens, e.g. `trickle`, `ice2`, `renomination`. */
  readonly options: readonly string[];
  /** `a=ice-lite` at session level (RFC 8839 §5.3). */
  readonly lite: boolean;
}

/**
 * Header helpers of the UA core: option tags, Reason with its Q.850 cause (RFC 3326), Session-Expires/Min-SE
 * (RFC 4028), RAck/RSeq (RFC 3262), the identity and charging headers a trunk call carries (RFC 3325 PAI, RFC 3323
 * Privacy, RFC 7315 P-Charging-Vector, RFC 5806 Diversion, RFC 7044 History-Info), and hold detection on SDP.
 */

import { effectiveDirection, SessionDescription } from "../../sdp/index.js";
import type { NameAddr } from "../message/NameAddr.js";
import type { SipMessage, SipRequest } from "../message/SipMessage.js";
import type { SipDestination } from "../transport/SipTransport.js";

/** Methods the UA core implements (Allow, RFC 3261 §20.5). */
export const ALLOWED_METHODS = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "PRACK", "UPDATE", "INFO"] as const;
/** Option tags the UA core implements (Supported, RFC 3261 §20.37). */
export const SUPPORTED_OPTIONS: readonly string[] = ["100rel", "timer"];
/** Body types the UA core accepts (Accept, RFC 3261 §20.1). */
export const ACCEPTED_TYPES = ["application/sdp"];

/** True when a list header (Require, Supported, Allow) names `tag`, case-insensitively. */
export function hasOption(message: SipMessage, header: string, tag: string): boolean {
  const wanted = tag.toLowerCase();
  return message.tokens(header).some((t) => t.toLowerCase() === wanted);
}

/** Require tags we do not support (RFC 3261 §8.2.2.3: answer 420 listing them in Unsupported). */
export function unsupportedRequire(request: SipRequest): string[] {
  return request.tokens("Require").filter((t) => !SUPPORTED_OPTIONS.includes(t.toLowerCase()));
}

/** One Reason header value (RFC 3326): `Q.850;cause=16;text="Normal call clearing"`. */
export interface ReasonValue {
  readonly protocol: string;
  readonly cause: number | undefined;
  readonly text: string | undefined;
}

/** Parses Reason values; malformed ones are skipped (the header is informational). */
export function parseReasons(message: SipMessage): ReasonValue[] {
  const out: ReasonValue[] = [];
  for (const value of message.getHeaders("Reason")) {
    // Reason is a comma list (RFC 3326 §2), but text may hold commas inside quotes: split outside quotes.
    for (const part of value.match(/(?:[^,"]|"(?:\\.|[^"\\])*")+/g) ?? []) {
      const [protocol = "", ...params] = part.split(";").map((s) => s.trim());
      let cause: number | undefined;
      let text: string | undefined;
      for (const p of params) {
        const eq = p.indexOf("=");
        const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
        const raw = eq < 0 ? "" : p.slice(eq + 1).trim();
        if (name === "cause" && /^\d{1,5}$/.test(raw)) {
          cause = Number(raw);
        } else if (name === "text") {
          text = raw.replace(/^"|"$/g, "");
        }
      }
      if (protocol !== "") {
        out.push({ protocol, cause, text });
      }
    }
  }
  return out;
}

/** The Q.850 cause of a message's Reason header (RFC 3326 §2), if any. */
export function q850Cause(message: SipMessage): number | undefined {
  return parseReasons(message).find((r) => r.protocol.toUpperCase() === "Q.850")?.cause;
}

/** The Reason header for a Q.850 cause. */
export function formatQ850Reason(cause: number, text?: string): string {
  return text === undefined ? `Q.850;cause=${cause}` : `Q.850;cause=${cause};text="${text.replace(/["\\]/g, "")}"`;
}

/** RFC 3398 §8.2.6.1 SIP status → Q.850 cause (module constant: no allocation per call). */
const SIP_TO_Q850: Readonly<Record<number, number>> = {
  200: 16,
  400: 41,
  401: 21,
  402: 21,
  403: 21,
  404: 1,
  405: 63,
  406: 79,
  407: 21,
  408: 102,
  410: 22,
  413: 127,
  414: 127,
  415: 79,
  416: 127,
  420: 127,
  421: 127,
  423: 127,
  480: 18,
  481: 41,
  482: 25,
  483: 25,
  484: 28,
  485: 1,
  486: 17,
  487: 127,
  488: 65,
  500: 41,
  501: 79,
  502: 38,
  503: 41,
  504: 102,
  505: 127,
  513: 127,
  600: 17,
  603: 21,
  604: 1,
  606: 58,
};

/**
 * The Q.850 cause that corresponds to a SIP final status (RFC 3398 §8.2.6.1; 487/488/606 have no mapping there and
 * get 127/65/58 as usual in gateways), used when
 * the peer sent no Reason.
 */
/** The RFC 3398 §8.2.6.1 cause of a SIP final status, or undefined when the RFC maps none. */
export function mappedQ850(status: number): number | undefined {
  return SIP_TO_Q850[status];
}

export function statusToQ850(status: number): number {
  return SIP_TO_Q850[status] ?? (status >= 600 ? 31 : status >= 500 ? 38 : 31);
}

/** Session-Expires (RFC 4028 §4): `1800;refresher=uac`. */
export interface SessionExpires {
  readonly interval: number;
  readonly refresher: "uac" | "uas" | undefined;
}

/** Parses Session-Expires (or its compact form `x`); undefined when absent or malformed. */
export function parseSessionExpires(message: SipMessage): SessionExpires | undefined {
  const raw = message.getHeader("Session-Expires");
  if (raw === undefined) {
    return undefined;
  }
  const [value = "", ...params] = raw.split(";").map((s) => s.trim());
  if (!/^\d{1,10}$/.test(value)) {
    return undefined;
  }
  let refresher: "uac" | "uas" | undefined;
  for (const p of params) {
    const m = /^refresher\s*=\s*(uac|uas)$/i.exec(p);
    if (m?.[1] !== undefined) {
      refresher = m[1].toLowerCase() as "uac" | "uas";
    }
  }
  return { interval: Number(value), refresher };
}

/** Min-SE in seconds (RFC 4028 §5), or undefined. */
export function parseMinSE(message: SipMessage): number | undefined {
  const raw = message.getHeader("Min-SE")?.split(";")[0]?.trim();
  return raw !== undefined && /^\d{1,10}$/.test(raw) ? Number(raw) : undefined;
}

/** RSeq (RFC 3262 §7.1), or undefined. */
export function parseRSeq(message: SipMessage): number | undefined {
  const raw = message.getHeader("RSeq")?.trim();
  return raw !== undefined && /^\d{1,10}$/.test(raw) ? Number(raw) : undefined;
}

/** RAck (RFC 3262 §7.2): `response-num CSeq-num Method`. */
export function parseRAck(message: SipMessage): { rseq: number; cseq: number; method: string } | undefined {
  const m = /^\s*(\d{1,10})\s+(\d{1,10})\s+([A-Za-z]+)\s*$/.exec(message.getHeader("RAck") ?? "");
  return m ? { rseq: Number(m[1]), cseq: Number(m[2]), method: (m[3] ?? "").toUpperCase() } : undefined;
}

/** P-Charging-Vector (RFC 7315 §4.6): `icid-value=…;icid-generated-at=…;orig-ioi=…;term-ioi=…`. */
export interface ChargingVector {
  readonly raw: string;
  readonly icid: string | undefined;
  readonly origIoi: string | undefined;
  readonly termIoi: string | undefined;
}

/** Parses P-Charging-Vector; `icid` is undefined when the mandatory icid-value is missing. */
export function parseChargingVector(raw: string): ChargingVector {
  const params = new Map<string, string>();
  for (const part of raw.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) {
      params.set(
        part.slice(0, eq).trim().toLowerCase(),
        part
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, ""),
      );
    }
  }
  return { raw, icid: params.get("icid-value"), origIoi: params.get("orig-ioi"), termIoi: params.get("term-ioi") };
}

/** Identity, diversion and charging headers of a call (what a CDR and the gateway need). */
export interface CallIdentity {
  readonly callId: string;
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly requestUri: string;
  /** P-Asserted-Identity values (RFC 3325), in order; usually one sip: and/or one tel: URI. */
  readonly assertedIdentity: readonly NameAddr[];
  /** Privacy tokens (RFC 3323 §4.2), e.g. `["id"]`. */
  readonly privacy: readonly string[];
  /** Diversion values as received (RFC 5806), most recent first. */
  readonly diversion: readonly string[];
  /** History-Info values as received (RFC 7044), in order. */
  readonly historyInfo: readonly string[];
  /** P-Charging-Vector (RFC 7315), when present. */
  readonly chargingVector: ChargingVector | undefined;
  /** Where the request came from. */
  readonly source: SipDestination;
}

/** Captures the identity headers of a dialog-creating request. Malformed optional headers are left out. */
export function captureIdentity(request: SipRequest, source: SipDestination): CallIdentity {
  let pai: NameAddr[] = [];
  try {
    pai = request.nameAddrs("P-Asserted-Identity");
  } catch {
    pai = [];
  }
  const pcv = request.getHeader("P-Charging-Vector");
  return {
    callId: request.callId,
    from: request.from,
    to: request.to,
    requestUri: request.uri.toString(),
    assertedIdentity: pai,
    privacy: request
      .getHeaders("Privacy")
      .flatMap((v) => v.split(/[;,]/))
      .map((s) => s.trim())
      .filter((s) => s !== ""),
    diversion: request.getHeaders("Diversion"),
    historyInfo: request.getHeaders("History-Info"),
    chargingVector: pcv === undefined ? undefined : parseChargingVector(pcv),
    source,
  };
}

/**
 * True when the description puts us on hold (RFC 3264 §8.4): every active stream is `sendonly` or `inactive`, or
 * uses the RFC 2543 `c=0.0.0.0` form (sdp/'s {@link effectiveDirection}). Unparsable SDP is not hold.
 */
export function isHoldOffer(sdp: string): boolean {
  let description: SessionDescription;
  try {
    description = SessionDescription.parse(sdp);
  } catch {
    return false;
  }
  const active = description.media.filter((m) => m.port !== 0);
  return active.length > 0 && active.every((m) => !/^(sendrecv|recvonly)$/.test(effectiveDirection(m)));
}

/**
 * Line-level SDP and ICE-candidate handling for the WebRtcEndpoint: the minimal validation Kurento clients expect
 * (SDP_PARSE_ERROR with a message instead of a werift exception without one) and the cosmetic and NAT rewrites KMS
 * applies to what it hands out. Deliberately not a parser: sdp/ owns SDP parsing; werift parses what it applies.
 */
import { isIP } from "node:net";
import { MediaOperationError } from "../errors.js";

/**
 * Checks that `sdp` looks like a session description: a `v=` line first and at least one `m=` line.
 * @throws MediaOperationError SDP_PARSE_ERROR naming what is missing.
 */
export function validateSdp(sdp: unknown, what: string): string {
  if (typeof sdp !== "string" || sdp.trim() === "") {
    throw new MediaOperationError("SDP_PARSE_ERROR", `${what}: empty SDP`);
  }
  const lines = sdp.split(/\r?\n/).filter((l) => l !== "");
  const first = lines[0] ?? "";
  if (!first.startsWith("v=")) {
    throw new MediaOperationError(
      "SDP_PARSE_ERROR",
      `${what}: SDP must start with a 'v=' line, got '${first.slice(0, 40)}'`,
    );
  }
  if (!lines.some((l) => l.startsWith("m="))) {
    throw new MediaOperationError("SDP_PARSE_ERROR", `${what}: SDP has no 'm=' line`);
  }
  for (const [i, l] of lines.entries()) {
    if (!/^[a-z]=/.test(l)) {
      throw new MediaOperationError(
        "SDP_PARSE_ERROR",
        `${what}: line ${i + 1} is not '<type>=<value>': '${l.slice(0, 40)}'`,
      );
    }
  }
  // werift only understands CRLF; normalise bare LF so hand-written SDPs are accepted too.
  return sdp.includes("\r\n") ? sdp : `${lines.join("\r\n")}\r\n`;
}

export interface PresentOptions {
  /** KMS puts no candidates in an SDP produced before gatherCandidates(). */
  stripCandidates: boolean;
  externalIPv4: string;
  externalIPv6: string;
}

/** Turns werift's SDP into what KMS would hand out: `s=Kurento Media Server`, no trickle option, NAT addresses. */
export function presentSdp(sdp: string, o: PresentOptions): string {
  const out: string[] = [];
  for (const line of sdp.split("\r\n")) {
    if (line.startsWith("s=")) {
      out.push("s=Kurento Media Server");
    } else if (line === "a=ice-options:trickle") {
      continue;
    } else if (line.startsWith("a=candidate:") || line === "a=end-of-candidates") {
      if (!o.stripCandidates) {
        out.push(line.startsWith("a=candidate:") ? `a=${rewriteCandidate(line.slice(2), o)}` : line);
      }
    } else {
      out.push(line);
    }
  }
  return out.join("\r\n");
}

/**
 * Replaces the address of a host candidate with the configured external one of the same family (externalIPv4 /
 * externalIPv6, KMS `WebRtcEndpoint.conf.ini`). Other candidates are returned unchanged.
 */
export function rewriteCandidate(candidate: string, o: { externalIPv4: string; externalIPv6: string }): string {
  const parts = candidate.split(" ");
  const addr = parts[4];
  if (addr === undefined || parts[7] !== "host") {
    return candidate;
  }
  const fam = isIP(addr);
  const ext = fam === 4 ? o.externalIPv4 : fam === 6 ? o.externalIPv6 : "";
  if (ext === "") {
    return candidate;
  }
  parts[4] = ext;
  return parts.join(" ");
}

const CANDIDATE_RE =
  /^(?:a=)?candidate:\S+ \d+ (?:udp|tcp|UDP|TCP) \d+ \S+ \d+ typ (?:host|srflx|prflx|relay)(?: .*)?$/;

/**
 * Validates a trickled candidate string (RFC 8839 §5.1 grammar, loosely). Returns false for garbage; an empty
 * string (end of candidates) is valid.
 */
export function isValidCandidate(candidate: string): boolean {
  if (candidate === "") {
    return true;
  }
  const m = CANDIDATE_RE.exec(candidate.trim());
  if (m === null) {
    return false;
  }
  const parts = candidate.trim().split(" ");
  const port = Number(parts[5]);
  const addr = parts[4] ?? "";
  return port >= 0 && port <= 65535 && (isIP(addr) !== 0 || addr.endsWith(".local"));
}

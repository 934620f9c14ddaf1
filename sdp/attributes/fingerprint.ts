/**
 * DTLS-SRTP attributes: `a=fingerprint` (RFC 8122 §5) and `a=setup` (RFC 4145 §4, with the offer/answer rules of
 * RFC 5763 §5 and RFC 8842 §5).
 *
 * @see https://www.rfc-editor.org/rfc/rfc5763#section-5
 * @see https://www.rfc-editor.org/rfc/rfc8122#section-5
 */
import { SdpParseError } from "../errors.js";

/** `a=fingerprint:<hash-func> <fingerprint>`, e.g. `sha-256 AB:CD:...`. */
export interface Fingerprint {
  /** Hash function name as written (RFC 8122 §5: "sha-256" etc., compared case-insensitively). */
  readonly algorithm: string;
  /** Upper-case hex pairs separated by colons (RFC 8122 §5). */
  readonly value: string;
}

/**
 * Parses the value of an `a=fingerprint:` line.
 *
 * @throws {SdpParseError} when the hash function or the colon-separated hex value is missing.
 */
export function parseFingerprint(value: string, line = 0): Fingerprint {
  const match = /^(\S+) +([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*)\s*$/.exec(value);
  if (match === null) {
    throw new SdpParseError("fingerprint must be <hash-func> <XX:XX:...>", line, `a=fingerprint:${value}`);
  }
  return { algorithm: match[1] ?? "", value: match[2] ?? "" };
}

/** Formats a {@link Fingerprint} as the value of an `a=fingerprint:` line. */
export function formatFingerprint(f: Fingerprint): string {
  return `${f.algorithm} ${f.value}`;
}

/** The `a=setup` roles of RFC 4145 §4: who opens the connection (here: who sends the DTLS ClientHello). */
export type SetupRole = "active" | "passive" | "actpass" | "holdconn";

const SETUP_ROLES: readonly SetupRole[] = ["active", "passive", "actpass", "holdconn"];

/**
 * Parses the value of an `a=setup:` line.
 *
 * @throws {SdpParseError} for a value other than active, passive, actpass or holdconn.
 */
export function parseSetup(value: string, line = 0): SetupRole {
  const role = SETUP_ROLES.find((r) => r === value.trim());
  if (role === undefined) {
    throw new SdpParseError(
      `setup must be active, passive, actpass or holdconn, got "${value}"`,
      line,
      `a=setup:${value}`,
    );
  }
  return role;
}

/**
 * The `a=setup` of an answer (RFC 5763 §5: "the answerer MUST use either a setup attribute value of setup:active or
 * setup:passive ... The answerer SHOULD use setup:active"; RFC 4145 §4.1 for the other offers).
 *
 * - offer `actpass` → `preferred` (default `active`);
 * - offer `active` → `passive`; offer `passive` → `active`; offer `holdconn` → `holdconn`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4145#section-4.1
 */
export function answerSetup(offered: SetupRole | undefined, preferred: "active" | "passive" = "active"): SetupRole {
  switch (offered) {
    case "active": {
      return "passive";
    }
    case "passive": {
      return "active";
    }
    case "holdconn": {
      return "holdconn";
    }
    default: {
      // actpass, or absent: RFC 4145 §4.1 says a missing setup attribute means active, but WebRTC peers always
      // send it; answering with our preference is what browsers do.
      return preferred;
    }
  }
}

/**
 * `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15) and the codec-specific parameter rules the
 * offer/answer code needs:
 *
 * - AMR / AMR-WB (RFC 4867 §8.1, §8.3.1): packing and mode parameters that the answer must repeat unchanged;
 * - telephone-event (RFC 4733 §2.4.1 / §7.1.1): the event list;
 * - Opus (RFC 7587 §6.1, §7): receiver-side declarations, so the answer states its own;
 * - H.264 (RFC 6184 §8.1, §8.2.2): `profile-level-id`, `packetization-mode`, `level-asymmetry-allowed`;
 * - VP8 (RFC 7741 §6.1): `max-fr`, `max-fs`, purely declarative.
 *
 * The raw parameter text is kept as written (spaces after `;` included, as VoLTE handsets send them) so that an
 * answer can echo it byte for byte.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-6.15
 */
import { SdpParseError } from "../errors.js";

/** A parsed `a=fmtp:` line. `format` is usually a payload type, but any `<fmt>` token of the `m=` line is allowed. */
export interface Fmtp {
  readonly format: string;
  /** The parameter text exactly as written. */
  readonly parameters: string;
}

/**
 * Parses the value of an `a=fmtp:` line.
 *
 * @throws {SdpParseError} when there is no format token.
 */
export function parseFmtp(value: string, line = 0): Fmtp {
  const match = /^(\S+)(?: (.*))?$/s.exec(value);
  if (match === null) {
    throw new SdpParseError("fmtp must be <format> <parameters>", line, `a=fmtp:${value}`);
  }
  return { format: match[1] ?? "", parameters: match[2] ?? "" };
}

/** Formats an {@link Fmtp} as the value of an `a=fmtp:` line. */
export function formatFmtp(f: Fmtp): string {
  return `${f.format} ${f.parameters}`;
}

/**
 * Splits `key=value;key=value` parameter text into a map. Keys are lower-cased (MIME parameter names are
 * case-insensitive, RFC 4855 §3); whitespace around `;` and `=` is ignored. A token without `=` (the event list of
 * telephone-event `0-15`, the redundancy list of RED `111/111`) is stored under the empty key.
 */
export function parseFmtpParameters(parameters: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const token of parameters.split(";")) {
    const trimmed = token.trim();
    if (trimmed === "") {
      continue;
    }
    const eq = trimmed.indexOf("=");
    if (eq === -1) {
      map.set("", trimmed);
    } else {
      map.set(trimmed.slice(0, eq).trim().toLowerCase(), trimmed.slice(eq + 1).trim());
    }
  }
  return map;
}

/** Formats a parameter map as `key=value;key=value` (the WebRTC style, no spaces); the empty key is emitted bare. */
export function formatFmtpParameters(parameters: ReadonlyMap<string, string>): string {
  return [...parameters.entries()].map(([k, v]) => (k === "" ? v : `${k}=${v}`)).join(";");
}

// ---------------------------------------------------------------------------------------------------------------
// AMR and AMR-WB, RFC 4867
// ---------------------------------------------------------------------------------------------------------------

/**
 * The AMR / AMR-WB media type parameters of RFC 4867 §8.1 (§8.2 for AMR-WB, same names).
 *
 * @see https://www.rfc-editor.org/rfc/rfc4867#section-8.1
 */
export interface AmrParameters {
  /** `octet-align=1`, or implied by `crc`, `robust-sorting` or `interleaving` (RFC 4867 §8.1). */
  readonly octetAlign: boolean;
  /** `mode-set`: the modes the receiver accepts; `undefined` = all modes. */
  readonly modeSet: readonly number[] | undefined;
  readonly modeChangePeriod: number | undefined;
  readonly modeChangeCapability: number | undefined;
  readonly modeChangeNeighbor: boolean;
  readonly maxRed: number | undefined;
  readonly crc: boolean;
  readonly robustSorting: boolean;
  readonly interleaving: number | undefined;
  readonly channels: number | undefined;
}

/**
 * The parameters an AMR answer must repeat unchanged or drop the payload type (RFC 4867 §8.3.1: "octet-align",
 * "crc", "robust-sorting" and "interleaving" ... "the answer MUST use the same value"; "mode-set" ... "the answerer
 * MUST either accept it unchanged or reject the payload type"; the mode-change parameters likewise bind the
 * answerer's encoder).
 *
 * @see https://www.rfc-editor.org/rfc/rfc4867#section-8.3.1
 */
export const AMR_INVARIANT_PARAMETERS: readonly string[] = [
  "octet-align",
  "mode-set",
  "mode-change-period",
  "mode-change-capability",
  "mode-change-neighbor",
  "crc",
  "robust-sorting",
  "interleaving",
];

/** Reads AMR parameters from a parameter map ({@link parseFmtpParameters}); absent parameters take their defaults. */
export function parseAmrParameters(parameters: ReadonlyMap<string, string>): AmrParameters {
  const int = (key: string): number | undefined => {
    const v = parameters.get(key);
    return v === undefined || !/^\d+$/.test(v) ? undefined : Number(v);
  };
  const crc = int("crc") === 1;
  const robustSorting = int("robust-sorting") === 1;
  const interleaving = int("interleaving");
  const modeSet = parameters.get("mode-set");
  return {
    // RFC 4867 §8.1: crc, robust-sorting and interleaving are only defined for octet-aligned operation.
    octetAlign: int("octet-align") === 1 || crc || robustSorting || interleaving !== undefined,
    modeSet:
      modeSet === undefined
        ? undefined
        : modeSet
            .split(",")
            .map((m) => Number(m.trim()))
            .filter((m) => Number.isInteger(m)),
    modeChangePeriod: int("mode-change-period"),
    modeChangeCapability: int("mode-change-capability"),
    modeChangeNeighbor: int("mode-change-neighbor") === 1,
    maxRed: int("max-red"),
    crc,
    robustSorting,
    interleaving,
    channels: int("channels"),
  };
}

/**
 * Whether we can accept an offered AMR payload type with a local capability's parameters (RFC 4867 §8.3.1).
 *
 * - The packing must be identical: bandwidth-efficient versus octet-aligned (a missing `octet-align` means BE).
 * - `crc`, `robust-sorting` and `interleaving` must be identical (Korus supports none of them unless the capability
 *   says so, and the answer cannot change them).
 * - `mode-set`: if the capability restricts the modes, the offer must restrict them to a subset, since the answer
 *   must repeat the offered mode-set unchanged; an unrestricted capability accepts any offered mode-set.
 */
export function amrCompatible(offered: ReadonlyMap<string, string>, local: ReadonlyMap<string, string>): boolean {
  const o = parseAmrParameters(offered);
  const l = parseAmrParameters(local);
  if (o.octetAlign !== l.octetAlign || o.crc !== l.crc || o.robustSorting !== l.robustSorting) {
    return false;
  }
  if (o.interleaving !== l.interleaving || (o.channels ?? 1) !== (l.channels ?? 1)) {
    return false;
  }
  const supported = l.modeSet;
  if (supported === undefined) {
    return true;
  }
  return o.modeSet?.every((m) => supported.includes(m)) ?? false;
}

// ---------------------------------------------------------------------------------------------------------------
// telephone-event, RFC 4733
// ---------------------------------------------------------------------------------------------------------------

/**
 * Parses a telephone-event list such as `0-15,66,70` (RFC 4733 §2.4.1). Without an fmtp the default is 0–15
 * (RFC 4733 §2.4.1: "If no 'events' parameter is present ... events 0-15 are supported").
 *
 * @see https://www.rfc-editor.org/rfc/rfc4733#section-2.4.1
 */
export function parseEventList(list: string | undefined): number[] {
  if (list === undefined || list.trim() === "") {
    return Array.from({ length: 16 }, (_, i) => i);
  }
  const events = new Set<number>();
  // Grammar (RFC 4733 §7.1.1): a comma-separated list of events or "first-last" ranges; values beyond 255 and
  // malformed parts are ignored rather than failing the whole offer, since the list only narrows what we send.
  for (const part of list.split(",")) {
    const [from, to] = part.trim().split("-");
    const a = Number(from);
    const b = to === undefined ? a : Number(to);
    if (Number.isInteger(a) && Number.isInteger(b) && a <= b && b <= 255) {
      for (let e = a; e <= b; e++) {
        events.add(e);
      }
    }
  }
  return [...events].sort((x, y) => x - y);
}

/** Formats a sorted event list as ranges, e.g. `[0..15, 66]` → `0-15,66`. */
export function formatEventList(events: readonly number[]): string {
  const sorted = [...new Set(events)].sort((x, y) => x - y);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] ?? 0;
    let end = start;
    while (sorted[i + 1] === end + 1) {
      end++;
      i++;
    }
    parts.push(start === end ? `${start}` : `${start}-${end}`);
    i++;
  }
  return parts.join(",");
}

// ---------------------------------------------------------------------------------------------------------------
// Opus, RFC 7587
// ---------------------------------------------------------------------------------------------------------------

/**
 * The Opus parameters of RFC 7587 §6.1. All of them describe what the *sender of the SDP* prefers to receive, so
 * RFC 7587 §7 lets each side state its own: an answer never has to echo the offer's values.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7587#section-6.1
 */
export interface OpusParameters {
  readonly maxplaybackrate: number | undefined;
  readonly spropMaxcapturerate: number | undefined;
  readonly maxptime: number | undefined;
  readonly ptime: number | undefined;
  readonly minptime: number | undefined;
  readonly maxaveragebitrate: number | undefined;
  readonly stereo: boolean;
  readonly spropStereo: boolean;
  readonly cbr: boolean;
  readonly useinbandfec: boolean;
  readonly usedtx: boolean;
}

/** Reads Opus parameters from a parameter map; flags default to 0 (RFC 7587 §6.1). */
export function parseOpusParameters(parameters: ReadonlyMap<string, string>): OpusParameters {
  const int = (key: string): number | undefined => {
    const v = parameters.get(key);
    return v === undefined || !/^\d+$/.test(v) ? undefined : Number(v);
  };
  return {
    maxplaybackrate: int("maxplaybackrate"),
    spropMaxcapturerate: int("sprop-maxcapturerate"),
    maxptime: int("maxptime"),
    ptime: int("ptime"),
    minptime: int("minptime"),
    maxaveragebitrate: int("maxaveragebitrate"),
    stereo: int("stereo") === 1,
    spropStereo: int("sprop-stereo") === 1,
    cbr: int("cbr") === 1,
    useinbandfec: int("useinbandfec") === 1,
    usedtx: int("usedtx") === 1,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// H.264, RFC 6184
// ---------------------------------------------------------------------------------------------------------------

/** H.264 profiles that matter for negotiation (ITU-T H.264 Annex A, mapped as in RFC 6184 §8.1 Table 5). */
export type H264Profile =
  | "constrained-baseline"
  | "baseline"
  | "main"
  | "extended"
  | "high"
  | "constrained-high"
  | "high-10"
  | "high-422"
  | "high-444"
  | "unknown";

/** The three bytes of `profile-level-id` (RFC 6184 §8.1): profile_idc, profile-iop (constraint flags), level_idc. */
export interface ProfileLevelId {
  readonly profileIdc: number;
  readonly profileIop: number;
  readonly levelIdc: number;
  readonly profile: H264Profile;
}

/**
 * Parses a hex `profile-level-id` such as `42e01f`; `undefined` for anything that is not six hex digits. Without
 * the parameter RFC 6184 §8.1 implies `42000A` (Baseline, level 1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6184#section-8.1
 */
export function parseProfileLevelId(hex = "42000a"): ProfileLevelId | undefined {
  if (!/^[0-9a-fA-F]{6}$/.test(hex)) {
    return undefined;
  }
  // Byte 1 is profile_idc, byte 2 the constraint flags (profile-iop), byte 3 level_idc (level × 10, e.g. 0x1f = 3.1).
  const value = parseInt(hex, 16);
  const profileIdc = value >> 16;
  const profileIop = (value >> 8) & 0xff;
  const levelIdc = value & 0xff;
  return { profileIdc, profileIop, levelIdc, profile: h264Profile(profileIdc, profileIop) };
}

// constraint_set flags in profile-iop: bit 7 = constraint_set0_flag ... bit 2 = constraint_set5_flag.
function h264Profile(idc: number, iop: number): H264Profile {
  const cs1 = (iop & 0x40) !== 0;
  const cs4 = (iop & 0x08) !== 0;
  const cs5 = (iop & 0x04) !== 0;
  switch (idc) {
    case 0x42: {
      // Baseline with constraint_set1 set is Constrained Baseline (H.264 A.2.1.1).
      return cs1 ? "constrained-baseline" : "baseline";
    }
    case 0x4d: {
      // Main; browsers never use its constraint flags to signal a different profile.
      return "main";
    }
    case 0x58: {
      return "extended";
    }
    case 0x64: {
      // High with constraint_set4 and set5 is Constrained High (H.264 A.2.4.2).
      return cs4 && cs5 ? "constrained-high" : "high";
    }
    case 0x6e: {
      return "high-10";
    }
    case 0x7a: {
      return "high-422";
    }
    case 0xf4: {
      return "high-444";
    }
    default: {
      return "unknown";
    }
  }
}

/**
 * Whether an offered H.264 payload type can be accepted with a local capability (RFC 6184 §8.2.2): the
 * `packetization-mode` must be equal (absent = 0) and the profiles must be equal. Levels may differ: the answer
 * states a level (see {@link h264AnswerParameters}).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6184#section-8.2.2
 */
export function h264Compatible(offered: ReadonlyMap<string, string>, local: ReadonlyMap<string, string>): boolean {
  if ((offered.get("packetization-mode") ?? "0") !== (local.get("packetization-mode") ?? "0")) {
    return false;
  }
  const o = parseProfileLevelId(offered.get("profile-level-id"));
  const l = parseProfileLevelId(local.get("profile-level-id"));
  return o !== undefined && o.profile === l?.profile;
}

/**
 * The H.264 fmtp of an answer (RFC 6184 §8.2.2): same `packetization-mode` and profile as offered; the level is
 * ours when both sides allow level asymmetry (`level-asymmetry-allowed=1`), otherwise the lower of the two, since
 * "the answerer MUST NOT ... a higher level than offered" for symmetric use.
 */
export function h264AnswerParameters(
  offered: ReadonlyMap<string, string>,
  local: ReadonlyMap<string, string>,
): Map<string, string> {
  const o = parseProfileLevelId(offered.get("profile-level-id"));
  const l = parseProfileLevelId(local.get("profile-level-id"));
  const asymmetry = offered.get("level-asymmetry-allowed") === "1" && local.get("level-asymmetry-allowed") === "1";
  const answer = new Map<string, string>();
  if (asymmetry) {
    answer.set("level-asymmetry-allowed", "1");
  }
  answer.set("packetization-mode", offered.get("packetization-mode") ?? "0");
  if (o !== undefined && l !== undefined) {
    const level = asymmetry ? l.levelIdc : Math.min(o.levelIdc, l.levelIdc);
    const hex = (n: number): string => n.toString(16).padStart(2, "0");
    answer.set("profile-level-id", `${hex(o.profileIdc)}${hex(o.profileIop)}${hex(level)}`);
  }
  return answer;
}

/**
 * What a sink can send to its peer, for the transcoding layer (issue 4 §5): the audio formats the peer negotiated
 * (preferred first), the telephone-event clocks it accepts, the packetization time it asked for, and whether RTP
 * must keep flowing during silence (SIP peers). Endpoints build one {@link SinkAudioCaps} per negotiation and hand
 * the same object out until the next one, so the per-packet check is a short loop over a few entries.
 */
import { parseFmtpParameters } from "../../sdp/index.js";
import type { OpusSampleRate } from "../codecs/index.js";

/** One audio format a sink's peer negotiated. */
export interface SinkAudioFormat {
  /** Lower-case encoding name, as in MediaPacket.codec ("pcmu", "opus", "amr-wb"…). */
  readonly codec: string;
  /** RTP clock rate of the format (48000 for Opus, 8000 for G.722). */
  readonly clockRate: number;
  readonly channels: number;
  /** The fmtp the peer wants to receive (for AMR: octet-align, mode-set), if any. */
  readonly parameters?: string;
}

export interface SinkAudioCaps {
  /** Primary audio formats, in the peer's order of preference (no telephone-event, CN or RED). */
  readonly formats: readonly SinkAudioFormat[];
  /** Clock rates of the telephone-event formats the peer negotiated. */
  readonly telephoneEvents: readonly number[];
  /** a=ptime of the peer (ms), when it asked for one. */
  readonly ptimeMs: number | undefined;
  /** Keep sending (silence) when the source goes quiet: carriers drop calls whose RTP stops. */
  readonly continuous: boolean;
}

/** Codecs the transcoder can decode and encode (lower-case encoding names). */
export const TRANSCODABLE: ReadonlySet<string> = new Set(["pcmu", "pcma", "g722", "opus", "amr", "amr-wb"]);

/** True when `caps` carries `codec/clockRate` as is: the packet passes untouched. */
export function sinkAccepts(caps: SinkAudioCaps, codec: string, clockRate: number): boolean {
  for (const f of caps.formats) {
    if (f.codec === codec && f.clockRate === clockRate) {
      return true;
    }
  }
  return false;
}

/** The encoder settings that follow from a format's fmtp (only AMR's matter to the payload). */
export interface FormatParams {
  readonly octetAligned: boolean;
  readonly modeSet: readonly number[] | undefined;
}

export function formatParams(codec: string, fmtp: string | undefined): FormatParams {
  if (codec !== "amr" && codec !== "amr-wb") {
    return { octetAligned: false, modeSet: undefined };
  }
  const p = parseFmtpParameters(fmtp ?? "");
  const ms = p.get("mode-set");
  const modes = ms
    ?.split(",")
    .map((m) => Number(m.trim()))
    .filter((m) => Number.isInteger(m) && m >= 0 && m <= (codec === "amr" ? 7 : 8));
  return {
    octetAligned: p.get("octet-align") === "1",
    modeSet: modes !== undefined && modes.length > 0 ? modes : undefined,
  };
}

/**
 * The key under which sinks share one encoder: codec, clock, channels, the fmtp that changes the payload, ptime.
 */
export function targetKey(f: SinkAudioFormat, ptimeMs: number): string {
  const p = formatParams(f.codec, f.parameters);
  const amr =
    f.codec === "amr" || f.codec === "amr-wb" ? `/oa=${p.octetAligned ? 1 : 0}/ms=${p.modeSet?.join(",") ?? "*"}` : "";
  return `${f.codec}/${f.clockRate}/${f.channels}/${ptimeMs}${amr}`;
}

/** Natural PCM rate of a codec's decoder/encoder (Opus: the rate it is best fed at for that source). */
export function nativeRate(codec: string): number {
  switch (codec) {
    case "pcmu":
    case "pcma":
    case "amr":
      return 8000;
    case "g722":
    case "amr-wb":
      return 16000;
    default:
      return 48000;
  }
}

/** The Opus PCM rate that carries `rate` without loss (8, 16 or 48 kHz). */
export function opusRate(rate: number): OpusSampleRate {
  return rate <= 8000 ? 8000 : rate <= 16000 ? 16000 : 48000;
}

/** The ptime a chain packetizes at: the sink's a=ptime when the codec can do it, else 20 ms. */
export function chainPtime(codec: string, ptime: number | undefined): number {
  if (ptime === undefined) {
    return 20;
  }
  const allowed =
    codec === "opus" ? [10, 20, 40, 60] : codec === "amr" || codec === "amr-wb" ? [20, 40, 60] : [10, 20, 30, 40, 60];
  return allowed.includes(ptime) ? ptime : 20;
}

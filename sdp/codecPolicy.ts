/**
 * A trunk's codec policy on the SDP model: keep only the payload formats a trunk allows (its `codecs` list, matched on
 * the encoding name, case-insensitively) in every audio section, and read the codec a negotiation settled on (for
 * CDRs). The SIP gateway applies it to our offers and to the peer's offers before the media worker sees them.
 */
import { SdpNegotiationError } from "./errors.js";
import type { MediaDescription } from "./MediaDescription.js";
import type { SessionDescription } from "./SessionDescription.js";

/** Encoding names that carry no media of their own (RFC 4733 events, RFC 3389 comfort noise). */
const AUXILIARY = new Set(["telephone-event", "cn"]);

/**
 * Thrown when no allowed codec remains in an audio section; the SIP layer answers 488 Not Acceptable Here, as for
 * any `no-common-codec` negotiation failure.
 */
export class NoAllowedCodecError extends SdpNegotiationError {
  constructor(message: string) {
    super("no-common-codec", message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "NoAllowedCodecError";
  }
}

/** The encoding name of a format: its rtpmap, else the RFC 3551 static assignment, else "". */
function encodingName(m: MediaDescription, format: string): string {
  return /^\d+$/.test(format) ? (m.rtpmap(Number(format))?.encodingName ?? "") : "";
}

/** A live (port ≠ 0) audio section. */
function liveAudio(m: MediaDescription): boolean {
  return m.kind === "audio" && m.port !== 0;
}

/**
 * Removes, in place, the payload formats `allowed` does not name (case-insensitive) from every live audio section,
 * with their rtpmap, fmtp and rtcp-fb lines; other lines and sections stay byte-identical. An empty `allowed` list
 * allows everything.
 * @throws {NoAllowedCodecError} when an audio section would keep no codec but telephone-event/CN.
 */
export function restrictCodecs(sdp: SessionDescription, allowed: readonly string[]): void {
  if (allowed.length === 0) {
    return;
  }
  const ok = new Set(allowed.map((c) => c.toLowerCase()));
  for (const m of sdp.media) {
    if (!liveAudio(m)) {
      continue;
    }
    const name = (f: string): string => encodingName(m, f).toLowerCase();
    const keep = m.formats.filter((f) => ok.has(name(f)));
    if (!keep.some((f) => !AUXILIARY.has(name(f)))) {
      throw new NoAllowedCodecError(`no codec of [${allowed.join(", ")}] in m=${m.mediaLine.kind} ${m.port}`);
    }
    const kept = new Set(keep);
    m.retainFormats((f) => kept.has(f));
  }
}

/** The first real audio codec (not telephone-event or CN) of the first live audio section, or null. */
export function firstAudioCodec(sdp: SessionDescription | undefined): string | null {
  const audio = sdp?.media.find(liveAudio);
  if (audio === undefined) {
    return null;
  }
  for (const f of audio.formats) {
    const name = encodingName(audio, f);
    if (name !== "" && !AUXILIARY.has(name.toLowerCase())) {
      return name;
    }
  }
  return null;
}

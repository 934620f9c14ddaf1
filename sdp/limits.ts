/**
 * Size limits of a session description, checked before anything parses it (issue 9, defect 7: a 957 KB offer with
 * 13,000 candidates held a media worker for 5–7 s). One linear scan of the text, no allocation per line, so
 * refusing a hostile description costs microseconds.
 *
 * The defaults leave ample room for real offers: a Chrome offer with audio, video (simulcast, 14 codecs) and a
 * data channel is about 6 KB and 180 lines, with a handful of candidates per m-line.
 */
import { SdpParseError } from "./errors.js";

/** The limits {@link checkSdpBounds} applies; every refusal names the limit it hit. */
export const SDP_LIMITS = {
  /** Characters of the whole description (64 KiB). */
  maxLength: 64 * 1024,
  /** Lines of the whole description. */
  maxLines: 2048,
  /** `m=` sections. */
  maxMediaSections: 32,
  /** `a=candidate` lines in one `m=` section (or at session level). */
  maxCandidatesPerMedia: 64,
  /** `a=candidate` lines in the whole description (werift pairs candidates in time that grows faster than linear). */
  maxCandidates: 128,
  /** Remote candidates one WebRtcEndpoint takes through addIceCandidate (trickle ICE, RFC 8838). */
  maxTrickledCandidates: 128,
} as const;

/**
 * Refuses a description that is too large to parse cheaply: longer than {@link SDP_LIMITS.maxLength}, more lines
 * than {@link SDP_LIMITS.maxLines}, more `m=` sections than {@link SDP_LIMITS.maxMediaSections} or more
 * `a=candidate` lines in one section than {@link SDP_LIMITS.maxCandidatesPerMedia} or in all than
 * {@link SDP_LIMITS.maxCandidates}.
 *
 * @throws {SdpParseError} naming the limit (line number of the first line beyond it, when there is one).
 */
export function checkSdpBounds(text: string): void {
  if (text.length > SDP_LIMITS.maxLength) {
    throw new SdpParseError(
      `session description of ${text.length} characters exceeds the limit of ${SDP_LIMITS.maxLength}`,
      0,
    );
  }
  let line = 0;
  let media = 0;
  let candidates = 0;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    line++;
    if (line > SDP_LIMITS.maxLines) {
      throw new SdpParseError(`session description has more than ${SDP_LIMITS.maxLines} lines`, line);
    }
    const c0 = text.charCodeAt(pos);
    if (c0 === 109 /* m */ && text.charCodeAt(pos + 1) === 61 /* = */) {
      media++;
      candidates = 0;
      if (media > SDP_LIMITS.maxMediaSections) {
        throw new SdpParseError(`session description has more than ${SDP_LIMITS.maxMediaSections} m= sections`, line);
      }
    } else if (c0 === 97 /* a */ && text.startsWith("a=candidate:", pos)) {
      candidates++;
      total++;
      if (candidates > SDP_LIMITS.maxCandidatesPerMedia) {
        throw new SdpParseError(`m= section has more than ${SDP_LIMITS.maxCandidatesPerMedia} ICE candidates`, line);
      }
      if (total > SDP_LIMITS.maxCandidates) {
        throw new SdpParseError(`session description has more than ${SDP_LIMITS.maxCandidates} ICE candidates`, line);
      }
    }
    const lf = text.indexOf("\n", pos);
    if (lf === -1) {
      break;
    }
    pos = lf + 1;
  }
}

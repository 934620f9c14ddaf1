/**
 * The codecs an endpoint negotiated with its peer, for the console's live calls: from the element's two session
 * descriptions (`getLocalSessionDescriptor`, `getRemoteSessionDescriptor`), the first real codec of each kind in the
 * answer (RFC 3264 §6.1: the answerer's preference, which both sides use). The answer is the description whose codecs
 * the other one all offers (an answer lists a subset of the offer); with equal sets, the local one (Korus answers
 * in the common processOffer flow).
 */
import { SessionDescription, type MediaDescription } from "../../sdp/index.js";

/** Formats that ride along a codec without being one: DTMF, comfort noise, retransmission, redundancy, FEC. */
const AUXILIARY = new Set(["telephone-event", "cn", "rtx", "red", "ulpfec", "flexfec-03"]);

export interface NegotiatedCodecs {
  audio: string | null;
  video: string | null;
}

function parse(sdp: string | undefined): SessionDescription | undefined {
  if (sdp === undefined || sdp === "") {
    return undefined;
  }
  try {
    return SessionDescription.parse(sdp);
  } catch {
    return undefined;
  }
}

const live = (sdp: SessionDescription, kind: "audio" | "video"): MediaDescription | undefined =>
  sdp.media.find((m) => m.kind === kind && !m.isRejected);

const names = (m: MediaDescription): string[] => m.codecs.map((c) => c.name.toLowerCase());
const within = (xs: readonly string[], ys: readonly string[]): boolean => xs.every((x) => ys.includes(x));

function firstCodec(
  local: SessionDescription | undefined,
  remote: SessionDescription | undefined,
  kind: "audio" | "video",
): string | null {
  const mine = local === undefined ? undefined : live(local, kind);
  const theirs = remote === undefined ? undefined : live(remote, kind);
  if (mine === undefined || theirs === undefined) {
    // Not negotiated yet (an offer alone), or rejected on one side: no codec in use.
    return null;
  }
  // The answer lists a subset of the offer's formats (auxiliaries included): the remote one only when the local
  // one is not within it.
  const answer = !within(names(mine), names(theirs)) && within(names(theirs), names(mine)) ? theirs : mine;
  const name = answer.codecs.map((c) => c.name).find((n) => !AUXILIARY.has(n.toLowerCase()));
  // Spelled as the CDRs spell codecs (src/cdr/finalStats.ts): `opus`, else upper case (`PCMA`, `VP8`).
  return name === undefined ? null : name.toLowerCase() === "opus" ? "opus" : name.toUpperCase();
}

/** The negotiated audio and video codec of an endpoint, given its local and remote SDP (either may be missing). */
export function negotiatedCodecs(localSdp: string | undefined, remoteSdp: string | undefined): NegotiatedCodecs {
  const local = parse(localSdp);
  const remote = parse(remoteSdp);
  return { audio: firstCodec(local, remote, "audio"), video: firstCodec(local, remote, "video") };
}

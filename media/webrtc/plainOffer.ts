/**
 * A WebRtcEndpoint given an offer with no WebRTC media in it (Kurento's own client test suite sends a plain
 * `m=video … RTP/AVP` offer). KMS answers such an offer: its SDP agent gives every m-line it cannot serve to the
 * reject handler (kmssdprejectmediahandler.c), which copies the media, the offered protocol and the formats with
 * port 0 (RFC 3264 §6). Korus does the same here, without handing the offer to the WebRTC stack, which would refuse
 * it with its own internal message.
 */
import { SessionDescription } from "../../sdp/index.js";

/**
 * Whether the transport protocol of an m-line is one a WebRtcEndpoint serves: DTLS-SRTP (`UDP/TLS/RTP/SAVPF`,
 * RFC 5764) or DTLS-SCTP data (`UDP/DTLS/SCTP`, RFC 8841), over UDP or TCP.
 */
export function isWebRtcProto(proto: string): boolean {
  return proto.includes("TLS") || proto.includes("DTLS");
}

/** True when some live (port ≠ 0) m-line of `offer` uses a WebRTC transport. */
export function hasWebRtcMedia(offer: SessionDescription): boolean {
  return offer.media.some((m) => m.port !== 0 && isWebRtcProto(m.proto));
}

/**
 * KMS's answer to an offer with no WebRTC m-line: the session lines, then each offered m-line rejected (port 0, the
 * offered protocol and formats, its mid if it had one). `undefined` when the offer has WebRTC media, which the
 * WebRTC stack answers.
 */
export function rejectingAnswer(offer: SessionDescription, sessionId: string): string | undefined {
  if (hasWebRtcMedia(offer)) {
    return undefined;
  }
  const lines = ["v=0", `o=- ${sessionId} 0 IN IP4 0.0.0.0`, "s=Kurento Media Server", "c=IN IP4 0.0.0.0", "t=0 0"];
  for (const m of offer.media) {
    lines.push(`m=${m.mediaLine.kind} 0 ${m.proto} ${m.formats.length > 0 ? m.formats.join(" ") : "0"}`);
    if (m.mid !== undefined) {
      lines.push(`a=mid:${m.mid}`);
    }
  }
  return `${lines.join("\r\n")}\r\n`;
}

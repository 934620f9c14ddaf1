/**
 * The configuration and SDP checks of a WebRtcEndpoint's ICE/DTLS transport: the remote description read by
 * Korus's parser before werift sees it, werift's errors turned into Korus's, and the network properties (STUN, TURN
 * in KMS's `user:pass@host:port` form) with their argument checks.
 */
import type { JsonObject } from "../channel/protocol.js";
import { MediaOperationError } from "../errors.js";
import { SdpParseError, SessionDescription } from "../../sdp/index.js";
import type { Logger } from "../logger.js";
import { hasWebRtcMedia } from "../webrtc/plainOffer.js";
import { validateSdp } from "../webrtc/sdpText.js";
import type { TurnServer } from "../webrtc/WebRtcTransport.js";
import type { SdpOperationError } from "./SdpEndpoint.js";

/**
 * A remote offer or answer, read by Korus's own parser before werift sees it: the size limits of sdp/limits.ts
 * (length, lines, m= sections, candidates) in one cheap scan, then the SDP grammar and port ranges. werift parses
 * only what passed, so a hostile description costs the worker microseconds and never reaches werift's parser.
 * @throws MediaOperationError SDP_PARSE_ERROR with Korus's message naming the line or the limit.
 */
export function remoteSdp(v: unknown, what: "offer" | "answer"): string {
  if (typeof v === "string" && v.trim() !== "") {
    let parsed: SessionDescription;
    try {
      parsed = SessionDescription.parse(v);
    } catch (err) {
      if (err instanceof SdpParseError) {
        throw new MediaOperationError("SDP_PARSE_ERROR", `invalid SDP ${what}: ${err.message}`);
      }
      throw err;
    }
    // ICE is mandatory in WebRTC (RFC 8829 §5.8); werift dereferences the credentials without checking them. An offer
    // with no WebRTC m-line never reaches werift: it is answered with every m-line rejected (webrtc/plainOffer.ts).
    const index = parsed.media.findIndex((m) => m.port !== 0 && m.ice === undefined);
    if (index !== -1 && (what === "answer" || hasWebRtcMedia(parsed))) {
      throw new MediaOperationError(
        "SDP_PARSE_ERROR",
        `invalid SDP ${what}: m= section ${index} has no a=ice-ufrag/a=ice-pwd (ICE is mandatory in WebRTC)`,
      );
    }
  }
  return validateSdp(v, what === "offer" ? "processOffer" : "processAnswer");
}

/**
 * An error of werift (sdpOperationError keeps our named ones) never reaches the client as it is (issue 9, item 10: its internal text
 * leaked as 40205). Its text is logged at debug; the client gets Korus's message: SDP_PARSE_ERROR when werift
 * tripped over the description (a TypeError/RangeError from its parser), else the operation's error.
 */
export function weriftError(err: unknown, type: SdpOperationError, logger: Logger): Error {
  logger.debug("werift refused the session description", { operation: type, error: String(err) });
  const what = type === "SDP_END_POINT_PROCESS_ANSWER_ERROR" ? "answer" : "offer";
  if (type !== "SDP_END_POINT_GENERATE_OFFER_ERROR" && (err instanceof TypeError || err instanceof RangeError)) {
    return new MediaOperationError("SDP_PARSE_ERROR", `invalid SDP ${what}: the WebRTC stack cannot use it`);
  }
  return new MediaOperationError(
    type,
    type === "SDP_END_POINT_GENERATE_OFFER_ERROR"
      ? "SDP negotiation failed: the WebRTC stack could not create an offer"
      : `SDP negotiation failed: the WebRTC stack refused the ${what}`,
  );
}

export function strArg(a: JsonObject, name: string): string {
  const v = a[name];
  if (typeof v !== "string") {
    throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `${name} must be a string`);
  }
  return v;
}

export function intArg(a: JsonObject, name: string): number {
  const v = a[name];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `${name} must be a port number`);
  }
  return v;
}

/** "host:port" → [host, port]; "" or garbage → ["", 0]. */
export function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(":");
  if (s === "" || i <= 0) {
    return [s, s === "" ? 0 : 3478];
  }
  const port = Number(s.slice(i + 1));
  return [s.slice(0, i), Number.isInteger(port) ? port : 0];
}

/** The worker's `turn:host:port?transport=…` plus credentials → KMS's `user:pass@host:port?transport=…`. */
export function turnUrlFromSettings(url: string, user: string, pass: string): string {
  if (url === "") {
    return "";
  }
  const bare = url.replace(/^turns?:/, "");
  return `${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${bare}`;
}

/** Parses KMS's `user:pass@ip:port[?transport=udp|tcp|tls]`; undefined when empty or malformed. */
export function parseTurnUrl(url: string): TurnServer | undefined {
  const m = /^([^:@]*):([^@]*)@([^:?]+):(\d+)(?:\?transport=(udp|tcp|tls))?$/.exec(url.trim());
  if (m === null) {
    return undefined;
  }
  const [, user = "", pass = "", host = "", port = "0", transport = "udp"] = m;
  return {
    username: decodeURIComponent(user),
    password: decodeURIComponent(pass),
    host,
    port: Number(port),
    transport: transport as TurnServer["transport"],
  };
}

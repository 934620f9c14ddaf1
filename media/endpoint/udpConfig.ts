/**
 * The configuration of a plain-UDP endpoint (RtpEndpoint, SipEndpoint): the codecs it offers and accepts, its SDES
 * ctor parameter, the addresses it announces and binds, and the codec table of a negotiated stream.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import {
  SessionDescription,
  sends,
  type Capabilities,
  type CodecCapability,
  type Direction,
  type NegotiatedMedia,
} from "../../sdp/index.js";
import type { SinkAudioCaps } from "../transcode/format.js";
import type { ElementContext } from "../core/MediaElement.js";
import { MediaOperationError } from "../errors.js";
import { SrtpConfigError, decodeKeySalt, findSuite, type SrtpSuite } from "../srtp/SrtpSuite.js";
import { isObject } from "./SdpEndpoint.js";
import { AUX_CODECS } from "./stages/InbandDtmfStage.js";

/** Codecs offered and accepted, in preference order (issue 4 §3): audio, then pass-through video. */
export const AUDIO_CAPABILITIES: readonly CodecCapability[] = [
  { name: "opus", clockRate: 48000, channels: 2, parameters: "minptime=10;useinbandfec=1", preferredPayloadType: 111 },
  { name: "PCMU", clockRate: 8000 },
  { name: "PCMA", clockRate: 8000 },
  { name: "G722", clockRate: 8000 },
  { name: "AMR-WB", clockRate: 16000, parameters: "octet-align=1", preferredPayloadType: 97 },
  { name: "AMR-WB", clockRate: 16000, preferredPayloadType: 98 },
  { name: "AMR", clockRate: 8000, parameters: "octet-align=1", preferredPayloadType: 99 },
  { name: "AMR", clockRate: 8000, preferredPayloadType: 100 },
  { name: "telephone-event", clockRate: 8000, parameters: "0-15", preferredPayloadType: 101 },
  { name: "telephone-event", clockRate: 48000, parameters: "0-15", preferredPayloadType: 110 },
];
export const VIDEO_CAPABILITIES: readonly CodecCapability[] = [
  { name: "VP8", clockRate: 90000, rtcpFeedback: ["nack", "nack pli", "ccm fir"], preferredPayloadType: 96 },
  {
    name: "H264",
    clockRate: 90000,
    parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    rtcpFeedback: ["nack", "nack pli", "ccm fir"],
    preferredPayloadType: 102,
  },
  // Answer-only H.264 variants, so that an offer Korus can forward is not refused for its fmtp (KMS matches H.264 by
  // name): packetization mode 0 (an offer without fmtp means mode 0 and Baseline 42000A, RFC 6184 §8.1, as in
  // Kurento's own client test suite) and plain Baseline, which SIP video phones offer. The answer keeps the offered
  // mode and profile, at the lower level (RFC 6184 §8.2.2).
  ...["packetization-mode=0;profile-level-id=42001f", "packetization-mode=1;profile-level-id=42001f"].map(
    (parameters): CodecCapability => ({
      name: "H264",
      clockRate: 90000,
      parameters,
      rtcpFeedback: ["nack", "nack pli", "ccm fir"],
      answerOnly: true,
    }),
  ),
  {
    name: "H264",
    clockRate: 90000,
    parameters: "packetization-mode=0;profile-level-id=42e01f",
    rtcpFeedback: ["nack", "nack pli", "ccm fir"],
    answerOnly: true,
  },
];

/** What a plain-UDP endpoint offers and accepts. */
export const CAPABILITIES: Capabilities = { audio: AUDIO_CAPABILITIES, video: VIDEO_CAPABILITIES };

/** A codec of a negotiated stream, keyed for the hot path. */
export interface StreamCodec {
  /** Lower-case name, as in MediaPacket.codec. */
  readonly codec: string;
  readonly clockRate: number;
  readonly recvPt: number;
  readonly sendPt: number;
  /** The peer's fmtp for this codec (ours when it sent none). */
  readonly parameters: string | undefined;
  readonly channels: number;
}

/** The audio codec (not telephone-event, CN or RED) we send on a stream: the first negotiated one. */
export function primaryCodec(bySendKey: ReadonlyMap<string, StreamCodec> | undefined): StreamCodec | undefined {
  if (bySendKey !== undefined) {
    for (const c of bySendKey.values()) {
      if (!AUX_CODECS.has(c.codec)) {
        return c;
      }
    }
  }
  return undefined;
}

export function nonNegative(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

export function positive(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
}

/**
 * Kurento's SDES ctor value → (suite, our key+salt). An empty SDES (the default) means plain RTP. `key` is the
 * raw key‖salt as a string (30 or 46 bytes), `keyBase64` its base64; neither → a random key.
 * @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR for an unknown suite or a key of the wrong length.
 */
export function parseSdes(v: unknown): [SrtpSuite | undefined, Buffer | undefined] {
  if (!isObject(v) || v["crypto"] === undefined || v["crypto"] === null) {
    if (isObject(v) && (typeof v["key"] === "string" || typeof v["keyBase64"] === "string")) {
      throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "SDES key given without a crypto suite");
    }
    return [undefined, undefined];
  }
  const name = v["crypto"];
  const suite = typeof name === "string" ? findSuite(name) : undefined;
  if (suite === undefined) {
    throw new MediaOperationError(
      "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
      `unsupported SDES crypto suite ${JSON.stringify(name)}`,
    );
  }
  const want = suite.keyLength + suite.saltLength;
  let key: Buffer;
  if (typeof v["keyBase64"] === "string" && v["keyBase64"] !== "") {
    try {
      key = decodeKeySalt(suite, v["keyBase64"]);
    } catch (err) {
      throw new MediaOperationError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        err instanceof SrtpConfigError ? err.message : String(err),
      );
    }
  } else if (typeof v["key"] === "string" && v["key"] !== "") {
    key = Buffer.from(v["key"], "latin1");
    if (key.length !== want) {
      throw new MediaOperationError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `SDES key for ${suite.kurentoName} must be ${want} bytes, got ${key.length}`,
      );
    }
  } else {
    key = randomBytes(want);
  }
  return [suite, key];
}

/**
 * The address we announce in SDP and the one we bind: the configured external IPv4, else the first configured
 * interface, else the first non-internal interface address of the family (loopback as the last resort). With
 * configured interfaces we bind that address; otherwise the wildcard.
 */
export function localAddresses(ctx: ElementContext, ipv6: boolean): [string, string] {
  const w = ctx.settings.webrtc;
  const configured = w.interfaces.find((a) => a.includes(":") === ipv6);
  const wildcard = ipv6 ? "::" : "0.0.0.0";
  if (configured !== undefined) {
    return [!ipv6 && w.externalIPv4 !== "" ? w.externalIPv4 : configured, configured];
  }
  if (!ipv6 && w.externalIPv4 !== "") {
    return [w.externalIPv4, wildcard];
  }
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) {
      if (!i.internal && i.family === (ipv6 ? "IPv6" : "IPv4") && !i.address.startsWith("fe80")) {
        return [i.address, wildcard];
      }
    }
  }
  return [ipv6 ? "::1" : "127.0.0.1", wildcard];
}

/** @throws MediaOperationError SDP_PARSE_ERROR for a non-string or unparsable SDP. */
export function parseSdpArg(v: unknown, what: string): SessionDescription {
  if (typeof v !== "string" || v.trim() === "") {
    throw new MediaOperationError("SDP_PARSE_ERROR", `${what} must be a non-empty SDP string`);
  }
  try {
    return SessionDescription.parse(v);
  } catch (err) {
    throw new MediaOperationError(
      "SDP_PARSE_ERROR",
      `invalid SDP ${what}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * The codec tables of a negotiated m-line: by the payload type the peer sends on, and by `codec/clockRate` (the
 * first of each) for what we send.
 */
export function codecTables(codecs: NegotiatedMedia["codecs"]): [Map<number, StreamCodec>, Map<string, StreamCodec>] {
  const byRecv = new Map<number, StreamCodec>();
  const bySend = new Map<string, StreamCodec>();
  for (const c of codecs) {
    const sc: StreamCodec = {
      codec: c.name.toLowerCase(),
      clockRate: c.clockRate,
      recvPt: c.payloadType,
      sendPt: c.sendPayloadType,
      parameters: c.remoteParameters ?? c.parameters,
      channels: c.channels ?? 1,
    };
    byRecv.set(sc.recvPt, sc);
    const key = `${sc.codec}/${sc.clockRate}`;
    if (!bySend.has(key)) {
      bySend.set(key, sc);
    }
  }
  return [byRecv, bySend];
}

/** What the peer takes on an audio m-line, for the transcoder (no formats when we do not send on it). */
export function audioCaps(
  bySend: ReadonlyMap<string, StreamCodec>,
  direction: Direction,
  ptimeMs: number | undefined,
): SinkAudioCaps {
  const send = [...bySend.values()];
  return {
    formats: sends(direction)
      ? send
          .filter((c) => !AUX_CODECS.has(c.codec))
          .map((c) => ({
            codec: c.codec,
            clockRate: c.clockRate,
            channels: c.channels,
            ...(c.parameters !== undefined ? { parameters: c.parameters } : {}),
          }))
      : [],
    telephoneEvents: send.filter((c) => c.codec === "telephone-event").map((c) => c.clockRate),
    ptimeMs,
    continuous: true,
  };
}

/**
 * processAnswer reads no SDES: each m-line gets the answer's crypto line for our offered suite (RFC 4568 §7.1.3)
 * as the remote key, and ours as the local one.
 */
export function withAnswerCrypto(
  media: readonly NegotiatedMedia[],
  answer: SessionDescription,
  suite: SrtpSuite | undefined,
  localKey: Buffer | undefined,
): NegotiatedMedia[] {
  return media.map((m) => {
    const crypto = answer.media[m.index]?.crypto.find((c) => c.suite === suite?.name);
    return crypto === undefined || suite === undefined || localKey === undefined
      ? m
      : {
          ...m,
          crypto: {
            remote: crypto,
            local: {
              tag: crypto.tag,
              suite: crypto.suite,
              keyParams: [`inline:${localKey.toString("base64")}`],
              sessionParams: [],
            },
          },
        };
  });
}

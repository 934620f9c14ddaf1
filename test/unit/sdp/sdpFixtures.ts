// Shared helpers for the sdp/ unit tests: fixture loading and a server capability set.
import { readFileSync, readdirSync } from "node:fs";
import type { AnswerOptions, Capabilities, MediaDescription, SessionDescription } from "../../../sdp/index.js";

export const FIXTURE_DIR = new URL("../../fixtures/sdp/", import.meta.url);

/** Every .sdp file of the corpus, sorted. */
export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith(".sdp"))
    .sort();
}

/** A fixture's text exactly as stored (CRLF kept). */
export function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURE_DIR), "utf8");
}

const VIDEO_FB = ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"];

/** What a Korus server supports: Opus, G.711, AMR-WB and AMR in both packings, DTMF; VP8, H.264 CB, rtx. */
export const SERVER_CAPS: Capabilities = {
  audio: [
    {
      name: "opus",
      clockRate: 48000,
      channels: 2,
      parameters: "minptime=10;useinbandfec=1",
      rtcpFeedback: ["transport-cc"],
    },
    { name: "PCMU", clockRate: 8000 },
    { name: "PCMA", clockRate: 8000 },
    { name: "AMR-WB", clockRate: 16000 },
    { name: "AMR-WB", clockRate: 16000, parameters: "octet-align=1" },
    { name: "AMR", clockRate: 8000 },
    { name: "AMR", clockRate: 8000, parameters: "octet-align=1" },
    { name: "telephone-event", clockRate: 8000, parameters: "0-15" },
    { name: "telephone-event", clockRate: 16000, parameters: "0-15" },
    { name: "telephone-event", clockRate: 48000, parameters: "0-15" },
  ],
  video: [
    { name: "VP8", clockRate: 90000, rtcpFeedback: VIDEO_FB },
    {
      name: "H264",
      clockRate: 90000,
      parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
      rtcpFeedback: VIDEO_FB,
    },
    { name: "rtx", clockRate: 90000 },
  ],
  headerExtensions: {
    audio: ["urn:ietf:params:rtp-hdrext:ssrc-audio-level", "urn:ietf:params:rtp-hdrext:sdes:mid"],
    video: ["urn:ietf:params:rtp-hdrext:sdes:mid", "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"],
  },
};

export const FINGERPRINT = {
  algorithm: "sha-256",
  value: "D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F",
};

/** Local transport parameters good for every fixture: ICE, DTLS and an SDES key. */
export const SERVER_OPTIONS: AnswerOptions = {
  address: "192.0.2.100",
  port: 40000,
  sessionId: "1700000000000",
  ice: {
    ufrag: "Kr5s",
    pwd: "t3PwqN0c8xLmZb4vRy7uHs2e",
    candidates: ["1 1 udp 2130706431 192.0.2.100 40000 typ host"],
  },
  dtls: { fingerprints: [FINGERPRINT] },
  sdes: { AES_CM_128_HMAC_SHA1_80: "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR" },
};

/** The i-th media section, or a TypeError (so that tests need no conditional code). */
export function mediaAt(sdp: SessionDescription, index: number): MediaDescription {
  const m = sdp.media[index];
  if (m === undefined) {
    throw new TypeError(`no media section ${index}`);
  }
  return m;
}

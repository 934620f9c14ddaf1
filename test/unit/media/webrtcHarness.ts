/**
 * Test harness for WebRtcEndpoint: an in-process pipeline with a hand-made context whose emit() records events,
 * and werift peers restricted to 127.0.0.1 that play the browser.
 */
import { EventEmitter, once } from "node:events";
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  useNACK,
  useOPUS,
  usePLI,
  useVP8,
  type RTCRtpCodecParameters,
} from "werift";
import type { JsonObject, JsonValue, WorkerSettings } from "../../../media/channel/protocol.js";
import type { ElementContext } from "../../../media/core/MediaElement.js";
import { MediaPipeline } from "../../../media/core/MediaPipeline.js";
import { WebRtcEndpoint } from "../../../media/elements/WebRtcEndpoint.js";
import { createLogger } from "../../../media/logger.js";
import { PortAllocator } from "../../../media/net/PortAllocator.js";

export interface RecordedEvent {
  objectId: string;
  event: string;
  data: JsonObject;
}

export const settings: WorkerSettings = {
  workerIndex: 0,
  rtpPortMin: 41000,
  rtpPortMax: 41999,
  logLevel: "warn",
  webrtc: {
    interfaces: ["127.0.0.1"],
    externalIPv4: "",
    stunServer: "",
    turnServer: "",
    turnUsername: "",
    turnPassword: "",
  },
  flowTimeoutMs: 2000,
  loadReportMs: 1000,
};

/** One pipeline plus an event log shared by its elements. */
export class Harness {
  readonly ports: PortAllocator;
  readonly events: RecordedEvent[] = [];
  readonly #bus = new EventEmitter();
  readonly pipeline: MediaPipeline;
  #n = 0;

  constructor(portMin = 41000, portMax = 41999) {
    this.ports = new PortAllocator(portMin, portMax);
    this.pipeline = new MediaPipeline(this.#ctx("pipeline"));
  }

  #ctx(id: string): ElementContext {
    return {
      id,
      pipelineId: "pipeline",
      type: "WebRtcEndpoint",
      settings,
      ports: this.ports,
      logger: createLogger("test"),
      emit: (event, data) => {
        const e = { objectId: id, event, data };
        this.events.push(e);
        this.#bus.emit("event", e);
      },
    };
  }

  async endpoint(ctor: JsonObject = {}): Promise<WebRtcEndpoint> {
    const id = `ep${++this.#n}`;
    const el = await this.pipeline.createElement(WebRtcEndpoint, this.#ctx(id), ctor);
    return el as WebRtcEndpoint;
  }

  eventsOf(ep: { id: string }, name: string): JsonObject[] {
    return this.events.filter((e) => e.objectId === ep.id && e.event === name).map((e) => e.data);
  }

  /** Resolves with the first event (past or future) of `ep` named `name` that satisfies `pred`. */
  async waitEvent(
    ep: { id: string },
    name: string,
    pred: (d: JsonObject) => boolean = () => true,
  ): Promise<JsonObject> {
    const past = this.eventsOf(ep, name).find(pred);
    if (past !== undefined) {
      return past;
    }
    for (;;) {
      const [e] = (await once(this.#bus, "event")) as [RecordedEvent];
      if (e.objectId === ep.id && e.event === name && pred(e.data)) {
        return e.data;
      }
    }
  }
}

/** Disables werift's default STUN server (stun.l.google.com) so gathering does not wait for its timeout. */
export function noDefaultStun(pc: RTCPeerConnection): void {
  for (const t of pc.iceTransports) {
    (t.connection as unknown as { stunServer?: unknown }).stunServer = undefined;
  }
}

export function peerCodecs(): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  return {
    audio: [useOPUS()],
    video: [useVP8({ rtcpFeedback: [useNACK(), usePLI()] })],
  };
}

/** A werift peer on 127.0.0.1 only: the "browser" side of the tests. */
export function makePeer(codecs = peerCodecs()): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    codecs,
    // One transport from the start: werift forgets (and never closes) the per-m-line transports it replaces when
    // an answer turns on BUNDLE, which would leave sockets open after close().
    bundlePolicy: "max-bundle",
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
  });
  return pc;
}

export interface Sending {
  audio: MediaStreamTrack;
  video: MediaStreamTrack;
}

/** Adds sendrecv audio+video transceivers fed by writable tracks, makes the offer and applies it. */
export async function offerFromPeer(pc: RTCPeerConnection): Promise<{ sdp: string; tracks: Sending }> {
  const audio = new MediaStreamTrack({ kind: "audio" });
  const video = new MediaStreamTrack({ kind: "video" });
  pc.addTransceiver(audio, { direction: "sendrecv" });
  pc.addTransceiver(video, { direction: "sendrecv" });
  noDefaultStun(pc);
  await pc.setLocalDescription(await pc.createOffer());
  return { sdp: pc.localDescription?.sdp ?? "", tracks: { audio, video } };
}

/** Applies the endpoint's IceCandidateFound events to `pc` as they come (call after gatherCandidates). */
export function trickleTo(h: Harness, ep: { id: string }, pc: RTCPeerConnection): void {
  const apply = (d: JsonObject): void => {
    const c = d["candidate"] as { candidate: string; sdpMid: string; sdpMLineIndex: number };
    pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }).catch(() => {
      // the test's assertions report a failed connection
    });
  };
  for (const d of h.eventsOf(ep, "IceCandidateFound")) {
    apply(d);
  }
  const seen = new Set(h.events);
  const poll = setInterval(() => {
    for (const e of h.events) {
      if (!seen.has(e)) {
        seen.add(e);
        if (e.objectId === ep.id && e.event === "IceCandidateFound") {
          apply(e.data);
        }
      }
    }
  }, 20);
  poll.unref();
  setTimeout(() => clearInterval(poll), 5000).unref();
}

export async function waitConnected(pc: RTCPeerConnection): Promise<void> {
  if (pc.connectionState === "connected") {
    return;
  }
  await pc.connectionStateChange.watch((s) => s === "connected");
}

/** Payloads the peer receives per kind, as strings of their marker bytes. */
export function collectReceived(pc: RTCPeerConnection): {
  audio: Buffer[];
  video: Buffer[];
  seqs: number[];
  ts: number[];
} {
  const got = { audio: [] as Buffer[], video: [] as Buffer[], seqs: [] as number[], ts: [] as number[] };
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((p) => {
      if (track.kind === "audio") {
        got.audio.push(p.payload);
      } else {
        got.video.push(p.payload);
        got.seqs.push(p.header.sequenceNumber);
        got.ts.push(p.header.timestamp);
      }
    });
  });
  return got;
}

export function rtp(seq: number, ts: number, payload: Buffer, marker = false): RtpPacket {
  const h = new RtpHeader();
  h.sequenceNumber = seq;
  h.timestamp = ts;
  h.marker = marker;
  return new RtpPacket(h, payload);
}

/** A VP8 payload: descriptor with S=1/PID=0, a keyframe (P=0) or interframe header byte, then `tag`. */
export function vp8(tag: string, key: boolean): Buffer {
  return Buffer.concat([Buffer.from([0x10, key ? 0x00 : 0x01]), Buffer.from(tag)]);
}

/** `sdp` without candidate lines: a negotiation that must not go on to ICE and DTLS. */
export function withoutCandidates(sdp: string): string {
  return sdp
    .split("\r\n")
    .filter((l) => !l.startsWith("a=candidate:") && l !== "a=end-of-candidates")
    .join("\r\n");
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function invoke(ep: WebRtcEndpoint, op: string, args: JsonObject = {}): Promise<JsonValue> {
  return ep.invoke(op, args);
}

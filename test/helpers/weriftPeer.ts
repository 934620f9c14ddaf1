/**
 * A scripted "browser" for integration tests: a werift RTCPeerConnection restricted to 127.0.0.1
 * (libraries.md §3) that offers Opus audio and VP8 video, trickles ICE through a callback, sends real RTP at a
 * steady pace and checks, byte for byte, what comes back.
 *
 * What it sends (one RTP packet per audio frame and per video frame; werift rewrites SSRC, PT, and offsets the
 * sequence numbers and timestamps):
 *
 * - audio, every 20 ms, timestamp +960 (48 kHz), 80 bytes:
 *   `F8` (Opus TOC: config 31 = CELT FB 20 ms, mono, one frame) ‖ marker block ‖ filler
 * - video, every 33 ms (~30 fps), timestamp +3000 (90 kHz), RTP marker bit set, 300 bytes:
 *   `10` (VP8 payload descriptor: S=1, PID=0, no extensions) ‖ VP8 payload header ‖ marker block ‖ filler.
 *   The VP8 payload header of a keyframe is a valid keyframe start: 3-byte frame tag (P=0, version 0, show_frame=1,
 *   first_partition_size) ‖ start code `9D 01 2A` ‖ width 320 ‖ height 240 (16-bit little endian each). Other
 *   frames carry a 3-byte frame tag with P=1. A keyframe goes out as the first frame, every `keyframeEvery`
 *   frames (default 30, i.e. once a second) and on the frame after a PLI or FIR from the other side.
 * - marker block: ASCII `KRS1` ‖ kind (`a` | `v`) ‖ key flag (0 | 1) ‖ peer-id length (1 byte) ‖ peer id (ASCII)
 *   ‖ counter (uint32 big endian, per kind, from 0).
 * - filler: byte i of the filler is `(counter * 7 + i) & 0xff`.
 *
 * The payload is a pure function of (kind, peer id, counter, key flag) ({@link makePayload}), so the receiver
 * rebuilds the expected bytes for every packet that carries a marker block and compares them with what arrived:
 * `received` holds the packets that match exactly, `corrupt` counts those that do not, and `unknown` counts
 * packets without a marker block. Like a browser's decoder, the peer sends a PLI (at most every 300 ms) while
 * the video it received has no keyframe yet (`pliUntilKeyframe`).
 */
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  useOPUS,
  useVP8,
  type RTCRtpTransceiver,
  type RtpPacket as RtpPacketType,
} from "werift";

export type Kind = "audio" | "video";
export type Direction = "sendrecv" | "sendonly" | "recvonly";

/** The `{candidate, sdpMid, sdpMLineIndex}` shape Kurento's IceCandidate and the browser API share. */
export interface CandidateInit {
  candidate: string;
  sdpMid: string;
  sdpMLineIndex: number;
}

export interface WeriftPeerOptions {
  /** Carried in every payload; ASCII, at most 64 characters. */
  id: string;
  /** Direction of the audio transceiver, or false for none. Default "sendrecv". */
  audio?: Direction | false;
  /** Direction of the video transceiver, or false for none. Default "sendrecv". */
  video?: Direction | false;
  /** Called for each local ICE candidate on 127.0.0.1 (trickle). */
  onLocalCandidate?: (c: CandidateInit) => void;
  /** Keep `a=candidate` lines in the offer (default false: candidates travel only by trickle). */
  candidatesInOffer?: boolean;
  /** Video keyframe period in frames (default 30). */
  keyframeEvery?: number;
  /**
   * Like a browser's decoder, send a PLI (at most every 300 ms) while the video received so far has no keyframe.
   * Default true.
   */
  pliUntilKeyframe?: boolean;
}

export interface ReceivedPacket {
  kind: Kind;
  /** Peer id found in the payload. */
  from: string;
  counter: number;
  keyframe: boolean;
  payloadType: number;
  sequenceNumber: number;
  at: number;
}

const MAGIC = Buffer.from("KRS1", "ascii");
const AUDIO_SIZE = 80;
const VIDEO_SIZE = 300;

/** The exact payload {@link WeriftPeer} sends as frame `counter` of `kind`. */
export function makePayload(kind: Kind, id: string, counter: number, keyframe: boolean): Buffer {
  const idBytes = Buffer.from(id, "ascii");
  let head: Buffer;
  if (kind === "audio") {
    head = Buffer.from([0xf8]);
  } else if (keyframe) {
    const firstPartSize = 64;
    const tag = (0 /* P=0 key */ | (0 << 1) /* version */ | (1 << 4) /* show */ | (firstPartSize << 5)) >>> 0;
    head = Buffer.from([
      0x10,
      tag & 0xff,
      (tag >> 8) & 0xff,
      (tag >> 16) & 0xff,
      0x9d,
      0x01,
      0x2a,
      320 & 0xff,
      320 >> 8,
      240 & 0xff,
      240 >> 8,
    ]);
  } else {
    const tag = (1 /* P=1 inter */ | (1 << 4) | (64 << 5)) >>> 0;
    head = Buffer.from([0x10, tag & 0xff, (tag >> 8) & 0xff, (tag >> 16) & 0xff]);
  }
  const block = Buffer.alloc(MAGIC.length + 3 + idBytes.length + 4);
  MAGIC.copy(block, 0);
  block[4] = kind === "audio" ? 0x61 : 0x76;
  block[5] = keyframe ? 1 : 0;
  block[6] = idBytes.length;
  idBytes.copy(block, 7);
  block.writeUInt32BE(counter >>> 0, 7 + idBytes.length);
  const size = kind === "audio" ? AUDIO_SIZE : VIDEO_SIZE;
  const out = Buffer.alloc(Math.max(size, head.length + block.length));
  head.copy(out, 0);
  block.copy(out, head.length);
  for (let i = head.length + block.length, j = 0; i < out.length; i++, j++) {
    out[i] = (counter * 7 + j) & 0xff;
  }
  return out;
}

/** Reads the marker block of a payload, or undefined when there is none. */
export function parsePayload(p: Buffer): { kind: Kind; keyframe: boolean; from: string; counter: number } | undefined {
  const at = p.subarray(0, 32).indexOf(MAGIC);
  if (at < 0 || p.length < at + 7) {
    return undefined;
  }
  const kindByte = p[at + 4];
  const key = p[at + 5] === 1;
  const len = p[at + 6] ?? 0;
  if ((kindByte !== 0x61 && kindByte !== 0x76) || p.length < at + 7 + len + 4) {
    return undefined;
  }
  return {
    kind: kindByte === 0x61 ? "audio" : "video",
    keyframe: key,
    from: p.subarray(at + 7, at + 7 + len).toString("ascii"),
    counter: p.readUInt32BE(at + 7 + len),
  };
}

/**
 * Keeps only the 127.0.0.1 candidates of an SDP, or none at all; without candidates it also drops
 * `a=end-of-candidates`, as a browser's offer made before gathering has neither (trickle ICE).
 */
export function filterCandidates(sdp: string, keepLoopback: boolean): string {
  return sdp
    .split("\r\n")
    .filter((l) => {
      if (l.startsWith("a=candidate")) {
        return keepLoopback && l.includes(" 127.0.0.1 ");
      }
      return keepLoopback || l !== "a=end-of-candidates";
    })
    .join("\r\n");
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class WeriftPeer {
  readonly id: string;
  readonly pc: RTCPeerConnection;
  /** Packets received whose payload matched the sender's exactly. */
  readonly received: ReceivedPacket[] = [];
  /** Packets with a marker block whose bytes differed from the expected payload. */
  corrupt = 0;
  /** Packets without a marker block. */
  unknown = 0;
  /** Frames sent per kind. */
  readonly sent: Record<Kind, number> = { audio: 0, video: 0 };
  /** Local candidates emitted (trickle). */
  readonly localCandidates: CandidateInit[] = [];
  /** PLI/FIR received from the remote side. */
  keyframeRequests = 0;
  /** PLIs this peer sent because its video had no keyframe yet. */
  plisSent = 0;

  readonly #opts: WeriftPeerOptions;
  readonly #tracks = new Map<Kind, MediaStreamTrack>();
  readonly #transceivers = new Map<Kind, RTCRtpTransceiver>();
  readonly #timers: NodeJS.Timeout[] = [];
  #seq: Record<Kind, number> = { audio: 0, video: 0 };
  #ts: Record<Kind, number> = { audio: 0, video: 0 };
  #forceKey = true;
  #closed = false;
  #haveKeyframe = false;
  #lastPli = 0;

  constructor(opts: WeriftPeerOptions) {
    this.id = opts.id;
    this.#opts = opts;
    this.pc = new RTCPeerConnection({
      // One transport from the start, as browsers do with BUNDLE: werift never closes the per-m-line transports
      // an answer with BUNDLE makes redundant, which would leave UDP sockets open after close().
      bundlePolicy: "max-bundle",
      codecs: {
        audio: [useOPUS()],
        video: [useVP8()],
      },
      iceUseIpv4: false, // no per-interface sockets: only iceAdditionalHostAddresses (one socket, closed on close())
      iceUseIpv6: false,
      iceInterfaceAddresses: { udp4: "127.0.0.1" },
      iceAdditionalHostAddresses: ["127.0.0.1"],
      iceFilterCandidatePair: (p) => p.localCandidate.host === "127.0.0.1" && p.remoteCandidate.host === "127.0.0.1",
    });
    this.pc.onIceCandidate.subscribe((c) => {
      if (!c?.candidate.includes(" 127.0.0.1 ")) {
        return;
      }
      const init: CandidateInit = {
        candidate: c.candidate.startsWith("candidate:") ? c.candidate : `candidate:${c.candidate}`,
        sdpMid: c.sdpMid ?? "0",
        sdpMLineIndex: c.sdpMLineIndex ?? 0,
      };
      this.localCandidates.push(init);
      this.#opts.onLocalCandidate?.(init);
    });
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp: RtpPacketType) =>
        this.#onRtp(track.kind === "audio" ? "audio" : "video", rtp),
      );
    });
    for (const kind of ["audio", "video"] as const) {
      const dir = kind === "audio" ? (opts.audio ?? "sendrecv") : (opts.video ?? "sendrecv");
      if (dir === false) {
        continue;
      }
      if (dir === "recvonly") {
        this.#transceivers.set(kind, this.pc.addTransceiver(kind, { direction: "recvonly" }));
      } else {
        const track = new MediaStreamTrack({ kind });
        this.#tracks.set(kind, track);
        const tr = this.pc.addTransceiver(track, { direction: dir });
        this.#transceivers.set(kind, tr);
        if (kind === "video") {
          tr.sender.onPictureLossIndication.subscribe(() => {
            this.keyframeRequests++;
            this.#forceKey = true;
          });
          tr.sender.onRtcp.subscribe((rtcp) => {
            // FIR (PSFB, FMT 4) also asks for a keyframe.
            if (rtcp.type === 206 && (rtcp as { feedback?: { count?: number } }).feedback?.count === 4) {
              this.keyframeRequests++;
              this.#forceKey = true;
            }
          });
        }
      }
    }
  }

  /** Creates the offer, sets it as local description and returns its SDP. */
  async createOffer(): Promise<string> {
    const offer = await this.pc.createOffer();
    // werift would otherwise query its built-in default STUN server (stun.l.google.com) and wait for it.
    for (const tr of this.pc.iceTransports) {
      (tr.connection as unknown as { stunServer?: unknown }).stunServer = undefined;
    }
    await this.pc.setLocalDescription(offer);
    const sdp = this.pc.localDescription?.sdp ?? offer.sdp;
    return filterCandidates(sdp, this.#opts.candidatesInOffer === true);
  }

  async setAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  async addRemoteCandidate(c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void> {
    if (this.#closed) {
      return;
    }
    await this.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });
  }

  get connected(): boolean {
    return this.pc.connectionState === "connected";
  }

  /** Resolves when the peer connection (ICE + DTLS) is connected. */
  async waitConnected(timeoutMs = 10_000): Promise<void> {
    await this.waitFor(() => this.connected, timeoutMs, `${this.id} connected (state ${this.pc.connectionState})`);
  }

  /** Starts sending audio every 20 ms and video at ~30 fps on the send-capable transceivers. */
  startMedia(): void {
    const audio = this.#tracks.get("audio");
    if (audio !== undefined) {
      this.#timers.push(setInterval(() => this.#sendFrame("audio", audio), 20));
    }
    const video = this.#tracks.get("video");
    if (video !== undefined) {
      this.#timers.push(setInterval(() => this.#sendFrame("video", video), 33));
    }
  }

  stopMedia(): void {
    for (const t of this.#timers.splice(0)) {
      clearInterval(t);
    }
  }

  /** Sends a PLI on the video receiver (asks the remote side for a keyframe). */
  async requestKeyframe(): Promise<void> {
    const tr = this.#transceivers.get("video");
    const ssrc = tr?.receiver.track?.ssrc;
    if (tr !== undefined && ssrc !== undefined) {
      await tr.receiver.sendRtcpPLI(ssrc);
    }
  }

  /** Intact packets received from `from` (optionally of one kind). */
  receivedFrom(from: string, kind?: Kind): ReceivedPacket[] {
    return this.received.filter((r) => r.from === from && (kind === undefined || r.kind === kind));
  }

  /** Number of intact packets from `from` of `kind` received after `since` (ms epoch). */
  countFrom(from: string, kind: Kind, since = 0): number {
    let n = 0;
    for (const r of this.received) {
      if (r.from === from && r.kind === kind && r.at >= since) {
        n++;
      }
    }
    return n;
  }

  /** Waits until at least `n` intact packets of `kind` from `from` arrived after `since`. */
  async waitForPayloads(from: string, kind: Kind, n: number, timeoutMs = 10_000, since = 0): Promise<void> {
    await this.waitFor(
      () => this.countFrom(from, kind, since) >= n,
      timeoutMs,
      `${this.id}: ${n} ${kind} packets from ${from} (got ${this.countFrom(from, kind, since)}, corrupt ${this.corrupt}, unknown ${this.unknown})`,
    );
  }

  async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      }
      await sleep(25);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.stopMedia();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.pc.close(),
      new Promise<void>((r) => {
        timer = setTimeout(r, 3000);
      }),
    ]);
    clearTimeout(timer);
  }

  #sendFrame(kind: Kind, track: MediaStreamTrack): void {
    if (this.#closed || !this.connected) {
      return;
    }
    const counter = this.sent[kind];
    let key = false;
    if (kind === "video") {
      key = this.#forceKey || counter % (this.#opts.keyframeEvery ?? 30) === 0;
      this.#forceKey = false;
    }
    const payload = makePayload(kind, this.id, counter, key);
    const header = new RtpHeader({
      payloadType: kind === "audio" ? 111 : 96,
      sequenceNumber: this.#seq[kind],
      timestamp: this.#ts[kind] >>> 0,
      ssrc: kind === "audio" ? 0x1111 : 0x2222,
      marker: kind === "video",
    });
    this.#seq[kind] = (this.#seq[kind] + 1) & 0xffff;
    this.#ts[kind] = (this.#ts[kind] + (kind === "audio" ? 960 : 3000)) >>> 0;
    this.sent[kind]++;
    track.writeRtp(new RtpPacket(header, payload));
  }

  #onRtp(kind: Kind, rtp: RtpPacketType): void {
    const p = rtp.payload;
    if (p.length === 0) {
      return; // padding-only probe
    }
    const info = parsePayload(p);
    if (info === undefined) {
      this.unknown++;
      return;
    }
    if (info.kind !== kind || !makePayload(info.kind, info.from, info.counter, info.keyframe).equals(p)) {
      this.corrupt++;
      return;
    }
    if (kind === "video") {
      this.#haveKeyframe ||= info.keyframe;
      const now = Date.now();
      if (!this.#haveKeyframe && this.#opts.pliUntilKeyframe !== false && now - this.#lastPli >= 300) {
        this.#lastPli = now;
        this.plisSent++;
        this.#transceivers
          .get("video")
          ?.receiver.sendRtcpPLI(rtp.header.ssrc)
          .catch(() => undefined);
      }
    }
    this.received.push({
      kind,
      from: info.from,
      counter: info.counter,
      keyframe: info.keyframe,
      payloadType: rtp.header.payloadType,
      sequenceNumber: rtp.header.sequenceNumber,
      at: Date.now(),
    });
  }
}

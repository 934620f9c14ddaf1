/**
 * AMR and AMR-WB at the RTP payload level, behind the same {@link AudioEncoder} / {@link AudioDecoder} interface
 * as G.711 and Opus, so a transcoder can treat every codec alike: {@link AmrRtpEncoder} turns 20 ms of PCM into
 * an RFC 4867 payload (either packing, CMR, `framesPerPacket` frames per packet), {@link AmrRtpDecoder} turns a
 * payload into PCM (every frame in it) and exposes the peer's codec mode request.
 *
 * Conventions: `encode()` returns an empty array when there is nothing to send this time (the packet is not full
 * yet, or DTX suppressed a packet of NO_DATA frames); `decode()` returns `frames × frameSamples` samples. The CMR
 * loop: after `decode()`, `requestedMode` holds the peer's request mapped into the mode-set; hand it to the
 * encoder of the reverse direction with {@link AmrRtpEncoder.applyCmr}.
 */
import { AmrNbDecoder, AmrNbEncoder, AmrWbDecoder, AmrWbEncoder } from "./amr.js";
import { AMR_NB, AMR_WB, AmrPacketizer, CMR_NONE, unpackAmr, type AmrKind } from "./amrPayload.js";
import { CodecError } from "./errors.js";
import type { AudioDecoder, AudioEncoder } from "./types.js";

export interface AmrRtpOptions {
  /** `octet-align=1` (default false: bandwidth-efficient, the IMS default). */
  octetAligned?: boolean;
  /** The negotiated mode-set (all modes when absent). */
  modeSet?: readonly number[];
}

export interface AmrRtpEncoderOptions extends AmrRtpOptions {
  /** Initial mode (default: the highest of the mode-set). */
  mode?: number;
  /** SID + NO_DATA during silence, and no packets for NO_DATA-only intervals (default false). */
  dtx?: boolean;
  /** Frames per RTP packet = ptime / 20 (default 1). */
  framesPerPacket?: number;
}

const EMPTY = new Uint8Array(0);

function startMode(kind: AmrKind, opts: AmrRtpEncoderOptions): number {
  if (opts.mode !== undefined) {
    return opts.mode;
  }
  return opts.modeSet !== undefined && opts.modeSet.length > 0 ? Math.max(...opts.modeSet) : kind.modes - 1;
}

export class AmrRtpEncoder implements AudioEncoder {
  readonly name: "AMR" | "AMR-WB";
  readonly sampleRate: number;
  readonly channels = 1;
  readonly frameSamples: number;
  readonly kind: AmrKind;
  private readonly enc: AmrNbEncoder | AmrWbEncoder;
  private readonly packetizer: AmrPacketizer;
  private readonly modeSet: readonly number[] | undefined;

  constructor(wideband: boolean, opts: AmrRtpEncoderOptions = {}) {
    this.kind = wideband ? AMR_WB : AMR_NB;
    this.name = this.kind.name;
    this.sampleRate = this.kind.sampleRate;
    this.frameSamples = this.kind.frameSamples;
    this.modeSet = opts.modeSet;
    const mode = startMode(this.kind, opts);
    if (opts.modeSet !== undefined && opts.modeSet.length > 0 && !opts.modeSet.includes(mode)) {
      throw new CodecError(`${this.name} mode ${mode} is outside the mode-set ${opts.modeSet.join(",")}`);
    }
    const encOpts = { mode, dtx: opts.dtx ?? false };
    this.enc = wideband ? new AmrWbEncoder(encOpts) : new AmrNbEncoder(encOpts);
    try {
      this.packetizer = new AmrPacketizer(this.kind, {
        octetAligned: opts.octetAligned ?? false,
        ...(opts.modeSet !== undefined ? { modeSet: opts.modeSet } : {}),
        ...(opts.framesPerPacket !== undefined ? { framesPerPacket: opts.framesPerPacket } : {}),
      });
    } catch (e) {
      this.enc.close();
      throw e;
    }
  }

  /** The encoder's current mode. */
  get mode(): number {
    return this.enc.mode;
  }

  /** Follows a peer's CMR (already mapped into the mode-set, e.g. {@link AmrRtpDecoder.requestedMode}). */
  applyCmr(mode: number | undefined): void {
    if (mode === undefined) {
      return;
    }
    if (this.modeSet !== undefined && this.modeSet.length > 0 && !this.modeSet.includes(mode)) {
      throw new CodecError(`${this.name} mode ${mode} is outside the mode-set ${this.modeSet.join(",")}`);
    }
    this.enc.setMode(mode);
  }

  /** The CMR this side sends (15 = no request): asks the peer's encoder for a mode. */
  set requestMode(mode: number) {
    this.packetizer.cmr = mode;
  }
  get requestMode(): number {
    return this.packetizer.cmr;
  }

  /** Encodes 20 ms; returns a payload to send, or an empty array when there is none this time. */
  encode(pcm: Int16Array): Uint8Array {
    return this.packetizer.push(this.enc.encode(pcm)) ?? EMPTY;
  }

  close(): void {
    this.enc.close();
  }
}

export class AmrRtpDecoder implements AudioDecoder {
  readonly name: "AMR" | "AMR-WB";
  readonly sampleRate: number;
  readonly channels = 1;
  readonly frameSamples: number;
  readonly kind: AmrKind;
  private readonly dec: AmrNbDecoder | AmrWbDecoder;
  private readonly opts: { octetAligned: boolean; modeSet?: readonly number[] };
  private requested: number | undefined;
  private cmrValue = CMR_NONE;

  constructor(wideband: boolean, opts: AmrRtpOptions = {}) {
    this.kind = wideband ? AMR_WB : AMR_NB;
    this.name = this.kind.name;
    this.sampleRate = this.kind.sampleRate;
    this.frameSamples = this.kind.frameSamples;
    this.opts = {
      octetAligned: opts.octetAligned ?? false,
      ...(opts.modeSet !== undefined ? { modeSet: opts.modeSet } : {}),
    };
    this.dec = wideband ? new AmrWbDecoder() : new AmrNbDecoder();
  }

  /** The peer's last CMR mapped into the mode-set (undefined: no request). */
  get requestedMode(): number | undefined {
    return this.requested;
  }

  /** The raw CMR field of the last payload. */
  get cmr(): number {
    return this.cmrValue;
  }

  /** Decodes every frame of one payload; throws AmrPayloadError for a truncated or inconsistent payload. */
  decode(payload: Uint8Array): Int16Array {
    const u = unpackAmr(this.kind, payload, this.opts);
    this.cmrValue = u.cmr;
    this.requested = u.requestedMode;
    const out = new Int16Array(u.frames.length * this.frameSamples);
    u.frames.forEach((f, i) => out.set(this.dec.decode(f), i * this.frameSamples));
    return out;
  }

  conceal(): Int16Array {
    return this.dec.conceal();
  }

  close(): void {
    this.dec.close();
  }
}

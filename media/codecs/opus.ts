/**
 * Opus encoder and decoder (libopus through the korus_codecs addon) behind the common codec interface.
 *
 * Sample rates 8, 12, 16, 24 or 48 kHz, mono or stereo, frames of 2.5–60 ms (20 ms default). Defaults follow
 * performance.md §3.1: VOIP application, complexity 5 (about 1.7× cheaper than libopus's default 9 for a small
 * quality cost), 32 kbit/s at 48 kHz, 24 kbit/s at 16 kHz, 16 kbit/s at 8 kHz. Feeding narrowband sources at their
 * native 8 or 16 kHz avoids an upsampler and costs about a third of the 48 kHz encode.
 */
import { CodecClosedError, CodecError } from "./errors.js";
import { codecError, nativeCodecs, OpusCtl, type NativeCodecs, type NativeHandle } from "./native.js";
import type { AudioDecoder, AudioEncoder } from "./types.js";

export type OpusSampleRate = 8000 | 12000 | 16000 | 24000 | 48000;
export type OpusApplication = "voip" | "audio" | "lowdelay";

export interface OpusEncoderOptions {
  sampleRate?: OpusSampleRate;
  channels?: 1 | 2;
  application?: OpusApplication;
  /** Target bits per second (default by rate: 16k at 8 kHz, 24k at 16 kHz, 32k above). */
  bitrate?: number;
  /** 0..10 (default 5). */
  complexity?: number;
  /** Discontinuous transmission: near-empty packets during silence (default false). */
  dtx?: boolean;
  /** In-band forward error correction (default false); it only acts when packetLossPercent > 0. */
  fec?: boolean;
  /** Expected loss in percent, 0..100 (default 0). */
  packetLossPercent?: number;
  /** Frame duration in ms: 2.5, 5, 10, 20, 40 or 60 (default 20). */
  frameMs?: number;
  /**
   * Signal hint (default "auto"). "voice" keeps libopus in SILK/hybrid modes, which suits telephony audio: with
   * "auto" at complexity ≥ 7 its analysis may classify harmonic test tones as music and switch to CELT.
   */
  signal?: "auto" | "voice" | "music";
}

const SIGNAL = { auto: -1000, voice: 3001, music: 3002 } as const;

export interface OpusDecoderOptions {
  sampleRate?: OpusSampleRate;
  channels?: 1 | 2;
  /** Duration of one concealment frame in ms (default 20). */
  frameMs?: number;
}

const RATES: readonly number[] = [8000, 12000, 16000, 24000, 48000];
const FRAME_MS: readonly number[] = [2.5, 5, 10, 20, 40, 60];
/** Largest Opus packet (RFC 6716 §3.4: 1275 bytes per frame, up to 3 frames in 60 ms at 20 ms). */
const MAX_PACKET = 4000;

function check(rate: number, channels: number, frameMs: number): void {
  if (!RATES.includes(rate)) {
    throw new CodecError(`Opus sample rate must be one of ${RATES.join(", ")}, got ${rate}`);
  }
  if (channels !== 1 && channels !== 2) {
    throw new CodecError(`Opus channels must be 1 or 2, got ${channels}`);
  }
  if (!FRAME_MS.includes(frameMs)) {
    throw new CodecError(`Opus frame duration must be one of ${FRAME_MS.join(", ")} ms, got ${frameMs}`);
  }
}

function defaultBitrate(rate: number): number {
  return rate <= 8000 ? 16000 : rate <= 16000 ? 24000 : 32000;
}

export class OpusEncoder implements AudioEncoder {
  readonly name = "opus";
  readonly sampleRate: number;
  readonly channels: number;
  readonly frameSamples: number;
  private readonly lib: NativeCodecs;
  private readonly h: NativeHandle;
  private readonly scratch = new Uint8Array(MAX_PACKET);
  private closed = false;

  constructor(opts: OpusEncoderOptions = {}) {
    this.sampleRate = opts.sampleRate ?? 48000;
    this.channels = opts.channels ?? 1;
    const frameMs = opts.frameMs ?? 20;
    check(this.sampleRate, this.channels, frameMs);
    this.frameSamples = (this.sampleRate * frameMs) / 1000;
    this.lib = nativeCodecs();
    const app = opts.application === "audio" ? 1 : opts.application === "lowdelay" ? 2 : 0;
    try {
      this.h = this.lib.opusEncoderCreate(this.sampleRate, this.channels, app);
      this.lib.opusEncoderSet(this.h, OpusCtl.bitrate, opts.bitrate ?? defaultBitrate(this.sampleRate));
      this.lib.opusEncoderSet(this.h, OpusCtl.complexity, opts.complexity ?? 5);
      this.lib.opusEncoderSet(this.h, OpusCtl.dtx, opts.dtx === true ? 1 : 0);
      this.lib.opusEncoderSet(this.h, OpusCtl.inbandFec, opts.fec === true ? 1 : 0);
      this.lib.opusEncoderSet(this.h, OpusCtl.packetLossPercent, opts.packetLossPercent ?? 0);
      this.lib.opusEncoderSet(this.h, OpusCtl.signal, SIGNAL[opts.signal ?? "auto"]);
    } catch (e) {
      throw codecError(e, "Opus encoder");
    }
  }

  encode(pcm: Int16Array): Uint8Array {
    if (this.closed) {
      throw new CodecClosedError("Opus encoder is closed");
    }
    if (pcm.length !== this.frameSamples * this.channels) {
      throw new CodecError(`Opus encoder wants ${this.frameSamples * this.channels} samples, got ${pcm.length}`);
    }
    let n: number;
    try {
      n = this.lib.opusEncode(this.h, pcm, this.scratch);
    } catch (e) {
      throw codecError(e, "Opus encoder");
    }
    return this.scratch.slice(0, n);
  }

  /** Target bitrate in bit/s (e.g. on a TMMBR/REMB change). */
  setBitrate(bps: number): void {
    this.ctl(OpusCtl.bitrate, bps);
  }
  setComplexity(c: number): void {
    this.ctl(OpusCtl.complexity, c);
  }
  setPacketLossPercent(p: number): void {
    this.ctl(OpusCtl.packetLossPercent, p);
  }
  setFec(on: boolean): void {
    this.ctl(OpusCtl.inbandFec, on ? 1 : 0);
  }
  setDtx(on: boolean): void {
    this.ctl(OpusCtl.dtx, on ? 1 : 0);
  }

  get complexity(): number {
    return this.get(OpusCtl.complexity);
  }
  get bitrate(): number {
    return this.get(OpusCtl.bitrate);
  }
  get dtx(): boolean {
    return this.get(OpusCtl.dtx) === 1;
  }
  get fec(): boolean {
    return this.get(OpusCtl.inbandFec) === 1;
  }
  /** Encoder look-ahead in samples at this rate (6.5 ms for VOIP/AUDIO). */
  get lookahead(): number {
    return this.get(OpusCtl.lookahead);
  }
  /** True when the last encoded frame was a DTX (silence) frame that need not be sent. */
  get inDtx(): boolean {
    return this.get(OpusCtl.inDtx) === 1;
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.lib.close(this.h);
    }
  }

  private ctl(key: number, value: number): void {
    if (this.closed) {
      throw new CodecClosedError("Opus encoder is closed");
    }
    try {
      this.lib.opusEncoderSet(this.h, key, value);
    } catch (e) {
      throw codecError(e, "Opus encoder");
    }
  }

  private get(key: number): number {
    if (this.closed) {
      throw new CodecClosedError("Opus encoder is closed");
    }
    try {
      return this.lib.opusEncoderGet(this.h, key);
    } catch (e) {
      throw codecError(e, "Opus encoder");
    }
  }
}

export class OpusDecoder implements AudioDecoder {
  readonly name = "opus";
  readonly sampleRate: number;
  readonly channels: number;
  readonly frameSamples: number;
  private readonly lib: NativeCodecs;
  private readonly h: NativeHandle;
  /** 120 ms, the longest Opus packet. */
  private readonly scratch: Int16Array;
  private closed = false;

  constructor(opts: OpusDecoderOptions = {}) {
    this.sampleRate = opts.sampleRate ?? 48000;
    this.channels = opts.channels ?? 1;
    const frameMs = opts.frameMs ?? 20;
    check(this.sampleRate, this.channels, frameMs);
    this.frameSamples = (this.sampleRate * frameMs) / 1000;
    this.scratch = new Int16Array((this.sampleRate * 120 * this.channels) / 1000);
    this.lib = nativeCodecs();
    try {
      this.h = this.lib.opusDecoderCreate(this.sampleRate, this.channels);
    } catch (e) {
      throw codecError(e, "Opus decoder");
    }
  }

  /** Decodes one packet; returns all its samples (interleaved), whatever its duration. */
  decode(payload: Uint8Array): Int16Array {
    if (payload.length === 0) {
      throw new CodecError("Opus decoder: empty packet");
    }
    return this.run(payload, this.scratch, false);
  }

  /** Packet-loss concealment for one frame (libopus PLC). */
  conceal(): Int16Array {
    return this.run(null, this.scratch.subarray(0, this.frameSamples * this.channels), false);
  }

  /**
   * Recovers a lost frame from the in-band FEC carried in `next` (the packet after the lost one); falls back to
   * PLC inside libopus when `next` carries no FEC. Then decode `next` itself normally.
   */
  decodeFec(next: Uint8Array): Int16Array {
    if (next.length === 0) {
      throw new CodecError("Opus decoder: empty packet");
    }
    return this.run(next, this.scratch.subarray(0, this.frameSamples * this.channels), true);
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.lib.close(this.h);
    }
  }

  private run(data: Uint8Array | null, out: Int16Array, fec: boolean): Int16Array {
    if (this.closed) {
      throw new CodecClosedError("Opus decoder is closed");
    }
    let n: number;
    try {
      n = this.lib.opusDecode(this.h, data, out, fec);
    } catch (e) {
      throw codecError(e, "Opus decoder");
    }
    return out.slice(0, n * this.channels);
  }
}

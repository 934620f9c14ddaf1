/**
 * Automatic audio transcoding on the connections of one source element (issue 4 §5, §6), as a fixed chain of
 * stages (issue 10 §1, docs/endpoint-core.md "Transcoding").
 *
 * The source's {@link MediaElement.sendToSinks} hands this object every AUDIO packet whose codec a connected sink
 * did not negotiate (see {@link sinkAccepts}); packets the sink takes as they are never come here (no decode).
 * Like KMS's agnosticbin, it lives on the source's output, so the source is the element that reports
 * `isMediaTranscoding(AUDIO)` and raises `MediaTranscodingStateChanged`.
 *
 *     packet ─▶ DecodeStage ──┬─▶ TargetChain "pcmu/8000/1/20":  ReframeStage ─▶ EncodeStage ─▶ numbering ─▶ sinks
 *     (jitter buffer, decode, └─▶ TargetChain "opus/48000/2/20": ReframeStage ─▶ EncodeStage ─▶ numbering ─▶ sinks
 *      PLC; once per packet)
 *     telephone-event ─▶ DtmfStage of the connection's TargetChain ─▶ numbering ─▶ sinks
 *
 * - One {@link DecodeStage} per incoming stream (codec, clock, SSRC, payload type); a change of any restarts it
 *   (counted). An Opus source is decoded directly at the highest rate any chain needs.
 * - One {@link TargetChain}, hence one encoder, per target format (codec, clock, channels, the AMR fmtp that shapes
 *   the payload, ptime): every sink that needs the same format shares it and gets the same packets. Opus is fed
 *   natively at 8 or 16 kHz from narrowband sources (its RTP clock stays 48000).
 * - One shared 20 ms timer for the worker (ticker.ts) flushes jitter gaps and keeps continuous chains alive.
 * - A chain that fails on a frame is logged and counted (`chainErrors`); the other chains still get the frame.
 *
 * This file is the wiring: which chain a connection needs, opening and restarting the decode stage, the
 * transcoding state, the tick. Bad payloads (garbage, truncated AMR) fail the decoder: counted in
 * {@link diagnostics} and concealed as a loss; nothing escapes {@link route}.
 */
import type { MediaPacket } from "../core/types.js";
import type { ElementEventData } from "../core/events.js";
import { RateLimitedLog, type Logger } from "../logger.js";
import { chainPtime, targetKey, TRANSCODABLE, type SinkAudioCaps } from "./format.js";
import {
  newDiagnostics,
  type StageContext,
  type TranscodeTarget,
  type TranscoderDiagnostics,
} from "./stages/context.js";
import { DecodeStage, type PcmOutput } from "./stages/DecodeStage.js";
import { TargetChain } from "./TargetChain.js";
import { startTicking, stopTicking, type Ticking } from "./ticker.js";

export type { TranscodeTarget, TranscoderDiagnostics } from "./stages/context.js";

/** Kurento's MediaTranscodingState. */
export enum TranscodingState {
  Transcoding = "TRANSCODING",
  NotTranscoding = "NOT_TRANSCODING",
}

/** What the transcoder needs from the element it works for. */
export interface TranscoderHost<Connection extends TranscodeTarget = TranscodeTarget> {
  readonly id: string;
  readonly logger: Logger;
  emit(event: "MediaTranscodingStateChanged", data: ElementEventData<"MediaTranscodingStateChanged">): void;
  /** The fmtp of the codec the source receives with `payloadType` (AMR packing), if known. */
  sourceParameters(payloadType: number): string | undefined;
  /** Hands a transcoded packet to a sink (through the graph, so flow states and errors are handled there). */
  deliver(packet: MediaPacket, conn: Connection): void;
}

/** A connection's chain, and the caps object it was chosen from (the same object again needs no new choice). */
interface Routed<C extends TranscodeTarget> {
  chain: TargetChain<C>;
  caps: SinkAudioCaps;
}

export class AudioTranscoder<Connection extends TranscodeTarget = TranscodeTarget> implements PcmOutput, Ticking {
  readonly diagnostics: TranscoderDiagnostics = newDiagnostics();
  readonly #host: TranscoderHost<Connection>;
  readonly #ctx: StageContext;
  readonly #chains = new Map<string, TargetChain<Connection>>();
  /** The chains again, as an array replaced on every change: the per-frame fan-out is an index loop. */
  #chainList: readonly TargetChain<Connection>[] = [];
  readonly #routed = new Map<Connection, Routed<Connection>>();
  #decode: DecodeStage | undefined;
  #decodedBeforeRestart: MediaPacket | undefined;
  /** Registered with the shared timer. */
  #ticking = false;
  #state = TranscodingState.NotTranscoding;
  #closed = false;

  constructor(host: TranscoderHost<Connection>) {
    this.#host = host;
    this.#ctx = { elementId: host.id, log: new RateLimitedLog(host.logger), counters: this.diagnostics };
  }

  /** Whether any connection is transcoded now. */
  get transcoding(): boolean {
    return this.#state === TranscodingState.Transcoding;
  }

  /** Live encoders (one per distinct target format in use). */
  get encoders(): number {
    return this.#chains.size;
  }

  /** The live chains: target key, the encoder's PCM rate (8000 for Opus fed by G.711) and their sink count. */
  get targets(): { key: string; encoderRate: number; sinks: number }[] {
    return this.#chainList.map((c) => ({ key: c.key, encoderRate: c.encRate, sinks: c.size }));
  }

  /** Calls `fn` once per live chain with the codec decoded and the codec encoded (metrics: transcoders active). */
  forEachPair(fn: (from: string, to: string) => void): void {
    const from = this.#decode?.codec;
    if (from === undefined || !this.transcoding) {
      return;
    }
    for (const c of this.#chainList) {
      fn(from, c.format.codec);
    }
  }

  /** PCM rate of the current decoder, if any (an Opus source is decoded at the highest rate a chain needs). */
  get decoderRate(): number | undefined {
    return this.#decode?.rate;
  }

  /** Whether `conn` is currently served by a chain. */
  has(conn: Connection): boolean {
    return this.#routed.has(conn);
  }

  /**
   * One packet for one connection whose sink does not take its codec. Decodes the packet once however many
   * connections it is routed to; every chain's output goes to all of that chain's connections. Never throws.
   */
  route(packet: MediaPacket, conn: Connection, caps: SinkAudioCaps): void {
    if (this.#closed) {
      return;
    }
    try {
      const chain = this.#chainFor(packet, conn, caps);
      if (chain === undefined) {
        return;
      }
      if (packet.codec === "telephone-event") {
        chain.dtmf.onRtp(packet);
        return;
      }
      let stage = this.#decode;
      if (stage?.matches(packet) !== true) {
        if (!TRANSCODABLE.has(packet.codec)) {
          this.#ctx.log.warn(`src-${packet.codec}`, `cannot decode ${packet.codec}: dropped`, {
            elementId: this.#host.id,
          });
          return;
        }
        stage = this.#openDecode(packet);
      }
      stage.onRtp(packet);
    } catch (err) {
      this.#ctx.log.warn("transcode-failed", "transcoding a packet failed", {
        elementId: this.#host.id,
        error: String(err),
      });
    }
  }

  /** `conn` no longer needs transcoding (gone, or its sink now takes the source's codec). */
  detach(conn: Connection): void {
    const routed = this.#routed.get(conn);
    if (routed === undefined) {
      return;
    }
    this.#routed.delete(conn);
    const chain = routed.chain;
    chain.remove(conn);
    if (chain.size === 0) {
      this.#chains.delete(chain.key);
      this.#chainList = this.#chainList.filter((c) => c !== chain);
      chain.close();
    }
    this.#updateState();
  }

  /** Frees every codec and the timer. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const conn of [...this.#routed.keys()]) {
      this.detach(conn);
    }
    this.#decode?.close();
    this.#decode = undefined;
    stopTicking(this);
    this.#ticking = false;
  }

  /** From the decode stage: one frame of PCM to every chain; a chain that throws does not stop the others. */
  onPcm(pcm: Int16Array, from: DecodeStage, packet: MediaPacket | undefined): void {
    for (const chain of this.#chainList) {
      try {
        chain.onPcm(pcm, from, packet);
      } catch (err) {
        this.diagnostics.chainErrors++;
        this.#ctx.log.warn("chain-failed", "a transcoding chain failed on a frame", {
          elementId: this.#host.id,
          target: chain.key,
          error: String(err),
        });
      }
    }
  }

  /** The shared 20 ms tick: jitter-gap flush, keep-alive silence. */
  tick(): void {
    if (this.#chains.size === 0) {
      stopTicking(this);
      this.#ticking = false;
      return;
    }
    try {
      const now = performance.now();
      this.#decode?.flush(now);
      for (const c of this.#chainList) {
        c.tick(now);
      }
    } catch (err) {
      this.#ctx.log.warn("transcode-tick", "keep-alive failed", { elementId: this.#host.id, error: String(err) });
    }
  }

  #chainFor(packet: MediaPacket, conn: Connection, caps: SinkAudioCaps): TargetChain<Connection> | undefined {
    const routed = this.#routed.get(conn);
    if (routed?.caps === caps) {
      return routed.chain; // the sink's negotiation did not change: same chain (hot path)
    }
    const format = caps.formats.find((f) => TRANSCODABLE.has(f.codec));
    if (format === undefined) {
      this.diagnostics.noTarget++;
      this.#ctx.log.warn("no-target", "the sink negotiated no audio codec Korus can encode: dropped", {
        elementId: this.#host.id,
        sink: conn.sink.id,
      });
      this.detach(conn);
      return undefined;
    }
    const ptime = chainPtime(format.codec, caps.ptimeMs);
    const key = targetKey(format, ptime);
    if (routed?.chain.key === key) {
      routed.chain.continuous ||= caps.continuous;
      routed.chain.dtmf.teRates = caps.telephoneEvents;
      routed.caps = caps;
      return routed.chain;
    }
    if (routed !== undefined) {
      this.detach(conn);
    }
    let chain = this.#chains.get(key);
    if (chain === undefined) {
      const source = packet.codec === "telephone-event" ? (this.#decode?.codec ?? "pcmu") : packet.codec;
      chain = new TargetChain<Connection>(key, format, ptime, source, this.#host, this.#ctx);
      this.#chains.set(key, chain);
      this.#chainList = [...this.#chainList, chain];
      this.diagnostics.encodersCreated++;
      // An Opus decoder running below what the new chain encodes at is restarted at the higher rate.
      const stage = this.#decode;
      if (stage?.codec === "opus" && stage.rate < chain.encRate) {
        stage.close();
        this.#decodedBeforeRestart = stage.lastPacket; // not to be decoded (and played) twice
        this.#decode = undefined;
      }
    }
    chain.add(conn);
    chain.continuous ||= caps.continuous;
    chain.dtmf.teRates = caps.telephoneEvents;
    this.#routed.set(conn, { chain, caps });
    this.#updateState();
    this.#armTimer();
    return chain;
  }

  #openDecode(packet: MediaPacket): DecodeStage {
    const old = this.#decode;
    if (old !== undefined) {
      this.diagnostics.inputChanges++;
      old.close();
      this.#ctx.log.warn("input-change", "the transcoded source changed codec, payload type or SSRC", {
        elementId: this.#host.id,
        stream: `${packet.codec}/${packet.clockRate}/${packet.payloadType}/${packet.ssrc}`,
      });
    }
    let rate = 8000;
    for (const c of this.#chainList) {
      rate = Math.max(rate, c.encRate);
    }
    const stage = DecodeStage.open(packet, rate, this.#host.sourceParameters(packet.payloadType), this, this.#ctx);
    stage.lastPacket = this.#decodedBeforeRestart;
    this.#decodedBeforeRestart = undefined;
    this.#decode = stage;
    return stage;
  }

  #updateState(): void {
    const next = this.#routed.size > 0 ? TranscodingState.Transcoding : TranscodingState.NotTranscoding;
    if (next !== this.#state) {
      this.#state = next;
      this.#host.emit("MediaTranscodingStateChanged", {
        binName: `${this.#host.id}_audio_transcoder`,
        mediaType: "AUDIO",
        state: next,
      });
    }
  }

  /** The keep-alive / jitter-flush tick runs while any chain exists. */
  #armTimer(): void {
    if (!this.#ticking && !this.#closed) {
      this.#ticking = true;
      startTicking(this);
    }
  }
}

/**
 * Automatic audio transcoding on the connections of one source element (issue 4 §5, §6).
 *
 * The source's {@link MediaElement.sendToSinks} hands this object every AUDIO packet whose codec a connected sink
 * did not negotiate (see {@link sinkAccepts}); packets the sink takes as they are never come here (no decode).
 * Like KMS's agnosticbin, it lives on the source's output, so the source is the element that reports
 * `isMediaTranscoding(AUDIO)` and raises `MediaTranscodingStateChanged`.
 *
 *     packet ─▶ JitterBuffer ─▶ decoder (+PLC) ─┬─▶ chain "pcmu/8000/1/20":  [resampler] ─▶ reframer ─▶ encoder ─▶ sinks
 *     (once per packet, shared by every chain)  └─▶ chain "opus/48000/2/20": [resampler] ─▶ reframer ─▶ encoder ─▶ sinks
 *
 * - One decode stage per incoming stream (codec, clock, SSRC, payload type); a change of any restarts it (counted).
 * - One chain, hence one encoder, per target format (codec, clock, channels, the AMR fmtp that shapes the payload,
 *   ptime): every sink that needs the same format shares it and gets the same packets.
 * - Opus is fed natively at 8 or 16 kHz from narrowband sources (its RTP clock stays 48000: 960 ticks per 20 ms);
 *   an Opus source is decoded directly at the highest rate any chain needs (8 kHz when all sinks are G.711).
 * - Each chain numbers its own output (random SSRC, continuous sequence and timestamp) and converts ptime.
 * - Chains towards sinks that must never go quiet (SIP peers) are kept alive by a 20 ms timer: silence frames,
 *   encoded by the chain's own encoder, fill any pause longer than two packet times.
 * - RFC 4733 telephone-events are not decoded: each chain re-maps them to its sink's telephone-event clock,
 *   rescaling the event's timestamp into the chain's timeline and its durations (8000 ↔ 48000), and numbers them
 *   in the chain's sequence.
 *
 * Bad payloads (garbage, truncated AMR) fail the decoder: counted in {@link diagnostics} and concealed as a loss;
 * nothing escapes {@link route}.
 */
import {
  Resampler,
  createDecoder,
  createEncoder,
  pcmReframer,
  type AudioDecoder,
  type AudioEncoder,
  type OpusSampleRate,
  type Reframer,
} from "../codecs/index.js";
import type { MediaPacket } from "../core/types.js";
import type { ElementEventData } from "../core/events.js";
import { RateLimitedLog, type Logger } from "../logger.js";
import { rescaleDuration } from "../rtp/dtmf.js";
import { TranscodeError } from "./errors.js";
import { formatParams, targetKey, TRANSCODABLE, type SinkAudioCaps, type SinkAudioFormat } from "./format.js";
import { JitterBuffer } from "./JitterBuffer.js";

/** Kurento's MediaTranscodingState. */
export enum TranscodingState {
  Transcoding = "TRANSCODING",
  NotTranscoding = "NOT_TRANSCODING",
}

/**
 * A connection the transcoder serves, as it sees one: media/core's `Connection` fits (no import of it, so the core
 * and the transcoder do not import each other). The transcoder keys its chains by these objects and hands them back.
 */
export interface TranscodeTarget {
  readonly sink: {
    readonly id: string;
    /** The AMR mode the sink's peer asks for (RFC 4867 CMR), or undefined. */
    amrModeRequest(): number | undefined;
  };
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

export interface TranscoderDiagnostics {
  /** Packets decoded (audio, after the jitter buffer). */
  decoded: number;
  /** Frames concealed for lost packets. */
  concealed: number;
  /** Payloads the decoder rejected (garbage, truncated AMR): concealed instead. */
  decodeErrors: number;
  /** Restarts of the decode stage (codec, payload type or SSRC changed). */
  inputChanges: number;
  /** Encoders created so far (one per target format). */
  encodersCreated: number;
  /** Packets sent out by chains (audio, including silence). */
  encodedPackets: number;
  /** Silence packets sent to keep RTP flowing. */
  silencePackets: number;
  dtmfForwarded: number;
  /** telephone-events a sink could not take (it negotiated none). */
  dtmfDropped: number;
  /** Packets for a sink none of whose formats Korus can encode. */
  noTarget: number;
  late: number;
  reordered: number;
  lost: number;
}

/** Interval of the keep-alive / jitter-flush timer. */
const TICK_MS = 20;

/**
 * One timer for every transcoder of the worker (a timer per element would wake the event loop 50 times a second
 * per call leg): it runs while at least one transcoder has a chain.
 */
const ticking = new Set<{ tick(): void }>();
let sharedTimer: NodeJS.Timeout | undefined;

function startTicking(t: { tick(): void }): void {
  ticking.add(t);
  if (sharedTimer === undefined) {
    sharedTimer = setInterval(() => {
      for (const x of ticking) {
        x.tick();
      }
      if (ticking.size === 0) {
        clearInterval(sharedTimer);
        sharedTimer = undefined;
      }
    }, TICK_MS);
    sharedTimer.unref();
  }
}
/**
 * Silence fills a pause towards continuous sinks once no packet went out for this many packet times (80 ms at
 * 20 ms): late packets within that window (network jitter) cause no filler, so they add no latency.
 */
const KEEPALIVE_AFTER_PTIMES = 4;
/** Telephone-event timestamps remembered per chain (an event keeps its start timestamp in every packet). */
const DTMF_MEMORY = 8;

/** Natural PCM rate of a codec's decoder/encoder (Opus: the rate it is best fed at for that source). */
function nativeRate(codec: string): number {
  switch (codec) {
    case "pcmu":
    case "pcma":
    case "amr":
      return 8000;
    case "g722":
    case "amr-wb":
      return 16000;
    default:
      return 48000;
  }
}

function opusRate(rate: number): OpusSampleRate {
  return rate <= 8000 ? 8000 : rate <= 16000 ? 16000 : 48000;
}

/** The ptime a chain packetizes at: the sink's a=ptime when the codec can do it, else 20 ms. */
function chainPtime(codec: string, ptime: number | undefined): number {
  if (ptime === undefined) {
    return 20;
  }
  const allowed =
    codec === "opus" ? [10, 20, 40, 60] : codec === "amr" || codec === "amr-wb" ? [20, 40, 60] : [10, 20, 30, 40, 60];
  return allowed.includes(ptime) ? ptime : 20;
}

/** One decoded input stream. */
class DecodeStage {
  readonly key: string;
  readonly codec: string;
  readonly clockRate: number;
  readonly decoder: AudioDecoder;
  readonly rate: number;
  readonly jitter: JitterBuffer<MediaPacket>;
  lastPacket: MediaPacket | undefined;

  constructor(key: string, codec: string, clockRate: number, decoder: AudioDecoder, owner: AudioTranscoder) {
    this.key = key;
    this.codec = codec;
    this.clockRate = clockRate;
    this.decoder = decoder;
    this.rate = decoder.sampleRate;
    this.jitter = new JitterBuffer<MediaPacket>({
      packet: (p) => owner.decodePacket(this, p),
      lost: () => owner.concealFrame(this),
    });
  }
}

/** One target format: resampler, re-framer, encoder, numbering, and the sinks it feeds. */
class Chain<Connection extends TranscodeTarget> {
  readonly key: string;
  readonly format: SinkAudioFormat;
  readonly ptimeMs: number;
  readonly encoder: AudioEncoder;
  readonly encRate: number;
  /** RTP ticks per encoder frame. */
  readonly ticksPerFrame: number;
  /** Encoder frames per RTP packet (AMR with ptime > 20). */
  readonly framesPerPacket: number;
  readonly conns = new Set<Connection>();
  readonly ssrc = (Math.random() * 0xffff_ffff) >>> 0 || 1;
  seq = (Math.random() * 0xffff) >>> 0;
  ts = (Math.random() * 0xffff_ffff) >>> 0;
  readonly reframer: Reframer<Int16Array>;
  resampler: Resampler | undefined;
  readonly silence: Int16Array;
  frameInPacket = 0;
  packetTs = 0;
  first = true;
  continuous = false;
  lastOutMs = performance.now();
  /** While filling a pause with silence: when the next silence packet is due (undefined: not filling). */
  fillAtMs: number | undefined;
  /** Input-ts ↔ output-ts anchor of the last decoded packet, for telephone-events. */
  anchorIn: number | undefined;
  anchorInRate = 8000;
  anchorOut = 0;
  /** Event start timestamps already mapped (in → out). */
  readonly dtmfMap = new Map<number, number>();
  lastDtmf: MediaPacket | undefined;
  /** telephone-event clocks of the chain's sinks (the last attached sink's; sinks of one format share them). */
  teRates: readonly number[] = [];
  /** AMR chains: the modes allowed (ascending) and the one the encoder runs at (CMR, see #followCmr). */
  amr: { readonly modes: readonly number[]; current: number } | undefined;

  constructor(key: string, format: SinkAudioFormat, ptimeMs: number, sourceCodec: string) {
    this.key = key;
    this.format = format;
    this.ptimeMs = ptimeMs;
    const p = formatParams(format.codec, format.parameters);
    const amr = format.codec === "amr" || format.codec === "amr-wb";
    this.framesPerPacket = amr ? ptimeMs / 20 : 1;
    this.encoder = createEncoder(format.codec, {
      ...(format.codec === "opus" ? { sampleRate: opusRate(nativeRate(sourceCodec)) } : {}),
      ...(amr ? { framesPerPacket: this.framesPerPacket, octetAligned: p.octetAligned } : { frameMs: ptimeMs }),
      ...(p.modeSet !== undefined ? { modeSet: p.modeSet } : {}),
      dtx: false,
      opus: { signal: "voice" },
    });
    this.encRate = this.encoder.sampleRate;
    this.ticksPerFrame = (this.encoder.frameSamples * format.clockRate) / this.encRate;
    if (!Number.isInteger(this.ticksPerFrame)) {
      throw new TranscodeError(`${key}: ${this.encoder.frameSamples} samples are not whole RTP ticks`);
    }
    if (amr) {
      // The modes the encoder may use, ascending: the mode-set, else every speech mode of the codec.
      const all = format.codec === "amr" ? [0, 1, 2, 3, 4, 5, 6, 7] : [0, 1, 2, 3, 4, 5, 6, 7, 8];
      const modes = p.modeSet !== undefined && p.modeSet.length > 0 ? [...p.modeSet].sort((x, y) => x - y) : all;
      this.amr = { modes, current: modes[modes.length - 1] ?? 0 };
    }
    this.reframer = pcmReframer(this.encoder.frameSamples * this.encoder.channels);
    this.silence = new Int16Array(this.encoder.frameSamples * this.encoder.channels);
  }
}

export class AudioTranscoder<Connection extends TranscodeTarget = TranscodeTarget> {
  readonly diagnostics: TranscoderDiagnostics = {
    decoded: 0,
    concealed: 0,
    decodeErrors: 0,
    inputChanges: 0,
    encodersCreated: 0,
    encodedPackets: 0,
    silencePackets: 0,
    dtmfForwarded: 0,
    dtmfDropped: 0,
    noTarget: 0,
    late: 0,
    reordered: 0,
    lost: 0,
  };
  readonly #host: TranscoderHost<Connection>;
  readonly #log: RateLimitedLog;
  readonly #chains = new Map<string, Chain<Connection>>();
  readonly #connChain = new Map<Connection, Chain<Connection>>();
  /** The caps object each connection's chain was chosen from: the same object again needs no new choice. */
  readonly #connCaps = new Map<Connection, SinkAudioCaps>();
  #stage: DecodeStage | undefined;
  #decodedBeforeRestart: MediaPacket | undefined;
  /** Registered with the shared timer. */
  #ticking = false;
  #state = TranscodingState.NotTranscoding;
  #closed = false;
  /** The packet being decoded, for the latency stamp of what it produces. */
  #arrivalMs = 0;

  constructor(host: TranscoderHost<Connection>) {
    this.#host = host;
    this.#log = new RateLimitedLog(host.logger);
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
    return [...this.#chains.values()].map((c) => ({ key: c.key, encoderRate: c.encRate, sinks: c.conns.size }));
  }

  /** PCM rate of the current decoder, if any (an Opus source is decoded at the highest rate a chain needs). */
  get decoderRate(): number | undefined {
    return this.#stage?.rate;
  }

  /** Whether `conn` is currently served by a chain. */
  has(conn: Connection): boolean {
    return this.#connChain.has(conn);
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
        this.#dtmf(chain, packet);
        return;
      }
      if (!TRANSCODABLE.has(packet.codec)) {
        this.#log.warn(`src-${packet.codec}`, `cannot decode ${packet.codec}: dropped`, { elementId: this.#host.id });
        return;
      }
      const stage = this.#stageFor(packet);
      if (stage.lastPacket === packet) {
        return; // already decoded for another connection
      }
      stage.lastPacket = packet;
      this.#arrivalMs = packet.arrivalMs;
      stage.jitter.push(packet.sequenceNumber, packet, performance.now());
      this.#syncJitterStats(stage);
    } catch (err) {
      this.#log.warn("transcode-failed", "transcoding a packet failed", {
        elementId: this.#host.id,
        error: String(err),
      });
    }
  }

  /** `conn` no longer needs transcoding (gone, or its sink now takes the source's codec). */
  detach(conn: Connection): void {
    const chain = this.#connChain.get(conn);
    if (chain === undefined) {
      return;
    }
    this.#connChain.delete(conn);
    this.#connCaps.delete(conn);
    chain.conns.delete(conn);
    if (chain.conns.size === 0) {
      this.#chains.delete(chain.key);
      chain.encoder.close();
    }
    this.#updateState();
  }

  /** Frees every codec and the timer. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const conn of [...this.#connChain.keys()]) {
      this.detach(conn);
    }
    this.#stage?.decoder.close();
    this.#stage = undefined;
    ticking.delete(this.#ticker);
    this.#ticking = false;
  }

  // ---------------------------------------------------------------------------------------------- set-up

  #chainFor(packet: MediaPacket, conn: Connection, caps: SinkAudioCaps): Chain<Connection> | undefined {
    if (this.#connCaps.get(conn) === caps) {
      return this.#connChain.get(conn); // the sink's negotiation did not change: same chain (hot path)
    }
    const format = caps.formats.find((f) => TRANSCODABLE.has(f.codec));
    if (format === undefined) {
      this.diagnostics.noTarget++;
      this.#log.warn("no-target", "the sink negotiated no audio codec Korus can encode: dropped", {
        elementId: this.#host.id,
        sink: conn.sink.id,
      });
      this.detach(conn);
      return undefined;
    }
    const ptime = chainPtime(format.codec, caps.ptimeMs);
    const key = targetKey(format, ptime);
    const current = this.#connChain.get(conn);
    if (current?.key === key) {
      current.continuous ||= caps.continuous;
      current.teRates = caps.telephoneEvents;
      this.#connCaps.set(conn, caps);
      return current;
    }
    if (current !== undefined) {
      this.detach(conn);
    }
    let chain = this.#chains.get(key);
    if (chain === undefined) {
      const source = packet.codec === "telephone-event" ? (this.#stage?.codec ?? "pcmu") : packet.codec;
      chain = new Chain<Connection>(key, format, ptime, source);
      this.#chains.set(key, chain);
      this.diagnostics.encodersCreated++;
      // An Opus decoder running below what the new chain encodes at is restarted at the higher rate.
      if (this.#stage?.codec === "opus" && this.#stage.rate < chain.encRate) {
        this.#stage.decoder.close();
        this.#decodedBeforeRestart = this.#stage.lastPacket; // not to be decoded (and played) twice
        this.#stage = undefined;
      }
    }
    chain.conns.add(conn);
    chain.continuous ||= caps.continuous;
    chain.teRates = caps.telephoneEvents;
    this.#connChain.set(conn, chain);
    this.#connCaps.set(conn, caps);
    this.#updateState();
    this.#armTimer();
    return chain;
  }

  #stageFor(packet: MediaPacket): DecodeStage {
    const key = `${packet.codec}/${packet.clockRate}/${packet.payloadType}/${packet.ssrc}`;
    const s = this.#stage;
    if (s?.key === key) {
      return s;
    }
    if (s !== undefined) {
      this.diagnostics.inputChanges++;
      s.decoder.close();
      this.#log.warn("input-change", "the transcoded source changed codec, payload type or SSRC", {
        elementId: this.#host.id,
        stream: key,
      });
    }
    let rate = 8000;
    for (const c of this.#chains.values()) {
      rate = Math.max(rate, c.encRate);
    }
    const p = formatParams(packet.codec, this.#host.sourceParameters(packet.payloadType));
    const decoder = createDecoder(packet.codec, {
      ...(packet.codec === "opus" ? { sampleRate: opusRate(rate) } : {}),
      octetAligned: p.octetAligned,
      ...(p.modeSet !== undefined ? { modeSet: p.modeSet } : {}),
    });
    const stage = new DecodeStage(key, packet.codec, packet.clockRate, decoder, this);
    stage.lastPacket = this.#decodedBeforeRestart;
    this.#decodedBeforeRestart = undefined;
    this.#stage = stage;
    return stage;
  }

  #updateState(): void {
    const next = this.#connChain.size > 0 ? TranscodingState.Transcoding : TranscodingState.NotTranscoding;
    if (next !== this.#state) {
      this.#state = next;
      this.#host.emit("MediaTranscodingStateChanged", {
        binName: `${this.#host.id}_audio_transcoder`,
        mediaType: "AUDIO",
        state: next,
      });
    }
  }

  readonly #ticker = { tick: (): void => this.#tick() };

  /** The keep-alive / jitter-flush tick runs while any chain exists. */
  #armTimer(): void {
    if (!this.#ticking && !this.#closed) {
      this.#ticking = true;
      startTicking(this.#ticker);
    }
  }

  #tick(): void {
    if (this.#chains.size === 0) {
      ticking.delete(this.#ticker);
      this.#ticking = false;
      return;
    }
    try {
      const now = performance.now();
      const stage = this.#stage;
      if (stage !== undefined && stage.jitter.held > 0) {
        this.#arrivalMs = now;
        stage.jitter.flush(now);
        this.#syncJitterStats(stage);
      }
      for (const c of this.#chains.values()) {
        if (!c.continuous) {
          continue;
        }
        if (c.fillAtMs === undefined) {
          if (now - c.lastOutMs < KEEPALIVE_AFTER_PTIMES * c.ptimeMs) {
            continue;
          }
          c.fillAtMs = now; // the source has been quiet for a while: fill at the packet rate from now on
        }
        if (now - c.fillAtMs > 10 * c.ptimeMs) {
          c.fillAtMs = now; // the worker was starved: resume at the packet rate rather than in a burst
        }
        let n = 0;
        while (c.fillAtMs <= now && n++ < 5) {
          this.#emitSilence(c);
          c.fillAtMs += c.ptimeMs;
        }
      }
    } catch (err) {
      this.#log.warn("transcode-tick", "keep-alive failed", { elementId: this.#host.id, error: String(err) });
    }
  }

  #syncJitterStats(stage: DecodeStage): void {
    const j = stage.jitter.stats;
    this.diagnostics.late = j.late + j.duplicates;
    this.diagnostics.reordered = j.reordered;
    this.diagnostics.lost = j.lost;
  }

  // ---------------------------------------------------------------------------------------------- media

  /** Called by the jitter buffer, in order. */
  decodePacket(stage: DecodeStage, p: MediaPacket): void {
    let pcm: Int16Array;
    try {
      pcm = stage.decoder.decode(p.payload);
      this.diagnostics.decoded++;
    } catch (err) {
      this.diagnostics.decodeErrors++;
      this.#log.warn("decode-error", `undecodable ${p.codec} payload: concealed`, {
        elementId: this.#host.id,
        bytes: p.payload.length,
        error: String(err),
      });
      this.concealFrame(stage);
      return;
    }
    for (const c of this.#chains.values()) {
      c.anchorIn = p.timestamp;
      c.anchorInRate = p.clockRate;
      c.anchorOut = (c.ts - Math.round((c.reframer.pending * c.format.clockRate) / c.encRate)) >>> 0;
    }
    this.#feed(stage, pcm);
  }

  /** Called by the jitter buffer for a lost packet: one frame of the decoder's concealment. */
  concealFrame(stage: DecodeStage): void {
    let pcm: Int16Array;
    try {
      pcm = stage.decoder.conceal();
    } catch {
      pcm = new Int16Array((stage.rate * 20) / 1000);
    }
    this.diagnostics.concealed++;
    this.#feed(stage, pcm);
  }

  #feed(stage: DecodeStage, pcm: Int16Array): void {
    for (const c of this.#chains.values()) {
      let input = pcm;
      if (stage.rate !== c.encRate) {
        if (c.resampler?.inRate !== stage.rate) {
          c.resampler = new Resampler(stage.rate, c.encRate);
        }
        input = c.resampler.process(pcm);
      }
      if (c.reframer.pending === 0 && input.length === c.silence.length) {
        this.#encode(c, input, false); // exactly one frame: no re-framing copy
        continue;
      }
      for (const frame of c.reframer.push(input)) {
        this.#encode(c, frame, false);
      }
    }
  }

  #emitSilence(c: Chain<Connection>): void {
    // Whole packets of silence: for AMR with several frames per packet, as many frames as one packet holds.
    for (let i = 0; i < c.framesPerPacket; i++) {
      this.#encode(c, c.silence, true);
    }
  }

  /**
   * RFC 4867 §4.3.1: an AMR chain encodes at the mode its peers ask for in their CMR, the lowest request among the
   * chain's sinks (they share the encoder), mapped into the mode-set (the highest allowed mode not above it); with
   * no request, the highest mode of the set. Changed only at packet boundaries.
   */
  #followCmr(c: Chain<Connection>, amr: { readonly modes: readonly number[]; current: number }): void {
    let requested: number | undefined;
    for (const conn of c.conns) {
      const r = conn.sink.amrModeRequest();
      if (r !== undefined && (requested === undefined || r < requested)) {
        requested = r;
      }
    }
    const top = amr.modes[amr.modes.length - 1] ?? 0;
    const target =
      requested === undefined ? top : ([...amr.modes].reverse().find((m) => m <= requested) ?? amr.modes[0] ?? top);
    if (target !== amr.current) {
      (c.encoder as AudioEncoder & { applyCmr?: (mode: number) => void }).applyCmr?.(target);
      amr.current = target;
    }
  }

  #encode(c: Chain<Connection>, frame: Int16Array, silence: boolean): void {
    const frameTs = c.ts;
    c.ts = (c.ts + c.ticksPerFrame) >>> 0;
    if (c.frameInPacket === 0) {
      c.packetTs = frameTs;
      if (c.amr !== undefined) {
        this.#followCmr(c, c.amr);
      }
    }
    c.frameInPacket = (c.frameInPacket + 1) % c.framesPerPacket;
    const payload = c.encoder.encode(frame);
    if (payload.length === 0) {
      return;
    }
    if (!silence) {
      c.lastOutMs = performance.now();
      c.fillAtMs = undefined;
    }
    this.diagnostics.encodedPackets++;
    if (silence) {
      this.diagnostics.silencePackets++;
    }
    this.#send(c, {
      kind: "AUDIO",
      codec: c.format.codec,
      clockRate: c.format.clockRate,
      payloadType: 0,
      ssrc: c.ssrc,
      sequenceNumber: c.seq,
      timestamp: c.packetTs,
      marker: c.first,
      payload,
      keyframe: false,
      arrivalMs: silence ? performance.now() : this.#arrivalMs,
    });
    c.first = false;
  }

  #send(c: Chain<Connection>, p: MediaPacket): void {
    c.seq = (c.seq + 1) & 0xffff;
    for (const conn of c.conns) {
      this.#host.deliver(p, conn);
    }
  }

  // ---------------------------------------------------------------------------------------------- DTMF

  /**
   * A telephone-event for a chain's sinks: its timestamp moved into the chain's timeline (relative to the last
   * decoded audio packet, rescaled to the chain clock), its durations rescaled to the sink's telephone-event clock,
   * numbered in the chain's sequence. Sent once per chain however many connections it was routed to.
   */
  #dtmf(c: Chain<Connection>, p: MediaPacket): void {
    if (c.lastDtmf === p) {
      return;
    }
    c.lastDtmf = p;
    const rates = c.teRates;
    const outRate = rates.includes(c.format.clockRate) ? c.format.clockRate : rates[0];
    if (outRate === undefined || p.payload.length < 4) {
      this.diagnostics.dtmfDropped++;
      this.#log.warn("dtmf-drop", "telephone-event dropped: the sink negotiated none (or a short payload)", {
        elementId: this.#host.id,
      });
      return;
    }
    let ts = c.dtmfMap.get(p.timestamp);
    if (ts === undefined) {
      if (c.anchorIn !== undefined && c.anchorInRate === p.clockRate) {
        const delta = (p.timestamp - c.anchorIn) | 0;
        ts = (c.anchorOut + rescaleDuration(delta, p.clockRate, c.format.clockRate)) >>> 0;
      } else {
        ts = c.ts;
      }
      c.dtmfMap.set(p.timestamp, ts);
      if (c.dtmfMap.size > DTMF_MEMORY) {
        const oldest = c.dtmfMap.keys().next();
        if (oldest.done !== true) {
          c.dtmfMap.delete(oldest.value);
        }
      }
    }
    const payload = new Uint8Array(p.payload.length - (p.payload.length % 4));
    payload.set(p.payload.subarray(0, payload.length));
    for (let off = 0; off + 4 <= payload.length; off += 4) {
      const d = ((payload[off + 2] ?? 0) << 8) | (payload[off + 3] ?? 0);
      const r = Math.min(0xffff, rescaleDuration(d, p.clockRate, outRate));
      payload[off + 2] = r >>> 8;
      payload[off + 3] = r & 0xff;
    }
    this.diagnostics.dtmfForwarded++;
    this.#send(c, {
      kind: "AUDIO",
      codec: "telephone-event",
      clockRate: outRate,
      payloadType: p.payloadType,
      ssrc: c.ssrc,
      sequenceNumber: c.seq,
      timestamp: ts,
      marker: p.marker,
      payload,
      keyframe: false,
      arrivalMs: p.arrivalMs,
    });
  }
}

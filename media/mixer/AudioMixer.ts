/**
 * The audio MCU behind a Composite: N participants, each hears the sum of all the others (minus-self).
 *
 * Every 20 ms (one timer per mixer, scheduled against performance.now() so it does not drift): each participant's
 * {@link MixInput} yields its next frame or nothing. At most {@link MAX_MIXED} talkers are mixed, the loudest by a
 * smoothed level (with many open microphones, the background noise of everyone would otherwise add up); their
 * frames are summed once (Int32).
 *
 * - A mixed talker's port gets `sum − own frame`, soft-clipped to Int16 and encoded by its own encoder.
 * - Every other port hears the same thing (the whole sum), so one shared encoder encodes it once per tick, however
 *   many listeners there are: a room of 30 with two talkers runs three Opus encoders, not 30.
 * - Each port keeps its own SSRC, sequence numbers and timestamps ({@link MixOutput}: Opus, 48 kHz RTP clock,
 *   payload type 111, marker at the start of a talkspurt), whichever encoder produced the payload. When a port
 *   moves between the shared encoder and its own (it starts or stops talking), the receiver's decoder continues
 *   on packets from another encoder state: a short transition, inaudible in practice.
 * - With no other talker the mix is silence, still encoded and sent: RTP keeps flowing.
 *
 * Mixing rate: 16 kHz mono. Phones bring at most 7 kHz of audio (G.711/AMR-NB 3.4 kHz, G.722/AMR-WB 7 kHz), and
 * wideband is what speech conferences need; at 16 kHz the sum and the soft clipper touch a third of the samples of
 * 48 kHz, Opus decodes and encodes natively at 16 kHz (about a third of the 48 kHz encoder cost, which dominates
 * with one encoder per participant) and G.722/AMR-WB inputs need no resampler at all. WebRTC participants lose
 * what is above 8 kHz, which speech hardly has.
 *
 * Soft clipping: below 3/4 of full scale samples pass unchanged; above, the excess is compressed with tanh into
 * the last quarter, so several loud talkers saturate smoothly instead of wrapping or hard-clipping.
 */
import { createEncoder, type AudioEncoder } from "../codecs/index.js";
import type { MediaPacket } from "../core/types.js";
import { RateLimitedLog, type Logger } from "../logger.js";
import { MIX_FRAME, MIX_RATE, MixInput } from "./MixInput.js";

/** What the mixer needs from a HubPort. */
export interface MixerPort {
  readonly id: string;
  /** Whether anything consumes this port's output (no sink: no encoding). */
  wantsOutput(): boolean;
  /** Hands the port its mix packet (the port sends it to its sinks). */
  deliver(packet: MediaPacket): void;
}

export const MIX_PERIOD_MS = 20;
/** Talkers mixed at once at most (the loudest). */
export const MAX_MIXED = 4;
/** Ticks of catch-up at most after a stall; beyond that the schedule restarts from now. */
const MAX_CATCH_UP = 5;
const CLIP_KNEE = 24576;
const CLIP_RANGE = 32767 - CLIP_KNEE;

/** Soft clipper: identity below the knee, tanh compression of the excess above it. */
export function softClip(v: number): number {
  if (v > CLIP_KNEE) {
    return Math.round(CLIP_KNEE + CLIP_RANGE * Math.tanh((v - CLIP_KNEE) / CLIP_RANGE));
  }
  if (v < -CLIP_KNEE) {
    return -Math.round(CLIP_KNEE + CLIP_RANGE * Math.tanh((-v - CLIP_KNEE) / CLIP_RANGE));
  }
  return v;
}

/** An Opus encoder for 20 ms frames of the 16 kHz mix. */
export function mixEncoder(): AudioEncoder {
  return createEncoder("opus", { sampleRate: MIX_RATE, frameMs: 20, opus: { signal: "voice" } });
}

/**
 * One port's output stream: its own SSRC, sequence numbers and timestamps (48 kHz RTP clock), and its own Opus
 * encoder (16 kHz PCM side), created when the port first needs a mix of its own.
 */
export class MixOutput {
  #encoder: AudioEncoder | undefined;
  readonly ssrc = (Math.random() * 0xffff_ffff) >>> 0 || 1;
  #seq = (Math.random() * 0xffff) >>> 0;
  #ts = (Math.random() * 0xffff_ffff) >>> 0;
  #talking = false;
  packets = 0;

  /** Encodes one 20 ms frame; `talking` (someone else is heard) sets the marker on a talkspurt's first packet. */
  packet(pcm: Int16Array, talking: boolean, arrivalMs: number): MediaPacket {
    this.#encoder ??= mixEncoder();
    return this.wrap(this.#encoder.encode(pcm), talking, arrivalMs);
  }

  /** Numbers a payload encoded elsewhere (the shared encoder) into this stream. */
  wrap(payload: Uint8Array, talking: boolean, arrivalMs: number): MediaPacket {
    const marker = talking && !this.#talking;
    this.#talking = talking;
    const p: MediaPacket = {
      kind: "AUDIO",
      codec: "opus",
      clockRate: 48000,
      payloadType: 111,
      ssrc: this.ssrc,
      sequenceNumber: this.#seq,
      timestamp: this.#ts,
      marker,
      payload,
      keyframe: false,
      arrivalMs,
    };
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + 960) >>> 0;
    this.packets++;
    return p;
  }

  close(): void {
    this.#encoder?.close();
    this.#encoder = undefined;
  }
}

interface Participant {
  readonly port: MixerPort;
  readonly input: MixInput;
  output: MixOutput | undefined;
  /** This tick's frame (copied out of the input), or undefined when silent. */
  frame: Int16Array | undefined;
  readonly frameBuf: Int16Array;
  /** Smoothed mean square of the frames (talker ranking). */
  level: number;
  /** Whether this tick's frame is in the sum. */
  mixed: boolean;
}

export interface MixerStats {
  ticks: number;
  /** Ticks skipped because the event loop stalled for longer than the catch-up window. */
  skippedTicks: number;
  packetsOut: number;
  clippedSamples: number;
  /** Frames encoded by the shared encoder / by ports' own encoders. */
  sharedEncodes: number;
  ownEncodes: number;
  /** Talker-frames left out because more than MAX_MIXED were talking. */
  notMixed: number;
}

export class AudioMixer {
  readonly stats: MixerStats = {
    ticks: 0,
    skippedTicks: 0,
    packetsOut: 0,
    clippedSamples: 0,
    sharedEncodes: 0,
    ownEncodes: 0,
    notMixed: 0,
  };
  readonly #participants = new Map<string, Participant>();
  readonly #sum = new Int32Array(MIX_FRAME);
  readonly #out = new Int16Array(MIX_FRAME);
  readonly #talkers: Participant[] = [];
  #shared: AudioEncoder | undefined;
  readonly #log: RateLimitedLog;
  readonly #id: string;
  #timer: NodeJS.Timeout | undefined;
  #due = 0;
  #closed = false;

  constructor(id: string, logger: Logger) {
    this.#id = id;
    this.#log = new RateLimitedLog(logger);
  }

  get size(): number {
    return this.#participants.size;
  }

  add(port: MixerPort): void {
    if (this.#closed || this.#participants.has(port.id)) {
      return;
    }
    this.#participants.set(port.id, {
      port,
      input: new MixInput(),
      output: undefined,
      frame: undefined,
      frameBuf: new Int16Array(MIX_FRAME),
      level: 0,
      mixed: false,
    });
    this.#arm();
  }

  remove(portId: string): void {
    const p = this.#participants.get(portId);
    if (p === undefined) {
      return;
    }
    this.#participants.delete(portId);
    p.input.close();
    p.output?.close();
    if (this.#participants.size === 0) {
      this.#disarm();
    }
  }

  /** A packet connected into `portId`. Never throws. */
  input(portId: string, packet: MediaPacket): void {
    this.#participants.get(portId)?.input.push(packet, performance.now());
  }

  /** Counters of one participant's input (tests, diagnostics). */
  inputStats(portId: string): MixInput["stats"] | undefined {
    return this.#participants.get(portId)?.input.stats;
  }

  close(): void {
    this.#closed = true;
    for (const id of [...this.#participants.keys()]) {
      this.remove(id);
    }
    this.#disarm();
    this.#shared?.close();
    this.#shared = undefined;
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#closed) {
      return;
    }
    this.#due = performance.now() + MIX_PERIOD_MS;
    // Polled at half the period so each frame leaves within ~10 ms of its due time.
    this.#timer = setInterval(() => this.#onTimer(), MIX_PERIOD_MS / 2);
    this.#timer.unref();
  }

  #disarm(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #onTimer(): void {
    const now = performance.now();
    if (now - this.#due > MAX_CATCH_UP * MIX_PERIOD_MS) {
      const behind = Math.floor((now - this.#due) / MIX_PERIOD_MS);
      this.stats.skippedTicks += behind;
      this.#due += behind * MIX_PERIOD_MS;
    }
    while (now >= this.#due) {
      this.#due += MIX_PERIOD_MS;
      try {
        this.#mixOnce(now);
      } catch (err) {
        this.#log.warn("mix-failed", "mixing a frame failed", { elementId: this.#id, error: String(err) });
      }
    }
  }

  #mixOnce(now: number): void {
    this.stats.ticks++;
    const talkers = this.#talkers;
    talkers.length = 0;
    for (const p of this.#participants.values()) {
      p.mixed = false;
      const f = p.input.tick(now);
      if (f === undefined) {
        p.frame = undefined;
        p.level *= 0.5;
        continue;
      }
      p.frameBuf.set(f);
      p.frame = p.frameBuf;
      let e = 0;
      for (let i = 0; i < MIX_FRAME; i++) {
        e += f[i]! * f[i]!;
      }
      p.level = 0.5 * p.level + 0.5 * (e / MIX_FRAME);
      talkers.push(p);
    }
    if (talkers.length > MAX_MIXED) {
      talkers.sort((a, b) => b.level - a.level);
      this.stats.notMixed += talkers.length - MAX_MIXED;
      talkers.length = MAX_MIXED;
    }
    const sum = this.#sum;
    sum.fill(0);
    for (const p of talkers) {
      p.mixed = true;
      const f = p.frame!;
      for (let i = 0; i < MIX_FRAME; i++) {
        sum[i]! += f[i]!;
      }
    }
    let shared: Uint8Array | undefined;
    for (const p of this.#participants.values()) {
      if (!p.port.wantsOutput()) {
        continue;
      }
      p.output ??= new MixOutput();
      let packet: MediaPacket;
      if (p.mixed) {
        // A mixed talker hears the sum minus itself: a mix of its own.
        this.#clip(sum, p.frame);
        packet = p.output.packet(this.#out, talkers.length > 1, now);
        this.stats.ownEncodes++;
      } else {
        if (shared === undefined) {
          this.#clip(sum, undefined);
          this.#shared ??= mixEncoder();
          shared = this.#shared.encode(this.#out);
          this.stats.sharedEncodes++;
        }
        packet = p.output.wrap(shared, talkers.length > 0, now);
      }
      this.stats.packetsOut++;
      try {
        p.port.deliver(packet);
      } catch (err) {
        this.#log.warn("deliver-failed", "a hub port failed to send its mix", {
          elementId: p.port.id,
          error: String(err),
        });
      }
    }
  }

  /** `sum − own` (own may be absent), soft-clipped into #out. */
  #clip(sum: Int32Array, own: Int16Array | undefined): void {
    const out = this.#out;
    for (let i = 0; i < MIX_FRAME; i++) {
      const v = own === undefined ? sum[i]! : sum[i]! - own[i]!;
      if (v > CLIP_KNEE || v < -CLIP_KNEE) {
        this.stats.clippedSamples++;
        out[i] = softClip(v);
      } else {
        out[i] = v;
      }
    }
  }
}

/**
 * The audio MCU behind a Composite: N participants, each hears the sum of all the others (minus-self).
 *
 * Every 20 ms (one timer per mixer, scheduled against performance.now() so it does not drift): each participant's
 * {@link MixInput} yields its next frame or nothing. At most {@link MAX_MIXED} talkers are mixed, the loudest by a
 * smoothed level (with many open microphones, the background noise of everyone would otherwise add up); their
 * frames are summed once (Int32).
 *
 * The mixer hands PCM to its ports' outputs, and encoding happens per output format (MixFormat.ts: the codec the
 * port's sink negotiated, Opus by default), so a G.711 phone gets µ-law from the mixer and no Opus coder sits
 * between the mix and it:
 *
 * - A mixed talker's port gets `sum − own frame`, soft-clipped to Int16 and encoded by its own encoder, in its own
 *   format (resampled to 8 kHz by its own resampler for G.711/AMR-NB).
 * - Every other port hears the same thing (the whole sum), so each format group ({@link MixGroup}) encodes it once
 *   per tick, however many listeners it has: a room of 30 phones with two talkers runs three µ-law encoders, not
 *   30. The whole mix is resampled to 8 kHz once per tick, for every 8 kHz group.
 * - Each port keeps its own SSRC, sequence numbers and timestamps ({@link MixOutput}: its format's codec, clock and
 *   payload type, marker at the start of a talkspurt), whichever encoder produced the payload.
 * - Idle is cheap: with nobody talking the mix is zeros, neither clipped nor resampled; each group encodes it once
 *   per tick, and a G.711 group encodes it once at all (the silent payload is reused while the room is quiet).
 *   It is still sent: RTP keeps flowing (carriers drop calls whose RTP stops).
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
import { Resampler } from "../codecs/index.js";
import type { MediaPacket } from "../core/types.js";
import { RateLimitedLog, type Logger } from "../logger.js";
import { OPUS_MIX_FORMAT, type MixFormat } from "./MixFormat.js";
import { MIX_FRAME, MIX_RATE, MixInput } from "./MixInput.js";
import { MixGroup, MixOutput } from "./MixOutput.js";

export { MixGroup, MixOutput, mixEncoder } from "./MixOutput.js";

/** What the mixer needs from a HubPort. */
export interface MixerPort {
  readonly id: string;
  /** Whether anything consumes this port's output (no sink: no encoding). */
  wantsOutput(): boolean;
  /** Hands the port its mix packet (the port sends it to its sinks). */
  deliver(packet: MediaPacket): void;
  /** The format its sink takes (MixFormat.ts); called once per tick, so it must be a field read. Default Opus. */
  outputFormat?(): MixFormat;
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
  /** Group mixes made (one per format group and tick; G.711 silence reused) / own mixes encoded. */
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
  /** A mixed talker's own mix (sum − own). */
  readonly #out = new Int16Array(MIX_FRAME);
  /** This tick's whole mix at 16 kHz, and at 8 kHz (resampled once per tick for every 8 kHz group). */
  readonly #mix16 = new Int16Array(MIX_FRAME);
  #mix8: Int16Array = new Int16Array(MIX_FRAME / 2);
  readonly #silence16 = new Int16Array(MIX_FRAME);
  readonly #silence8 = new Int16Array(MIX_FRAME / 2);
  readonly #down = new Resampler(MIX_RATE, 8000);
  /** The tick the 16 / 8 kHz mix was last computed for. */
  #mix16Tick = -1;
  #mix8Tick = -1;
  /** One encoder group per output format: its listeners share one encoder (MixOutput.ts). */
  readonly #groups = new Map<string, MixGroup>();
  readonly #talkers: Participant[] = [];
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
    for (const g of this.#groups.values()) {
      g.close();
    }
    this.#groups.clear();
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
    const tick = this.stats.ticks;
    const silent = talkers.length === 0;
    for (const p of this.#participants.values()) {
      if (!p.port.wantsOutput()) {
        continue;
      }
      const format = p.port.outputFormat?.() ?? OPUS_MIX_FORMAT;
      const out = (p.output ??= new MixOutput(format));
      if (out.format !== format) {
        out.setFormat(format);
      }
      let packet: MediaPacket;
      if (p.mixed) {
        // A mixed talker hears the sum minus itself: a mix of its own, in its own format.
        this.#clip(sum, p.frame, this.#out);
        packet = out.packet(this.#out, talkers.length > 1, now);
        this.stats.ownEncodes++;
      } else {
        const g = (out.group ??= this.#groupOf(format));
        if (!g.has(tick)) {
          g.encode(tick, this.#mixAt(format.pcmRate, silent, tick), silent);
          this.stats.sharedEncodes++;
        }
        packet = out.wrap(g.payload, !silent, now);
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

  /** Codecs of the format groups this mixer encodes for, with their encode counts (tests, diagnostics). */
  groupStats(): { codec: string; key: string; encodes: number }[] {
    return [...this.#groups.values()].map((g) => ({ codec: g.format.codec, key: g.format.key, encodes: g.encodes }));
  }

  #groupOf(format: MixFormat): MixGroup {
    let g = this.#groups.get(format.key);
    if (g === undefined) {
      g = new MixGroup(format);
      this.#groups.set(format.key, g);
    }
    return g;
  }

  /** This tick's whole mix at `rate` (16 or 8 kHz): computed once per tick and rate; zeros when nobody talks. */
  #mixAt(rate: number, silent: boolean, tick: number): Int16Array {
    if (silent) {
      return rate === MIX_RATE ? this.#silence16 : this.#silence8;
    }
    if (this.#mix16Tick !== tick) {
      this.#clip(this.#sum, undefined, this.#mix16);
      this.#mix16Tick = tick;
    }
    if (rate === MIX_RATE) {
      return this.#mix16;
    }
    if (this.#mix8Tick !== tick) {
      this.#mix8 = this.#down.process(this.#mix16);
      this.#mix8Tick = tick;
    }
    return this.#mix8;
  }

  /** `sum − own` (own may be absent), soft-clipped into `out`. */
  #clip(sum: Int32Array, own: Int16Array | undefined, out: Int16Array): void {
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

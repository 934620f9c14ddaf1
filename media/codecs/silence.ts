/**
 * Keeping RTP flowing during silence: carriers and SBCs drop calls whose RTP stops (RTP inactivity timers), so a
 * leg towards a SIP peer must send a frame every ptime even when its source is quiet, on hold, or not connected.
 * {@link SilenceGenerator} encodes one frame of silence per call through the leg's own encoder, so the payload is
 * always valid for the negotiated codec: for G.711 it is the constant µ-law 0xff / A-law 0xd5 pattern (computed
 * once); Opus and AMR encode zeros. The encoder must run without DTX (DTX would turn silence into NO_DATA and
 * empty payloads, which is exactly what must not happen towards such peers): `next()` throws CodecError if the
 * encoder returns nothing. Optionally a very
 * low comfort noise (e.g. −80 dBov) replaces digital zero for peers whose silence detection treats exact zero as
 * a dead line.
 */
import { ComfortNoiseGenerator } from "./comfortNoise.js";
import { CodecError } from "./errors.js";
import { PCMA_TABLES, PCMU_TABLES } from "./g711.js";
import type { AudioEncoder } from "./types.js";

export interface SilenceOptions {
  /** Send noise at this level in −dBov instead of digital zero (e.g. 80). */
  noiseDbov?: number;
}

export class SilenceGenerator {
  readonly encoder: AudioEncoder;
  private readonly pcm: Int16Array;
  private readonly noise: ComfortNoiseGenerator | undefined;
  private readonly constant: Uint8Array | undefined;

  constructor(encoder: AudioEncoder, opts: SilenceOptions = {}) {
    this.encoder = encoder;
    const n = encoder.frameSamples * encoder.channels;
    this.pcm = new Int16Array(n);
    if (opts.noiseDbov !== undefined) {
      if (!(opts.noiseDbov >= 0 && opts.noiseDbov <= 127)) {
        throw new CodecError(`noiseDbov must be 0..127, got ${opts.noiseDbov}`);
      }
      this.noise = new ComfortNoiseGenerator(n);
      this.noise.update({ levelDbov: opts.noiseDbov, reflection: [] });
    } else if (encoder.name === "PCMU" || encoder.name === "PCMA") {
      const code = (encoder.name === "PCMU" ? PCMU_TABLES : PCMA_TABLES).encode[0]!;
      this.constant = new Uint8Array(encoder.frameSamples).fill(code);
    }
  }

  /** The payload of one silent frame. */
  next(): Uint8Array {
    if (this.constant !== undefined) {
      return this.constant.slice();
    }
    const p = this.encoder.encode(this.noise !== undefined ? this.noise.generate() : this.pcm);
    if (p.length === 0) {
      throw new CodecError(`${this.encoder.name} encoder produced no payload for silence (is DTX on?)`);
    }
    return p;
  }
}

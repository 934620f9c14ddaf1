/**
 * Loss handling in front of any {@link AudioDecoder}: {@link ConcealingDecoder} follows RTP sequence numbers and
 * turns gaps into concealment frames from the decoder's own PLC (libopus PLC, the AMR libraries' error
 * concealment, or the waveform PLC of G.711), recovering the last lost frame from Opus in-band FEC when the next
 * packet carries it. Late and duplicate packets are dropped (the jitter buffer in front normally prevents both).
 * Long gaps are capped: beyond `maxConceal` frames the stream is treated as restarted.
 */
import type { AudioDecoder } from "./types.js";

export interface ConcealingDecoderOptions {
  /** Most concealment frames produced for one gap (default 5 = 100 ms at 20 ms). */
  maxConceal?: number;
  /** Use Opus in-band FEC for the frame just before a received packet (default true when the decoder has it). */
  useFec?: boolean;
}

export interface ConcealmentStats {
  decoded: number;
  concealed: number;
  fecRecovered: number;
  late: number;
  /** Gaps longer than maxConceal (treated as a restart). */
  resets: number;
}

interface FecDecoder extends AudioDecoder {
  decodeFec(next: Uint8Array): Int16Array;
}

function hasFec(d: AudioDecoder): d is FecDecoder {
  return typeof (d as Partial<FecDecoder>).decodeFec === "function";
}

export class ConcealingDecoder {
  readonly decoder: AudioDecoder;
  readonly stats: ConcealmentStats = { decoded: 0, concealed: 0, fecRecovered: 0, late: 0, resets: 0 };
  private readonly maxConceal: number;
  private readonly fec: boolean;
  private lastSeq = -1;

  constructor(decoder: AudioDecoder, opts: ConcealingDecoderOptions = {}) {
    this.decoder = decoder;
    this.maxConceal = opts.maxConceal ?? 5;
    this.fec = (opts.useFec ?? true) && hasFec(decoder);
  }

  /** Decodes the packet with RTP sequence number `seq`; returns the frames to play, concealment first. */
  receive(seq: number, payload: Uint8Array): Int16Array[] {
    const out: Int16Array[] = [];
    if (this.lastSeq >= 0) {
      const delta = (seq - this.lastSeq) & 0xffff;
      if (delta === 0 || delta >= 0x8000) {
        this.stats.late++;
        return out;
      }
      const lost = delta - 1;
      if (lost > this.maxConceal) {
        this.stats.resets++;
      } else if (lost > 0) {
        for (let i = 0; i < lost - 1; i++) {
          out.push(this.decoder.conceal());
          this.stats.concealed++;
        }
        if (this.fec && hasFec(this.decoder)) {
          out.push(this.decoder.decodeFec(payload));
          this.stats.fecRecovered++;
        } else {
          out.push(this.decoder.conceal());
          this.stats.concealed++;
        }
      }
    }
    this.lastSeq = seq & 0xffff;
    out.push(this.decoder.decode(payload));
    this.stats.decoded++;
    return out;
  }

  /** A playout tick with no packet (jitter-buffer underrun): one concealment frame; the sequence moves on. */
  missing(): Int16Array {
    if (this.lastSeq >= 0) {
      this.lastSeq = (this.lastSeq + 1) & 0xffff;
    }
    this.stats.concealed++;
    return this.decoder.conceal();
  }
}

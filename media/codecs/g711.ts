/**
 * G.711 µ-law (PCMU) and A-law (PCMA) with lookup tables (libraries.md §7).
 *
 * Decode is a 256-entry Int16Array; encode is a 64 Ki-entry Uint8Array indexed by `sample & 0xffff`, built from
 * the ITU-T G.711 decision levels on the input reduced to 14 bits (µ-law) / 13 bits (A-law) with thresholds at the
 * rounded midpoints between adjacent output levels. That makes it bit-exact with ffmpeg's pcm_mulaw / pcm_alaw for
 * all 65,536 inputs and all 256 codes (test/unit/media/codecs/g711.test.ts checks it against ffmpeg).
 */
import { CodecClosedError, CodecError } from "./errors.js";
import { WaveformPlc } from "./plc.js";
import type { AudioDecoder, AudioEncoder } from "./types.js";

const ulawToLinear = (code: number): number => {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
};

const alawToLinear = (code: number): number => {
  const a = code ^ 0x55;
  const seg = (a & 0x70) >> 4;
  const t = (a & 0x0f) << 4;
  const mag = seg === 0 ? t + 8 : (t + 0x108) << (seg - 1);
  return a & 0x80 ? mag : -mag;
};

export interface G711Tables {
  /** Code → linear 16-bit sample. */
  readonly decode: Int16Array;
  /** (sample & 0xffff) → code. */
  readonly encode: Uint8Array;
}

function buildTables(toLinear: (code: number) => number, positiveMask: number): G711Tables {
  const decode = new Int16Array(256);
  for (let c = 0; c < 256; c++) {
    decode[c] = toLinear(c);
  }
  // 127 decision levels (in 14-bit units) between the 128 positive output levels, in increasing order.
  const threshold = new Int32Array(127);
  for (let i = 0; i < 127; i++) {
    threshold[i] = (toLinear(i ^ positiveMask) + toLinear((i + 1) ^ positiveMask) + 4) >> 3;
  }
  const encode = new Uint8Array(65536);
  let i = 0;
  // Walk magnitudes upwards once (thresholds are monotonic), filling both signs.
  const codeForMag = new Uint8Array(8192);
  for (let mag = 0; mag < 8192; mag++) {
    while (i < 127 && threshold[i]! <= mag) {
      i++;
    }
    codeForMag[mag] = i;
  }
  for (let s = -32768; s <= 32767; s++) {
    const q = s >> 2;
    const mag = Math.min(q < 0 ? -q : q, 8191);
    const idx = codeForMag[mag]!;
    encode[s & 0xffff] = q < 0 ? idx ^ positiveMask ^ 0x80 : idx ^ positiveMask;
  }
  return { decode, encode };
}

/** µ-law tables (RTP payload type 0). */
export const PCMU_TABLES: G711Tables = buildTables(ulawToLinear, 0xff);
/** A-law tables (RTP payload type 8). */
export const PCMA_TABLES: G711Tables = buildTables(alawToLinear, 0xd5);

/** Encodes `pcm` into `out` (same length or longer). */
export function encodeG711(t: G711Tables, pcm: Int16Array, out: Uint8Array): void {
  const enc = t.encode;
  for (let i = 0; i < pcm.length; i++) {
    out[i] = enc[pcm[i]! & 0xffff]!;
  }
}

/** Decodes `payload` into `out` (same length or longer). */
export function decodeG711(t: G711Tables, payload: Uint8Array, out: Int16Array): void {
  const dec = t.decode;
  for (let i = 0; i < payload.length; i++) {
    out[i] = dec[payload[i]!]!;
  }
}

export type G711Law = "PCMU" | "PCMA";

export interface G711Options {
  /** Samples per frame (default 160 = 20 ms); used by `conceal()` and as the expected encode size. */
  frameSamples?: number;
}

/** Largest payload accepted by a decoder: 120 ms at 8 kHz. */
const MAX_G711_PAYLOAD = 960;

function checkFrameSamples(n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n > MAX_G711_PAYLOAD) {
    throw new CodecError(`G.711 frameSamples must be an integer in 1..${MAX_G711_PAYLOAD}, got ${n}`);
  }
  return n;
}

/** G.711 encoder. Takes any number of samples per call (G.711 is sample-based); 8 kHz mono. */
export class G711Encoder implements AudioEncoder {
  readonly name: G711Law;
  readonly sampleRate = 8000;
  readonly channels = 1;
  readonly frameSamples: number;
  private readonly tables: G711Tables;
  private closed = false;

  constructor(law: G711Law, opts: G711Options = {}) {
    this.name = law;
    this.tables = law === "PCMU" ? PCMU_TABLES : PCMA_TABLES;
    this.frameSamples = checkFrameSamples(opts.frameSamples ?? 160);
  }

  encode(pcm: Int16Array): Uint8Array {
    if (this.closed) {
      throw new CodecClosedError(`${this.name} encoder is closed`);
    }
    const out = new Uint8Array(pcm.length);
    encodeG711(this.tables, pcm, out);
    return out;
  }

  close(): void {
    this.closed = true;
  }
}

/** G.711 decoder with waveform PLC (pitch repeat and fade) for lost frames. */
export class G711Decoder implements AudioDecoder {
  readonly name: G711Law;
  readonly sampleRate = 8000;
  readonly channels = 1;
  readonly frameSamples: number;
  private readonly tables: G711Tables;
  private readonly plc: WaveformPlc;
  private closed = false;

  constructor(law: G711Law, opts: G711Options = {}) {
    this.name = law;
    this.tables = law === "PCMU" ? PCMU_TABLES : PCMA_TABLES;
    this.frameSamples = checkFrameSamples(opts.frameSamples ?? 160);
    this.plc = new WaveformPlc(8000, this.frameSamples);
  }

  /** Decodes a payload of 1..960 bytes into as many samples. */
  decode(payload: Uint8Array): Int16Array {
    if (this.closed) {
      throw new CodecClosedError(`${this.name} decoder is closed`);
    }
    if (payload.length === 0 || payload.length > MAX_G711_PAYLOAD) {
      throw new CodecError(`${this.name} payload must be 1..${MAX_G711_PAYLOAD} bytes, got ${payload.length}`);
    }
    const out = new Int16Array(payload.length);
    decodeG711(this.tables, payload, out);
    return this.plc.good(out);
  }

  conceal(): Int16Array {
    if (this.closed) {
      throw new CodecClosedError(`${this.name} decoder is closed`);
    }
    return this.plc.conceal();
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * RTP video depacketisation for the recorder: packets of one RTP timestamp, up to the marker bit, become one
 * encoded frame in the form the container stores.
 *
 * - VP8 (RFC 7741 §4.2): the payload descriptor is stripped; a frame starts with S=1, PID=0; a keyframe has the
 *   P bit of the frame's first byte clear, and its size in bytes 6–9 after the start code 9d 01 2a.
 * - VP9 (RFC 9628 §4.2): the descriptor is stripped; B marks a frame's start, E its end; a keyframe is B with P=0;
 *   its size comes from the scalability structure (V=1) that senders put on keyframes.
 * - H.264 (RFC 6184 §5.6–5.8): single NAL units, STAP-A and FU-A become length-prefixed NAL units (AVC format,
 *   ISO 14496-15); SPS and PPS are kept for the decoder configuration record. IDR (type 5) makes a keyframe.
 *
 * A sequence gap inside a frame drops the frame and every frame up to the next keyframe (the caller asks for one).
 */

export interface EncodedFrame {
  data: Uint8Array;
  keyframe: boolean;
  /** RTP timestamp of the frame. */
  timestamp: number;
  /** Picture size when the frame says (keyframes). */
  width?: number;
  height?: number;
}

export interface RtpIn {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly marker: boolean;
  readonly payload: Uint8Array;
}

/** Collects the packets of one frame; a codec subclass strips its payload headers. */
export abstract class FrameAssembler {
  #parts: Uint8Array[] = [];
  #bytes = 0;
  #ts = -1;
  #nextSeq = -1;
  #broken = false;
  /** Waiting for a keyframe (start, or after loss). */
  needKeyframe = true;
  /** Frames dropped for loss (diagnostics). */
  dropped = 0;

  /** The payload of `p` as it goes into the frame (descriptors stripped), or undefined to skip it. */
  protected abstract strip(payload: Uint8Array, first: boolean): Uint8Array | Uint8Array[] | undefined;
  /** Is the assembled frame a keyframe, and its size. */
  protected abstract inspect(frame: Uint8Array): { keyframe: boolean; width?: number; height?: number };
  /** True when this packet begins a frame (codec-specific start bit). */
  protected abstract startsFrame(payload: Uint8Array): boolean;

  /** Adds a packet; returns a frame when one is complete. */
  push(p: RtpIn): EncodedFrame | undefined {
    let out: EncodedFrame | undefined;
    if (p.timestamp !== this.#ts) {
      // A new frame begins; a previous one without its marker is incomplete.
      if (this.#parts.length > 0) {
        this.#fail();
      }
      this.#reset(p.timestamp);
      if (!this.startsFrame(p.payload)) {
        this.#broken = true;
      }
    } else if (this.#nextSeq !== -1 && p.sequenceNumber !== this.#nextSeq) {
      this.#broken = true;
    }
    this.#nextSeq = (p.sequenceNumber + 1) & 0xffff;
    if (!this.#broken) {
      const s = this.strip(p.payload, this.#parts.length === 0);
      if (s instanceof Uint8Array) {
        this.#add(s);
      } else if (s !== undefined) {
        for (const part of s) {
          this.#add(part);
        }
      }
    }
    if (p.marker) {
      out = this.#finish();
      this.#ts = -1;
    }
    return out;
  }

  #add(part: Uint8Array): void {
    this.#parts.push(part);
    this.#bytes += part.length;
  }

  #reset(ts: number): void {
    this.#parts = [];
    this.#bytes = 0;
    this.#ts = ts;
    this.#broken = false;
  }

  #fail(): void {
    this.dropped++;
    this.needKeyframe = true;
  }

  #finish(): EncodedFrame | undefined {
    if (this.#broken || this.#bytes === 0) {
      this.#fail();
      this.#parts = [];
      return undefined;
    }
    const data = new Uint8Array(this.#bytes);
    let o = 0;
    for (const part of this.#parts) {
      data.set(part, o);
      o += part.length;
    }
    this.#parts = [];
    const info = this.inspect(data);
    if (this.needKeyframe && !info.keyframe) {
      return undefined;
    }
    this.needKeyframe = false;
    return { data, timestamp: this.#ts, ...info };
  }
}

/** RFC 7741 payload descriptor length. */
function vp8DescriptorLength(p: Uint8Array): number {
  if (p.length < 1) {
    return -1;
  }
  let i = 1;
  if ((p[0]! & 0x80) !== 0) {
    const x = p[i++] ?? 0;
    if ((x & 0x80) !== 0) {
      i += (p[i] ?? 0) & 0x80 ? 2 : 1; // PictureID, M bit: 15 bits
    }
    if ((x & 0x40) !== 0) {
      i++; // TL0PICIDX
    }
    if ((x & 0x30) !== 0) {
      i++; // TID/Y/KEYIDX
    }
  }
  return i < p.length ? i : -1;
}

export class Vp8Assembler extends FrameAssembler {
  protected startsFrame(p: Uint8Array): boolean {
    return p.length > 0 && (p[0]! & 0x10) !== 0 && (p[0]! & 0x07) === 0;
  }
  protected strip(p: Uint8Array): Uint8Array | undefined {
    const n = vp8DescriptorLength(p);
    return n < 0 ? undefined : p.subarray(n);
  }
  protected inspect(f: Uint8Array): { keyframe: boolean; width?: number; height?: number } {
    const keyframe = f.length >= 10 && (f[0]! & 0x01) === 0 && f[3] === 0x9d && f[4] === 0x01 && f[5] === 0x2a;
    if (!keyframe) {
      return { keyframe: false };
    }
    return { keyframe, width: (f[6]! | (f[7]! << 8)) & 0x3fff, height: (f[8]! | (f[9]! << 8)) & 0x3fff };
  }
}

/** RFC 9628 §4.2 descriptor: its length, and the first spatial layer's size from the SS when present. */
function vp9Descriptor(p: Uint8Array): { length: number; width?: number; height?: number } {
  const b0 = p[0] ?? 0;
  let i = 1;
  if ((b0 & 0x80) !== 0) {
    i += (p[i] ?? 0) & 0x80 ? 2 : 1; // I: picture id
  }
  if ((b0 & 0x20) !== 0) {
    i += (b0 & 0x10) !== 0 ? 1 : 2; // L: layer indices (+TL0PICIDX in non-flexible mode)
  }
  if ((b0 & 0x10) !== 0 && (b0 & 0x40) !== 0) {
    for (let k = 0; k < 3 && ((p[i++] ?? 0) & 0x01) !== 0; k++) {
      // F and P: up to 3 reference indices, N bit continues
    }
  }
  let width: number | undefined;
  let height: number | undefined;
  if ((b0 & 0x02) !== 0) {
    const ss = p[i++] ?? 0;
    const layers = (ss >> 5) + 1;
    if ((ss & 0x10) !== 0) {
      width = ((p[i] ?? 0) << 8) | (p[i + 1] ?? 0);
      height = ((p[i + 2] ?? 0) << 8) | (p[i + 3] ?? 0);
      i += 4 * layers;
    }
    if ((ss & 0x08) !== 0) {
      const groups = p[i++] ?? 0;
      for (let g = 0; g < groups; g++) {
        i += 1 + (((p[i] ?? 0) >> 2) & 0x03);
      }
    }
  }
  return { length: i < p.length ? i : -1, ...(width ? { width, height } : {}) };
}

export class Vp9Assembler extends FrameAssembler {
  #key = false;
  #size: { width?: number; height?: number } = {};
  protected startsFrame(p: Uint8Array): boolean {
    return p.length > 0 && (p[0]! & 0x08) !== 0;
  }
  protected strip(p: Uint8Array, first: boolean): Uint8Array | undefined {
    const d = vp9Descriptor(p);
    if (first) {
      this.#key = (p[0]! & 0x40) === 0;
      this.#size = d.width === undefined ? {} : { width: d.width, height: d.height ?? 0 };
    }
    return d.length < 0 ? undefined : p.subarray(d.length);
  }
  protected inspect(): { keyframe: boolean; width?: number; height?: number } {
    return { keyframe: this.#key, ...this.#size };
  }
}

/** H.264 (RFC 6184) to AVC length-prefixed NAL units; remembers the last SPS and PPS. */
export class H264Assembler extends FrameAssembler {
  sps: Uint8Array | undefined;
  pps: Uint8Array | undefined;
  #fuHeader: Uint8Array | undefined;
  #fuBytes = 0;

  protected startsFrame(): boolean {
    return true; // H.264 has no frame-start bit; a sequence gap is what breaks a frame
  }

  protected strip(p: Uint8Array): Uint8Array | Uint8Array[] | undefined {
    if (p.length < 1) {
      return undefined;
    }
    const type = p[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      return this.#nal(p);
    }
    if (type === 24) {
      const out: Uint8Array[] = [];
      let i = 1;
      while (i + 2 <= p.length) {
        const n = (p[i]! << 8) | p[i + 1]!;
        i += 2;
        if (n === 0 || i + n > p.length) {
          break;
        }
        out.push(...this.#nal(p.subarray(i, i + n)));
        i += n;
      }
      return out;
    }
    if (type === 28 && p.length > 2) {
      const fu = p[1]!;
      const body = p.subarray(2);
      let head: Uint8Array | undefined;
      if ((fu & 0x80) !== 0) {
        // Start: a 4-byte length (set at the end bit) and the rebuilt NAL header.
        head = new Uint8Array(5);
        head[4] = (p[0]! & 0xe0) | (fu & 0x1f);
        this.#fuHeader = head;
        this.#fuBytes = 1;
      } else if (this.#fuHeader === undefined) {
        return undefined;
      }
      this.#fuBytes += body.length;
      if ((fu & 0x40) !== 0 && this.#fuHeader !== undefined) {
        new DataView(this.#fuHeader.buffer).setUint32(0, this.#fuBytes);
        this.#fuHeader = undefined;
      }
      return head === undefined ? body : [head, body];
    }
    return undefined; // STAP-B, MTAP, FU-B: not sent by WebRTC or ffmpeg
  }

  #nal(nal: Uint8Array): Uint8Array[] {
    const t = nal[0]! & 0x1f;
    if (t === 7) {
      this.sps = nal.slice();
    } else if (t === 8) {
      this.pps = nal.slice();
    }
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, nal.length);
    return [len, nal];
  }

  protected inspect(f: Uint8Array): { keyframe: boolean } {
    this.#fuHeader = undefined;
    const view = new DataView(f.buffer, f.byteOffset, f.byteLength);
    for (let i = 0; i + 4 < f.length; i += 4 + view.getUint32(i)) {
      if (((f[i + 4] ?? 0) & 0x1f) === 5) {
        return { keyframe: true };
      }
    }
    return { keyframe: false };
  }
}

/** An AVCDecoderConfigurationRecord (ISO 14496-15 §5.2.4.1) from one SPS and one PPS. */
export function avcDecoderConfig(sps: Uint8Array, pps: Uint8Array): Uint8Array {
  const out = new Uint8Array(11 + sps.length + pps.length);
  out.set([1, sps[1] ?? 0, sps[2] ?? 0, sps[3] ?? 0, 0xff, 0xe1, sps.length >> 8, sps.length & 0xff], 0);
  out.set(sps, 8);
  const o = 8 + sps.length;
  out.set([1, pps.length >> 8, pps.length & 0xff], o);
  out.set(pps, o + 3);
  return out;
}

/** The RFC 6381 codec string of an SPS: avc1.PPCCLL. */
export function avcCodecString(sps: Uint8Array): string {
  const hex = (b: number | undefined): string => (b ?? 0).toString(16).padStart(2, "0");
  return `avc1.${hex(sps[1])}${hex(sps[2])}${hex(sps[3])}`;
}

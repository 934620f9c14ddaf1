/** The picture size of an H.264 SPS (ITU-T H.264 §7.3.2.1.1), for the container's track header. */

class Bits {
  #i = 0;
  constructor(private readonly b: Uint8Array) {}
  bit(): number {
    const byte = this.b[this.#i >> 3];
    if (byte === undefined) {
      throw new RangeError("SPS truncated");
    }
    const v = (byte >> (7 - (this.#i & 7))) & 1;
    this.#i++;
    return v;
  }
  bits(n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++) {
      v = v * 2 + this.bit();
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) {
        throw new RangeError("bad exp-Golomb code");
      }
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** RBSP of a NAL unit: the emulation prevention bytes (00 00 03) removed, header byte skipped. */
function rbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 1; i < nal.length; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

function skipScalingList(r: Bits, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) {
      next = (last + r.se() + 256) % 256;
    }
    last = next === 0 ? last : next;
  }
}

/** Width and height in pixels, or undefined when the SPS cannot be read. */
export function spsSize(sps: Uint8Array): { width: number; height: number } | undefined {
  try {
    const r = new Bits(rbsp(sps));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chroma = 1;
    if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
      chroma = r.ue();
      if (chroma === 3) {
        r.bit();
      }
      r.ue();
      r.ue();
      r.bit();
      if (r.bit() === 1) {
        for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
          if (r.bit() === 1) {
            skipScalingList(r, i < 6 ? 16 : 64);
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) {
      r.ue();
    } else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const n = r.ue();
      for (let i = 0; i < n; i++) {
        r.se();
      }
    }
    r.ue(); // max_num_ref_frames
    r.bit();
    const wMbs = r.ue() + 1;
    const hMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (frameMbsOnly === 0) {
      r.bit();
    }
    r.bit(); // direct_8x8_inference
    let crop = [0, 0, 0, 0];
    if (r.bit() === 1) {
      crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    }
    const cropX = chroma === 0 || chroma === 3 ? 1 : 2;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = wMbs * 16 - cropX * (crop[0]! + crop[1]!);
    const height = (2 - frameMbsOnly) * hMapUnits * 16 - cropY * (crop[2]! + crop[3]!);
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

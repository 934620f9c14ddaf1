/**
 * Raw video for the video codec benchmark and tests: packed I420 frames (solid colours, a moving pattern), BT.601
 * colour conversion, plane statistics and an IVF writer, so that ffmpeg reads our VP8/VP9 frames.
 */

/** BT.601 limited-range Y, U, V of an RGB colour. */
export function rgbToYuv(r: number, g: number, b: number): [number, number, number] {
  const y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256;
  const u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256;
  const v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256;
  return [Math.round(y), Math.round(u), Math.round(v)];
}

function planes(w: number, h: number): { y: number; u: number; v: number; cw: number; ch: number; size: number } {
  const cw = (w + 1) >> 1;
  const ch = (h + 1) >> 1;
  return { y: 0, u: w * h, v: w * h + cw * ch, cw, ch, size: w * h + 2 * cw * ch };
}

/** A frame of one colour. */
export function solidI420(w: number, h: number, yuv: readonly [number, number, number]): Uint8Array {
  const p = planes(w, h);
  const f = new Uint8Array(p.size);
  f.fill(yuv[0], 0, p.u);
  f.fill(yuv[1], p.u, p.v);
  f.fill(yuv[2], p.v, p.size);
  return f;
}

/** Frame i of a moving pattern: a diagonal luma gradient that scrolls, and a bright square that travels. */
export function movingI420(w: number, h: number, i: number, out?: Uint8Array): Uint8Array {
  const p = planes(w, h);
  const f = out ?? new Uint8Array(p.size);
  const shift = i * 4;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      f[row + x] = 40 + ((x + y + shift) & 127);
    }
  }
  const side = Math.max(8, h >> 3);
  const sx = (i * 8) % Math.max(1, w - side);
  const sy = h >> 2;
  for (let y = sy; y < sy + side; y++) {
    f.fill(235, y * w + sx, y * w + sx + side);
  }
  for (let y = 0; y < p.ch; y++) {
    for (let x = 0; x < p.cw; x++) {
      f[p.u + y * p.cw + x] = 128 + (((x + shift) & 63) - 32);
      f[p.v + y * p.cw + x] = 128 + (((y + shift) & 63) - 32);
    }
  }
  return f;
}

/** Mean of one plane (0 Y, 1 U, 2 V) of a packed I420 frame. */
export function planeMean(f: Uint8Array, w: number, h: number, plane: 0 | 1 | 2): number {
  const p = planes(w, h);
  const [from, to] = plane === 0 ? [0, p.u] : plane === 1 ? [p.u, p.v] : [p.v, p.size];
  let sum = 0;
  for (let k = from; k < to; k++) {
    sum += f[k] ?? 0;
  }
  return sum / (to - from);
}

/** PSNR in dB of the luma planes of two frames of the same size. */
export function lumaPsnr(a: Uint8Array, b: Uint8Array, w: number, h: number): number {
  let se = 0;
  for (let k = 0; k < w * h; k++) {
    const d = (a[k] ?? 0) - (b[k] ?? 0);
    se += d * d;
  }
  const mse = se / (w * h);
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

/** An IVF file (the container ffmpeg reads raw VP8/VP9 frames from): 32-byte header, 12 bytes before each frame. */
export function ivf(codec: "vp8" | "vp9", w: number, h: number, fps: number, frames: readonly Uint8Array[]): Buffer {
  const head = Buffer.alloc(32);
  head.write("DKIF", 0, "ascii");
  head.writeUInt16LE(0, 4);
  head.writeUInt16LE(32, 6);
  head.write(codec === "vp8" ? "VP80" : "VP90", 8, "ascii");
  head.writeUInt16LE(w, 12);
  head.writeUInt16LE(h, 14);
  head.writeUInt32LE(fps, 16);
  head.writeUInt32LE(1, 20);
  head.writeUInt32LE(frames.length, 24);
  const parts: Uint8Array[] = [head];
  frames.forEach((f, i) => {
    const fh = Buffer.alloc(12);
    fh.writeUInt32LE(f.length, 0);
    fh.writeBigUInt64LE(BigInt(i), 4);
    parts.push(fh, f);
  });
  return Buffer.concat(parts);
}

/** The frames in the container ffmpeg reads for the codec: IVF for VP8/VP9, the Annex B stream for H.264. */
export function container(
  codec: "vp8" | "vp9" | "h264",
  w: number,
  h: number,
  fps: number,
  frames: readonly Uint8Array[],
): Buffer {
  return codec === "h264" ? Buffer.concat(frames) : ivf(codec, w, h, fps, frames);
}

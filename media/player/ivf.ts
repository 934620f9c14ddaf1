/**
 * A streaming reader of IVF, the frame container ffmpeg writes VP8 and VP9 into (`-f ivf`): a 32-byte file header
 * (`DKIF`, version, header size, fourcc, width, height, time base denominator and numerator, frame count), then per
 * frame a 12-byte header (frame size, u32 LE; presentation timestamp, u64 LE, in the time base) and the frame.
 * Bytes arrive in pipe chunks of any size; whole frames come out.
 */

export interface IvfHeader {
  /** "VP80", "VP90" or "AV01". */
  readonly fourcc: string;
  readonly width: number;
  readonly height: number;
  /** Seconds per timestamp unit: num / den. */
  readonly timebaseNum: number;
  readonly timebaseDen: number;
}

export interface IvfFrame {
  /** Presentation time in milliseconds. */
  readonly ptsMs: number;
  readonly data: Uint8Array;
}

const FILE_HEADER = 32;
const FRAME_HEADER = 12;
/** A frame larger than this is not a frame of a real file: the stream is refused. */
const MAX_FRAME = 16 * 1024 * 1024;

export class IvfFormatError extends Error {
  override readonly name = "IvfFormatError";
}

export class IvfReader {
  header: IvfHeader | undefined;
  #buf = new Uint8Array(0);
  #len = 0;

  /**
   * Appends `chunk` and returns the frames it completes.
   * @throws IvfFormatError when the stream is not IVF or a frame size is absurd.
   */
  push(chunk: Uint8Array): IvfFrame[] {
    this.#append(chunk);
    let off = 0;
    const view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#len);
    if (this.header === undefined) {
      if (this.#len < FILE_HEADER) {
        return [];
      }
      const magic = String.fromCharCode(...this.#buf.subarray(0, 4));
      const headerSize = view.getUint16(6, true);
      if (magic !== "DKIF" || headerSize < FILE_HEADER) {
        throw new IvfFormatError("not an IVF stream");
      }
      const den = view.getUint32(16, true);
      const num = view.getUint32(20, true);
      if (den === 0 || num === 0) {
        throw new IvfFormatError("IVF time base is zero");
      }
      this.header = {
        fourcc: String.fromCharCode(...this.#buf.subarray(8, 12)),
        width: view.getUint16(12, true),
        height: view.getUint16(14, true),
        timebaseNum: num,
        timebaseDen: den,
      };
      off = headerSize;
      if (this.#len < off) {
        return [];
      }
    }
    const h = this.header;
    const frames: IvfFrame[] = [];
    while (this.#len - off >= FRAME_HEADER) {
      const size = view.getUint32(off, true);
      if (size > MAX_FRAME) {
        throw new IvfFormatError(`IVF frame of ${size} bytes`);
      }
      if (this.#len - off - FRAME_HEADER < size) {
        break;
      }
      const pts = Number(view.getBigInt64(off + 4, true));
      const start = off + FRAME_HEADER;
      frames.push({
        ptsMs: (pts * 1000 * h.timebaseNum) / h.timebaseDen,
        data: this.#buf.slice(start, start + size),
      });
      off = start + size;
    }
    this.#consume(off);
    return frames;
  }

  #append(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      const grown = new Uint8Array(Math.max(2 * this.#buf.length, this.#len + chunk.length, 64 * 1024));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  #consume(n: number): void {
    if (n === 0) {
      return;
    }
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
  }
}

/**
 * AMR-NB (opencore-amrnb) and AMR-WB (vo-amrwbenc encoder, opencore-amrwb decoder) behind the common codec
 * interface. Frames are in the RFC 4867 §5.3 storage layout: one ToC byte (F=0, FT, Q) followed by the speech bits
 * octet-aligned. {@link packAmr} / {@link unpackAmr} in amrPayload.ts convert between that and the two RTP packings.
 *
 * Modes: AMR-NB 0..7 = 4.75, 5.15, 5.90, 6.70, 7.40, 7.95, 10.2, 12.2 kbit/s; AMR-WB 0..8 = 6.60, 8.85, 12.65,
 * 14.25, 15.85, 18.25, 19.85, 23.05, 23.85 kbit/s. With DTX on, the encoders emit SID frames (FT 8 NB / 9 WB) and
 * NO_DATA (FT 15) during silence; the decoders turn those into comfort noise.
 */
import { AMR_NB, AMR_WB, type AmrKind } from "./amrPayload.js";
import { CodecClosedError, CodecError } from "./errors.js";
import { codecError, nativeCodecs, type NativeCodecs, type NativeHandle } from "./native.js";
import type { AudioDecoder, AudioEncoder } from "./types.js";

export interface AmrEncoderOptions {
  /** Initial mode (default: highest, 7 for NB = 12.2k, 8 for WB = 23.85k). */
  mode?: number;
  /** Discontinuous transmission: SID + NO_DATA during silence (default false). */
  dtx?: boolean;
}

/** A one-byte NO_DATA storage frame: what the decoders get for a lost or absent frame. */
const NO_DATA = Uint8Array.of(0x7c);

abstract class AmrEncoderBase implements AudioEncoder {
  abstract readonly name: "AMR" | "AMR-WB";
  readonly channels = 1;
  readonly sampleRate: number;
  readonly frameSamples: number;
  readonly dtx: boolean;
  protected readonly lib: NativeCodecs;
  protected readonly h: NativeHandle;
  protected readonly scratch = new Uint8Array(64);
  private modeValue: number;
  private closed = false;

  protected constructor(
    protected readonly kind: AmrKind,
    opts: AmrEncoderOptions,
    create: (lib: NativeCodecs) => NativeHandle,
  ) {
    this.sampleRate = kind.sampleRate;
    this.frameSamples = kind.frameSamples;
    this.dtx = opts.dtx ?? false;
    this.modeValue = this.checkMode(opts.mode ?? kind.modes - 1);
    this.lib = nativeCodecs();
    try {
      this.h = create(this.lib);
    } catch (e) {
      throw codecError(e, `${kind.name} encoder`);
    }
  }

  /** The current mode (frame type of speech frames). */
  get mode(): number {
    return this.modeValue;
  }

  /** Switches mode from the next frame on (e.g. honouring a CMR). */
  setMode(mode: number): void {
    this.modeValue = this.checkMode(mode);
  }

  /** Encodes 20 ms into one storage frame (ToC + bits): speech, SID or NO_DATA. */
  encode(pcm: Int16Array): Uint8Array {
    if (this.closed) {
      throw new CodecClosedError(`${this.kind.name} encoder is closed`);
    }
    if (pcm.length !== this.frameSamples) {
      throw new CodecError(`${this.kind.name} encoder wants ${this.frameSamples} samples, got ${pcm.length}`);
    }
    let n: number;
    try {
      n = this.run(this.modeValue, pcm);
    } catch (e) {
      throw codecError(e, `${this.kind.name} encoder`);
    }
    return this.scratch.slice(0, n);
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.lib.close(this.h);
    }
  }

  protected abstract run(mode: number, pcm: Int16Array): number;

  private checkMode(mode: number): number {
    if (!Number.isInteger(mode) || mode < 0 || mode >= this.kind.modes) {
      throw new CodecError(`${this.kind.name} mode must be 0..${this.kind.modes - 1}, got ${mode}`);
    }
    return mode;
  }
}

abstract class AmrDecoderBase implements AudioDecoder {
  abstract readonly name: "AMR" | "AMR-WB";
  readonly channels = 1;
  readonly sampleRate: number;
  readonly frameSamples: number;
  protected readonly lib: NativeCodecs;
  protected readonly h: NativeHandle;
  private closed = false;

  protected constructor(
    protected readonly kind: AmrKind,
    create: (lib: NativeCodecs) => NativeHandle,
  ) {
    this.sampleRate = kind.sampleRate;
    this.frameSamples = kind.frameSamples;
    this.lib = nativeCodecs();
    try {
      this.h = create(this.lib);
    } catch (e) {
      throw codecError(e, `${kind.name} decoder`);
    }
  }

  /**
   * Decodes one storage frame (ToC + bits). Speech frames with Q=0 (damaged) and NO_DATA are concealed by the
   * library (or become comfort noise after a SID); SID frames update the comfort noise.
   */
  decode(frame: Uint8Array): Int16Array {
    if (frame.length === 0) {
      throw new CodecError(`${this.kind.name} decoder: empty frame`);
    }
    const ft = (frame[0]! >> 3) & 0x0f;
    const bytes = this.kind.storageBytes[ft] ?? 0;
    if (bytes === 0) {
      throw new CodecError(`${this.kind.name} decoder: frame type ${ft} is not decodable`);
    }
    if (frame.length < bytes) {
      throw new CodecError(`${this.kind.name} decoder: frame type ${ft} needs ${bytes} bytes, got ${frame.length}`);
    }
    const damaged = ft < this.kind.modes && (frame[0]! & 0x04) === 0;
    return this.run(damaged ? NO_DATA : frame);
  }

  /** One frame of the library's own concealment (a NO_DATA frame). */
  conceal(): Int16Array {
    return this.run(NO_DATA);
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.lib.close(this.h);
    }
  }

  protected abstract native(frame: Uint8Array, out: Int16Array): void;

  private run(frame: Uint8Array): Int16Array {
    if (this.closed) {
      throw new CodecClosedError(`${this.kind.name} decoder is closed`);
    }
    const out = new Int16Array(this.frameSamples);
    try {
      this.native(frame, out);
    } catch (e) {
      throw codecError(e, `${this.kind.name} decoder`);
    }
    return out;
  }
}

/** AMR-NB encoder (8 kHz, 160 samples per frame). */
export class AmrNbEncoder extends AmrEncoderBase {
  readonly name = "AMR";
  constructor(opts: AmrEncoderOptions = {}) {
    super(AMR_NB, opts, (lib) => lib.amrnbEncoderCreate(opts.dtx ?? false));
  }
  protected run(mode: number, pcm: Int16Array): number {
    return this.lib.amrnbEncode(this.h, mode, pcm, this.scratch);
  }
}

/** AMR-NB decoder (8 kHz, 160 samples per frame). */
export class AmrNbDecoder extends AmrDecoderBase {
  readonly name = "AMR";
  constructor() {
    super(AMR_NB, (lib) => lib.amrnbDecoderCreate());
  }
  protected native(frame: Uint8Array, out: Int16Array): void {
    this.lib.amrnbDecode(this.h, frame, out);
  }
}

/** AMR-WB encoder (16 kHz, 320 samples per frame). */
export class AmrWbEncoder extends AmrEncoderBase {
  readonly name = "AMR-WB";
  constructor(opts: AmrEncoderOptions = {}) {
    super(AMR_WB, opts, (lib) => lib.amrwbEncoderCreate());
  }
  protected run(mode: number, pcm: Int16Array): number {
    return this.lib.amrwbEncode(this.h, mode, pcm, this.scratch, this.dtx);
  }
}

/** AMR-WB decoder (16 kHz, 320 samples per frame). */
export class AmrWbDecoder extends AmrDecoderBase {
  readonly name = "AMR-WB";
  constructor() {
    super(AMR_WB, (lib) => lib.amrwbDecoderCreate());
  }
  protected native(frame: Uint8Array, out: Int16Array): void {
    this.lib.amrwbDecode(this.h, frame, out);
  }
}

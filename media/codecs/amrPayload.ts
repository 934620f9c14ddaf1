/**
 * RFC 4867 RTP payload format for AMR and AMR-WB: both packings, CMR within mode-set, ToC with F/FT/Q, several
 * frames per packet, SID and NO_DATA for DTX.
 *
 * Frames cross this API in the storage layout of RFC 4867 §5.3, which is what the codec libraries speak: one ToC
 * byte `0 FT(4) Q 0 0` followed by the speech bits, octet-padded with zeros. The speech bits are already in the
 * class A/B/C order of 3GPP TS 26.101/26.201 in both the storage and the RTP layouts, so packing is bit moving:
 *
 * - bandwidth-efficient (§4.3): `CMR(4) | ToC(6) × n | speech bits of every frame back to back | zero pad`;
 *   each ToC entry is `F(1) FT(4) Q(1)`, F=1 when another entry follows.
 * - octet-aligned (§4.4): `CMR(4) R(4)` in one byte, ToC entries as bytes `F FT(4) Q P P`, then each frame's
 *   speech bits padded to a byte. Interleaving and CRCs (the `interleaving` / `crc` fmtp parameters) are not
 *   supported: the SDP layer must not accept them for a payload type that reaches this code.
 *
 * Receiving (§4.3.2/§4.4.2): a ToC entry with FT 9..14 (AMR) or 10..13 (AMR-WB) makes the whole packet invalid;
 * FT 15 NO_DATA and (AMR-WB) FT 14 SPEECH_LOST carry no bits and come out as one-byte frames the decoder
 * conceals; Q=0 marks a damaged frame. A CMR asks the peer's encoder for a mode; {@link resolveCmr} maps it into
 * the negotiated mode-set (the closest lower mode in the set, else the lowest), and `requestedMode` exposes it so
 * the encoder can follow with `setMode()`.
 */
import { AmrPayloadError } from "./errors.js";

export interface AmrKind {
  readonly name: "AMR" | "AMR-WB";
  readonly sampleRate: number;
  readonly frameSamples: number;
  /** Speech modes 0..modes-1. */
  readonly modes: number;
  /** Frame type of SID (comfort noise) frames. */
  readonly sidFt: number;
  /** Speech/SID bits per frame type; -1 where the frame type is not allowed in a payload. */
  readonly bits: readonly number[];
  /** Storage-frame bytes (ToC included) per frame type; 0 where not decodable. */
  readonly storageBytes: readonly number[];
}

const storage = (bits: readonly number[]): number[] => bits.map((b) => (b < 0 ? 0 : 1 + Math.ceil(b / 8)));

const NB_BITS = [95, 103, 118, 134, 148, 159, 204, 244, 39, -1, -1, -1, -1, -1, -1, 0];
const WB_BITS = [132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0];

export const AMR_NB: AmrKind = {
  name: "AMR",
  sampleRate: 8000,
  frameSamples: 160,
  modes: 8,
  sidFt: 8,
  bits: NB_BITS,
  storageBytes: storage(NB_BITS),
};

export const AMR_WB: AmrKind = {
  name: "AMR-WB",
  sampleRate: 16000,
  frameSamples: 320,
  modes: 9,
  sidFt: 9,
  bits: WB_BITS,
  storageBytes: storage(WB_BITS),
};

/** CMR value meaning "no mode request". */
export const CMR_NONE = 15;
/** Frame type of NO_DATA. */
export const FT_NO_DATA = 15;
/** Frame type of SPEECH_LOST (AMR-WB only). */
export const FT_SPEECH_LOST = 14;

export interface AmrPayloadOptions {
  /** `octet-align=1` in the fmtp; bandwidth-efficient otherwise. */
  octetAligned: boolean;
  /** The negotiated `mode-set`; all modes when absent. */
  modeSet?: readonly number[];
}

export interface AmrPackOptions extends AmrPayloadOptions {
  /** Codec mode request to send (default 15 = none). Must be in the mode-set. */
  cmr?: number;
}

export interface AmrUnpacked {
  /** The CMR field as received (15 = no request). */
  cmr: number;
  /** The mode our encoder should use to honour the CMR within the mode-set, or undefined for no request. */
  requestedMode: number | undefined;
  /** The frames in order, in storage layout (ToC byte + bits); NO_DATA / SPEECH_LOST are one byte. */
  frames: Uint8Array[];
}

/** Frame type of a storage frame. */
export function frameType(frame: Uint8Array): number {
  if (frame.length === 0) {
    throw new AmrPayloadError("empty AMR frame");
  }
  return (frame[0]! >> 3) & 0x0f;
}

/** True for speech frames (FT < modes), false for SID, NO_DATA and SPEECH_LOST. */
export function isSpeechFrame(kind: AmrKind, frame: Uint8Array): boolean {
  return frameType(frame) < kind.modes;
}

/** True for SID (comfort noise) frames. */
export function isSidFrame(kind: AmrKind, frame: Uint8Array): boolean {
  return frameType(frame) === kind.sidFt;
}

/**
 * Maps a received CMR into the mode-set: `undefined` for 15 (no request) or an invalid value (RFC 4867 says to
 * ignore those); otherwise the highest mode of the set not above the request, or the lowest mode of the set.
 */
export function resolveCmr(kind: AmrKind, cmr: number, modeSet?: readonly number[]): number | undefined {
  if (cmr === CMR_NONE || cmr < 0 || cmr >= kind.modes) {
    return undefined;
  }
  if (modeSet === undefined || modeSet.length === 0) {
    return cmr;
  }
  let best: number | undefined;
  let lowest = Infinity;
  for (const m of modeSet) {
    if (m <= cmr && (best === undefined || m > best)) {
      best = m;
    }
    lowest = Math.min(lowest, m);
  }
  return best ?? lowest;
}

function checkModeSet(kind: AmrKind, modeSet: readonly number[] | undefined): void {
  if (modeSet === undefined) {
    return;
  }
  for (const m of modeSet) {
    if (!Number.isInteger(m) || m < 0 || m >= kind.modes) {
      throw new AmrPayloadError(`${kind.name} mode-set holds ${m}, outside 0..${kind.modes - 1}`);
    }
  }
}

/** Validates one storage frame for sending; returns its frame type. */
function checkFrame(kind: AmrKind, frame: Uint8Array, modeSet: readonly number[] | undefined, i: number): number {
  const ft = frameType(frame);
  const bits = kind.bits[ft]!;
  if (bits < 0) {
    throw new AmrPayloadError(`${kind.name} frame ${i}: frame type ${ft} cannot be sent`);
  }
  if (frame.length !== kind.storageBytes[ft]) {
    throw new AmrPayloadError(
      `${kind.name} frame ${i}: frame type ${ft} is ${kind.storageBytes[ft]} bytes, got ${frame.length}`,
    );
  }
  if (ft < kind.modes && modeSet !== undefined && modeSet.length > 0 && !modeSet.includes(ft)) {
    throw new AmrPayloadError(`${kind.name} frame ${i}: mode ${ft} is outside the mode-set ${modeSet.join(",")}`);
  }
  return ft;
}

/** Packs storage frames (20 ms each, in order) into one RTP payload. */
export function packAmr(kind: AmrKind, frames: readonly Uint8Array[], opts: AmrPackOptions): Uint8Array {
  checkModeSet(kind, opts.modeSet);
  if (frames.length === 0) {
    throw new AmrPayloadError(`${kind.name}: no frames to pack`);
  }
  const cmr = opts.cmr ?? CMR_NONE;
  if (cmr !== CMR_NONE) {
    if (!Number.isInteger(cmr) || cmr < 0 || cmr >= kind.modes) {
      throw new AmrPayloadError(`${kind.name}: CMR ${cmr} is not a mode`);
    }
    if (opts.modeSet !== undefined && opts.modeSet.length > 0 && !opts.modeSet.includes(cmr)) {
      throw new AmrPayloadError(`${kind.name}: CMR ${cmr} is outside the mode-set`);
    }
  }
  const fts = frames.map((f, i) => checkFrame(kind, f, opts.modeSet, i));
  if (opts.octetAligned) {
    let size = 1 + frames.length;
    for (const f of frames) {
      size += f.length - 1;
    }
    const out = new Uint8Array(size);
    out[0] = cmr << 4;
    let pos = 1 + frames.length;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      out[1 + i] = (i < frames.length - 1 ? 0x80 : 0) | (fts[i]! << 3) | (f[0]! & 0x04);
      out.set(f.subarray(1), pos);
      pos += f.length - 1;
    }
    return out;
  }
  let totalBits = 4 + 6 * frames.length;
  for (const ft of fts) {
    totalBits += kind.bits[ft]!;
  }
  const out = new Uint8Array(Math.ceil(totalBits / 8));
  const w = new BitWriter(out);
  w.write(cmr, 4);
  for (let i = 0; i < frames.length; i++) {
    w.write(i < frames.length - 1 ? 1 : 0, 1);
    w.write(fts[i]!, 4);
    w.write((frames[i]![0]! >> 2) & 1, 1);
  }
  for (let i = 0; i < frames.length; i++) {
    w.copyBits(frames[i]!, 8, kind.bits[fts[i]!]!);
  }
  return out;
}

/** Unpacks one RTP payload into storage frames; throws AmrPayloadError when truncated or inconsistent. */
export function unpackAmr(kind: AmrKind, payload: Uint8Array, opts: AmrPayloadOptions): AmrUnpacked {
  checkModeSet(kind, opts.modeSet);
  if (payload.length === 0) {
    throw new AmrPayloadError(`${kind.name}: empty payload`);
  }
  const tocs: { ft: number; q: number }[] = [];
  const frames: Uint8Array[] = [];
  let cmr: number;
  const ftOf = (ft: number, i: number): number => {
    if (kind.bits[ft]! < 0) {
      throw new AmrPayloadError(`${kind.name}: ToC entry ${i} has reserved frame type ${ft}; packet discarded`);
    }
    return ft;
  };
  if (opts.octetAligned) {
    cmr = payload[0]! >> 4;
    let pos = 1;
    for (;;) {
      if (pos >= payload.length) {
        throw new AmrPayloadError(`${kind.name}: payload truncated inside the table of contents`);
      }
      const b = payload[pos++]!;
      tocs.push({ ft: ftOf((b >> 3) & 0x0f, tocs.length), q: (b >> 2) & 1 });
      if ((b & 0x80) === 0) {
        break;
      }
    }
    for (const { ft, q } of tocs) {
      const n = kind.storageBytes[ft]! - 1;
      if (pos + n > payload.length) {
        throw new AmrPayloadError(
          `${kind.name}: payload truncated: frame type ${ft} needs ${n} bytes, ${payload.length - pos} left`,
        );
      }
      const f = new Uint8Array(n + 1);
      f[0] = (ft << 3) | (q << 2);
      f.set(payload.subarray(pos, pos + n), 1);
      pos += n;
      frames.push(f);
    }
    if (pos !== payload.length) {
      throw new AmrPayloadError(`${kind.name}: ${payload.length - pos} bytes after the last frame`);
    }
  } else {
    const r = new BitReader(payload);
    cmr = r.read(4);
    for (;;) {
      if (r.left < 6) {
        throw new AmrPayloadError(`${kind.name}: payload truncated inside the table of contents`);
      }
      const f = r.read(1);
      const ft = ftOf(r.read(4), tocs.length);
      tocs.push({ ft, q: r.read(1) });
      if (f === 0) {
        break;
      }
    }
    for (const { ft, q } of tocs) {
      const bits = kind.bits[ft]!;
      if (r.left < bits) {
        throw new AmrPayloadError(
          `${kind.name}: payload truncated: frame type ${ft} needs ${bits} bits, ${r.left} left`,
        );
      }
      const out = new Uint8Array(kind.storageBytes[ft]!);
      out[0] = (ft << 3) | (q << 2);
      r.copyInto(out, 8, bits);
      frames.push(out);
    }
    if (r.left >= 8) {
      throw new AmrPayloadError(`${kind.name}: ${r.left} bits after the last frame`);
    }
  }
  return { cmr, requestedMode: resolveCmr(kind, cmr, opts.modeSet), frames };
}

export interface AmrPacketizerOptions extends AmrPayloadOptions {
  /** Frames per RTP packet (ptime / 20 ms), 1..12 (default 1). */
  framesPerPacket?: number;
}

/**
 * Collects encoder frames into RTP payloads of `framesPerPacket` frames with the current CMR. During DTX a packet
 * whose frames are all NO_DATA is not sent (`push` returns null); a SID frame always is.
 */
export class AmrPacketizer {
  readonly kind: AmrKind;
  readonly framesPerPacket: number;
  private readonly opts: AmrPayloadOptions;
  private pending: Uint8Array[] = [];
  private cmrValue = CMR_NONE;

  constructor(kind: AmrKind, opts: AmrPacketizerOptions) {
    checkModeSet(kind, opts.modeSet);
    const n = opts.framesPerPacket ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 12) {
      throw new AmrPayloadError(`framesPerPacket must be 1..12, got ${n}`);
    }
    this.kind = kind;
    this.framesPerPacket = n;
    this.opts = { octetAligned: opts.octetAligned, ...(opts.modeSet ? { modeSet: opts.modeSet } : {}) };
  }

  /** The CMR sent in the next packets (15 = none), e.g. to ask the peer for a lower rate. */
  set cmr(v: number) {
    if (v !== CMR_NONE) {
      packAmr(this.kind, [Uint8Array.of(0x7c)], { ...this.opts, cmr: v }); // validates against mode-set
    }
    this.cmrValue = v;
  }
  get cmr(): number {
    return this.cmrValue;
  }

  /** Adds one frame; returns a payload when a packet is complete (unless it is all NO_DATA), else null. */
  push(frame: Uint8Array): Uint8Array | null {
    checkFrame(this.kind, frame, this.opts.modeSet, this.pending.length);
    this.pending.push(frame);
    if (this.pending.length < this.framesPerPacket) {
      return null;
    }
    const frames = this.pending;
    this.pending = [];
    if (frames.every((f) => frameType(f) === FT_NO_DATA)) {
      return null;
    }
    return packAmr(this.kind, frames, { ...this.opts, cmr: this.cmrValue });
  }
}

class BitWriter {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      if ((value >> i) & 1) {
        this.buf[this.pos >> 3]! |= 0x80 >> (this.pos & 7);
      }
      this.pos++;
    }
  }

  /** Appends `bits` bits of `src` starting at bit offset `from` (MSB first). */
  copyBits(src: Uint8Array, from: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      const s = from + i;
      if ((src[s >> 3]! >> (7 - (s & 7))) & 1) {
        this.buf[this.pos >> 3]! |= 0x80 >> (this.pos & 7);
      }
      this.pos++;
    }
  }
}

class BitReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get left(): number {
    return this.buf.length * 8 - this.pos;
  }

  read(bits: number): number {
    let v = 0;
    for (let i = 0; i < bits; i++) {
      v = (v << 1) | ((this.buf[this.pos >> 3]! >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }

  /** Copies `bits` bits into `dst` starting at bit offset `at` (dst must be zeroed). */
  copyInto(dst: Uint8Array, at: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      if ((this.buf[this.pos >> 3]! >> (7 - (this.pos & 7))) & 1) {
        const d = at + i;
        dst[d >> 3]! |= 0x80 >> (d & 7);
      }
      this.pos++;
    }
  }
}

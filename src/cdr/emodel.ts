/**
 * Estimated MOS by a simplified ITU-T G.107 E-model (narrowband scale), as pure functions.
 *
 * ```
 * R      = (Ro − Is) − Id − Ie,eff + A            G.107 §7.1, with the default Ro − Is = 93.2 and A = 0
 * Id     = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3) Cole & Rosenbluth (2001) fit of G.107's Idd + Idte + Idle
 * Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)   G.107 §7.5 eq. (7-29)
 * MOS    = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶ for 0 < R < 100 (1 below, 4.5 above)   G.107 Annex B
 * ```
 * d, the one-way mouth-to-ear delay, is estimated as RTT/2 + a jitter buffer of 2 × jitter + the codec's frame
 * and look-ahead delay. Ppl is the packet loss in percent; BurstR = 1 (random loss) unless given.
 *
 * Ie and Bpl come from ITU-T G.113 Appendix I where it lists the codec (G.711 with its Appendix I PLC, G.729A,
 * G.723.1, GSM-EFR = AMR 12.2 for Ie). Values G.113 does not list on the narrowband scale are assumptions, marked
 * `assumed: true`: wideband codecs (Opus, AMR-WB, G.722) are scored as Ie 0 on the narrowband scale, so their MOS
 * is conservative (G.107.1's wideband scale would rate them higher).
 */

export interface CodecImpairment {
  /** Equipment impairment factor Ie. */
  ie: number;
  /** Packet-loss robustness factor Bpl. */
  bpl: number;
  /** Frame plus look-ahead delay in ms. */
  delayMs: number;
  /** True when Ie/Bpl are not taken from G.113 Appendix I. */
  assumed: boolean;
}

const G711: CodecImpairment = { ie: 0, bpl: 25.1, delayMs: 20, assumed: false };

/** Keyed by lower-case SDP encoding name. */
export const CODEC_IMPAIRMENTS: Readonly<Record<string, CodecImpairment>> = {
  pcmu: G711,
  pcma: G711,
  g729: { ie: 11, bpl: 19, delayMs: 25, assumed: false },
  g723: { ie: 15, bpl: 16.1, delayMs: 37.5, assumed: false },
  amr: { ie: 5, bpl: 10, delayMs: 25, assumed: true },
  "amr-wb": { ie: 0, bpl: 10, delayMs: 25, assumed: true },
  g722: { ie: 0, bpl: 20, delayMs: 21.5, assumed: true },
  opus: { ie: 0, bpl: 20, delayMs: 26.5, assumed: true },
};

/** Used for a codec missing from {@link CODEC_IMPAIRMENTS}: G.711 without PLC (G.113 Bpl 4.3), conservative. */
export const UNKNOWN_CODEC: CodecImpairment = { ie: 0, bpl: 4.3, delayMs: 20, assumed: true };

/** The impairment factors of a codec name (`PCMA`, `PCMA/8000`, `opus/48000/2` …; case-insensitive). */
export function codecImpairment(codec: string): CodecImpairment {
  const name = codec.split("/")[0]?.trim().toLowerCase() ?? "";
  return CODEC_IMPAIRMENTS[name] ?? UNKNOWN_CODEC;
}

/** Default Ro − Is of G.107 (all other parameters at their defaults). */
export const R_DEFAULT = 93.2;

/** The delay impairment Id for a one-way delay `d` in ms (negative delays count as 0). */
export function delayImpairment(d: number): number {
  const x = Math.max(0, d);
  return 0.024 * x + (x > 177.3 ? 0.11 * (x - 177.3) : 0);
}

/** Ie,eff for a packet loss of `lossPercent` (0…100) and a burst ratio (1 = random loss). */
export function effectiveEquipmentImpairment(c: CodecImpairment, lossPercent: number, burstR = 1): number {
  const ppl = Math.min(100, Math.max(0, lossPercent));
  const b = burstR > 0 ? burstR : 1;
  return c.ie + ((95 - c.ie) * ppl) / (ppl / b + c.bpl);
}

/** G.107 Annex B: MOS (1…4.5) for an R factor. */
export function mosFromR(r: number): number {
  if (!(r > 0)) {
    return 1;
  }
  if (r >= 100) {
    return 4.5;
  }
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

export interface EmodelInput {
  codec: string;
  /** Lost packets in percent of expected packets. */
  lossPercent: number;
  /** RTCP round-trip time in ms; 0 when unknown. */
  rttMs?: number;
  /** Mean interarrival jitter in ms; sizes the assumed jitter buffer (2 × jitter). */
  jitterMs?: number;
  /** G.107 BurstR; 1 for random loss. */
  burstR?: number;
}

export interface EmodelResult {
  r: number;
  mos: number;
  /** One-way delay used for Id, in ms. */
  delayMs: number;
  id: number;
  ieEff: number;
  /** True when the codec's factors are assumptions (see the module comment). */
  assumed: boolean;
}

/** The E-model estimate for one direction of a call. Never throws; non-finite inputs count as 0. */
export function estimateMos(input: EmodelInput): EmodelResult {
  const fin = (v: number | undefined): number => (v !== undefined && Number.isFinite(v) && v > 0 ? v : 0);
  const c = codecImpairment(input.codec);
  const delayMs = fin(input.rttMs) / 2 + 2 * fin(input.jitterMs) + c.delayMs;
  const id = delayImpairment(delayMs);
  const ieEff = effectiveEquipmentImpairment(c, fin(input.lossPercent), input.burstR ?? 1);
  const r = Math.max(0, Math.min(100, R_DEFAULT - id - ieEff));
  return { r, mos: mosFromR(r), delayMs, id, ieEff, assumed: c.assumed };
}

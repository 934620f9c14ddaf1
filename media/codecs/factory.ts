/**
 * Codec selection by SDP encoding name (rtpmap), for the transcoding graph: `createEncoder("AMR-WB", …)` and
 * `createDecoder("PCMU")` return the matching wrapper behind the common {@link AudioEncoder} / {@link AudioDecoder}
 * interface. Names are matched case-insensitively (`opus`, `PCMU`, `PCMA`, `G722`, `AMR`, `AMR-WB`).
 *
 * Every object works on RTP payloads: for AMR that means RFC 4867 payloads (amrRtp.ts: packing, CMR, DTX), not
 * the storage frames of amr.ts.
 *
 * Opus is always `opus/48000/2` in SDP, but its PCM side may run at 8, 16 or 48 kHz: pass `sampleRate` to feed a
 * narrowband source natively (about a third of the 48 kHz encode cost, issue 4 §5).
 */
import { AmrRtpDecoder, AmrRtpEncoder } from "./amrRtp.js";
import { CodecError } from "./errors.js";
import { G711Decoder, G711Encoder } from "./g711.js";
import { G722Decoder, G722Encoder } from "./g722.js";
import { OpusDecoder, OpusEncoder, type OpusEncoderOptions, type OpusSampleRate } from "./opus.js";
import type { AudioDecoder, AudioEncoder } from "./types.js";

export type CodecName = "PCMU" | "PCMA" | "G722" | "opus" | "AMR" | "AMR-WB";

export interface CodecOptions {
  /** PCM rate for Opus (8000, 16000 or 48000; default 48000). Fixed for the others. */
  sampleRate?: OpusSampleRate;
  /** Frame duration in ms (default 20). G.711, G.722 and Opus only; AMR frames are always 20 ms. */
  frameMs?: number;
  /** AMR mode-set from the fmtp: the encoder starts at its highest mode. */
  modeSet?: readonly number[];
  /** AMR `octet-align=1` (default: bandwidth-efficient). */
  octetAligned?: boolean;
  /** AMR frames per RTP packet (ptime / 20; default 1). */
  framesPerPacket?: number;
  /** AMR/Opus DTX. */
  dtx?: boolean;
  /** Opus settings beyond the above. */
  opus?: Omit<OpusEncoderOptions, "sampleRate" | "frameMs" | "dtx">;
}

/** The canonical name for an SDP encoding name, or undefined when Korus has no codec for it. */
export function codecName(encodingName: string): CodecName | undefined {
  switch (encodingName.toUpperCase()) {
    case "PCMU":
      return "PCMU";
    case "PCMA":
      return "PCMA";
    case "G722":
      return "G722";
    case "OPUS":
      return "opus";
    case "AMR":
      return "AMR";
    case "AMR-WB":
      return "AMR-WB";
    default:
      return undefined;
  }
}

function known(encodingName: string): CodecName {
  const n = codecName(encodingName);
  if (n === undefined) {
    throw new CodecError(`no codec for encoding ${JSON.stringify(encodingName)}`);
  }
  return n;
}

function g711Frame(opts: CodecOptions): number {
  return (8000 * (opts.frameMs ?? 20)) / 1000;
}

function amrOptions(opts: CodecOptions): { octetAligned: boolean; modeSet?: readonly number[] } {
  return { octetAligned: opts.octetAligned ?? false, ...(opts.modeSet !== undefined ? { modeSet: opts.modeSet } : {}) };
}

export function createEncoder(encodingName: string, opts: CodecOptions = {}): AudioEncoder {
  const name = known(encodingName);
  switch (name) {
    case "PCMU":
    case "PCMA":
      return new G711Encoder(name, { frameSamples: g711Frame(opts) });
    case "G722":
      return new G722Encoder({ frameSamples: 2 * g711Frame(opts) });
    case "opus":
      return new OpusEncoder({
        ...opts.opus,
        sampleRate: opts.sampleRate ?? 48000,
        frameMs: opts.frameMs ?? 20,
        dtx: opts.dtx ?? false,
      });
    case "AMR":
    case "AMR-WB":
      return new AmrRtpEncoder(name === "AMR-WB", {
        ...amrOptions(opts),
        dtx: opts.dtx ?? false,
        ...(opts.framesPerPacket !== undefined ? { framesPerPacket: opts.framesPerPacket } : {}),
      });
  }
}

export function createDecoder(encodingName: string, opts: CodecOptions = {}): AudioDecoder {
  const name = known(encodingName);
  switch (name) {
    case "PCMU":
    case "PCMA":
      return new G711Decoder(name, { frameSamples: g711Frame(opts) });
    case "G722":
      return new G722Decoder({ frameSamples: 2 * g711Frame(opts) });
    case "opus":
      return new OpusDecoder({ sampleRate: opts.sampleRate ?? 48000, frameMs: opts.frameMs ?? 20 });
    case "AMR":
    case "AMR-WB":
      return new AmrRtpDecoder(name === "AMR-WB", amrOptions(opts));
  }
}

/**
 * What every stage of the transcoder shares with the others and with {@link AudioTranscoder}: the counters it
 * reports through (one object per transcoder, written in place: no allocation per packet) and the rate-limited log
 * of the element it works for. Types only, so stage files import this and never the transcoder itself.
 */
import type { RateLimitedLog } from "../../logger.js";

export interface TranscoderDiagnostics {
  /** Packets decoded (audio, after the jitter buffer). */
  decoded: number;
  /** Frames concealed for lost packets. */
  concealed: number;
  /** Payloads the decoder rejected (garbage, truncated AMR): concealed instead. */
  decodeErrors: number;
  /** Restarts of the decode stage (codec, payload type or SSRC changed). */
  inputChanges: number;
  /** Encoders created so far (one per target format). */
  encodersCreated: number;
  /** Packets sent out by chains (audio, including silence). */
  encodedPackets: number;
  /** Silence packets sent to keep RTP flowing. */
  silencePackets: number;
  dtmfForwarded: number;
  /** telephone-events a sink could not take (it negotiated none). */
  dtmfDropped: number;
  /** Packets for a sink none of whose formats Korus can encode. */
  noTarget: number;
  /** Frames a target chain failed on (its encoder threw): the other chains still got them. */
  chainErrors: number;
  late: number;
  reordered: number;
  lost: number;
}

export function newDiagnostics(): TranscoderDiagnostics {
  return {
    decoded: 0,
    concealed: 0,
    decodeErrors: 0,
    inputChanges: 0,
    encodersCreated: 0,
    encodedPackets: 0,
    silencePackets: 0,
    dtmfForwarded: 0,
    dtmfDropped: 0,
    noTarget: 0,
    chainErrors: 0,
    late: 0,
    reordered: 0,
    lost: 0,
  };
}

/** Given once to each stage at construction. */
export interface StageContext {
  /** The element the transcoder works for (log lines). */
  readonly elementId: string;
  readonly log: RateLimitedLog;
  readonly counters: TranscoderDiagnostics;
}

/**
 * A connection the transcoder serves, as it sees one: media/core's `Connection` fits (no import of it, so the core
 * and the transcoder do not import each other). The transcoder keys its chains by these objects and hands them back.
 */
export interface TranscodeTarget {
  readonly sink: {
    readonly id: string;
    /** The AMR mode the sink's peer asks for (RFC 4867 CMR), or undefined. */
    amrModeRequest(): number | undefined;
  };
}

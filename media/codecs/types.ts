/**
 * The common shape of every audio codec in media/codecs/: PCM is interleaved signed 16-bit at `sampleRate`, one
 * call handles exactly one frame of `frameSamples` samples per channel (20 ms unless configured otherwise).
 */

export interface AudioCodecInfo {
  /** Encoding name as in SDP (`PCMU`, `PCMA`, `opus`, `AMR`, `AMR-WB`). */
  readonly name: string;
  /** PCM sample rate in Hz of the samples this object takes or gives. */
  readonly sampleRate: number;
  /** Interleaved channels of the PCM. */
  readonly channels: number;
  /** Samples per channel in one frame. */
  readonly frameSamples: number;
}

export interface AudioEncoder extends AudioCodecInfo {
  /** Encodes one frame (`frameSamples × channels` samples). Throws CodecError on a wrong size or after close(). */
  encode(pcm: Int16Array): Uint8Array;
  /** Frees the native state now (idempotent); a finalizer does it otherwise. */
  close(): void;
}

export interface AudioDecoder extends AudioCodecInfo {
  /** Decodes one payload into one frame of PCM. Throws CodecError on garbage or after close(). */
  decode(payload: Uint8Array): Int16Array;
  /** One frame of concealment for a lost packet (the codec's own PLC where it has one). */
  conceal(): Int16Array;
  /** Frees the native state now (idempotent); a finalizer does it otherwise. */
  close(): void;
}

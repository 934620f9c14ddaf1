/**
 * In-band DTMF from a peer that sends tones in its audio (a trunk with `dtmf: inband`): each RTP payload of the
 * negotiated codec is decoded and fed to a Goertzel detector (media/codecs/dtmfTones.ts), which reports each key
 * press once, when it ends, with its duration. The endpoint raises DtmfReceived for them.
 *
 * Decoding happens only for endpoints in inband mode: the audio still leaves the endpoint untouched (sinks hear the
 * tones), this is a side branch. A payload the decoder rejects is counted and skipped.
 */
import { DtmfToneDetector, type DetectedTone } from "../codecs/dtmfTones.js";
import { createDecoder } from "../codecs/factory.js";
import type { AudioDecoder } from "../codecs/types.js";
import { formatParams } from "./format.js";
import type { InbandFormat } from "./InbandDtmfSender.js";

export class InbandDtmfReceiver {
  readonly format: InbandFormat;
  readonly #decoder: AudioDecoder;
  readonly #detector: DtmfToneDetector;
  /** Payloads the decoder rejected. */
  decodeErrors = 0;

  /** @throws CodecError when Korus has no decoder for the format. */
  constructor(format: InbandFormat) {
    this.format = format;
    const p = formatParams(format.codec, format.parameters);
    this.#decoder = createDecoder(format.codec, {
      ...(format.codec === "opus" ? { sampleRate: 16000 } : {}),
      octetAligned: p.octetAligned,
      ...(p.modeSet !== undefined ? { modeSet: p.modeSet } : {}),
    });
    this.#detector = new DtmfToneDetector({ sampleRate: this.#decoder.sampleRate });
  }

  /** Decodes one payload and returns the key presses that ended in it. */
  push(payload: Uint8Array): DetectedTone[] {
    let pcm: Int16Array;
    try {
      pcm = this.#decoder.decode(payload);
    } catch {
      this.decodeErrors++;
      return [];
    }
    return this.#detector.push(pcm);
  }

  /** Ends a tone in progress (the call ended). */
  flush(): DetectedTone[] {
    return this.#detector.flush();
  }

  close(): void {
    this.#decoder.close();
  }
}

/**
 * The format a HubPort's mix leaves in: the codec its sink negotiated with its peer, so that a G.711 phone gets
 * µ-law straight from the mixer and its endpoint forwards it untouched (no Opus, no transcoder between the mix and
 * the listener).
 *
 * How a port learns it: the sink's {@link SinkAudioCaps} (`audioSinkCaps()`, the same object until the sink's next
 * negotiation), the caps the transcoding layer already reads. {@link mixFormatFor} takes the peer's most preferred
 * format the mixer can encode in 20 ms frames; without caps (a sink that takes any codec: PassThrough, a
 * recorder, an endpoint not negotiated yet), or when none fits (an a=ptime other than 20, a codec Korus cannot
 * encode), it is Opus, and `sendToSinks` transcodes for such a sink as before.
 *
 * Formats are interned by key: one object per distinct format, so the mixer compares them by identity per tick.
 */
import { createEncoder, type AudioEncoder } from "../codecs/index.js";
import { formatParams, targetKey, type SinkAudioCaps, type SinkAudioFormat } from "../transcode/format.js";
import { MIX_RATE } from "./MixInput.js";

export interface MixFormat {
  /** Key of the format group: listeners of the same key share one encoder. */
  readonly key: string;
  /** Lower-case encoding name, as in MediaPacket.codec. */
  readonly codec: string;
  readonly clockRate: number;
  /** Payload type set on the packets (endpoints map codec/clockRate to the peer's own payload type). */
  readonly payloadType: number;
  /** PCM rate the encoder takes: 16 kHz (the mixing rate) or 8 kHz (a resampler in front). */
  readonly pcmRate: number;
  /** RTP timestamp increment per 20 ms packet. */
  readonly tsStep: number;
  /** Whether the same PCM always encodes to the same payload (G.711): encoded silence can be reused. */
  readonly stateless: boolean;
  /** AMR fmtp settings (ignored by the other codecs). */
  readonly octetAligned: boolean;
  readonly modeSet: readonly number[] | undefined;
}

const STATIC_PT: Record<string, number> = { pcmu: 0, pcma: 8, g722: 9, opus: 111, amr: 96, "amr-wb": 97 };

const interned = new Map<string, MixFormat>();

function intern(f: SinkAudioFormat): MixFormat {
  const key = targetKey(f, 20);
  let m = interned.get(key);
  if (m === undefined) {
    const p = formatParams(f.codec, f.parameters);
    const pcmRate = f.codec === "pcmu" || f.codec === "pcma" || f.codec === "amr" ? 8000 : MIX_RATE;
    m = {
      key,
      codec: f.codec,
      clockRate: f.clockRate,
      payloadType: STATIC_PT[f.codec] ?? 96,
      pcmRate,
      tsStep: (f.clockRate * 20) / 1000,
      stateless: f.codec === "pcmu" || f.codec === "pcma",
      octetAligned: p.octetAligned,
      modeSet: p.modeSet,
    };
    interned.set(key, m);
  }
  return m;
}

/** The mix as Kurento's Composite always sent it: Opus, 48 kHz RTP clock, encoded from the 16 kHz mix. */
export const OPUS_MIX_FORMAT: MixFormat = intern({ codec: "opus", clockRate: 48000, channels: 2 });

/** Whether the mixer encodes `f` itself (its clock is the one the codec is defined with). */
function encodable(f: SinkAudioFormat): boolean {
  switch (f.codec) {
    case "pcmu":
    case "pcma":
    case "g722":
    case "amr":
      return f.clockRate === 8000;
    case "amr-wb":
      return f.clockRate === 16000;
    case "opus":
      return f.clockRate === 48000;
    default:
      return false;
  }
}

/** The format the mix is encoded in for a sink with `caps` (see the file comment). */
export function mixFormatFor(caps: SinkAudioCaps | undefined): MixFormat {
  if (caps === undefined || (caps.ptimeMs !== undefined && caps.ptimeMs !== 20)) {
    return OPUS_MIX_FORMAT;
  }
  for (const f of caps.formats) {
    if (encodable(f)) {
      return intern(f);
    }
  }
  return OPUS_MIX_FORMAT;
}

/** An encoder of 20 ms frames of `f` at its {@link MixFormat.pcmRate}. */
export function createMixEncoder(f: MixFormat): AudioEncoder {
  switch (f.codec) {
    case "opus":
      return createEncoder("opus", { sampleRate: MIX_RATE, frameMs: 20, opus: { signal: "voice" } });
    case "amr":
    case "amr-wb":
      return createEncoder(f.codec, {
        octetAligned: f.octetAligned,
        ...(f.modeSet !== undefined ? { modeSet: f.modeSet } : {}),
      });
    default:
      return createEncoder(f.codec, { frameMs: 20 });
  }
}

/**
 * One recording session of a RecorderEndpoint, from `record()` to the closed file: RTP packets in (Opus audio,
 * VP8/VP9/H.264 video), frames on one clock out to the {@link RecordingWriter}, the journal entry around it.
 * The element (media/elements/RecorderEndpoint.ts) owns the Kurento state machine; this class owns the media.
 */
import type { MediaPacket } from "../core/types.js";
import { RecordingClock, StreamClock } from "./clock.js";
import {
  FrameAssembler,
  H264Assembler,
  Vp8Assembler,
  Vp9Assembler,
  avcCodecString,
  avcDecoderConfig,
} from "./depacketize.js";
import { spsSize } from "./h264Sps.js";
import type { RecordingProfile } from "./profiles.js";
import { RecordingWriter, type VideoConfig, type WriterSummary } from "./RecordingWriter.js";

/** Fallback picture size when a keyframe does not carry one (VP9 without SS, an unreadable SPS). */
const DEFAULT_SIZE = { width: 640, height: 480 };

/** Least spacing of keyframe requests after loss. */
const LOSS_KEYFRAME_MS = 500;
/**
 * MP4 with video: a fragment can only begin at a keyframe (mediabunny closes one at the first keyframe ≥ 0.5 s
 * into it) and a crash loses the fragment being written. When the source has sent no keyframe for this long, one
 * is asked (again at most this often until it comes), so fragments stay about 1 s or shorter; a source whose own
 * keyframes come sooner is never asked.
 */
const FRAGMENT_KEYFRAME_MS = 800;

export interface RecordingHooks {
  /** Video needs a keyframe (start, loss, a new source). */
  requestKeyframe(): void;
  /** The first media was written (Kurento's `Recording` event). */
  started(): void;
  /** The writer failed (a full disk…). */
  failed(err: Error): void;
}

export class Recording {
  readonly writer: RecordingWriter;
  #startMs = -1;
  #pausedTotal = 0;
  #pausedAt = -1;
  readonly #clock = new RecordingClock();
  readonly #audioClock = new StreamClock();
  readonly #videoClock = new StreamClock();
  #assembler: FrameAssembler | undefined;
  #videoCodec = "";
  #videoConfig: VideoConfig | undefined;
  #lastKeyframeRequest = -Infinity;
  #started = false;
  #lastKeyframe = -Infinity;

  constructor(
    path: string,
    readonly profile: RecordingProfile,
    private readonly hooks: RecordingHooks,
  ) {
    this.writer = new RecordingWriter(
      path,
      profile.container,
      profile,
      (err) => hooks.failed(err),
      () => hooks.requestKeyframe(),
    );
  }

  pause(now: number): void {
    if (this.#pausedAt < 0) {
      this.#pausedAt = now;
    }
  }

  resume(now: number): void {
    if (this.#pausedAt >= 0) {
      if (this.#startMs >= 0) {
        this.#pausedTotal += now - this.#pausedAt;
      }
      this.#pausedAt = -1;
      if (this.#assembler !== undefined) {
        this.#assembler.needKeyframe = true;
      }
      this.#askKeyframe(now, true);
    }
  }

  /** A source switch on the video pad: the next frame must be a keyframe. */
  videoSourceChanged(): void {
    if (this.#assembler !== undefined) {
      this.#assembler.needKeyframe = true;
    }
    this.#askKeyframe(performance.now(), true);
  }

  push(p: MediaPacket): void {
    if (this.#pausedAt >= 0 || this.writer.failed) {
      return;
    }
    if (p.kind === "AUDIO") {
      if (this.profile.audio && p.codec === "opus") {
        const t = this.#time(this.#audioClock, p, p.timestamp);
        this.writer.audio(p.payload.slice(), t);
        this.#begin();
      }
      return;
    }
    if (!this.profile.video || !this.profile.videoCodecs.has(p.codec)) {
      return;
    }
    if (p.codec !== this.#videoCodec) {
      if (this.#videoConfig !== undefined) {
        return; // the track's codec is fixed once written; frames of another codec are not recordable into it
      }
      this.#videoCodec = p.codec;
      this.#assembler =
        p.codec === "vp8" ? new Vp8Assembler() : p.codec === "vp9" ? new Vp9Assembler() : new H264Assembler();
    }
    const asm = this.#assembler;
    if (asm === undefined) {
      return;
    }
    const frame = asm.push(p);
    if (frame === undefined) {
      if (asm.needKeyframe) {
        this.#askKeyframe(p.arrivalMs, false);
      }
      return;
    }
    const config = frame.keyframe ? this.#configFor(frame.width, frame.height, asm) : undefined;
    if (frame.keyframe && config === undefined) {
      asm.needKeyframe = true; // H.264 IDR without SPS/PPS seen yet
      return;
    }
    const t = this.#time(this.#videoClock, p, frame.timestamp);
    this.writer.video(frame.data, frame.keyframe, t, config);
    if (this.profile.container === "mp4") {
      // A fragment can only begin at a keyframe: ask one only when the source's own are too far apart.
      if (frame.keyframe) {
        this.#lastKeyframe = p.arrivalMs;
      } else if (
        p.arrivalMs - this.#lastKeyframe >= FRAGMENT_KEYFRAME_MS &&
        p.arrivalMs - this.#lastKeyframeRequest >= FRAGMENT_KEYFRAME_MS
      ) {
        this.#askKeyframe(p.arrivalMs, true);
      }
    }
    this.#begin();
  }

  #begin(): void {
    if (!this.#started) {
      this.#started = true;
      this.hooks.started();
    }
  }

  #configFor(width: number | undefined, height: number | undefined, asm: FrameAssembler): VideoConfig | undefined {
    if (asm instanceof H264Assembler) {
      if (asm.sps === undefined || asm.pps === undefined) {
        return undefined;
      }
      const size = spsSize(asm.sps) ?? DEFAULT_SIZE;
      this.#videoConfig ??= {
        codec: "avc",
        codecString: avcCodecString(asm.sps),
        ...size,
        description: avcDecoderConfig(asm.sps, asm.pps),
      };
      return this.#videoConfig;
    }
    const codec = this.#videoCodec === "vp9" ? "vp9" : "vp8";
    this.#videoConfig ??= {
      codec,
      codecString: codec === "vp9" ? "vp09.00.10.08" : "vp8",
      width: width !== undefined && width > 0 ? width : DEFAULT_SIZE.width,
      height: height !== undefined && height > 0 ? height : DEFAULT_SIZE.height,
    };
    return this.#videoConfig;
  }

  /** Seconds on the recording's clock: the stream's RTP time through its SR (or arrival), minus the paused spans. */
  #time(clock: StreamClock, p: MediaPacket, ts: number): number {
    if (this.#startMs < 0) {
      this.#startMs = p.arrivalMs;
    }
    let ms = clock.map(p.ssrc, ts, p.clockRate, p.arrivalMs, p.sender, this.#startMs, this.#clock) - this.#pausedTotal;
    if (ms <= clock.last) {
      ms = clock.last + 0.001; // monotonic per track (reordered or duplicated timestamps)
    }
    clock.last = ms;
    return Math.max(0, ms) / 1000;
  }

  #askKeyframe(now: number, force: boolean): void {
    if (force || now - this.#lastKeyframeRequest >= LOSS_KEYFRAME_MS) {
      this.#lastKeyframeRequest = now;
      this.hooks.requestKeyframe();
    }
  }

  finish(): Promise<WriterSummary> {
    return this.writer.finish();
  }
}

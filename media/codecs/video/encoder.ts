/**
 * VideoEncoder: packed I420 frames in, VP8/VP9 (libvpx) or H.264 (libx264, constrained baseline, Annex B) out, in
 * real-time settings, encoded on the instance's own video thread. The encoder reads the caller's frame in place:
 * do not change the frame's bytes until its encode() has settled. When frames arrive faster than the encoder
 * runs, the oldest queued frame is dropped (its encode() resolves null, stats.dropped counts it).
 */
import { VideoEncodeError, videoError } from "./errors.js";
import { JobTable, type VideoCodecStats } from "./jobs.js";
import { type NativeVideoHandle, nativeVideo, type VideoCodecName } from "./native.js";

export interface VideoEncoderOptions {
  codec: VideoCodecName;
  /** The source's size (even, 16..4096). A frame of another size reopens the encoder at that size. */
  width: number;
  height: number;
  /** Target bits per second (default 1 000 000); change it at run time with setBitrate(). */
  bitrate?: number;
  /** The source's nominal frame rate, until its timestamps (90 kHz) tell (default 30). */
  frameRate?: number;
  /** Codec threads (default 1). */
  threads?: number;
  /** Frames waiting at most (default 2). */
  queueSize?: number;
  /** Frames between periodic keyframes; 0 (default): keyframes on request only. */
  keyframeInterval?: number;
  /** libvpx speed (default 8: VP8's real-time speed; VP9 clamps to 9). */
  cpuUsed?: number;
  /** x264 preset (default "veryfast"), always with tune zerolatency. */
  preset?: string;
}

/** A frame of packed I420 (Y, then U, then V). */
export interface I420Frame {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface EncodedVideoFrame {
  /** One frame: a VP8/VP9 frame, or an H.264 access unit in Annex B (SPS/PPS before every IDR). */
  data: Buffer;
  keyframe: boolean;
  /** The timestamp given to encode() (90 kHz). */
  timestamp: number;
}

/** Bytes of a packed I420 frame. */
export function i420Size(width: number, height: number): number {
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  return width * height + 2 * cw * ch;
}

export class VideoEncoder {
  readonly codec: VideoCodecName;
  private readonly handle: NativeVideoHandle;
  private readonly jobs = new JobTable<EncodedVideoFrame | null>(this);
  private closed = false;
  private target: number;

  constructor(opts: VideoEncoderOptions) {
    this.codec = opts.codec;
    this.target = opts.bitrate ?? 1_000_000;
    const self = new WeakRef(this); // the addon holds the callback: it must not hold the encoder (jobs.ts)
    try {
      this.handle = nativeVideo().encoderCreate(
        opts.codec,
        opts.width,
        opts.height,
        this.target,
        opts.frameRate ?? 30,
        opts.threads ?? 1,
        opts.queueSize ?? 2,
        opts.keyframeInterval ?? 0,
        opts.cpuUsed ?? 8,
        opts.preset ?? "veryfast",
        (id, err, data, keyframe, timestamp) => self.deref()?.onResult(id, err, data, keyframe, timestamp),
      );
    } catch (e) {
      throw videoError(e, `${opts.codec} encoder`);
    }
  }

  /** The bitrate target in bits per second. */
  get bitrate(): number {
    return this.target;
  }

  /**
   * Queues a frame (timestamp on a 90 kHz clock). Resolves with the encoded frame, or null when it was dropped
   * unencoded because the encoder fell behind. `keyframe` forces this frame to be a keyframe.
   */
  encode(frame: I420Frame, timestamp: number, keyframe = false): Promise<EncodedVideoFrame | null> {
    const { id, promise } = this.jobs.add();
    let dropped: number;
    try {
      dropped = nativeVideo().encode(this.handle, id, frame.data, frame.width, frame.height, timestamp, keyframe);
    } catch (e) {
      this.jobs.reject(id, videoError(e, `${this.codec} encoder`));
      return promise;
    }
    if (dropped >= 0) {
      this.jobs.resolve(dropped, null);
    }
    return promise;
  }

  /** The next frame the encoder takes is a keyframe (however many sinks asked in between). */
  forceKeyframe(): void {
    try {
      nativeVideo().forceKeyframe(this.handle);
    } catch (e) {
      throw videoError(e, `${this.codec} encoder`);
    }
  }

  /** Changes the target bitrate (bits per second, 10 000..100 000 000) from the next frame on. */
  setBitrate(bps: number): void {
    try {
      nativeVideo().setBitrate(this.handle, Math.round(bps));
    } catch (e) {
      throw videoError(e, `${this.codec} encoder`);
    }
    this.target = Math.round(bps);
  }

  stats(): VideoCodecStats {
    return nativeVideo().stats(this.handle);
  }

  /** Stops the video thread; queued encodes reject with VideoCodecClosedError. Idempotent. */
  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    nativeVideo().close(this.handle);
    this.jobs.closeAll(`${this.codec} encoder`);
  }

  private onResult(id: number, err: string | null, data: Buffer | null, keyframe: boolean, timestamp: number): void {
    if (err !== null) {
      this.jobs.reject(id, new VideoEncodeError(`${this.codec} encoder: ${err}`));
      return;
    }
    this.jobs.resolve(id, data === null ? null : { data, keyframe, timestamp });
  }
}

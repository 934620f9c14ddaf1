/**
 * VideoDecoder: VP8, VP9 or H.264 (Annex B) access units in, packed I420 frames out, decoded on the instance's own
 * video thread (libavcodec). Frames land in a small pool of buffers shared with the addon: use a frame's `data`
 * until `release()`, then the buffer is reused. Corrupt or truncated input rejects that one decode() with
 * VideoDecodeError; the decoder stays usable (ask the source for a keyframe).
 */
import { VideoDecodeError, videoError } from "./errors.js";
import { JobTable, type VideoCodecStats } from "./jobs.js";
import { type NativeDecodedFrame, type NativeVideoHandle, nativeVideo, type VideoCodecName } from "./native.js";

export interface VideoDecoderOptions {
  codec: VideoCodecName;
  /** libavcodec slice threads (default 1: the instance's video thread alone). */
  threads?: number;
  /** Pooled output buffers (default 4). A frame decoded while JS holds all of them is dropped (stats.poolDrops). */
  poolSize?: number;
  /** Access units waiting at most (default 8); beyond, the oldest is dropped and its decode() resolves null. */
  queueSize?: number;
  /** Scale the output to this size (libswscale); default: the source's size. */
  width?: number;
  height?: number;
  /** The largest frame a stream may declare, in pixels (default 4096×2304): hostile streams cannot ask more. */
  maxPixels?: number;
}

/** A decoded frame: packed I420 (Y, then U, then V, each plane tightly packed). */
export class DecodedVideoFrame {
  private released = false;
  constructor(
    private readonly owner: VideoDecoder,
    private readonly slot: number,
    /** The I420 bytes; valid until release(). */
    readonly data: Uint8Array,
    readonly width: number,
    readonly height: number,
    /** The timestamp given to decode() with the access unit of this frame. */
    readonly timestamp: number,
  ) {}

  /** Hands the buffer back to the decoder's pool; `data` must not be used after. Idempotent. */
  release(): void {
    if (!this.released) {
      this.released = true;
      this.owner.releaseSlot(this.slot);
    }
  }
}

export class VideoDecoder {
  readonly codec: VideoCodecName;
  private readonly handle: NativeVideoHandle;
  private readonly jobs = new JobTable<DecodedVideoFrame[] | null>(this);
  private closed = false;

  constructor(opts: VideoDecoderOptions) {
    this.codec = opts.codec;
    const self = new WeakRef(this); // the addon holds the callback: it must not hold the decoder (jobs.ts)
    try {
      this.handle = nativeVideo().decoderCreate(
        opts.codec,
        opts.threads ?? 1,
        opts.poolSize ?? 4,
        opts.queueSize ?? 8,
        opts.width ?? 0,
        opts.height ?? 0,
        opts.maxPixels ?? 4096 * 2304,
        (id, err, frames) => self.deref()?.onResult(id, err, frames),
      );
    } catch (e) {
      throw videoError(e, `${opts.codec} decoder`);
    }
  }

  /**
   * Queues one access unit (a whole frame; H.264 in Annex B). Resolves with the frames it produced (usually one,
   * none while a decoder waits for more), or null when it was dropped unprocessed because the queue was full.
   * The data is copied: the caller may reuse it at once.
   */
  decode(data: Uint8Array, timestamp: number): Promise<DecodedVideoFrame[] | null> {
    const { id, promise } = this.jobs.add();
    let dropped: number;
    try {
      dropped = nativeVideo().decode(this.handle, id, data, timestamp);
    } catch (e) {
      this.jobs.reject(id, videoError(e, `${this.codec} decoder`));
      return promise;
    }
    if (dropped >= 0) {
      this.jobs.resolve(dropped, null);
    }
    return promise;
  }

  stats(): VideoCodecStats {
    return nativeVideo().stats(this.handle);
  }

  /** Stops the video thread; queued decodes reject with VideoCodecClosedError. Frames already out stay valid. */
  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    nativeVideo().close(this.handle);
    this.jobs.closeAll(`${this.codec} decoder`);
  }

  /** @internal DecodedVideoFrame.release() */
  releaseSlot(slot: number): void {
    nativeVideo().frameRelease(this.handle, slot);
  }

  private onResult(id: number, err: string | null, frames: NativeDecodedFrame[]): void {
    if (!this.jobs.has(id)) {
      for (const f of frames) {
        this.releaseSlot(f.slot); // closed meanwhile: nobody will release them
      }
      return;
    }
    if (err !== null) {
      this.jobs.reject(id, new VideoDecodeError(`${this.codec} decoder: ${err}`));
      return;
    }
    this.jobs.resolve(
      id,
      frames.map((f) => new DecodedVideoFrame(this, f.slot, f.data, f.width, f.height, f.timestamp)),
    );
  }
}

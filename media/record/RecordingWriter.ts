/**
 * The recorder's writer: encoded frames in, a WebM, MKV or fragmented MP4 file out, muxed in-process by mediabunny
 * (no transcoding). The file is written append-only through one descriptor, in the order mediabunny produces it:
 *
 * - WebM/MKV as a live stream (mediabunny `appendOnly`: unknown-size Segment and Clusters), a cluster at least every
 *   {@link FLUSH_S} s; MP4 fragmented (moov first, then moof+mdat fragments of at most {@link FLUSH_S} s). Each
 *   flush is one positional `writeSync` on the recording's descriptor (page cache, no fsync): after `kill -9` the
 *   file holds everything up to the last flush.
 * - On `finish()` the muxer is finalised, the descriptor closed, and a WebM/MKV file is re-muxed once by ffmpeg
 *   (`-c copy`, finalize.ts) so it gets Duration and Cues (seekable).
 * - Tracks are fixed when the muxer starts: it starts when every track the profile wants has its first frame
 *   (video: a keyframe), or {@link TRACK_WAIT_MS} after the first frame with the tracks seen so far.
 * - A write error (ENOSPC, EIO) stops the writer: `onError` is called once, what reached the file stays playable.
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import {
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  MkvOutputFormat,
  Mp4OutputFormat,
  Output,
  StreamTarget,
  WebMOutputFormat,
  type StreamTargetChunk,
} from "mediabunny";
import type { Container } from "./profiles.js";

/** Longest span between two flushes of the file (s). */
export const FLUSH_S = 0.5;
/** How long the muxer waits for the profile's other track after the first frame (ms). */
export const TRACK_WAIT_MS = 2000;
/** Frames queued for the muxer beyond which the writer gives up (a stalled disk): about 10 s of A+V. */
const MAX_PENDING = 1500;

/** Open writers of this thread: their descriptors are closed when the worker (or process) exits. */
const OPEN = new Set<RecordingWriter>();
let exitHooked = false;
function track(w: RecordingWriter): void {
  OPEN.add(w);
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => {
      for (const open of [...OPEN]) {
        open.close();
      }
    });
  }
}

export type VideoCodecName = "vp8" | "vp9" | "avc";

export interface VideoConfig {
  codec: VideoCodecName;
  /** RFC 6381 codec string (avc1.…), or the codec name. */
  codecString: string;
  width: number;
  height: number;
  /** AVCDecoderConfigurationRecord for H.264. */
  description?: Uint8Array;
}

export interface WriterSummary {
  durationMs: number;
  bytes: number;
  tracks: string[];
}

interface Pending {
  kind: "audio" | "video";
  data: Uint8Array;
  key: boolean;
  tSec: number;
  video?: VideoConfig;
}

export class RecordingWriter {
  readonly path: string;
  #fd: number;
  #bytes = 0;
  #output: Output | undefined;
  #audio: EncodedAudioPacketSource | undefined;
  #video: EncodedVideoPacketSource | undefined;
  #videoConfigSent = false;
  #audioConfigSent = false;
  /** Frames before the muxer starts. */
  #early: Pending[] = [];
  #firstFrameAt = -1;
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;
  #failed: Error | undefined;
  #closed = false;
  #endSec = 0;
  #startSec = Infinity;

  constructor(
    path: string,
    readonly container: Container,
    readonly wants: { audio: boolean; video: boolean },
    private readonly onError: (err: Error) => void,
  ) {
    this.path = path;
    // O_NOFOLLOW: a symlink planted at the name is refused; the folder was confined by the caller.
    this.#fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o640);
    track(this);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /** Adds an Opus packet at `tSec` on the recording's clock. */
  audio(data: Uint8Array, tSec: number): void {
    this.#push({ kind: "audio", data, key: true, tSec });
  }

  /** Adds a video frame; `config` goes with the first keyframe (and with a later change of size or codec). */
  video(data: Uint8Array, key: boolean, tSec: number, config: VideoConfig | undefined): void {
    this.#push({ kind: "video", data, key, tSec, ...(config === undefined ? {} : { video: config }) });
  }

  #push(p: Pending): void {
    if (this.#closed || this.#failed !== undefined) {
      return;
    }
    if (this.#output === undefined) {
      this.#early.push(p);
      if (this.#firstFrameAt < 0) {
        this.#firstFrameAt = performance.now();
      }
      const hasAudio = this.#early.some((e) => e.kind === "audio");
      const hasVideo = this.#early.some((e) => e.kind === "video");
      const all = (!this.wants.audio || hasAudio) && (!this.wants.video || hasVideo);
      if (all || performance.now() - this.#firstFrameAt >= TRACK_WAIT_MS) {
        this.#start(hasAudio && this.wants.audio, hasVideo && this.wants.video);
      }
      return;
    }
    this.#enqueue(p);
  }

  #start(audio: boolean, video: boolean): void {
    const format =
      this.container === "mp4"
        ? new Mp4OutputFormat({ fastStart: "fragmented", minimumFragmentDuration: FLUSH_S })
        : this.container === "webm"
          ? new WebMOutputFormat({ appendOnly: true, minimumClusterDuration: FLUSH_S })
          : new MkvOutputFormat({ appendOnly: true, minimumClusterDuration: FLUSH_S });
    const writable = new WritableStream<StreamTargetChunk>({
      write: (chunk) => this.#write(chunk),
    });
    const output = new Output({ format, target: new StreamTarget(writable) });
    const firstVideo = this.#early.find((e) => e.kind === "video")?.video;
    if (audio) {
      this.#audio = new EncodedAudioPacketSource("opus");
      output.addAudioTrack(this.#audio);
    }
    if (video && firstVideo !== undefined) {
      this.#video = new EncodedVideoPacketSource(firstVideo.codec);
      // No frameRate: mediabunny would snap every timestamp to it (±17 ms at 30, collisions above it), which
      // breaks the recording's RTP/SR clock and so lip sync (docs/recording.md, Timestamps).
      output.addVideoTrack(this.#video);
    }
    this.#output = output;
    this.#run(() => output.start());
    const early = this.#early;
    this.#early = [];
    for (const p of early) {
      this.#enqueue(p);
    }
  }

  #enqueue(p: Pending): void {
    const audio = this.#audio;
    const video = this.#video;
    if ((p.kind === "audio" ? audio : video) === undefined) {
      return; // a track the muxer was started without
    }
    if (this.#pending >= MAX_PENDING) {
      this.#fail(new Error(`recording ${this.path}: the disk is not keeping up (${this.#pending} frames queued)`));
      return;
    }
    this.#startSec = Math.min(this.#startSec, p.tSec);
    this.#endSec = Math.max(this.#endSec, p.tSec + (p.kind === "audio" ? 0.02 : 0));
    const packet = new EncodedPacket(p.data, p.key ? "key" : "delta", p.tSec, p.kind === "audio" ? 0.02 : 0);
    if (p.kind === "audio" && audio !== undefined) {
      const meta = this.#audioConfigSent
        ? undefined
        : { decoderConfig: { codec: "opus", numberOfChannels: 2, sampleRate: 48000 } };
      this.#audioConfigSent = true;
      this.#run(() => audio.add(packet, meta));
    } else if (p.kind === "video" && video !== undefined) {
      const c = p.video;
      const meta =
        c === undefined || this.#videoConfigSent
          ? undefined
          : {
              decoderConfig: {
                codec: c.codecString,
                codedWidth: c.width,
                codedHeight: c.height,
                ...(c.description === undefined ? {} : { description: c.description }),
              },
            };
      if (meta !== undefined) {
        this.#videoConfigSent = true;
      } else if (!this.#videoConfigSent) {
        return; // no configuration yet: frames wait for a keyframe with one
      }
      this.#run(() => video.add(packet, meta));
    }
  }

  /** Runs mediabunny calls one after the other; the first failure stops the writer. */
  #run(step: () => Promise<void>): void {
    this.#pending++;
    this.#chain = this.#chain.then(async () => {
      this.#pending--;
      if (this.#failed === undefined) {
        try {
          await step();
        } catch (err) {
          this.#fail(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });
  }

  #write(chunk: StreamTargetChunk): void {
    if (this.#failed !== undefined) {
      throw this.#failed;
    }
    let off = 0;
    while (off < chunk.data.length) {
      off += writeSync(this.#fd, chunk.data, off, chunk.data.length - off, chunk.position + off);
    }
    this.#bytes = Math.max(this.#bytes, chunk.position + chunk.data.length);
  }

  #fail(err: Error): void {
    if (this.#failed !== undefined) {
      return;
    }
    this.#failed = err;
    this.onError(err);
  }

  /**
   * Writes what is queued and the muxer's end, then closes the descriptor. Resolves with what was written; never
   * rejects (a failure was already reported through `onError`).
   */
  async finish(): Promise<WriterSummary> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#output === undefined && this.#early.length > 0) {
        this.#start(
          this.#early.some((e) => e.kind === "audio"),
          this.#early.some((e) => e.kind === "video"),
        );
      }
      const output = this.#output;
      if (output !== undefined) {
        this.#run(() => output.finalize());
      }
      await this.#chain;
      this.close();
    }
    const tracks: string[] = [];
    if (this.#audio !== undefined) {
      tracks.push("audio");
    }
    if (this.#video !== undefined) {
      tracks.push("video");
    }
    const span = this.#startSec === Infinity ? 0 : this.#endSec - Math.min(0, this.#startSec);
    return { durationMs: Math.round(span * 1000), bytes: this.#bytes, tracks };
  }

  /** Closes the descriptor at once (release, teardown). Idempotent; what was flushed stays in the file. */
  close(): void {
    this.#closed = true;
    if (this.#fd >= 0) {
      try {
        closeSync(this.#fd);
      } catch {
        // already closed
      }
      this.#fd = -1;
    }
    OPEN.delete(this);
  }
}

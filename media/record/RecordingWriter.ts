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
  OggOutputFormat,
  Output,
  StreamTarget,
  WavOutputFormat,
  WebMOutputFormat,
  type StreamTargetChunk,
} from "mediabunny";
import { opusFillerPacket, opusHead, opusPacketChannels } from "./opusHead.js";
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

/** The audio track: Opus (default: passthrough, 2 channels at 48 kHz) or G.711 for WAV. */
export interface AudioConfig {
  codec: "opus" | "ulaw" | "alaw";
  channels: number;
  sampleRate: number;
  /** OpusHead (Ogg needs it; built from `channels` when absent). */
  description?: Uint8Array;
}

const OPUS_PASSTHROUGH: AudioConfig = { codec: "opus", channels: 2, sampleRate: 48000 };

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
  /** Duration (s) of an audio packet. */
  dur: number;
  video?: VideoConfig;
  audio?: AudioConfig;
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
  /** End (s) of the last audio packet, for Ogg's gap filler. */
  #audioEnd = -1;

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

  /**
   * Adds an audio packet at `tSec` on the recording's clock: Opus passthrough by default, or what `config` (given
   * with the first packet) says. `dur` is its length in seconds.
   */
  audio(data: Uint8Array, tSec: number, config?: AudioConfig, dur = 0.02): void {
    this.#push({ kind: "audio", data, key: true, tSec, dur, ...(config === undefined ? {} : { audio: config }) });
  }

  /** Adds a video frame; `config` goes with the first keyframe (and with a later change of size or codec). */
  video(data: Uint8Array, key: boolean, tSec: number, config: VideoConfig | undefined): void {
    this.#push({ kind: "video", data, key, tSec, dur: 0, ...(config === undefined ? {} : { video: config }) });
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
          : this.container === "wav"
            ? new WavOutputFormat()
            : this.container === "ogg"
              ? new OggOutputFormat({ maximumPageDuration: FLUSH_S })
              : new MkvOutputFormat({ appendOnly: true, minimumClusterDuration: FLUSH_S });
    const writable = new WritableStream<StreamTargetChunk>({
      write: (chunk) => this.#write(chunk),
    });
    const output = new Output({ format, target: new StreamTarget(writable) });
    const firstVideo = this.#early.find((e) => e.kind === "video")?.video;
    const firstAudio = this.#early.find((e) => e.kind === "audio");
    if (audio) {
      this.#audioConfig = this.#audioConfigOf(firstAudio);
      this.#audio = new EncodedAudioPacketSource(this.#audioConfig.codec);
      output.addAudioTrack(this.#audio);
    }
    if (video && firstVideo !== undefined) {
      this.#video = new EncodedVideoPacketSource(firstVideo.codec);
      output.addVideoTrack(this.#video, { frameRate: 30 });
    }
    this.#output = output;
    this.#run(() => output.start());
    const early = this.#early;
    this.#early = [];
    for (const p of early) {
      this.#enqueue(p);
    }
  }

  #audioConfig: AudioConfig = OPUS_PASSTHROUGH;

  /** The audio track's configuration: the first packet's, or Opus passthrough (Ogg: channels from its TOC). */
  #audioConfigOf(first: Pending | undefined): AudioConfig {
    const c = first?.audio ?? OPUS_PASSTHROUGH;
    if (c.codec !== "opus" || c.description !== undefined || this.container !== "ogg") {
      return c;
    }
    const channels = first?.audio?.channels ?? (first === undefined ? 2 : opusPacketChannels(first.data));
    return { ...c, channels, description: opusHead(channels) };
  }

  /** Ogg has no timestamps, only sample counts: a gap in Opus passthrough is filled with silent packets. */
  #fillOggGap(tSec: number, audio: EncodedAudioPacketSource): void {
    const gap = tSec - this.#audioEnd;
    if (this.#audioEnd < 0 || gap < 0.03 || this.#audioConfig.codec !== "opus") {
      return;
    }
    const filler = opusFillerPacket(this.#audioConfig.channels);
    const n = Math.min(Math.round(gap / 0.02), 50 * 3600);
    for (let i = 0; i < n; i++) {
      const packet = new EncodedPacket(filler, "key", this.#audioEnd + i * 0.02, 0.02);
      this.#run(() => audio.add(packet));
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
    this.#endSec = Math.max(this.#endSec, p.tSec + p.dur);
    const packet = new EncodedPacket(p.data, p.key ? "key" : "delta", p.tSec, p.dur);
    if (p.kind === "audio" && audio !== undefined) {
      const c = this.#audioConfig;
      const meta = this.#audioConfigSent
        ? undefined
        : {
            decoderConfig: {
              codec: c.codec,
              numberOfChannels: c.channels,
              sampleRate: c.sampleRate,
              ...(c.description === undefined ? {} : { description: c.description }),
            },
          };
      this.#audioConfigSent = true;
      if (this.container === "ogg") {
        this.#fillOggGap(p.tSec, audio);
      }
      this.#audioEnd = Math.max(this.#audioEnd, p.tSec + p.dur);
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

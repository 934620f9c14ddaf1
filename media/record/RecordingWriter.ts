/**
 * The recorder's writer: encoded frames in, a WebM, MKV, fragmented MP4, WAV (G.711) or Ogg (Opus) file out, muxed
 * in-process (no transcoding). The file is written append-only through one descriptor, in the order the muxer
 * produces it:
 *
 * - WebM/MKV as a live stream (unknown-size Segment and Clusters, a Cluster at each keyframe at least {@link FLUSH_S}
 *   s after the last), by the recorder's own writer (matroskaMuxer.ts: a frame costs its copy into the sink's batch and a
 *   few header bytes; docs/recording.md, Cost). MP4 fragmented (moov first, then moof+mdat fragments
 *   of at most {@link FLUSH_S} s), WAV and Ogg by mediabunny (mediabunnyOutput.ts). The bytes go through a
 *   {@link FileSink}: one positional `writeSync` per 0.5 s batch (page cache, no fsync), not one per packet; after
 *   `kill -9` the file holds everything up to the last flush.
 * - Calls into mediabunny are not chained by the writer: its muxer takes them in call order (one mutex), so a packet
 *   costs one `EncodedPacket` and the muxer's own promise, no closure.
 * - Bounded interleaving: the muxer writes the tracks interleaved by timestamp and holds one track's packets while
 *   the other has none. When a track stalls (audio stops while video goes on, video waits for a keyframe while
 *   audio goes on) the writer fills the stalled track once it is {@link MAX_LAG_S} behind: Opus silence frames for
 *   audio, a repeat of the last keyframe every {@link MAX_LAG_S}/2 for video (a frozen picture; the next frames
 *   wait for a new keyframe, which is asked for). So the held packets stay under {@link MAX_LAG_S} of media.
 * - Bounded index: mediabunny's in-memory index of fragments (only used by its finalize) is trimmed after each write
 *   to the file (muxerIndex.ts); the own Matroska writer keeps none.
 * - On `finish()` the muxer is finalised, the descriptor closed, and a WebM/MKV file is re-muxed once by ffmpeg
 *   (`-c copy`, finalize.ts) so it gets Duration and Cues (seekable).
 * - Tracks are fixed when the muxer starts: it starts when every track the profile wants has its first frame
 *   (video: a keyframe), or {@link TRACK_WAIT_MS} after the first frame with the tracks seen so far.
 * - A write error (ENOSPC, EIO) stops the writer: `onError` is called once, what reached the file stays playable.
 */
import { EncodedAudioPacketSource, EncodedPacket, EncodedVideoPacketSource, type Output } from "mediabunny";
import { FileSink } from "./fileSink.js";
import { MatroskaMuxer } from "./matroskaMuxer.js";
import { sinkOutput } from "./mediabunnyOutput.js";
import { opusFillerPacket, opusHead, opusPacketChannels } from "./opusHead.js";
import type { Container } from "./profiles.js";

/** Longest span between two flushes of the file (s). */
export const FLUSH_S = 0.5;
/** How long the muxer waits for the profile's other track after the first frame (ms). */
export const TRACK_WAIT_MS = 2000;
/** Frames handed to the muxer and not yet taken beyond which the writer gives up (a stalled disk): ~10 s of A+V. */
const MAX_PENDING = 1500;

/** How far (s of media) one track may run ahead of a stalled one before the stalled one is filled. */
export const MAX_LAG_S = 1;
/** An Opus packet of 20 ms of silence (TOC: CELT fullband 20 ms, mono, one frame). */
const OPUS_SILENCE = Uint8Array.of(0xf8, 0xff, 0xfe);
const AUDIO_FRAME_S = 0.02;

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

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export class RecordingWriter {
  readonly path: string;
  readonly #sink: FileSink;
  /** The muxer started (tracks fixed). */
  #started = false;
  /** WebM/MKV with Opus: the recorder's own live writer; otherwise mediabunny's Output. */
  #mkv: MatroskaMuxer | undefined;
  #hasAudio = false;
  #hasVideo = false;
  #output: Output | undefined;
  #audio: EncodedAudioPacketSource | undefined;
  #video: EncodedVideoPacketSource | undefined;
  #videoConfigSent = false;
  #audioConfigSent = false;
  /** Frames before the muxer starts. */
  #early: Pending[] = [];
  #firstFrameAt = -1;
  /** Settles after the last call into mediabunny (it takes them in order). */
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  #failed: Error | undefined;
  #closed = false;
  #endSec = 0;
  #startSec = Infinity;
  /** Last timestamps handed to the muxer per track (s), for the stall filler. */
  #audioT = -Infinity;
  #videoT = -Infinity;
  /** The audio track ends in filler: real audio that resumes continues it without a gap. */
  #audioFilled = false;
  /** The last keyframe written: the video filler. */
  #lastKey: Uint8Array | undefined;
  /** After a video filler, frames wait for a real keyframe. */
  #videoNeedsKey = false;
  #keyAskedAt = -Infinity;
  /** End (s) of the last audio packet, for Ogg's gap filler. */
  #audioEnd = -1;
  #audioConfig: AudioConfig = OPUS_PASSTHROUGH;
  /** Filler packets written (tests, diagnostics). */
  fillers = 0;
  readonly #settled = (): void => {
    this.#pending--;
  };
  readonly #rejected = (err: unknown): void => {
    this.#pending--;
    this.#fail(asError(err));
  };

  constructor(
    path: string,
    readonly container: Container,
    readonly wants: { audio: boolean; video: boolean },
    private readonly onError: (err: Error) => void,
    /** Video needs a keyframe (after a filler). */
    private readonly onNeedKeyframe: () => void = () => undefined,
  ) {
    this.path = path;
    this.#sink = new FileSink(path, (err) => this.#fail(err), container !== "mp4");
  }

  /** Bytes that reached the file. */
  get bytes(): number {
    return this.#sink.written;
  }

  /** Bytes the muxer has produced so far (written, or waiting for the next flush). */
  get muxed(): number {
    return this.#sink.size;
  }

  /** Write system calls made on the file so far. */
  get writes(): number {
    return this.#sink.writes;
  }

  /** Frames handed to mediabunny and not yet taken by its muxer. */
  get pending(): number {
    return this.#pending;
  }

  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /**
   * Adds an audio packet at `tSec` on the recording's clock: Opus passthrough by default, or what `config` (given
   * with the first packet) says. `dur` is its length in seconds.
   */
  audio(data: Uint8Array, tSec: number, config?: AudioConfig, dur = AUDIO_FRAME_S): void {
    if (!this.#started) {
      this.#push({ kind: "audio", data, key: true, tSec, dur, ...(config === undefined ? {} : { audio: config }) });
    } else if (!this.#closed && this.#failed === undefined) {
      this.#addAudio(data, tSec, dur);
    }
  }

  /** Adds a video frame; `config` goes with the first keyframe (and with a later change of size or codec). */
  video(data: Uint8Array, key: boolean, tSec: number, config: VideoConfig | undefined): void {
    if (!this.#started) {
      this.#push({ kind: "video", data, key, tSec, dur: 0, ...(config === undefined ? {} : { video: config }) });
    } else if (!this.#closed && this.#failed === undefined) {
      this.#addVideo(data, key, tSec, config);
    }
  }

  #push(p: Pending): void {
    if (this.#closed || this.#failed !== undefined) {
      return;
    }
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
  }

  #start(audio: boolean, video: boolean): void {
    this.#started = true;
    const firstVideo = video ? this.#early.find((e) => e.kind === "video")?.video : undefined;
    this.#hasAudio = audio;
    this.#hasVideo = firstVideo !== undefined;
    if (audio) {
      this.#audioConfig = this.#audioConfigOf(this.#early.find((e) => e.kind === "audio"));
    }
    if ((this.container === "webm" || this.container === "mkv") && (!audio || this.#audioConfig.codec === "opus")) {
      const a = this.#audioConfig;
      try {
        this.#mkv = new MatroskaMuxer(
          this.#sink,
          this.container === "webm" ? "webm" : "matroska",
          {
            audio: audio ? { channels: a.channels, sampleRate: a.sampleRate, description: a.description } : undefined,
            video: firstVideo,
          },
          FLUSH_S,
        );
      } catch (err) {
        this.#fail(asError(err));
      }
    } else {
      this.#startOutput(firstVideo);
    }
    const early = this.#early;
    this.#early = [];
    for (const p of early) {
      if (p.kind === "audio") {
        this.#addAudio(p.data, p.tSec, p.dur);
      } else {
        this.#addVideo(p.data, p.key, p.tSec, p.video);
      }
    }
  }

  /** mediabunny's muxer (MP4, WAV, Ogg; WebM/MKV with other audio than Opus). */
  #startOutput(firstVideo: VideoConfig | undefined): void {
    const output = sinkOutput(this.container, this.#sink, FLUSH_S);
    if (this.#hasAudio) {
      this.#audio = new EncodedAudioPacketSource(this.#audioConfig.codec);
      output.addAudioTrack(this.#audio);
    }
    if (firstVideo !== undefined) {
      this.#video = new EncodedVideoPacketSource(firstVideo.codec);
      // No frameRate: mediabunny would snap every timestamp to it (±17 ms at 30, collisions above it), which
      // breaks the recording's RTP/SR clock and so lip sync (docs/recording.md, Timestamps).
      output.addVideoTrack(this.#video);
    }
    this.#output = output;
    this.#track(output.start());
  }

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
    const n = Math.min(Math.round(gap / AUDIO_FRAME_S), 50 * 3600);
    for (let i = 0; i < n && !this.#full(); i++) {
      this.#track(audio.add(new EncodedPacket(filler, "key", this.#audioEnd + i * AUDIO_FRAME_S, AUDIO_FRAME_S)));
    }
  }

  /** Follows one call into mediabunny: counted while it waits, its failure stops the writer. */
  #track(step: Promise<void>): void {
    this.#pending++;
    this.#tail = step.then(this.#settled, this.#rejected);
  }

  #full(): boolean {
    if (this.#pending < MAX_PENDING) {
      return false;
    }
    this.#fail(new Error(`recording ${this.path}: the disk is not keeping up (${this.#pending} frames queued)`));
    return true;
  }

  #span(tSec: number, durationSec: number): void {
    if (tSec < this.#startSec) {
      this.#startSec = tSec;
    }
    if (tSec + durationSec > this.#endSec) {
      this.#endSec = tSec + durationSec;
    }
  }

  #addAudio(data: Uint8Array, tSec: number, dur: number): void {
    if (!this.#hasAudio || tSec < this.#audioT || this.#full()) {
      return; // no audio track, or behind the filler written while it stalled
    }
    if (this.#audioFilled) {
      this.#audioFilled = false;
      this.#fillAudio(tSec); // silence up to the first real packet: no gap in the audio
    }
    this.#audioT = tSec;
    this.#span(tSec, dur);
    const audio = this.#audio;
    if (this.container === "ogg" && audio !== undefined) {
      this.#fillOggGap(tSec, audio);
    }
    this.#audioEnd = Math.max(this.#audioEnd, tSec + dur);
    if (this.#audioConfigSent || audio === undefined) {
      this.#audioConfigSent = true; // the Matroska writer has the configuration from the start
      this.#putAudio(data, tSec, dur);
    } else {
      this.#audioConfigSent = true;
      const c = this.#audioConfig;
      this.#track(
        audio.add(new EncodedPacket(data, "key", tSec, dur), {
          decoderConfig: {
            codec: c.codec,
            numberOfChannels: c.channels,
            sampleRate: c.sampleRate,
            ...(c.description === undefined ? {} : { description: c.description }),
          },
        }),
      );
    }
    if (this.#hasVideo && tSec - this.#videoT > MAX_LAG_S) {
      this.#fillVideo(tSec);
    }
  }

  #addVideo(data: Uint8Array, key: boolean, tSec: number, c: VideoConfig | undefined): void {
    if (!this.#hasVideo || this.#full()) {
      return; // a track the muxer was started without
    }
    let meta: EncodedVideoChunkMetadata | undefined;
    if (!this.#videoConfigSent) {
      if (c === undefined) {
        return; // no configuration yet: frames wait for a keyframe with one
      }
      this.#videoConfigSent = true;
      meta = {
        decoderConfig: {
          codec: c.codecString,
          codedWidth: c.width,
          codedHeight: c.height,
          ...(c.description === undefined ? {} : { description: c.description }),
        },
      };
    }
    if (this.#videoNeedsKey) {
      if (!key) {
        this.#askKeyframe(tSec);
        return;
      }
      this.#videoNeedsKey = false;
    }
    if (tSec <= this.#videoT) {
      tSec = this.#videoT + 0.001; // after a filler: a frame stamped before it goes just after it
    }
    if (key) {
      this.#lastKey = data;
    }
    this.#videoT = tSec;
    this.#span(tSec, 0);
    this.#putVideo(data, key, tSec, meta);
    if (this.#hasAudio && tSec - this.#audioT > MAX_LAG_S) {
      this.#fillAudio(tSec - MAX_LAG_S / 2);
    }
  }

  /** An audio packet to the muxer (its configuration already given). */
  #putAudio(data: Uint8Array, tSec: number, dur: number): void {
    const mkv = this.#mkv;
    if (mkv !== undefined) {
      try {
        mkv.audio(data, tSec);
      } catch (err) {
        this.#fail(asError(err));
      }
    } else if (this.#audio !== undefined) {
      this.#track(this.#audio.add(new EncodedPacket(data, "key", tSec, dur)));
    }
  }

  /** A video frame to the muxer (`meta`: mediabunny's first-frame configuration). */
  #putVideo(data: Uint8Array, key: boolean, tSec: number, meta?: EncodedVideoChunkMetadata): void {
    const mkv = this.#mkv;
    if (mkv !== undefined) {
      try {
        mkv.video(data, key, tSec);
      } catch (err) {
        this.#fail(asError(err));
      }
    } else if (this.#video !== undefined) {
      this.#track(this.#video.add(new EncodedPacket(data, key ? "key" : "delta", tSec, 0), meta));
    }
  }

  /** Audio stalled while video goes on: Opus silence frames, the last one ending at or before `until`. */
  #fillAudio(until: number): void {
    if (!this.#hasAudio || !this.#audioConfigSent || this.#audioConfig.codec !== "opus" || this.#audioT < 0) {
      return; // (no audio written yet: nothing to continue)
    }
    while (this.#audioT + 2 * AUDIO_FRAME_S <= until + 1e-6 && !this.#full()) {
      this.#audioT += AUDIO_FRAME_S;
      this.fillers++;
      this.#audioFilled = true;
      this.#putAudio(OPUS_SILENCE, this.#audioT, AUDIO_FRAME_S);
    }
  }

  /** Video stalled while audio goes on: the last keyframe again every {@link MAX_LAG_S}/2, up to the lag. */
  #fillVideo(audioT: number): void {
    const key = this.#lastKey;
    if (!this.#hasVideo || key === undefined || !this.#videoConfigSent) {
      return;
    }
    while (audioT - this.#videoT > MAX_LAG_S && !this.#full()) {
      this.#videoT += MAX_LAG_S / 2;
      this.fillers++;
      this.#putVideo(key, true, this.#videoT);
    }
    if (!this.#videoNeedsKey) {
      this.#videoNeedsKey = true;
      this.onNeedKeyframe(); // again, rate-limited, for each frame dropped while waiting for it
    }
  }

  #askKeyframe(tSec: number): void {
    if (tSec - this.#keyAskedAt >= MAX_LAG_S / 2) {
      this.#keyAskedAt = tSec;
      this.onNeedKeyframe();
    }
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
      if (!this.#started && this.#early.length > 0) {
        this.#start(
          this.#early.some((e) => e.kind === "audio"),
          this.#early.some((e) => e.kind === "video"),
        );
      }
      this.#closed = true;
      const output = this.#output;
      if (output !== undefined && this.#failed === undefined) {
        this.#track(output.finalize());
      }
      if (this.#mkv !== undefined && this.#failed === undefined) {
        try {
          this.#mkv.finish();
          this.#sink.flush();
        } catch (err) {
          this.#fail(asError(err));
        }
      }
      await this.#tail;
      this.close();
    }
    const tracks: string[] = [];
    if (this.#hasAudio) {
      tracks.push("audio");
    }
    if (this.#hasVideo) {
      tracks.push("video");
    }
    const span = this.#startSec === Infinity ? 0 : this.#endSec - Math.min(0, this.#startSec);
    return { durationMs: Math.round(span * 1000), bytes: this.bytes, tracks };
  }

  /** Closes the descriptor at once (release, teardown), after writing what waits. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#sink.close();
  }
}

/**
 * PlayerEndpoint (Kurento elements): plays a file or http(s) URL into the pipeline, audio as Opus (48 kHz, PT 111,
 * 20 ms) and video as VP8/VP9 RTP on one play clock. The design (confinement and http policy, one ffmpeg child for
 * audio and video, passthrough or VP8 transcoding, keyframe requests, seek, errors) is in docs/player.md; the parts
 * are in media/player/. State and `UriEndpointStateChanged` follow Kurento's UriEndpointState (STOP, START, PAUSE);
 * at the end `EndOfStream`, then STOP. ffmpeg is killed on stop, release and error. `useEncodedMedia` and
 * `networkCache` are accepted and change nothing; media connected into a PlayerEndpoint is ignored.
 */
import type { JsonObject, MediaKind } from "../channel/protocol.js";
import { createEncoder, type AudioEncoder } from "../codecs/index.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import { MediaElement } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket } from "../core/types.js";
import { InvalidStateError } from "../errors.js";
import { MediaFileNotFoundError } from "../files/confine.js";
import { FILE_RATE, MediaReader, type VideoMode } from "../player/MediaReader.js";
import { ProbeError, probeMedia, videoInfo, type MediaInfo } from "../player/probe.js";
import {
  closeOpened,
  CODEC_NOT_FOUND,
  DECODE,
  isAudioOnlyUri,
  openErrorKind,
  openMedia,
  type OpenedMedia,
} from "../player/source.js";
import { planVideo, sinkVideoCodecs } from "../player/videoPlan.js";
import { VideoSender } from "../player/VideoSender.js";
import { PlayClock } from "../player/PlayClock.js";

export { playerSource, type PlayerSource } from "../player/source.js";

/** Kurento's UriEndpointState. */
export enum PlayerState {
  Stop = "STOP",
  Start = "START",
  Pause = "PAUSE",
}

const FRAME_MS = 20;
const FRAME = (FILE_RATE * FRAME_MS) / 1000;
/** Decoded audio buffered before the first frame leaves (ffmpeg start-up). */
const PREROLL = 4 * FRAME;
/** In passthrough, a keyframe request unanswered by the file for this long switches the video to the transcoder. */
const KEYFRAME_PATIENCE_MS = 1500;
/** The audio clock this far behind (a stalled event loop): skip ahead, do not burst. */
const MAX_LAG_MS = 5 * FRAME_MS;
const TRANSITIONS: Record<PlayerState, readonly PlayerState[]> = {
  [PlayerState.Stop]: [PlayerState.Start],
  [PlayerState.Start]: [PlayerState.Pause, PlayerState.Stop],
  [PlayerState.Pause]: [PlayerState.Start, PlayerState.Stop],
};

export class PlayerEndpoint extends MediaElement {
  readonly uri: string;
  #state = PlayerState.Stop;
  #reader: MediaReader | undefined;
  #encoder: AudioEncoder | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #frame = new Int16Array(FRAME);
  readonly #ssrc = (Math.random() * 0xffff_ffff) >>> 0 || 1;
  #seq = (Math.random() * 0xffff) >>> 0;
  readonly #ts0 = (Math.random() * 0xffff_ffff) >>> 0;
  #marker = true;
  readonly #video = new VideoSender();
  /** What ffprobe found at the last start. */
  #info: MediaInfo | undefined;
  /** How the current reader serves video (undefined: no video read). */
  #videoMode: VideoMode | undefined;
  readonly #clock = new PlayClock();
  /** Audio frames sent in this segment. */
  #segFrames = 0;
  /** setPosition while stopped: where the next play starts. */
  #pendingStartMs = 0;
  /** Bumped on every start, stop and release: an open that finishes for an older one is discarded. */
  #generation = 0;
  #abort: AbortController | undefined;
  /** Audio and video packets sent (tests, diagnostics). */
  packetsSent = 0;
  videoPacketsSent = 0;

  constructor(ctx: ElementContext, ctor: JsonObject) {
    super(ctx);
    this.uri = typeof ctor["uri"] === "string" ? ctor["uri"] : "";
  }

  get state(): PlayerState {
    return this.#state;
  }

  /** How video leaves the player now: "copy" (passthrough), "vp8" (transcoded) or undefined (none). */
  get videoMode(): VideoMode | undefined {
    return this.#reader === undefined ? undefined : this.#videoMode;
  }

  protected override operations(): Record<string, Operation> {
    return {
      ...super.operations(),
      play: () => {
        this.#to(PlayerState.Start);
        return null;
      },
      pause: () => {
        this.#to(PlayerState.Pause);
        return null;
      },
      stop: () => {
        this.#to(PlayerState.Stop);
        return null;
      },
      getUri: () => this.uri,
      getState: () => this.#state,
      getPosition: () => Math.round(this.#position()),
      setPosition: (args) => {
        this.#seek(args["position"]);
        return null;
      },
      getVideoInfo: () => videoInfo(this.#info),
      getElementGstreamerDot: () => this.dot(),
    };
  }

  protected override isTranscoding(kind: MediaKind): boolean {
    return kind === "VIDEO" ? this.videoMode === "vp8" : super.isTranscoding(kind);
  }

  /**
   * The one place the state changes; it owns ffmpeg and the pacing timer. Same-state requests are no-ops, as in
   * KMS (play while playing, stop while stopped); others not in {@link TRANSITIONS} are refused.
   */
  #to(next: PlayerState, emit = true): void {
    this.assertAlive();
    const from = this.#state;
    if (next === from) {
      return;
    }
    if (!TRANSITIONS[from].includes(next)) {
      throw new InvalidStateError(`PlayerEndpoint cannot go from ${from} to ${next}`);
    }
    this.#state = next;
    switch (next) {
      case PlayerState.Start: {
        if (from === PlayerState.Stop) {
          this.#info = undefined;
          this.#begin(this.#pendingStartMs, this.#clock.rtpNow(performance.now()) + 100, undefined);
          this.#pendingStartMs = 0;
        } else {
          this.#clock.resume(performance.now());
          this.#marker = true;
        }
        this.#arm();
        break;
      }
      case PlayerState.Pause: {
        this.#clock.pause(performance.now());
        this.#disarm();
        break;
      }
      case PlayerState.Stop: {
        this.#disarm();
        this.#endSegment();
        break;
      }
    }
    if (emit) {
      this.ctx.emit("UriEndpointStateChanged", { state: next });
    }
  }

  /** Milliseconds into the media. */
  #position(): number {
    if (this.#state === PlayerState.Stop) {
      return this.#pendingStartMs;
    }
    return this.#clock.startMs + this.#clock.elapsed(performance.now());
  }

  #seek(arg: unknown): void {
    this.assertAlive();
    if (typeof arg !== "number" || !Number.isFinite(arg) || arg < 0) {
      throw new TypeError("setPosition: 'position' must be a non-negative number of milliseconds");
    }
    const duration = this.#info?.durationMs ?? 0;
    if (duration > 0 && arg > duration) {
      throw new TypeError(`setPosition: 'position' ${arg} is past the end (${duration} ms)`);
    }
    if (this.#state === PlayerState.Stop) {
      this.#pendingStartMs = arg;
      return;
    }
    this.#restart(arg, undefined);
  }

  /** Starts a new segment at `positionMs` (a seek, or a switch of the video mode), keeping the RTP clock. */
  #restart(positionMs: number, videoMode: VideoMode | undefined): void {
    const rtpNow = this.#clock.rtpNow(performance.now());
    this.#endSegment();
    this.#begin(positionMs, rtpNow + FRAME_MS, videoMode);
  }

  #endSegment(): void {
    this.#cancelOpen();
    this.#reader?.close();
    this.#reader = undefined;
  }

  /** Opens the media (again: each reader and probe has its own descriptor or fetch). */
  #open(signal: AbortSignal): Promise<OpenedMedia> {
    return openMedia(this.uri, this.ctx.settings.mediaAccess, signal);
  }

  /** Probes (once per play), then starts ffmpeg at `startMs`; `forceVideo` overrides the plan. */
  #begin(startMs: number, rtpBaseMs: number, forceVideo: VideoMode | undefined): void {
    this.#cancelOpen();
    this.#clock.segment(startMs, rtpBaseMs);
    this.#segFrames = 0;
    this.#marker = true;
    const generation = this.#generation;
    const abort = new AbortController();
    this.#abort = abort;
    const probe = (): Promise<MediaInfo> =>
      Promise.resolve(abort.signal)
        .then((signal) => this.#open(signal))
        .then((input) => probeMedia(input).finally(() => void input.fh?.close().catch(() => undefined)));
    let probing: Promise<MediaInfo>;
    if (this.#info !== undefined) {
      probing = Promise.resolve(this.#info);
    } else if (isAudioOnlyUri(this.uri)) {
      // An audio file starts at once (as before video); ffprobe fills in the duration meanwhile.
      probing = Promise.resolve({ durationMs: 0, audio: true, video: undefined });
      probe().then(
        (info) => generation === this.#generation && (this.#info = { ...info, audio: true, video: undefined }),
        () => undefined, // ffmpeg reports the same failure
      );
    } else {
      probing = probe();
    }
    probing
      .then(async (info) => {
        this.#info = info;
        const input = await this.#open(abort.signal);
        if (generation !== this.#generation || this.released || this.#state === PlayerState.Stop) {
          closeOpened(input);
          return;
        }
        this.#opened(input, info, forceVideo);
      })
      .catch((err: unknown) => {
        if (generation !== this.#generation || this.released) {
          return;
        }
        if (err instanceof MediaFileNotFoundError) {
          this.ctx.logger.warn("player file refused", { elementId: this.id, reason: err.reason });
        }
        this.#fail((err as Error).message, err instanceof ProbeError ? DECODE : openErrorKind(err));
      });
  }

  /** Chooses how to serve the video now (undefined: none), raising Error for a codec no sink can get. */
  #planVideo(info: MediaInfo, report: boolean): VideoMode | undefined {
    if (info.video === undefined || (!this.hasSinks("VIDEO") && info.audio)) {
      return undefined;
    }
    const plan = planVideo(
      info.video.codec,
      this.sinkConnections("VIDEO").map((c) => sinkVideoCodecs(c.sink)),
    );
    if ("error" in plan) {
      if (report) {
        this.#report(`PlayerEndpoint ${this.id}: ${plan.error}`, CODEC_NOT_FOUND);
      }
      return undefined;
    }
    return plan.mode;
  }

  /** The media is open: start ffmpeg on it. */
  #opened(input: OpenedMedia, info: MediaInfo, forceVideo: VideoMode | undefined): void {
    try {
      this.#encoder ??= createEncoder("opus", { sampleRate: FILE_RATE, frameMs: FRAME_MS });
      const video = forceVideo ?? this.#planVideo(info, true);
      this.#videoMode = video;
      const reader = new MediaReader(
        input,
        { startMs: this.#clock.startMs, audio: info.audio, video },
        {
          onEnd: (error) => {
            if (error !== undefined && this.#reader === reader) {
              this.#fail(error, DECODE);
            }
            // A clean end is noticed by the pacer once the queues run dry.
          },
        },
      );
      this.#reader = reader;
      this.ctx.logger.debug("player reading", { elementId: this.id, startMs: this.#clock.startMs, video });
    } catch (err) {
      if ("body" in input) {
        input.body.close();
      }
      this.#fail(`playing '${this.uri}' failed: ${String(err)}`, DECODE);
    } finally {
      // ffmpeg holds its own copy of the descriptor.
      void input.fh?.close().catch(() => undefined);
    }
  }

  /** Forgets an open in progress (its result is discarded and closed) and aborts an http fetch. */
  #cancelOpen(): void {
    this.#generation++;
    this.#abort?.abort();
    this.#abort = undefined;
  }

  /** Raises Error, after the current call returns. */
  #report(description: string, kind: { type: string; errorCode: number }): void {
    this.ctx.logger.warn("player error", { elementId: this.id, error: description });
    queueMicrotask(() => {
      if (!this.released) {
        this.ctx.emit("Error", { description, errorCode: kind.errorCode, type: kind.type });
      }
    });
  }

  /** Raises Error and stops, after the current call returns (play() itself succeeds, as in KMS). */
  #fail(description: string, kind: { type: string; errorCode: number }): void {
    this.#report(description, kind);
    queueMicrotask(() => {
      if (!this.released && this.#state !== PlayerState.Stop) {
        this.#to(PlayerState.Stop);
      }
    });
  }

  #arm(): void {
    this.#disarm();
    this.#timer = setInterval(() => this.#pace(), FRAME_MS / 2);
    this.#timer.unref();
  }

  #disarm(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #pace(): void {
    const r = this.#reader;
    const enc = this.#encoder;
    const info = this.#info;
    if (r === undefined || enc === undefined || info === undefined || this.#state !== PlayerState.Start) {
      return;
    }
    const now = performance.now();
    const clock = this.#clock;
    if (!clock.started) {
      const audioReady = !info.audio || r.fifo.size >= PREROLL;
      const videoReady = this.#videoMode === undefined || r.videoQueued > 0;
      if (!r.ended && !(audioReady && videoReady)) {
        return; // still starting: the clock starts with the first frame
      }
      clock.start(now);
    }
    try {
      if (info.audio && clock.elapsed(now) - this.#segFrames * FRAME_MS > MAX_LAG_MS) {
        clock.catchUp(now, this.#segFrames * FRAME_MS); // the event loop stalled: do not burst
      }
      const elapsed = clock.elapsed(now);
      const audioDone = info.audio ? this.#paceAudio(r, enc, elapsed, now) : true;
      this.#paceVideo(r, elapsed, now);
      r.drained();
      if (r.ended && audioDone && r.videoQueued === 0 && this.#state === PlayerState.Start) {
        this.#endOfStream();
      }
    } catch (err) {
      this.#disarm();
      this.#reader?.close();
      this.#fail(`playing '${this.uri}' failed: ${String(err)}`, DECODE);
    }
  }

  /** Sends the audio frames due; true once the audio has ended and is all sent. */
  #paceAudio(r: MediaReader, enc: AudioEncoder, elapsed: number, now: number): boolean {
    while (this.#segFrames * FRAME_MS <= elapsed && this.#state === PlayerState.Start) {
      if (!r.fifo.read(this.#frame)) {
        if (!r.ended) {
          return false; // ffmpeg is behind: wait for it
        }
        const rest = r.fifo.size;
        if (rest === 0) {
          return true;
        }
        this.#frame.fill(0);
        const tail = new Int16Array(rest);
        r.fifo.read(tail);
        this.#frame.set(tail);
      }
      this.#send(enc.encode(this.#frame), now);
    }
    return r.ended && r.fifo.size === 0;
  }

  #paceVideo(r: MediaReader, elapsed: number, now: number): void {
    const codec = r.videoCodec;
    for (let f = r.peekVideo(); f !== undefined && codec !== undefined; f = r.peekVideo()) {
      const at = f.ptsMs - this.#clock.startMs;
      if (at > elapsed) {
        return;
      }
      r.takeVideo();
      const rtpMs = this.#clock.rtpMs(Math.max(0, at));
      this.videoPacketsSent += this.#video.send(codec, f.data, rtpMs, now, (p) => this.sendToSinks(p));
    }
  }

  #send(payload: Uint8Array, now: number): void {
    const rtpMs = this.#clock.rtpMs(this.#segFrames * FRAME_MS);
    const p: MediaPacket = {
      kind: "AUDIO",
      codec: "opus",
      clockRate: 48000,
      payloadType: 111,
      ssrc: this.#ssrc,
      sequenceNumber: this.#seq,
      timestamp: (this.#ts0 + Math.round(rtpMs * 48)) >>> 0,
      marker: this.#marker,
      payload,
      keyframe: false,
      arrivalMs: now,
    };
    this.#marker = false;
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#segFrames++;
    this.packetsSent++;
    this.sendToSinks(p);
  }

  #endOfStream(): void {
    this.#disarm();
    this.ctx.emit("EndOfStream", {});
    this.endOfStreamToSinks();
    this.#to(PlayerState.Stop);
  }

  /** A video sink joined while playing: serve it (re-planning the video from the current position if needed). */
  protected override onSinkAttached(conn: Connection): void {
    if (conn.kind === "VIDEO" && this.#state !== PlayerState.Stop && this.#info !== undefined) {
      this.#replan();
    }
  }

  /**
   * A sink needs a keyframe. The transcoder makes one every second; in passthrough the file's next keyframe
   * serves, unless none came for {@link KEYFRAME_PATIENCE_MS}: then the video switches to the transcoder.
   */
  override handleKeyframeRequest(): void {
    if (this.#state !== PlayerState.Start || this.#reader === undefined || this.#info === undefined) {
      return;
    }
    if (this.#replan()) {
      return;
    }
    const now = performance.now();
    if (this.#videoMode === "copy" && this.#video.framesSent > 0) {
      if (now - this.#video.lastKeyframeAt > KEYFRAME_PATIENCE_MS) {
        this.ctx.logger.info("player: keyframe asked in passthrough; transcoding from here", { elementId: this.id });
        this.#restart(this.#position(), "vp8");
      }
    }
  }

  /** Restarts at the current position when the video plan no longer fits the sinks; true if it did. */
  #replan(): boolean {
    const info = this.#info;
    if (info === undefined || this.#videoMode === "vp8") {
      return false;
    }
    const wanted = this.#planVideo(info, false);
    if (wanted === this.#videoMode || wanted === undefined) {
      return false;
    }
    this.#restart(this.#position(), wanted);
    return true;
  }

  protected override onMedia(_packet: MediaPacket, _conn: Connection): void {
    // A player is a source only.
  }

  protected override dispose(): void {
    this.#disarm();
    this.#endSegment();
    this.#encoder?.close();
    this.#encoder = undefined;
  }
}

/**
 * PlayerEndpoint (Kurento elements): plays a file into the pipeline, audio as Opus (48 kHz, payload type 111, 20 ms
 * packets) and video as VP8 or VP9 RTP (media/player/), continuous sequence numbers and timestamps on one play clock.
 *
 * - ctor `{mediaPipeline, uri, useEncodedMedia?, networkCache?}`; `uri` is `file:///abs/path`, a path (relative
 *   paths resolve against the first media root), or an `http://` / `https://` URL.
 * - Files are confined to `files.mediaRoots` (media/files/confine.ts): opened and checked by Korus, then given to
 *   ffmpeg as an open descriptor. A file outside the roots, missing or unreadable raises the same
 *   `Error {type: RESOURCE_ERROR_NOT_FOUND, description: "file not found: <uri>"}`.
 * - http(s) media is fetched by Korus under `httpMedia` (media/files/httpMedia.ts: host allow-list, no private,
 *   loopback or link-local address, redirects followed and checked hop by hop) and streamed into ffmpeg's stdin; a
 *   refused URL raises `Error {type: RESOURCE_ERROR_NOT_AUTHORIZED}` before any connection to it is made.
 * - `play()` starts (or resumes) playing; `pause()` holds the position; `stop()` rewinds (ffmpeg is killed, the
 *   next `play()` starts from the beginning). State and `UriEndpointStateChanged {state}` follow Kurento's
 *   UriEndpointState: STOP, START, PAUSE.
 * - ffprobe reads the media first (getVideoInfo: duration, seekable); then one ffmpeg child process of the worker
 *   (media/player/MediaReader.ts) decodes the audio to PCM and hands over the video, from the same start, so the two
 *   stay in sync. 20 ms audio frames and video frames (at their timestamps) are paced by one timer against
 *   performance.now().
 * - Video: VP8/VP9 in the file pass through untouched when every sink negotiated that codec; otherwise ffmpeg
 *   transcodes to VP8 (media/player/videoPlan.ts). A sink that asks for a keyframe gets one from the transcoder
 *   within a second (keyframe every second); in passthrough the file's own keyframes serve, and if none came for
 *   1.5 s the video switches to the transcoder from the current position. A codec no sink can be served raises
 *   `Error {type: STREAM_ERROR_CODEC_NOT_FOUND}` naming the element and the codec; the audio plays on.
 * - `setPosition {position}` (ms) restarts ffmpeg there (audio and video); `getPosition` is the play position.
 * - At the end of the file: `EndOfStream`, then state STOP. A missing or undecodable file, a failed fetch, or an
 *   unsupported URI (ftp:, data:, concat:…) raises `Error {description, errorCode, type}`, then state STOP.
 * - ffmpeg is killed on stop, on release and on error, on every path.
 *
 * `useEncodedMedia` and `networkCache` are accepted and change nothing (passthrough is chosen whenever it fits).
 * Media connected into a PlayerEndpoint is ignored.
 */
import type { JsonObject, MediaAccessSettings, MediaKind } from "../channel/protocol.js";
import { createEncoder, type AudioEncoder } from "../codecs/index.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import { MediaElement } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket } from "../core/types.js";
import { InvalidStateError } from "../errors.js";
import { MediaFileNotFoundError, openConfined } from "../files/confine.js";
import { CompiledHttpPolicy, HttpMediaError, HttpMediaRefusedError, openHttpMedia } from "../files/httpMedia.js";
import { PlayerUriError } from "../mixer/errors.js";
import { FILE_RATE, MediaReader, type DecoderInput, type VideoMode } from "../player/MediaReader.js";
import { ProbeError, probeMedia, type MediaInfo } from "../player/probe.js";
import { planVideo, sinkVideoCodecs } from "../player/videoPlan.js";
import { VideoSender } from "../player/VideoSender.js";

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
/** GStreamer error codes as KMS reports them in Error events. */
const NOT_FOUND = { type: "RESOURCE_ERROR_NOT_FOUND", errorCode: 3 };
const DECODE = { type: "STREAM_ERROR_DECODE", errorCode: 7 };
const OPEN_READ = { type: "RESOURCE_ERROR_OPEN_READ", errorCode: 5 };
const NOT_AUTHORIZED = { type: "RESOURCE_ERROR_NOT_AUTHORIZED", errorCode: 15 };
const CODEC_NOT_FOUND = { type: "STREAM_ERROR_CODEC_NOT_FOUND", errorCode: 6 };
/** In passthrough, a keyframe request unanswered by the file for this long switches the video to the transcoder. */
const KEYFRAME_PATIENCE_MS = 1500;
/** The audio clock this far behind (a stalled event loop): skip ahead, do not burst. */
const MAX_LAG_MS = 5 * FRAME_MS;
/** Without settings (tests): no media roots, default http policy. */
const NO_ACCESS: MediaAccessSettings = {
  mediaRoots: [],
  recordingsRoot: "",
  httpAllowHosts: [],
  httpAllowNetworks: [],
};

const TRANSITIONS: Record<PlayerState, readonly PlayerState[]> = {
  [PlayerState.Stop]: [PlayerState.Start],
  [PlayerState.Start]: [PlayerState.Pause, PlayerState.Stop],
  [PlayerState.Pause]: [PlayerState.Start, PlayerState.Stop],
};

/** Where a PlayerEndpoint's media comes from: a file (confined to the media roots) or an http(s) URL. */
export type PlayerSource = { kind: "file"; uri: string } | { kind: "http"; url: string };

/**
 * Classifies a PlayerEndpoint URI; nothing is opened here.
 * @throws PlayerUriError for an empty URI and any scheme but file:, http: and https:.
 */
export function playerSource(uri: unknown): PlayerSource {
  if (typeof uri !== "string" || uri === "") {
    throw new PlayerUriError("PlayerEndpoint needs a 'uri'");
  }
  if (/^https?:/i.test(uri)) {
    return { kind: "http", url: uri };
  }
  if (/^file:/i.test(uri) || !/^[a-z][a-z0-9+.-]*:/i.test(uri)) {
    return { kind: "file", uri };
  }
  throw new PlayerUriError(`unsupported URI '${uri}': Korus plays file:// URIs, paths and http(s) URLs`);
}

/** Media ready for ffmpeg; `fh` is the player's own handle of an opened file, closed once ffmpeg has its copy. */
type OpenedMedia = DecoderInput & { fh?: { close(): Promise<void> } };

/** The Error event kind for a failure to open the media (the one place these errors are mapped). */
function openErrorKind(err: unknown): { type: string; errorCode: number } {
  if (err instanceof HttpMediaRefusedError) {
    return NOT_AUTHORIZED;
  }
  if (err instanceof HttpMediaError) {
    return err.status === 404 || err.status === 410 ? NOT_FOUND : OPEN_READ;
  }
  return NOT_FOUND; // MediaFileNotFoundError, PlayerUriError
}

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
  // The play clock. A segment is one reader, from `#startMs` in the file.
  #startMs = 0;
  /** performance.now() at which the segment's `#startMs` played; undefined while ffmpeg starts. */
  #clockStart: number | undefined;
  #pausedAt = 0;
  /** Audio frames sent in this segment. */
  #segFrames = 0;
  /** The RTP clock (ms) at the segment's start, and the time paused within it: both streams' timestamps use it. */
  #rtpBaseMs = 0;
  #segPausedMs = 0;
  /** setPosition while stopped: where the next play starts. */
  #pendingStartMs = 0;
  /** Bumped on every start, stop and release: an open that finishes for an older one is discarded. */
  #generation = 0;
  #abort: AbortController | undefined;
  /** Audio packets sent (tests, diagnostics). */
  packetsSent = 0;
  /** Video packets sent (tests, diagnostics). */
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

  /** The video RTP stream's counters (tests, diagnostics). */
  get videoStream(): Readonly<VideoSender> {
    return this.#video;
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
      getVideoInfo: () => {
        const duration = this.#info?.durationMs ?? 0;
        return {
          __module__: "kurento",
          __type__: "VideoInfo",
          isSeekable: duration > 0,
          seekableInit: 0,
          seekableEnd: duration,
          duration,
        };
      },
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
          this.#rtpBaseMs = this.#rtpNowMs() + 100;
          this.#begin(this.#pendingStartMs, undefined);
          this.#pendingStartMs = 0;
        } else if (this.#clockStart !== undefined) {
          // Resume: the RTP clock ran on during the pause.
          const paused = performance.now() - this.#pausedAt;
          this.#clockStart += paused;
          this.#segPausedMs += paused;
          this.#marker = true;
        }
        this.#arm();
        break;
      }
      case PlayerState.Pause: {
        this.#pausedAt = performance.now();
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
    if (this.#clockStart === undefined) {
      return this.#state === PlayerState.Stop ? this.#pendingStartMs : this.#startMs;
    }
    const now = this.#state === PlayerState.Pause ? this.#pausedAt : performance.now();
    return this.#startMs + Math.max(0, now - this.#clockStart);
  }

  /** The RTP clock now (ms): the segment's base, plus what has played and paused in it. */
  #rtpNowMs(): number {
    return this.#rtpBaseMs + (this.#position() - this.#startMs) + this.#segPausedMs;
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
    const rtpNow = this.#rtpNowMs();
    this.#endSegment();
    this.#rtpBaseMs = rtpNow + FRAME_MS;
    this.#begin(positionMs, videoMode);
  }

  #endSegment(): void {
    this.#cancelOpen();
    this.#reader?.close();
    this.#reader = undefined;
    this.#clockStart = undefined;
  }

  /** Opens the media (again: each reader and probe has its own descriptor or fetch), for `generation`. */
  #open(signal: AbortSignal): Promise<OpenedMedia> {
    const source = playerSource(this.uri);
    const access = this.ctx.settings.mediaAccess ?? NO_ACCESS;
    return source.kind === "file"
      ? openConfined(source.uri, access.mediaRoots).then((fh) => ({ label: this.uri, fd: fh.fd, fh }))
      : openHttpMedia(
          source.url,
          new CompiledHttpPolicy({ allowHosts: access.httpAllowHosts, allowNetworks: access.httpAllowNetworks }),
          signal,
        ).then((body) => ({ label: this.uri, body }));
  }

  /** Probes (once per play), then starts ffmpeg at `startMs`; `forceVideo` overrides the plan. */
  #begin(startMs: number, forceVideo: VideoMode | undefined): void {
    this.#cancelOpen();
    this.#startMs = startMs;
    this.#segFrames = 0;
    this.#segPausedMs = 0;
    this.#marker = true;
    const generation = this.#generation;
    const abort = new AbortController();
    this.#abort = abort;
    const discard = (input: OpenedMedia): void => {
      void input.fh?.close().catch(() => undefined);
      if ("body" in input) {
        input.body.close();
      }
    };
    const probing: Promise<MediaInfo> =
      this.#info !== undefined
        ? Promise.resolve(this.#info)
        : Promise.resolve(abort.signal)
            .then((signal) => this.#open(signal))
            .then((input) =>
              probeMedia(input).finally(() => {
                void input.fh?.close().catch(() => undefined);
              }),
            );
    probing
      .then(async (info) => {
        this.#info = info;
        const input = await this.#open(abort.signal);
        if (generation !== this.#generation || this.released || this.#state === PlayerState.Stop) {
          discard(input);
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
        { startMs: this.#startMs, audio: info.audio, video },
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
      this.ctx.logger.debug("player reading", { elementId: this.id, startMs: this.#startMs, video });
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
    if (this.#clockStart === undefined) {
      const audioReady = !info.audio || r.fifo.size >= PREROLL;
      const videoReady = this.#videoMode === undefined || r.videoQueued > 0;
      if (!r.ended && !(audioReady && videoReady)) {
        return; // still starting: the clock starts with the first frame
      }
      this.#clockStart = now;
    }
    try {
      if (info.audio && now - this.#clockStart - this.#segFrames * FRAME_MS > MAX_LAG_MS) {
        this.#clockStart = now - this.#segFrames * FRAME_MS; // the event loop stalled: do not burst
      }
      const elapsed = now - this.#clockStart;
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
      const at = f.ptsMs - this.#startMs;
      if (at > elapsed) {
        return;
      }
      r.takeVideo();
      const rtpMs = this.#rtpBaseMs + Math.max(0, at) + this.#segPausedMs;
      this.videoPacketsSent += this.#video.send(codec, f.data, rtpMs, now, (p) => this.sendToSinks(p));
    }
  }

  #send(payload: Uint8Array, now: number): void {
    const rtpMs = this.#rtpBaseMs + this.#segFrames * FRAME_MS + this.#segPausedMs;
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

/**
 * RecorderEndpoint (Kurento elements): records the media connected into it to a file, muxed in-process
 * (media/record/, docs/recording.md).
 *
 * - ctor `{mediaPipeline, uri, mediaProfile?="WEBM", stopOnEndOfStream?=false}`. Profiles WEBM, MKV, MP4, each also
 *   `_AUDIO_ONLY` and `_VIDEO_ONLY`; any other (KURENTO_SPLIT_RECORDER, JPEG_VIDEO_ONLY, FLV) fails `create` with
 *   40107 MEDIA_OBJECT_ILLEGAL_PARAM_ERROR.
 * - `uri` is resolved under `files.recordingsRoot` (media/record/target.ts) when `record()` is called; a refused URI
 *   fails `record()` with the target's error.
 * - Methods `record()`, `pause()`, `stop()`, `stopAndWait()` (resolves once the file is complete and closed),
 *   `getState()`, `getUri()`. States STOP/START/PAUSE with `UriEndpointStateChanged {state}`; events `Recording`
 *   (first media written), `Paused`, `Stopped` (file complete), `Error` (write failure: the recording stops, the
 *   file stays playable).
 * - Audio sink caps: Opus/48000 only, so G.711/G.722/AMR sources reach it transcoded to Opus by the source element.
 * - Call recording (media/record/AudioCapture.ts): audio sources connected with the sink descriptions `left` and
 *   `right` are recorded in stereo, one on each channel; several sources on other descriptions are mixed into one
 *   channel; the korus `WAV` profile is always recorded this way (G.711 in, G.711 out). Then the sink caps are
 *   Opus, PCMU and PCMA (WAV: PCMU and PCMA), each source is decoded, and the mix is encoded once. The mode is
 *   taken when `record()` is called: connect the sources first.
 * - Video is recorded as it arrives (no transcoding): VP8/VP9 in WebM, VP8/VP9/H.264 in MKV, VP9/H.264 in MP4. A
 *   keyframe is requested on `record()`, on resume and when the video source changes; video before it is dropped.
 * - `stopOnEndOfStream`: when every connected source has ended its media (a PlayerEndpoint at the end of its file),
 *   the recording stops as by `stop()` (KMS stops on the EOS its sources send).
 * - On release a recording in progress is stopped as by `stop()`.
 */
import type { JsonObject, MediaAccessSettings } from "../channel/protocol.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket } from "../core/types.js";
import { InvalidStateError } from "../errors.js";
import { CompiledHttpPolicy } from "../files/httpMedia.js";
import { AudioCapture, captureChannel } from "../record/AudioCapture.js";
import { finalizeRecording } from "../record/finalize.js";
import { beginRecording, type RecordingJournalEntry } from "../record/journal.js";
import { recordingProfile, type RecordingProfile } from "../record/profiles.js";
import { Recording } from "../record/Recording.js";
import { resolveRecordingTarget } from "../record/target.js";
import type { WriterSummary } from "../record/RecordingWriter.js";
import { Element } from "../sdk/Element.js";
import type { SinkAudioCaps } from "../transcode/format.js";

export type RecorderState = "STOP" | "START" | "PAUSE";

type RecorderEvents = {
  Recording: Record<string, never>;
  Paused: Record<string, never>;
  Stopped: Record<string, never>;
  UriEndpointStateChanged: { state: RecorderState };
  Error: { description: string; errorCode: number; type: string };
};

/** Opus only: the source element transcodes any other audio once on the way in. */
const OPUS_ONLY: SinkAudioCaps = {
  formats: [{ codec: "opus", clockRate: 48000, channels: 2 }],
  telephoneEvents: [],
  ptimeMs: undefined,
  continuous: false,
};

/** Call recording into an Opus track: Opus and G.711 come as they are and are decoded here. */
const OPUS_OR_G711: SinkAudioCaps = {
  formats: [
    { codec: "opus", clockRate: 48000, channels: 2 },
    { codec: "pcmu", clockRate: 8000, channels: 1 },
    { codec: "pcma", clockRate: 8000, channels: 1 },
  ],
  telephoneEvents: [],
  ptimeMs: undefined,
  continuous: false,
};

/** WAV: G.711 as it comes; anything else is transcoded to µ-law by the source element. */
const G711_ONLY: SinkAudioCaps = { ...OPUS_OR_G711, formats: OPUS_OR_G711.formats.slice(1) };

/** GStreamer resource error codes, as KMS reports them in Error events. */
const WRITE_ERROR = { type: "RESOURCE_ERROR_WRITE", errorCode: 10 };
const NO_SPACE = { type: "RESOURCE_ERROR_NO_SPACE_LEFT", errorCode: 14 };
const OPEN_WRITE = { type: "RESOURCE_ERROR_OPEN_WRITE", errorCode: 6 };

export class RecorderEndpoint extends Element<RecorderEvents> {
  readonly uri: string;
  readonly profile: RecordingProfile;
  readonly stopOnEndOfStream: boolean;
  #state: RecorderState = "STOP";
  #recording: Recording | undefined;
  #journal: RecordingJournalEntry | undefined;
  /** The stop in progress (or done) of the current recording. */
  #stopping: Promise<void> | undefined;
  /** Bumped by each record(): a slow start that finishes after a stop is discarded. */
  #generation = 0;
  /** Call recording's decode, mix and encode (stereo, mixed, WAV); undefined for Opus passthrough. */
  #capture: AudioCapture | undefined;
  /** The audio connection recorded in passthrough (one source only). */
  #passAudio: Connection | undefined;
  #caps: SinkAudioCaps = OPUS_ONLY;
  /** Source connections that signalled the end of their media (stopOnEndOfStream). */
  readonly #ended = new Set<Connection>();
  /** The last recording's summary (tests, diagnostics). */
  lastSummary: WriterSummary | undefined;

  constructor(ctx: ElementContext, params: JsonObject) {
    super(ctx, params);
    this.profile = recordingProfile(params["mediaProfile"]); // throws 40107 for a profile Korus does not write
    this.uri = typeof params["uri"] === "string" ? params["uri"] : "";
    this.stopOnEndOfStream = params["stopOnEndOfStream"] === true;
    this.#caps = this.profile.container === "wav" ? G711_ONLY : OPUS_ONLY;
  }

  get state(): RecorderState {
    return this.#state;
  }

  /** Recording or paused (metrics: recordings active). */
  override recordingActive(): boolean {
    return this.#state !== "STOP";
  }

  override audioSinkCaps(): SinkAudioCaps {
    return this.#caps;
  }

  /** Stereo when a source is on `left` or `right`; decoded and mixed when WAV or more than one audio source. */
  #audioMode(): { capture: boolean; stereo: boolean } {
    const audio = this.sourceConnections("AUDIO");
    const stereo = audio.some((c) => c.sinkDescription === "left" || c.sinkDescription === "right");
    return { capture: this.profile.container === "wav" || stereo || audio.length > 1, stereo };
  }

  #updateCaps(): void {
    if (this.profile.container !== "wav" && this.#recording === undefined) {
      this.#caps = this.#audioMode().capture ? OPUS_OR_G711 : OPUS_ONLY;
    }
  }

  protected override operations(): Record<string, Operation> {
    return {
      ...super.operations(),
      record: () => this.#record(),
      pause: () => {
        this.#pause();
        return null;
      },
      stop: () => {
        void this.#stop();
        return null;
      },
      stopAndWait: async () => {
        await this.#stop();
        return null;
      },
      getState: () => this.#state,
      getUri: () => this.uri,
    };
  }

  #setState(next: RecorderState): void {
    if (next !== this.#state) {
      this.#state = next;
      this.context.emit("UriEndpointStateChanged", { state: next });
    }
  }

  async #record(): Promise<null> {
    this.assertAlive();
    if (this.#state === "START") {
      return null;
    }
    if (this.#state === "PAUSE") {
      this.#recording?.resume(performance.now());
      this.#capture?.resume(performance.now());
      this.#setState("START");
      return null;
    }
    await this.#stopping; // a previous recording finishes before the file is opened again
    const generation = ++this.#generation;
    const access: MediaAccessSettings | undefined = this.ctx.settings.mediaAccess;
    const root = access?.recordingsRoot ?? "";
    // Uploads are checked against the same host policy as http media (no private, loopback or link-local address).
    const http =
      access === undefined
        ? undefined
        : new CompiledHttpPolicy({ allowHosts: access.httpAllowHosts, allowNetworks: access.httpAllowNetworks });
    const target = await resolveRecordingTarget(
      this.uri,
      http === undefined ? { recordingsRoot: root } : { recordingsRoot: root, http },
      this.profile.ext,
    );
    const journal = await beginRecording(root, {
      path: target.path,
      uri: this.uri,
      profile: this.profile.name,
      startedAt: new Date(),
    });
    if (generation !== this.#generation || this.released || this.#state !== "STOP") {
      await journal.abandon();
      return null;
    }
    let recording: Recording;
    try {
      recording = new Recording(target.path, this.profile, {
        requestKeyframe: () => this.requestKeyframeUpstream(),
        started: () => this.#announce(generation),
        failed: (err) => this.#writeFailed(err),
      });
    } catch (err) {
      await journal.abandon();
      this.#emitError(`cannot open the recording: ${(err as Error).message}`, OPEN_WRITE);
      throw new InvalidStateError(
        `RecorderEndpoint cannot open its file: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
      );
    }
    this.#recording = recording;
    this.#journal = journal;
    this.#passAudio = undefined;
    const mode = this.#audioMode();
    if (this.profile.audio && mode.capture) {
      const wav = this.profile.container === "wav";
      this.#capture = new AudioCapture(
        { rate: wav ? 8000 : 48000, channels: mode.stereo ? 2 : 1, encoding: wav ? "g711" : "opus" },
        (data, t, config, dur) => {
          recording.writer.audio(data, t, config, dur);
          this.#announce(generation);
        },
      );
    }
    this.#ended.clear();
    this.#stopping = undefined;
    this.#setState("START");
    if (this.profile.video) {
      this.requestKeyframeUpstream();
    }
    return null;
  }

  /** Kurento's `Recording` event, once per `record()`: the first media was written. */
  #announced = -1;
  #announce(generation: number): void {
    if (this.#announced !== generation) {
      this.#announced = generation;
      this.context.emit("Recording", {});
    }
  }

  #pause(): void {
    this.assertAlive();
    if (this.#state === "STOP") {
      throw new InvalidStateError("RecorderEndpoint cannot pause: it is not recording");
    }
    if (this.#state === "START") {
      this.#recording?.pause(performance.now());
      this.#capture?.pause(performance.now());
      this.#setState("PAUSE");
      this.context.emit("Paused", {});
    }
  }

  /** Stops the current recording; resolves once its file is complete, closed and journaled. */
  #stop(): Promise<void> {
    const rec = this.#recording;
    if (rec === undefined) {
      return this.#stopping ?? Promise.resolve();
    }
    this.#recording = undefined;
    this.#capture?.finish(performance.now());
    this.#capture = undefined;
    this.#updateCaps();
    const journal = this.#journal;
    this.#journal = undefined;
    this.#setState("STOP");
    this.#stopping = this.#complete(rec, journal);
    return this.#stopping;
  }

  async #complete(rec: Recording, journal: RecordingJournalEntry | undefined): Promise<void> {
    const summary = await rec.finish();
    if (summary.bytes > 0 && !rec.writer.failed) {
      const fin = await finalizeRecording(rec.writer.path, rec.profile.container);
      if (!fin.ok) {
        this.ctx.logger.warn("recording not finalised (left as written live)", {
          elementId: this.id,
          error: fin.error,
        });
      }
    }
    this.lastSummary = summary;
    try {
      await journal?.complete(summary);
    } catch (err) {
      this.ctx.logger.warn("recording journal not completed", { elementId: this.id, error: String(err) });
    }
    this.context.emit("Stopped", {});
  }

  #writeFailed(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    this.ctx.logger.warn("recording write failed", { elementId: this.id, error: err.message, code });
    this.#emitError(
      `recording failed: ${err.message}`,
      code === "ENOSPC" || code === "EDQUOT" ? NO_SPACE : WRITE_ERROR,
    );
    queueMicrotask(() => void this.#stop());
  }

  #emitError(description: string, kind: { type: string; errorCode: number }): void {
    this.context.emit("Error", { description, errorCode: kind.errorCode, type: kind.type });
  }

  protected override onSourceAttached(conn: Connection): void {
    super.onSourceAttached(conn);
    if (conn.kind === "VIDEO") {
      this.#recording?.videoSourceChanged();
    }
    this.#updateCaps();
  }

  /** stopOnEndOfStream: once every connected source has ended (a PlayerEndpoint at the end of its file), stop. */
  protected override onEndOfStream(conn: Connection): void {
    if (!this.stopOnEndOfStream || this.#state === "STOP") {
      return;
    }
    this.#ended.add(conn);
    if (this.sourceConnections().every((c) => this.#ended.has(c))) {
      this.ctx.logger.info("recording stopped: end of stream", { elementId: this.id });
      void this.#stop();
    }
  }

  protected override onSourceDetached(conn: Connection): void {
    super.onSourceDetached(conn);
    this.#ended.delete(conn);
    this.#capture?.remove(conn);
    if (this.#passAudio === conn) {
      this.#passAudio = undefined;
    }
    this.#updateCaps();
  }

  #videoDropLogged = false;

  protected override onMedia(packet: MediaPacket, conn: Connection): void {
    if (this.#state !== "START") {
      return;
    }
    if (packet.kind === "AUDIO") {
      const capture = this.#capture;
      if (capture !== undefined) {
        capture.push(conn, captureChannel(conn.sinkDescription), packet);
        return;
      }
      this.#passAudio ??= conn;
      if (this.#passAudio !== conn) {
        return; // a second source connected while recording in passthrough: not mixed into one Opus stream
      }
    } else if (packet.kind === "VIDEO" && !this.profile.video && !this.#videoDropLogged) {
      // Never silent (issue 13): an audio-only profile records no video; said once per recorder.
      this.#videoDropLogged = true;
      this.ctx.logger.warn("video dropped: the recording profile is audio-only", { elementId: this.id });
    }
    this.#recording?.push(packet);
  }

  protected override dispose(): void {
    void this.#stop().catch((err: unknown) => {
      this.ctx.logger.warn("recording stop on release failed", { elementId: this.id, error: String(err) });
    });
  }
}

/**
 * PlayerEndpoint (Kurento elements), audio only: plays a file into the pipeline as Opus (48 kHz, payload type 111,
 * 20 ms packets, continuous sequence numbers and timestamps).
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
 * - The file is decoded by ffmpeg in a child process of the worker (media/mixer/FileDecoder.ts); 20 ms frames are
 *   paced by a timer scheduled against performance.now().
 * - At the end of the file: `EndOfStream`, then state STOP. A missing or undecodable file, a failed fetch, or an
 *   unsupported URI (ftp:, data:, concat:…) raises `Error {description, errorCode, type}`, then state STOP.
 * - ffmpeg is killed on stop, on release and on error, on every path.
 *
 * Video in the file is ignored (`-vn`); media connected into a PlayerEndpoint is ignored.
 */
import type { JsonObject, MediaAccessSettings } from "../channel/protocol.js";
import { createEncoder, type AudioEncoder } from "../codecs/index.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import { MediaElement } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket } from "../core/types.js";
import { InvalidStateError } from "../errors.js";
import { MediaFileNotFoundError, openConfined } from "../files/confine.js";
import { CompiledHttpPolicy, HttpMediaError, HttpMediaRefusedError, openHttpMedia } from "../files/httpMedia.js";
import { PlayerUriError } from "../mixer/errors.js";
import { FILE_RATE, FileDecoder, type DecoderInput } from "../mixer/FileDecoder.js";

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
  #decoder: FileDecoder | undefined;
  #encoder: AudioEncoder | undefined;
  #timer: NodeJS.Timeout | undefined;
  #due = 0;
  readonly #frame = new Int16Array(FRAME);
  readonly #ssrc = (Math.random() * 0xffff_ffff) >>> 0 || 1;
  #seq = (Math.random() * 0xffff) >>> 0;
  #ts = (Math.random() * 0xffff_ffff) >>> 0;
  #marker = true;
  #pausedAt = 0;
  #playedFrames = 0;
  /** Bumped on every start, stop and release: an open that finishes for an older one is discarded. */
  #generation = 0;
  #abort: AbortController | undefined;
  /** Packets sent (tests, diagnostics). */
  packetsSent = 0;

  constructor(ctx: ElementContext, ctor: JsonObject) {
    super(ctx);
    this.uri = typeof ctor["uri"] === "string" ? ctor["uri"] : "";
  }

  get state(): PlayerState {
    return this.#state;
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
      getPosition: () => this.#playedFrames * FRAME_MS,
      getVideoInfo: () => ({
        __module__: "kurento",
        __type__: "VideoInfo",
        isSeekable: false,
        seekableInit: 0,
        seekableEnd: 0,
        duration: 0,
      }),
      getElementGstreamerDot: () => this.dot(),
    };
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
          this.#start();
        } else {
          // Resume: the RTP clock ran on during the pause.
          const pausedTicks = Math.round(((performance.now() - this.#pausedAt) * 48000) / 1000);
          this.#ts = (this.#ts + pausedTicks) >>> 0;
          this.#marker = true;
          this.#arm(performance.now());
        }
        break;
      }
      case PlayerState.Pause: {
        this.#pausedAt = performance.now();
        this.#disarm();
        break;
      }
      case PlayerState.Stop: {
        this.#disarm();
        this.#cancelOpen();
        this.#decoder?.close();
        this.#decoder = undefined;
        break;
      }
    }
    if (emit) {
      this.ctx.emit("UriEndpointStateChanged", { state: next });
    }
  }

  #start(): void {
    this.#playedFrames = 0;
    this.#marker = true;
    let source: PlayerSource;
    try {
      source = playerSource(this.uri);
    } catch (err) {
      this.#fail((err as Error).message, NOT_FOUND);
      return;
    }
    this.#cancelOpen();
    const generation = this.#generation;
    const abort = new AbortController();
    this.#abort = abort;
    const access = this.ctx.settings.mediaAccess ?? NO_ACCESS;
    const opening: Promise<OpenedMedia> =
      source.kind === "file"
        ? openConfined(source.uri, access.mediaRoots).then((fh) => ({ label: this.uri, fd: fh.fd, fh }))
        : openHttpMedia(
            source.url,
            new CompiledHttpPolicy({ allowHosts: access.httpAllowHosts, allowNetworks: access.httpAllowNetworks }),
            abort.signal,
          ).then((body) => ({ label: this.uri, body }));
    opening.then(
      (input) => this.#opened(input, generation),
      (err: unknown) => {
        if (generation !== this.#generation || this.released) {
          return;
        }
        if (err instanceof MediaFileNotFoundError) {
          this.ctx.logger.warn("player file refused", { elementId: this.id, reason: err.reason });
        }
        this.#fail((err as Error).message, openErrorKind(err));
      },
    );
    this.#arm(performance.now());
  }

  /** The media is open: start ffmpeg on it, unless the player was stopped or released meanwhile. */
  #opened(input: OpenedMedia, generation: number): void {
    if (generation !== this.#generation || this.released || this.#state === PlayerState.Stop) {
      void input.fh?.close().catch(() => undefined);
      if ("body" in input) {
        input.body.close();
      }
      return;
    }
    try {
      this.#encoder ??= createEncoder("opus", { sampleRate: FILE_RATE, frameMs: FRAME_MS });
      const decoder = new FileDecoder(input, {
        onEnd: (error) => {
          if (error !== undefined && this.#decoder === decoder) {
            this.#fail(error, DECODE);
          }
          // A clean end is noticed by the pacer once the FIFO runs dry.
        },
      });
      this.#decoder = decoder;
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

  /** Raises Error and stops, after the current call returns (play() itself succeeds, as in KMS). */
  #fail(description: string, kind: { type: string; errorCode: number }): void {
    this.ctx.logger.warn("player error", { elementId: this.id, error: description });
    queueMicrotask(() => {
      if (this.released) {
        return;
      }
      this.ctx.emit("Error", { description, errorCode: kind.errorCode, type: kind.type });
      if (this.#state !== PlayerState.Stop) {
        this.#to(PlayerState.Stop);
      }
    });
  }

  #arm(now: number): void {
    this.#disarm();
    this.#due = now;
    this.#timer = setInterval(() => this.#pace(), FRAME_MS / 2);
    this.#timer.unref();
  }

  #disarm(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #pace(): void {
    const dec = this.#decoder;
    const enc = this.#encoder;
    if (dec === undefined || enc === undefined || this.#state !== PlayerState.Start) {
      return;
    }
    const now = performance.now();
    if (this.#playedFrames === 0 && dec.fifo.size < PREROLL && !dec.ended) {
      this.#due = now; // still starting: the clock starts with the first frame
      return;
    }
    if (now - this.#due > 5 * FRAME_MS) {
      this.#due = now; // the event loop stalled: do not burst
    }
    try {
      while (now >= this.#due && this.#state === PlayerState.Start) {
        this.#due += FRAME_MS;
        if (!dec.fifo.read(this.#frame)) {
          if (!dec.ended) {
            return; // ffmpeg is behind: wait for it
          }
          const rest = dec.fifo.size;
          if (rest === 0) {
            this.#endOfStream();
            return;
          }
          this.#frame.fill(0);
          const tail = new Int16Array(rest);
          dec.fifo.read(tail);
          this.#frame.set(tail);
        }
        dec.drained();
        this.#send(enc.encode(this.#frame), now);
      }
    } catch (err) {
      this.#disarm();
      this.#decoder?.close();
      this.#fail(`playing '${this.uri}' failed: ${String(err)}`, DECODE);
    }
  }

  #send(payload: Uint8Array, now: number): void {
    const p: MediaPacket = {
      kind: "AUDIO",
      codec: "opus",
      clockRate: 48000,
      payloadType: 111,
      ssrc: this.#ssrc,
      sequenceNumber: this.#seq,
      timestamp: this.#ts,
      marker: this.#marker,
      payload,
      keyframe: false,
      arrivalMs: now,
    };
    this.#marker = false;
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + FRAME) >>> 0;
    this.#playedFrames++;
    this.packetsSent++;
    this.sendToSinks(p);
  }

  #endOfStream(): void {
    this.#disarm();
    this.ctx.emit("EndOfStream", {});
    this.endOfStreamToSinks();
    this.#to(PlayerState.Stop);
  }

  protected override onMedia(_packet: MediaPacket, _conn: Connection): void {
    // A player is a source only.
  }

  protected override dispose(): void {
    this.#disarm();
    this.#cancelOpen();
    this.#decoder?.close();
    this.#decoder = undefined;
    this.#encoder?.close();
    this.#encoder = undefined;
  }
}

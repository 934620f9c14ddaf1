/**
 * PlayerEndpoint (Kurento elements), audio only: plays a file into the pipeline as Opus (48 kHz, payload type 111,
 * 20 ms packets, continuous sequence numbers and timestamps).
 *
 * - ctor `{mediaPipeline, uri, useEncodedMedia?, networkCache?}`; `uri` is `file:///abs/path`, an absolute path,
 *   or an `http://` / `https://` URL (fetched by ffmpeg, as KMS fetches it with GStreamer).
 * - `play()` starts (or resumes) playing; `pause()` holds the position; `stop()` rewinds (ffmpeg is killed, the
 *   next `play()` starts from the beginning). State and `UriEndpointStateChanged {state}` follow Kurento's
 *   UriEndpointState: STOP, START, PAUSE.
 * - The file is decoded by ffmpeg in a child process of the worker (media/mixer/FileDecoder.ts); 20 ms frames are
 *   paced by a timer scheduled against performance.now().
 * - At the end of the file: `EndOfStream`, then state STOP. A missing or undecodable file, or an unsupported URI,
 *   raises `Error {description, errorCode, type}` with a message that says what went wrong, then state STOP.
 * - ffmpeg is killed on stop, on release and on error, on every path.
 *
 * Video in the file is ignored (`-vn`); media connected into a PlayerEndpoint is ignored.
 */
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonObject } from "../channel/protocol.js";
import { createEncoder, type AudioEncoder } from "../codecs/index.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import { MediaElement } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket } from "../core/types.js";
import { InvalidStateError } from "../errors.js";
import { PlayerUriError } from "../mixer/errors.js";
import { FILE_RATE, FileDecoder } from "../mixer/FileDecoder.js";

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

const TRANSITIONS: Record<PlayerState, readonly PlayerState[]> = {
  [PlayerState.Stop]: [PlayerState.Start],
  [PlayerState.Start]: [PlayerState.Pause, PlayerState.Stop],
  [PlayerState.Pause]: [PlayerState.Start, PlayerState.Stop],
};

/**
 * What ffmpeg reads for a PlayerEndpoint URI: a file path, or the http(s) URL itself.
 * @throws PlayerUriError for anything but file:// URIs, absolute paths and http(s) URLs.
 */
export function playerPath(uri: unknown): string {
  if (typeof uri !== "string" || uri === "") {
    throw new PlayerUriError("PlayerEndpoint needs a 'uri'");
  }
  if (uri.startsWith("file:")) {
    try {
      return fileURLToPath(uri);
    } catch (err) {
      throw new PlayerUriError(`bad file URI '${uri}': ${(err as Error).message}`);
    }
  }
  if (isAbsolute(uri)) {
    return uri;
  }
  if (/^https?:\/\/[^/]/i.test(uri)) {
    return uri;
  }
  throw new PlayerUriError(`unsupported URI '${uri}': Korus plays file:// URIs, absolute paths and http(s) URLs`);
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
    let path: string;
    try {
      path = playerPath(this.uri);
    } catch (err) {
      this.#fail((err as Error).message, NOT_FOUND);
      return;
    }
    if (isAbsolute(path) && !existsSync(path)) {
      this.#fail(`file not found: ${path}`, NOT_FOUND);
      return;
    }
    this.#encoder ??= createEncoder("opus", { sampleRate: FILE_RATE, frameMs: FRAME_MS });
    const decoder = new FileDecoder(path, {
      onEnd: (error) => {
        if (error !== undefined && this.#decoder === decoder) {
          this.#fail(error, DECODE);
        }
        // A clean end is noticed by the pacer once the FIFO runs dry.
      },
    });
    this.#decoder = decoder;
    this.#arm(performance.now());
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
    this.#to(PlayerState.Stop);
  }

  protected override onMedia(_packet: MediaPacket, _conn: Connection): void {
    // A player is a source only.
  }

  protected override releaseResources(): void {
    this.#disarm();
    this.#decoder?.close();
    this.#decoder = undefined;
    this.#encoder?.close();
    this.#encoder = undefined;
  }
}

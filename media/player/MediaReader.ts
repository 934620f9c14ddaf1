/**
 * One ffmpeg child process that reads a player's media and hands Korus its audio and video, from the same start
 * position (so they stay in sync):
 *
 * - audio decoded to 48 kHz mono s16le on ffmpeg's stdout, into a bounded {@link PcmFifo} (Korus encodes Opus);
 * - video on fd 3 as IVF (media/player/ivf.ts): VP8/VP9 copied as they are in the file (`-c:v copy`, no
 *   re-encoding), or transcoded to VP8 by libvpx in real-time settings with a keyframe every second (ffmpeg cannot
 *   be asked for one while it runs).
 *
 * ffmpeg never gets a path or a URL: its stdin is either a file descriptor opened (and confined) by the caller, or a
 * pipe fed with an http(s) body the caller fetched (media/files/); media/player/input.ts keeps it from opening
 * anything else, even when the input is a playlist (HLS, concat) that names other files or URLs. Reading pauses
 * when Korus holds more than a second of audio (two of video) and resumes as the player drains them, so a long
 * file never sits in memory; ffmpeg blocks on the full pipe meanwhile. While one track runs short the other may
 * buffer on (to 3 s of audio, 6 s of video), so ffmpeg blocked on one never starves the other.
 *
 * The process is killed (SIGKILL) by {@link close} on every path; `onEnd` is called exactly once, with undefined
 * when the media was read to its end, or with a clear message when it could not be.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { PcmFifo } from "../mixer/PcmFifo.js";
import { inputArgs } from "./input.js";
import { IvfReader, type IvfFrame } from "./ivf.js";

export const FILE_RATE = 48000;
const HIGH_WATER = FILE_RATE; // 1 s
const LOW_WATER = FILE_RATE / 2;
const VIDEO_HIGH_MS = 2000;
const VIDEO_LOW_MS = 1000;
/**
 * ffmpeg interleaves as the file does, so it blocks on one output while Korus waits for the other: a track
 * running short lets the other buffer on, up to these caps.
 */
const AUDIO_CAP = 3 * FILE_RATE;
const VIDEO_CAP_MS = 6000;
const STDERR_KEEP = 4000;

/**
 * What ffmpeg reads: an open file descriptor (given to ffmpeg as its stdin; the caller may close its own copy once
 * the reader is built), or a body streamed into ffmpeg's stdin. `label` names the media in messages.
 */
export type DecoderInput =
  | { label: string; fd: number }
  | {
      label: string;
      body: { pipeInto(sink: Writable, done: (error: string | undefined) => void): void; close(): void };
    };

/** How the video track leaves ffmpeg: copied (VP8/VP9 files) or transcoded to VP8. */
export type VideoMode = "copy" | "vp8";

export interface ReaderOptions {
  /** Where to start, in ms (`-ss` before `-i`). */
  readonly startMs: number;
  readonly audio: boolean;
  readonly video: VideoMode | undefined;
}

export interface ReaderEvents {
  /** Reading finished: `error` undefined on success. Called once, never after close(). */
  onEnd(error: string | undefined): void;
}

/** ffmpeg's arguments for `opts` (exported for tests). */
export function readerArgs(opts: ReaderOptions, input: "fd" | "pipe"): string[] {
  const args = ["-hide_banner", "-nostdin", "-loglevel", "error", ...inputArgs(input, opts.startMs)];
  if (opts.audio || opts.video === undefined) {
    args.push("-map", "0:a:0", "-vn", "-f", "s16le", "-ac", "1", "-ar", "48000", "pipe:1");
  }
  if (opts.video === "copy") {
    args.push("-map", "0:v:0", "-an", "-c:v", "copy", "-f", "ivf", "pipe:3");
  } else if (opts.video === "vp8") {
    args.push(
      "-map",
      "0:v:0",
      "-an",
      "-c:v",
      "libvpx",
      "-deadline",
      "realtime",
      "-cpu-used",
      "16",
      "-b:v",
      "1M",
      "-lag-in-frames",
      "0",
      "-auto-alt-ref",
      "0",
      "-error-resilient",
      "1",
      "-force_key_frames",
      "expr:gte(t,n_forced*1)",
      "-f",
      "ivf",
      "pipe:3",
    );
  }
  return args;
}

export class MediaReader {
  readonly fifo = new PcmFifo(4 * FILE_RATE);
  readonly #video: IvfFrame[] = [];
  #videoHead = 0;
  readonly #ivf = new IvfReader();
  readonly #proc: ChildProcess;
  readonly #audioOut: Readable | undefined;
  readonly #videoOut: Readable | undefined;
  readonly #input: DecoderInput;
  readonly #events: ReaderEvents;
  readonly #opts: ReaderOptions;
  #stderr = "";
  #carry: number | undefined;
  #audioPaused = false;
  #videoPaused = false;
  #ended = false;
  #closed = false;
  /** Frames read from the IVF stream (tests, diagnostics). */
  videoFrames = 0;

  constructor(input: DecoderInput, opts: ReaderOptions, events: ReaderEvents, ffmpeg = "ffmpeg") {
    this.#events = events;
    this.#input = input;
    this.#opts = opts;
    const proc = spawn(ffmpeg, readerArgs(opts, "fd" in input ? "fd" : "pipe"), {
      stdio: ["fd" in input ? input.fd : "pipe", "pipe", "pipe", opts.video === undefined ? "ignore" : "pipe"],
    });
    this.#proc = proc;
    const [stdin, stdout, stderr, video] = proc.stdio;
    if (stdout === null || stderr === null) {
      throw new TypeError("ffmpeg was spawned without stdout/stderr pipes");
    }
    if ("body" in input && stdin !== null) {
      input.body.pipeInto(stdin, (error) => {
        if (error !== undefined) {
          this.#end(error);
          this.close();
        }
      });
    }
    this.#audioOut = stdout;
    this.#audioOut.on("data", (chunk: Buffer) => this.#onAudio(chunk));
    if (video !== null && video !== undefined) {
      this.#videoOut = video as Readable;
      this.#videoOut.on("data", (chunk: Buffer) => this.#onVideo(chunk));
    }
    stderr.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    proc.on("error", (err) => this.#end(`cannot run ffmpeg: ${err.message}`));
    proc.on("close", (code, signal) => {
      if (code === 0) {
        this.#end(undefined);
      } else {
        const last = this.#stderr.trim().split("\n").at(-1)?.trim() ?? "";
        this.#end(
          `ffmpeg could not decode '${input.label}' (${signal ?? `exit ${code}`})${last === "" ? "" : `: ${last}`}`,
        );
      }
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The codec of the video read, once ffmpeg wrote its IVF header. */
  get videoCodec(): "vp8" | "vp9" | undefined {
    const f = this.#ivf.header?.fourcc;
    return f === "VP80" ? "vp8" : f === "VP90" ? "vp9" : undefined;
  }

  /** The next video frame, not yet taken. */
  peekVideo(): IvfFrame | undefined {
    return this.#video[this.#videoHead];
  }

  /** Takes the next video frame. */
  takeVideo(): IvfFrame | undefined {
    const f = this.#video[this.#videoHead];
    if (f !== undefined) {
      this.#videoHead++;
      if (this.#videoHead > 64 && this.#videoHead * 2 > this.#video.length) {
        this.#video.splice(0, this.#videoHead);
        this.#videoHead = 0;
      }
    }
    return f;
  }

  /** Video buffered, in ms. */
  get videoBufferedMs(): number {
    const first = this.#video[this.#videoHead];
    const last = this.#video.at(-1);
    return first === undefined || last === undefined ? 0 : last.ptsMs - first.ptsMs;
  }

  get videoQueued(): number {
    return this.#video.length - this.#videoHead;
  }

  /** Call after reading: resumes ffmpeg's output pipes once they have drained. */
  drained(): void {
    const size = this.fifo.size;
    const buffered = this.videoBufferedMs;
    if (this.#audioPaused && (size < LOW_WATER || (this.#videoShort() && size < AUDIO_CAP))) {
      this.#audioPaused = false;
      this.#audioOut?.resume();
    }
    if (this.#videoPaused && (buffered < VIDEO_LOW_MS || (this.#audioShort() && buffered < VIDEO_CAP_MS))) {
      this.#videoPaused = false;
      this.#videoOut?.resume();
    }
  }

  #audioShort(): boolean {
    return this.#opts.audio && this.fifo.size < LOW_WATER;
  }

  #videoShort(): boolean {
    return this.#opts.video !== undefined && this.videoBufferedMs < VIDEO_LOW_MS;
  }

  /** Kills ffmpeg (if still running). Idempotent; no onEnd afterwards. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    if ("body" in this.#input) {
      this.#input.body.close();
    }
    for (const s of this.#proc.stdio) {
      s?.destroy();
    }
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) {
      this.#proc.kill("SIGKILL");
    }
    this.#video.length = 0;
    this.#videoHead = 0;
  }

  #onAudio(chunk: Buffer): void {
    if (this.#closed) {
      return;
    }
    let bytes: Uint8Array = chunk;
    if (this.#carry !== undefined) {
      const joined = new Uint8Array(chunk.length + 1);
      joined[0] = this.#carry;
      joined.set(chunk, 1);
      bytes = joined;
      this.#carry = undefined;
    }
    const even = bytes.length & ~1;
    if (even < bytes.length) {
      this.#carry = bytes[even];
    }
    const pcm = new Int16Array(even / 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset, even);
    for (let i = 0; i < pcm.length; i++) {
      pcm[i] = view.getInt16(2 * i, true);
    }
    this.fifo.write(pcm);
    const size = this.fifo.size;
    if (!this.#audioPaused && (size >= AUDIO_CAP || (size > HIGH_WATER && !this.#videoShort()))) {
      this.#audioPaused = true;
      this.#audioOut?.pause();
    }
  }

  #onVideo(chunk: Buffer): void {
    if (this.#closed) {
      return;
    }
    let frames: IvfFrame[];
    try {
      frames = this.#ivf.push(chunk);
    } catch (err) {
      this.#end(`ffmpeg's video of '${this.#input.label}' is unreadable: ${String(err)}`);
      this.close();
      return;
    }
    for (const f of frames) {
      this.#video.push(f);
    }
    this.videoFrames += frames.length;
    const buffered = this.videoBufferedMs;
    if (!this.#videoPaused && (buffered >= VIDEO_CAP_MS || (buffered > VIDEO_HIGH_MS && !this.#audioShort()))) {
      this.#videoPaused = true;
      this.#videoOut?.pause();
    }
  }

  #end(error: string | undefined): void {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    if (!this.#closed) {
      this.#events.onEnd(error);
    }
  }
}

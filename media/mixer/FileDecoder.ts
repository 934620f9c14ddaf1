/**
 * Decodes audio to 48 kHz mono s16le with an ffmpeg child process (`ffmpeg -protocol_whitelist pipe -i pipe:0 -f
 * s16le -ac 1 -ar 48000 -`), into a bounded {@link PcmFifo}. ffmpeg never gets a path or a URL: its stdin is either
 * a file descriptor opened (and confined) by the caller, or a pipe fed with an http(s) body the caller fetched
 * (media/files/). `-protocol_whitelist pipe` keeps ffmpeg from opening anything else, even when the input is a
 * playlist (HLS, concat) that names other files or URLs. Reading pauses when the FIFO holds more than a second and resumes
 * when the player has drained it below half a second, so a long file never sits in memory.
 *
 * The process is killed (SIGKILL) by {@link close} on every path; `onEnd` is called exactly once, with undefined
 * when the file was decoded to its end, or with a clear message when it could not be (missing file, not audio,
 * ffmpeg absent, ffmpeg failing mid-way).
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { PcmFifo } from "./PcmFifo.js";

export const FILE_RATE = 48000;
const HIGH_WATER = FILE_RATE; // 1 s
const LOW_WATER = FILE_RATE / 2;
/** stderr kept for the error message. */
const STDERR_KEEP = 4000;

export interface FileDecoderEvents {
  /** Decoding finished: `error` undefined on success. Called once, never after close(). */
  onEnd(error: string | undefined): void;
}

/**
 * What ffmpeg reads: an open file descriptor (given to ffmpeg as its stdin; the caller may close its own copy once
 * the decoder is built), or a body streamed into ffmpeg's stdin. `label` names the media in messages.
 */
export type DecoderInput =
  | { label: string; fd: number }
  | {
      label: string;
      body: { pipeInto(sink: Writable, done: (error: string | undefined) => void): void; close(): void };
    };

export class FileDecoder {
  readonly fifo = new PcmFifo(2 * FILE_RATE);
  readonly #proc: ChildProcess;
  readonly #out: Readable;
  readonly #input: DecoderInput;
  readonly #events: FileDecoderEvents;
  #stderr = "";
  /** An odd byte left over between stdout chunks. */
  #carry: number | undefined;
  #paused = false;
  #ended = false;
  #closed = false;
  #samples = 0;

  constructor(input: DecoderInput, events: FileDecoderEvents, ffmpeg = "ffmpeg") {
    this.#events = events;
    this.#input = input;
    const label = input.label;
    const args = [
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      "-protocol_whitelist",
      "pipe",
      "-i",
      "pipe:0",
      "-vn",
      "-f",
      "s16le",
      "-ac",
      "1",
      "-ar",
      "48000",
      "-",
    ];
    const proc = spawn(ffmpeg, args, { stdio: ["fd" in input ? input.fd : "pipe", "pipe", "pipe"] });
    this.#proc = proc;
    const { stdin, stdout, stderr } = proc;
    if (stdout === null || stderr === null) {
      throw new TypeError("ffmpeg was spawned without stdout/stderr pipes");
    }
    this.#out = stdout;
    if ("body" in input && stdin !== null) {
      input.body.pipeInto(stdin, (error) => {
        if (error !== undefined) {
          this.#end(error);
          this.close();
        }
      });
    }
    stdout.on("data", (chunk: Buffer) => this.#onData(chunk));
    stderr.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    this.#proc.on("error", (err) => this.#end(`cannot run ffmpeg: ${err.message}`));
    this.#proc.on("close", (code, signal) => {
      if (code === 0) {
        this.#end(undefined);
      } else {
        const last = this.#stderr.trim().split("\n").at(-1)?.trim() ?? "";
        this.#end(`ffmpeg could not decode '${label}' (${signal ?? `exit ${code}`})${last === "" ? "" : `: ${last}`}`);
      }
    });
  }

  /** Samples decoded so far. */
  get decodedSamples(): number {
    return this.#samples;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Call after reading from the FIFO: resumes ffmpeg's output when it has drained. */
  drained(): void {
    if (this.#paused && this.fifo.size < LOW_WATER) {
      this.#paused = false;
      this.#out.resume();
    }
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
    this.#proc.stdin?.destroy();
    this.#out.destroy();
    this.#proc.stderr?.destroy();
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) {
      this.#proc.kill("SIGKILL");
    }
  }

  #onData(chunk: Buffer): void {
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
    this.#samples += pcm.length;
    this.fifo.write(pcm);
    if (!this.#paused && this.fifo.size > HIGH_WATER) {
      this.#paused = true;
      this.#out.pause();
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

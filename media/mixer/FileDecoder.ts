/**
 * Decodes an audio file to 48 kHz mono s16le with an ffmpeg child process (`ffmpeg -i <file> -f s16le -ac 1 -ar
 * 48000 -`), into a bounded {@link PcmFifo}. Reading pauses when the FIFO holds more than a second and resumes
 * when the player has drained it below half a second, so a long file never sits in memory.
 *
 * The process is killed (SIGKILL) by {@link close} on every path; `onEnd` is called exactly once, with undefined
 * when the file was decoded to its end, or with a clear message when it could not be (missing file, not audio,
 * ffmpeg absent, ffmpeg failing mid-way).
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
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

export class FileDecoder {
  readonly fifo = new PcmFifo(2 * FILE_RATE);
  readonly #proc: ChildProcessByStdio<null, Readable, Readable>;
  readonly #events: FileDecoderEvents;
  #stderr = "";
  /** An odd byte left over between stdout chunks. */
  #carry: number | undefined;
  #paused = false;
  #ended = false;
  #closed = false;
  #samples = 0;

  constructor(path: string, events: FileDecoderEvents, ffmpeg = "ffmpeg") {
    this.#events = events;
    this.#proc = spawn(
      ffmpeg,
      [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        path,
        "-vn",
        "-f",
        "s16le",
        "-ac",
        "1",
        "-ar",
        "48000",
        "-",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#proc.stdout.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.#proc.stderr.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    this.#proc.on("error", (err) => this.#end(`cannot run ffmpeg: ${err.message}`));
    this.#proc.on("close", (code, signal) => {
      if (code === 0) {
        this.#end(undefined);
      } else {
        const last = this.#stderr.trim().split("\n").at(-1)?.trim() ?? "";
        this.#end(`ffmpeg could not decode '${path}' (${signal ?? `exit ${code}`})${last === "" ? "" : `: ${last}`}`);
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
      this.#proc.stdout.resume();
    }
  }

  /** Kills ffmpeg (if still running). Idempotent; no onEnd afterwards. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#proc.stdout.destroy();
    this.#proc.stderr.destroy();
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
      this.#proc.stdout.pause();
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

/**
 * The outage audio of a WebSocketEndpoint (issue 14 §1, docs/voicebots.md "Failures"): a file the caller hears,
 * looped, while the bot is away (the element CONNECTING), instead of silence.
 *
 * - The file is confined like the player's (`files.mediaRoots`, media/files/confine.ts): opened and checked by
 *   Korus, handed to ffmpeg as its stdin (media/player/input.ts), never as a path.
 * - It is decoded once, to the bot stream's own format (µ-law 8 kHz for Twilio, L16 at `sampleRate` for jambonz),
 *   mono, at most {@link MAX_OUTAGE_SECONDS}; the pacer then sends its frames like the bot's audio. Calls that name
 *   the same file share one decode (a per-worker cache keyed by the opened file's device, inode, size and mtime, so
 *   an edited file is decoded again).
 * - Any failure (outside the roots, missing, not decodable, ffmpeg absent or too slow) rejects with a reason; the
 *   element logs it and keeps silence.
 */
import { spawn } from "node:child_process";
import { inputArgs } from "../../player/input.js";
import { openConfined } from "../../files/confine.js";

/** Longest outage audio kept (seconds): a loop, not a programme. */
export const MAX_OUTAGE_SECONDS = 30;
const DECODE_TIMEOUT_MS = 15_000;
const MAX_CACHED = 16;

export type OutageFormat = "mulaw" | "s16le";

const cache = new Map<string, Promise<Uint8Array>>();

/**
 * The audio of `uri` in `format` at `rate` Hz, mono, cut to whole frames of `frameBytes`.
 * @throws MediaFileNotFoundError (outside the roots, missing), Error (ffmpeg failed, nothing decoded) as rejections.
 */
export async function loadOutageAudio(
  uri: string,
  roots: readonly string[],
  format: OutageFormat,
  rate: number,
  frameBytes: number,
): Promise<Uint8Array> {
  const fh = await openConfined(uri, roots);
  try {
    const st = await fh.stat();
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${format}:${rate}:${frameBytes}`;
    let p = cache.get(key);
    if (p === undefined) {
      p = decode(fh.fd, uri, format, rate, frameBytes);
      cache.set(key, p);
      p.catch(() => cache.delete(key));
      if (cache.size > MAX_CACHED) {
        cache.delete(cache.keys().next().value ?? key);
      }
    }
    return await p;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function decode(
  fd: number,
  label: string,
  format: OutageFormat,
  rate: number,
  frameBytes: number,
): Promise<Uint8Array> {
  const max = MAX_OUTAGE_SECONDS * rate * (format === "mulaw" ? 1 : 2);
  const args = ["-hide_banner", "-nostats", "-v", "error", ...inputArgs("fd")];
  args.push("-vn", "-ac", "1", "-ar", String(rate), "-t", String(MAX_OUTAGE_SECONDS), "-f", format, "pipe:1");
  return new Promise((resolve, reject) => {
    const proc = spawn("ffmpeg", args, { stdio: [fd, "pipe", "pipe"] });
    const out = new Uint8Array(max);
    let len = 0;
    let stderr = "";
    const timer = setTimeout(() => proc.kill("SIGKILL"), DECODE_TIMEOUT_MS);
    proc.stdout?.on("data", (b: Buffer) => {
      const n = Math.min(b.length, max - len);
      out.set(b.subarray(0, n), len);
      len += n;
    });
    proc.stderr?.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString("utf8")).slice(-500);
    });
    proc.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ffmpeg: ${err.message}`));
    });
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      const whole = len - (len % frameBytes);
      if (code !== 0 || whole === 0) {
        const last = stderr.trim().split("\n").at(-1) ?? "";
        reject(new Error(`ffmpeg could not decode '${label}' (${signal ?? `exit ${code}`})${last ? `: ${last}` : ""}`));
        return;
      }
      resolve(out.slice(0, whole));
    });
  });
}

/** The decoded outage audio, handed out frame by frame, looping. */
export class OutageLoop {
  readonly #pcm: Uint8Array;
  readonly #frameBytes: number;
  #pos = 0;

  constructor(pcm: Uint8Array, frameBytes: number) {
    this.#pcm = pcm;
    this.#frameBytes = frameBytes;
  }

  /** The next frame (a view, no copy), from the start again after the end. */
  next(): Uint8Array {
    if (this.#pos + this.#frameBytes > this.#pcm.length) {
      this.#pos = 0;
    }
    const f = this.#pcm.subarray(this.#pos, this.#pos + this.#frameBytes);
    this.#pos += this.#frameBytes;
    return f;
  }

  /** The next outage starts the file from its beginning. */
  rewind(): void {
    this.#pos = 0;
  }
}

/**
 * The recorder's file: one descriptor, written append-only in batches. mediabunny hands over a few bytes per packet
 * (its StreamTarget flushes after every packet); written through, that is one `write` system call per packet,
 * 50 a second per audio recording. The sink keeps them in one reusable buffer and writes it with one positional
 * `writeSync` once {@link FLUSH_MS} has passed since the last write (or {@link MAX_BATCH} bytes wait), so a recording makes about two writes a second
 * (no fsync: the page cache survives a killed process). A sink whose input stops is flushed by one shared timer, so
 * what was handed over reaches the file within about {@link FLUSH_MS} + {@link FLUSH_MS}/2 whatever the input does.
 *
 * Chunks are normally contiguous (an append-only live stream); a chunk that rewrites bytes still in the buffer is
 * copied over them, any other position flushes the buffer first. Descriptors still open when the thread exits are
 * closed then.
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";

/** Longest time data handed to a sink waits before it is written (ms). */
export const FLUSH_MS = 500;
/** First size of a sink's buffer; it doubles as needed and is kept. */
const INITIAL_BUFFER = 4096;
/** Bytes waiting beyond which the sink writes at once (memory bound; 0.5 s of 1 Mbit/s video is ~62 KiB). */
export const MAX_BATCH = 64 * 1024;

/** Open sinks of this thread: flushed by the idle timer, closed when the worker (or process) exits. */
const OPEN = new Set<FileSink>();
let timer: NodeJS.Timeout | undefined;
let exitHooked = false;

function idleFlush(): void {
  const now = performance.now();
  for (const s of OPEN) {
    s.flushIfDue(now);
  }
}

function track(s: FileSink): void {
  OPEN.add(s);
  if (timer === undefined) {
    timer = setInterval(idleFlush, FLUSH_MS / 2);
    timer.unref();
  }
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => {
      for (const open of [...OPEN]) {
        open.close();
      }
    });
  }
}

function untrack(s: FileSink): void {
  OPEN.delete(s);
  if (OPEN.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

export class FileSink {
  #fd: number;
  #buf: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER);
  /** File position of `#buf[0]`, and how many bytes of it wait. */
  #bufPos = 0;
  #bufLen = 0;
  #lastFlush = performance.now();
  #size = 0;
  #written = 0;
  /** The first write error; every later call throws it. */
  #error: Error | undefined;
  /** Write system calls made (tests, diagnostics). */
  writes = 0;

  /**
   * Opens `path` for writing (created, truncated; O_NOFOLLOW: a symlink planted at the name is refused, the folder
   * was confined by the caller). `onError` hears of a write failure found by the idle timer.
   */
  constructor(
    readonly path: string,
    private readonly onError: (err: Error) => void,
    /** false: every chunk is written at once (a fragmented MP4 hands over whole fragments). */
    private readonly batch = true,
  ) {
    this.#fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o640);
    track(this);
  }

  /** Bytes handed over so far (the file's size once flushed). */
  get size(): number {
    return this.#size;
  }

  /** The end of what reached the file. */
  get written(): number {
    return this.#written;
  }

  /** Takes `data` for file position `position`; throws the first write error. */
  write(data: Uint8Array, position: number): void {
    this.#put(data, data.length, position);
  }

  /** Takes the first `length` bytes of `data` (all by default) after the last byte handed over (no copy but into the batch). */
  append(data: Uint8Array, length = data.length): void {
    this.#put(data, length, this.#size);
  }

  #put(data: Uint8Array, length: number, position: number): void {
    if (this.#error !== undefined) {
      throw this.#error;
    }
    if (this.#fd < 0) {
      throw new Error(`recording ${this.path}: written after close`);
    }
    const end = position + length;
    const bufEnd = this.#bufPos + this.#bufLen;
    if (this.#bufLen > 0 && (position < this.#bufPos || position > bufEnd)) {
      this.flush(); // not contiguous with what waits: write that first
    }
    if (this.#bufLen === 0) {
      this.#bufPos = position;
    }
    const off = position - this.#bufPos;
    const need = off + length;
    if (need > this.#buf.length) {
      let n = this.#buf.length * 2;
      while (n < need) {
        n *= 2;
      }
      const grown = Buffer.allocUnsafe(n);
      this.#buf.copy(grown, 0, 0, this.#bufLen);
      this.#buf = grown;
    }
    if (length === data.length) {
      this.#buf.set(data, off);
    } else {
      for (let i = 0; i < length; i++) {
        this.#buf[off + i] = data[i] ?? 0; // a few header bytes: no view allocated
      }
    }
    this.#bufLen = Math.max(this.#bufLen, need);
    this.#size = Math.max(this.#size, end);
    if (!this.batch || this.#bufLen >= MAX_BATCH || performance.now() - this.#lastFlush >= FLUSH_MS) {
      this.flush();
    }
  }

  /** Writes what waits (one positional write); throws the first write error. */
  flush(): void {
    this.#lastFlush = performance.now();
    if (this.#bufLen === 0 || this.#fd < 0) {
      return;
    }
    try {
      let done = 0;
      while (done < this.#bufLen) {
        done += writeSync(this.#fd, this.#buf, done, this.#bufLen - done, this.#bufPos + done);
        this.writes++;
        this.#written = Math.max(this.#written, this.#bufPos + done);
      }
    } catch (err) {
      this.#error = err instanceof Error ? err : new Error(String(err));
      this.#bufLen = 0;
      throw this.#error;
    }
    this.#bufLen = 0;
  }

  /** The idle timer's check: flushes when data has waited {@link FLUSH_MS}. */
  flushIfDue(now: number): void {
    if (this.#bufLen > 0 && this.#error === undefined && now - this.#lastFlush >= FLUSH_MS) {
      try {
        this.flush();
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }

  /** Flushes what waits (unless a write already failed) and closes the descriptor. Idempotent. */
  close(): void {
    if (this.#fd >= 0) {
      if (this.#error === undefined) {
        try {
          this.flush();
        } catch {
          // reported by the writer's next call or already through onError; the descriptor is closed regardless
        }
      }
      try {
        closeSync(this.#fd);
      } catch {
        // already closed
      }
      this.#fd = -1;
    }
    untrack(this);
  }
}

/**
 * Loader and typed surface of the korus_codecs N-API addon (media/codecs/native/codecs.c). Only the wrappers in
 * media/codecs/ use it; nothing else in Korus may import it (architecture rule).
 *
 * The addon is built by `npm run build:native` (node-gyp, offline against /usr/include/node). It is loaded lazily
 * on first use, from the source tree whether this file runs from source (tests) or from dist/.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { CodecClosedError, CodecError } from "./errors.js";

/** An opaque, type-tagged native codec handle (an N-API external). */
export interface NativeHandle {
  readonly __korusCodecHandle: never;
}

/** Opus encoder settings understood by opusEncoderSet / opusEncoderGet. */
export const OpusCtl = {
  bitrate: 0,
  complexity: 1,
  dtx: 2,
  inbandFec: 3,
  packetLossPercent: 4,
  vbr: 5,
  maxBandwidth: 6,
  signal: 7,
  lookahead: 8,
  inDtx: 9,
} as const;

export interface NativeCodecs {
  close(h: NativeHandle): void;
  opusEncoderCreate(rate: number, channels: number, application: number): NativeHandle;
  opusEncoderSet(h: NativeHandle, key: number, value: number): void;
  opusEncoderGet(h: NativeHandle, key: number): number;
  opusEncode(h: NativeHandle, pcm: Int16Array, out: Uint8Array): number;
  opusDecoderCreate(rate: number, channels: number): NativeHandle;
  opusDecode(h: NativeHandle, data: Uint8Array | null, out: Int16Array, fec: boolean): number;
  opusPacketSamples(data: Uint8Array, rate: number): number;
  amrnbEncoderCreate(dtx: boolean): NativeHandle;
  amrnbEncode(h: NativeHandle, mode: number, pcm: Int16Array, out: Uint8Array): number;
  amrnbDecoderCreate(): NativeHandle;
  amrnbDecode(h: NativeHandle, frame: Uint8Array, out: Int16Array): void;
  amrwbEncoderCreate(): NativeHandle;
  amrwbEncode(h: NativeHandle, mode: number, pcm: Int16Array, out: Uint8Array, dtx: boolean): number;
  amrwbDecoderCreate(): NativeHandle;
  amrwbDecode(h: NativeHandle, frame: Uint8Array, out: Int16Array): void;
}

const RELATIVE = "native/build/Release/korus_codecs.node";

let cached: NativeCodecs | undefined;

/** Where the addon is looked for: next to this file (source tree) or, from dist/media/codecs/, in the source tree. */
export function addonCandidates(): string[] {
  return [
    fileURLToPath(new URL(`./${RELATIVE}`, import.meta.url)),
    fileURLToPath(new URL(`../../../media/codecs/${RELATIVE}`, import.meta.url)),
  ];
}

/** The loaded addon; throws CodecError naming the fix when it was not built. */
export function nativeCodecs(): NativeCodecs {
  if (cached !== undefined) {
    return cached;
  }
  const path = addonCandidates().find((p) => existsSync(p));
  if (path === undefined) {
    throw new CodecError(
      `the codec addon is not built (looked for ${addonCandidates().join(", ")}); run \`npm run build:native\``,
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeCodecs;
  return cached;
}

/** Rethrows an error from the addon as a CodecError (CodecClosedError for a closed handle). */
export function codecError(e: unknown, what: string): CodecError {
  const msg = e instanceof Error ? e.message : String(e);
  return msg === "codec is closed" ? new CodecClosedError(`${what} is closed`) : new CodecError(`${what}: ${msg}`);
}

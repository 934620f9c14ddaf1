/**
 * Loader and typed surface of the korus_video N-API addon (media/codecs/video/native/). Only the wrappers in
 * media/codecs/video/ use it. Built by `npm run build:native`; loaded lazily on first use, from the source tree
 * whether this file runs from source (tests) or from dist/.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { CodecError } from "../errors.js";

/** An opaque, type-tagged native video codec handle (an N-API external). */
export interface NativeVideoHandle {
  readonly __korusVideoHandle: never;
}

export type VideoCodecName = "vp8" | "vp9" | "h264";

export interface NativeDecodedFrame {
  slot: number;
  data: Uint8Array;
  width: number;
  height: number;
  timestamp: number;
}

export interface NativeVideoStats {
  queued: number;
  dropped: number;
  processed: number;
  errors: number;
  poolDrops: number;
  busyUs: number;
}

export type DecodeCallback = (id: number, err: string | null, frames: NativeDecodedFrame[], busyUs: number) => void;
export type EncodeCallback = (
  id: number,
  err: string | null,
  data: Buffer | null,
  keyframe: boolean,
  timestamp: number,
  busyUs: number,
) => void;

export interface NativeVideo {
  close(h: NativeVideoHandle): void;
  stats(h: NativeVideoHandle): NativeVideoStats;
  decoderCreate(
    codec: VideoCodecName,
    threads: number,
    poolSize: number,
    queueSize: number,
    outWidth: number,
    outHeight: number,
    maxPixels: number,
    cb: DecodeCallback,
  ): NativeVideoHandle;
  decode(h: NativeVideoHandle, id: number, data: Uint8Array, timestamp: number): number;
  frameRelease(h: NativeVideoHandle, slot: number): void;
  encoderCreate(
    codec: VideoCodecName,
    width: number,
    height: number,
    bitrate: number,
    frameRate: number,
    threads: number,
    queueSize: number,
    keyframeInterval: number,
    cpuUsed: number,
    preset: string,
    cb: EncodeCallback,
  ): NativeVideoHandle;
  encode(
    h: NativeVideoHandle,
    id: number,
    frame: Uint8Array,
    width: number,
    height: number,
    timestamp: number,
    keyframe: boolean,
  ): number;
  forceKeyframe(h: NativeVideoHandle): void;
  setBitrate(h: NativeVideoHandle, bps: number): void;
}

const RELATIVE = "native/build/Release/korus_video.node";

let cached: NativeVideo | undefined;

function candidates(): string[] {
  return [
    fileURLToPath(new URL(`./${RELATIVE}`, import.meta.url)),
    fileURLToPath(new URL(`../../../../media/codecs/video/${RELATIVE}`, import.meta.url)),
  ];
}

/** The loaded addon; throws CodecError naming the fix when it was not built. */
export function nativeVideo(): NativeVideo {
  if (cached !== undefined) {
    return cached;
  }
  const path = candidates().find((p) => existsSync(p));
  if (path === undefined) {
    throw new CodecError(
      `the video codec addon is not built (looked for ${candidates().join(", ")}); run \`npm run build:native\``,
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeVideo;
  return cached;
}

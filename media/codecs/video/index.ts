/**
 * media/codecs/video: native video codecs (docs/video.md). VP8/VP9/H.264 decoding (libavcodec) and encoding
 * (libvpx, libx264) on a video thread per codec instance, with packed I420 frames in pooled buffers.
 */
export * from "./errors.js";
export type { VideoCodecStats } from "./jobs.js";
export type { VideoCodecName } from "./native.js";
export * from "./decoder.js";
export * from "./encoder.js";

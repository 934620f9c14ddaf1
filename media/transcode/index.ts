/**
 * media/transcode: automatic audio transcoding between pipeline elements (issue 4 §5–§6). See AudioTranscoder.ts
 * for the design, JitterBuffer.ts for the jitter-buffer choice and format.ts for what sinks declare.
 */
export * from "./errors.js";
export * from "./format.js";
export * from "./JitterBuffer.js";
export * from "./AudioTranscoder.js";

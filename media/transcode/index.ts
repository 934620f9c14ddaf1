/**
 * media/transcode: automatic audio transcoding between pipeline elements (issue 4 §5–§6). AudioTranscoder.ts wires
 * the stages (stages/: decode, re-frame, encode, DTMF) into one TargetChain per target format; JitterBuffer.ts
 * explains the jitter-buffer choice and format.ts what sinks declare.
 */
export * from "./errors.js";
export * from "./format.js";
export * from "./JitterBuffer.js";
export * from "./AudioTranscoder.js";

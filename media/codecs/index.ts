/**
 * media/codecs: audio codecs and the DSP around them. The native addon (native.ts) stays private to this folder.
 *
 * - G.711 µ-law/A-law (g711.ts), G.722 (g722.ts), Opus (opus.ts), AMR-NB/AMR-WB (amr.ts) behind {@link AudioEncoder} /
 *   {@link AudioDecoder}; {@link createEncoder} / {@link createDecoder} pick one by SDP encoding name.
 * - RFC 4867 AMR RTP payloads (amrPayload.ts, and payload-level AMR codecs in amrRtp.ts), RFC 3389 comfort noise (comfortNoise.ts).
 * - Resampling (resampler.ts), ptime re-framing (reframer.ts), silence for keeping RTP flowing (silence.ts),
 *   loss concealment (plc.ts for G.711, concealment.ts for any decoder).
 */
export * from "./types.js";
export * from "./errors.js";
export * from "./g711.js";
export * from "./g722.js";
export * from "./opus.js";
export * from "./amr.js";
export * from "./amrPayload.js";
export * from "./amrRtp.js";
export * from "./comfortNoise.js";
export * from "./resampler.js";
export * from "./reframer.js";
export * from "./silence.js";
export * from "./plc.js";
export * from "./concealment.js";
export * from "./factory.js";

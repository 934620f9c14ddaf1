/**
 * Opus bits the recorder writes itself: the identification header (RFC 7845 §5.1, "OpusHead"), which Ogg needs as
 * the track's decoder description, and the filler packet that keeps an Ogg stream on the wall clock across a gap.
 */

/** Pre-skip of libopus at 48 kHz (its encoder look-ahead), as RFC 7845 §4.2 recommends to signal. */
export const OPUS_PRE_SKIP = 312;

/** The 19-byte OpusHead of a channel-mapping-family-0 stream (mono or stereo). */
export function opusHead(channels: number, preSkip = OPUS_PRE_SKIP, inputRate = 48000): Uint8Array {
  const b = new Uint8Array(19);
  b.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64]); // "OpusHead"
  const v = new DataView(b.buffer);
  b[8] = 1; // version
  b[9] = channels === 1 ? 1 : 2;
  v.setUint16(10, preSkip, true);
  v.setUint32(12, inputRate, true);
  v.setInt16(16, 0, true); // output gain
  b[18] = 0; // mapping family 0: mono or stereo, no table
  return b;
}

/** Channels an Opus packet carries, from its TOC byte's stereo flag (RFC 6716 §3.1). */
export function opusPacketChannels(packet: Uint8Array): 1 | 2 {
  return packet.length > 0 && ((packet[0] ?? 0) & 0x04) !== 0 ? 2 : 1;
}

/** Frame lengths (ms × 10) of the 32 TOC configurations (RFC 6716 Table 2). */
const CONFIG_MS10 = [
  100, 200, 400, 600, 100, 200, 400, 600, 100, 200, 400, 600, 100, 200, 100, 200, 25, 50, 100, 200, 25, 50, 100, 200,
  25, 50, 100, 200, 25, 50, 100, 200,
];

/** Duration of an Opus packet in seconds (TOC configuration × frame count; 0.02 when unreadable). */
export function opusPacketSeconds(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) {
    return 0.02;
  }
  const frameMs = (CONFIG_MS10[toc >> 3] ?? 200) / 10;
  const code = toc & 3;
  const frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  const s = (frameMs * frames) / 1000;
  return s > 0 && s <= 0.12 ? s : 0.02;
}

/**
 * A 20 ms Opus packet with no frame data (TOC configuration 31, CELT fullband 20 ms, one frame of zero bytes):
 * decoders treat it as a lost frame and conceal into silence (RFC 6716 §3.2.1: a 0-byte frame is DTX/loss).
 */
export function opusFillerPacket(channels: number): Uint8Array {
  return Uint8Array.of((31 << 3) | (channels === 2 ? 0x04 : 0));
}

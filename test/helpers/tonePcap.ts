/**
 * A pcap of a PCMA tone as SIPp's `play_pcap_audio` replays it: RTP in Ethernet/IPv4/UDP frames, 20 ms a packet.
 */
import { writeFileSync } from "node:fs";
import { encodeG711, PCMA_TABLES } from "../../media/codecs/index.js";
import { generateTone } from "./tone.js";

/** Writes `seconds` of a `freq` Hz tone to `file`. */
export function writeTonePcap(file: string, freq: number, seconds: number): void {
  const n = Math.round(seconds * 50);
  const pcm = generateTone(freq, { sampleRate: 8000, samples: n * 160, amplitude: 8000 });
  const parts: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // Ethernet
  parts.push(global);
  for (let i = 0; i < n; i++) {
    const payload = new Uint8Array(160);
    encodeG711(PCMA_TABLES, pcm.subarray(i * 160, (i + 1) * 160), payload);
    const rtp = Buffer.alloc(12 + 160);
    rtp[0] = 0x80;
    rtp[1] = i === 0 ? 0x88 : 0x08;
    rtp.writeUInt16BE(i & 0xffff, 2);
    rtp.writeUInt32BE(i * 160, 4);
    rtp.writeUInt32BE(0x1234abcd, 8);
    Buffer.from(payload).copy(rtp, 12);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(4000, 0);
    udp.writeUInt16BE(4002, 2);
    udp.writeUInt16BE(8 + rtp.length, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + rtp.length, 2);
    ip[8] = 64;
    ip[9] = 17;
    ip.set([127, 0, 0, 1], 12);
    ip.set([127, 0, 0, 1], 16);
    let sum = 0;
    for (let j = 0; j < 20; j += 2) {
      sum += ip.readUInt16BE(j);
    }
    ip.writeUInt16BE(~((sum & 0xffff) + (sum >>> 16)) & 0xffff, 10);
    const frame = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), ip, udp, rtp]);
    const record = Buffer.alloc(16);
    const usec = i * 20_000;
    record.writeUInt32LE(Math.floor(usec / 1e6), 0);
    record.writeUInt32LE(usec % 1e6, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    parts.push(record, frame);
  }
  writeFileSync(file, Buffer.concat(parts));
}

/**
 * RTCP feedback messages (RFC 4585 §6) that Korus sends and reads: generic NACK (RTPFB FMT 1, §6.2.1), PLI (PSFB
 * FMT 1, §6.3.1), FIR (PSFB FMT 4, RFC 5104 §4.3.1) and REMB (PSFB FMT 15, draft-alvestrand-rmcat-remb §2.2).
 * Builders return one packet; readers take an {@link RtcpOther} from parseRtcp and never read past its bytes.
 */
import { RTCP_PSFB, RTCP_RTPFB, u32, type RtcpOther } from "./Rtcp.js";

export const FMT_NACK = 1;
export const FMT_PLI = 1;
export const FMT_FIR = 4;
export const FMT_AFB = 15;

/** Common feedback header: V=2, FMT, PT, length, sender SSRC, media source SSRC; the FCI follows at octet 12. */
function feedback(fmt: number, pt: number, senderSsrc: number, mediaSsrc: number, fciBytes: number): Buffer {
  const out = Buffer.alloc(12 + fciBytes);
  out[0] = 0x80 | fmt;
  out[1] = pt;
  out.writeUInt16BE(out.length / 4 - 1, 2);
  out.writeUInt32BE(senderSsrc >>> 0, 4);
  out.writeUInt32BE(mediaSsrc >>> 0, 8);
  return out;
}

/** A Picture Loss Indication about `mediaSsrc`. */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  return feedback(FMT_PLI, RTCP_PSFB, senderSsrc, mediaSsrc, 0);
}

/** A Full Intra Request for `targetSsrc` (media source field 0, one FCI entry with the request's sequence number). */
export function buildFir(senderSsrc: number, targetSsrc: number, seq: number): Buffer {
  const out = feedback(FMT_FIR, RTCP_PSFB, senderSsrc, 0, 8);
  out.writeUInt32BE(targetSsrc >>> 0, 12);
  out[16] = seq & 0xff;
  return out;
}

/**
 * A generic NACK for the sequence numbers in `lost` (in order, 16-bit, across the wrap): each FCI is a PID and a
 * bitmask of the 16 numbers after it.
 */
export function buildNack(senderSsrc: number, mediaSsrc: number, lost: readonly number[]): Buffer {
  const fci: number[] = [];
  let pid = -1;
  let blp = 0;
  for (const seq of lost) {
    const s = seq & 0xffff;
    const diff = pid < 0 ? -1 : (s - pid - 1) & 0xffff;
    if (diff >= 0 && diff < 16) {
      blp |= 1 << diff;
      continue;
    }
    if (pid >= 0) {
      fci.push(pid, blp);
    }
    pid = s;
    blp = 0;
  }
  if (pid >= 0) {
    fci.push(pid, blp);
  }
  const out = feedback(FMT_NACK, RTCP_RTPFB, senderSsrc, mediaSsrc, 2 * fci.length);
  fci.forEach((v, i) => out.writeUInt16BE(v, 12 + 2 * i));
  return out;
}

const isFeedback = (p: RtcpOther, pt: number, fmt: number): boolean => p.packetType === pt && p.count === fmt;

/** The sequence numbers a generic NACK asks for (16-bit, PID order), or [] for any other packet. */
export function nackLost(p: RtcpOther): number[] {
  if (!isFeedback(p, RTCP_RTPFB, FMT_NACK)) {
    return [];
  }
  const b = p.bytes;
  const lost: number[] = [];
  for (let o = 12; o + 4 <= b.length; o += 4) {
    const pid = ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
    const blp = ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0);
    lost.push(pid);
    for (let i = 0; i < 16; i++) {
      if ((blp >> i) & 1) {
        lost.push((pid + i + 1) & 0xffff);
      }
    }
  }
  return lost;
}

/** The SSRCs a FIR asks to refresh (one per FCI entry), or [] for any other packet. */
export function firTargets(p: RtcpOther): number[] {
  if (!isFeedback(p, RTCP_PSFB, FMT_FIR)) {
    return [];
  }
  const out: number[] = [];
  for (let o = 12; o + 8 <= p.bytes.length; o += 8) {
    out.push(u32(p.bytes, o));
  }
  return out;
}

/** A REMB's bitrate (bps) and the SSRCs it applies to, or undefined for any other packet. */
export function readRemb(p: RtcpOther): { bitrate: number; ssrcs: number[] } | undefined {
  const b = p.bytes;
  // "REMB" identifier, then Num SSRC (8 bits), BR Exp (6 bits), BR Mantissa (18 bits), then the SSRCs.
  if (!isFeedback(p, RTCP_PSFB, FMT_AFB) || b.length < 20 || u32(b, 12) !== 0x52454d42) {
    return undefined;
  }
  const n = b[16] ?? 0;
  const exp = (b[17] ?? 0) >> 2;
  const mantissa = (((b[17] ?? 0) & 0x03) << 16) | ((b[18] ?? 0) << 8) | (b[19] ?? 0);
  const ssrcs: number[] = [];
  for (let i = 0, o = 20; i < n && o + 4 <= b.length; i++, o += 4) {
    ssrcs.push(u32(b, o));
  }
  return { bitrate: mantissa * 2 ** exp, ssrcs };
}

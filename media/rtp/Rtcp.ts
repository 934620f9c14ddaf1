/**
 * The RTCP codec of Korus: sender and receiver reports, SDES and BYE (RFC 3550 §6.4–§6.6), built and parsed as
 * compound packets (§6.1). Feedback packets (RTPFB 205, PSFB 206, RFC 4585) and APP/XR are returned as
 * {@link RtcpOther} with their raw bytes; rtcpFeedback.ts reads and builds NACK, PLI, FIR and REMB.
 *
 * Why not rtp.js here (libraries.md §4): on the same SR+SDES compound (one report block), building took 2.2–3.6 µs
 * with this code and 19–22 µs with rtp.js 0.15.5, parsing 0.5–0.7 µs against 5.2–6.2 µs; and rtp.js's
 * `ReceptionReport.getTotalLost()` masks the 24-bit field with 0x0fff (a loss of 5000 reads as 904). RTP packets
 * stay on RtpPacket.ts.
 *
 * Parsing never reads past the datagram and throws only {@link RtcpParseError}.
 */

export class RtcpParseError extends Error {
  override readonly name = "RtcpParseError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;

/** One reception report block (RFC 3550 §6.4.1). */
export interface ReportBlock {
  readonly ssrc: number;
  /** Fraction lost since the previous report, as the 8-bit fixed-point value (0–255, loss = value / 256). */
  readonly fractionLost: number;
  /** Cumulative packets lost, signed 24 bits (negative with duplicates). */
  readonly cumulativeLost: number;
  readonly extendedHighestSeq: number;
  /** Interarrival jitter, in timestamp units. */
  readonly jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source, 0 if none. */
  readonly lastSr: number;
  /** Delay since that SR, in units of 1/65536 s. */
  readonly delaySinceLastSr: number;
}

export interface RtcpSenderReport {
  readonly type: "sr";
  readonly ssrc: number;
  readonly ntpSeconds: number;
  readonly ntpFraction: number;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  readonly reports: readonly ReportBlock[];
}

export interface RtcpReceiverReport {
  readonly type: "rr";
  readonly ssrc: number;
  readonly reports: readonly ReportBlock[];
}

export interface SdesChunk {
  readonly ssrc: number;
  /** Items by type number (1 CNAME, 2 NAME, ... RFC 3550 §6.5); text as UTF-8. */
  readonly items: readonly { readonly type: number; readonly text: string }[];
}

export interface RtcpSdes {
  readonly type: "sdes";
  readonly chunks: readonly SdesChunk[];
}

export interface RtcpBye {
  readonly type: "bye";
  readonly ssrcs: readonly number[];
  readonly reason?: string;
}

/** Any other packet type (feedback, APP, XR): header fields and the whole packet's bytes. */
export interface RtcpOther {
  readonly type: "other";
  readonly packetType: number;
  /** The 5-bit count field (FMT for feedback packets: 1 PLI / 4 FIR with PSFB, 1 NACK with RTPFB). */
  readonly count: number;
  /** Sender SSRC (first word after the header), 0 if the packet is too short to have one. */
  readonly ssrc: number;
  /** Media source SSRC for feedback packets (second word), 0 otherwise. */
  readonly mediaSsrc: number;
  readonly bytes: Uint8Array;
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpBye | RtcpOther;

/** Reads a big-endian unsigned 32-bit word; bytes past the end read as 0 (callers check lengths first). */
export const u32 = (b: Uint8Array, o: number): number =>
  (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;

function readReports(b: Uint8Array, off: number, count: number, end: number): ReportBlock[] {
  const out: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = off + 24 * i;
    if (o + 24 > end) {
      throw new RtcpParseError(`report block ${i} runs past the packet`);
    }
    const lostRaw = (((b[o + 5] ?? 0) << 16) | ((b[o + 6] ?? 0) << 8) | (b[o + 7] ?? 0)) >>> 0;
    out.push({
      ssrc: u32(b, o),
      fractionLost: b[o + 4] ?? 0,
      cumulativeLost: lostRaw & 0x80_0000 ? lostRaw - 0x100_0000 : lostRaw,
      extendedHighestSeq: u32(b, o + 8),
      jitter: u32(b, o + 12),
      lastSr: u32(b, o + 16),
      delaySinceLastSr: u32(b, o + 20),
    });
  }
  return out;
}

/**
 * Parses a compound RTCP packet (also a single one, or a reduced-size one, RFC 5506) into its parts.
 * @throws RtcpParseError for a wrong version, a length that runs past the datagram, or a truncated report.
 */
export function parseRtcp(buf: Uint8Array): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  let off = 0;
  if (buf.length < 4) {
    throw new RtcpParseError(`RTCP datagram of ${buf.length} bytes`);
  }
  while (off + 4 <= buf.length) {
    const b0 = buf[off] ?? 0;
    if (b0 >> 6 !== 2) {
      throw new RtcpParseError(`RTCP version ${b0 >> 6} at offset ${off}`);
    }
    const count = b0 & 0x1f;
    const pt = buf[off + 1] ?? 0;
    const words = ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0);
    const end = off + 4 * (words + 1);
    if (end > buf.length) {
      throw new RtcpParseError(`RTCP packet type ${pt} of ${4 * (words + 1)} bytes runs past the datagram`);
    }
    // Padding (only legal on the last packet): the last byte counts the padding octets.
    const bodyEnd = (b0 & 0x20) !== 0 ? end - (buf[end - 1] ?? 0) : end;
    if (bodyEnd < off + 4) {
      throw new RtcpParseError("RTCP padding longer than the packet");
    }
    switch (pt) {
      case RTCP_SR: {
        if (off + 28 > bodyEnd) {
          throw new RtcpParseError("SR shorter than its sender info");
        }
        out.push({
          type: "sr",
          ssrc: u32(buf, off + 4),
          ntpSeconds: u32(buf, off + 8),
          ntpFraction: u32(buf, off + 12),
          rtpTimestamp: u32(buf, off + 16),
          packetCount: u32(buf, off + 20),
          octetCount: u32(buf, off + 24),
          reports: readReports(buf, off + 28, count, bodyEnd),
        });
        break;
      }
      case RTCP_RR: {
        if (off + 8 > bodyEnd) {
          throw new RtcpParseError("RR without its SSRC");
        }
        out.push({ type: "rr", ssrc: u32(buf, off + 4), reports: readReports(buf, off + 8, count, bodyEnd) });
        break;
      }
      case RTCP_SDES: {
        out.push({ type: "sdes", chunks: readSdes(buf, off + 4, count, bodyEnd) });
        break;
      }
      case RTCP_BYE: {
        const ssrcs: number[] = [];
        let o = off + 4;
        for (let i = 0; i < count; i++, o += 4) {
          if (o + 4 > bodyEnd) {
            throw new RtcpParseError("BYE lists more SSRCs than it holds");
          }
          ssrcs.push(u32(buf, o));
        }
        let reason: string | undefined;
        if (o < bodyEnd) {
          const n = buf[o] ?? 0;
          if (o + 1 + n > bodyEnd) {
            throw new RtcpParseError("BYE reason runs past the packet");
          }
          reason = Buffer.from(buf.buffer, buf.byteOffset + o + 1, n).toString("utf8");
        }
        out.push(reason === undefined ? { type: "bye", ssrcs } : { type: "bye", ssrcs, reason });
        break;
      }
      default: {
        out.push({
          type: "other",
          packetType: pt,
          count,
          ssrc: off + 8 <= end ? u32(buf, off + 4) : 0,
          mediaSsrc: off + 12 <= end ? u32(buf, off + 8) : 0,
          bytes: buf.subarray(off, end),
        });
      }
    }
    off = end;
  }
  if (off !== buf.length) {
    throw new RtcpParseError(`${buf.length - off} trailing bytes after the last RTCP packet`);
  }
  return out;
}

function readSdes(b: Uint8Array, start: number, count: number, end: number): SdesChunk[] {
  const chunks: SdesChunk[] = [];
  let o = start;
  for (let i = 0; i < count; i++) {
    if (o + 4 > end) {
      throw new RtcpParseError(`SDES chunk ${i} runs past the packet`);
    }
    const ssrc = u32(b, o);
    o += 4;
    const items: { type: number; text: string }[] = [];
    for (;;) {
      if (o >= end) {
        throw new RtcpParseError("SDES chunk without its END item");
      }
      const type = b[o] ?? 0;
      if (type === 0) {
        // END: skip to the next 32-bit boundary (RFC 3550 §6.5).
        o = (o + 4) & ~3;
        break;
      }
      const n = b[o + 1] ?? 0;
      if (o + 2 + n > end) {
        throw new RtcpParseError("SDES item runs past the packet");
      }
      items.push({ type, text: Buffer.from(b.buffer, b.byteOffset + o + 2, n).toString("utf8") });
      o += 2 + n;
    }
    chunks.push({ ssrc, items });
  }
  return chunks;
}

// ------------------------------------------------------------------------------------------------ building

function header(out: Buffer, count: number, pt: number, lengthBytes: number): void {
  out[0] = 0x80 | (count & 0x1f);
  out[1] = pt;
  out.writeUInt16BE(lengthBytes / 4 - 1, 2);
}

function writeReports(out: Buffer, off: number, reports: readonly ReportBlock[]): void {
  reports.forEach((r, i) => {
    const o = off + 24 * i;
    out.writeUInt32BE(r.ssrc >>> 0, o);
    out[o + 4] = Math.max(0, Math.min(255, Math.floor(r.fractionLost)));
    // Cumulative loss is clamped to the signed 24-bit range (RFC 3550 §6.4.1).
    const lost = Math.max(-0x80_0000, Math.min(0x7f_ffff, Math.trunc(r.cumulativeLost)));
    out.writeUIntBE(lost < 0 ? lost + 0x100_0000 : lost, o + 5, 3);
    out.writeUInt32BE(r.extendedHighestSeq >>> 0, o + 8);
    out.writeUInt32BE(Math.min(0xffff_ffff, Math.max(0, Math.round(r.jitter))) >>> 0, o + 12);
    out.writeUInt32BE(r.lastSr >>> 0, o + 16);
    out.writeUInt32BE(r.delaySinceLastSr >>> 0, o + 20);
  });
}

/** An SR or RR: header, SSRC, `info` (the SR's 20 octets of sender info, or none) and up to 31 report blocks. */
function reportPacket(pt: number, ssrc: number, info: readonly number[], blocks: readonly ReportBlock[]): Buffer {
  const reports = blocks.slice(0, 31);
  const start = 8 + 4 * info.length;
  const len = start + 24 * reports.length;
  const out = Buffer.alloc(len);
  header(out, reports.length, pt, len);
  out.writeUInt32BE(ssrc >>> 0, 4);
  info.forEach((v, i) => out.writeUInt32BE(v >>> 0, 8 + 4 * i));
  writeReports(out, start, reports);
  return out;
}

/** Builds an SR with up to 31 report blocks. */
export function buildSenderReport(sr: Omit<RtcpSenderReport, "type">): Buffer {
  const info = [sr.ntpSeconds, sr.ntpFraction, sr.rtpTimestamp, sr.packetCount, sr.octetCount];
  return reportPacket(RTCP_SR, sr.ssrc, info, sr.reports);
}

/** Builds an RR with up to 31 report blocks (none is valid: an empty RR heads a compound packet, §6.1). */
export function buildReceiverReport(rr: Omit<RtcpReceiverReport, "type">): Buffer {
  return reportPacket(RTCP_RR, rr.ssrc, [], rr.reports);
}

/** Builds an SDES packet; each chunk is its SSRC, its items and an END, padded to 32 bits. */
export function buildSdes(chunks: readonly SdesChunk[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks.slice(0, 31)) {
    const items = c.items.map((it) => {
      const text = Buffer.from(it.text, "utf8").subarray(0, 255);
      return Buffer.concat([Buffer.from([it.type, text.length]), text]);
    });
    const body = Buffer.concat([Buffer.alloc(4), ...items]);
    body.writeUInt32BE(c.ssrc >>> 0, 0);
    const padded = Buffer.alloc((body.length + 4) & ~3); // at least one zero octet (END)
    body.copy(padded);
    parts.push(padded);
  }
  const len = 4 + parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.concat([Buffer.alloc(4), ...parts], len);
  header(out, parts.length, RTCP_SDES, len);
  return out;
}

/** Builds a BYE for `ssrcs` with an optional reason. */
export function buildBye(ssrcs: readonly number[], reason?: string): Buffer {
  const list = ssrcs.slice(0, 31);
  const text = reason === undefined ? undefined : Buffer.from(reason, "utf8").subarray(0, 255);
  const raw = 4 + 4 * list.length + (text === undefined ? 0 : 1 + text.length);
  const len = (raw + 3) & ~3;
  const out = Buffer.alloc(len);
  header(out, list.length, RTCP_BYE, len);
  list.forEach((s, i) => out.writeUInt32BE(s >>> 0, 4 + 4 * i));
  if (text !== undefined) {
    out[4 + 4 * list.length] = text.length;
    text.copy(out, 5 + 4 * list.length);
  }
  return out;
}

/** A CNAME-only SDES chunk, the mandatory item of every compound packet (RFC 3550 §6.5.1). */
export function cnameChunk(ssrc: number, cname: string): SdesChunk {
  return { ssrc, items: [{ type: 1, text: cname }] };
}

// ------------------------------------------------------------------------------------------------ NTP time

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** Wall-clock milliseconds → 64-bit NTP timestamp as [seconds, fraction] (RFC 3550 §4). */
export function ntpFromMs(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000);
  const frac = Math.floor(((ms - seconds * 1000) / 1000) * 0x1_0000_0000);
  return [(seconds + NTP_UNIX_OFFSET) >>> 0, frac >>> 0];
}

/** An NTP timestamp (seconds since 1900, 32-bit fraction) as ms since the Unix epoch. */
export function ntpToMs(seconds: number, fraction: number): number {
  return ((seconds >>> 0) - NTP_UNIX_OFFSET) * 1000 + ((fraction >>> 0) / 0x1_0000_0000) * 1000;
}

/** The middle 32 bits of an NTP timestamp (the LSR / compact form, units of 1/65536 s). */
export function ntpMiddle(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

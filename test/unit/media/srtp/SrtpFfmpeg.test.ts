/**
 * Interop: ffmpeg (libavformat's own SRTP code) sends an A-law tone as SRTP with AES_CM_128_HMAC_SHA1_80 and _32;
 * Korus's SrtpSession authenticates and decrypts every RTP packet and ffmpeg's SRTCP sender report, and the
 * decrypted audio is the 1 kHz tone that went in.
 *
 * SRTCP is checked with _80 only: for AES_CM_128_HMAC_SHA1_32 libavformat (srtp.c) shortens the SRTCP tag to 32
 * bits too, whereas RFC 4568 §6.2.2 (and libsrtp, hence Asterisk, FreeSWITCH, browsers) keep 80 bits for SRTCP.
 */
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import t from "tap";
import { PCMA_TABLES, decodeG711 } from "../../../../media/codecs/g711.js";
import { RtpHeaderReader, rtpHeaderLength } from "../../../../media/rtp/RtpPacket.js";
import { parseRtcp } from "../../../../media/rtp/Rtcp.js";
import { SrtpSession } from "../../../../media/srtp/SrtpSession.js";
import { findSuite } from "../../../../media/srtp/SrtpSuite.js";
import { measureFrequency } from "../../../helpers/tone.js";

async function bindPair(): Promise<[dgram.Socket, dgram.Socket]> {
  // An even port with a free odd one after it (ffmpeg sends RTCP to port + 1).
  for (let attempt = 0; attempt < 50; attempt++) {
    const a = dgram.createSocket("udp4");
    await new Promise<void>((res) => a.bind(0, "127.0.0.1", res));
    const p = a.address().port;
    if (p % 2 === 0) {
      const b = dgram.createSocket("udp4");
      const ok = await new Promise<boolean>((res) => {
        b.once("error", () => res(false));
        b.bind(p + 1, "127.0.0.1", () => res(true));
      });
      if (ok) {
        return [a, b];
      }
      b.close();
    }
    a.close();
  }
  throw new Error("no UDP port pair");
}

for (const suiteName of ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]) {
  t.test(`ffmpeg SRTP ${suiteName} → SrtpSession`, async (t) => {
    t.setTimeout(20_000);
    const suite = findSuite(suiteName);
    if (suite === undefined) {
      throw new Error("suite");
    }
    const key = randomBytes(30);
    const rx = new SrtpSession(suite, key);
    const [rtpSock, rtcpSock] = await bindPair();
    const port = rtpSock.address().port;
    const failures: string[] = [];
    const pcm: number[] = [];
    const rtcpTypes: string[] = [];
    const reader = new RtpHeaderReader();
    rtpSock.on("message", (m) => {
      const plain = rx.unprotectRtp(m, rtpHeaderLength(m));
      if (typeof plain === "string") {
        failures.push(plain);
        return;
      }
      if (reader.read(plain) === "ok" && reader.payloadType === 8) {
        const payload = plain.subarray(reader.payloadOffset, reader.payloadOffset + reader.payloadLength);
        const out = new Int16Array(payload.length);
        decodeG711(PCMA_TABLES, payload, out);
        pcm.push(...out);
      }
    });
    const checkRtcp = suite.rtpTagLength === suite.rtcpTagLength;
    rtcpSock.on("message", (m) => {
      if (!checkRtcp) {
        return;
      }
      const plain = rx.unprotectRtcp(m);
      if (typeof plain === "string") {
        failures.push(`rtcp ${plain}`);
      } else {
        rtcpTypes.push(...parseRtcp(plain).map((p) => p.type));
      }
    });
    const ff = spawn(
      "ffmpeg",
      [
        ...["-hide_banner", "-loglevel", "error", "-re"],
        ...["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=8000:duration=1.5"],
        ...["-c:a", "pcm_alaw", "-ar", "8000", "-ac", "1", "-f", "rtp"],
        ...["-srtp_out_suite", suiteName, "-srtp_out_params", key.toString("base64")],
        `srtp://127.0.0.1:${port}?pkt_size=172`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    ff.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    t.teardown(() => {
      ff.kill("SIGKILL");
      rtpSock.close();
      rtcpSock.close();
    });
    const code = await new Promise<number | null>((res) => ff.on("exit", res));
    await new Promise((r) => setTimeout(r, 200));
    t.equal(code, 0, `ffmpeg exited cleanly ${stderr}`);
    t.same(failures, [], "every SRTP/SRTCP packet authenticated");
    t.ok(pcm.length >= 8000, `received ${pcm.length} samples`);
    const f = measureFrequency(Int16Array.from(pcm.slice(800)), 8000);
    t.ok(Math.abs(f - 1000) < 5, `decrypted tone is 1 kHz (${f.toFixed(1)} Hz)`);
    if (checkRtcp) {
      t.ok(rtcpTypes.includes("sr"), `ffmpeg's SRTCP sender report decrypted (${rtcpTypes.join(",")})`);
    }
  });
}

import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { AmrNbDecoder, AmrNbEncoder, AmrWbEncoder } from "../../../../media/codecs/amr.js";
import {
  AMR_NB,
  AMR_WB,
  AmrPacketizer,
  frameType,
  isSidFrame,
  isSpeechFrame,
  packAmr,
  resolveCmr,
  unpackAmr,
  type AmrKind,
} from "../../../../media/codecs/amrPayload.js";
import { AmrPayloadError } from "../../../../media/codecs/errors.js";
import { reserveRtpRange } from "../../../helpers/ports.js";
import { generateTone, measureFrequency, seededRandom, toneLevelDb } from "../../../helpers/tone.js";
import { ffmpegSync } from "../../../helpers/ffmpeg.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

t.test("hand-computed layouts: AMR-NB SID with CMR 5", (t) => {
  const sid = Uint8Array.of((8 << 3) | 4, 0xff, 0x00, 0xff, 0x00, 0xfe); // 39 bits used, last bit is storage padding
  // CMR 0101 | F0 FT1000 Q1 | 39 SID bits | 7 zero bits of padding
  const be = packAmr(AMR_NB, [sid], { octetAligned: false, cmr: 5 });
  t.equal(hex(be), "547fc03fc03f80", "bandwidth-efficient");
  const oa = packAmr(AMR_NB, [sid], { octetAligned: true, cmr: 5 });
  t.equal(hex(oa), "5044ff00ff00fe", "octet-aligned: CMR|R, ToC 0|1000|1|00, speech bytes");
  for (const [payload, octetAligned] of [
    [be, false],
    [oa, true],
  ] as const) {
    const u = unpackAmr(AMR_NB, payload, { octetAligned });
    t.equal(u.cmr, 5);
    t.equal(u.requestedMode, 5);
    t.same(u.frames.map(hex), [hex(sid)], "unpacks to the same storage frame");
  }
  t.end();
});

t.test("hand-computed layouts: AMR-WB SID + NO_DATA in one packet with CMR 2", (t) => {
  const sid = Uint8Array.of((9 << 3) | 4, 0xa5, 0x5a, 0xf0, 0x0f, 0x81); // 40 bits
  const noData = Uint8Array.of(0x7c);
  // CMR 0010 | 1 1001 1 | 0 1111 1 | 40 SID bits (byte-aligned by chance: 4 + 12 = 16 header bits)
  const be = packAmr(AMR_WB, [sid, noData], { octetAligned: false, cmr: 2 });
  t.equal(hex(be), "2cdfa55af00f81");
  const oa = packAmr(AMR_WB, [sid, noData], { octetAligned: true, cmr: 2 });
  t.equal(hex(oa), "20cc7ca55af00f81", "octet-aligned: 0x20, ToC 1|1001|1|00, ToC 0|1111|1|00, SID bytes");
  t.same(unpackAmr(AMR_WB, be, { octetAligned: false }).frames.map(hex), [hex(sid), "7c"]);
  t.same(unpackAmr(AMR_WB, oa, { octetAligned: true }).frames.map(hex), [hex(sid), "7c"]);
  t.end();
});

/** An independent oracle for the bandwidth-efficient packing, built with strings of '0'/'1'. */
function beOracle(kind: AmrKind, frames: Uint8Array[], cmr: number): string {
  const bin = (v: number, n: number): string => v.toString(2).padStart(n, "0");
  let s = bin(cmr, 4);
  frames.forEach((f, i) => {
    s += (i < frames.length - 1 ? "1" : "0") + bin(frameType(f), 4) + bin((f[0]! >> 2) & 1, 1);
  });
  for (const f of frames) {
    const bits = Array.from(f.subarray(1), (b) => bin(b, 8)).join("");
    s += bits.slice(0, kind.bits[frameType(f)]);
  }
  s += "0".repeat((8 - (s.length % 8)) % 8);
  return hex(Uint8Array.from(s.match(/.{8}/g) ?? [], (x) => parseInt(x, 2)));
}

function randomFrame(kind: AmrKind, rnd: () => number): Uint8Array {
  const choices = [...Array.from({ length: kind.modes }, (_, i) => i), kind.sidFt, 15];
  const ft = choices[Math.floor(rnd() * choices.length)]!;
  const f = new Uint8Array(kind.storageBytes[ft]!);
  f[0] = (ft << 3) | (rnd() < 0.9 ? 4 : 0);
  const bits = kind.bits[ft]!;
  for (let b = 0; b < bits; b++) {
    if (rnd() < 0.5) {
      f[1 + (b >> 3)]! |= 0x80 >> (b & 7);
    }
  }
  return f;
}

for (const kind of [AMR_NB, AMR_WB]) {
  t.test(`${kind.name}: 500 random packets match the bit-string oracle and round-trip in both packings`, (t) => {
    const rnd = seededRandom(kind.modes);
    let agree = 0;
    let roundTrips = 0;
    for (let i = 0; i < 500; i++) {
      const frames = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => randomFrame(kind, rnd));
      const cmr = rnd() < 0.5 ? 15 : Math.floor(rnd() * kind.modes);
      const be = packAmr(kind, frames, { octetAligned: false, cmr });
      if (hex(be) === beOracle(kind, frames, cmr)) {
        agree++;
      }
      const oa = packAmr(kind, frames, { octetAligned: true, cmr });
      const a = unpackAmr(kind, be, { octetAligned: false });
      const b = unpackAmr(kind, oa, { octetAligned: true });
      if (
        a.cmr === cmr &&
        b.cmr === cmr &&
        hex(Buffer.concat(a.frames)) === hex(Buffer.concat(frames)) &&
        hex(Buffer.concat(b.frames)) === hex(Buffer.concat(frames))
      ) {
        roundTrips++;
      }
    }
    t.equal(agree, 500, "bandwidth-efficient bytes equal the oracle's");
    t.equal(roundTrips, 500, "unpack(pack(frames)) = frames, CMR kept");
    t.end();
  });
}

t.test("CMR honoured within mode-set", (t) => {
  t.equal(resolveCmr(AMR_WB, 15, [0, 2, 8]), undefined, "15 = no request");
  t.equal(resolveCmr(AMR_WB, 12, [0, 2]), undefined, "invalid CMR ignored");
  t.equal(resolveCmr(AMR_WB, 2, undefined), 2, "no mode-set: as asked");
  t.equal(resolveCmr(AMR_WB, 5, [0, 2, 8]), 2, "closest lower mode in the set");
  t.equal(resolveCmr(AMR_WB, 8, [0, 2, 8]), 8);
  t.equal(resolveCmr(AMR_NB, 1, [2, 7]), 2, "nothing lower: the lowest of the set");
  // End to end: a peer asks for 12.65k (mode 2) while we send 23.85k; our encoder follows.
  const enc = new AmrWbEncoder();
  const modeSet = [0, 1, 2, 8];
  const fromPeer = packAmr(AMR_WB, [Uint8Array.of(0x7c)], { octetAligned: false, cmr: 2, modeSet });
  const u = unpackAmr(AMR_WB, fromPeer, { octetAligned: false, modeSet });
  t.equal(u.requestedMode, 2);
  enc.setMode(u.requestedMode!);
  const f = enc.encode(new Int16Array(320));
  t.equal(frameType(f), 2, "encoder now produces mode-2 frames");
  t.throws(() => packAmr(AMR_WB, [f], { octetAligned: false, modeSet: [0, 8] }), AmrPayloadError, "mode outside set");
  t.throws(() => packAmr(AMR_WB, [f], { octetAligned: false, cmr: 5, modeSet }), AmrPayloadError, "CMR outside set");
  t.throws(() => packAmr(AMR_WB, [f], { octetAligned: false, modeSet: [9] }), AmrPayloadError, "bad mode-set");
  t.end();
});

t.test("truncated and inconsistent payloads throw AmrPayloadError", (t) => {
  const enc = new AmrNbEncoder();
  const f = enc.encode(generateTone(440, { sampleRate: 8000, samples: 160 }));
  const be = packAmr(AMR_NB, [f, f], { octetAligned: false });
  const oa = packAmr(AMR_NB, [f, f], { octetAligned: true });
  const bad: [string, Uint8Array, boolean][] = [
    ["empty", new Uint8Array(0), false],
    ["empty (octet-aligned)", new Uint8Array(0), true],
    ["ToC cut (octet-aligned)", oa.subarray(0, 2), true],
    ["ToC chain never ends", Uint8Array.of(0xf0, 0xbc, 0xbc), true],
    ["ToC cut (BE)", Uint8Array.of(0xf3), false],
    ["speech cut (BE)", be.subarray(0, be.length - 2), false],
    ["speech cut (octet-aligned)", oa.subarray(0, oa.length - 1), true],
    ["trailing bytes (octet-aligned)", Uint8Array.of(...oa, 0), true],
    ["trailing bytes (BE)", Uint8Array.of(...be, 0, 0), false],
    ["reserved FT 12 (octet-aligned)", Uint8Array.of(0xf0, 12 << 3), true],
    ["GSM-EFR SID FT 9 discards the packet", Uint8Array.of(0xf0, (9 << 3) | 4, 0, 0, 0, 0, 0, 0), true],
  ];
  for (const [what, p, octetAligned] of bad) {
    t.throws(() => unpackAmr(AMR_NB, p, { octetAligned }), AmrPayloadError, what);
  }
  t.throws(() => unpackAmr(AMR_WB, Uint8Array.of(0xf0, 11 << 3), { octetAligned: true }), AmrPayloadError, "WB FT 11");
  t.same(
    unpackAmr(AMR_WB, Uint8Array.of(0xf0, (14 << 3) | 0), { octetAligned: true }).frames.map(hex),
    ["70"],
    "WB SPEECH_LOST is a one-byte frame for the decoder to conceal",
  );
  t.throws(() => packAmr(AMR_NB, [], { octetAligned: true }), AmrPayloadError, "no frames");
  t.throws(() => packAmr(AMR_NB, [f.subarray(0, 10)], { octetAligned: true }), AmrPayloadError, "short frame");
  t.throws(() => packAmr(AMR_NB, [Uint8Array.of(14 << 3)], { octetAligned: true }), AmrPayloadError, "NB FT 14");
  // Fuzz: random bytes either unpack or throw AmrPayloadError; frames that come out always decode.
  const rnd = seededRandom(5);
  const dec = new AmrNbDecoder();
  let unpacked = 0;
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    const p = Uint8Array.from({ length: 1 + Math.floor(rnd() * 70) }, () => Math.floor(rnd() * 256));
    try {
      for (const fr of unpackAmr(AMR_NB, p, { octetAligned: i % 2 === 0 }).frames) {
        dec.decode(fr);
      }
      unpacked++;
    } catch (e) {
      if (!(e instanceof AmrPayloadError)) {
        throw e;
      }
      refused++;
    }
  }
  t.equal(unpacked + refused, 5000, `fuzz: ${unpacked} unpacked and decoded, ${refused} refused`);
  t.end();
});

t.test("AmrPacketizer: frames per packet, CMR, DTX (NO_DATA-only packets are not sent, SID is)", (t) => {
  const p = new AmrPacketizer(AMR_NB, { octetAligned: true, framesPerPacket: 3, modeSet: [7] });
  const enc = new AmrNbEncoder({ dtx: true });
  const tone = generateTone(300, { sampleRate: 8000, samples: 160 * 6 });
  const payloads: Uint8Array[] = [];
  p.cmr = 7;
  t.throws(() => {
    p.cmr = 3;
  }, AmrPayloadError);
  for (let i = 0; i < 6; i++) {
    const out = p.push(enc.encode(tone.subarray(i * 160, i * 160 + 160)));
    if (out) {
      payloads.push(out);
    }
  }
  t.equal(payloads.length, 2, "6 frames, 3 per packet");
  const u = unpackAmr(AMR_NB, payloads[0]!, { octetAligned: true });
  t.equal(u.frames.length, 3);
  t.equal(u.cmr, 7);
  t.ok(u.frames.every((f) => isSpeechFrame(AMR_NB, f)));
  const silence = new Int16Array(160);
  let sent = 0;
  let sid = 0;
  let suppressed = 0;
  for (let i = 0; i < 60; i++) {
    const out = p.push(enc.encode(silence));
    if (out) {
      sent++;
      if (unpackAmr(AMR_NB, out, { octetAligned: true }).frames.some((f) => isSidFrame(AMR_NB, f))) {
        sid++;
      }
    } else if ((i + 1) % 3 === 0) {
      suppressed++;
    }
  }
  t.ok(suppressed >= 5, `${suppressed} all-NO_DATA packets suppressed during silence`);
  t.ok(sid >= 1, `${sid} packets with SID frames sent (of ${sent})`);
  t.throws(() => new AmrPacketizer(AMR_NB, { octetAligned: true, framesPerPacket: 0 }), AmrPayloadError);
  t.end();
});

const pcmOf = (b: Buffer): Int16Array => new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));

for (const [kind, Enc, magic, mode] of [
  [AMR_NB, AmrNbEncoder, "#!AMR\n", 7],
  [AMR_NB, AmrNbEncoder, "#!AMR\n", 0],
  [AMR_WB, AmrWbEncoder, "#!AMR-WB\n", 8],
  [AMR_WB, AmrWbEncoder, "#!AMR-WB\n", 2],
] as const) {
  t.test(
    `ffmpeg decodes Korus ${kind.name} mode ${mode} after BE and octet-aligned packing (.${magic.length === 6 ? "amr" : "awb"} storage)`,
    (t) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "korus-amr-"));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const fs = kind.sampleRate;
      const enc = new Enc({ mode });
      const tone = generateTone(1000, { sampleRate: fs, samples: fs * 2 });
      for (const octetAligned of [false, true]) {
        // Encode, pack 2 frames per RTP payload, unpack again, and store as RFC 4867 §5 storage format.
        const frames: Uint8Array[] = [];
        for (let o = 0; o < tone.length; o += kind.frameSamples * 2) {
          const pair = [0, 1].map((k) =>
            enc.encode(tone.subarray(o + k * kind.frameSamples, o + (k + 1) * kind.frameSamples)),
          );
          frames.push(...unpackAmr(kind, packAmr(kind, pair, { octetAligned }), { octetAligned }).frames);
        }
        const file = path.join(dir, `tone-${octetAligned ? "oa" : "be"}.${magic.length === 6 ? "amr" : "awb"}`);
        writeFileSync(file, Buffer.concat([Buffer.from(magic), ...frames]));
        const out = pcmOf(ffmpegSync(["-i", file, "-f", "s16le", "-ac", "1", "-ar", String(fs), "pipe:1"]));
        t.ok(
          out.length >= tone.length - kind.frameSamples,
          `${octetAligned ? "octet-aligned" : "BE"}: ffmpeg decoded ${out.length} samples`,
        );
        const f = measureFrequency(out.subarray(fs / 10), fs);
        t.ok(Math.abs(f - 1000) < 3, `${octetAligned ? "octet-aligned" : "BE"}: ffmpeg hears ${f.toFixed(1)} Hz`);
      }
      t.end();
    },
  );
}

t.test(
  "ffmpeg's RTP AMR depacketizer: octet-aligned AMR-WB over real RTP decodes to the tone; octet-align=0 is refused",
  async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "korus-amr-rtp-"));
    const range = await reserveRtpRange();
    const sender = dgram.createSocket("udp4");
    t.teardown(() => {
      sender.close();
      range.release();
      rmSync(dir, { recursive: true, force: true });
    });
    await new Promise<void>((r) => sender.bind(0, "127.0.0.1", r));

    const run = async (octetAligned: boolean): Promise<{ pcm: Int16Array; stderr: string }> => {
      const port = range.min + (octetAligned ? 0 : 2);
      const sdp = [
        "v=0",
        "o=- 0 0 IN IP4 127.0.0.1",
        "s=korus",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        `m=audio ${port} RTP/AVP 96`,
        "a=rtpmap:96 AMR-WB/16000",
        `a=fmtp:96 octet-align=${octetAligned ? 1 : 0}`,
        "",
      ].join("\r\n");
      const sdpFile = path.join(dir, `in-${port}.sdp`);
      writeFileSync(sdpFile, sdp);
      const ff = spawn(
        "ffmpeg",
        [
          "-hide_banner",
          "-loglevel",
          "error",
          "-protocol_whitelist",
          "file,udp,rtp",
          "-i",
          sdpFile,
          "-f",
          "s16le",
          "-flush_packets",
          "1",
          "-ac",
          "1",
          "-ar",
          "16000",
          "pipe:1",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const chunks: Buffer[] = [];
      let stderr = "";
      ff.stdout.on("data", (c: Buffer) => chunks.push(c));
      ff.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<void>((r) => ff.once("exit", () => r()));
      const hardKill = setTimeout(() => ff.kill("SIGKILL"), 20_000);
      t.teardown(() => {
        clearTimeout(hardKill);
        ff.kill("SIGKILL");
      });
      // 3 s of a 1 kHz tone, 20 ms per packet at real-time pace (ffmpeg opens its socket some time after spawn).
      const enc = new AmrWbEncoder({ mode: 8 });
      const tone = generateTone(1000, { sampleRate: 16000, samples: 48000 });
      const pk = new AmrPacketizer(AMR_WB, { octetAligned });
      for (let i = 0; i < 150; i++) {
        const payload = pk.push(enc.encode(tone.subarray(i * 320, i * 320 + 320)))!;
        const hdr = Buffer.alloc(12);
        hdr[0] = 0x80;
        hdr[1] = 96 | (i === 0 ? 0x80 : 0);
        hdr.writeUInt16BE(i, 2);
        hdr.writeUInt32BE(i * 320, 4);
        hdr.writeUInt32BE(0x1234abcd, 8);
        sender.send(Buffer.concat([hdr, payload]), port, "127.0.0.1");
        await new Promise((r) => setTimeout(r, 20));
      }
      // Every decoded packet is flushed to the pipe (-flush_packets 1), so a hard stop loses nothing.
      await new Promise((r) => setTimeout(r, 500));
      ff.kill("SIGKILL");
      await exited;
      clearTimeout(hardKill);
      const all = Buffer.concat(chunks);
      return { pcm: pcmOf(all.subarray(0, all.length & ~1)), stderr };
    };

    const oa = await run(true);
    t.ok(oa.pcm.length > 16000, `octet-aligned: ffmpeg decoded ${oa.pcm.length} samples from RTP`);
    const f = measureFrequency(oa.pcm.subarray(1600), 16000);
    t.ok(Math.abs(f - 1000) < 3, `octet-aligned: ffmpeg hears ${f.toFixed(1)} Hz`);
    const be = await run(false);
    const beLevel = be.pcm.length >= 64 ? toneLevelDb(be.pcm, 16000, 1000) : -Infinity;
    t.ok(beLevel < -40, `octet-align=0: no tone in what ffmpeg outputs (${beLevel.toFixed(1)} dB)`);
    t.match(
      be.stderr,
      /Unsupported RTP\/AMR configuration/,
      "ffmpeg says its RTP depacketizer supports octet-aligned only",
    );
  },
);

/**
 * Automatic transcoding between two RtpEndpoints in one pipeline, with "phones" (UDP sockets on 127.0.0.1) as
 * peers: PCMU ↔ Opus and AMR-WB (bandwidth-efficient) ↔ PCMA, a 1 kHz tone each way, its frequency measured on
 * what the other phone receives (decoded with media/codecs); isMediaTranscoding and MediaTranscodingStateChanged;
 * one shared encoder for two Opus sinks; passthrough without decoding when codecs match; ptime conversion; RTP
 * kept flowing during silence; DTMF re-mapped across clocks.
 */
import t from "tap";
import { PassThrough } from "../../../../media/elements/PassThrough.js";
import { RtpEndpoint } from "../../../../media/elements/RtpEndpoint.js";
import { DtmfDetector } from "../../../../media/rtp/dtmf.js";
import { Phone, RtpHarness, invoke } from "../rtp/fixtures/rtpHarness.js";
import { analyse, continuous, decodeReceived, packetsOf, sleep, streamTone } from "./fixtures/audio.js";

const OPUS_OFFER = { codecs: "111 110", extra: ["a=rtpmap:110 telephone-event/48000", "a=fmtp:110 0-15"] };
const PCMU_OFFER = { codecs: "0 101" };

async function leg(
  h: RtpHarness,
  offer: { codecs: string; extra?: string[] },
  ptime = 20,
): Promise<{ ep: RtpEndpoint; phone: Phone }> {
  const ep = await h.rtp();
  const phone = await Phone.open();
  const sdp = phone.offer(offer).replace("a=ptime:20", `a=ptime:${ptime}`);
  const answer = (await invoke(ep, "processOffer", { offer: sdp })) as string;
  phone.aimAt(answer);
  return { ep, phone };
}

t.test("PCMU ↔ Opus: a 1 kHz tone crosses both ways, transcoding reported on both sources", async (t) => {
  const h = await RtpHarness.create();
  const a = await leg(h, PCMU_OFFER);
  const b = await leg(h, OPUS_OFFER);
  t.teardown(() => {
    a.phone.close();
    b.phone.close();
    h.close();
  });
  h.pipeline.connect(a.ep, b.ep, undefined, "default", "default");
  h.pipeline.connect(b.ep, a.ep, undefined, "default", "default");
  t.equal(await invoke(a.ep, "isMediaTranscoding", { mediaType: "AUDIO" }), false, "nothing flows yet");

  await Promise.all([
    streamTone(a.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 50 }),
    streamTone(b.phone, { codec: "opus", pt: 111, rate: 48000, ticks: 960, packets: 50, ssrc: 0x5678 }),
  ]);
  await sleep(100);

  const toB = packetsOf(b.phone, 111);
  const toA = packetsOf(a.phone, 0);
  t.ok(toB.length >= 45, `Opus packets reached the Opus phone (${toB.length})`);
  t.ok(toA.length >= 45, `PCMU packets reached the PCMU phone (${toA.length})`);
  t.ok(continuous(toB, 960), "Opus side: sequence +1 and timestamp +960 per 20 ms (48 kHz clock)");
  t.ok(continuous(toA, 160), "PCMU side: sequence +1 and timestamp +160 per 20 ms");
  t.ok(
    toA.every((p) => p.payload.length === 160),
    "PCMU payloads are 20 ms (160 bytes)",
  );

  const atB = analyse(decodeReceived(b.phone, 111, "opus", { sampleRate: 48000 }), 48000);
  t.ok(Math.abs(atB.frequency - 1000) < 10, `Opus phone hears ${atB.frequency.toFixed(1)} Hz`);
  t.ok(atB.levelDb > -30, `tone level at the Opus phone ${atB.levelDb.toFixed(1)} dB`);
  const atA = analyse(decodeReceived(a.phone, 0, "PCMU"), 8000);
  t.ok(Math.abs(atA.frequency - 1000) < 10, `PCMU phone hears ${atA.frequency.toFixed(1)} Hz`);

  t.equal(await invoke(a.ep, "isMediaTranscoding", { mediaType: "AUDIO" }), true, "A transcodes its audio");
  t.equal(await invoke(b.ep, "isMediaTranscoding", { mediaType: "AUDIO" }), true, "B transcodes its audio");
  t.equal(await invoke(a.ep, "isMediaTranscoding", { mediaType: "VIDEO" }), false, "video is never transcoded");
  t.same(
    h.eventsOf(a.ep, "MediaTranscodingStateChanged"),
    [{ binName: `${a.ep.id}_audio_transcoder`, mediaType: "AUDIO", state: "TRANSCODING" }],
    "one MediaTranscodingStateChanged TRANSCODING on A",
  );
  const da = a.ep.transcoderDiagnostics;
  t.equal(da?.encoders, 1, "A: one encoder (Opus)");
  t.ok((da?.decoded ?? 0) >= 45, "A decoded the PCMU it received");
  t.equal(da?.decodeErrors, 0);
  const pairs = (): string[] => {
    const out: string[] = [];
    for (const ep of [a.ep, b.ep]) {
      ep.forEachTranscoding((from, to) => out.push(`${from}>${to}`));
    }
    return out;
  };
  t.same(pairs(), ["pcmu>opus", "opus>pcmu"], "the transcodings the metrics count (korus_transcoders_active)");

  h.pipeline.disconnect(a.ep, b.ep, undefined, "default", "default");
  t.same(pairs(), ["opus>pcmu"], "A's transcoding is no longer counted");
  t.equal(await invoke(a.ep, "isMediaTranscoding", { mediaType: "AUDIO" }), false, "not after disconnect");
  t.same(h.eventsOf(a.ep, "MediaTranscodingStateChanged").at(-1), {
    binName: `${a.ep.id}_audio_transcoder`,
    mediaType: "AUDIO",
    state: "NOT_TRANSCODING",
  });
  t.equal(a.ep.transcoderDiagnostics?.encoders, 0, "the encoder is freed with its last sink");
});

t.test("AMR-WB (bandwidth-efficient) ↔ PCMA: tone both ways", async (t) => {
  const h = await RtpHarness.create();
  const a = await leg(h, { codecs: "98", extra: ["a=rtpmap:98 AMR-WB/16000", "a=fmtp:98 mode-change-capability=2"] });
  const b = await leg(h, { codecs: "8" });
  t.teardown(() => {
    a.phone.close();
    b.phone.close();
    h.close();
  });
  h.pipeline.connect(a.ep, b.ep, undefined, "default", "default");
  h.pipeline.connect(b.ep, a.ep, undefined, "default", "default");
  await Promise.all([
    streamTone(a.phone, { codec: "AMR-WB", pt: 98, rate: 16000, ticks: 320, packets: 50 }),
    streamTone(b.phone, { codec: "PCMA", pt: 8, rate: 8000, ticks: 160, packets: 50, ssrc: 0x5678 }),
  ]);
  await sleep(100);
  const toA = packetsOf(a.phone, 98);
  const toB = packetsOf(b.phone, 8);
  t.ok(toA.length >= 45 && toB.length >= 45, `packets both ways (${toA.length}, ${toB.length})`);
  t.ok(continuous(toA, 320), "AMR-WB side: timestamp +320 per 20 ms");
  t.ok(
    toA.every((p) => (p.payload[0] ?? 0) >> 4 === 15),
    "bandwidth-efficient header: CMR 15 in the first 4 bits",
  );
  const atA = analyse(decodeReceived(a.phone, 98, "AMR-WB"), 16000);
  t.ok(Math.abs(atA.frequency - 1000) < 15, `AMR-WB phone hears ${atA.frequency.toFixed(1)} Hz`);
  const atB = analyse(decodeReceived(b.phone, 8, "PCMA"), 8000);
  t.ok(Math.abs(atB.frequency - 1000) < 15, `PCMA phone hears ${atB.frequency.toFixed(1)} Hz`);
  t.equal(a.ep.transcoderDiagnostics?.decodeErrors, 0, "every AMR-WB payload decoded");
});

t.test("AMR-WB peer's CMR is honoured within the mode-set by the transcoder's encoder", async (t) => {
  const h = await RtpHarness.create();
  const a = await leg(h, { codecs: "98", extra: ["a=rtpmap:98 AMR-WB/16000", "a=fmtp:98 mode-set=0,2,4,8"] });
  const b = await leg(h, { codecs: "8" });
  t.teardown(() => {
    a.phone.close();
    b.phone.close();
    h.close();
  });
  h.pipeline.connect(a.ep, b.ep, undefined, "default", "default");
  h.pipeline.connect(b.ep, a.ep, undefined, "default", "default");
  // The AMR-WB phone asks for mode 3 (15.85 kbit/s), outside the mode-set: Korus must use mode 2, the highest
  // allowed mode below the request (RFC 4867 §4.3.1).
  await Promise.all([
    streamTone(a.phone, { codec: "AMR-WB", pt: 98, rate: 16000, ticks: 320, packets: 40, cmr: 3 }),
    streamTone(b.phone, { codec: "PCMA", pt: 8, rate: 8000, ticks: 160, packets: 40, ssrc: 0x5678 }),
  ]);
  await sleep(100);
  // Bandwidth-efficient: CMR (4 bits), then F (1 bit) and FT (4 bits) of the first frame.
  const ft = (p: Uint8Array): number => (((p[0] ?? 0) & 0x07) << 1) | ((p[1] ?? 0) >> 7);
  const modes = packetsOf(a.phone, 98).map((p) => ft(p.payload));
  t.ok(modes.length >= 30, `packets to the AMR-WB phone (${modes.length})`);
  const tail = modes.slice(-20);
  t.ok(
    tail.every((m) => m === 2),
    `after the request, Korus encodes mode 2 (last modes: ${tail.join(",")})`,
  );
  const atA = analyse(decodeReceived(a.phone, 98, "AMR-WB"), 16000);
  t.ok(Math.abs(atA.frequency - 1000) < 15, `the tone still arrives (${atA.frequency.toFixed(1)} Hz)`);
});

t.test("two Opus sinks of one PCMU source share one encoder; a PCMU sink gets the bytes untouched", async (t) => {
  const h = await RtpHarness.create();
  const a = await leg(h, PCMU_OFFER);
  const b = await leg(h, OPUS_OFFER);
  const c = await leg(h, OPUS_OFFER);
  const d = await leg(h, PCMU_OFFER);
  t.teardown(() => {
    for (const l of [a, b, c, d]) {
      l.phone.close();
    }
    h.close();
  });
  for (const sink of [b, c, d]) {
    h.pipeline.connect(a.ep, sink.ep, undefined, "default", "default");
  }
  await streamTone(a.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 25 });
  await sleep(100);
  const diag = a.ep.transcoderDiagnostics;
  t.equal(diag?.encoders, 1, "one live encoder");
  t.equal(diag?.encodersCreated, 1, "one encoder ever created for both Opus sinks");
  const pb = packetsOf(b.phone, 111);
  const pc = packetsOf(c.phone, 111);
  t.ok(pb.length >= 20 && pc.length >= 20, `both Opus phones got packets (${pb.length}, ${pc.length})`);
  const bySeq = new Map(pb.map((p) => [p.seq, p.payload.toString("hex")]));
  const common = pc.filter((p) => bySeq.has(p.seq));
  t.ok(common.length >= 20, `the Opus phones got the same sequence numbers (${common.length} in common)`);
  t.ok(
    common.every((p) => bySeq.get(p.seq) === p.payload.toString("hex")),
    "identical Opus payloads for each sequence number: one encoder",
  );
  const pd = packetsOf(d.phone, 0);
  t.equal(pd.length, 25, "the PCMU sink got every packet");
  t.equal(diag?.decoded, 25, "each packet decoded once for the two Opus sinks, not for the PCMU one");
  const f = analyse(decodeReceived(c.phone, 111, "opus", { sampleRate: 48000 }), 48000).frequency;
  t.ok(Math.abs(f - 1000) < 10, `second Opus phone hears ${f.toFixed(1)} Hz`);
});

t.test("ptime conversion and keep-alive towards a SIP peer during the source's silence", async (t) => {
  const h = await RtpHarness.create();
  const a = await leg(h, OPUS_OFFER);
  const b = await leg(h, { codecs: "0" }, 30);
  t.teardown(() => {
    a.phone.close();
    b.phone.close();
    h.close();
  });
  h.pipeline.connect(a.ep, b.ep, undefined, "default", "default");
  await streamTone(a.phone, { codec: "opus", pt: 111, rate: 48000, ticks: 960, packets: 30 });
  const during = packetsOf(b.phone, 0).length;
  await sleep(500); // the Opus phone is silent now
  const ps = packetsOf(b.phone, 0);
  t.ok(
    ps.every((p) => p.payload.length === 240),
    "30 ms PCMU payloads (a=ptime:30)",
  );
  t.ok(continuous(ps, 240), "timestamps +240 per packet, sequence +1, across the pause");
  t.ok(ps.length - during >= 10, `RTP kept flowing while the source was silent (${ps.length - during} packets)`);
  t.ok((a.ep.transcoderDiagnostics?.silencePackets ?? 0) >= 10, "counted as silence packets");
  const tail = ps.at(-1)?.payload;
  t.ok(
    tail?.every((x) => x === 0xff),
    "silence is µ-law 0xff",
  );
  const f = analyse(decodeReceived(b.phone, 0, "PCMU").subarray(0, during * 240), 8000).frequency;
  t.ok(Math.abs(f - 1000) < 10, `the tone before the pause: ${f.toFixed(1)} Hz`);
});

t.test("DTMF from the PCMU side: DtmfReceived there, RFC 4733 at 48 kHz on the Opus side, and back", async (t) => {
  const h = await RtpHarness.create();
  const a = await leg(h, PCMU_OFFER);
  const b = await leg(h, OPUS_OFFER);
  t.teardown(() => {
    a.phone.close();
    b.phone.close();
    h.close();
  });
  h.pipeline.connect(a.ep, b.ep, undefined, "default", "default");
  h.pipeline.connect(b.ep, a.ep, undefined, "default", "default");
  const toneA = streamTone(a.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 40, ts0: 8000 });
  const toneB = streamTone(b.phone, { codec: "opus", pt: 111, rate: 48000, ticks: 960, packets: 40, ssrc: 0x5678 });
  await sleep(200);
  // Digit "5" from phone A on telephone-event/8000: start at ts 8000 + 160·12, 100 ms long (800 ticks).
  const evTs = 8000 + 160 * 12;
  const ev = (dur: number, end: boolean): Buffer => Buffer.from([5, (end ? 0x80 : 0) | 10, dur >> 8, dur & 0xff]);
  a.phone.send(101, 1000, evTs, 0x1234, ev(400, false), true);
  await sleep(50);
  a.phone.send(101, 1001, evTs, 0x1234, ev(800, true));
  a.phone.send(101, 1002, evTs, 0x1234, ev(800, true));
  // Digit "#" from phone B on telephone-event/48000: 4800 ticks = 100 ms.
  const evB = (dur: number, end: boolean): Buffer => Buffer.from([11, (end ? 0x80 : 0) | 10, dur >> 8, dur & 0xff]);
  b.phone.send(110, 2000, 777_000, 0x5678, evB(2400, false), true);
  await sleep(50);
  b.phone.send(110, 2001, 777_000, 0x5678, evB(4800, true));
  await Promise.all([toneA, toneB]);
  await sleep(100);

  t.same(h.eventsOf(a.ep, "DtmfReceived"), [{ digit: "5", durationMs: 100 }], "DtmfReceived on A");
  t.same(h.eventsOf(b.ep, "DtmfReceived"), [{ digit: "#", durationMs: 100 }], "DtmfReceived on B");

  const teB = packetsOf(b.phone, 110);
  t.equal(teB.length, 3, "three telephone-event packets on PT 110 (the Opus side's 48 kHz event)");
  const det = new DtmfDetector();
  const digitsB = teB.flatMap((p) => det.push(p.ts, p.payload, 48000));
  t.same(
    digitsB.map((d) => [d.digit, d.durationMs]),
    [["5", 100]],
    "digit 5, 100 ms at the 48 kHz clock (4800 ticks)",
  );
  t.equal(teB[1]?.payload.readUInt16BE(2), 4800, "duration rescaled 800 → 4800");
  t.ok(
    teB.every((p) => p.ts === teB[0]?.ts),
    "one event timestamp",
  );
  const audioB = packetsOf(b.phone, 111);
  const ssrcB = audioB[0]?.ssrc;
  t.ok(
    teB.every((p) => p.ssrc === ssrcB),
    "the event shares the transcoded stream's SSRC",
  );
  const near = audioB.find((p) => ((p.ts - (teB[0]?.ts ?? 0)) | 0) >= 0);
  t.ok(near !== undefined, "the event's timestamp lies within the Opus stream's timeline");
  const seqs = [...audioB, ...teB].map((p) => p.seq).sort((x, y) => x - y);
  t.equal(new Set(seqs).size, seqs.length, "events numbered in the stream's sequence (no duplicate)");

  const teA = packetsOf(a.phone, 101);
  t.equal(teA.length, 2, "two telephone-event packets on PT 101 towards the PCMU side");
  t.equal(teA[1]?.payload.readUInt16BE(2), 800, "duration rescaled 4800 → 800 (8 kHz)");
  t.equal(teA[1]?.payload[0], 11, "event 11 (#)");
  t.equal((a.ep.transcoderDiagnostics?.dtmfForwarded ?? 0) + (b.ep.transcoderDiagnostics?.dtmfForwarded ?? 0), 5);
});

t.test("bad input on a transcoded connection: counted, never a crash, media continues", async (t) => {
  const h = await RtpHarness.create();
  const a = await leg(h, { codecs: "98 0", extra: ["a=rtpmap:98 AMR-WB/16000"] });
  const b = await leg(h, OPUS_OFFER);
  t.teardown(() => {
    a.phone.close();
    b.phone.close();
    h.close();
  });
  h.pipeline.connect(a.ep, b.ep, undefined, "default", "default");
  await streamTone(a.phone, { codec: "AMR-WB", pt: 98, rate: 16000, ticks: 320, packets: 10, seq0: 65530 });
  // Garbage and truncated AMR-WB payloads, then a PT change (AMR-WB → PCMU), an SSRC change, reordering + loss.
  a.phone.send(98, 4, 5000 + 320 * 10, 0x1234, Buffer.from([0xf4]));
  a.phone.send(98, 5, 5000 + 320 * 11, 0x1234, Buffer.from([0xf4, 0x7c, 0x11]));
  a.phone.send(98, 6, 5000 + 320 * 12, 0x1234, Buffer.alloc(200, 0xee));
  await sleep(40);
  await streamTone(a.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 10, seq0: 7, ts0: 9000 });
  await streamTone(a.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 10, ssrc: 0x9999, seq0: 300 });
  // 310..322 with 311/312 swapped, 314/315 swapped and 317 lost.
  const order = [310, 312, 311, 313, 315, 314, 316, 318, 319, 320, 321, 322];
  for (const seq of order) {
    a.phone.send(0, seq, 5000 + 160 * (seq - 300), 0x9999, Buffer.alloc(160, 0x7f));
    await sleep(20);
  }
  await streamTone(a.phone, {
    codec: "PCMU",
    pt: 0,
    rate: 8000,
    ticks: 160,
    packets: 25,
    ssrc: 0x9999,
    seq0: 323,
    ts0: 5000 + 160 * 23,
  });
  await sleep(100);
  const d = a.ep.transcoderDiagnostics;
  t.ok((d?.decodeErrors ?? 0) >= 2, `undecodable payloads counted (${d?.decodeErrors})`);
  t.equal(d?.inputChanges, 2, "PT change and SSRC change restarted the decoder");
  t.ok((d?.reordered ?? 0) >= 2, `reordered packets played in order (${d?.reordered})`);
  t.equal(d?.lost, 1, `the lost packet was concealed (${d?.lost} lost, ${d?.concealed} concealed)`);
  const out = packetsOf(b.phone, 111);
  t.ok(continuous(out, 960), "the Opus output stayed continuous through all of it");
  const f = analyse(decodeReceived(b.phone, 111, "opus", { sampleRate: 48000 }).slice(-48000 * 0.4), 48000).frequency;
  t.ok(Math.abs(f - 1000) < 10, `the tone after the bad input: ${f.toFixed(1)} Hz`);
});

t.test(
  "through a PassThrough: the PassThrough (the Opus sink's source) transcodes, the PCMU endpoint does not",
  async (t) => {
    const h = await RtpHarness.create();
    const a = await leg(h, PCMU_OFFER);
    const b = await leg(h, OPUS_OFFER);
    const pass = await h.element(PassThrough, "PassThrough");
    t.teardown(() => {
      a.phone.close();
      b.phone.close();
      h.close();
    });
    h.pipeline.connect(a.ep, pass, undefined, "default", "default");
    h.pipeline.connect(pass, b.ep, undefined, "default", "default");
    await streamTone(a.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 30 });
    await sleep(100);
    t.equal(await invoke(a.ep, "isMediaTranscoding", { mediaType: "AUDIO" }), false, "A forwards PCMU untouched");
    t.equal(await invoke(pass, "isMediaTranscoding", { mediaType: "AUDIO" }), true, "the PassThrough transcodes");
    const f = analyse(decodeReceived(b.phone, 111, "opus", { sampleRate: 48000 }), 48000).frequency;
    t.ok(Math.abs(f - 1000) < 10, `the Opus phone hears ${f.toFixed(1)} Hz`);
  },
);

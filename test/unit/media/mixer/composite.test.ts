/**
 * Composite + HubPort audio MCU with three UDP "phones" on RtpEndpoints (PCMU), each sending its own tone (400,
 * 700, 1000 Hz): every phone hears the other two tones and not its own (Goertzel levels of what it received,
 * decoded); a participant whose port is released drops out of the others' mixes; releasing the Composite releases
 * its ports; Opus, G.722 and AMR-WB participants mix too; garbage payloads are counted and concealed.
 */
import t from "tap";
import { Composite } from "../../../../media/elements/Composite.js";
import { HubPort } from "../../../../media/elements/HubPort.js";
import type { RtpEndpoint } from "../../../../media/elements/RtpEndpoint.js";
import { createEncoder } from "../../../../media/codecs/index.js";
import { generateTone, seededRandom, toneLevelDb } from "../../../helpers/tone.js";
import { Phone, RtpHarness, invoke } from "../rtp/fixtures/rtpHarness.js";
import { decodeReceived, packetsOf, sleep, streamTone } from "../transcode/fixtures/audio.js";

const FREQS = [400, 700, 1000] as const;

interface Member {
  ep: RtpEndpoint;
  phone: Phone;
  port: HubPort;
  freq: number;
}

async function join(h: RtpHarness, hub: Composite, freq: number): Promise<Member> {
  const ep = await h.rtp();
  const phone = await Phone.open();
  const answer = (await invoke(ep, "processOffer", { offer: phone.offer({ codecs: "0 101" }) })) as string;
  phone.aimAt(answer);
  const port = await h.element(HubPort, "HubPort", { hub: hub.id });
  h.pipeline.connect(ep, port, "AUDIO", "default", "default");
  h.pipeline.connect(port, ep, "AUDIO", "default", "default");
  return { ep, phone, port, freq };
}

/** Tone levels (dB) of each test frequency in what `m`'s phone received from packet index `from` to `to`. */
function levels(m: Member, from = 0.3, to = 0.9): Record<number, number> {
  const pcm = decodeReceived(m.phone, 0, "PCMU");
  const mid = pcm.subarray(Math.floor(pcm.length * from), Math.floor(pcm.length * to));
  const out: Record<number, number> = {};
  for (const f of FREQS) {
    out[f] = toneLevelDb(mid, 8000, f);
  }
  return out;
}

const fmt = (l: Record<number, number>): string =>
  FREQS.map((f) => `${f} Hz ${(l[f] ?? -Infinity).toFixed(1)} dB`).join(", ");

t.test("three PCMU phones: each hears the other two tones and not its own", async (t) => {
  const h = await RtpHarness.create();
  const hub = await h.element(Composite, "Composite");
  const members: Member[] = [];
  t.teardown(() => {
    for (const m of members) {
      m.phone.close();
    }
    h.close();
  });
  for (const f of FREQS) {
    members.push(await join(h, hub, f));
  }
  t.equal(hub.portCount, 3, "three ports joined the hub");
  await Promise.all(
    members.map((m, i) =>
      streamTone(m.phone, {
        codec: "PCMU",
        pt: 0,
        rate: 8000,
        ticks: 160,
        packets: 100,
        frequency: m.freq,
        ssrc: 0x1000 + i,
      }),
    ),
  );
  await sleep(100);
  for (const m of members) {
    const got = packetsOf(m.phone, 0);
    t.ok(got.length >= 90, `${m.freq} Hz phone received ${got.length} PCMU packets`);
    const l = levels(m);
    const others = FREQS.filter((f) => f !== m.freq);
    t.comment(`${m.freq} Hz phone hears ${fmt(l)}`);
    for (const f of others) {
      t.ok((l[f] ?? -Infinity) > -30, `${m.freq} Hz phone hears ${f} Hz (${(l[f] ?? 0).toFixed(1)} dB)`);
    }
    for (const f of others) {
      t.ok(
        (l[m.freq] ?? 0) < (l[f] ?? 0) - 30,
        `${m.freq} Hz phone does not hear itself: own ${(l[m.freq] ?? 0).toFixed(1)} dB vs ${f} Hz`,
      );
    }
    const s = m.port.inputStats;
    t.ok((s?.decoded ?? 0) >= 90, `port of ${m.freq} Hz decoded its input (${s?.decoded})`);
    t.equal(s?.decodeErrors, 0, "no decode errors");
  }
});

t.test("a participant who leaves drops out of the others' mixes", async (t) => {
  const h = await RtpHarness.create();
  const hub = await h.element(Composite, "Composite");
  const members: Member[] = [];
  t.teardown(() => {
    for (const m of members) {
      m.phone.close();
    }
    h.close();
  });
  for (const f of FREQS) {
    members.push(await join(h, hub, f));
  }
  const [a, b, c] = members as [Member, Member, Member];
  const streams = members.map((m, i) =>
    streamTone(m.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 150, frequency: m.freq, ssrc: i + 1 }),
  );
  await sleep(1000);
  const cutA = packetsOf(a.phone, 0).length;
  const cutB = packetsOf(b.phone, 0).length;
  c.port.release();
  t.equal(hub.portCount, 2, "the released port left the hub");
  await Promise.all(streams);
  await sleep(100);
  const pcmA = decodeReceived(a.phone, 0, "PCMU");
  const after = pcmA.subarray((cutA + 10) * 160, pcmA.length - 10 * 160);
  t.ok(after.length >= 8000 * 0.8, `A received ${after.length / 8000} s after C left`);
  const la = { 700: toneLevelDb(after, 8000, 700), 1000: toneLevelDb(after, 8000, 1000) };
  t.ok(la[700] > -30, `A still hears B at 700 Hz (${la[700].toFixed(1)} dB)`);
  t.ok(la[1000] < la[700] - 30, `A no longer hears C at 1000 Hz (${la[1000].toFixed(1)} dB)`);
  const before = pcmA.subarray(Math.floor(cutA * 0.4) * 160, (cutA - 5) * 160);
  t.ok(toneLevelDb(before, 8000, 1000) > -30, "A heard C at 1000 Hz before C left");
  const pcmB = decodeReceived(b.phone, 0, "PCMU");
  const afterB = pcmB.subarray((cutB + 10) * 160, pcmB.length - 10 * 160);
  t.ok(toneLevelDb(afterB, 8000, 400) > -30, "B still hears A at 400 Hz");
  t.ok(toneLevelDb(afterB, 8000, 1000) < toneLevelDb(afterB, 8000, 400) - 30, "B no longer hears C");
  t.ok(c.phone.received.length > 0, "C got its mix while it was in");
});

t.test("releasing the Composite releases its ports; a HubPort needs a live hub of the pipeline", async (t) => {
  const h = await RtpHarness.create();
  t.teardown(() => h.close());
  const hub = await h.element(Composite, "Composite");
  const p1 = await h.element(HubPort, "HubPort", { hub: hub.id });
  const p2 = await h.element(HubPort, "HubPort", { hub: hub.id });
  t.equal(hub.portCount, 2);
  hub.release();
  t.ok(p1.released && p2.released, "both ports released with the hub");
  t.notOk(h.pipeline.elements.has(p1.id), "the pipeline forgot the ports");
  await t.rejects(h.element(HubPort, "HubPort", { hub: hub.id }), { name: "InvalidStateError" }, "released hub");
  await t.rejects(h.element(HubPort, "HubPort", { hub: "nope" }), { name: "InvalidStateError" }, "unknown hub");
});

t.test("mixed codecs: Opus, G.722 and AMR-WB phones each hear the other two", async (t) => {
  const h = await RtpHarness.create();
  const hub = await h.element(Composite, "Composite");
  const legs = [
    { freq: 400, pt: 111, codec: "opus", rate: 48000, ticks: 960, offer: { codecs: "111" } },
    {
      freq: 700,
      pt: 9,
      codec: "G722",
      rate: 16000,
      ticks: 160,
      offer: { codecs: "9", extra: ["a=rtpmap:9 G722/8000"] },
    },
    {
      freq: 1000,
      pt: 98,
      codec: "AMR-WB",
      rate: 16000,
      ticks: 320,
      offer: { codecs: "98", extra: ["a=rtpmap:98 AMR-WB/16000"] },
    },
  ];
  const members: (Member & { leg: (typeof legs)[number] })[] = [];
  t.teardown(() => {
    for (const m of members) {
      m.phone.close();
    }
    h.close();
  });
  for (const leg of legs) {
    const ep = await h.rtp();
    const phone = await Phone.open();
    const answer = (await invoke(ep, "processOffer", { offer: phone.offer(leg.offer) })) as string;
    phone.aimAt(answer);
    const port = await h.element(HubPort, "HubPort", { hub: hub.id });
    h.pipeline.connect(ep, port, "AUDIO", "default", "default");
    h.pipeline.connect(port, ep, "AUDIO", "default", "default");
    members.push({ ep, phone, port, freq: leg.freq, leg });
  }
  await Promise.all(
    members.map((m, i) =>
      streamTone(m.phone, {
        codec: m.leg.codec,
        pt: m.leg.pt,
        rate: m.leg.rate,
        ticks: m.leg.ticks,
        packets: 100,
        frequency: m.freq,
        ssrc: 0x2000 + i,
      }),
    ),
  );
  await sleep(100);
  for (const m of members) {
    const pcm = decodeReceived(m.phone, m.leg.pt, m.leg.codec, m.leg.codec === "opus" ? { sampleRate: 48000 } : {});
    const mid = pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));
    const l: Record<number, number> = {};
    for (const f of FREQS) {
      l[f] = toneLevelDb(mid, m.leg.rate, f);
    }
    t.comment(`${m.leg.codec} phone (${m.freq} Hz) hears ${fmt(l)}`);
    const others = FREQS.filter((f) => f !== m.freq);
    t.ok(
      others.every((f) => (l[f] ?? -Infinity) > -30),
      `${m.leg.codec} phone hears ${others.join(" and ")} Hz`,
    );
    t.ok(
      others.every((f) => (l[m.freq] ?? 0) < (l[f] ?? 0) - 25),
      `${m.leg.codec} phone does not hear its own ${m.freq} Hz`,
    );
    t.equal(m.port.inputStats?.decodeErrors, 0, `${m.leg.codec} input decoded without errors`);
  }
});

t.test("garbage Opus payloads from a participant are counted and concealed; the others still hear it", async (t) => {
  const h = await RtpHarness.create();
  const hub = await h.element(Composite, "Composite");
  const phones: Phone[] = [];
  t.teardown(() => {
    phones.forEach((p) => p.close());
    h.close();
  });
  const legs: { ep: RtpEndpoint; phone: Phone; port: HubPort }[] = [];
  for (const offer of [{ codecs: "111" }, { codecs: "0 101" }]) {
    const ep = await h.rtp();
    const phone = await Phone.open();
    phones.push(phone);
    const answer = (await invoke(ep, "processOffer", { offer: phone.offer(offer) })) as string;
    phone.aimAt(answer);
    const port = await h.element(HubPort, "HubPort", { hub: hub.id });
    h.pipeline.connect(ep, port, "AUDIO", "default", "default");
    h.pipeline.connect(port, ep, "AUDIO", "default", "default");
    legs.push({ ep, phone, port });
  }
  const [talker, listener] = legs as [(typeof legs)[number], (typeof legs)[number]];
  const enc = createEncoder("opus", { sampleRate: 48000 });
  t.teardown(() => enc.close());
  const tone = generateTone(600, { sampleRate: 48000, samples: 960 * 100, amplitude: 8000 });
  const start = performance.now();
  let garbage = 0;
  for (let i = 0; i < 100; i++) {
    let payload = enc.encode(tone.subarray(i * 960, (i + 1) * 960));
    if (i % 10 === 5) {
      payload = new Uint8Array([0x03, 0x00]); // invalid Opus: code 3 with zero frames
      garbage++;
    }
    talker.phone.send(111, (200 + i) & 0xffff, (i * 960) >>> 0, 0x77, payload, i === 0);
    await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
  }
  await sleep(100);
  const s = talker.port.inputStats;
  t.equal(s?.decodeErrors, garbage, `${garbage} garbage payloads counted`);
  t.ok((s?.concealed ?? 0) >= garbage, "and concealed");
  const pcm = decodeReceived(listener.phone, 0, "PCMU");
  const mid = pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));
  t.ok(
    toneLevelDb(mid, 8000, 600) > -30,
    `the listener still hears 600 Hz (${toneLevelDb(mid, 8000, 600).toFixed(1)} dB)`,
  );
  t.equal(hub.portCount, 2, "nothing was torn down");
});

t.test("a phone with 0–30 ms arrival jitter (and reordering) is heard without gaps", async (t) => {
  const h = await RtpHarness.create();
  const hub = await h.element(Composite, "Composite");
  const phones: Phone[] = [];
  t.teardown(() => {
    phones.forEach((p) => p.close());
    h.close();
  });
  const ports: HubPort[] = [];
  for (let i = 0; i < 2; i++) {
    const ep = await h.rtp();
    const phone = await Phone.open();
    phones.push(phone);
    phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer({ codecs: "0 101" }) })) as string);
    const port = await h.element(HubPort, "HubPort", { hub: hub.id });
    h.pipeline.connect(ep, port, "AUDIO", "default", "default");
    h.pipeline.connect(port, ep, "AUDIO", "default", "default");
    ports.push(port);
  }
  const [talker, listener] = phones as [Phone, Phone];
  const enc = createEncoder("PCMU");
  const tone = generateTone(600, { sampleRate: 8000, samples: 160 * 150, amplitude: 8000 });
  const rnd = seededRandom(7);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 150 }, (_, i) => {
      const payload = enc.encode(tone.subarray(i * 160, (i + 1) * 160));
      const at = start + i * 20 + rnd() * 30;
      return sleep(Math.max(0, at - performance.now())).then(() =>
        talker.send(0, (300 + i) & 0xffff, (i * 160) >>> 0, 0x99, payload, i === 0),
      );
    }),
  );
  await sleep(200);
  const s = ports[0]?.inputStats;
  t.comment(`input: ${JSON.stringify(s)}`);
  const pcm = decodeReceived(listener, 0, "PCMU");
  const from = packetsOf(listener, 0).findIndex(
    (_, k) => toneLevelDb(pcm.subarray(k * 160, (k + 1) * 160), 8000, 600) > -30,
  );
  t.ok(from >= 0, "the listener hears the talker");
  const talk = pcm.subarray((from + 5) * 160, (from + 140) * 160);
  let quiet = 0;
  for (let k = 0; k + 160 <= talk.length; k += 160) {
    if (toneLevelDb(talk.subarray(k, k + 160), 8000, 600) < -30) {
      quiet++;
    }
  }
  t.ok(quiet <= 2, `${quiet} of 135 frames without the tone during the talkspurt`);
  t.equal(s?.talkspurts, 1, "one talkspurt, not chopped by the jitter (late packets concealed, not gaps)");
});

/**
 * Trunk DTMF modes and trunk state (issue 3 §6: "a DTMF mode", "OPTIONS keepalive marks a trunk up or down"),
 * against the real Korus server (dist/, `npm run build` first):
 *
 * - `dtmf: info`, with SIPp as the carrier (test/fixtures/sipp/uac_info_dtmf.xml): SIPp's INFO
 *   `application/dtmf-relay` Signal=5 raises DtmfReceived {5, 160 ms} and reaches an RtpEndpoint's phone in the same
 *   pipeline as an RFC 4733 event; the application's sendDtmf("12#") leaves as
 *   three INFOs, and an RFC 4733 digit 7 that another endpoint of the pipeline receives is relayed as a fourth INFO
 *   (SIPp checks each Content-Type and body);
 * - `dtmf: inband`, with Korus's own SIP stack as the carrier and ffmpeg generating the tones: digits 1 5 9 played
 *   in the carrier's PCMU audio raise DtmfReceived in order; the application's sendDtmf("4") reaches the carrier as
 *   PCMU tones whose two frequencies are 770 and 1209 Hz;
 * - a trunk whose OPTIONS keepalive fails (TCP to a port nobody listens on) is reported down in /health, and an
 *   outbound call on it fails at once, with a CDR that says so.
 *
 * Everything binds 127.0.0.1; ports come from a reserved slot or the kernel; children are killed on every path.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { DtmfToneDetector } from "../../media/codecs/dtmfTones.js";
import { G711Decoder } from "../../media/codecs/g711.js";
import { dtmfPackets } from "../../media/rtp/dtmf.js";
import type { InviteSession, MediaHandler } from "../../sip/index.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { startKorus } from "../helpers/server.js";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import { interopSlot } from "../helpers/slot.js";
import { localUa } from "../helpers/sipUa.js";
import { exportCdrs, runSipp } from "../helpers/sipp.js";
import { goertzelPower } from "../helpers/tone.js";
import { Phone, sleep } from "../unit/media/rtp/fixtures/rtpHarness.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const { children, port } = await interopSlot(t, "sipdtmf");

const sipPort = port();
const sippPort = port();
const carrierPort = port();
const deadPort = port(); // nobody listens here
const k = await startKorus(undefined, {
  workers: 1,
  config: {
    sip: {
      port: sipPort,
      claimTimeoutMs: 10_000,
      dialplan: [],
      trunks: [
        { name: "info", peers: [`127.0.0.1:${sippPort}`], codecs: ["PCMU"], dtmf: "info", optionsIntervalS: 0 },
        { name: "inband", peers: [`127.0.0.1:${carrierPort}`], codecs: ["PCMU"], dtmf: "inband", optionsIntervalS: 0 },
        {
          name: "dead",
          peers: [`127.0.0.1:${deadPort}`],
          transport: "tcp",
          optionsIntervalS: 1,
          optionsDownAfter: 1,
        },
      ],
    },
  },
});
t.teardown(() => k.stop());

type EventValue = { object?: string; type?: string; data?: Record<string, unknown> };
const valueOf = (m: RpcMessage): EventValue => m.params?.["value"] ?? {};
const isEvent =
  (object: string | undefined, type: string) =>
  (m: RpcMessage): boolean => {
    const v = valueOf(m);
    return v.type === type && (object === undefined || v.object === object);
  };

/** Claims the next announced call: a pipeline, a SipEndpoint subscribed to DtmfReceived, answered. */
async function claimAndAnswer(app: RpcClient): Promise<{ pipeline: string; sip: string; trunk: unknown }> {
  const ev = await app.event(isEvent(undefined, "IncomingCall"));
  const data = valueOf(ev).data ?? {};
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  const sip = String(
    await app.value("create", {
      type: "SipEndpoint",
      constructorParams: { mediaPipeline: pipeline, callId: String(data["callId"]) },
    }),
  );
  await app.value("subscribe", { object: sip, type: "DtmfReceived" });
  await app.value("invoke", { object: sip, operation: "answer" });
  return { pipeline, sip, trunk: data["trunk"] };
}

const digitsOf = (app: RpcClient, sip: string): { digit: unknown; durationMs: unknown }[] =>
  app.events.filter(isEvent(sip, "DtmfReceived")).map((m) => {
    const d = valueOf(m).data ?? {};
    return { digit: d["digit"], durationMs: d["durationMs"] };
  });

t.test("dtmf: info — INFO in raises DtmfReceived; sendDtmf and relayed RFC 4733 digits leave as INFO", async (t) => {
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  await app.value("subscribe", { object: "korus_SipGateway", type: "IncomingCall" });
  const caller = runSipp(
    [
      "-sf",
      join(FIXTURES, "uac_info_dtmf.xml"),
      `127.0.0.1:${sipPort}`,
      "-s",
      "4930555",
      "-i",
      "127.0.0.1",
      "-p",
      String(sippPort),
      "-mi",
      "127.0.0.1",
      "-mp",
      String(port(4)),
      "-m",
      "1",
      "-timeout",
      "60s",
    ],
    { children, limitMs: 70_000 },
  );
  // Claimed into a pipeline where an RtpEndpoint (a phone that negotiates telephone-event) is connected both ways.
  const ev = await app.event(isEvent(undefined, "IncomingCall"));
  const data = valueOf(ev).data ?? {};
  t.equal(data["trunk"], "info", "the call came in on the info trunk");
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  t.teardown(() => app.value("release", { object: pipeline }).catch(() => undefined));
  const sip = String(
    await app.value("create", {
      type: "SipEndpoint",
      constructorParams: { mediaPipeline: pipeline, callId: String(data["callId"]) },
    }),
  );
  await app.value("subscribe", { object: sip, type: "DtmfReceived" });
  const phone = await Phone.open();
  t.teardown(() => phone.close());
  const rtp = String(
    await app.value("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: pipeline } }),
  );
  const answer = String(
    await app.value("invoke", {
      object: rtp,
      operation: "processOffer",
      operationParams: { offer: phone.offer({ codecs: "0 101" }) },
    }),
  );
  phone.aimAt(answer);
  await app.value("invoke", { object: rtp, operation: "connect", operationParams: { sink: sip, mediaType: "AUDIO" } });
  await app.value("invoke", { object: sip, operation: "connect", operationParams: { sink: rtp, mediaType: "AUDIO" } });
  await app.value("invoke", { object: sip, operation: "answer" });

  await app.event(isEvent(sip, "DtmfReceived"));
  t.same(digitsOf(app, sip), [{ digit: "5", durationMs: 160 }], "SIPp's INFO Signal=5 Duration=160");
  // … and the digit went on into the pipeline as an RFC 4733 event, which the phone receives on its payload type 101.
  for (let i = 0; i < 40 && !phone.received.some((p) => p.pt === 101 && (p.payload[1] ?? 0) & 0x80); i++) {
    await sleep(50);
  }
  const events = phone.received.filter((p) => p.pt === 101);
  t.ok(events.length >= 4, `the phone got the INFO digit as RFC 4733 packets (${events.length})`);
  t.ok(
    events.every((p) => p.payload[0] === 5 && p.ts === events[0]?.ts),
    "event 5, one timestamp for the whole event",
  );
  t.equal(events[0]?.marker, true, "marker on the first packet");
  const end = events.at(-1)?.payload;
  t.ok(end !== undefined && (end[1] ?? 0) & 0x80, "the end bit on the last packets");
  t.equal(end === undefined ? 0 : (end[2]! << 8) | end[3]!, 1280, "duration 160 ms at 8 kHz");

  await app.value("invoke", { object: sip, operation: "sendDtmf", operationParams: { digits: "12#" } });

  // The phone sends RFC 4733 digit 7 into the RtpEndpoint; the SipEndpoint relays it to SIPp as INFO.
  const ssrc = 0x1234567;
  let seq = 1;
  let ts = 1000;
  const silence = Buffer.alloc(160, 0xff);
  for (let i = 0; i < 10; i++) {
    phone.send(0, seq++, ts, ssrc, silence, i === 0);
    ts += 160;
    await sleep(20);
  }
  let last = 0;
  for (const p of dtmfPackets("7", 120, 8000)) {
    await sleep(p.offsetMs - last);
    last = p.offsetMs;
    phone.send(101, seq++, ts, ssrc, p.payload, p.marker);
  }
  const r = await caller;
  t.equal(r.code, 0, "SIPp: INFO 5 answered 200; INFOs 1, 2, # and 7 received with dtmf-relay bodies; BYE");
  t.same(
    digitsOf(app, sip).map((d) => d.digit),
    ["5"],
    "the INFO with a malformed body (Signal=Z) was answered and raised nothing",
  );
  if (r.code !== 0) {
    t.comment(r.output.slice(-3000));
  }
});

// ------------------------------------------------------------------------------------------------ inband

/** μ-law audio of `digits` (100 ms tone, 100 ms silence each, −10 dBm0 per tone) made by ffmpeg. */
function ffmpegDtmf(digits: string): Buffer {
  const freqs: Record<string, [number, number]> = { "1": [697, 1209], "5": [770, 1336], "9": [852, 1477] };
  const parts = [...digits].map((d, i) => {
    const [lo, hi] = freqs[d] ?? [0, 0];
    return `aevalsrc=0.22*sin(2*PI*${lo}*t)+0.22*sin(2*PI*${hi}*t):s=8000:d=0.1[t${i}];anullsrc=r=8000:cl=mono:d=0.1[s${i}]`;
  });
  const chain = [...digits].map((_d, i) => `[t${i}][s${i}]`).join("");
  const graph = `anullsrc=r=8000:cl=mono:d=0.2[lead];${parts.join(";")};[lead]${chain}concat=n=${digits.length * 2 + 1}:v=0:a=1[out]`;
  return ffmpegSync(["-filter_complex", graph, "-map", "[out]", "-ar", "8000", "-ac", "1", "-f", "mulaw", "-"]);
}

t.test("dtmf: inband — tones from the carrier raise DtmfReceived; sendDtmf plays tones to the carrier", async (t) => {
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  await app.value("subscribe", { object: "korus_SipGateway", type: "IncomingCall" });
  const phone = await Phone.open();
  t.teardown(() => phone.close());
  // The carrier: Korus's own SIP stack on the inband trunk's address, offering PCMU on the phone's port.
  const { ua, close } = await localUa(carrierPort);
  t.teardown(close);
  let korusSdp = "";
  const media: MediaHandler = {
    getOffer: () => phone.offer({ codecs: "0" }),
    setAnswer: (sdp) => void (korusSdp = sdp),
    processOffer: () => {
      throw new Error("no re-offers expected");
    },
    close: () => undefined,
  };
  const call: InviteSession = ua.call(`sip:4930666@127.0.0.1:${sipPort}`, { from: "sip:carrier@127.0.0.1", media });
  const answered = new Promise<void>((resolve, reject) => {
    call.on("answered", resolve);
    call.on("terminated", (i) => reject(new Error(`call ended with ${i.status}`)));
  });
  const { pipeline, sip, trunk } = await claimAndAnswer(app);
  t.teardown(() => app.value("release", { object: pipeline }).catch(() => undefined));
  await answered;
  t.equal(trunk, "inband");
  t.notMatch(korusSdp, /telephone-event/, "no telephone-event on an inband trunk (codecs: [PCMU])");
  phone.aimAt(korusSdp);

  // In: ffmpeg's tones, sent by the carrier's phone as 20 ms PCMU packets.
  const audio = ffmpegDtmf("159");
  const ssrc = 0x5eed;
  let seq = 100;
  let ts = 0;
  for (let off = 0; off + 160 <= audio.length; off += 160) {
    phone.send(0, seq++, ts, ssrc, audio.subarray(off, off + 160), off === 0);
    ts += 160;
    await sleep(20);
  }
  for (let i = 0; i < 50 && digitsOf(app, sip).length < 3; i++) {
    await sleep(100);
  }
  const got = digitsOf(app, sip);
  t.same(
    got.map((d) => d.digit),
    ["1", "5", "9"],
    `the carrier's in-band digits, in order (${JSON.stringify(got)})`,
  );
  for (const d of got) {
    t.ok(Math.abs(Number(d.durationMs) - 100) <= 30, `duration ${String(d.durationMs)} ms ≈ 100 ms`);
  }

  // Out: sendDtmf("4") → PCMU tones toward the carrier.
  phone.received.length = 0;
  await app.value("invoke", {
    object: sip,
    operation: "sendDtmf",
    operationParams: { digits: "4", durationMs: 120, gapMs: 60 },
  });
  for (let i = 0; i < 30 && phone.received.length < 9; i++) {
    await sleep(50);
  }
  await sleep(200);
  const pkts = [...phone.received].sort((a, b) => ((a.seq - b.seq) << 16) >> 16);
  t.ok(pkts.length >= 9, `tone and gap packets arrived (${pkts.length})`);
  t.ok(
    pkts.every((p) => p.pt === 0 && p.payload.length === 160),
    "20 ms PCMU packets on the negotiated payload type",
  );
  t.equal(pkts[0]?.marker, true, "the burst starts with the marker bit");
  t.ok(
    pkts.every((p, i) => i === 0 || ((p.seq - pkts[i - 1]!.seq) & 0xffff) === 1),
    "sequence numbers continuous",
  );
  t.ok(
    pkts.every((p, i) => i === 0 || (p.ts - pkts[i - 1]!.ts) >>> 0 === 160),
    "timestamps advance 160 per packet",
  );
  const dec = new G711Decoder("PCMU");
  const pcm = new Int16Array(pkts.length * 160);
  pkts.forEach((p, i) => pcm.set(dec.decode(p.payload), i * 160));
  const tone = pcm.subarray(0, 960); // 120 ms of tone
  const p770 = goertzelPower(tone, 8000, 770);
  const p1209 = goertzelPower(tone, 8000, 1209);
  const others = [697, 852, 941, 1336, 1477, 1633].map((f) => goertzelPower(tone, 8000, f));
  t.ok(
    others.every((o) => o * 100 < Math.min(p770, p1209)),
    "the tone is 770 + 1209 Hz ('4'), every other Q.23 frequency 20 dB down",
  );
  const detector = new DtmfToneDetector({ sampleRate: 8000 });
  const heard = [...detector.push(pcm), ...detector.flush()];
  t.same(
    heard.map((d) => d.digit),
    ["4"],
    "a DTMF receiver hears exactly one '4'",
  );
  t.ok(Math.abs((heard[0]?.durationMs ?? 0) - 120) <= 20, `lasting ≈ 120 ms (${heard[0]?.durationMs ?? "?"})`);
  call.hangup();
});

// ------------------------------------------------------------------------------------------------ trunk state

t.test("a trunk whose OPTIONS keepalive fails is down: /health says so and calls on it fail at once", async (t) => {
  let state: unknown;
  for (let i = 0; i < 100 && state !== "down"; i++) {
    const health = (await (await fetch(`${k.httpUrl}/health`)).json()) as { sip?: { trunks?: Record<string, string> } };
    state = health.sip?.trunks?.["dead"];
    if (state !== "down") {
      await sleep(100);
    }
  }
  t.equal(state, "down", "/health reports the dead trunk down");
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  t.teardown(() => app.value("release", { object: pipeline }).catch(() => undefined));
  const sip = String(
    await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline } }),
  );
  const r = await app.call("invoke", {
    object: sip,
    operation: "call",
    operationParams: { uri: "4930777", options: { trunk: "dead" } },
  });
  t.match(r.error?.message, /trunk 'dead' is down/, "the call is refused with the reason");
  t.equal(await app.value("invoke", { object: sip, operation: "getCallState" }), "IDLE", "no call was attempted");
  let cdr: { trunk: string | null; endReason: string | null; sipStatus: number | null } | undefined;
  for (let i = 0; i < 50 && cdr === undefined; i++) {
    cdr = exportCdrs<{ trunk: string | null; endReason: string | null; sipStatus: number | null }>(
      join(k.dataDir, "data"),
    ).find((c) => c.trunk === "dead");
    if (cdr === undefined) {
      await sleep(200);
    }
  }
  t.equal(cdr?.endReason, "trunk-down", "the CDR says why");
  t.equal(cdr?.sipStatus, 503);
});

/**
 * Interop with ffmpeg as an external RTP peer: ffmpeg generates a 1 kHz tone and sends it as PCMA RTP
 * (`-f rtp`, packets of at most 160 samples). The datagrams reach an RtpEndpoint looped back to itself (connect(self)) unchanged
 * through a UDP socket on 127.0.0.1 that plays the phone: it relays ffmpeg's datagrams byte for byte from the
 * address the SDP announced (so symmetric RTP latches to it, not to ffmpeg's ephemeral source port) and receives
 * what the endpoint sends back. The returned audio is decoded with Korus's G.711 tables and must be the 1 kHz tone.
 */
import { spawn } from "node:child_process";
import t from "tap";
import { PCMA_TABLES, decodeG711 } from "../../../media/codecs/g711.js";
import { measureFrequency } from "../../helpers/tone.js";
import { Phone, RtpHarness, invoke, sleep } from "./rtp/fixtures/rtpHarness.js";
import dgram from "node:dgram";

t.test("ffmpeg PCMA tone → RtpEndpoint loopback → 1 kHz comes back", async (t) => {
  t.setTimeout(30_000);
  const h = await RtpHarness.create();
  const ep = await h.rtp();
  const phone = await Phone.open();
  const inlet = dgram.createSocket("udp4"); // where ffmpeg sends
  await new Promise<void>((r) => inlet.bind(0, "127.0.0.1", r));
  const relayed: number[] = [];
  inlet.on("message", (m) => {
    if ((m[1] ?? 0) >= 192 && (m[1] ?? 0) <= 223) {
      return; // ffmpeg's RTCP on a muxed port would be none of our business
    }
    relayed.push(m.length);
    phone.raw(m);
  });
  const ff = spawn(
    "ffmpeg",
    [
      ...["-hide_banner", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=8000:duration=2"],
      ...["-c:a", "pcm_alaw", "-ar", "8000", "-ac", "1", "-f", "rtp", "-payload_type", "8"],
      `rtp://127.0.0.1:${inlet.address().port}?pkt_size=172`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  ff.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => {
    ff.kill("SIGKILL");
    inlet.close();
    phone.close();
    h.close();
  });

  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer({ codecs: "8" }) })) as string);
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  const code = await new Promise<number | null>((res) => ff.on("exit", res));
  await sleep(200);
  t.equal(code, 0, `ffmpeg exited cleanly ${stderr}`);
  t.ok(relayed.length >= 90, `ffmpeg sent ${relayed.length} RTP packets`);
  t.ok(
    relayed.every((n) => n > 12 && n <= 172),
    "PCMA packets of at most 20 ms (ffmpeg splits its 1024-sample frames)",
  );
  const back = phone.received.filter((p) => p.pt === 8);
  t.ok(back.length >= relayed.length - 2, `${back.length} of ${relayed.length} packets came back`);
  const alaw = Buffer.concat(back.map((p) => p.payload));
  const pcm = new Int16Array(alaw.length);
  decodeG711(PCMA_TABLES, alaw, pcm);
  t.ok(pcm.length >= 15000, `${pcm.length} samples came back`);
  const f = measureFrequency(pcm.subarray(800), 8000);
  t.ok(Math.abs(f - 1000) < 5, `looped-back tone is 1 kHz (${f.toFixed(1)} Hz)`);
  t.ok(
    back.every((p, i) => i === 0 || p.seq === ((back[i - 1]?.seq ?? 0) + 1) % 65536),
    "consecutive sequence numbers on the way back",
  );
  t.equal(ep.diagnostics.malformedRtp + ep.diagnostics.unknownPayloadType, 0, "nothing from ffmpeg was refused");
});

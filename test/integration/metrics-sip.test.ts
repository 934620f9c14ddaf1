/**
 * `/metrics` during a SIPp call with media (issue 16 §1): SIPp (PCMA pcap) calls the dial plan's echo extension of
 * a real server (dist/, `npm run build` first). While the call runs it is counted as active on its trunk; once it
 * ended, the counters moved by exactly what its CDR says: one INVITE answered 200, the RTP packets received and
 * sent, the packets lost, one set-up time, one jitter and one MOS observation (the CDR's MOS). The token protection
 * of `/metrics` and `/health` is checked on the same server.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { sampleSum, sampleValue, type Exposition } from "../helpers/prometheus.js";
import { scrapeMetrics } from "../helpers/scrape.js";
import { startKorus } from "../helpers/server.js";
import { exportCdrs, runSipp } from "../helpers/sipp.js";
import { interopSlot } from "../helpers/slot.js";

const TOKEN = "metrics-test-token-0123456789";
const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const hasSipp =
  spawnSync("sipp", ["-v"], { stdio: "ignore" }).error === undefined && existsSync("/usr/share/sip-tester");

interface Cdr {
  to: string | null;
  direction: string;
  sipStatus: number | null;
  media: {
    rx: { packets: number; lost: number | null; jitterMs: number | null };
    tx: { packets: number };
    mos: number | null;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test("a SIPp call moves the counters by what its CDR says", { skip: !hasSipp && "sipp missing" }, async (t) => {
  const { children, work, port } = await interopSlot(t, "metrics-sip");
  mkdirSync(join(work, "pcap"));
  for (const f of readdirSync("/usr/share/sip-tester").filter((n) => n.endsWith(".pcap"))) {
    copyFileSync(join("/usr/share/sip-tester", f), join(work, "pcap", f));
  }
  const sipPort = port();
  const k = await startKorus(t, {
    workers: 1,
    startTimeoutMs: 60_000,
    config: {
      media: { loadReportMs: 200 },
      metrics: { token: TOKEN },
      sip: { port: sipPort, dialplan: [{ to: "^sips?:echo@", action: "echo" }] },
    },
  });

  // The token guards /metrics and /health alike.
  for (const path of ["/metrics", "/health"]) {
    const none = await fetch(`${k.httpUrl}${path}`);
    t.equal(none.status, 401, `${path} without a token`);
    t.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    const wrong = await fetch(`${k.httpUrl}${path}`, { headers: { authorization: "Bearer nope" } });
    t.equal(wrong.status, 401, `${path} with a wrong token`);
    const ok = await fetch(`${k.httpUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    t.equal(ok.status, 200, `${path} with the token`);
    await Promise.all([none.text(), wrong.text(), ok.text()]);
  }

  const before = await scrapeMetrics(k.httpUrl, TOKEN);
  const call = runSipp(
    [
      "-sf",
      join(FIXTURES, "uac_pcma_pcap.xml"),
      `127.0.0.1:${sipPort}`,
      "-s",
      "echo",
      "-i",
      "127.0.0.1",
      "-p",
      String(port()),
      "-mi",
      "127.0.0.1",
      "-mp",
      String(port(4)),
      "-m",
      "1",
      "-timeout",
      "30s",
    ],
    { children, cwd: work, limitMs: 40_000 },
  );
  // Mid-call (the pcap plays for 7 s): one active inbound call on the "local" trunk, and media counted.
  let during: Exposition | undefined;
  for (let i = 0; i < 40; i++) {
    await sleep(250);
    const e = await scrapeMetrics(k.httpUrl, TOKEN);
    if (
      sampleValue(e, "korus_sip_calls_active", { direction: "inbound", trunk: "local" }) === 1 &&
      sampleSum(e, "korus_rtp_packets_total", { direction: "in", kind: "audio" }) > 20
    ) {
      during = e;
      break;
    }
  }
  t.ok(during !== undefined, "the call is active, with media counted, while it runs");
  if (during !== undefined) {
    t.ok((sampleValue(during, "korus_pipelines") ?? 0) >= 1, "its pipeline is counted");
    t.ok(sampleSum(during, "korus_elements") >= 1, "its elements are counted");
  }
  const r = await call;
  t.equal(r.code, 0, `SIPp: the call succeeded ${r.output.slice(-400)}`);

  let cdr: Cdr | undefined;
  for (let i = 0; i < 60 && cdr === undefined; i++) {
    cdr = exportCdrs<Cdr>(join(k.dataDir, "data")).find((c) => c.to?.startsWith("sip:echo@") === true);
    if (cdr === undefined) {
      await sleep(250);
    }
  }
  if (cdr === undefined) {
    t.fail("no CDR for the call");
    return;
  }
  await sleep(1000); // a load report after the release
  let after = await scrapeMetrics(k.httpUrl, TOKEN);
  const delta = (name: string, labels: Record<string, string> = {}): number =>
    sampleSum(after, name, labels) - sampleSum(before, name, labels);
  // The RTP counters lag by up to one load report (longer on a loaded machine).
  const inAudio = { direction: "in", kind: "audio" };
  for (let i = 0; i < 20 && delta("korus_rtp_packets_total", inAudio) !== cdr.media.rx.packets; i++) {
    await sleep(500);
    after = await scrapeMetrics(k.httpUrl, TOKEN);
  }

  t.equal(sampleSum(after, "korus_sip_calls_active"), 0, "no call active after the BYE");
  t.equal(delta("korus_sip_invites_total", { direction: "inbound", trunk: "local", status: "200" }), 1);
  t.equal(delta("korus_sip_invites_total"), 1, "one INVITE in all");
  t.equal(
    delta("korus_rtp_packets_total", { direction: "in", kind: "audio" }),
    cdr.media.rx.packets,
    `audio packets in = the CDR's rx packets (${cdr.media.rx.packets})`,
  );
  t.equal(
    delta("korus_rtp_packets_total", { direction: "out", kind: "audio" }),
    cdr.media.tx.packets,
    `audio packets out = the CDR's tx packets (${cdr.media.tx.packets})`,
  );
  t.ok(cdr.media.rx.packets >= 200, "the pcap was played");
  t.equal(delta("korus_rtp_lost_packets_total"), cdr.media.rx.lost ?? 0, "lost = the CDR's rx lost");
  t.equal(delta("korus_sip_call_setup_seconds_count"), 1);
  t.equal(delta("korus_rtp_jitter_seconds_count"), 1);
  t.equal(delta("korus_rtp_jitter_seconds_sum"), (cdr.media.rx.jitterMs ?? 0) / 1000, "jitter = the CDR's");
  t.equal(delta("korus_call_mos_count"), 1);
  t.ok(cdr.media.mos !== null, "the CDR has a MOS");
  t.equal(delta("korus_call_mos_sum"), cdr.media.mos ?? 0, "MOS = the CDR's");
  t.equal(sampleValue(after, "korus_pipelines"), 0, "the pipeline is gone");
});

/**
 * A carrier call recorded by the dial plan's `record` option (issue 11 §3), no application: SIPp (UAC) sends a
 * 440 Hz PCMA tone (a pcap made here) to a `play` rule whose player sends 1000 Hz back. Checked by content:
 * - stereo WAV: 2 channels of A-law, the caller's tone left, the player's right, the file as long as the call
 *   (CDR billsec ± 100 ms); the CDR's `recording` column names the file; one "recording ready" reaches the
 *   webhook;
 * - `legs`: two files, one tone each; `mixed` (OGG): one channel with both tones;
 * - hostile: a From user `../../evil` and a template built from it: the name is sanitised (logged), the file lands
 *   under the recordings root.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import { freeTcpPort } from "../helpers/ports.js";
import { startKorus } from "../helpers/server.js";
import { interopSlot } from "../helpers/slot.js";
import { exportCdrs, runSipp } from "../helpers/sipp.js";
import { writeTonePcap } from "../helpers/tonePcap.js";
import { channelPcm, probeAudio, tone, toneSeconds } from "./recorderStereoRig.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const { children, port, work } = await interopSlot(t, "recsip");

const TONE_S = 3;
writeTonePcap(join(work, "tone440.pcap"), 440, TONE_S);
/** uac_pcma_pcap.xml with our tone, no DTMF, and a From user of the test's choice. */
function scenario(name: string, fromUser: string): string {
  const xml = readFileSync(join(FIXTURES, "uac_pcma_pcap.xml"), "utf8")
    .replace("pcap/g711a.pcap", "tone440.pcap")
    .replace('<pause milliseconds="7500"/>', `<pause milliseconds="${TONE_S * 1000 + 500}"/>`)
    .replace(/<nop>\s*<action>\s*<exec play_pcap_audio="pcap\/dtmf_2833_1.pcap"\/>\s*<\/action>\s*<\/nop>/, "")
    .replaceAll("+441632960001", fromUser);
  const file = join(work, name);
  writeFileSync(file, xml);
  return file;
}

const media = join(work, "media");
mkdirSync(media);
ffmpegSync(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=8000:duration=30", "-ac", "1", join(media, "p.wav")]);

interface Hook {
  body: Record<string, unknown>;
}
const got: Hook[] = [];
const hook = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    got.push({ body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> });
    res.writeHead(204).end();
  });
});
const hookPort = await freeTcpPort();
await new Promise<void>((r) => hook.listen(hookPort, "127.0.0.1", r));
t.teardown(() => new Promise<void>((r) => hook.close(() => r())));

const sipPort = port();
const play = { action: "play", file: join(media, "p.wav") };
const k = await startKorus(t, {
  workers: 1,
  config: {
    files: { mediaRoots: [media] },
    cdr: { webhookUrl: `http://127.0.0.1:${hookPort}/cdr`, retryMinMs: 100, retryMaxMs: 500 },
    recording: { scanMs: 200 },
    sip: {
      port: sipPort,
      dialplan: [
        { to: "^sips?:rec-stereo@", ...play, record: { mode: "stereo", profile: "WAV" } },
        {
          to: "^sips?:rec-legs@",
          ...play,
          record: { mode: "legs", profile: "WAV", path: "legs/{callId}-{leg}.{ext}" },
        },
        { to: "^sips?:rec-mixed@", ...play, record: { mode: "mixed", profile: "OGG", path: "mixed/{to}.{ext}" } },
        { to: "^sips?:rec-hostile@", ...play, record: { mode: "stereo", path: "hostile/{from}-{to}.{ext}" } },
      ],
    },
  },
});
const root = join(k.dataDir, "data", "recordings");

async function call(service: string, fromUser = "+441632960001"): Promise<void> {
  const r = await runSipp(
    [
      ...["-sf", scenario(`${service}.xml`, fromUser), `127.0.0.1:${sipPort}`, "-s", service],
      ...["-i", "127.0.0.1", "-p", String(port()), "-mi", "127.0.0.1", "-mp", String(port(4))],
      ...["-m", "1", "-timeout", "30s"],
    ],
    { children, cwd: work },
  );
  if (r.code !== 0) {
    throw new Error(`SIPp failed: ${r.output.slice(-1500)}`);
  }
}

/** Files under `dir` (recursive, relative), once none is being written any more. */
async function filesUnder(dir: string, count: number): Promise<string[]> {
  const list = (d: string): string[] =>
    existsSync(d)
      ? readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? list(join(d, e.name)) : [relative(dir, join(d, e.name))],
        )
      : [];
  const deadline = Date.now() + 20_000;
  while (list(dir).filter((f) => !f.startsWith(".")).length < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  return list(dir).filter((f) => !f.startsWith("."));
}

interface Cdr {
  to: string | null;
  billsecMs: number;
  media: { recording: string | null };
}

async function cdrOf(service: string): Promise<Cdr> {
  for (let i = 0; i < 100; i++) {
    const c = exportCdrs<Cdr>(join(k.dataDir, "data")).find((r) => r.to?.startsWith(`sip:${service}@`) === true);
    if (c !== undefined) {
      return c;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no CDR for ${service}`);
}

const LEFT_HZ = 440;
const RIGHT_HZ = 1000;

t.test("stereo by the dial plan: caller left, the other side right, as long as the call, CDR and ready", async (t) => {
  await call("rec-stereo");
  const files = await filesUnder(join(root, "calls"), 1);
  t.equal(files.length, 1, `one file: ${files.join(" ")}`);
  const rel = `calls/${files[0] ?? ""}`;
  t.match(rel, /^calls\/\d{4}-\d\d-\d\d\/[^/]+-stereo\.wav$/, "the default template");
  const file = join(root, rel);
  const p = probeAudio(file);
  t.match(p, { streams: 1, codec: "pcm_alaw", channels: 2, sampleRate: 8000 });
  const left = channelPcm(file, 0);
  const right = channelPcm(file, 1);
  t.ok(tone(left, LEFT_HZ) > 100 * tone(left, RIGHT_HZ), "left: the caller's 440 Hz only");
  t.ok(tone(right, RIGHT_HZ) > 100 * tone(right, LEFT_HZ), "right: the player's 1000 Hz only");
  t.ok(
    Math.abs(toneSeconds(left, LEFT_HZ) - TONE_S) <= 0.1,
    `the caller's ${TONE_S} s of tone: ${toneSeconds(left, LEFT_HZ)} s`,
  );
  const cdr = await cdrOf("rec-stereo");
  t.ok(
    Math.abs(p.duration * 1000 - cdr.billsecMs) <= 100,
    `file ${p.duration} s, call ${cdr.billsecMs} ms (answer to BYE)`,
  );
  t.equal(cdr.media.recording, rel, "the CDR names the file");
  const deadline = Date.now() + 20_000;
  while (!got.some((g) => g.body["uri"] === rel) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const ready = got.filter((g) => g.body["uri"] === rel);
  t.equal(ready.length, 1, "one recording-ready record");
  t.match(ready[0]?.body, { kind: "recording-ready", profile: "WAV", sizeBytes: Number, sha256: /^[0-9a-f]{64}$/ });
});

t.test("legs: one file per leg, one tone each; mixed: one channel, both tones", async (t) => {
  await call("rec-legs");
  const legs = await filesUnder(join(root, "legs"), 2);
  t.equal(legs.length, 2, `two files: ${legs.join(" ")}`);
  const caller = legs.find((f) => f.endsWith("-caller.wav")) ?? "";
  const callee = legs.find((f) => f.endsWith("-callee.wav")) ?? "";
  const a = channelPcm(join(root, "legs", caller), -1);
  const b = channelPcm(join(root, "legs", callee), -1);
  t.match(probeAudio(join(root, "legs", caller)), { codec: "pcm_alaw", channels: 1 });
  t.ok(tone(a, LEFT_HZ) > 100 * tone(a, RIGHT_HZ), "caller's file: 440 Hz");
  t.ok(tone(b, RIGHT_HZ) > 100 * tone(b, LEFT_HZ), "callee's file: 1000 Hz");

  await call("rec-mixed");
  const mixed = await filesUnder(join(root, "mixed"), 1);
  t.same(mixed, ["rec-mixed.ogg"], "{to} expanded");
  const file = join(root, "mixed", mixed[0] ?? "");
  t.match(probeAudio(file), { codec: "opus", channels: 1 });
  const pcm = channelPcm(file, -1);
  const quiet = tone(pcm, 700);
  t.ok(tone(pcm, LEFT_HZ) > 30 * quiet && tone(pcm, RIGHT_HZ) > 30 * quiet, "both tones in the one channel");
});

t.test("hostile From user: sanitised into one segment under the root, logged", async (t) => {
  await call("rec-hostile", "../../evil");
  const files = await filesUnder(join(root, "hostile"), 1);
  t.match(files, [/^_+evil-rec-hostile\.wav$/], "'../../evil' became one segment");
  t.notOk(existsSync(join(root, "..", "evil-rec-hostile.wav")), "nothing beside the root");
  const lines = k.output().split("\n");
  t.ok(
    lines.some((l) => l.includes("record path value sanitised") && l.includes('"field":"from"')),
    "the sanitised From user is logged",
  );
});

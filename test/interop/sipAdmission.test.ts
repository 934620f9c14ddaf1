/**
 * Admission of inbound SIP at the real server (dist/), with Korus's own SIP stack as the caller in this process:
 * - a source that matches no trunk gets the configured status statelessly (here 403) and no call is created;
 * - a digest trunk (`auth: digest`, no fixed peers) challenges the INVITE: without credentials the call fails with
 *   401, with the trunk's username/password it reaches the dial plan (echo) and connects; the CDR names the trunk;
 * - a per-source rate limit answers 503 with Retry-After once the burst is spent.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import t from "tap";
import type { MediaHandler } from "../../sip/index.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { ended, localUa } from "../helpers/sipUa.js";
import { interopSlot } from "../helpers/slot.js";

const { range, work, port } = await interopSlot(t, "sipadm");

const SDP =
  "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  `m=audio ${range.max - 10} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n`;
const media = (): MediaHandler => ({
  getOffer: () => SDP,
  setAnswer: () => undefined,
  processOffer: () => SDP,
  close: () => undefined,
});

t.test("unknown source: 403, statelessly", async (t) => {
  const sipPort = port();
  const k = await startKorus(undefined, {
    workers: 1,
    config: { sip: { port: sipPort, trunks: [{ name: "carrier", peers: ["192.0.2.1"], auth: "ip" }] } },
  });
  t.teardown(() => k.stop());
  const { ua, close } = await localUa(port(), () => media());
  t.teardown(close);
  const s = ua.call(`sip:echo@127.0.0.1:${sipPort}`, { from: "sip:x@127.0.0.1", media: media() });
  const info = await ended(s);
  t.equal(info.status, 403);
  t.equal(info.by, "remote");
});

t.test("digest trunk: challenge, credentials, call; rate limit 503", async (t) => {
  const sipPort = port();
  const dataDir = join(work, "digest-data");
  const k = await startKorus(undefined, {
    workers: 1,
    config: {
      sip: {
        port: sipPort,
        trunks: [
          {
            name: "pbx",
            auth: "digest",
            peers: [],
            username: "alice",
            password: "s3cret-pass",
            realm: "korus",
            optionsIntervalS: 0,
            digestAlgorithms: ["MD5"],
          },
        ],
        digest: { realm: "korus", secret: "0123456789abcdef0123", nonceTtlS: 300 },
        rateLimit: { ratePerSecond: 1, burst: 16 },
      },
      data: { dir: dataDir },
    },
  });
  t.teardown(() => k.stop());
  const { ua, close } = await localUa(port(), () => media());
  t.teardown(close);

  const anonymous = ua.call(`sip:echo@127.0.0.1:${sipPort}`, { from: "sip:x@127.0.0.1", media: media() });
  t.equal((await ended(anonymous)).status, 401, "no credentials: the challenge ends the call");

  const wrong = ua.call(`sip:echo@127.0.0.1:${sipPort}`, {
    from: "sip:alice@127.0.0.1",
    media: media(),
    credentials: { username: "alice", password: "wrong" },
  });
  t.equal((await ended(wrong)).status, 403, "wrong password: 403");

  const good = ua.call(`sip:echo@127.0.0.1:${sipPort}`, {
    from: "sip:alice@127.0.0.1",
    media: media(),
    credentials: { username: "alice", password: "s3cret-pass" },
  });
  await new Promise<void>((resolve, reject) => {
    good.on("answered", resolve);
    good.on("terminated", (i) => reject(new Error(`call ended with ${i.status}`)));
  });
  t.pass("with the trunk's credentials the call reaches the echo extension and is answered");
  good.hangup();
  await ended(good);
  await new Promise((r) => setTimeout(r, 500));
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "dist/src/cli.js"), "cdr", "export", "--format", "jsonl", "--data-dir", dataDir],
    { encoding: "utf8", timeout: 20_000 },
  );
  const cdr = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { callId: string; trunk: string | null; disposition: string })
    .find((c) => c.callId === good.callId);
  t.equal(cdr?.trunk, "pbx", "the CDR names the digest trunk");
  t.equal(cdr?.disposition, "ANSWERED");

  // The burst (16 messages) runs out within these calls (each INVITE and ACK counts).
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const s = ua.call(`sip:echo@127.0.0.1:${sipPort}`, { from: "sip:x@127.0.0.1", media: media() });
    statuses.push((await ended(s)).status);
  }
  t.ok(statuses.includes(503), `over the rate limit: 503 (statuses ${statuses.join(", ")})`);
});

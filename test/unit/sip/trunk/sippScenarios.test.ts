/**
 * The SIPp scenarios in test/fixtures/sipp/ (ready for the interop tests of the SIP stack):
 * 1. every scenario loads (`sipp -sf x.xml -m 0`, which rejects invalid XML and unknown elements);
 * 2. each UAC/UAS pair completes a call against the other on 127.0.0.1 (this catches what the syntax check cannot:
 *    branch offsets, variables referenced once, misplaced timewait);
 * 3. Korus's own digest code against SIPp: the DigestServer verifies SIPp's REGISTER and INVITE credentials, and the
 *    RegisterClient (DigestClient inside) registers to and unregisters from the SIPp registrar, whose verifyauth
 *    checks the MD5/qop=auth answers.
 * SIP and media ports come from a reserved RTP slot, so nothing collides with parallel tests; every child is killed
 * on every path.
 */

import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { DigestServer } from "../../../../sip/auth/index.js";
import {
  createResponse,
  SipRequest,
  SipResponse,
  UdpTransport,
  type InboundMessage,
  type SipDestination,
} from "../../../../sip/index.js";
import {
  parseTrunkDefinition,
  parseTrunkDefinitions,
  RegisterClient,
  TrunkTable,
  RegistrationState,
  type RequestSender,
  type SendOutcome,
} from "../../../../sip/trunk/index.js";
import { interopSlot } from "../../../helpers/slot.js";

const FIXTURES = fileURLToPath(new URL("../../../fixtures/sipp/", import.meta.url));
const { children, work, port } = await interopSlot(t, "sipp");
mkdirSync(join(work, "pcap"));
for (const f of readdirSync("/usr/share/sip-tester").filter((n) => n.endsWith(".pcap"))) {
  copyFileSync(join("/usr/share/sip-tester", f), join(work, "pcap", f));
}
// Ports from the reserved slot: SIP ports first, media ports spaced by 10 for SIPp's RTP/RTCP/video pairs.

interface SippResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs sipp with a hard kill after `limitMs`. */
function sipp(args: string[], limitMs = 30_000): Promise<SippResult> {
  return new Promise((resolve) => {
    const child = spawn("sipp", [...args, "-nostdin"], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, output });
    });
  });
}

const scenarios = readdirSync(FIXTURES).filter((f) => f.endsWith(".xml"));

t.test("every scenario loads (sipp -m 0)", async (t) => {
  t.ok(scenarios.length >= 12, `${scenarios.length} scenarios`);
  for (const file of scenarios) {
    const r = await sipp([
      "-sf",
      join(FIXTURES, file),
      "-m",
      "0",
      "-i",
      "127.0.0.1",
      "-p",
      String(port()),
      "127.0.0.1:9",
    ]);
    t.equal(r.code, 0, file);
  }
});

/** Runs a UAS scenario, then the UAC against it; both must report success. */
async function pair(uas: string, uac: string, uasArgs: string[], uacArgs: string[]): Promise<[SippResult, SippResult]> {
  const uasPort = port();
  const server = sipp([
    "-sf",
    join(FIXTURES, uas),
    "-i",
    "127.0.0.1",
    "-p",
    String(uasPort),
    "-m",
    "1",
    "-timeout",
    "25s",
    ...uasArgs,
  ]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const client = await sipp([
    "-sf",
    join(FIXTURES, uac),
    `127.0.0.1:${uasPort}`,
    "-s",
    "4930123",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-m",
    "1",
    "-timeout",
    "25s",
    ...uacArgs.map((a) => a.replace("{uasPort}", String(uasPort))),
  ]);
  return [await server, client];
}

const PAIRS: [string, string, string[], string[]][] = [
  ["uas_ring_cancel.xml", "uac_cancel.xml", [], []],
  ["registrar_uas.xml", "register_uac.xml", [], ["-au", "4930123", "-ap", "pw"]],
  [
    "uas_digest_challenge.xml",
    "uac_digest_invite.xml",
    [],
    ["-au", "pbx1", "-ap", "pw1", "-auth_uri", "4930123@127.0.0.1:{uasPort}", "-d", "200"],
  ],
  ["uas_100rel.xml", "uac_100rel.xml", [], ["-d", "200"]],
  ["uas_session_timer.xml", "uac_session_timer.xml", [], ["-d", "300"]],
  ["uas_hold_resume.xml", "uac_hold_resume.xml", [], ["-d", "200"]],
  ["uas_answer_bye.xml", "uac_wait_bye.xml", ["-d", "300"], []],
];

t.test("UAC/UAS pairs complete their calls", async (t) => {
  for (const [uas, uac, uasArgs, uacArgs] of PAIRS) {
    const [server, client] = await pair(uas, uac, uasArgs, uacArgs);
    t.equal(client.code, 0, `${uac} → ${uas}: UAC`);
    t.equal(server.code, 0, `${uac} → ${uas}: UAS`);
  }
  // A wrong password makes the digest pair fail on both sides (the UAS scenario really verifies).
  const [server, client] = await pair(
    "uas_digest_challenge.xml",
    "uac_digest_invite.xml",
    [],
    ["-au", "pbx1", "-ap", "nope", "-auth_uri", "4930123@127.0.0.1:{uasPort}", "-d", "200"],
  );
  t.not(client.code, 0, "wrong password: UAC fails");
  t.not(server.code, 0, "wrong password: UAS fails");
});

t.test("PCMA pcap call with RTP echo", async (t) => {
  const [server, client] = await pair(
    "uas_answer.xml",
    "uac_pcma_pcap.xml",
    ["-mi", "127.0.0.1", "-mp", String(port(10)), "-rtp_echo"],
    ["-mi", "127.0.0.1", "-mp", String(port(10))],
  );
  t.equal(client.code, 0, "UAC");
  t.equal(server.code, 0, "UAS");
  t.match(client.output, /In pcap pcap\/g711a\.pcap, npkts 236/);
});

/** A UDP transport with a tiny non-INVITE client: matches final responses by branch, times out after 5 s. */
async function udpEndpoint(onRequest: (inbound: InboundMessage, transport: UdpTransport) => void): Promise<{
  transport: UdpTransport;
  send: RequestSender;
}> {
  const waiting = new Map<string, (response: SipResponse) => void>();
  const transport = await UdpTransport.listen({
    host: "127.0.0.1",
    port: port(),
    onMessage: (inbound) => {
      const m = inbound.message;
      if (m instanceof SipResponse) {
        if (m.status >= 200) {
          waiting.get(m.topVia.branch ?? "")?.(m);
        }
      } else {
        onRequest(inbound, transport);
      }
    },
  });
  const send: RequestSender = (request: SipRequest, destination: SipDestination) =>
    new Promise<SendOutcome>((resolve, reject) => {
      const branch = request.topVia.branch ?? "";
      const timer = setTimeout(() => {
        waiting.delete(branch);
        resolve("timeout");
      }, 5000);
      waiting.set(branch, (response) => {
        clearTimeout(timer);
        waiting.delete(branch);
        resolve(response);
      });
      transport.send(request, destination).catch((error: unknown) => {
        clearTimeout(timer);
        waiting.delete(branch);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  return { transport, send };
}

t.test("Korus RegisterClient registers to and unregisters from the SIPp registrar (verifyauth)", async (t) => {
  const registrarPort = port();
  const registrar = sipp([
    "-sf",
    join(FIXTURES, "registrar_uas.xml"),
    "-i",
    "127.0.0.1",
    "-p",
    String(registrarPort),
    "-m",
    "1",
    "-timeout",
    "20s",
  ]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const { transport, send } = await udpEndpoint(() => undefined);
  t.teardown(() => transport.close());
  const client = new RegisterClient({
    trunk: parseTrunkDefinition(
      {
        name: "sipp",
        auth: "register",
        registrar: `sip:127.0.0.1:${registrarPort}`,
        username: "4930123",
        password: "pw",
        registerExpires: 120,
      },
      "t",
    ),
    send,
    local: { host: "127.0.0.1", port: transport.address.port },
  });
  const registered = client.once("registered");
  client.start();
  const [info] = await registered;
  t.equal(info.expires, 120, "granted by the registrar's Contact expires");
  t.equal(client.state, RegistrationState.Registered);
  const unregistered = client.once("unregistered");
  await client.stop();
  t.equal((await unregistered)[0].status, 200, "the unregister passed verifyauth too");
  const r = await registrar;
  t.equal(r.code, 0, "SIPp registrar: every credential verified");
});

t.test("Korus DigestServer verifies SIPp's REGISTER and INVITE credentials", async (t) => {
  // Two digest trunks without fixed addresses; SIPp 3.6 computes only MD5 (and AKA) and answers the first challenge
  // it sees, so these trunks offer MD5 alone (with the default SHA-256-first offer SIPp exits 255).
  const table = new TrunkTable(
    parseTrunkDefinitions([
      {
        name: "reg",
        auth: "digest",
        username: "4930123",
        password: "pw",
        digestAlgorithms: ["MD5"],
        optionsIntervalS: 0,
      },
      {
        name: "pbx",
        auth: "digest",
        username: "pbx1",
        password: "pw1",
        digestAlgorithms: ["MD5"],
        optionsIntervalS: 0,
      },
    ]),
  );
  const digest = new DigestServer({
    realm: "korus.test",
    secret: Buffer.alloc(32, 5),
    lookup: table.digestLookup(),
    algorithms: table.get("pbx")?.digestAlgorithms ?? [],
  });
  const verdicts: string[] = [];
  const answered = new Map<string, SipResponse>();
  const { transport } = await udpEndpoint((inbound, udp) => {
    const req = inbound.message as SipRequest;
    const reply = (r: SipResponse): void => {
      void udp.send(r, inbound.source);
    };
    if (req.method === "ACK") {
      return;
    }
    const previous = answered.get(req.topVia.branch ?? "");
    if (previous) {
      reply(previous); // a retransmission gets the same answer
      return;
    }
    let response: SipResponse;
    if (table.classify(inbound.source).kind !== "challenge") {
      response = table.rejectResponse(req) ?? createResponse(req, 403);
    } else if (req.method === "BYE") {
      response = createResponse(req, 200);
    } else {
      const verdict = digest.authenticate(req);
      verdicts.push(
        verdict.ok
          ? `${req.method} ok ${table.trunkForCredentials(verdict.username, verdict.realm)?.name}`
          : `${req.method} ${verdict.reason}`,
      );
      if (!verdict.ok) {
        response = verdict.response;
      } else if (req.method === "REGISTER") {
        response = createResponse(req, 200, { toTag: "reg" });
        response.setHeader("Contact", req.getHeaders("Contact"));
        response.setHeader("Expires", req.getHeader("Expires") ?? "120");
      } else {
        response = createResponse(req, 200, {
          toTag: "korus",
          body: {
            contentType: "application/sdp",
            content:
              "v=0\r\no=korus 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
              "m=audio 9 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
          },
        });
        response.setHeader("Contact", `<sip:korus@127.0.0.1:${transport.address.port}>`);
      }
    }
    answered.set(req.topVia.branch ?? "", response);
    reply(response);
  });
  t.teardown(() => transport.close());
  const target = `127.0.0.1:${transport.address.port}`;
  const reg = await sipp([
    "-sf",
    join(FIXTURES, "register_uac.xml"),
    target,
    "-s",
    "4930123",
    "-au",
    "4930123",
    "-ap",
    "pw",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-m",
    "1",
    "-timeout",
    "15s",
  ]);
  t.equal(reg.code, 0, "SIPp REGISTER with digest accepted");
  const inv = await sipp([
    "-sf",
    join(FIXTURES, "uac_digest_invite.xml"),
    target,
    "-s",
    "4930123",
    "-au",
    "pbx1",
    "-ap",
    "pw1",
    "-auth_uri",
    `4930123@${target}`,
    "-d",
    "200",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-m",
    "1",
    "-timeout",
    "15s",
  ]);
  t.equal(inv.code, 0, "SIPp INVITE with digest accepted");
  t.same(verdicts, ["REGISTER missing", "REGISTER ok reg", "REGISTER ok reg", "INVITE missing", "INVITE ok pbx"]);
});

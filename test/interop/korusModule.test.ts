/**
 * kurento-module-korus (examples/kurento-module-korus, a `file:` dependency of test/kurento-client) with the
 * official kurento-client 7.3.0 against a real Korus server and real SIPp peers on 127.0.0.1:
 *
 * - the module registers (`kurento.register(require('kurento-module-korus'))`), the client's strict getInfo check
 *   accepts it, and its CallOptions serialises with `__module__: "korus"`;
 * - outbound: `pipeline.create('SipEndpoint')`, `call(number, {from, displayName, trunk, ringTimeoutMs})` on a
 *   trunk whose peer is SIPp's uas_answer.xml → CallStateChanged CALLING, RINGING (SIPp's 180), CONNECTED (200); getters; sendDtmf;
 *   `hangup()` → TERMINATED, and SIPp ends its scenario successfully (it received our BYE);
 * - inbound: SIPp's uac_wait_bye.xml calls Korus; IncomingCall reaches the app on the SipGateway singleton
 *   (`client.getMediaobjectById('korus_SipGateway')`), the app claims it with `create('korus.SipEndpoint',
 *   {callId})`, answers, hangs up, and SIPp completes (200 to its INVITE, our BYE).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { parse } from "yaml";
import {
  cb,
  connectClient,
  createPipeline,
  kurento,
  release,
  type KEvent,
  type MediaElement,
  type MediaObject,
  type MediaPipeline,
} from "../helpers/kurento.js";
import { reserveRtpRange } from "../helpers/ports.js";
import { ROOT, startKorus } from "../helpers/server.js";

interface SipEndpoint extends MediaElement {
  call(uri: string, options: Record<string, unknown>, callback: (err: Error | null | undefined) => void): void;
  answer(callback: (err: Error | null | undefined) => void): void;
  hangup(callback: (err: Error | null | undefined) => void): void;
  sendDtmf(digits: string, callback: (err: Error | null | undefined) => void): void;
  getCallState(callback: (err: Error | null | undefined, state: string) => void): void;
  getSipCallId(callback: (err: Error | null | undefined, id: string) => void): void;
  getRemoteIdentity(callback: (err: Error | null | undefined, id: string) => void): void;
}

interface KorusModule {
  name: string;
  SIP_GATEWAY_ID: string;
  complexTypes: { CallOptions: (v: Record<string, unknown>) => unknown };
}

const requireKc = createRequire(new URL("../kurento-client/package.json", import.meta.url));
const korusModule = requireKc("kurento-module-korus") as KorusModule;
(kurento as unknown as { register: (m: unknown) => void }).register(korusModule);

const FIXTURES = path.join(ROOT, "test/fixtures/sipp");
const SIPP = "/usr/bin/sipp";

t.setTimeout(120_000);

interface Sipp {
  exit: Promise<number | null>;
  output: () => string;
}

/** Runs SIPp (killed on teardown); `exit` resolves with its exit code. */
function runSipp(tt: { teardown(fn: () => unknown): void }, args: string[], cwd: string): Sipp {
  const child: ChildProcess = spawn(SIPP, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const collect = (d: Buffer): void => {
    out = (out + d.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exit = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", (err) => {
      out += String(err);
      resolve(-1);
    });
  });
  tt.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
  });
  return { exit, output: () => out };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Resolves when `states` (pushed by a listener) contains `state`. */
async function waitState(states: string[], state: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!states.includes(state)) {
    if (Date.now() > deadline) {
      throw new Error(`no ${state} within ${ms} ms (states so far: ${states.join(" → ") || "none"})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ready = existsSync(SIPP);
if (!ready) {
  t.plan(0, `${SIPP} is not installed`);
} else {
  // SIPp's UAS port, known before the server starts: a trunk "sipp" points at it (no OPTIONS keepalive, which the
  // UAS scenario would not expect). The default "local" trunk (any 127.0.0.1 source) admits SIPp's UAC.
  const uasPorts = await reserveRtpRange();
  t.teardown(() => uasPorts.release());
  const server = await startKorus(t, {
    config: {
      sip: {
        trunks: [
          { name: "local", peers: ["127.0.0.1"], transport: "udp", auth: "ip" },
          { name: "sipp", peers: [`127.0.0.1:${uasPorts.min}`], transport: "udp", auth: "ip", optionsIntervalS: 0 },
        ],
      },
    },
  });
  const korusSipPort = (parse(readFileSync(server.configFile, "utf8")) as { sip: { port: number } }).sip.port;
  const { client } = await connectClient(t, server.url);

  // Does this server implement SipEndpoint (not just describe it)?
  const probe = await createPipeline(client);
  const probeResult = await cb<MediaElement>((done) => probe.create("SipEndpoint", done)).then(
    () => "ok",
    (err: Error & { code?: number }) => `${err.code ?? ""} ${err.message}`,
  );
  await release(probe);

  t.test("the module registers as 'korus' and serialises CallOptions for the server", async (t) => {
    t.equal(korusModule.name, "korus");
    t.equal(korusModule.SIP_GATEWAY_ID, "korus_SipGateway");
    const opts = korusModule.complexTypes.CallOptions({ trunk: "local", ringTimeoutMs: 5000 });
    t.same(JSON.parse(JSON.stringify(opts)), {
      trunk: "local",
      ringTimeoutMs: 5000,
      __module__: "korus",
      __type__: "CallOptions",
    });
    t.throws(() => korusModule.complexTypes.CallOptions({ ringTimeout: 1 }), /no field 'ringTimeout'/);
    const registered = (kurento as unknown as { register: { modules: string[] } }).register.modules;
    t.ok(registered.includes("korus"), "kurento-client lists the korus module (and connected in strict mode)");
  });

  if (probeResult !== "ok") {
    const skip = `this server does not implement SipEndpoint yet: create answered ${probeResult}`;
    t.test("SipEndpoint calls", { skip }, () => undefined);
  } else {
    t.test("outbound: call a SIPp UAS, CALLING → RINGING → CONNECTED, DTMF, hang up → TERMINATED", async (t) => {
      const ports = uasPorts;
      const dir = mkdtempSync(path.join(os.tmpdir(), "korus-module-"));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const sipp = runSipp(
        t,
        [
          ...["-sf", path.join(FIXTURES, "uas_answer.xml"), "-i", "127.0.0.1", "-p", String(ports.min)],
          ...["-mi", "127.0.0.1", "-mp", String(ports.min + 10), "-rtp_echo", "-m", "1", "-nostdin"],
          ...["-timeout", "60s", "-timeout_error"],
        ],
        dir,
      );
      await new Promise((r) => setTimeout(r, 500)); // SIPp binds its socket.

      const pipeline: MediaPipeline = await createPipeline(client);
      t.teardown(() => release(pipeline).catch(() => undefined));
      const sip = (await cb<MediaElement>((done) => pipeline.create("SipEndpoint", done))) as SipEndpoint;
      t.match(sip.id, /_korus\.SipEndpoint$/, "the id names module korus");
      const states: string[] = [];
      const events: KEvent[] = [];
      sip.on("CallStateChanged", (ev) => {
        events.push(ev);
        states.push(String(ev["state"]));
      });
      t.equal(await cb<string>((done) => sip.getCallState(done)), "IDLE", "a new endpoint is IDLE");

      await cb<undefined>((done) =>
        sip.call(
          "4930999", // A number on a trunk: Korus makes the request URI with the trunk's peer.
          { from: "sip:alice@127.0.0.1", displayName: "Alice", trunk: "sipp", ringTimeoutMs: 20_000 },
          done as (err: Error | null | undefined) => void,
        ),
      );
      try {
        await waitState(states, "CONNECTED", 20_000);
      } catch (err) {
        t.fail(`${String(err)}\nSIPp: ${sipp.output()}\nkorus: ${server.output().slice(-4000)}`);
        return;
      }
      const upTo = states.slice(0, states.indexOf("CONNECTED") + 1);
      t.equal(upTo[0], "CALLING", "the first state is CALLING");
      t.ok(upTo.includes("RINGING"), `SIPp's 180 shows as RINGING (${upTo.join(" → ")})`);
      const connected = events.find((e) => e["state"] === "CONNECTED");
      t.equal(connected?.["sipStatus"], 200, "CONNECTED carries SIP status 200");
      t.equal(await cb<string>((done) => sip.getCallState(done)), "CONNECTED", "getCallState() agrees");
      const callId = await cb<string>((done) => sip.getSipCallId(done));
      t.ok(callId.length > 0, `getSipCallId() → ${callId}`);
      t.match(
        await cb<string>((done) => sip.getRemoteIdentity(done)),
        /4930999/,
        "getRemoteIdentity() names the called number",
      );
      // SIPp's -rtp_echo sends our RFC 4733 packets back: they come in as DtmfReceived on the same endpoint.
      const digits: string[] = [];
      sip.on("DtmfReceived", (ev) => digits.push(String(ev["digit"])));
      await new Promise((r) => setTimeout(r, 200));
      await cb<undefined>((done) => sip.sendDtmf("123", done as (err: Error | null | undefined) => void));
      const dtmfDeadline = Date.now() + 5000;
      while (digits.join("") !== "123" && Date.now() < dtmfDeadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      t.equal(digits.join(""), "123", "sendDtmf('123') went out as RFC 4733 and SIPp's echo came back as DtmfReceived");

      await cb<undefined>((done) => sip.hangup(done as (err: Error | null | undefined) => void));
      await waitState(states, "TERMINATED", 10_000);
      t.equal(states.at(-1), "TERMINATED", `hang-up ends in TERMINATED (${states.join(" → ")})`);
      const code = await within(sipp.exit, 15_000, "SIPp exit");
      t.equal(code, 0, `SIPp completed its scenario (got our BYE)${code === 0 ? "" : `\n${sipp.output()}`}`);
    });

    t.test("inbound: a SIPp UAC's call reaches the app as IncomingCall; claimed, answered, hung up", async (t) => {
      const ports = await reserveRtpRange();
      t.teardown(() => ports.release());
      const dir = mkdtempSync(path.join(os.tmpdir(), "korus-module-"));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));

      const gateway = await cb<MediaObject>((done) => client.getMediaobjectById(korusModule.SIP_GATEWAY_ID, done));
      t.equal(gateway.id, "korus_SipGateway");
      const incoming: KEvent[] = [];
      const pipeline: MediaPipeline = await createPipeline(client);
      t.teardown(() => release(pipeline).catch(() => undefined));
      const claimed = new Promise<SipEndpoint>((resolve, reject) => {
        gateway.on("IncomingCall", (ev) => {
          incoming.push(ev);
          pipeline.create("korus.SipEndpoint", { callId: ev["callId"] }, (err, el) => {
            if (err) {
              reject(err);
            } else {
              resolve(el as SipEndpoint);
            }
          });
        });
      });
      t.teardown(() => gateway.removeAllListeners("IncomingCall"));
      await new Promise((r) => setTimeout(r, 300)); // The subscribe reaches the server.

      const sipp = runSipp(
        t,
        [
          ...["-sf", path.join(FIXTURES, "uac_wait_bye.xml"), `127.0.0.1:${korusSipPort}`, "-s", "4930123"],
          ...["-i", "127.0.0.1", "-p", String(ports.min), "-mi", "127.0.0.1", "-mp", String(ports.min + 10)],
          ...["-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error"],
        ],
        dir,
      );
      let sip: SipEndpoint;
      try {
        sip = await within(claimed, 15_000, "IncomingCall");
      } catch (err) {
        t.fail(`${String(err)}\nSIPp: ${sipp.output()}\nkorus: ${server.output().slice(-4000)}`);
        return;
      }
      const ev = incoming[0]!;
      t.equal(typeof ev["callId"], "string", `IncomingCall has a callId (${String(ev["callId"])})`);
      t.match(String(ev["to"]), /4930123/, "IncomingCall.to is the number SIPp dialled");
      t.match(String(ev["from"]), /\+441632960001/, "IncomingCall.from is SIPp's caller");
      t.equal(ev["trunk"], "local", "the call came in on the 'local' trunk");
      const states: string[] = [];
      sip.on("CallStateChanged", (e) => states.push(String(e["state"])));
      await new Promise((r) => setTimeout(r, 200));
      await cb<undefined>((done) => sip.answer(done as (err: Error | null | undefined) => void));
      await waitState(states, "CONNECTED", 10_000);
      t.pass(`answered: ${states.join(" → ")}`);
      await cb<undefined>((done) => sip.hangup(done as (err: Error | null | undefined) => void));
      await waitState(states, "TERMINATED", 10_000);
      t.pass("hang-up → TERMINATED");
      const code = await within(sipp.exit, 15_000, "SIPp exit");
      t.equal(code, 0, `SIPp completed its scenario (got our 200 and BYE)${code === 0 ? "" : `\n${sipp.output()}`}`);
    });
  }
}

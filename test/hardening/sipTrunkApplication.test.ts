/**
 * Isolation of carrier calls between applications (issue 9, "a control plane that keeps strangers out"): with
 * `kurento.auth: tokens`, a trunk bound to an application (`application: app-a`) announces its inbound calls
 * (SipGateway IncomingCall: caller, callee, headers) to that application's sessions only, and only that application
 * may claim them; another application's claim gets exactly the answer an unknown callId gets.
 */
import "../helpers/loopbackNamespace.js";
import t from "tap";
import type { MediaHandler } from "../../sip/index.js";
import { freeTcpPort } from "../helpers/ports.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { startKorus } from "../helpers/server.js";
import { ended, localUa } from "../helpers/sipUa.js";

t.setTimeout(90_000);

const TOKEN_A = "token-of-application-a-0123456789";
const TOKEN_B = "token-of-application-b-9876543210";

const OFFER = [
  "v=0",
  "o=carrier 1 1 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 20998 RTP/AVP 8",
  "a=rtpmap:8 PCMA/8000",
  "a=sendrecv",
  "",
].join("\r\n");

/** The caller's media: a fixed PCMA offer (this test checks signalling only). */
const media = (): MediaHandler => ({
  getOffer: () => OFFER,
  setAnswer: () => undefined,
  processOffer: () => OFFER,
  close: () => undefined,
});

const isIncoming = (m: RpcMessage): boolean =>
  (m.params?.["value"] as { type?: string } | undefined)?.type === "IncomingCall";

t.test("a trunk bound to an application: only its sessions hear of its calls and may claim them", async (t) => {
  const sipPort = await freeTcpPort();
  const server = await startKorus(t, {
    workers: 1,
    config: {
      kurento: {
        auth: "tokens",
        tokens: [
          { application: "app-a", token: TOKEN_A },
          { application: "app-b", token: TOKEN_B },
        ],
      },
      sip: {
        port: sipPort,
        trunks: [{ name: "carrier-a", peers: ["127.0.0.1"], auth: "ip", application: "app-a", optionsIntervalS: 0 }],
        dialplan: [],
        claimTimeoutMs: 20_000,
      },
    },
  });
  const a = await RpcClient.open(`${server.url}?access_token=${TOKEN_A}`);
  const b = await RpcClient.open(`${server.url}?access_token=${TOKEN_B}`);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  for (const app of [a, b]) {
    await app.value("subscribe", { object: "korus_SipGateway", type: "IncomingCall" });
  }

  const { ua, close } = await localUa(await freeTcpPort());
  t.teardown(close);
  const out = ua.call(`sip:4930123@127.0.0.1:${sipPort}`, { from: "sip:+441632960001@127.0.0.1", media: media() });
  const ringing = new Promise<number>((resolve) => out.on("progress", (status) => resolve(status)));

  const ev = await a.event(isIncoming);
  const data = (ev.params?.["value"] as { data: Record<string, unknown> }).data;
  t.equal(data["trunk"], "carrier-a", "app-a hears of the call");
  const callId = String(data["callId"]);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(b.events.filter(isIncoming).length, 0, "app-b hears nothing of app-a's trunk");

  const claim = async (app: RpcClient, id: string): Promise<RpcMessage> => {
    const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
    return app.call("create", {
      type: "SipEndpoint",
      constructorParams: { mediaPipeline: pipeline, callId: id },
    });
  };
  const unknown = await claim(b, "no-such-call@127.0.0.1");
  const stolen = await claim(b, callId);
  t.equal(stolen.error?.code, unknown.error?.code, "app-b's claim is answered like an unknown call's");
  t.equal(
    stolen.error?.message.replace(callId, "X"),
    unknown.error?.message.replace("no-such-call@127.0.0.1", "X"),
    "with the same message",
  );

  const claimed = await claim(a, callId);
  t.equal(claimed.error, undefined, "app-a claims its call");
  t.equal(await ringing, 180, "and the caller hears it ring");
  const ep = String(claimed.result?.["value"]);
  await a.value("invoke", { object: ep, operation: "reject", operationParams: { status: 486 } });
  const info = await ended(out);
  t.equal(info.status, 486, "app-a's reject reaches the caller");
});

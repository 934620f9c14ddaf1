/*
 * Korus gateway example: a browser ⇄ phone bridge written as a Kurento application with kurento-client 7.3.0 and
 * kurento-module-korus.
 *
 *   npm install --ignore-scripts && KORUS_URI=ws://127.0.0.1:8888/kurento node server.js   → http://127.0.0.1:8080/
 *
 * Per browser (WebSocket /ws) one MediaPipeline holds a WebRtcEndpoint (the browser) and a korus.SipEndpoint (the
 * phone), connected both ways for audio; Korus transcodes Opus ⇄ G.711 as needed.
 *
 * - Outbound: the page sends {id:"call", uri, trunk?, sdpOffer}; the app creates the pipeline and calls
 *   sip.call(uri, {from, trunk, ringTimeoutMs}). `uri` is a sip:/sips:/tel: URI, or a number dialled on `trunk`.
 * - Inbound: the app listens to IncomingCall on the SipGateway singleton and offers each call to an idle browser
 *   ({id:"incoming", from, to}); when the browser accepts ({id:"accept", sdpOffer}) the app claims the call with
 *   pipeline.create('SipEndpoint', {callId}) and answers it. Calls nobody accepts follow Korus's dial plan after
 *   sip.claimTimeoutMs.
 * - Both: {id:"candidate"}, {id:"dtmf", digits}, {id:"hangup"}, {id:"stats"}; the app relays CallStateChanged
 *   ({id:"state"}), DtmfReceived ({id:"dtmf"}) and IceCandidateFound ({id:"candidate"}).
 *
 * public/ holds Korus's /demo/gateway page and script (src/demo), formatted by prettier; Korus's gatewayDemo test
 * checks that the copy matches.
 *
 * Environment: KORUS_URI (default ws://127.0.0.1:8888/kurento), HOST (127.0.0.1), PORT (8080), FROM (From URI of
 * outbound calls; default Korus's), TRUNKS (comma-separated trunk names offered to the page; default: all of
 * SipGateway.getTrunks()).
 */
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");
const WebSocket = require("ws");
const kurento = require("kurento-client");
const korus = require("kurento-module-korus");

kurento.register(korus);

const KORUS_URI = process.env.KORUS_URI || "ws://127.0.0.1:8888/kurento";
const HOST = process.env.HOST || "127.0.0.1";
const PORT = Number(process.env.PORT || 8080);
const FROM = process.env.FROM || undefined;

const PUBLIC = path.join(__dirname, "public");
const FILES = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
};

/** kurento-client's promise style swallows server errors: wrap the callback style instead. */
function cb(fn) {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

async function main() {
  let client;
  await cb((done) => {
    client = kurento(KORUS_URI, { duplicates_timeout: 500 }, done);
  });
  const gateway = await cb((done) => client.getMediaobjectById(korus.SIP_GATEWAY_ID, done));
  const trunks = process.env.TRUNKS ? process.env.TRUNKS.split(",") : await cb((done) => gateway.getTrunks(done));
  const peers = new Set();

  // Inbound calls: offer each one to the first idle browser.
  gateway.on("IncomingCall", (ev) => {
    const peer = [...peers].find((p) => p.idle());
    if (peer === undefined) return; // Nobody free: the dial plan takes it after sip.claimTimeoutMs.
    peer.offerIncoming(ev);
  });

  const server = http.createServer((req, res) => {
    const file = FILES[new URL(req.url, "http://x").pathname];
    if (req.method !== "GET" || file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file[1], "cache-control": "no-store" });
    fs.createReadStream(path.join(PUBLIC, file[0])).pipe(res);
  });
  const wss = new WebSocket.Server({ server, path: "/ws", maxPayload: 64 * 1024 });
  wss.on("connection", (ws) => {
    const peer = new Peer(client, ws, trunks);
    peers.add(peer);
    ws.on("close", () => {
      peers.delete(peer);
      peer.stop();
    });
  });
  await new Promise((resolve) => server.listen(PORT, HOST, resolve));
  console.log(`gateway app on http://${HOST}:${server.address().port}/ (Korus ${KORUS_URI})`);

  const shutdown = () => {
    for (const p of peers) p.stop();
    wss.close();
    server.close();
    client.close();
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

/** One browser: at most one call at a time. */
class Peer {
  constructor(client, ws, trunks) {
    this.client = client;
    this.ws = ws;
    this.pipeline = undefined;
    this.webrtc = undefined;
    this.sip = undefined;
    this.candidates = [];
    this.incoming = undefined;
    this.busy = false;
    ws.on("message", (data) => {
      let msg;
      try {
        msg = JSON.parse(String(data));
      } catch (e) {
        return this.send({ id: "error", message: "not JSON" });
      }
      this.onMessage(msg).catch((err) =>
        this.send({ id: "error", message: String(err && err.message ? err.message : err) }),
      );
    });
    this.send({ id: "trunks", trunks });
  }

  send(msg) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  idle() {
    return !this.busy && this.incoming === undefined;
  }

  offerIncoming(ev) {
    this.incoming = ev;
    this.send({ id: "incoming", from: ev.from, to: ev.to });
  }

  async onMessage(msg) {
    switch (msg && msg.id) {
      case "call":
        if (typeof msg.uri !== "string" || typeof msg.sdpOffer !== "string")
          throw new Error("call needs uri and sdpOffer");
        return this.start(msg.sdpOffer, (sip) =>
          cb((done) => sip.call(msg.uri, { from: FROM, trunk: msg.trunk || undefined, ringTimeoutMs: 60000 }, done)),
        );
      case "accept": {
        const ev = this.incoming;
        this.incoming = undefined;
        if (ev === undefined) throw new Error("no incoming call to accept");
        return this.start(msg.sdpOffer, (sip) => cb((done) => sip.answer(done)), ev.callId);
      }
      case "decline":
        this.incoming = undefined; // Korus's dial plan takes the call after sip.claimTimeoutMs.
        return;
      case "candidate": {
        const candidate = kurento.getComplexType("IceCandidate")(msg.candidate);
        if (this.webrtc === undefined) this.candidates.push(candidate);
        else await cb((done) => this.webrtc.addIceCandidate(candidate, done));
        return;
      }
      case "dtmf":
        if (this.sip === undefined) throw new Error("no call in progress");
        return cb((done) => this.sip.sendDtmf(String(msg.digits), done));
      case "hangup":
        if (this.sip !== undefined) await cb((done) => this.sip.hangup(done)).catch(() => undefined);
        this.send({ id: "state", state: "TERMINATED", sipStatus: 0, q850Cause: 16 });
        return this.stop();
      case "stats": {
        if (this.webrtc === undefined) throw new Error("no call in progress");
        const [w, s] = await Promise.all([
          cb((done) => this.webrtc.getStats("AUDIO", done)),
          cb((done) => this.sip.getStats("AUDIO", done)),
        ]);
        return this.send({ id: "stats", webrtc: summarise(w), sip: summarise(s) });
      }
      case "trunks":
        return;
      default:
        throw new Error("unknown message");
    }
  }

  /** Builds WebRtcEndpoint ⇄ SipEndpoint, negotiates with the browser, then `dial(sip)` (call or answer). */
  async start(sdpOffer, dial, callId) {
    if (this.busy) throw new Error("a call is already in progress");
    this.busy = true;
    try {
      this.pipeline = await cb((done) => this.client.create("MediaPipeline", done));
      const webrtc = await cb((done) => this.pipeline.create("WebRtcEndpoint", done));
      const sip = await cb((done) =>
        callId === undefined
          ? this.pipeline.create("SipEndpoint", done)
          : this.pipeline.create("SipEndpoint", { callId }, done),
      );
      this.sip = sip;
      sip.on("CallStateChanged", (ev) => {
        this.send({ id: "state", state: ev.state, sipStatus: ev.sipStatus, q850Cause: ev.q850Cause });
        if (ev.state === "TERMINATED") this.stop();
      });
      sip.on("DtmfReceived", (ev) => this.send({ id: "dtmf", digit: ev.digit }));
      webrtc.on("IceCandidateFound", (ev) => this.send({ id: "candidate", candidate: ev.candidate }));
      await cb((done) => webrtc.connect(sip, "AUDIO", done));
      await cb((done) => sip.connect(webrtc, "AUDIO", done));
      this.webrtc = webrtc; // From now on candidates go straight to the endpoint.
      for (const c of this.candidates.splice(0)) await cb((done) => webrtc.addIceCandidate(c, done));
      const sdpAnswer = await cb((done) => webrtc.processOffer(sdpOffer, done));
      this.send({ id: "answer", sdpAnswer });
      await cb((done) => webrtc.gatherCandidates(done));
      await dial(sip);
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  stop() {
    const pipeline = this.pipeline;
    this.pipeline = this.webrtc = this.sip = undefined;
    this.candidates = [];
    this.busy = false;
    if (pipeline !== undefined) pipeline.release(() => undefined);
  }
}

function summarise(stats) {
  const out = {};
  for (const rec of Object.values(stats || {})) {
    if (rec.type !== "inboundrtp" && rec.type !== "outboundrtp") continue;
    const acc = out[rec.type] || (out[rec.type] = { packets: 0, bytes: 0 });
    acc.packets += Number(rec.type === "inboundrtp" ? rec.packetsReceived : rec.packetsSent) || 0;
    acc.bytes += Number(rec.type === "inboundrtp" ? rec.bytesReceived : rec.bytesSent) || 0;
  }
  return out;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

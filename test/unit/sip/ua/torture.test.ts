/**
 * RFC 4475 messages delivered to a live UserAgent (through its transaction layer, as a transport would): the
 * application-layer cases (§3.3) get the answers the RFC names, nothing throws, and every table drains.
 */

import { readdirSync, readFileSync } from "node:fs";
import t from "tap";
import { parseMessage, SipParseError, SipRequest, stampReceived, type SipMessage } from "../../../../sip/index.js";
import { TORTURE_DIR } from "../helpers.js";
import { pair, type Wire } from "./harness.js";

const SOURCE = { host: "192.0.2.1", port: 5060, transport: "UDP" } as const;

t.test("RFC 4475 application-layer answers from the UA core", async (t) => {
  const p = pair();
  p.b.on("incomingCall", (session) => session.reject(486));
  const answers = new Map<string, string>();
  const messages = new Map<string, SipMessage>();
  let thrown = 0;
  for (const file of readdirSync(TORTURE_DIR).filter((f) => f.endsWith(".dat"))) {
    let message;
    try {
      message = parseMessage(readFileSync(new URL(file, TORTURE_DIR)));
    } catch (error) {
      if (!(error instanceof SipParseError)) {
        throw error;
      }
      continue; // rejected by the parser: torture.test.ts covers those
    }
    if (!(message instanceof SipRequest)) {
      continue;
    }
    const name = file.replace(/\.dat$/, "");
    const before = p.net.log.length;
    try {
      stampReceived(message, SOURCE);
      p.b.receive({ message, source: SOURCE });
    } catch {
      thrown += 1;
    }
    await p.clock.run(5);
    const reply = p.net.log.slice(before).find((w: Wire) => w.from === "192.0.2.2:5060");
    if (reply !== undefined) {
      answers.set(name, reply.what);
      messages.set(name, reply.message);
    }
  }
  t.equal(thrown, 0, "nothing escaped receive()");
  t.equal(answers.get("bext01"), "420 OPTIONS", "§3.3.5 bext01: 420");
  t.match(messages.get("bext01")?.getHeader("Unsupported"), /nothingSupportsThis, nothingSupportsThisEither/);
  t.equal(answers.get("invut"), "415 INVITE", "§3.3.6 invut: 415");
  t.equal(messages.get("invut")?.getHeader("Accept"), "application/sdp");
  t.equal(answers.get("unkscm"), "416 OPTIONS", "§3.3.2 unkscm: 416");
  t.equal(answers.get("novelsc"), "416 OPTIONS", "§3.3.3 novelsc: 416");
  t.equal(answers.get("sdp01"), "406 INVITE", "§3.3.15 sdp01: 406");
  t.equal(answers.get("zeromf"), "200 OPTIONS", "§3.3.12 zeromf: a UAS answers Max-Forwards 0");
  t.equal(answers.get("regaut01"), "405 REGISTER", "no registrar here: 405 with Allow");
  t.equal(answers.get("inv2543"), "486 INVITE", "§3.4 inv2543: an RFC 2543 INVITE reaches the application");
  await p.clock.run(70000);
  t.same(p.b.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
});

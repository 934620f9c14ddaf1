/**
 * The pure parts of the SIP service: dial-plan matching and `$n` substitution, the SipEndpoint call-state diagram,
 * and validation of the `sip` config section (errors name the field).
 */
import t from "tap";
import { ConfigError, validateConfig } from "../../../../src/config/schema.js";
import { callStateAllows, CallState } from "../../../../src/sip/CallState.js";
import { compileRules, matchRules, substitute } from "../../../../src/sip/DialPlan.js";

t.test("dial plan: first matching rule wins; to/from/trunk regexes; capture groups", async (t) => {
  const rules = compileRules([
    { to: "^sip:echo@", action: "echo" },
    { to: "^sip:room-([a-z]+)@", action: "room", room: "$1" },
    { to: "^sip:\\+49(\\d+)@", trunk: "^carrier$", action: "bridge", uri: "sip:0$1@pbx.example" },
    { from: "^sip:spam@", action: "reject", status: 603 },
  ]);
  t.equal(matchRules(rules, "sip:echo@127.0.0.1", "sip:a@b", "local")?.rule.action, "echo");
  const room = matchRules(rules, "sip:room-blue@127.0.0.1:5060", "sip:a@b", "local");
  t.equal(room?.rule.action, "room");
  t.equal(substitute(room?.rule.room ?? "", room?.groups ?? []), "blue");
  t.equal(matchRules(rules, "sip:+4930123@x", "sip:a@b", "local"), undefined, "trunk regex must match too");
  const bridged = matchRules(rules, "sip:+4930123@x", "sip:a@b", "carrier");
  t.equal(substitute(bridged?.rule.uri ?? "", bridged?.groups ?? []), "sip:030123@pbx.example");
  t.equal(matchRules(rules, "sip:anything@x", "sip:spam@evil", "local")?.rule.status, 603, "from regex");
  t.equal(matchRules(rules, "sip:nobody@x", "sip:a@b", "local"), undefined, "no rule: unmatched");
  t.equal(substitute("$1-$2-$9", ["all", "x"]), "x--", "missing groups are empty");
});

t.test("call states follow the diagram", async (t) => {
  t.ok(callStateAllows(CallState.Idle, CallState.Calling));
  t.ok(callStateAllows(CallState.Calling, CallState.EarlyMedia));
  t.ok(callStateAllows(CallState.Ringing, CallState.Connected));
  t.notOk(callStateAllows(CallState.EarlyMedia, CallState.Ringing), "a 180 after a 183 keeps EARLY_MEDIA");
  t.notOk(callStateAllows(CallState.Connected, CallState.Ringing));
  t.notOk(callStateAllows(CallState.Terminated, CallState.Connected), "TERMINATED is final");
  for (const s of Object.values(CallState)) {
    t.equal(callStateAllows(s, CallState.Terminated), s !== CallState.Terminated, `${s} → TERMINATED`);
  }
});

t.test("sip config validation names the field", async (t) => {
  const field = (sip: Record<string, unknown>): string => {
    try {
      validateConfig({ sip });
    } catch (err) {
      return err instanceof ConfigError ? err.field : `not a ConfigError: ${String(err)}`;
    }
    return "no error";
  };
  t.equal(field({ dialplan: [{ to: "(", action: "echo" }] }), "sip.dialplan[0].to", "bad regex");
  t.equal(field({ dialplan: [{ action: "bridge" }] }), "sip.dialplan[0].uri", "bridge needs a target");
  t.equal(field({ dialplan: [{ action: "dance" }] }), "sip.dialplan[0].action");
  t.equal(field({ dialplan: [{ action: "echo", color: 1 }] }), "sip.dialplan[0].color", "unknown key");
  t.equal(field({ trunks: [{ name: "x", auth: "ip", peers: [] }] }), "sip.trunks[0].peers", "sip/trunk's check");
  t.equal(field({ tls: { port: 5061 } }), "sip.tls.certFile", "TLS needs files");
  t.equal(field({ digest: { secret: "short" } }), "sip.digest.secret");
  t.equal(field({ rateLimit: { ratePerSecond: 0 } }), "sip.rateLimit.ratePerSecond");
  t.equal(field({ rateLimit: { trunkBurst: -1 } }), "sip.rateLimit.trunkBurst");
  t.equal(field({ unknownSourceStatus: 200 }), "sip.unknownSourceStatus");
  t.equal(field({ claimTimeoutMs: 1000, dialplan: [{ to: "^sip:a@", action: "reject", status: 486 }] }), "no error");
});

/**
 * sip/trunk/schema.ts: one trunk's keys, defaults and checks in one TypeBox declaration; parseTrunkDefinition checks
 * a trunk against it and derives the definition, with errors that name the key, what was expected and what was given.
 */
import t from "tap";
import { parseTrunkDefinition, TrunkConfigError, TrunkSchema } from "../../../../sip/trunk/index.js";

const messageOf = (raw: unknown): string => {
  try {
    parseTrunkDefinition(raw, "sip.trunks[0]");
  } catch (error) {
    return error instanceof TrunkConfigError ? error.message : `not a TrunkConfigError: ${String(error)}`;
  }
  return "no error";
};

t.test("absent keys take the schema's defaults", async (t) => {
  const trunk = parseTrunkDefinition({ name: "carrier", peers: ["203.0.113.1"] }, "t");
  t.equal(trunk.transport, "udp");
  t.equal(trunk.auth, "ip");
  t.same(trunk.codecs, ["PCMA", "PCMU", "telephone-event"]);
  t.same(trunk.digestAlgorithms, ["SHA-256", "MD5"]);
  t.equal(trunk.dtmf, "rfc4733");
  t.same(trunk.keepalive, { intervalMs: 30_000, upAfter: 1, downAfter: 3 });
  t.equal(trunk.application, undefined);
  const nulls = parseTrunkDefinition({ name: "c", peers: ["203.0.113.1"], transport: null, codecs: null }, "t");
  t.equal(nulls.transport, "udp", "YAML `key:` without a value means the default");
  t.same(nulls.codecs, ["PCMA", "PCMU", "telephone-event"]);
  t.same(TrunkSchema.properties.codecs.default, ["PCMA", "PCMU", "telephone-event"], "one declaration");
});

t.test("enumerations are matched in any case and spelled as declared", async (t) => {
  const trunk = parseTrunkDefinition(
    { name: "c", peers: ["203.0.113.1"], transport: "TCP", dtmf: "INFO", codecs: ["amr-wb", "Opus"] },
    "t",
  );
  t.equal(trunk.transport, "tcp");
  t.equal(trunk.dtmf, "info");
  t.same(trunk.codecs, ["AMR-WB", "opus"]);
});

t.test("errors name the key, what was expected and what was given (never a password)", async (t) => {
  const base = { name: "c", peers: ["203.0.113.1"] };
  t.equal(
    messageOf({ ...base, optionsIntervalS: -1 }),
    "sip.trunks[0].optionsIntervalS: must be an integer from 0 to 3600, got -1",
  );
  t.equal(
    messageOf({ ...base, transport: "sctp" }),
    'sip.trunks[0].transport: must be one of udp, tcp, tls, got "sctp"',
  );
  t.match(messageOf({ ...base, colour: "red" }), /^sip\.trunks\[0\]\.colour: unknown key \(known: name, peers, /);
  t.equal(
    messageOf({ peers: ["203.0.113.1"] }),
    "sip.trunks[0].name: is required: 1-64 characters of letters, digits, '_', '.', '-'",
  );
  t.equal(
    messageOf({ ...base, auth: "digest", username: "u" }),
    "sip.trunks[0].password: is required with auth: digest",
  );
  t.equal(
    messageOf({ ...base, auth: "digest", username: "u", password: "" }),
    "sip.trunks[0].password: must be a non-empty string",
  );
  t.equal(messageOf([base]), "sip.trunks[0]: must be a mapping");
});

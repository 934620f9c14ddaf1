/**
 * Trunk definitions (sip/trunk/Trunk.ts), addresses and CIDR (sip/trunk/address.ts) and the source-address trunk
 * table (sip/trunk/TrunkTable.ts).
 */

import t from "tap";
import { DigestClient, DigestServer } from "../../../../sip/auth/index.js";
import {
  AddressParseError,
  cidrContains,
  formatIpAddress,
  keepaliveTarget,
  parseCidr,
  parseIpAddress,
  parseTrunkDefinition,
  parseTrunkDefinitions,
  TrunkConfigError,
  TrunkTable,
} from "../../../../sip/trunk/index.js";
import { request } from "../helpers.js";

t.test("IPv4 and IPv6 addresses, IPv4-mapped equivalence, CIDR containment", async (t) => {
  t.equal(formatIpAddress(parseIpAddress("203.0.113.10")), "203.0.113.10");
  t.equal(formatIpAddress(parseIpAddress("::ffff:203.0.113.10")), "203.0.113.10", "mapped is IPv4");
  t.equal(parseIpAddress("::ffff:203.0.113.10").family, 4);
  t.equal(formatIpAddress(parseIpAddress("[2001:DB8::1]")), "2001:db8:0:0:0:0:0:1");
  t.equal(formatIpAddress(parseIpAddress("fe80::1%eth0")), "fe80:0:0:0:0:0:0:1");
  t.equal(formatIpAddress(parseIpAddress("::")), "0:0:0:0:0:0:0:0");
  t.equal(formatIpAddress(parseIpAddress("1:2:3:4:5:6:7:8")), "1:2:3:4:5:6:7:8");
  t.equal(formatIpAddress(parseIpAddress("64:ff9b::192.0.2.33")), "64:ff9b:0:0:0:0:c000:221");
  for (const bad of ["256.1.1.1", "1.2.3", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", "gggg::1", "", "host.example"]) {
    t.throws(() => parseIpAddress(bad), AddressParseError, bad);
  }
  const net24 = parseCidr("203.0.113.0/24");
  t.equal(net24.prefix128, 120);
  t.equal(cidrContains(net24, parseIpAddress("203.0.113.255")), true);
  t.equal(cidrContains(net24, parseIpAddress("::ffff:203.0.113.7")), true, "dual-stack socket form");
  t.equal(cidrContains(net24, parseIpAddress("203.0.114.1")), false);
  t.equal(cidrContains(parseCidr("203.0.113.8/29"), parseIpAddress("203.0.113.15")), true);
  t.equal(cidrContains(parseCidr("203.0.113.8/29"), parseIpAddress("203.0.113.16")), false);
  t.equal(cidrContains(parseCidr("2001:db8::/33"), parseIpAddress("2001:db8:7fff::1")), true);
  t.equal(cidrContains(parseCidr("2001:db8::/33"), parseIpAddress("2001:db8:8000::1")), false);
  t.equal(cidrContains(parseCidr("0.0.0.0/0"), parseIpAddress("2001:db8::1")), false, "IPv4 /0 is not all of IPv6");
  t.equal(cidrContains(parseCidr("::/0"), parseIpAddress("2001:db8::1")), true);
  t.throws(() => parseCidr("10.0.0.1/8"), AddressParseError, "host bits set");
  t.throws(() => parseCidr("10.0.0.0/33"), AddressParseError);
  t.throws(() => parseCidr("2001:db8::/129"), AddressParseError);
});

const IP_TRUNK = {
  name: "carrier-a",
  peers: ["203.0.113.10", "203.0.113.0/24", "[2001:db8::5]:5060", "sbc.carrier.example:5070"],
  transport: "udp",
  auth: "ip",
  codecs: ["PCMA", "pcmu", "telephone-event"],
  dtmf: "rfc4733",
  optionsIntervalS: 20,
};

t.test("trunk definitions: defaults, normalisation and errors naming the field", async (t) => {
  const a = parseTrunkDefinition(IP_TRUNK, "sip.trunks[0]");
  t.equal(a.name, "carrier-a");
  t.same(a.codecs, ["PCMA", "PCMU", "telephone-event"]);
  t.same(
    a.peers.map((p) => p.kind),
    ["address", "cidr", "address", "hostname"],
  );
  t.same(a.keepalive, { intervalMs: 20_000, upAfter: 1, downAfter: 3 });
  t.same(keepaliveTarget(a), { host: "203.0.113.10", port: 5060, transport: "udp" });
  t.equal(a.credentials, undefined);
  t.same(a.digestAlgorithms, ["SHA-256", "MD5"], "default digest offer");
  t.same(parseTrunkDefinition({ ...IP_TRUNK, digestAlgorithms: ["md5"] }, "t").digestAlgorithms, ["MD5"]);

  const reg = parseTrunkDefinition(
    {
      name: "hosted",
      auth: "register",
      transport: "tls",
      registrar: "sip:[2001:db8::99]",
      username: "4930123",
      password: "pw",
      codecs: ["AMR-WB", "PCMA", "telephone-event"],
    },
    "t",
  );
  t.same(reg.registration, {
    registrar: "sip:[2001:db8::99]",
    host: "2001:db8::99",
    port: 5061,
    expires: 3600,
    aor: "sip:4930123@[2001:db8::99]",
  });
  t.same(keepaliveTarget(reg), { host: "2001:db8::99", port: 5061, transport: "tls" });
  t.equal(reg.credentials?.realm, undefined);

  const cases: [Record<string, unknown>, string][] = [
    [{ ...IP_TRUNK, peers: [] }, "t.peers"],
    [{ ...IP_TRUNK, peers: ["10.0.0.1/8"] }, "t.peers[0]"],
    [{ ...IP_TRUNK, peers: ["203.0.113.10:99999"] }, "t.peers[0]"],
    [{ ...IP_TRUNK, peers: ["bad_host!"] }, "t.peers[0]"],
    [{ ...IP_TRUNK, peers: ["300.1.1.1"] }, "t.peers[0]"],
    [{ ...IP_TRUNK, transport: "sctp" }, "t.transport"],
    [{ ...IP_TRUNK, auth: "token" }, "t.auth"],
    [{ ...IP_TRUNK, codecs: ["PCMA", "EVS"] }, "t.codecs[1]"],
    [{ ...IP_TRUNK, codecs: ["PCMA"] }, "t.codecs"],
    [{ ...IP_TRUNK, codecs: ["telephone-event"], dtmf: "info" }, "t.codecs"],
    [{ ...IP_TRUNK, codecs: ["PCMA", "pcma", "telephone-event"] }, "t.codecs"],
    [{ ...IP_TRUNK, dtmf: "sip-info" }, "t.dtmf"],
    [{ ...IP_TRUNK, digestAlgorithms: ["SHA-1"] }, "t.digestAlgorithms[0]"],
    [{ ...IP_TRUNK, digestAlgorithms: [] }, "t.digestAlgorithms"],
    [{ ...IP_TRUNK, optionsIntervalS: -1 }, "t.optionsIntervalS"],
    [{ ...IP_TRUNK, peers: ["203.0.113.0/24"] }, "t.optionsIntervalS"],
    [{ ...IP_TRUNK, colour: "red" }, "t.colour"],
    [{ ...IP_TRUNK, name: "has space" }, "t.name"],
    [{ ...IP_TRUNK, auth: "digest" }, "t.username"],
    [{ ...IP_TRUNK, auth: "digest", username: "u", password: "p", realm: 'a"b' }, "t.realm"],
    [{ ...IP_TRUNK, auth: "register", username: "u", password: "p" }, "t.registrar"],
    [{ ...IP_TRUNK, auth: "register", username: "u", password: "p", registrar: "http://x" }, "t.registrar"],
    [
      { ...IP_TRUNK, auth: "register", username: "u", password: "p", registrar: "sip:x", registerExpires: 5 },
      "t.registerExpires",
    ],
    [{ ...IP_TRUNK, registrar: "sip:x" }, "t.registrar"],
  ];
  for (const [raw, path] of cases) {
    try {
      parseTrunkDefinition(raw, "t");
      t.fail(`accepted ${JSON.stringify(raw)}`);
    } catch (error) {
      t.type(error, TrunkConfigError);
      t.equal((error as TrunkConfigError).path, path, path);
    }
  }
  t.throws(() => parseTrunkDefinition("x", "t"), TrunkConfigError);
  t.same(parseTrunkDefinitions(undefined), []);
  const pathOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      return error instanceof TrunkConfigError ? error.path : "other error";
    }
    return "no error";
  };
  t.equal(
    pathOf(() => parseTrunkDefinitions([IP_TRUNK, IP_TRUNK])),
    "sip.trunks[1].name",
  );
  t.equal(
    pathOf(() => parseTrunkDefinitions({})),
    "sip.trunks",
  );
});

const OPTIONS_FROM = (host: string): string =>
  `OPTIONS sip:korus.example.com SIP/2.0\r\nVia: SIP/2.0/UDP ${host}:5060;branch=z9hG4bKo1\r\n` +
  "Max-Forwards: 70\r\nFrom: <sip:probe@carrier.example>;tag=p1\r\nTo: <sip:korus.example.com>\r\n" +
  "Call-ID: opt-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

t.test("trunk table: most specific match, ports on UDP only, transports, IPv6, host names", async (t) => {
  const trunks = parseTrunkDefinitions([
    IP_TRUNK,
    { ...IP_TRUNK, name: "carrier-a-media", peers: ["203.0.113.10:5080"], optionsIntervalS: 0 },
    { ...IP_TRUNK, name: "wide", peers: ["203.0.0.0/16"], optionsIntervalS: 0 },
    { ...IP_TRUNK, name: "secure", peers: ["198.51.100.7"], transport: "tls" },
    { ...IP_TRUNK, name: "v6net", peers: ["2001:db8:1::/48"], optionsIntervalS: 0 },
    {
      name: "pbx",
      auth: "digest",
      username: "pbx1",
      password: "pw1",
      realm: "korus.example.com",
      optionsIntervalS: 0,
    },
  ]);
  const table = new TrunkTable(trunks);
  const name = (host: string, port = 5060, transport = "UDP"): string | undefined =>
    table.match({ host, port, transport })?.name;
  t.equal(name("203.0.113.10"), "carrier-a", "exact address beats /24 and /16");
  t.equal(name("203.0.113.10", 5080), "carrier-a-media", "address+port beats address on UDP");
  t.equal(name("203.0.113.10", 40123, "TCP"), "carrier-a", "TCP ignores ports: equal prefixes keep config order");
  t.equal(name("203.0.113.77"), "carrier-a", "/24");
  t.equal(name("203.0.9.1"), "wide", "/16");
  t.equal(name("::ffff:203.0.9.1"), "wide", "IPv4-mapped source");
  t.equal(name("2001:db8::5"), "carrier-a");
  t.equal(name("2001:db8::5", 5999), undefined, "IPv6 address with a port that does not match");
  t.equal(name("2001:db8:1:ffff::1"), "v6net");
  t.equal(name("198.51.100.7"), undefined, "TLS trunk refuses UDP");
  t.equal(name("198.51.100.7", 50000, "TLS"), "secure");
  t.equal(name("203.0.113.10", 5060, "TLS"), undefined, "UDP trunk refuses TLS");
  t.equal(name("not-an-address"), undefined);
  t.equal(name("192.0.2.200"), undefined);

  t.same(table.hostnames(), ["sbc.carrier.example"]);
  const resolved = table.withResolved(new Map([["sbc.carrier.example", ["192.0.2.200", "2001:db8:ff::1"]]]));
  t.equal(resolved.match({ host: "192.0.2.200", port: 5070, transport: "UDP" })?.name, "carrier-a");
  t.equal(resolved.match({ host: "192.0.2.200", port: 5060, transport: "UDP" })?.name, undefined, "port of the name");
  t.equal(resolved.match({ host: "2001:db8:ff::1", port: 5070, transport: "UDP" })?.name, "carrier-a");
  t.throws(() => table.withResolved(new Map([["sbc.carrier.example", ["bogus"]]])), AddressParseError);

  // Classification: trunk, digest challenge for open digest trunks, otherwise reject.
  t.same(table.classify({ host: "203.0.113.10", port: 5060, transport: "UDP" }), {
    kind: "trunk",
    trunk: trunks[0],
    challenge: false,
  });
  const open = table.classify({ host: "192.0.2.1", port: 5060, transport: "UDP" });
  t.equal(open.kind, "challenge");
  t.same(open.kind === "challenge" ? open.candidates.map((c) => c.name) : [], ["pbx"]);
  t.same(table.classify({ host: "192.0.2.1", port: 5061, transport: "TLS" }), { kind: "reject", status: 403 });
  t.same(
    new TrunkTable(trunks.slice(0, 5), { rejectStatus: 603 }).classify({
      host: "192.0.2.1",
      port: 1,
      transport: "UDP",
    }),
    {
      kind: "reject",
      status: 603,
    },
  );
  t.throws(() => new TrunkTable(trunks, { rejectStatus: 200 }), RangeError);
  t.equal(table.get("pbx")?.auth, "digest");
});

t.test("unknown sources get a stateless 403 (no state); ACK is never answered", async (t) => {
  const table = new TrunkTable(parseTrunkDefinitions([IP_TRUNK]));
  const req = request(OPTIONS_FROM("192.0.2.50"));
  const r1 = table.rejectResponse(req);
  const r2 = table.rejectResponse(request(OPTIONS_FROM("192.0.2.50")));
  t.equal(r1?.status, 403);
  t.equal(r1?.callId, "opt-1");
  t.equal(r1?.cseq.method, "OPTIONS");
  t.ok(r1?.to.tag);
  t.equal(r1?.toString(), r2?.toString(), "a retransmission gets the identical answer");
  t.equal(table.rejectResponse(req, 404)?.status, 404);
  const ack = request(OPTIONS_FROM("192.0.2.50").replace("OPTIONS sip", "ACK sip").replace("1 OPTIONS", "1 ACK"));
  t.equal(table.rejectResponse(ack), undefined);
  // The table is immutable: classifying a thousand unknown sources leaves nothing behind to inspect, and the same
  // question gets the same answer.
  for (let i = 0; i < 1000; i++) {
    table.classify({ host: `192.0.${i >> 8}.${i & 255}`, port: 5060, transport: "UDP" });
  }
  t.same(table.classify({ host: "192.0.2.50", port: 5060, transport: "UDP" }), { kind: "reject", status: 403 });
});

t.test("digest trunks: the table supplies credentials to a DigestServer and maps the user back", async (t) => {
  const trunks = parseTrunkDefinitions([
    { name: "pbx", auth: "digest", username: "pbx1", password: "pw1", optionsIntervalS: 0 },
    { name: "pbx2", auth: "digest", username: "pbx2", password: "pw2", realm: "other", optionsIntervalS: 0 },
  ]);
  const table = new TrunkTable(trunks);
  const c = table.classify({ host: "192.0.2.9", port: 5060, transport: "UDP" });
  t.equal(c.kind, "challenge");
  const candidates = c.kind === "challenge" ? c.candidates : [];
  const server = new DigestServer({
    realm: "korus.example.com",
    secret: Buffer.alloc(16, 1),
    lookup: table.digestLookup(candidates),
  });
  const invite = (): ReturnType<typeof request> =>
    request(
      OPTIONS_FROM("192.0.2.9")
        .replace(/OPTIONS/g, "INVITE")
        .replace("opt-1", "inv-9"),
    );
  const challenge = server.authenticate(invite());
  t.equal(challenge.ok, false);
  if (challenge.ok) {
    return;
  }
  const retry = invite();
  new DigestClient({ username: "pbx1", password: "pw1" }).authorize(retry, challenge.response);
  const verdict = server.authenticate(retry);
  t.equal(verdict.ok, true);
  if (verdict.ok) {
    t.equal(table.trunkForCredentials(verdict.username, verdict.realm)?.name, "pbx");
  }
  // pbx2 only authenticates in realm "other".
  const wrongRealm = invite();
  new DigestClient({ username: "pbx2", password: "pw2" }).authorize(wrongRealm, challenge.response);
  t.equal(server.authenticate(wrongRealm).ok, false);
});

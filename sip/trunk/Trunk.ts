/**
 * The trunk model: one validated, typed definition per carrier interconnect (issue 3 §6, sip-ims.md §2).
 *
 * Two trunk styles exist (sip-ims.md §2): IP-authenticated trunks, recognised by the source address of their requests
 * (`auth: ip`), and registration trunks, where Korus registers with digest credentials (`auth: register`). A third
 * mode, `auth: digest`, challenges the peer's requests (RFC 3261 §22) with the trunk's credentials; its `peers` may be
 * empty, so a PBX on a dynamic address can still reach Korus after proving the password.
 *
 * {@link parseTrunkDefinition} checks the plain object read from YAML against `TrunkSchema` (./schema.ts: keys,
 * defaults, checks), derives a {@link TrunkDefinition}, or throws a {@link TrunkConfigError} whose `path` names the
 * field.
 */

import { DIGEST_ALGORITHMS, type DigestAlgorithm } from "../auth/digest.js";
import { parseIpAddress, parseCidr, isIpAddress, type CidrRange } from "./address.js";
import { checkSchema, type RefineIssue } from "../schema.js";
import { AddressParseError, TrunkConfigError } from "./errors.js";
import { TRUNK_CODECS, TrunkSchema, type TrunkCodec, type TrunkInput } from "./schema.js";

export { TRUNK_CODECS, type TrunkCodec } from "./schema.js";

/** Transport towards the trunk (RFC 3261 §18). */
export type TrunkTransport = "udp" | "tcp" | "tls";

/** How requests from and to the trunk are authenticated. */
export type TrunkAuthMode = "ip" | "digest" | "register";

/** How DTMF travels on the trunk. */
export type DtmfMode = "rfc4733" | "inband" | "info";

/** One entry of `peers`: a single address (optionally with a port), a CIDR range, or a host name to resolve. */
export type TrunkPeer =
  | {
      readonly kind: "address";
      readonly range: CidrRange;
      /** The address without brackets. */
      readonly host: string;
      readonly port: number | undefined;
      readonly text: string;
    }
  | { readonly kind: "cidr"; readonly range: CidrRange; readonly text: string }
  | { readonly kind: "hostname"; readonly host: string; readonly port: number | undefined; readonly text: string };

/** Credentials of a digest or register trunk. */
export interface TrunkCredentials {
  readonly username: string;
  readonly password: string;
  /** Realm: for `digest`, the realm Korus challenges with; for `register`, the realm to answer (absent = any). */
  readonly realm: string | undefined;
}

/** Registration settings of a `register` trunk. */
export interface TrunkRegistration {
  /** Registrar Request-URI, e.g. `sip:registrar.carrier.example:5060`. */
  readonly registrar: string;
  /** Registrar host (no brackets) and port, for sending. */
  readonly host: string;
  readonly port: number;
  /** Requested registration lifetime in seconds (RFC 3261 §10.2.1.1). */
  readonly expires: number;
  /** Address-of-record to register; defaults to `sip:<username>@<registrar host>`. */
  readonly aor: string;
}

/** OPTIONS keepalive settings (sip-ims.md §3 "OPTIONS ... S to send"). */
export interface TrunkKeepalive {
  /** Interval between probes in ms; 0 disables probing. */
  readonly intervalMs: number;
  /** Consecutive answered probes before a down trunk is marked up. */
  readonly upAfter: number;
  /** Consecutive failed probes before an up trunk is marked down. */
  readonly downAfter: number;
}

/** A validated trunk. */
export interface TrunkDefinition {
  readonly name: string;
  readonly peers: readonly TrunkPeer[];
  readonly transport: TrunkTransport;
  readonly auth: TrunkAuthMode;
  /** Present for `digest` and `register`. */
  readonly credentials: TrunkCredentials | undefined;
  /** Present for `register`. */
  readonly registration: TrunkRegistration | undefined;
  /**
   * Algorithms a `digest` trunk's challenges offer, in order of preference (default SHA-256 then MD5, RFC 8760 §2.4).
   * Peers that answer only the first challenge and only know MD5 (SIPp 3.6, old PBXs) need `[MD5]`.
   */
  readonly digestAlgorithms: readonly DigestAlgorithm[];
  /** Allowed codecs in order of preference, spelled as in {@link TRUNK_CODECS}. */
  readonly codecs: readonly TrunkCodec[];
  readonly dtmf: DtmfMode;
  /** What SipEndpoint.hold()/resume() send: a re-INVITE, or an UPDATE when the peer allows it (default re-INVITE). */
  readonly holdMethod?: "reinvite" | "update";
  readonly keepalive: TrunkKeepalive;
  /**
   * The Kurento application (`kurento.tokens[].application`) whose sessions are told of this trunk's inbound calls
   * (SipGateway IncomingCall) and may claim them; undefined: every application.
   */
  readonly application: string | undefined;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** The spelling in `allowed` of a value the schema accepted in any case. */
function canonical<T extends string>(value: string, allowed: readonly T[]): T {
  const found = allowed.find((k) => k.toLowerCase() === value.toLowerCase());
  if (found === undefined) {
    throw new TrunkConfigError("(schema)", `"${value}" passed the schema but is not one of ${allowed.join(", ")}`);
  }
  return found;
}

function port(text: string, path: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new TrunkConfigError(path, `bad port "${text}"`);
  }
  return Number(text);
}

/**
 * Parses one `peers` entry: `203.0.113.10`, `203.0.113.10:5060`, `203.0.113.0/28`, `2001:db8::1`,
 * `[2001:db8::1]:5060`, `2001:db8::/32`, `sbc.carrier.example[:port]`.
 * @throws {TrunkConfigError} naming `path`.
 */
export function parseTrunkPeer(text: string, path: string): TrunkPeer {
  const t = text.trim();
  try {
    if (t.includes("/")) {
      return { kind: "cidr", range: parseCidr(t), text: t };
    }
    let host = t;
    let p: number | undefined;
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
    if (bracket) {
      host = bracket[1] ?? "";
      p = bracket[2] === undefined ? undefined : port(bracket[2], path);
      parseIpAddress(host);
    } else if ((t.match(/:/g) ?? []).length === 1) {
      const i = t.indexOf(":");
      host = t.slice(0, i);
      p = port(t.slice(i + 1), path);
    }
    if (isIpAddress(host)) {
      return { kind: "address", range: parseCidr(host), host, port: p, text: t };
    }
    if (/^[\d.]+$/.test(host) || !HOSTNAME.test(host)) {
      throw new TrunkConfigError(path, `"${text}" is neither an IP address, a CIDR range nor a host name`);
    }
    return { kind: "hostname", host: host.toLowerCase(), port: p, text: t };
  } catch (error) {
    if (error instanceof AddressParseError) {
      throw new TrunkConfigError(path, error.message);
    }
    throw error;
  }
}

/** Splits `sip:host[:port][;params]` into host and port (default by transport, RFC 3261 §19.1.2). */
function registrarTarget(uri: string, transport: TrunkTransport, path: string): { host: string; port: number } {
  const m = /^sips?:(?:[^@;]*@)?(\[[^\]]+\]|[^:;?]+)(?::(\d+))?(?:[;?].*)?$/i.exec(uri);
  if (!m) {
    throw new TrunkConfigError(path, `"${uri}" is not a sip: or sips: URI`);
  }
  const rawHost = m[1] ?? "";
  const host = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost.toLowerCase();
  if (rawHost.startsWith("[") ? !isIpAddress(host) : !HOSTNAME.test(host) && !isIpAddress(host)) {
    throw new TrunkConfigError(path, `bad host in "${uri}"`);
  }
  const fallback = transport === "tls" || uri.toLowerCase().startsWith("sips:") ? 5061 : 5060;
  return { host, port: m[2] === undefined ? fallback : port(m[2], path) };
}

/**
 * Validates one trunk from its YAML form against {@link TrunkSchema} (the README's trunk table is generated from it),
 * then derives the typed definition.
 * @param path where the object sits in the config file, used in error paths (e.g. `sip.trunks[0]`).
 * @throws {TrunkConfigError} naming the first invalid field.
 */
export function parseTrunkDefinition(raw: unknown, path: string): TrunkDefinition {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new TrunkConfigError(path, "must be a mapping");
  }
  const checked = checkSchema(TrunkSchema, raw, path);
  if (!checked.ok) {
    throw new TrunkConfigError(checked.issue.path, checked.issue.reason);
  }
  return deriveTrunk(checked.value, path);
}

/** The rules between keys, and the parsed forms of peers and registrar. */
function deriveTrunk(input: TrunkInput, path: string): TrunkDefinition {
  const transport = canonical(input.transport, ["udp", "tcp", "tls"] as const);
  const auth = canonical(input.auth, ["ip", "digest", "register"] as const);
  const peers = input.peers.map((p, i) => parseTrunkPeer(p, `${path}.peers[${i}]`));
  if (auth === "ip" && peers.length === 0) {
    throw new TrunkConfigError(`${path}.peers`, "an ip trunk needs at least one peer address");
  }

  let credentials: TrunkCredentials | undefined;
  if (auth !== "ip") {
    const { username, password } = input;
    if (username === undefined) {
      throw new TrunkConfigError(`${path}.username`, `is required with auth: ${auth}`);
    }
    if (password === undefined) {
      throw new TrunkConfigError(`${path}.password`, `is required with auth: ${auth}`);
    }
    credentials = { username, password, realm: input.realm };
  }

  let registration: TrunkRegistration | undefined;
  if (auth === "register") {
    const registrar = input.registrar;
    if (registrar === undefined) {
      throw new TrunkConfigError(`${path}.registrar`, "is required with auth: register");
    }
    const target = registrarTarget(registrar, transport, `${path}.registrar`);
    const hostPart = target.host.includes(":") ? `[${target.host}]` : target.host;
    const aor = input.aor ?? `sip:${credentials?.username ?? ""}@${hostPart}`;
    registration = { registrar, host: target.host, port: target.port, expires: input.registerExpires, aor };
  } else if (input.registrar !== undefined) {
    throw new TrunkConfigError(`${path}.registrar`, "only allowed with auth: register");
  }

  const digestAlgorithms = input.digestAlgorithms.map((a) => canonical(a, DIGEST_ALGORITHMS));
  const codecs = input.codecs.map((c) => canonical(c, TRUNK_CODECS));
  if (new Set(codecs).size !== codecs.length) {
    throw new TrunkConfigError(`${path}.codecs`, "lists a codec twice");
  }
  const dtmf = canonical(input.dtmf, ["rfc4733", "inband", "info"] as const);
  if (dtmf === "rfc4733" && !codecs.includes("telephone-event")) {
    throw new TrunkConfigError(`${path}.codecs`, "dtmf: rfc4733 needs telephone-event in codecs");
  }
  if (!codecs.some((c) => c !== "telephone-event" && c !== "CN")) {
    throw new TrunkConfigError(`${path}.codecs`, "needs at least one audio codec");
  }

  const keepalive: TrunkKeepalive = {
    intervalMs: input.optionsIntervalS * 1000,
    upAfter: input.optionsUpAfter,
    downAfter: input.optionsDownAfter,
  };
  const trunk: TrunkDefinition = {
    name: input.name,
    peers,
    transport,
    auth,
    credentials,
    registration,
    digestAlgorithms,
    codecs,
    dtmf,
    holdMethod: canonical(input.holdMethod, ["reinvite", "update"] as const),
    keepalive,
    application: input.application,
  };
  if (keepalive.intervalMs > 0 && keepaliveTarget(trunk) === undefined) {
    throw new TrunkConfigError(
      `${path}.optionsIntervalS`,
      "OPTIONS keepalive needs a registrar or a peer that is an address or host name, not only CIDR ranges (set 0 to disable)",
    );
  }
  return trunk;
}

/** Where a trunk's OPTIONS probes go: its registrar, else its first single-address or host-name peer. */
export function keepaliveTarget(
  trunk: TrunkDefinition,
): { host: string; port: number; transport: TrunkTransport } | undefined {
  const defaultPort = trunk.transport === "tls" ? 5061 : 5060;
  if (trunk.registration !== undefined) {
    return { host: trunk.registration.host, port: trunk.registration.port, transport: trunk.transport };
  }
  for (const peer of trunk.peers) {
    if (peer.kind === "address") {
      return { host: peer.host, port: peer.port ?? defaultPort, transport: trunk.transport };
    }
    if (peer.kind === "hostname") {
      return { host: peer.host, port: peer.port ?? defaultPort, transport: trunk.transport };
    }
  }
  return undefined;
}

/**
 * Validates the whole `sip.trunks` list: every trunk valid and names unique.
 * @throws {TrunkConfigError} naming the first invalid field.
 */
export function parseTrunkDefinitions(raw: unknown, path = "sip.trunks"): TrunkDefinition[] {
  if (raw === undefined || raw === null) {
    return [];
  }
  if (!Array.isArray(raw)) {
    throw new TrunkConfigError(path, "must be a list");
  }
  const out: TrunkDefinition[] = [];
  const names = new Set<string>();
  raw.forEach((item: unknown, i) => {
    const trunk = parseTrunkDefinition(item, `${path}[${i}]`);
    if (names.has(trunk.name)) {
      throw new TrunkConfigError(`${path}[${i}].name`, `duplicate trunk name "${trunk.name}"`);
    }
    names.add(trunk.name);
    out.push(trunk);
  });
  return out;
}

/**
 * The rule `src/config` attaches to `sip.trunks`: each trunk derives (peers, registrar, codecs…) and names are
 * unique. The issue's `at` is relative to the list (`[1].name`).
 */
export function trunkListIssue(list: readonly TrunkInput[]): RefineIssue | undefined {
  try {
    parseTrunkDefinitions(list, "");
  } catch (error) {
    if (error instanceof TrunkConfigError) {
      return { at: error.path, reason: error.message.slice(error.path.length + 2) };
    }
    throw error;
  }
  return undefined;
}

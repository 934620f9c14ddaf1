/**
 * The trunk model: one validated, typed definition per carrier interconnect (issue 3 §6, sip-ims.md §2).
 *
 * Two trunk styles exist (sip-ims.md §2): IP-authenticated trunks, recognised by the source address of their requests
 * (`auth: ip`), and registration trunks, where Korus registers with digest credentials (`auth: register`). A third
 * mode, `auth: digest`, challenges the peer's requests (RFC 3261 §22) with the trunk's credentials; its `peers` may be
 * empty, so a PBX on a dynamic address can still reach Korus after proving the password.
 *
 * {@link parseTrunkDefinition} turns the plain object read from YAML into a {@link TrunkDefinition}, or throws a
 * {@link TrunkConfigError} whose `path` names the field.
 */

import { DIGEST_ALGORITHMS, type DigestAlgorithm } from "../auth/digest.js";
import { parseIpAddress, parseCidr, isIpAddress, type CidrRange } from "./address.js";
import { AddressParseError, TrunkConfigError } from "./errors.js";

/** Transport towards the trunk (RFC 3261 §18). */
export type TrunkTransport = "udp" | "tcp" | "tls";

/** How requests from and to the trunk are authenticated. */
export type TrunkAuthMode = "ip" | "digest" | "register";

/** How DTMF travels on the trunk. */
export type DtmfMode = "rfc4733" | "inband" | "info";

/** Codec names a trunk may allow (RFC 3551 / RFC 4867 / RFC 4733 encoding names, matched case-insensitively). */
export const TRUNK_CODECS = ["PCMU", "PCMA", "G722", "G729", "AMR", "AMR-WB", "opus", "telephone-event", "CN"] as const;
export type TrunkCodec = (typeof TRUNK_CODECS)[number];

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
  readonly keepalive: TrunkKeepalive;
  /**
   * The Kurento application (`kurento.tokens[].application`) whose sessions are told of this trunk's inbound calls
   * (SipGateway IncomingCall) and may claim them; undefined: every application.
   */
  readonly application: string | undefined;
}

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const KNOWN_KEYS = new Set([
  "name",
  "peers",
  "transport",
  "auth",
  "username",
  "password",
  "realm",
  "registrar",
  "registerExpires",
  "aor",
  "digestAlgorithms",
  "codecs",
  "dtmf",
  "optionsIntervalS",
  "optionsUpAfter",
  "optionsDownAfter",
  "application",
]);

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function str(raw: Raw, key: string, path: string, fallback?: string): string {
  const v = raw[key];
  if (v === undefined && fallback !== undefined) {
    return fallback;
  }
  if (typeof v !== "string" || v.length === 0) {
    throw new TrunkConfigError(`${path}.${key}`, "must be a non-empty string");
  }
  return v;
}

function oneOf<T extends string>(raw: Raw, key: string, path: string, allowed: readonly T[], fallback: T): T {
  const v = raw[key] ?? fallback;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v.toLowerCase())) {
    throw new TrunkConfigError(`${path}.${key}`, `must be one of ${allowed.join(", ")}`);
  }
  return v.toLowerCase() as T;
}

function int(raw: Raw, key: string, path: string, fallback: number, min: number, max: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new TrunkConfigError(`${path}.${key}`, `must be an integer in ${min}..${max}`);
  }
  return v;
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
 * Validates one trunk from its YAML form (see the README's `sip.trunks` section for the keys).
 * @param path where the object sits in the config file, used in error paths (e.g. `sip.trunks[0]`).
 * @throws {TrunkConfigError} naming the first invalid field.
 */
export function parseTrunkDefinition(raw: unknown, path: string): TrunkDefinition {
  if (!isRecord(raw)) {
    throw new TrunkConfigError(path, "must be a mapping");
  }
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new TrunkConfigError(`${path}.${key}`, "unknown key");
    }
  }
  const name = str(raw, "name", path);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new TrunkConfigError(`${path}.name`, "must be 1-64 characters of letters, digits, '_', '.', '-'");
  }
  const transport = oneOf(raw, "transport", path, ["udp", "tcp", "tls"] as const, "udp");
  const auth = oneOf(raw, "auth", path, ["ip", "digest", "register"] as const, "ip");

  const rawPeers = raw["peers"] ?? [];
  if (!Array.isArray(rawPeers)) {
    throw new TrunkConfigError(`${path}.peers`, "must be a list");
  }
  const peers = rawPeers.map((p: unknown, i) => {
    if (typeof p !== "string") {
      throw new TrunkConfigError(`${path}.peers[${i}]`, "must be a string");
    }
    return parseTrunkPeer(p, `${path}.peers[${i}]`);
  });
  if (auth === "ip" && peers.length === 0) {
    throw new TrunkConfigError(`${path}.peers`, "an ip trunk needs at least one peer address");
  }

  let credentials: TrunkCredentials | undefined;
  if (auth !== "ip") {
    const realm = raw["realm"];
    if (realm !== undefined && (typeof realm !== "string" || realm.length === 0 || /["\\\r\n]/.test(realm))) {
      throw new TrunkConfigError(`${path}.realm`, "must be a non-empty string without quotes or line breaks");
    }
    credentials = { username: str(raw, "username", path), password: str(raw, "password", path), realm };
  }

  let registration: TrunkRegistration | undefined;
  if (auth === "register") {
    const registrar = str(raw, "registrar", path);
    const target = registrarTarget(registrar, transport, `${path}.registrar`);
    const expires = int(raw, "registerExpires", path, 3600, 60, 86400);
    const hostPart = target.host.includes(":") ? `[${target.host}]` : target.host;
    const aor = str(raw, "aor", path, `sip:${credentials?.username ?? ""}@${hostPart}`);
    if (!/^sips?:/i.test(aor)) {
      throw new TrunkConfigError(`${path}.aor`, "must be a sip: or sips: URI");
    }
    registration = { registrar, host: target.host, port: target.port, expires, aor };
  } else if (raw["registrar"] !== undefined) {
    throw new TrunkConfigError(`${path}.registrar`, "only allowed with auth: register");
  }

  const rawAlgorithms = raw["digestAlgorithms"] ?? ["SHA-256", "MD5"];
  if (!Array.isArray(rawAlgorithms) || rawAlgorithms.length === 0) {
    throw new TrunkConfigError(`${path}.digestAlgorithms`, "must be a non-empty list");
  }
  const digestAlgorithms = rawAlgorithms.map((a: unknown, i) => {
    const found = DIGEST_ALGORITHMS.find((k) => typeof a === "string" && k.toLowerCase() === a.toLowerCase());
    if (found === undefined) {
      throw new TrunkConfigError(`${path}.digestAlgorithms[${i}]`, `must be one of ${DIGEST_ALGORITHMS.join(", ")}`);
    }
    return found;
  });

  const rawCodecs = raw["codecs"] ?? ["PCMA", "PCMU", "telephone-event"];
  if (!Array.isArray(rawCodecs) || rawCodecs.length === 0) {
    throw new TrunkConfigError(`${path}.codecs`, "must be a non-empty list");
  }
  const codecs = rawCodecs.map((c: unknown, i) => {
    const found = TRUNK_CODECS.find((k) => typeof c === "string" && k.toLowerCase() === c.toLowerCase());
    if (found === undefined) {
      throw new TrunkConfigError(`${path}.codecs[${i}]`, `must be one of ${TRUNK_CODECS.join(", ")}`);
    }
    return found;
  });
  if (new Set(codecs).size !== codecs.length) {
    throw new TrunkConfigError(`${path}.codecs`, "lists a codec twice");
  }
  const dtmf = oneOf(raw, "dtmf", path, ["rfc4733", "inband", "info"] as const, "rfc4733");
  if (dtmf === "rfc4733" && !codecs.includes("telephone-event")) {
    throw new TrunkConfigError(`${path}.codecs`, "dtmf: rfc4733 needs telephone-event in codecs");
  }
  if (!codecs.some((c) => c !== "telephone-event" && c !== "CN")) {
    throw new TrunkConfigError(`${path}.codecs`, "needs at least one audio codec");
  }

  const keepalive: TrunkKeepalive = {
    intervalMs: int(raw, "optionsIntervalS", path, 30, 0, 3600) * 1000,
    upAfter: int(raw, "optionsUpAfter", path, 1, 1, 100),
    downAfter: int(raw, "optionsDownAfter", path, 3, 1, 100),
  };
  const trunk: TrunkDefinition = {
    name,
    peers,
    transport,
    auth,
    credentials,
    registration,
    digestAlgorithms,
    codecs,
    dtmf,
    keepalive,
    application: applicationOf(raw, path),
  };
  if (keepalive.intervalMs > 0 && keepaliveTarget(trunk) === undefined) {
    throw new TrunkConfigError(
      `${path}.optionsIntervalS`,
      "OPTIONS keepalive needs a registrar or a peer that is an address or host name, not only CIDR ranges (set 0 to disable)",
    );
  }
  return trunk;
}

function applicationOf(raw: Raw, path: string): string | undefined {
  const v = raw["application"];
  if (v === undefined) {
    return undefined;
  }
  if (typeof v !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(v)) {
    throw new TrunkConfigError(`${path}.application`, "must be an application name (1-64 of A-Z a-z 0-9 _ . -)");
  }
  return v;
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

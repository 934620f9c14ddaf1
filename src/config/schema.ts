/**
 * The configuration model, its defaults and its validation.
 *
 * Every field of config/default.yaml is described here once: its default, and a check that names the field path
 * and the reason when it fails. Validation happens at start-up; an invalid file makes the process exit non-zero.
 */

import {
  checkDialPlan,
  checkConnectionLimits,
  checkDigest,
  checkRateLimit,
  checkTls,
  checkTrunks,
  SipConfigError,
  type DialPlanRule,
  type SipConnectionLimits,
  type SipDigestConfig,
  type SipRateLimitConfig,
  type SipTlsConfig,
} from "../sip/config.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal"];

export interface KorusConfig {
  server: {
    /** Address of the HTTP/WebSocket listener. */
    host: string;
    /** HTTP/WebSocket port (KORUS_WS_PORT); 0 picks a free port. */
    port: number;
    /** Largest WebSocket frame accepted, in bytes; larger frames close the socket with 1009. */
    maxFrameBytes: number;
    /** PEM certificate and key: when both are set the listener speaks HTTPS/WSS only. */
    tlsCertFile: string;
    tlsKeyFile: string;
    /** WebSocket connections at once, over all clients; more are refused (HTTP 503). */
    maxConnections: number;
    /** WebSocket connections at once from one client address; more are refused (HTTP 429). */
    maxConnectionsPerAddress: number;
  };
  kurento: {
    /** WebSocket path of the Kurento JSON-RPC endpoint. */
    path: string;
    /** Session garbage-collection period (KMS garbageCollectorPeriod). */
    gcPeriodMs: number;
    /** Time a request to a media worker may take before it fails. */
    workerRequestTimeoutMs: number;
    /**
     * Client authentication: "none" (KMS behaviour), "tokens" (a bearer token per application), or "auto": "none"
     * when the listener is loopback-only, else "tokens" when tokens are configured, else "none" with a loud warning.
     */
    auth: KurentoAuthMode;
    /** One token per application (auth "tokens"). */
    tokens: KurentoToken[];
    /** "application": a session sees only its own application's objects and sessions; "shared": KMS behaviour. */
    isolation: "application" | "shared";
    /** Kurento sessions one WebSocket connection may create or join. */
    maxSessionsPerConnection: number;
    /** Kurento sessions that connections from one client address may hold at once. */
    maxSessionsPerAddress: number;
  };
  media: {
    /** Number of media worker threads; 0 = one per CPU core (KORUS_MEDIA_WORKERS). */
    workers: number;
    /** Time without packets before MediaFlow*StateChanged reports NOT_FLOWING. */
    flowTimeoutMs: number;
    /** Interval of the workers' load reports used for pipeline placement. */
    loadReportMs: number;
  };
  rtp: {
    /** First and last UDP port of the RTP range (KORUS_RTP_MIN / KORUS_RTP_MAX), split between workers. */
    portMin: number;
    portMax: number;
  };
  webrtc: {
    /** Local IPv4 addresses to gather ICE host candidates on; empty = all non-internal interfaces. */
    interfaces: string[];
    /** Public IPv4 announced in candidates instead of the local address (1:1 NAT), "" for none. */
    externalIPv4: string;
    /** STUN server "host:port", "" for none. */
    stunServer: string;
    /** TURN server URL (turn:host:port?transport=udp), "" for none. */
    turnServer: string;
    turnUsername: string;
    turnPassword: string;
  };
  sip: {
    /** SIP listen address, UDP and TCP. */
    host: string;
    /** SIP port for UDP and TCP (KORUS_SIP_PORT). */
    port: number;
    /** Address announced in Via and Contact; "" = `host`, or the first non-internal IPv4 when `host` is a wildcard. */
    publicHost: string;
    /** Start the SIP service at all. */
    enabled: boolean;
    tls: SipTlsConfig;
    /** Status of the stateless answer to a request from an address no trunk matches. */
    unknownSourceStatus: number;
    rateLimit: SipRateLimitConfig;
    digest: SipDigestConfig;
    /** Trunk definitions as written (validated by sip/trunk parseTrunkDefinitions). */
    trunks: unknown[];
    /** Ordered dial-plan rules for inbound calls no application claims. */
    dialplan: DialPlanRule[];
    /** Time an application has to claim an announced inbound call before the dial plan takes it. */
    claimTimeoutMs: number;
    /** Status for an inbound call that no dial-plan rule matches. */
    unmatchedStatus: number;
    /** From URI of calls Korus places when the application gives none ("" = sip:korus@<publicHost>). */
    defaultFrom: string;
    /** TCP/TLS listener limits. */
    connections: SipConnectionLimits;
    /** Event-loop lag above which new requests are answered 503 with Retry-After (admission by real capacity). */
    overloadLagMs: number;
  };
  data: {
    /** Directory for recordings, the CDR database and state (KORUS_DATA_DIR). */
    dir: string;
  };
  files: {
    /**
     * Folders that file:// media (PlayerEndpoint, dial-plan play) may be read from, after symlinks are resolved.
     * Relative entries are relative to data.dir.
     */
    mediaRoots: string[];
    /** Folder that recordings are written under (relative to data.dir unless absolute). */
    recordingsRoot: string;
  };
  httpMedia: {
    /** Host names that http(s) media may be fetched from ("example.org", or "*.example.org"); empty = any host. */
    allowHosts: string[];
    /** Private, loopback and link-local networks (CIDRs) that fetches may reach anyway; by default none. */
    allowNetworks: string[];
  };
  log: {
    /** pino level (KORUS_LOG_LEVEL). */
    level: LogLevel;
  };
  demo: {
    /** Serves the WebRTC-to-phone gateway demo at /demo/gateway. */
    enabled: boolean;
    /** Serves it to non-loopback clients too (it places SIP calls: keep false on a public HTTP port). */
    allowRemote: boolean;
  };
  admin: {
    /** Exposes /admin/workers (list, and POST …/<index>/kill for failure drills). Keep off in production. */
    enabled: boolean;
  };
  cdr: {
    /** Writes one call detail record per SIP leg and WebRTC session to `<data.dir>/cdr.sqlite`. */
    enabled: boolean;
    /** SQLite `synchronous` in WAL mode: "normal" survives a process kill, "full" also an OS crash (fsync per commit). */
    synchronous: "normal" | "full";
    /** PostgreSQL sink connection string (KORUS_CDR_POSTGRES_URL), "" for none. */
    postgresUrl: string;
    /** Table of the PostgreSQL sink (created if missing). */
    postgresTable: string;
    /** HTTP webhook sink URL (KORUS_CDR_WEBHOOK_URL), "" for none. */
    webhookUrl: string;
    /** Time one webhook POST may take before it counts as failed. */
    webhookTimeoutMs: number;
    /** First retry delay of a failed sink delivery; doubles per attempt up to retryMaxMs. */
    retryMinMs: number;
    retryMaxMs: number;
    /** Period of the batched journal write that marks open calls alive (their end time after a crash). */
    journalIntervalMs: number;
  };
  /**
   * Korus modules to load at start-up, in order (docs/modules.md): paths to a module's folder (absolute, or
   * starting with "." and relative to the working directory) or names of installed npm packages.
   */
  modules: string[];
}

export type KurentoAuthMode = "auto" | "none" | "tokens";

/** An application's credential for the Kurento endpoint. */
export interface KurentoToken {
  /** Application name ([A-Za-z0-9_.-], 1-64 characters); objects are isolated per application. */
  application: string;
  /** The bearer token (at least 16 characters). */
  token: string;
}

export const DEFAULT_CONFIG: KorusConfig = {
  server: {
    host: "0.0.0.0",
    port: 8888,
    maxFrameBytes: 1_048_576,
    tlsCertFile: "",
    tlsKeyFile: "",
    maxConnections: 2_000,
    maxConnectionsPerAddress: 200,
  },
  kurento: {
    path: "/kurento",
    gcPeriodMs: 240_000,
    workerRequestTimeoutMs: 15_000,
    auth: "auto",
    tokens: [],
    isolation: "application",
    maxSessionsPerConnection: 16,
    maxSessionsPerAddress: 1_000,
  },
  media: { workers: 0, flowTimeoutMs: 2_000, loadReportMs: 1_000 },
  rtp: { portMin: 40_000, portMax: 49_999 },
  webrtc: { interfaces: [], externalIPv4: "", stunServer: "", turnServer: "", turnUsername: "", turnPassword: "" },
  sip: {
    host: "0.0.0.0",
    port: 5060,
    publicHost: "",
    enabled: true,
    tls: { port: 0, certFile: "", keyFile: "", caFile: "", requestClientCert: false },
    unknownSourceStatus: 403,
    rateLimit: { ratePerSecond: 50, burst: 100, trunkRatePerSecond: 5000, trunkBurst: 10000 },
    digest: { realm: "korus", secret: "", nonceTtlS: 300 },
    trunks: [{ name: "local", peers: ["127.0.0.1"], transport: "udp", auth: "ip", optionsIntervalS: 0 }],
    dialplan: [
      { to: "^sips?:echo@", action: "echo" },
      { to: "^sips?:room-([A-Za-z0-9_.-]+)@", action: "room", room: "$1" },
    ],
    claimTimeoutMs: 3_000,
    unmatchedStatus: 404,
    defaultFrom: "",
    connections: {
      maxTotal: 4_096,
      maxPerSource: 64,
      idleTimeoutS: 300,
      partialMessageTimeoutMs: 10_000,
      fdReserve: 256,
    },
    overloadLagMs: 200,
  },
  data: { dir: "./data" },
  files: { mediaRoots: ["media"], recordingsRoot: "recordings" },
  httpMedia: { allowHosts: [], allowNetworks: [] },
  log: { level: "info" },
  demo: { enabled: true, allowRemote: false },
  admin: { enabled: false },
  modules: [],
  cdr: {
    enabled: true,
    synchronous: "normal",
    postgresUrl: "",
    postgresTable: "korus_cdr",
    webhookUrl: "",
    webhookTimeoutMs: 5_000,
    retryMinMs: 1_000,
    retryMaxMs: 300_000,
    journalIntervalMs: 2_000,
  },
};

/** Thrown for an invalid configuration; the message starts with the field path. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`config: ${field}: ${reason}`);
    this.field = field;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

type Check = (value: unknown, field: string) => unknown;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const int =
  (min: number, max: number): Check =>
  (v, f) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(f, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
const str =
  (allowEmpty = true): Check =>
  (v, f) => {
    if (typeof v !== "string" || (!allowEmpty && v === "")) {
      throw new ConfigError(f, `must be a ${allowEmpty ? "" : "non-empty "}string, got ${JSON.stringify(v)}`);
    }
    return v;
  };
const bool: Check = (v, f) => {
  if (typeof v !== "boolean") {
    throw new ConfigError(f, `must be true or false, got ${JSON.stringify(v)}`);
  }
  return v;
};
const oneOf =
  (values: readonly string[]): Check =>
  (v, f) => {
    if (typeof v !== "string" || !values.includes(v)) {
      throw new ConfigError(f, `must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const ipv4 =
  (allowEmpty: boolean): Check =>
  (v, f) => {
    if (typeof v !== "string" || (!(allowEmpty && v === "") && !IPV4.test(v))) {
      throw new ConfigError(f, `must be an IPv4 address${allowEmpty ? ' or ""' : ""}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
const ipv4List: Check = (v, f) => {
  if (!Array.isArray(v)) {
    throw new ConfigError(f, `must be a list of IPv4 addresses, got ${JSON.stringify(v)}`);
  }
  return v.map((x, i) => ipv4(false)(x, `${f}[${i}]`));
};
/** Runs a nested sip check, turning its SipConfigError into a ConfigError naming the same field. */
function sipCheck<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SipConfigError) {
      throw new ConfigError(err.field, err.message.slice(err.field.length + 2));
    }
    throw err;
  }
}

const path: Check = (v, f) => {
  if (typeof v !== "string" || !/^\/[A-Za-z0-9._~\-/]*$/.test(v)) {
    throw new ConfigError(f, `must be a URL path starting with "/", got ${JSON.stringify(v)}`);
  }
  return v;
};

const CIDR4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const strList =
  (each: (s: string) => boolean, what: string): Check =>
  (v, f) => {
    if (!Array.isArray(v)) {
      throw new ConfigError(f, `must be a list of ${what}, got ${JSON.stringify(v)}`);
    }
    return v.map((x: unknown, i) => {
      if (typeof x !== "string" || !each(x)) {
        throw new ConfigError(`${f}[${i}]`, `must be ${what}, got ${JSON.stringify(x)}`);
      }
      return x;
    });
  };
const HOST_PATTERN = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*$/;
const APP_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const tokens: Check = (v, f) => {
  if (!Array.isArray(v)) {
    throw new ConfigError(f, `must be a list of {application, token}, got ${JSON.stringify(v)}`);
  }
  const seen = new Set<string>();
  return v.map((raw: unknown, i): KurentoToken => {
    const g = `${f}[${i}]`;
    if (!isObj(raw)) {
      throw new ConfigError(g, "must be a mapping with application and token");
    }
    for (const k of Object.keys(raw)) {
      if (k !== "application" && k !== "token") {
        throw new ConfigError(`${g}.${k}`, "unknown key (known: application, token)");
      }
    }
    const application = raw["application"];
    const token = raw["token"];
    if (typeof application !== "string" || !APP_NAME.test(application)) {
      throw new ConfigError(`${g}.application`, "must be 1-64 characters of A-Z a-z 0-9 _ . -");
    }
    if (typeof token !== "string" || token.length < 16 || token.length > 512 || !/^[\x21-\x7e]+$/.test(token)) {
      throw new ConfigError(`${g}.token`, "must be 16-512 printable ASCII characters without spaces");
    }
    if (seen.has(token)) {
      throw new ConfigError(`${g}.token`, "is used twice: each application needs its own token");
    }
    seen.add(token);
    return { application, token };
  });
};

/** The top-level keys that are lists, not sections. */
type ListKey = "modules";

const SCHEMA: { [S in Exclude<keyof KorusConfig, ListKey>]: { [K in keyof KorusConfig[S]]: Check } } = {
  server: {
    host: str(false),
    port: int(0, 65535),
    maxFrameBytes: int(1024, 64 * 1_048_576),
    tlsCertFile: str(),
    tlsKeyFile: str(),
    maxConnections: int(1, 1_000_000),
    maxConnectionsPerAddress: int(1, 1_000_000),
  },
  kurento: {
    path,
    gcPeriodMs: int(1_000, 86_400_000),
    workerRequestTimeoutMs: int(100, 600_000),
    auth: oneOf(["auto", "none", "tokens"]),
    tokens,
    isolation: oneOf(["application", "shared"]),
    maxSessionsPerConnection: int(1, 100_000),
    maxSessionsPerAddress: int(1, 1_000_000),
  },
  media: { workers: int(0, 256), flowTimeoutMs: int(100, 600_000), loadReportMs: int(100, 60_000) },
  rtp: { portMin: int(1024, 65534), portMax: int(1025, 65535) },
  webrtc: {
    interfaces: ipv4List,
    externalIPv4: ipv4(true),
    stunServer: str(),
    turnServer: str(),
    turnUsername: str(),
    turnPassword: str(),
  },
  sip: {
    host: str(false),
    port: int(1, 65535),
    publicHost: str(),
    enabled: bool,
    tls: (v, f) => sipCheck(() => checkTls(v, f, DEFAULT_CONFIG.sip.tls)),
    unknownSourceStatus: int(400, 699),
    rateLimit: (v, f) => sipCheck(() => checkRateLimit(v, f, DEFAULT_CONFIG.sip.rateLimit)),
    digest: (v, f) => sipCheck(() => checkDigest(v, f, DEFAULT_CONFIG.sip.digest)),
    trunks: (v, f) => sipCheck(() => checkTrunks(v, f)),
    dialplan: (v, f) => sipCheck(() => checkDialPlan(v, f)),
    claimTimeoutMs: int(0, 600_000),
    unmatchedStatus: int(400, 699),
    defaultFrom: str(),
    connections: (v, f) => sipCheck(() => checkConnectionLimits(v, f, DEFAULT_CONFIG.sip.connections)),
    overloadLagMs: int(10, 60_000),
  },
  data: { dir: str(false) },
  files: {
    mediaRoots: strList((x) => x !== "" && !x.includes("\0"), "a folder path"),
    recordingsRoot: (v, f) => {
      if (typeof v !== "string" || v === "" || v.includes("\0")) {
        throw new ConfigError(f, `must be a folder path, got ${JSON.stringify(v)}`);
      }
      return v;
    },
  },
  httpMedia: {
    allowHosts: strList((x) => HOST_PATTERN.test(x), 'a host name or "*.domain"'),
    allowNetworks: strList((x) => CIDR4.test(x), "an IPv4 CIDR such as 10.0.0.0/8"),
  },
  log: { level: oneOf(LOG_LEVELS) },
  demo: { enabled: bool, allowRemote: bool },
  admin: { enabled: bool },
  cdr: {
    enabled: bool,
    synchronous: oneOf(["normal", "full"]),
    postgresUrl: str(),
    postgresTable: (v, f) => {
      if (typeof v !== "string" || !/^[a-z_][a-z0-9_]{0,62}$/.test(v)) {
        throw new ConfigError(f, `must be a lower-case SQL identifier ([a-z_][a-z0-9_]*), got ${JSON.stringify(v)}`);
      }
      return v;
    },
    webhookUrl: (v, f) => {
      if (typeof v !== "string" || !(v === "" || /^https?:\/\/[^\s]+$/.test(v))) {
        throw new ConfigError(f, `must be an http:// or https:// URL or "", got ${JSON.stringify(v)}`);
      }
      return v;
    },
    webhookTimeoutMs: int(100, 600_000),
    retryMinMs: int(10, 3_600_000),
    retryMaxMs: int(10, 86_400_000),
    journalIntervalMs: int(100, 60_000),
  },
};

/**
 * Merges `input` over the defaults and validates every field.
 * @throws ConfigError naming the first bad field (unknown keys are errors too: they are usually typos).
 */
export function validateConfig(input: unknown): KorusConfig {
  input ??= {};
  if (!isObj(input)) {
    throw new ConfigError("(root)", "must be a mapping");
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const key of Object.keys(input)) {
    if (!(key in SCHEMA) && key !== "modules") {
      throw new ConfigError(key, `unknown section (known: ${[...Object.keys(SCHEMA), "modules"].join(", ")})`);
    }
  }
  for (const [section, fields] of Object.entries(SCHEMA) as [
    Exclude<keyof KorusConfig, ListKey>,
    Record<string, Check>,
  ][]) {
    const given: unknown = input[section] ?? {};
    if (!isObj(given)) {
      throw new ConfigError(section, "must be a mapping");
    }
    for (const key of Object.keys(given)) {
      if (!(key in fields)) {
        throw new ConfigError(`${section}.${key}`, `unknown key (known: ${Object.keys(fields).join(", ")})`);
      }
    }
    const defaults = DEFAULT_CONFIG[section] as unknown as Record<string, unknown>;
    const sec: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(fields)) {
      sec[key] = check(given[key] ?? defaults[key], `${section}.${key}`);
    }
    out[section] = sec;
  }
  const cfg = out as unknown as KorusConfig;
  cfg.modules = strList((m) => m !== "", "a module path or npm package name")(
    input["modules"] ?? DEFAULT_CONFIG.modules,
    "modules",
  ) as string[];
  if (cfg.rtp.portMax - cfg.rtp.portMin < 3) {
    throw new ConfigError(
      "rtp.portMax",
      `must be at least rtp.portMin + 3 (got ${cfg.rtp.portMin}-${cfg.rtp.portMax})`,
    );
  }
  if ((cfg.server.tlsCertFile === "") !== (cfg.server.tlsKeyFile === "")) {
    throw new ConfigError("server.tlsKeyFile", "WSS needs both server.tlsCertFile and server.tlsKeyFile");
  }
  if (cfg.kurento.auth === "tokens" && cfg.kurento.tokens.length === 0) {
    throw new ConfigError("kurento.tokens", 'auth "tokens" needs at least one {application, token}');
  }
  if (cfg.cdr.retryMaxMs < cfg.cdr.retryMinMs) {
    throw new ConfigError("cdr.retryMaxMs", `must be at least cdr.retryMinMs (${cfg.cdr.retryMinMs})`);
  }
  return cfg;
}

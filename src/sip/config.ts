/**
 * The `sip` configuration section beyond host/port: TLS, admission (unknown sources, rate limit, digest), trunks and
 * the dial plan. Every check names the field and the reason (a ConfigError through the caller's `fail`), and
 * returns plain data, so `config/default.yaml` and the built-in defaults compare equal.
 */
import { parseTrunkDefinitions, TrunkConfigError } from "../../sip/trunk/index.js";

export interface SipTlsConfig {
  /** TLS listen port; 0 = no TLS listener. */
  port: number;
  certFile: string;
  keyFile: string;
  /** CA bundle to verify client certificates with ("" = none). */
  caFile: string;
  /** Ask clients for a certificate (mutual TLS; needs caFile). */
  requestClientCert: boolean;
}

export interface SipRateLimitConfig {
  /** Sustained messages per second per source address. */
  ratePerSecond: number;
  /** Messages a source may send in a burst. */
  burst: number;
  /**
   * The same for sources that match an `auth: ip` trunk (a carrier's SBC sends every call from one address: at
   * 300 calls/s that is over 1000 messages a second).
   */
  trunkRatePerSecond: number;
  trunkBurst: number;
}

/** Limits of the SIP TCP and TLS listeners (issue 9 §3): no source can exhaust file descriptors or memory. */
export interface SipConnectionLimits {
  /** Accepted TCP+TLS connections at once, over all sources (lowered further to keep a descriptor reserve). */
  maxTotal: number;
  /** Accepted connections at once from one source address. */
  maxPerSource: number;
  /** A connection with no complete message for this long is closed. */
  idleTimeoutS: number;
  /** A partial message (headers or body) must be complete within this time, or the connection is closed. */
  partialMessageTimeoutMs: number;
  /** File descriptors kept free for media sockets, files and /health (compared with the process's open-file limit). */
  fdReserve: number;
}

export interface SipDigestConfig {
  /** Realm of the challenges sent to `auth: digest` trunks. */
  realm: string;
  /** Secret that signs nonces ("" = a random one per start: nonces then do not survive a restart). */
  secret: string;
  /** Nonce lifetime in seconds. */
  nonceTtlS: number;
}

export type DialPlanAction = "echo" | "reject" | "bridge" | "room" | "play";
export const DIAL_PLAN_ACTIONS: readonly DialPlanAction[] = ["echo", "reject", "bridge", "room", "play"];

/** One ordered dial-plan rule: all given regexes must match (To URI, From URI, trunk name). */
export interface DialPlanRule {
  to?: string;
  from?: string;
  trunk?: string;
  action: DialPlanAction;
  /** reject: final status (default 603). */
  status?: number;
  /** bridge: the SIP URI to call (`$1`… from the `to` match are substituted); or `viaTrunk` + the called user. */
  uri?: string;
  /** bridge: the trunk to place the second leg on. */
  viaTrunk?: string;
  /** room: the room name (`$1`… substituted); play: the file. */
  room?: string;
  file?: string;
}

/** Raised by the checks below; the caller turns it into its own ConfigError. */
export class SipConfigError extends Error {
  override readonly name = "SipConfigError";
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.field = field;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function known(v: Record<string, unknown>, keys: readonly string[], field: string): void {
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) {
      throw new SipConfigError(`${field}.${k}`, `unknown key (known: ${keys.join(", ")})`);
    }
  }
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new SipConfigError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string") {
    throw new SipConfigError(field, `must be a string, got ${JSON.stringify(v)}`);
  }
  return v;
}

function regex(v: unknown, field: string): string {
  const s = str(v, field);
  try {
    new RegExp(s);
  } catch (err) {
    throw new SipConfigError(field, `is not a valid regular expression (${(err as Error).message})`);
  }
  return s;
}

/** Fills a nested mapping from defaults and checks each key. */
function section<T extends object>(
  v: unknown,
  defaults: T,
  field: string,
  checks: { [K in keyof T]: (value: unknown, field: string) => T[K] },
): T {
  const given = v ?? {};
  if (!isObj(given)) {
    throw new SipConfigError(field, "must be a mapping");
  }
  known(given, Object.keys(checks), field);
  const out: Record<string, unknown> = {};
  const entries: [string, (value: unknown, field: string) => unknown][] = Object.entries(checks);
  for (const [k, check] of entries) {
    out[k] = check(given[k] ?? (defaults as Record<string, unknown>)[k], `${field}.${k}`);
  }
  return out as T;
}

export function checkTls(v: unknown, field: string, defaults: SipTlsConfig): SipTlsConfig {
  const tls = section(v, defaults, field, {
    port: (x, f) => int(x, f, 0, 65535),
    certFile: str,
    keyFile: str,
    caFile: str,
    requestClientCert: (x, f) => {
      if (typeof x !== "boolean") {
        throw new SipConfigError(f, "must be true or false");
      }
      return x;
    },
  });
  if (tls.port !== 0 && (tls.certFile === "" || tls.keyFile === "")) {
    throw new SipConfigError(`${field}.certFile`, "TLS needs certFile and keyFile when tls.port is set");
  }
  return tls;
}

export function checkRateLimit(v: unknown, field: string, defaults: SipRateLimitConfig): SipRateLimitConfig {
  return section(v, defaults, field, {
    ratePerSecond: (x, f) => int(x, f, 1, 1_000_000),
    burst: (x, f) => int(x, f, 1, 10_000_000),
    trunkRatePerSecond: (x, f) => int(x, f, 1, 1_000_000),
    trunkBurst: (x, f) => int(x, f, 1, 10_000_000),
  });
}

export function checkConnectionLimits(v: unknown, field: string, defaults: SipConnectionLimits): SipConnectionLimits {
  return section(v, defaults, field, {
    maxTotal: (x, f) => int(x, f, 1, 1_000_000),
    maxPerSource: (x, f) => int(x, f, 1, 1_000_000),
    idleTimeoutS: (x, f) => int(x, f, 1, 86_400),
    partialMessageTimeoutMs: (x, f) => int(x, f, 100, 600_000),
    fdReserve: (x, f) => int(x, f, 0, 1_000_000),
  });
}

export function checkDigest(v: unknown, field: string, defaults: SipDigestConfig): SipDigestConfig {
  const d = section(v, defaults, field, {
    realm: str,
    secret: str,
    nonceTtlS: (x, f) => int(x, f, 10, 86_400),
  });
  if (d.realm === "" || /["\\\r\n]/.test(d.realm)) {
    throw new SipConfigError(`${field}.realm`, "must be non-empty, without quotes, backslashes or line breaks");
  }
  if (d.secret !== "" && Buffer.byteLength(d.secret) < 16) {
    throw new SipConfigError(`${field}.secret`, "must be empty (random per start) or at least 16 bytes");
  }
  return d;
}

/** Validates the trunk list with sip/trunk's parser; returns the raw list (kept as written). */
export function checkTrunks(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) {
    throw new SipConfigError(field, "must be a list of trunks");
  }
  try {
    parseTrunkDefinitions(v, field);
  } catch (err) {
    if (err instanceof TrunkConfigError) {
      throw new SipConfigError(err.path, err.message.slice(err.path.length + 2));
    }
    throw err;
  }
  const list: unknown[] = v;
  return list;
}

const RULE_KEYS = ["to", "from", "trunk", "action", "status", "uri", "viaTrunk", "room", "file"] as const;

export function checkDialPlan(v: unknown, field: string): DialPlanRule[] {
  if (!Array.isArray(v)) {
    throw new SipConfigError(field, "must be a list of rules");
  }
  return v.map((raw: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(raw)) {
      throw new SipConfigError(f, "must be a mapping");
    }
    known(raw, RULE_KEYS, f);
    const action = raw["action"];
    if (typeof action !== "string" || !(DIAL_PLAN_ACTIONS as readonly string[]).includes(action)) {
      throw new SipConfigError(`${f}.action`, `must be one of ${DIAL_PLAN_ACTIONS.join(", ")}`);
    }
    const rule: DialPlanRule = { action: action as DialPlanAction };
    for (const k of ["to", "from", "trunk"] as const) {
      if (raw[k] !== undefined) {
        rule[k] = regex(raw[k], `${f}.${k}`);
      }
    }
    if (raw["status"] !== undefined) {
      rule.status = int(raw["status"], `${f}.status`, 300, 699);
    }
    for (const k of ["uri", "viaTrunk", "room", "file"] as const) {
      if (raw[k] !== undefined) {
        rule[k] = str(raw[k], `${f}.${k}`);
      }
    }
    if (action === "bridge" && rule.uri === undefined && rule.viaTrunk === undefined) {
      throw new SipConfigError(`${f}.uri`, "a bridge needs uri or viaTrunk");
    }
    if (action === "room" && rule.room === undefined) {
      throw new SipConfigError(`${f}.room`, "a room rule needs a room name");
    }
    if (action === "play" && rule.file === undefined) {
      throw new SipConfigError(`${f}.file`, "a play rule needs a file");
    }
    return rule;
  });
}

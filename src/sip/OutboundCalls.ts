/**
 * Outbound calls (issue 5 §1, issue 9 defect 5): `SipEndpoint.call(uri, options)` validated, routed to its trunk,
 * recorded as a CDR leg and placed with the user agent.
 */
import type { JsonValue } from "../../media/index.js";
import {
  hasControlChar,
  isHeaderName,
  isStackOwnedHeader,
  parseUri,
  SipParseError,
  UserAgentError,
  type InviteSession,
  type UserAgent,
} from "../../sip/index.js";
import { keepaliveTarget, TrunkState, type TrunkDefinition } from "../../sip/trunk/index.js";
import { CdrDirection, HangupSide, formatPChargingVector, type LegStart } from "../cdr/index.js";
import { KurentoError } from "../kurento/errors.js";
import type { SipCdr } from "./SipCdr.js";
import type { SipLeg } from "./SipLeg.js";

/** Call options as the korus kmd CallOptions type carries them. */
interface KmdCallOptions {
  from?: string;
  displayName?: string;
  trunk?: string;
  headers?: Record<string, string>;
  ringTimeoutMs?: number;
}

/** Most extra headers one `call()` may carry, and the longest name and value (issue 9, defect 5). */
export const CALL_HEADER_LIMITS = { count: 32, nameLength: 64, valueLength: 2048 } as const;

/**
 * Validates the application text of `call(uri, options)` before any of it reaches a SIP message (issue 9, defect 5):
 * text that cannot be written into a header (a wrong type, a header name that is not a token, CR, LF, NUL or
 * another control character) is refused with MARSHALL_ERROR (40001), text that is well-formed but not allowed (a
 * header the stack owns such as Call-ID or Via, a URI carrying `?headers`, over the limits) with
 * MEDIA_OBJECT_ILLEGAL_PARAM_ERROR (40107). Each message names the parameter or header.
 * @returns the extra headers as `[name, value]` pairs.
 * @throws {KurentoError}
 */
export function validateCallText(uri: string, o: Record<string, unknown>): [string, string][] {
  const text = (name: string, v: unknown): void => {
    if (v !== undefined && typeof v !== "string") {
      throw new KurentoError("MARSHALL_ERROR", `'${name}' parameter should be a String`);
    }
    if (typeof v === "string" && hasControlChar(v)) {
      throw new KurentoError("MARSHALL_ERROR", `'${name}' holds CR, LF, NUL or another control character`);
    }
  };
  text("uri", uri);
  for (const key of ["from", "displayName", "trunk"]) {
    text(`options.${key}`, o[key]);
  }
  const from = o["from"];
  if (typeof from === "string" && from !== "") {
    let parsed;
    try {
      parsed = parseUri(from, "From");
    } catch (err) {
      throw new KurentoError(
        "MARSHALL_ERROR",
        `'options.from' is not a SIP URI: ${err instanceof SipParseError ? err.reason : String(err)}`,
      );
    }
    if (parsed.kind === "generic") {
      throw new KurentoError("MARSHALL_ERROR", "'options.from' is not a sip:, sips: or tel: URI");
    }
    if (parsed.kind === "sip" && parsed.headers.size > 0) {
      throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "'options.from' may not carry URI headers (?…)");
    }
  }
  if (/^sips?:/i.test(uri)) {
    try {
      const target = parseUri(uri, "target");
      if (target.kind === "sip" && target.headers.size > 0) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "'uri' may not carry URI headers (?…)");
      }
    } catch (err) {
      if (err instanceof KurentoError) {
        throw err;
      }
      // an unparsable target keeps its own error (UserAgentError → 40107)
    }
  }
  const raw = o["headers"];
  if (raw === undefined) {
    return [];
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new KurentoError("MARSHALL_ERROR", "'options.headers' parameter should be a String<> map");
  }
  const entries = Object.entries(raw);
  if (entries.length > CALL_HEADER_LIMITS.count) {
    throw new KurentoError(
      "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
      `'options.headers' has ${entries.length} headers; at most ${CALL_HEADER_LIMITS.count} are allowed`,
    );
  }
  const out: [string, string][] = [];
  for (const [name, value] of entries) {
    const shown = JSON.stringify(name);
    if (!isHeaderName(name) || name.length > CALL_HEADER_LIMITS.nameLength) {
      throw new KurentoError("MARSHALL_ERROR", `options.headers: header name ${shown} is not a SIP token`);
    }
    if (typeof value !== "string") {
      throw new KurentoError("MARSHALL_ERROR", `options.headers: header ${name} should be a String`);
    }
    if (hasControlChar(value)) {
      throw new KurentoError(
        "MARSHALL_ERROR",
        `options.headers: header ${name} holds CR, LF, NUL or another control character`,
      );
    }
    if (value.length > CALL_HEADER_LIMITS.valueLength) {
      throw new KurentoError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `options.headers: header ${name} is longer than ${CALL_HEADER_LIMITS.valueLength} characters`,
      );
    }
    if (isStackOwnedHeader(name)) {
      throw new KurentoError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `options.headers: header ${name} is set by Korus and cannot be given (use from/displayName for From)`,
      );
    }
    out.push([name, value]);
  }
  return out;
}

export interface OutboundCallsOptions {
  readonly ua: UserAgent;
  readonly trunks: readonly TrunkDefinition[];
  /** A trunk's reachability by OPTIONS keepalive (a down trunk fails a call at once). */
  readonly trunkState: (name: string) => TrunkState;
  /** `sip.defaultFrom` ("" = `sip:korus@<publicHost>`). */
  readonly defaultFrom: string;
  readonly publicHost: string;
  readonly cdr: SipCdr;
  /** True once the SIP service shuts down: calls are refused. */
  readonly stopping: () => boolean;
}

export class OutboundCalls {
  readonly #ua: UserAgent;
  readonly #trunks: readonly TrunkDefinition[];
  readonly #trunkState: (name: string) => TrunkState;
  readonly #defaultFrom: string;
  readonly #publicHost: string;
  readonly #cdr: SipCdr;
  readonly #stopping: () => boolean;

  constructor(options: OutboundCallsOptions) {
    this.#ua = options.ua;
    this.#trunks = options.trunks;
    this.#trunkState = options.trunkState;
    this.#defaultFrom = options.defaultFrom;
    this.#publicHost = options.publicHost;
    this.#cdr = options.cdr;
    this.#stopping = options.stopping;
  }

  /**
   * `SipEndpoint.call(uri, options)`: validates the application's text, picks the trunk, starts the CDR leg and
   * sends the INVITE; the leg follows the session from then on.
   * @throws {KurentoError} for bad text, an unknown or down trunk, a target that cannot be routed, or shutdown.
   */
  call(leg: SipLeg, uri: string, raw: JsonValue | undefined): null {
    if (leg.session !== undefined) {
      throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "this SipEndpoint already has a call");
    }
    if (this.#stopping()) {
      throw new KurentoError("NOT_ENOUGH_RESOURCES", "the SIP service is shutting down");
    }
    const given = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {};
    const headers = validateCallText(uri, given);
    const o = given as KmdCallOptions;
    let trunk: TrunkDefinition | undefined;
    if (typeof o.trunk === "string" && o.trunk !== "") {
      trunk = this.#trunks.find((t) => t.name === o.trunk);
      if (trunk === undefined) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `unknown trunk '${o.trunk}'`);
      }
    }
    const trunkDown = trunk !== undefined && this.#trunkState(trunk.name) === TrunkState.Down;
    const target = trunk === undefined ? undefined : keepaliveTarget(trunk);
    let requestUri = uri;
    if (!/^(sips?|tel):/i.test(uri)) {
      if (target === undefined) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `'${uri}' is not a SIP URI and no trunk was given`);
      }
      const host = target.host.includes(":") ? `[${target.host}]` : target.host;
      requestUri = `sip:${uri}@${host}:${target.port}`;
    }
    const from =
      typeof o.from === "string" && o.from !== ""
        ? o.from
        : this.#defaultFrom !== ""
          ? this.#defaultFrom
          : `sip:korus@${this.#publicHost}`;
    const start: LegStart = {
      direction: CdrDirection.Outbound,
      pipelineId: leg.pipelineId,
      elementId: leg.elementId,
      trunk: trunk?.name ?? null,
      from,
      to: requestUri,
      pai: headers.find(([k]) => k.toLowerCase() === "p-asserted-identity")?.[1] ?? null,
    };
    const cdrId = this.#cdr.outboundStarted(start);
    if (cdrId !== undefined && !headers.some(([k]) => k.toLowerCase() === "p-charging-vector")) {
      headers.push(["P-Charging-Vector", formatPChargingVector(this.#cdr.icid(cdrId), this.#publicHost)]);
    }
    if (trunkDown && trunk !== undefined) {
      // The OPTIONS keepalive says the peer is out of service: fail now rather than after Timer B.
      this.#cdr.ended(cdrId, {
        hangupSide: HangupSide.System,
        sipStatus: 503,
        q850Cause: 38,
        endReason: "trunk-down",
      });
      throw new KurentoError(
        "NOT_ENOUGH_RESOURCES",
        `trunk '${trunk.name}' is down (its OPTIONS keepalive fails); the call was not attempted`,
      );
    }
    let session: InviteSession;
    try {
      session = this.#ua.call(requestUri, {
        from,
        ...(typeof o.displayName === "string" && o.displayName !== "" ? { displayName: o.displayName } : {}),
        media: leg.mediaHandler(),
        headers,
        ...(typeof o.ringTimeoutMs === "number" && o.ringTimeoutMs > 0 ? { ringTimeoutMs: o.ringTimeoutMs } : {}),
        ...(target === undefined
          ? {}
          : {
              destination: { host: target.host, port: target.port, transport: target.transport.toUpperCase() as "UDP" },
            }),
        ...(trunk?.credentials === undefined
          ? {}
          : {
              credentials: {
                username: trunk.credentials.username,
                password: trunk.credentials.password,
                realm: trunk.credentials.realm,
              },
            }),
      });
    } catch (err) {
      this.#cdr.ended(cdrId, { hangupSide: HangupSide.Local, sipStatus: 400, endReason: "bad-target" });
      if (err instanceof UserAgentError) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", err.message);
      }
      throw err;
    }
    start.callId = session.callId; // the recorder keeps `start` by reference
    this.#cdr.touched(cdrId); // journaled with the next batch
    this.#cdr.follow(session, { cdrId, leg, start });
    leg.bind(session, trunk, requestUri);
    return null;
  }
}

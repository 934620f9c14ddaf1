/**
 * Maps the source of an inbound request to the trunk it belongs to (issue 3 §5 "IP-based trunk ACLs", §6 "A request
 * from an address that matches no trunk gets 403 (configurable), without creating state").
 *
 * The table is immutable and pure: {@link TrunkTable.classify} reads only its arguments and the compiled entries, so a
 * flood of requests from unknown addresses costs CPU but never memory. The most specific entry wins: the longest
 * prefix (a single address is a /32 or /128), and among equal prefixes an entry whose port matches the UDP source
 * port. Ports are only compared on UDP: TCP and TLS connections come from ephemeral ports (RFC 3261 §18.1.1).
 *
 * Transport rules: a `tls` trunk accepts only requests that arrived over TLS; a `udp` or `tcp` trunk accepts UDP and
 * TCP, because a carrier switches a large request to TCP (RFC 3261 §18.1.1) on an otherwise UDP trunk.
 *
 * Host-name peers (`sbc.carrier.example`) cannot be matched without DNS, which this pure table does not do:
 * {@link TrunkTable.hostnames} lists them and {@link TrunkTable.withResolved} returns a table with their addresses.
 */

import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import type { StoredSecret } from "../auth/DigestServer.js";
import { isIpAddress, parseCidr, parseIpAddress, type CidrRange, type IpAddress } from "./address.js";
import { AddressParseError } from "./errors.js";
import { statelessResponse } from "./stateless.js";
import type { TrunkDefinition } from "./Trunk.js";

/** Where an inbound request came from (a transport's `source`). */
export interface InboundSource {
  readonly host: string;
  readonly port: number;
  /** Via-style transport name: `UDP`, `TCP`, `TLS`… */
  readonly transport: string;
}

/** What to do with an inbound request. */
export type TrunkClassification =
  /** The source belongs to a trunk; `challenge` is true for `auth: digest` trunks (RFC 3261 §22.1). */
  | { readonly kind: "trunk"; readonly trunk: TrunkDefinition; readonly challenge: boolean }
  /** No address matched, but digest trunks accept any address once the peer proves the password. */
  | { readonly kind: "challenge"; readonly candidates: readonly TrunkDefinition[] }
  /** Nobody: answer {@link TrunkTable.rejectResponse} statelessly. */
  | { readonly kind: "reject"; readonly status: number };

/** Options of a {@link TrunkTable}. */
export interface TrunkTableOptions {
  /** Status for requests from unknown sources (default 403; 404 or 603 hide the server more). */
  readonly rejectStatus?: number;
  /** Addresses of host-name peers and registrars (name in lower case → IP literals). */
  readonly resolved?: ReadonlyMap<string, readonly string[]>;
}

interface Entry {
  readonly range: CidrRange;
  readonly port: number | undefined;
  readonly trunk: TrunkDefinition;
}

export class TrunkTable {
  readonly #trunks: readonly TrunkDefinition[];
  /** Entries grouped by prefix length, longest first; within a group keyed by masked network, in config order. */
  readonly #groups: readonly { readonly prefix128: number; readonly byNetwork: ReadonlyMap<string, Entry[]> }[];
  readonly #open: readonly TrunkDefinition[];
  readonly #rejectStatus: number;
  readonly #resolved: ReadonlyMap<string, readonly string[]>;
  readonly #byName: ReadonlyMap<string, TrunkDefinition>;

  /** @throws {RangeError} for a reject status outside 400–699; {@link AddressParseError} for a bad resolved address. */
  constructor(trunks: readonly TrunkDefinition[], options: TrunkTableOptions = {}) {
    this.#rejectStatus = options.rejectStatus ?? 403;
    if (!Number.isInteger(this.#rejectStatus) || this.#rejectStatus < 400 || this.#rejectStatus > 699) {
      throw new RangeError("trunk table: rejectStatus must be a final error status (400-699)");
    }
    this.#trunks = trunks;
    this.#resolved = options.resolved ?? new Map();
    this.#byName = new Map(trunks.map((t) => [t.name, t]));
    const entries: Entry[] = [];
    for (const trunk of trunks) {
      for (const peer of trunk.peers) {
        if (peer.kind === "hostname") {
          for (const address of this.#resolved.get(peer.host) ?? []) {
            entries.push({ range: parseCidr(parseAddressOrThrow(address)), port: peer.port, trunk });
          }
        } else {
          entries.push({ range: peer.range, port: peer.kind === "address" ? peer.port : undefined, trunk });
        }
      }
      // A registration trunk's calls come from its registrar (or the proxy behind the same address).
      const reg = trunk.registration;
      if (reg !== undefined) {
        const addresses = isIpAddress(reg.host) ? [reg.host] : (this.#resolved.get(reg.host) ?? []);
        for (const address of addresses) {
          entries.push({ range: parseCidr(parseAddressOrThrow(address)), port: undefined, trunk });
        }
      }
    }
    const groups = new Map<number, Map<string, Entry[]>>();
    for (const entry of entries) {
      const prefix = entry.range.prefix128;
      let byNetwork = groups.get(prefix);
      if (byNetwork === undefined) {
        byNetwork = new Map();
        groups.set(prefix, byNetwork);
      }
      const k = networkKey(entry.range.network, prefix);
      const list = byNetwork.get(k);
      if (list === undefined) {
        byNetwork.set(k, [entry]);
      } else {
        list.push(entry);
      }
    }
    this.#groups = [...groups].sort((x, y) => y[0] - x[0]).map(([prefix128, byNetwork]) => ({ prefix128, byNetwork }));
    this.#open = trunks.filter((t) => t.auth === "digest" && t.peers.length === 0);
  }

  /** Every trunk, in configuration order. */
  get trunks(): readonly TrunkDefinition[] {
    return this.#trunks;
  }

  /** A trunk by name. */
  get(name: string): TrunkDefinition | undefined {
    return this.#byName.get(name);
  }

  /** Host names (peers and registrars) that need DNS before they can match inbound requests. */
  hostnames(): string[] {
    const names = new Set<string>();
    for (const trunk of this.#trunks) {
      for (const peer of trunk.peers) {
        if (peer.kind === "hostname") {
          names.add(peer.host);
        }
      }
      if (trunk.registration !== undefined && !isIpAddress(trunk.registration.host)) {
        names.add(trunk.registration.host);
      }
    }
    return [...names];
  }

  /**
   * The same table with host names resolved (call again after re-resolving; the old table stays valid).
   * @throws {AddressParseError} when a resolved value is not an IP literal.
   */
  withResolved(resolved: ReadonlyMap<string, readonly string[]>): TrunkTable {
    return new TrunkTable(this.#trunks, { rejectStatus: this.#rejectStatus, resolved });
  }

  /** The most specific trunk whose peers contain the source address, or `undefined`. Never throws. */
  match(source: InboundSource): TrunkDefinition | undefined {
    let address: IpAddress;
    try {
      address = parseIpAddress(source.host);
    } catch {
      return undefined;
    }
    const transport = source.transport.toUpperCase();
    const udp = transport === "UDP";
    // Longest prefix first (one map lookup per distinct prefix length); inside it, an entry whose port matches the
    // UDP source port beats one without a port, and otherwise configuration order decides.
    for (const group of this.#groups) {
      const list = group.byNetwork.get(networkKey(address.bytes, group.prefix128));
      if (list === undefined) {
        continue;
      }
      let best: Entry | undefined;
      for (const entry of list) {
        if (!transportAllowed(entry.trunk, transport)) {
          continue;
        }
        if (entry.port !== undefined && udp) {
          if (entry.port === source.port) {
            return entry.trunk;
          }
          continue;
        }
        best ??= entry;
      }
      if (best !== undefined) {
        return best.trunk;
      }
    }
    return undefined;
  }

  /** Decides what to do with a request from `source` (pure; see the class comment). */
  classify(source: InboundSource): TrunkClassification {
    const trunk = this.match(source);
    if (trunk !== undefined) {
      return { kind: "trunk", trunk, challenge: trunk.auth === "digest" };
    }
    const transport = source.transport.toUpperCase();
    const candidates = this.#open.filter((t) => transportAllowed(t, transport));
    if (candidates.length > 0) {
      return { kind: "challenge", candidates };
    }
    return { kind: "reject", status: this.#rejectStatus };
  }

  /** The stateless rejection for a request from an unknown source (`undefined` for ACK, which is never answered). */
  rejectResponse(request: SipRequest, status = this.#rejectStatus): SipResponse | undefined {
    return statelessResponse(request, status);
  }

  /**
   * Credential lookup for a {@link DigestServer} guarding digest trunks: the peer authenticates with the trunk's
   * `username`/`password` (and `realm`, when the trunk names one). Restrict to `candidates` when given.
   */
  digestLookup(
    candidates: readonly TrunkDefinition[] = this.#trunks,
  ): (username: string, realm: string) => StoredSecret | undefined {
    return (username, realm) => {
      const trunk = this.trunkForCredentials(username, realm, candidates);
      return trunk?.credentials === undefined ? undefined : { password: trunk.credentials.password };
    };
  }

  /** The digest trunk a verified username belongs to. */
  trunkForCredentials(
    username: string,
    realm: string,
    candidates: readonly TrunkDefinition[] = this.#trunks,
  ): TrunkDefinition | undefined {
    return candidates.find(
      (t) =>
        t.auth === "digest" &&
        t.credentials?.username === username &&
        (t.credentials.realm === undefined || t.credentials.realm === realm),
    );
  }
}

/** The first `prefix128` bits of a 16-octet address as hex (the host bits masked off). */
function networkKey(bytes: Uint8Array, prefix128: number): string {
  const full = prefix128 >> 3;
  let out = "";
  for (let i = 0; i < full; i++) {
    out += (bytes[i] ?? 0).toString(16).padStart(2, "0");
  }
  const rest = prefix128 & 7;
  if (rest > 0) {
    out += ((bytes[full] ?? 0) & ((0xff << (8 - rest)) & 0xff)).toString(16).padStart(2, "0");
  }
  return out;
}

function transportAllowed(trunk: TrunkDefinition, transport: string): boolean {
  return trunk.transport === "tls" ? transport === "TLS" : transport === "UDP" || transport === "TCP";
}

function parseAddressOrThrow(address: string): string {
  if (!isIpAddress(address)) {
    throw new AddressParseError(address, "resolved value is not an IP address");
  }
  return address.replace(/^\[|\]$/g, "");
}

/**
 * IP addresses and CIDR ranges for trunk ACLs, without `node:net` (architecture.md §4 keeps sockets in
 * `sip/transport/`). Every address becomes 16 octets: IPv4 is mapped into `::ffff:0:0/96` (RFC 4291 §2.5.5.2), so a
 * dual-stack socket's `::ffff:203.0.113.10` and a configured `203.0.113.10` are the same address, and one matcher
 * serves both families.
 * @see https://www.rfc-editor.org/rfc/rfc4291#section-2.2
 * @see https://www.rfc-editor.org/rfc/rfc4632#section-3.1
 */

import { AddressParseError } from "./errors.js";

/** An address as 16 octets plus its family. */
export interface IpAddress {
  readonly bytes: Uint8Array;
  /** 4 when the address is IPv4 (or IPv4-mapped IPv6). */
  readonly family: 4 | 6;
}

/** A CIDR range: the masked network and its prefix length counted on the 128-bit form. */
export interface CidrRange {
  readonly network: Uint8Array;
  /** Prefix length over 128 bits (an IPv4 /24 is 120). */
  readonly prefix128: number;
  /** As written (for logs). */
  readonly text: string;
}

function parseIpv4Into(text: string, out: Uint8Array, at: number): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) {
    return false;
  }
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    // Decimal only, no leading zeros (which some stacks read as octal).
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) {
      return false;
    }
    out[at + i] = Number(p);
  }
  return true;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const halves = text.split("::");
  if (halves.length > 2) {
    return undefined;
  }
  const groups = (s: string): string[] => (s.length === 0 ? [] : s.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  // A trailing dotted quad takes two groups (RFC 4291 §2.2 form 3).
  const last = halves.length === 2 ? tail : head;
  let v4: Uint8Array | undefined;
  if (last.length > 0 && (last[last.length - 1] ?? "").includes(".")) {
    v4 = new Uint8Array(4);
    if (!parseIpv4Into(last.pop() ?? "", v4, 0)) {
      return undefined;
    }
  }
  const words = head.length + tail.length + (v4 ? 2 : 0);
  if ((halves.length === 1 && words !== 8) || (halves.length === 2 && words > 7)) {
    return undefined;
  }
  const put = (list: string[], start: number): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i] ?? "";
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) {
        return false;
      }
      const n = Number.parseInt(g, 16);
      out[start + 2 * i] = n >> 8;
      out[start + 2 * i + 1] = n & 0xff;
    }
    return true;
  };
  if (!put(head, 0)) {
    return undefined;
  }
  const tailWords = tail.length + (v4 ? 2 : 0);
  if (!put(tail, 16 - 2 * tailWords)) {
    return undefined;
  }
  if (v4) {
    out.set(v4, 12);
  }
  return out;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function isV4Mapped(b: Uint8Array): boolean {
  return V4_MAPPED_PREFIX.every((v, i) => b[i] === v);
}

/**
 * Parses an IPv4 or IPv6 address (brackets and a `%zone` suffix are accepted and ignored).
 * @throws {AddressParseError} when it is not an IP literal.
 */
export function parseIpAddress(input: string): IpAddress {
  let text = input.trim();
  if (text.startsWith("[") && text.endsWith("]")) {
    text = text.slice(1, -1);
  }
  const zone = text.indexOf("%");
  if (zone >= 0) {
    text = text.slice(0, zone);
  }
  if (!text.includes(":")) {
    const bytes = new Uint8Array(16);
    bytes.set(V4_MAPPED_PREFIX, 0);
    if (!parseIpv4Into(text, bytes, 12)) {
      throw new AddressParseError(input, "not an IPv4 address");
    }
    return { bytes, family: 4 };
  }
  const bytes = parseIpv6(text);
  if (bytes === undefined) {
    throw new AddressParseError(input, "not an IPv6 address");
  }
  return { bytes, family: isV4Mapped(bytes) ? 4 : 6 };
}

/** True when `input` is an IPv4 or IPv6 literal. */
export function isIpAddress(input: string): boolean {
  try {
    parseIpAddress(input);
    return true;
  } catch {
    return false;
  }
}

/** The canonical text form (dotted quad for IPv4 and IPv4-mapped; lower-case uncompressed-groups IPv6). */
export function formatIpAddress(address: IpAddress): string {
  const b = address.bytes;
  if (address.family === 4) {
    return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    words.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  }
  return words.join(":");
}

/**
 * Parses `a.b.c.d/n` or `x:y::/n` (a bare address is a /32 or /128). Host bits must be zero, as in RFC 4632 §3.1
 * notation; `10.0.0.1/8` is refused so a typo cannot silently widen an ACL.
 * @throws {AddressParseError} on bad syntax, prefix or host bits.
 */
export function parseCidr(input: string): CidrRange {
  const slash = input.indexOf("/");
  const addressText = slash < 0 ? input : input.slice(0, slash);
  const address = parseIpAddress(addressText);
  const max = address.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = input.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
      throw new AddressParseError(input, `prefix length must be 0-${max}`);
    }
    prefix = Number(p);
  }
  const prefix128 = address.family === 4 ? prefix + 96 : prefix;
  const network = address.bytes.slice();
  for (let bit = prefix128; bit < 128; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((network[byte] ?? 0) & mask) !== 0) {
      throw new AddressParseError(input, "host bits set beyond the prefix");
    }
  }
  return { network, prefix128, text: input };
}

/** True when `address` lies in `range`. */
export function cidrContains(range: CidrRange, address: IpAddress): boolean {
  const full = range.prefix128 >> 3;
  for (let i = 0; i < full; i++) {
    if (range.network[i] !== address.bytes[i]) {
      return false;
    }
  }
  const rest = range.prefix128 & 7;
  if (rest === 0) {
    return true;
  }
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((range.network[full] ?? 0) & mask) === ((address.bytes[full] ?? 0) & mask);
}

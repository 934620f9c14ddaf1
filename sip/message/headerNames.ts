/**
 * Header names: compact forms and canonical spellings.
 *
 * "Header field names are case-insensitive" and have compact forms (RFC 3261 §7.3.1, §7.3.3, §20). The stack keys
 * every header by its lower-case long name; messages keep the spelling they arrived with for forwarding.
 * Compact forms come from the IANA SIP parameters registry (RFC 3261 plus RFC 3265, 3515, 3841, 3892, 4028, 4474).
 * @see https://www.iana.org/assignments/sip-parameters/sip-parameters.xhtml#sip-parameters-2
 */

/** Compact form → lower-case long name. */
const COMPACT: Readonly<Record<string, string>> = {
  a: "accept-contact",
  b: "referred-by",
  c: "content-type",
  d: "request-disposition",
  e: "content-encoding",
  f: "from",
  i: "call-id",
  j: "reject-contact",
  k: "supported",
  l: "content-length",
  m: "contact",
  n: "identity-info",
  o: "event",
  r: "refer-to",
  s: "subject",
  t: "to",
  u: "allow-events",
  v: "via",
  x: "session-expires",
  y: "identity",
};

/** Lower-case long name → the spelling RFC 3261 uses, for headers the stack creates. */
const CANONICAL: Readonly<Record<string, string>> = {
  "call-id": "Call-ID",
  cseq: "CSeq",
  "www-authenticate": "WWW-Authenticate",
  "mime-version": "MIME-Version",
  "p-asserted-identity": "P-Asserted-Identity",
  "p-preferred-identity": "P-Preferred-Identity",
  "p-charging-vector": "P-Charging-Vector",
  rack: "RAck",
  rseq: "RSeq",
  "session-expires": "Session-Expires",
  "min-se": "Min-SE",
};

/**
 * The lookup key of a header name: lower case, compact form expanded.
 * The fast path avoids allocations for names that are already lower-case long names.
 */
// Called once per header line by the parser, so it must stay allocation-light: one toLowerCase and a table lookup.
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) {
    return COMPACT[lower] ?? lower;
  }
  return lower;
}

/** The canonical spelling of a header name (`call-id` → `Call-ID`, `x-foo` → `X-Foo`). */
export function canonicalHeaderName(name: string): string {
  const key = headerKey(name);
  return CANONICAL[key] ?? key.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
}

/**
 * Headers whose grammar is a comma-separated list (`#element` in RFC 3261 §7.3.1), so several lines and several
 * comma-joined values are equivalent. Other headers (Date, WWW-Authenticate, unknown extensions) are never split on
 * commas: RFC 4475 §3.1.1.1 keeps `;;,,;;,;` as one opaque value.
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  "via",
  "contact",
  "route",
  "record-route",
  "accept",
  "accept-encoding",
  "accept-language",
  "allow",
  "allow-events",
  "supported",
  "require",
  "proxy-require",
  "unsupported",
  "content-encoding",
  "content-language",
  "in-reply-to",
  "p-asserted-identity",
  "p-preferred-identity",
  "path",
  "service-route",
  "history-info",
  "diversion",
  "reason",
  "security-client",
  "security-server",
  "security-verify",
]);

/** Headers that may appear once only (RFC 3261 §7.3.1 and Table 2/3 of §20). */
export const SINGLE_HEADERS: ReadonlySet<string> = new Set([
  "call-id",
  "cseq",
  "from",
  "to",
  "max-forwards",
  "content-length",
  "content-type",
  "expires",
  "date",
  "min-expires",
]);

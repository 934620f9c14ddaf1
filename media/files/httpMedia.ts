/**
 * http(s) media fetched by Korus itself, never by ffmpeg (issue 9, no SSRF). ffmpeg would resolve names and follow
 * redirects on its own, past any check made on the URL; here every hop is checked and the body is streamed into
 * ffmpeg's stdin (ffmpeg then only gets `pipe:0`).
 *
 * - Schemes: `http:` and `https:` only; anything else (ftp, gopher, data:, concat:, subfile:…) is refused.
 * - Host allow-list (`httpMedia.allowHosts`): empty = any host; `example.org` matches that name only,
 *   `*.example.org` any name below it (not `example.org` itself). An IP-literal URL must be listed as it is.
 * - Addresses: the name is resolved by Korus (a custom `lookup` on the request, so the connection goes to a checked
 *   address); private, loopback, link-local, CGNAT, multicast, reserved and unspecified addresses, IPv4 and IPv6
 *   (including IPv4-mapped `::ffff:127.0.0.1`), are refused unless inside `httpMedia.allowNetworks`. Addresses of a
 *   name that are refused are dropped; a name with no acceptable address is refused.
 * - Redirects (301, 302, 303, 307, 308) are followed by Korus, at most {@link HTTP_LIMITS}.maxRedirects, each hop
 *   checked as above before any connection is made.
 * - Limits: response headers within `headersTimeoutMs`; at most `maxBytes` of body; no data for `idleTimeoutMs`
 *   while the reader wants more ends the download.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP } from "node:net";
import type { Writable } from "node:stream";

/** What http(s) media may reach (config `httpMedia`). */
export interface HttpMediaPolicy {
  allowHosts: readonly string[];
  allowNetworks: readonly string[];
}

export interface HttpLimits {
  maxRedirects: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxBytes: number;
}

export const HTTP_LIMITS: HttpLimits = {
  maxRedirects: 5,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxBytes: 100 * 1024 * 1024,
};

/** A URL the policy refuses (scheme, host, address, redirect target). */
export class HttpMediaRefusedError extends Error {
  override readonly name = "HttpMediaRefusedError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A fetch that failed: HTTP status, network error, limit. `status` is the HTTP status when there was one. */
export class HttpMediaError extends Error {
  override readonly name = "HttpMediaError";
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

const BLOCKED_V4: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];
const BLOCKED_V6: [string, number][] = [
  ["::", 96], // unspecified, loopback ::1 and IPv4-compatible ::a.b.c.d
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
];
/** Refused by default; BlockList also matches IPv4-mapped IPv6 (::ffff:a.b.c.d) against the IPv4 rules. */
const BLOCKED = new BlockList();
for (const [a, p] of BLOCKED_V4) {
  BLOCKED.addSubnet(a, p, "ipv4");
}
for (const [a, p] of BLOCKED_V6) {
  BLOCKED.addSubnet(a, p, "ipv6");
}

/** A policy compiled once per worker. */
export class CompiledHttpPolicy {
  readonly #hosts: readonly string[];
  readonly #allowed = new BlockList();

  constructor(policy: HttpMediaPolicy) {
    this.#hosts = policy.allowHosts.map((h) => h.toLowerCase());
    for (const cidr of policy.allowNetworks) {
      const [addr = "", bits = "32"] = cidr.split("/");
      this.#allowed.addSubnet(addr, Number(bits), isIP(addr) === 6 ? "ipv6" : "ipv4");
    }
  }

  /** Why `address` may not be reached, or undefined when it may. */
  addressRefusal(address: string): string | undefined {
    const family = isIP(address);
    if (family === 0) {
      return `'${address}' is not an IP address`;
    }
    const type = family === 6 ? "ipv6" : "ipv4";
    if (BLOCKED.check(address, type) && !this.#allowed.check(address, type)) {
      return `${address} is a private, loopback, link-local or reserved address (httpMedia.allowNetworks)`;
    }
    return undefined;
  }

  /** Why `host` (URL hostname, lower case, IPv6 without brackets) is not allowed, or undefined. */
  hostRefusal(host: string): string | undefined {
    if (this.#hosts.length === 0) {
      return undefined;
    }
    for (const h of this.#hosts) {
      if (h.startsWith("*.") ? host.endsWith(h.slice(1)) && host.length > h.length - 1 : host === h) {
        return undefined;
      }
    }
    return `host '${host}' is not in httpMedia.allowHosts`;
  }

  /**
   * Checks a URL before any connection: scheme, host allow-list, and an IP-literal host's address.
   * @throws HttpMediaRefusedError
   */
  check(url: URL): void {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new HttpMediaRefusedError(`scheme '${url.protocol}' is not allowed for http media`);
    }
    const host = hostOf(url);
    const refusal = this.hostRefusal(host) ?? (isIP(host) === 0 ? undefined : this.addressRefusal(host));
    if (refusal !== undefined) {
      throw new HttpMediaRefusedError(`refused ${url.origin}: ${refusal}`);
    }
  }

  /** A `lookup` for http.request that only ever yields addresses the policy accepts. */
  readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) {
        callback(err, []);
        return;
      }
      const ok = addresses.filter((a) => this.addressRefusal(a.address) === undefined);
      const first = ok[0];
      if (first === undefined) {
        const list = addresses.map((a) => a.address).join(", ");
        callback(
          new HttpMediaRefusedError(`refused '${hostname}': it resolves only to refused addresses (${list})`),
          [],
        );
        return;
      }
      if (options.all === true) {
        callback(null, ok);
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}

function hostOf(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** An http(s) response body (status 200) ready to be streamed into a sink. */
export class HttpBody {
  readonly #res: IncomingMessage;
  readonly #limits: HttpLimits;
  /** The URL the body came from, after redirects. */
  readonly url: string;
  #closed = false;
  #idle: NodeJS.Timeout | undefined;

  constructor(res: IncomingMessage, url: string, limits: HttpLimits) {
    this.#res = res;
    this.url = url;
    this.#limits = limits;
  }

  /**
   * Streams the body into `sink` with back-pressure and ends it; `done` is called once, with a message when the
   * download failed (network error, more than maxBytes, no data for idleTimeoutMs while the sink wanted more).
   */
  pipeInto(sink: Writable, done: (error: string | undefined) => void): void {
    let bytes = 0;
    let finished = false;
    const finish = (error: string | undefined): void => {
      if (finished) {
        return;
      }
      finished = true;
      clearTimeout(this.#idle);
      if (error === undefined) {
        sink.end();
      } else {
        this.close();
      }
      done(error);
    };
    const arm = (): void => {
      clearTimeout(this.#idle);
      this.#idle = setTimeout(
        () => finish(`no data from ${this.url} for ${this.#limits.idleTimeoutMs} ms`),
        this.#limits.idleTimeoutMs,
      );
      this.#idle.unref();
    };
    sink.on("error", () => this.close()); // ffmpeg gone (EPIPE): it reports its own end
    sink.on("drain", () => {
      if (!this.#closed) {
        arm();
        this.#res.resume();
      }
    });
    this.#res.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > this.#limits.maxBytes) {
        finish(`${this.url} is larger than ${this.#limits.maxBytes} bytes`);
        return;
      }
      if (sink.write(chunk)) {
        arm();
      } else {
        clearTimeout(this.#idle); // the reader is full: not a stall of the server
        this.#res.pause();
      }
    });
    this.#res.on("end", () => finish(undefined));
    this.#res.on("error", (err) => finish(`download of ${this.url} failed: ${err.message}`));
    this.#res.on("aborted", () => finish(`download of ${this.url} was cut off`));
    arm();
  }

  /** Ends the download (idempotent). */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#res.destroy();
  }
}

/**
 * Fetches an http(s) media URL under `policy`, following redirects itself (each hop checked).
 * @throws (rejects) HttpMediaRefusedError when the policy refuses a hop; HttpMediaError for a failed fetch.
 */
export async function openHttpMedia(
  uri: string,
  policy: CompiledHttpPolicy,
  signal: AbortSignal,
  limits: HttpLimits = HTTP_LIMITS,
): Promise<HttpBody> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new HttpMediaRefusedError(`'${uri}' is not a URL`);
  }
  for (let hop = 0; ; hop++) {
    policy.check(url);
    const res = await get(url, policy, signal, limits);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      res.destroy();
      const location = res.headers.location;
      if (location === undefined) {
        throw new HttpMediaError(`HTTP ${status} from ${url.href} without a Location`, status);
      }
      if (hop >= limits.maxRedirects) {
        throw new HttpMediaError(`more than ${limits.maxRedirects} redirects from '${uri}'`, status);
      }
      try {
        url = new URL(location, url);
      } catch {
        throw new HttpMediaRefusedError(`redirect to '${location}' is not a URL`);
      }
      continue;
    }
    if (status !== 200) {
      res.destroy();
      throw new HttpMediaError(`HTTP ${status} from ${url.href}`, status);
    }
    const length = Number(res.headers["content-length"] ?? "0");
    if (length > limits.maxBytes) {
      res.destroy();
      throw new HttpMediaError(`${url.href} is larger than ${limits.maxBytes} bytes`);
    }
    return new HttpBody(res, url.href, limits);
  }
}

/** One GET, resolved with the response headers (body not read). */
function get(url: URL, policy: CompiledHttpPolicy, signal: AbortSignal, limits: HttpLimits): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
      method: "GET",
      agent: false,
      lookup: policy.lookup,
      signal,
      headers: { "user-agent": "Korus", accept: "*/*" },
    });
    const timer = setTimeout(() => {
      req.destroy(new HttpMediaError(`no response from ${url.origin} within ${limits.headersTimeoutMs} ms`));
    }, limits.headersTimeoutMs);
    timer.unref();
    req.on("response", (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(
        err instanceof HttpMediaRefusedError || err instanceof HttpMediaError
          ? err
          : new HttpMediaError(`cannot fetch ${url.href}: ${err.message}`),
      );
    });
    req.end();
  });
}

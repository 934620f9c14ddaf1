/**
 * One normalised request path for routing and for the guards in front of the routes (issue 9, defect 11: the demo
 * guard tested the raw URL, so `/x/../demo/gateway`, `/./demo/gateway` or an absolute-form URL reached the demo).
 *
 * `normaliseRequestUrl` turns a request target into `path + search` with `.` and `..` segments resolved (also
 * percent-encoded ones, as WHATWG URL parsing does), backslashes read as slashes and runs of slashes collapsed; an
 * absolute-form target (`http://host/demo/gateway`) keeps its path and query. Anything else is refused (null → 400).
 */
const BASE = "http://korus.invalid";

export function normaliseRequestUrl(raw: string): string | null {
  let target = raw;
  if (!target.startsWith("/")) {
    // Absolute-form (RFC 9112 §3.2.2): only http(s) URLs; the path part is what gets routed.
    if (!/^https?:\/\//i.test(target)) {
      return null;
    }
    try {
      const u = new URL(target);
      target = u.pathname + u.search;
    } catch {
      return null;
    }
  }
  const q = target.indexOf("?");
  const rawPath = (q < 0 ? target : target.slice(0, q)).replace(/[\\/]+/g, "/");
  const search = q < 0 ? "" : target.slice(q);
  let path: string;
  try {
    // Collapsed first, so `//demo` cannot be read as a host name by the URL parser.
    path = new URL(rawPath, BASE).pathname.replace(/\/{2,}/g, "/");
  } catch {
    return null;
  }
  return path + search;
}

/** The path part of a normalised request URL. */
export function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** Scrapes a running server's `/metrics` (with its bearer token) and parses the exposition (prometheus.ts). */
import { parseExposition, type Exposition } from "./prometheus.js";

export async function scrapeMetrics(httpUrl: string, token: string): Promise<Exposition> {
  const res = await fetch(`${httpUrl}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`/metrics answered ${res.status}: ${text}`);
  }
  return parseExposition(text);
}

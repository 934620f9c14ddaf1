/**
 * The no-candidates fallback (issue 16 §3): with `webrtc.interfaces` empty, ICE gathers on every non-internal IPv4
 * interface. On a host or in a network namespace that has only loopback there is none, so a WebRtcEndpoint would
 * offer no candidate and silently never connect. Then Korus uses loopback instead, and says so once at start-up.
 */
import os from "node:os";

type Interfaces = ReturnType<typeof os.networkInterfaces>;

/** True when some interface has an IPv4 address that other hosts can reach (not internal, not link-local). */
export function hasUsableIPv4(interfaces: Interfaces = os.networkInterfaces()): boolean {
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.family === "IPv4" && !a.internal && !a.address.startsWith("169.254.")) {
        return true;
      }
    }
  }
  return false;
}

export interface FallbackLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export const NO_INTERFACE_WARNING =
  "no usable network interface for ICE and SDP (only loopback): falling back to 127.0.0.1, so only this host can " +
  "reach the media; set webrtc.interfaces (and webrtc.externalIPv4 behind NAT) to announce another address";

/**
 * The WebRTC settings the workers get: `webrtc` itself, or with `interfaces: ["127.0.0.1"]` (and a warning) when it
 * names none and the host has no usable IPv4 interface.
 */
export function withLoopbackFallback<W extends { interfaces: string[] }>(
  webrtc: W,
  logger: FallbackLogger,
  interfaces: Interfaces = os.networkInterfaces(),
): W {
  if (webrtc.interfaces.length > 0 || hasUsableIPv4(interfaces)) {
    return webrtc;
  }
  logger.warn({ interfaces: Object.keys(interfaces), fallback: "127.0.0.1" }, NO_INTERFACE_WARNING);
  return { ...webrtc, interfaces: ["127.0.0.1"] };
}

/**
 * The one way the tests start headless Chromium (playwright-core, Debian's /usr/bin/chromium): the same flags for
 * every browser test, a fresh profile directory that is removed when the browser closes, and bounded timeouts.
 *
 * The flags: no sandbox, GPU, background networking, component updates, first-run UI, sync or QUIC (a container
 * with no internet); a fake camera and microphone granted without a prompt (optionally a WAV file as the
 * microphone); autoplay without a gesture; and ICE on 127.0.0.1 (loopback candidates gathered, host addresses shown
 * instead of mDNS names, the default IP handling policy).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** True when the browser the tests use is installed. */
export const hasChromium = (): boolean => existsSync(CHROMIUM);

/** How long Chromium may take to start. */
export const LAUNCH_TIMEOUT_MS = 60_000;
/** The default bound of every page action and wait that names none (playwright's own default). */
export const ACTION_TIMEOUT_MS = 30_000;

export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--disable-quic",
  // ICE on 127.0.0.1: gather loopback candidates, and show host addresses instead of mDNS names.
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--force-webrtc-ip-handling-policy=default",
  "--autoplay-policy=no-user-gesture-required",
];

export interface ChromiumOptions {
  /** A WAV file the fake microphone plays (in a loop) instead of its beep. */
  fakeAudioFile?: string;
  viewport?: { width: number; height: number };
  launchTimeoutMs?: number;
}

export interface Chromium {
  context: BrowserContext;
  /** The context's first page (a persistent context opens with one), then new ones. */
  newPage(): Promise<Page>;
  /** Closes the browser and removes its profile directory; safe to call twice. */
  close(): Promise<void>;
}

export async function launchChromium(opts: ChromiumOptions = {}): Promise<Chromium> {
  const profile = mkdtempSync(path.join(os.tmpdir(), "korus-chromium-profile-"));
  const args = [...CHROMIUM_ARGS];
  if (opts.fakeAudioFile !== undefined) {
    args.push(`--use-file-for-fake-audio-capture=${opts.fakeAudioFile}`);
  }
  let context: BrowserContext;
  try {
    // launchPersistentContext is how playwright takes --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      timeout: opts.launchTimeoutMs ?? LAUNCH_TIMEOUT_MS,
      args,
      ...(opts.viewport === undefined ? {} : { viewport: opts.viewport }),
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  let first: Page | undefined = context.pages()[0];
  let closed: Promise<void> | undefined;
  return {
    context,
    async newPage() {
      const page = first ?? (await context.newPage());
      first = undefined;
      return page;
    },
    close() {
      closed ??= context
        .close()
        .catch(() => undefined)
        .finally(() => rmSync(profile, { recursive: true, force: true }));
      return closed;
    },
  };
}

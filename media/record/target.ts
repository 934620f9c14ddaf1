/**
 * Where a recording goes (issue 11 §1): the RecorderEndpoint's `uri` checked and turned into a local file to write.
 *
 * - `file://` URIs and plain paths, as KMS takes them: `file:///abs/path.webm` (absolute, must lie inside the
 *   recordings root), `file://dir/name.webm` and `file:name.webm` (relative to the root), `dir/name.webm`. Missing
 *   folders under the root are created (media/files/confine.ts, each existing component checked).
 * - `http://` and `https://`: an upload (docs/recording.md). The recorder writes a spool file `<root>/.spool/<id>.<ext>`
 *   and the main process uploads it once it is complete. The URL is checked against the http media policy
 *   (media/files/httpMedia.ts): no private, loopback or link-local address unless allowed, host allow-list; the
 *   name is resolved once here so a URL that can never be reached is refused on `create`.
 * - Refused with {@link RecordingUriError} (Kurento MEDIA_OBJECT_ILLEGAL_PARAM_ERROR, src/kurento/errors.ts): other
 *   schemes, a `..` segment (also percent-encoded), NUL and control characters, over-long URIs, names or paths, an
 *   absolute path outside the root, a symlink on the way that leads out of the root, a symlink at the file name,
 *   and Korus's own folders under the root (`.journal`, `.spool`). The message says what is wrong; paths outside the
 *   root are not echoed.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, realpath } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { confinedWritePath, MediaFileNotFoundError } from "../files/confine.js";
import { CompiledHttpPolicy, HttpMediaRefusedError } from "../files/httpMedia.js";

/** Folders under the recordings root that belong to Korus (journal entries, upload spool). */
export const JOURNAL_DIR = ".journal";
export const SPOOL_DIR = ".spool";

/** Longest URI, file name component and path accepted (Linux NAME_MAX / PATH_MAX). */
export const URI_LIMITS = { maxUriChars: 4096, maxNameBytes: 255, maxPathBytes: 4095 } as const;

export type RecordingTarget =
  { kind: "file"; path: string } | { kind: "upload"; path: string /* spool file under the root */; uri: string };

export interface RecordingAccess {
  recordingsRoot: string;
  /** The http(s) policy (config httpMedia); default: any host, no private/loopback/link-local address. */
  http?: CompiledHttpPolicy;
}

/** A recording URI Korus refuses; mapped once to MEDIA_OBJECT_ILLEGAL_PARAM_ERROR (src/kurento/errors.ts). */
export class RecordingUriError extends Error {
  override readonly name = "RecordingUriError";
  readonly kurentoType = "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

const DEFAULT_POLICY = new CompiledHttpPolicy({ allowHosts: [], allowNetworks: [] });
/** True when `s` holds a NUL or another control character (C0, DEL, C1). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      return true;
    }
  }
  return false;
}
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Checks a recording URI and returns the local file to write (`profileExt`: the profile's file extension, with or
 * without the dot, used for a spool file).
 * @throws RecordingUriError for a URI Korus will not record to.
 */
export async function resolveRecordingTarget(
  uri: string,
  access: RecordingAccess,
  profileExt: string,
): Promise<RecordingTarget> {
  if (typeof uri !== "string" || uri === "") {
    throw new RecordingUriError("the recording uri is empty");
  }
  if (uri.length > URI_LIMITS.maxUriChars) {
    throw new RecordingUriError(`the recording uri is longer than ${URI_LIMITS.maxUriChars} characters`);
  }
  if (hasControl(uri)) {
    throw new RecordingUriError("the recording uri contains a NUL or control character");
  }
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") {
    return uploadTarget(uri, access, profileExt);
  }
  if (scheme !== undefined && scheme !== "file") {
    throw new RecordingUriError(`scheme '${scheme}:' is not supported for recordings (file:// or http(s)://)`);
  }
  return { kind: "file", path: await fileTarget(uri, access.recordingsRoot) };
}

/** The path a file URI or plain path names (decoded, `..` refused), absolute or relative to `root`. */
function decodePath(uri: string, root: string): string {
  let raw = uri;
  if (/^file:/i.test(uri)) {
    raw = uri.slice(5);
    if (raw.startsWith("//")) {
      raw = raw.slice(2);
      // file:///abs and file://localhost/abs are absolute; file://dir/name is relative to the root (as KMS users
      // write it).
      if (raw.toLowerCase().startsWith("localhost/")) {
        raw = raw.slice("localhost".length);
      }
    }
    if (/[?#]/.test(raw)) {
      throw new RecordingUriError("a file recording uri may not have a query or fragment");
    }
    try {
      raw = decodeURIComponent(raw);
    } catch {
      throw new RecordingUriError("the recording uri has a malformed %-escape");
    }
    if (hasControl(raw)) {
      throw new RecordingUriError("the recording uri contains a NUL or control character");
    }
  }
  const parts = raw.split("/");
  if (parts.some((p) => p === "..")) {
    throw new RecordingUriError("a recording path may not contain '..'");
  }
  if (parts.some((p) => Buffer.byteLength(p) > URI_LIMITS.maxNameBytes)) {
    throw new RecordingUriError(`a recording path component is longer than ${URI_LIMITS.maxNameBytes} bytes`);
  }
  const path = isAbsolute(raw) ? resolve(raw) : resolve(root, raw);
  if (Buffer.byteLength(path) > URI_LIMITS.maxPathBytes) {
    throw new RecordingUriError(`the recording path is longer than ${URI_LIMITS.maxPathBytes} bytes`);
  }
  if (raw.endsWith("/") || path === resolve(root)) {
    throw new RecordingUriError("the recording uri names a folder, not a file");
  }
  return path;
}

async function fileTarget(uri: string, root: string): Promise<string> {
  const path = decodePath(uri, root);
  let target: string;
  try {
    target = await confinedWritePath(path, root, { createFolders: true });
  } catch (err) {
    if (err instanceof MediaFileNotFoundError) {
      throw new RecordingUriError(
        `the recording uri is outside files.recordingsRoot or not writable (${refusal(err)})`,
      );
    }
    throw err;
  }
  // Korus's own folders are not the application's to write.
  const first = relative(resolve(root), target).split(sep)[0];
  const firstReal = await realRootRelative(root, target);
  if (first === JOURNAL_DIR || first === SPOOL_DIR || firstReal === JOURNAL_DIR || firstReal === SPOOL_DIR) {
    throw new RecordingUriError(`'${JOURNAL_DIR}' and '${SPOOL_DIR}' under the recordings root belong to Korus`);
  }
  try {
    const st = await lstat(target);
    if (st.isSymbolicLink() || !st.isFile()) {
      throw new RecordingUriError("the recording uri names a symlink or something that is not a regular file");
    }
  } catch (err) {
    if (err instanceof RecordingUriError) {
      throw err;
    }
    // Missing: the recorder creates it (O_NOFOLLOW | O_CREAT).
  }
  return target;
}

/** The first component of `target` relative to the real path of `root`. */
async function realRootRelative(root: string, target: string): Promise<string | undefined> {
  try {
    return relative(await realpath(root), target).split(sep)[0];
  } catch {
    return undefined;
  }
}

/** The reason of a confinement failure without paths outside the root (they stay in the server's log). */
function refusal(err: MediaFileNotFoundError): string {
  if (err.reason.includes("symlink")) {
    return "a symlink leads out of the root";
  }
  if (err.reason.includes("not a folder")) {
    return "a component is not a folder";
  }
  if (err.reason.includes("outside")) {
    return "outside the root";
  }
  return err.reason.replace(/^cannot (\w+) .*: (\w+)$/, "cannot $1: $2");
}

async function uploadTarget(uri: string, access: RecordingAccess, profileExt: string): Promise<RecordingTarget> {
  const policy = access.http ?? DEFAULT_POLICY;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new RecordingUriError("the recording uri is not a valid URL");
  }
  try {
    policy.check(url);
    await resolvable(url, policy);
  } catch (err) {
    if (err instanceof HttpMediaRefusedError) {
      throw new RecordingUriError(`upload refused: ${err.message}`);
    }
    throw err;
  }
  const ext = profileExt.replace(/^\./, "");
  if (!/^[a-z0-9]{1,8}$/i.test(ext)) {
    throw new RecordingUriError(`'${profileExt}' is not a file extension`);
  }
  const spool = join(resolve(access.recordingsRoot), SPOOL_DIR);
  await mkdir(spool, { recursive: true, mode: 0o700 });
  return { kind: "upload", path: join(spool, `${randomBytes(12).toString("hex")}.${ext}`), uri: url.href };
}

/** Resolves the URL's host through the policy's lookup (refused when it only has refused addresses). */
function resolvable(url: URL, policy: CompiledHttpPolicy): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolveP, reject) => {
    const timer = setTimeout(() => resolveP(), 5_000); // a slow resolver decides at upload time
    timer.unref();
    policy.lookup(host, { all: true }, (err) => {
      clearTimeout(timer);
      if (err instanceof HttpMediaRefusedError) {
        reject(err);
        return;
      }
      resolveP(); // a name that does not resolve now may later: the upload retries
    });
  });
}

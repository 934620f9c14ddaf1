/**
 * Confinement of file media to configured roots (issue 9): PlayerEndpoint, the dial-plan `play` action (through the
 * player) and the recorder read and write only under `files.mediaRoots` / `files.recordingsRoot`.
 *
 * - A URI is `file:///abs/path` (percent-decoded by the WHATWG URL parser, so `%2e%2e` is a `..` segment and is
 *   resolved before anything else), an absolute path, or a relative path, which resolves against the first root.
 * - The path is resolved with `realpath` (every `..` and symlink followed) and must then lie inside the real path of
 *   a root (compared with a trailing separator, so `/media-evil` is not inside `/media`).
 * - The file is opened (`O_NOFOLLOW`, `O_NONBLOCK` so a FIFO cannot stall the open) and the OPENED descriptor is
 *   checked again: its kernel path (`/proc/self/fd/N`) must still be inside a root and it must be a regular file.
 *   The caller hands that descriptor to ffmpeg (as its stdin), never the path, so swapping a symlink between the
 *   check and the read (TOCTOU) changes nothing.
 * - Outside a root, missing, unreadable, not a regular file, malformed file URI: one error,
 *   {@link MediaFileNotFoundError} with the same message (`file not found: <uri>`), so a client cannot learn
 *   whether a file exists outside the roots. The real reason is kept in `reason` for the server's log only.
 */
import { constants } from "node:fs";
import { lstat, mkdir, open, readlink, realpath, type FileHandle } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** A file media URI that is outside the roots, missing or unreadable: one message for all (no existence probe). */
export class MediaFileNotFoundError extends Error {
  override readonly name = "MediaFileNotFoundError";
  /** Why, for the server's log (never sent to the client). */
  readonly reason: string;
  constructor(uri: string, reason: string) {
    super(`file not found: ${uri}`);
    this.reason = reason;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** True when `path` is `root` or lies under it (both absolute, normalised). */
export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The path a file URI or path names, before confinement: `file:` URIs decoded, relative paths against `base`.
 * @throws MediaFileNotFoundError for a file URI that cannot be a local path (host, encoded `/`, NUL).
 */
export function filePathOf(uri: string, base: string): string {
  let path = uri;
  if (uri.startsWith("file:")) {
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw new MediaFileNotFoundError(uri, `bad file URI: ${(err as Error).message}`);
    }
  }
  if (path.includes("\0")) {
    throw new MediaFileNotFoundError(uri, "NUL in path");
  }
  return isAbsolute(path) ? resolve(path) : resolve(base, path);
}

/** The real paths of the roots that exist (a missing root confines to nothing). */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of roots) {
    try {
      out.push(await realpath(r));
    } catch {
      // A root that does not exist holds no file.
    }
  }
  return out;
}

/**
 * Opens a file media URI for reading, confined to `roots` (absolute folders; relative URIs resolve against the
 * first). The caller owns the handle and must close it.
 * @throws MediaFileNotFoundError outside the roots, missing, unreadable or not a regular file (same message).
 */
export async function openConfined(uri: string, roots: readonly string[]): Promise<FileHandle> {
  if (roots.length === 0) {
    throw new MediaFileNotFoundError(uri, "no media roots are configured (files.mediaRoots)");
  }
  const path = filePathOf(uri, roots[0] ?? "/");
  const real = await realRoots(roots);
  let target: string;
  try {
    target = await realpath(path);
  } catch (err) {
    throw new MediaFileNotFoundError(uri, `cannot resolve ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
  if (!real.some((r) => isInside(target, r))) {
    throw new MediaFileNotFoundError(uri, `${target} is outside files.mediaRoots`);
  }
  let fh: FileHandle;
  try {
    fh = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new MediaFileNotFoundError(uri, `cannot open ${target}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new MediaFileNotFoundError(uri, `${target} is not a regular file`);
    }
    // Re-check what was actually opened: a folder on the way may have been swapped for a symlink meanwhile.
    const opened = await openedPath(fh, target);
    if (!real.some((r) => isInside(opened, r))) {
      throw new MediaFileNotFoundError(uri, `${opened} (opened) is outside files.mediaRoots`);
    }
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err instanceof MediaFileNotFoundError ? err : new MediaFileNotFoundError(uri, String(err));
  }
}

/** The kernel's path of an open descriptor (Linux /proc); `fallback` where /proc is not available. */
async function openedPath(fh: FileHandle, fallback: string): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${fh.fd}`);
  } catch {
    return fallback;
  }
}

/**
 * Where a file may be WRITTEN under `root` (the recorder): `uri` resolves against the root, its folder's real path
 * must lie inside the root's real path and its last component must be a plain name. Open the result with
 * `O_NOFOLLOW` (a symlink planted at the name is then refused by the kernel). With `createFolders` the missing
 * folders on the way are created first, one component at a time from the root's real path, each existing component
 * checked (a symlink on the way must resolve inside the root; nothing is created outside it).
 * @throws MediaFileNotFoundError when the target is outside the root or its folder does not exist.
 */
export async function confinedWritePath(
  uri: string,
  root: string,
  options: { createFolders?: boolean } = {},
): Promise<string> {
  const path = filePathOf(uri, root);
  if (options.createFolders === true) {
    await createConfinedFolders(uri, dirname(path), root);
  }
  const name = basename(path);
  let folder: string;
  let realRoot: string;
  try {
    folder = await realpath(dirname(path));
    realRoot = await realpath(root);
  } catch (err) {
    throw new MediaFileNotFoundError(
      uri,
      `cannot resolve ${dirname(path)}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
  if (name === "" || name === "." || name === ".." || !isInside(folder, realRoot)) {
    throw new MediaFileNotFoundError(uri, `${path} is outside files.recordingsRoot`);
  }
  return resolve(folder, name);
}

/** The missing folders of `folder` under `root`, created one by one; stops (creating nothing) outside the root. */
async function createConfinedFolders(uri: string, folder: string, root: string): Promise<void> {
  const code = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? "error";
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (err) {
    throw new MediaFileNotFoundError(uri, `cannot resolve ${root}: ${code(err)}`);
  }
  let rel = relative(resolve(root), folder);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    rel = relative(realRoot, folder);
  }
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
    return; // the root itself, or outside it: the caller's check decides
  }
  let cur = realRoot;
  for (const part of rel.split(sep)) {
    const next = join(cur, part);
    try {
      const st = await lstat(next);
      if (st.isSymbolicLink()) {
        cur = await realpath(next);
        if (!isInside(cur, realRoot)) {
          throw new MediaFileNotFoundError(uri, `${next} is a symlink out of the root`);
        }
        continue;
      }
      if (!st.isDirectory()) {
        throw new MediaFileNotFoundError(uri, `${next} is not a folder`);
      }
    } catch (err) {
      if (err instanceof MediaFileNotFoundError) {
        throw err;
      }
      if (code(err) !== "ENOENT") {
        throw new MediaFileNotFoundError(uri, `cannot use ${next}: ${code(err)}`);
      }
      try {
        await mkdir(next, { mode: 0o750 });
      } catch (mkErr) {
        if (code(mkErr) !== "EEXIST") {
          throw new MediaFileNotFoundError(uri, `cannot create ${next}: ${code(mkErr)}`);
        }
      }
    }
    cur = next;
  }
}

/**
 * The upload of a finished `http(s)://` recording (issue 11 §1, as KMS does it: the body sent with
 * `Transfer-Encoding: chunked`, POST by default or PUT, config `recording.upload.method`).
 *
 * - Every request carries `X-Korus-Recording-Id: <id>` and `Idempotency-Key: <id>` (the journal id): after a crash
 *   between the receiver's 2xx and the journal update the same file is sent again with the same id, and the
 *   receiver keeps one.
 * - The target is checked against the http media policy (media/files/httpMedia.ts) before every connection, and the
 *   connection only goes to an address the policy accepts (its `lookup`). A 307/308 redirect is followed (the body
 *   is sent again) only when its target passes the same check, at most 5 times; any other redirect, or one to a
 *   refused host, is not followed.
 * - Any 2xx is success. A refused target is {@link UploadRefusedError} (permanent: retrying cannot help); anything
 *   else (another status, a network error, no progress for `timeoutMs`) is {@link UploadError}, retried by the
 *   caller.
 */
import { createReadStream } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";
import { HttpMediaRefusedError, type CompiledHttpPolicy } from "../../media/index.js";

export class UploadError extends Error {
  override readonly name = "UploadError";
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The target (or a redirect's) is refused by the policy: permanent. */
export class UploadRefusedError extends Error {
  override readonly name = "UploadRefusedError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export interface UploadOptions {
  method: "POST" | "PUT";
  timeoutMs: number;
  policy: CompiledHttpPolicy;
  contentType: string;
}

const MAX_REDIRECTS = 5;

/** The URL without credentials, for logs and errors. */
export function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Uploads `file` to `uri`. Resolves on a 2xx.
 * @throws (rejects) UploadRefusedError or UploadError.
 */
export async function uploadFile(file: string, uri: string, id: string, opts: UploadOptions): Promise<number> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UploadRefusedError("the upload uri is not a URL");
  }
  for (let hop = 0; ; hop++) {
    try {
      opts.policy.check(url);
    } catch (err) {
      throw new UploadRefusedError((err as Error).message);
    }
    const res = await send(file, url, id, opts);
    const status = res.statusCode ?? 0;
    res.resume();
    if (status >= 200 && status <= 299) {
      return status;
    }
    if (status === 307 || status === 308) {
      const location = res.headers.location;
      if (location === undefined || hop >= MAX_REDIRECTS) {
        throw new UploadError(`HTTP ${status} from ${redact(url)} without a usable Location`, status);
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new UploadRefusedError(`redirect from ${redact(url)} to a malformed Location`);
      }
      try {
        opts.policy.check(next);
      } catch (err) {
        throw new UploadRefusedError(`redirect from ${redact(url)} not followed: ${(err as Error).message}`);
      }
      url = next;
      continue;
    }
    throw new UploadError(`HTTP ${status} from ${redact(url)}`, status);
  }
}

/** One request with the file as a chunked body; resolves with the response (body not read). */
function send(file: string, url: URL, id: string, opts: UploadOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
      method: opts.method,
      agent: false,
      lookup: opts.policy.lookup,
      timeout: opts.timeoutMs,
      headers: {
        "user-agent": "Korus",
        "content-type": opts.contentType,
        "transfer-encoding": "chunked",
        "x-korus-recording-id": id,
        "idempotency-key": id,
      },
    });
    let settled = false;
    const fail = (err: Error): void => {
      if (!settled) {
        settled = true;
        req.destroy();
        reject(
          err instanceof HttpMediaRefusedError
            ? new UploadRefusedError(err.message)
            : err instanceof UploadError
              ? err
              : new UploadError(`upload to ${redact(url)} failed: ${err.message}`),
        );
      }
    };
    req.on("timeout", () => fail(new UploadError(`no progress uploading to ${redact(url)} for ${opts.timeoutMs} ms`)));
    req.on("error", fail);
    req.on("response", (res) => {
      if (!settled) {
        settled = true;
        resolve(res);
      }
    });
    pipeline(createReadStream(file), req).catch((err: unknown) => fail(err as Error));
  });
}

/** The Content-Type of a recording by its extension. */
export function contentTypeOf(ext: string): string {
  switch (ext.toLowerCase()) {
    case ".webm":
      return "video/webm";
    case ".mkv":
      return "video/x-matroska";
    case ".mp4":
      return "video/mp4";
    case ".ogg":
      return "audio/ogg";
    case ".wav":
      return "audio/wav";
    default:
      return "application/octet-stream";
  }
}

/**
 * HTTP webhook sink: one `POST <url>` per record with the record as a JSON body (the CdrRecord object).
 *
 * Headers: `Content-Type: application/json`, `Idempotency-Key: <recordId>` and `X-Korus-Cdr-Id: <recordId>`.
 * Any 2xx counts as delivered; anything else (another status, a refused connection, a timeout) is a failure the
 * dispatcher retries with exponential backoff. A receiver must treat a repeated Idempotency-Key as already
 * processed: after a Korus crash between the receiver's 2xx and the spool update, the record is offered again.
 */
import type { CdrRecord } from "./CdrRecord.js";
import { CdrSinkError, type CdrSink } from "./CdrSink.js";

export interface WebhookCdrSinkOptions {
  url: string;
  /** Time one POST may take, in ms. */
  timeoutMs: number;
  /** Extra request headers (e.g. Authorization). */
  headers?: Readonly<Record<string, string>>;
}

/** `T`: CDRs, or any record with a `recordId` (the "recording ready" records, recordingReady.ts). */
export class WebhookCdrSink<T extends { recordId: string } = CdrRecord> implements CdrSink<T> {
  readonly name = "webhook";
  readonly maxBatch = 1;
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(options: WebhookCdrSinkOptions) {
    this.url = options.url;
    this.timeoutMs = options.timeoutMs;
    this.headers = options.headers ?? {};
  }

  async deliver(records: readonly T[]): Promise<void> {
    for (const r of records) {
      let res: Response;
      try {
        res = await fetch(this.url, {
          method: "POST",
          headers: {
            ...this.headers,
            "content-type": "application/json",
            "idempotency-key": r.recordId,
            "x-korus-cdr-id": r.recordId,
          },
          body: JSON.stringify(r),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        const cause = (err as Error & { cause?: { code?: string } }).cause?.code;
        throw new CdrSinkError(this.name, `POST failed: ${(err as Error).message}${cause ? ` (${cause})` : ""}`, {
          cause: err,
        });
      }
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) {
        throw new CdrSinkError(this.name, `POST answered ${res.status} ${res.statusText}`);
      }
    }
  }

  async close(): Promise<void> {
    // fetch keeps no state this sink owns.
  }
}

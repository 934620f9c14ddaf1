/**
 * The dial plan's `record` option at work: RecorderEndpoints in the call's pipeline, connected and started through
 * the public Kurento API (the dial plan's {@link InternalClient}), as an application would.
 *
 * - `stereo`: one recorder; the caller's leg on `left`, the other side (the callee, the room's mix, the player, the
 *   echo) on `right` (sink descriptions, media/record/AudioCapture.ts).
 * - `mixed`: one recorder; both sides mixed into one channel (sink descriptions `caller` and `callee`).
 * - `legs`: one recorder per side, `{leg}` = `caller` / `callee`.
 *
 * A recording that cannot start (a path the recorder refuses, a full disk) is logged and the call goes on without
 * it. The CDR `recording` column of each SIP leg connected to a recorder gets its URI through the recording CDR
 * hooks (src/cdr/recordingCdr.ts), as for an application's recorder; "recording ready" follows from the journal.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../logging/logger.js";
import type { DialPlanRecord } from "./config.js";
import type { InternalClient } from "./InternalClient.js";
import { dateValues, expandRecordPath, RECORD_PROFILES, sipUser, type RecordPathValues } from "./recordTemplate.js";

export interface CallFacts {
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  readonly trunk: string;
}

/** The recorders of one call; `stop()` stops them, waits for their files, and releases them. */
export interface CallRecording {
  readonly recorders: readonly string[];
  stop(): Promise<void>;
}

const NONE: CallRecording = { recorders: [], stop: () => Promise.resolve() };

/** Starts recording a call: `caller` is the caller's SipEndpoint, `other` what the caller hears. Never throws. */
export async function startCallRecording(
  client: InternalClient,
  log: Logger,
  record: DialPlanRecord,
  call: CallFacts,
  pipeline: string,
  parties: { caller: string; other: string },
): Promise<CallRecording> {
  const at = new Date();
  const base: Omit<RecordPathValues, "leg"> = {
    ...dateValues(at),
    callId: call.callId,
    from: sipUser(call.from),
    to: sipUser(call.to),
    trunk: call.trunk,
    ext: RECORD_PROFILES[record.profile] ?? "wav",
    id: randomBytes(4).toString("hex"),
  };
  const uriFor = (leg: string): string =>
    expandRecordPath(record.path, { ...base, leg }, (field) =>
      log.warn({ callId: call.callId, field }, "dial plan: record path value sanitised"),
    );
  const plan: { leg: string; sources: [string, string][] }[] =
    record.mode === "legs"
      ? [
          { leg: "caller", sources: [[parties.caller, "default"]] },
          { leg: "callee", sources: [[parties.other, "default"]] },
        ]
      : [
          {
            leg: record.mode,
            sources:
              record.mode === "stereo"
                ? [
                    [parties.caller, "left"],
                    [parties.other, "right"],
                  ]
                : [
                    [parties.caller, "caller"],
                    [parties.other, "callee"],
                  ],
          },
        ];
  const recorders: string[] = [];
  for (const p of plan) {
    let rec: string | undefined;
    let uri = "";
    try {
      uri = uriFor(p.leg);
      rec = await client.create("RecorderEndpoint", { mediaPipeline: pipeline, uri, mediaProfile: record.profile });
      for (const [source, description] of p.sources) {
        await client.invoke(source, "connect", {
          sink: rec,
          mediaType: "AUDIO",
          sourceMediaDescription: "default",
          sinkMediaDescription: description,
        });
      }
      await client.invoke(rec, "record");
      recorders.push(rec);
      log.info({ callId: call.callId, uri, mode: record.mode }, "dial plan: recording the call");
    } catch (err) {
      log.warn({ callId: call.callId, uri, err: String(err) }, "dial plan: the call is not recorded");
      if (rec !== undefined) {
        await client.release(rec).catch(() => undefined);
      }
    }
  }
  if (recorders.length === 0) {
    return NONE;
  }
  let stopping: Promise<void> | undefined;
  return {
    recorders,
    stop: () =>
      (stopping ??= Promise.all(
        recorders.map(async (r) => {
          await client.invoke(r, "stopAndWait").catch(() => undefined);
          await client.release(r).catch(() => undefined);
        }),
      ).then(() => undefined)),
  };
}

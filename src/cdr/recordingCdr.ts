/**
 * The CDR `recording` column (issue 11 §3): the URI(s) of the recordings of a leg, space-separated (a space inside a
 * URI is written %20; credentials of an http(s) URI are left out).
 *
 * - {@link RecordingLinks.attach} is the one call that adds a recording to a leg (by CDR leg id); the dial plan's
 *   `record` option or any control-plane code calls it directly.
 * - {@link recordingCdrHooks} does it for applications: a `RecorderEndpoint` created with a `uri`, then a
 *   `connect` from an element to it, adds that uri to the leg of the source element (`legOf` maps an element id to
 *   its CDR leg id: a WebRtcEndpoint's leg id is its element id; the SIP service knows its SipEndpoints' legs).
 */
import type { KurentoExtension } from "../kurento/KurentoServer.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { CdrRecorder } from "./CdrRecorder.js";

/** A recording URI as the CDR shows it. */
export function cdrRecordingUri(uri: string): string {
  let out = uri;
  if (/^https?:/i.test(uri)) {
    try {
      const u = new URL(uri);
      if (u.username !== "" || u.password !== "") {
        u.username = "";
        u.password = "";
      }
      out = u.href;
    } catch {
      // keep as given
    }
  }
  return out.replaceAll(" ", "%20");
}

/** The recordings of each open leg; forget a leg when it ends. */
export class RecordingLinks {
  readonly #cdr: CdrRecorder;
  readonly #byLeg = new Map<string, string[]>();

  constructor(cdr: CdrRecorder) {
    this.#cdr = cdr;
  }

  /** Adds a recording's URI to a leg's `recording` column. False for a leg that is not open. */
  attach(legId: string, uri: string): boolean {
    if (!this.#cdr.has(legId)) {
      this.#byLeg.delete(legId);
      return false;
    }
    const list = this.#byLeg.get(legId) ?? [];
    const u = cdrRecordingUri(uri);
    if (!list.includes(u)) {
      list.push(u);
    }
    this.#byLeg.set(legId, list);
    return this.#cdr.media(legId, { recording: list.join(" ") });
  }

  forget(legId: string): void {
    this.#byLeg.delete(legId);
  }

  get size(): number {
    return this.#byLeg.size;
  }
}

/** Control-plane hooks that attach a RecorderEndpoint's uri to the CDR leg of each element connected to it. */
export function recordingCdrHooks(
  links: RecordingLinks,
  legOf: (elementId: string) => string | undefined,
): KurentoExtension {
  const recorders = new Map<string, string>();
  const attached = new Map<string, string>(); // source element id → leg id
  return {
    elementCreated: (obj, ctor) => {
      const uri = ctor["uri"];
      if (obj.cls.name === "RecorderEndpoint" && typeof uri === "string") {
        recorders.set(obj.id, uri);
      }
    },
    operation: (obj, opName, args) => {
      const sink = args["sink"];
      const uri = opName === "connect" && typeof sink === "string" ? recorders.get(sink) : undefined;
      const leg = uri === undefined ? undefined : legOf(obj.id);
      if (uri !== undefined && leg !== undefined && links.attach(leg, uri)) {
        attached.set(obj.id, leg);
      }
      return undefined; // observe only
    },
    objectsGone: (objects: readonly KObject[]) => {
      for (const o of objects) {
        recorders.delete(o.id);
        const leg = attached.get(o.id);
        if (leg !== undefined) {
          attached.delete(o.id);
          links.forget(leg);
        }
      }
    },
  };
}

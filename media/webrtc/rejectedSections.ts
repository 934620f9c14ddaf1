/**
 * The m=application (data channel) sections of an offer that a WebRtcEndpoint without `useDataChannels` rejects,
 * as KMS does: werift would accept them, so they are taken out of the offer before werift sees it and put back
 * into our answer with port 0 (RFC 3264 §6: a rejected stream keeps its place, proto and formats, port 0; RFC 8843
 * §7.3.3: it leaves the BUNDLE group and keeps its a=mid).
 *
 * Text level on purpose: werift parses what is left, and the answer we build keeps werift's text for every other
 * section.
 */

/** One section taken out of an offer: where it was and what its rejection in the answer says. */
export interface RejectedSection {
  /** Its m-line index in the original offer. */
  readonly index: number;
  readonly mid: string | undefined;
  /** The answer's section for it: `m=application 0 <proto> <fmt>`, a c= line and its a=mid. */
  readonly answer: string;
}

/** Splits an SDP into its session part and its media sections (each starting at an `m=` line). */
function sections(sdp: string): { session: string[]; media: string[][] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== "");
  const session: string[] = [];
  const media: string[][] = [];
  for (const l of lines) {
    if (l.startsWith("m=")) {
      media.push([l]);
    } else if (media.length > 0) {
      media[media.length - 1]?.push(l);
    } else {
      session.push(l);
    }
  }
  return { session, media };
}

const join = (lines: readonly string[]): string => `${lines.join("\r\n")}\r\n`;

const midOf = (section: readonly string[]): string | undefined =>
  section.find((l) => l.startsWith("a=mid:"))?.slice("a=mid:".length);

/** Drops `mids` from the BUNDLE group line(s) of a session part. */
function withoutFromBundle(session: readonly string[], mids: ReadonlySet<string>): string[] {
  return session.map((l) =>
    l.startsWith("a=group:BUNDLE")
      ? [
          "a=group:BUNDLE",
          ...l
            .slice("a=group:BUNDLE".length)
            .trim()
            .split(/\s+/)
            .filter((m) => m !== "" && !mids.has(m)),
        ]
          .join(" ")
          .trimEnd()
      : l,
  );
}

/**
 * Takes the m=application sections out of `offer`. Returns the offer unchanged (same string) and no rejection when
 * it has none.
 */
export function rejectApplicationSections(offer: string): { sdp: string; rejected: RejectedSection[] } {
  if (!/^m=application /m.test(offer)) {
    return { sdp: offer, rejected: [] };
  }
  const { session, media } = sections(offer);
  const rejected: RejectedSection[] = [];
  const kept: string[][] = [];
  media.forEach((section, index) => {
    const mline = section[0] ?? "";
    if (!mline.startsWith("m=application ")) {
      kept.push(section);
      return;
    }
    const [, , proto = "UDP/DTLS/SCTP", ...fmts] = mline.split(/\s+/);
    const mid = midOf(section);
    const lines = [`m=application 0 ${proto} ${fmts.join(" ")}`.trimEnd(), "c=IN IP4 0.0.0.0"];
    if (mid !== undefined) {
      lines.push(`a=mid:${mid}`);
    }
    rejected.push({ index, mid, answer: join(lines) });
  });
  const mids = new Set(rejected.map((r) => r.mid).filter((m) => m !== undefined));
  const sdp = join([...withoutFromBundle(session, mids), ...kept.flat()]);
  return { sdp, rejected };
}

/** Puts the rejected sections back into `answer` at their offer positions. */
export function restoreRejectedSections(answer: string, rejected: readonly RejectedSection[]): string {
  if (rejected.length === 0) {
    return answer;
  }
  const { session, media } = sections(answer);
  const out = media.map((s) => join(s));
  for (const r of rejected) {
    out.splice(Math.min(r.index, out.length), 0, r.answer);
  }
  return join(session) + out.join("");
}

/**
 * A trickled remote candidate aimed at a rejected section (its mid): under BUNDLE the same ICE agent serves every
 * section, so it is handed to the first section werift knows instead of being refused.
 */
export function retargetCandidate<C extends { sdpMid?: string | undefined; sdpMLineIndex?: number | undefined }>(
  c: C,
  rejected: readonly RejectedSection[],
  firstMid: string | undefined,
): C {
  if (rejected.length === 0) {
    return c;
  }
  const hit =
    c.sdpMid !== undefined
      ? rejected.some((r) => r.mid === c.sdpMid)
      : rejected.some((r) => r.index === c.sdpMLineIndex);
  if (!hit && c.sdpMid !== undefined) {
    return c;
  }
  if (hit) {
    return { ...c, sdpMid: firstMid, sdpMLineIndex: firstMid === undefined ? 0 : undefined };
  }
  // An index into the original offer: shift it past the sections taken out before it.
  const idx = c.sdpMLineIndex;
  return idx === undefined ? c : { ...c, sdpMLineIndex: idx - rejected.filter((r) => r.index < idx).length };
}

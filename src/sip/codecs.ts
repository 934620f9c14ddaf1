/**
 * Codec policy of a trunk on SDP text: keep only the payload formats a trunk allows (its `codecs` list, matched on
 * the encoding name) in every audio m-line, and read the codec a negotiation settled on (for CDRs).
 */

/** Static RTP payload types (RFC 3551 table 4) that may appear without an rtpmap. */
const STATIC_PT: Readonly<Record<number, string>> = {
  0: "PCMU",
  3: "GSM",
  4: "G723",
  8: "PCMA",
  9: "G722",
  13: "CN",
  18: "G729",
};

/** Thrown when no allowed codec remains in an SDP (the caller answers 488). */
export class NoAllowedCodecError extends Error {
  override readonly name = "NoAllowedCodecError";
}

interface Section {
  head: string;
  lines: string[];
}

function sections(sdp: string): { session: string[]; media: Section[]; eol: string } {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const session: string[] = [];
  const media: Section[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (line === "") {
      continue;
    }
    if (line.startsWith("m=")) {
      media.push({ head: line, lines: [] });
    } else if (media.length === 0) {
      session.push(line);
    } else {
      media[media.length - 1]?.lines.push(line);
    }
  }
  return { session, media, eol };
}

function names(section: Section): Map<number, string> {
  const out = new Map<number, string>();
  for (const pt of section.head.split(" ").slice(3)) {
    const n = Number(pt);
    const known = STATIC_PT[n];
    if (known !== undefined) {
      out.set(n, known);
    }
  }
  for (const line of section.lines) {
    const m = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      out.set(Number(m[1]), m[2]);
    }
  }
  return out;
}

/**
 * Removes the payload formats `allowed` does not name (case-insensitive) from every audio m-line. An empty
 * `allowed` list allows everything.
 * @throws {NoAllowedCodecError} when an audio m-line would keep no codec but telephone-event/CN.
 */
export function restrictCodecs(sdp: string, allowed: readonly string[]): string {
  if (allowed.length === 0) {
    return sdp;
  }
  const ok = new Set(allowed.map((c) => c.toLowerCase()));
  const { session, media, eol } = sections(sdp);
  for (const s of media) {
    const parts = s.head.split(" ");
    if (parts[0] !== "m=audio" || parts[1] === "0") {
      continue;
    }
    const byPt = names(s);
    const keep = parts.slice(3).filter((pt) => ok.has((byPt.get(Number(pt)) ?? "").toLowerCase()));
    const real = keep.filter((pt) => !["telephone-event", "cn"].includes((byPt.get(Number(pt)) ?? "").toLowerCase()));
    if (real.length === 0) {
      throw new NoAllowedCodecError(`no codec of [${allowed.join(", ")}] in ${s.head}`);
    }
    s.head = [...parts.slice(0, 3), ...keep].join(" ");
    const kept = new Set(keep);
    s.lines = s.lines.filter((line) => {
      const m = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)/.exec(line);
      return m?.[1] === undefined || kept.has(m[1]);
    });
  }
  return [...session, ...media.flatMap((s) => [s.head, ...s.lines])].join(eol) + eol;
}

/** The first real audio codec of an SDP (e.g. the answer of a negotiation), or null. */
export function firstAudioCodec(sdp: string | undefined): string | null {
  if (sdp === undefined) {
    return null;
  }
  const audio = sections(sdp).media.find((s) => s.head.startsWith("m=audio") && s.head.split(" ")[1] !== "0");
  if (audio === undefined) {
    return null;
  }
  const byPt = names(audio);
  for (const pt of audio.head.split(" ").slice(3)) {
    const name = byPt.get(Number(pt));
    if (name !== undefined && !["telephone-event", "cn"].includes(name.toLowerCase())) {
      return name;
    }
  }
  return null;
}

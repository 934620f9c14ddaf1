/**
 * The dial plan's `record` option (issue 11 §3): its settings, and the file name template it expands for each call.
 *
 * A template is checked once, when the configuration is loaded ({@link recordTemplateIssue}): relative, made of
 * `[A-Za-z0-9_.+/-]` and the placeholders of {@link RECORD_PLACEHOLDERS}, no `.` or `..` segment, no empty
 * segment. Every value put in a placeholder is carrier or caller text (Call-ID, From and To users, trunk names), so
 * each is sanitised ({@link sanitizePathValue}): any character outside `[A-Za-z0-9_.+-]` (a `/`, NUL, a control
 * character, a space…) becomes `_`, a run of dots becomes `_`, a leading dot becomes `_`, and it is cut to 64
 * characters. The expanded path is then a recording URI relative to `files.recordingsRoot`, which the recorder
 * confines again (media/record/target.ts).
 */

export const RECORD_MODES = ["stereo", "mixed", "legs"] as const;
export type RecordMode = (typeof RECORD_MODES)[number];

/** Profiles a call may be recorded with (audio only), and their file extension. */
export const RECORD_PROFILES: Readonly<Record<string, string>> = {
  WAV: "wav",
  OGG: "ogg",
  WEBM_AUDIO_ONLY: "webm",
  MKV_AUDIO_ONLY: "mkv",
  MP4_AUDIO_ONLY: "mp4",
};

export const DEFAULT_RECORD_PATH = "calls/{date}/{callId}-{leg}.{ext}";

/** The placeholders a template may use. */
export const RECORD_PLACEHOLDERS = ["date", "time", "callId", "from", "to", "trunk", "leg", "ext", "id"] as const;
export type RecordPlaceholder = (typeof RECORD_PLACEHOLDERS)[number];
export type RecordPathValues = Readonly<Record<RecordPlaceholder, string>>;

const PLACEHOLDER = /\{([A-Za-z]+)\}/g;
const MAX_TEMPLATE = 512;
const MAX_VALUE = 64;

/** Why a template cannot be used, or undefined when it can. */
export function recordTemplateIssue(template: string): string | undefined {
  if (template === "" || template.length > MAX_TEMPLATE) {
    return `must be 1 to ${MAX_TEMPLATE} characters`;
  }
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!(RECORD_PLACEHOLDERS as readonly string[]).includes(m[1] ?? "")) {
      return `unknown placeholder {${m[1] ?? ""}} (known: ${RECORD_PLACEHOLDERS.map((p) => `{${p}}`).join(" ")})`;
    }
  }
  const literal = template.replace(PLACEHOLDER, "x");
  if (!/^[A-Za-z0-9_.+/-]+$/.test(literal)) {
    return "may only hold A-Z a-z 0-9 _ . + - / and placeholders";
  }
  if (template.startsWith("/")) {
    return "must be relative to files.recordingsRoot";
  }
  if (template.split("/").some((seg) => seg === "" || seg === "." || seg === "..")) {
    return "may not hold an empty, . or .. path segment";
  }
  return undefined;
}

/** A placeholder value made safe for one path segment (see the file comment). */
export function sanitizePathValue(value: string): string {
  const s = value
    .replace(/[^A-Za-z0-9_.+-]/g, "_")
    .replace(/\.{2,}/g, "_")
    .replace(/^\./, "_")
    .slice(0, MAX_VALUE);
  return s === "" ? "_" : s;
}

/**
 * The template with its placeholders replaced by sanitised values. `changed` is called with the name of each value
 * that had to be changed (the caller logs it).
 * @throws Error when the template is not a valid one (configuration checked it already).
 */
export function expandRecordPath(
  template: string,
  values: RecordPathValues,
  changed?: (placeholder: RecordPlaceholder) => void,
): string {
  const issue = recordTemplateIssue(template);
  if (issue !== undefined) {
    throw new Error(`record path template ${issue}`);
  }
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const key = name as RecordPlaceholder;
    const raw = values[key];
    const safe = sanitizePathValue(raw);
    if (safe !== raw) {
      changed?.(key);
    }
    return safe;
  });
}

/** The user part of a SIP URI ("" without one). */
export function sipUser(uri: string): string {
  return /^sips?:([^@;?]*)@/i.exec(uri)?.[1] ?? "";
}

/** `{date}` (YYYY-MM-DD) and `{time}` (HHMMSS), UTC. */
export function dateValues(at: Date): { date: string; time: string } {
  const iso = at.toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 19).replaceAll(":", "") };
}

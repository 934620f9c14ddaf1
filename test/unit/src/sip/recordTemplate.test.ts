/**
 * The dial plan's `record` path template: checked at load (placeholders, characters, no `..`), every value
 * sanitised into one safe path segment, and the config schema's errors naming the field.
 */
import t from "tap";
import { ConfigError, validateConfig } from "../../../../src/config/schema.js";
import {
  DEFAULT_RECORD_PATH,
  expandRecordPath,
  recordTemplateIssue,
  sanitizePathValue,
  sipUser,
  type RecordPathValues,
} from "../../../../src/sip/recordTemplate.js";

const values: RecordPathValues = {
  date: "2026-12-07",
  time: "231500",
  callId: "abc@127.0.0.1",
  from: "+441632960001",
  to: "rec",
  trunk: "local",
  leg: "stereo",
  ext: "wav",
  id: "0a1b2c3d",
};

t.test("templates: placeholders from the list, relative, no . or .. segment, plain characters", async (t) => {
  t.equal(recordTemplateIssue(DEFAULT_RECORD_PATH), undefined);
  t.equal(recordTemplateIssue("a/{from}-{to}/{time}_{id}.{ext}"), undefined);
  t.match(recordTemplateIssue("calls/../{callId}.wav"), /\.\./);
  t.match(recordTemplateIssue("../x.wav"), /\.\./);
  t.match(recordTemplateIssue("calls/./x.wav"), /segment/);
  t.match(recordTemplateIssue("calls//x.wav"), /segment/);
  t.match(recordTemplateIssue("/etc/x.wav"), /relative/);
  t.match(recordTemplateIssue("calls/{home}.wav"), /unknown placeholder \{home\}/);
  t.match(recordTemplateIssue("calls/a b.wav"), /may only hold/);
  t.match(recordTemplateIssue("calls/a\u0000b.wav"), /may only hold/);
  t.match(recordTemplateIssue("calls\\x.wav"), /may only hold/);
  t.match(recordTemplateIssue(""), /characters/);
  t.throws(() => expandRecordPath("../{callId}", values), /record path template/);
});

t.test("values: one safe segment whatever the caller sends", async (t) => {
  t.equal(sanitizePathValue("+441632960001"), "+441632960001");
  t.equal(sanitizePathValue("../../etc/passwd"), "____etc_passwd");
  t.equal(sanitizePathValue(".."), "_");
  t.equal(sanitizePathValue(".hidden"), "_hidden");
  t.equal(sanitizePathValue("a\u0000b\u001bc\u007f\u0085d"), "a_b_c__d");
  t.equal(sanitizePathValue("a/b\\c d"), "a_b_c_d");
  t.equal(sanitizePathValue(""), "_");
  t.equal(sanitizePathValue("x".repeat(300)).length, 64);
  for (const hostile of ["..", "../..", "/", "\u0000", ".", "...", "%2e%2e", "a/../../b"]) {
    const v = sanitizePathValue(hostile);
    t.notOk(
      v.includes("/") || v.includes("..") || v.startsWith(".") || /[\u0000-\u001f]/.test(v),
      JSON.stringify(hostile),
    );
  }
  const changed: string[] = [];
  const path = expandRecordPath(DEFAULT_RECORD_PATH, { ...values, callId: "../../x@y" }, (f) => changed.push(f));
  t.equal(path, "calls/2026-12-07/____x_y-stereo.wav");
  t.same(changed, ["callId"], "the changed value is reported (logged by the dial plan)");
  t.equal(sipUser("sip:../../evil@127.0.0.1:5060"), "../../evil");
  t.equal(sipUser("sips:+4930@x;user=phone"), "+4930");
  t.equal(sipUser("tel:+4930"), "");
});

t.test("config: record option defaults, and errors name the field", async (t) => {
  const cfg = validateConfig({ sip: { dialplan: [{ to: "^sip:r@", action: "echo", record: {} }] } });
  t.match(cfg.sip.dialplan[0]?.record, { mode: "stereo", profile: "WAV", path: DEFAULT_RECORD_PATH });
  const field = (record: unknown, action = "echo"): string => {
    try {
      validateConfig({ sip: { dialplan: [{ action, record }] } });
    } catch (err) {
      return err instanceof ConfigError ? err.field : `not a ConfigError: ${String(err)}`;
    }
    return "no error";
  };
  t.equal(field({ path: "calls/../{callId}.wav" }), "sip.dialplan[0].record.path", "a .. template is refused");
  t.equal(field({ path: "/tmp/{callId}.wav" }), "sip.dialplan[0].record.path");
  t.equal(field({ mode: "quad" }), "sip.dialplan[0].record.mode");
  t.equal(field({ profile: "MP4" }), "sip.dialplan[0].record.profile", "audio profiles only");
  t.equal(field({}, "reject"), "sip.dialplan[0].record", "nothing to record on a reject");
  t.equal(field({ mode: "legs", profile: "OGG", path: "x/{leg}.{ext}" }), "no error");
});

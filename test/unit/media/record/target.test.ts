/**
 * Recording URI confinement (media/record/target.ts): file:// forms inside the root, `..`, absolute paths outside,
 * symlinks out (refused) and inside (accepted), other schemes, control characters, over-long names, Korus's own
 * folders, and http(s) uploads checked against the http media policy.
 */
import { lstatSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { CompiledHttpPolicy } from "../../../../media/files/httpMedia.js";
import { RecordingUriError, resolveRecordingTarget, type RecordingAccess } from "../../../../media/record/target.js";
import { toKurentoError } from "../../../../src/kurento/errors.js";

const base = realpathSync(mkdtempSync(path.join(os.tmpdir(), "korus-target-")));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
const root = path.join(base, "rec");
const outside = path.join(base, "outside");
mkdirSync(root);
mkdirSync(outside);
mkdirSync(path.join(root, "inner"));
symlinkSync(outside, path.join(root, "out")); // a symlink out of the root
symlinkSync(path.join(root, "inner"), path.join(root, "alias")); // a symlink that stays inside
writeFileSync(path.join(outside, "victim.webm"), "x");
symlinkSync(path.join(outside, "victim.webm"), path.join(root, "trap.webm")); // a symlink at the file name

const access: RecordingAccess = { recordingsRoot: root };

async function refused(t: Test, uri: string, match: RegExp, a: RecordingAccess = access): Promise<void> {
  await t.rejects(resolveRecordingTarget(uri, a, "webm"), RecordingUriError, uri);
  await resolveRecordingTarget(uri, a, "webm").catch((err: unknown) => {
    t.match((err as Error).message, match, `${uri}: ${(err as Error).message}`);
    t.notMatch((err as Error).message, new RegExp(outside), "no path outside the root in the message");
  });
}

t.test("file:// forms inside the root resolve to a file under it", async (t) => {
  t.same(await resolveRecordingTarget(`file://${root}/a.webm`, access, "webm"), {
    kind: "file",
    path: path.join(root, "a.webm"),
  });
  t.same(await resolveRecordingTarget("file://calls/b.webm", access, "webm"), {
    kind: "file",
    path: path.join(root, "calls/b.webm"),
  });
  t.ok(lstatSync(path.join(root, "calls")).isDirectory(), "missing folders under the root are created");
  t.same(await resolveRecordingTarget("c.webm", access, "webm"), { kind: "file", path: path.join(root, "c.webm") });
  t.same(await resolveRecordingTarget("file:d%20e.webm", access, "webm"), {
    kind: "file",
    path: path.join(root, "d e.webm"),
  });
  t.same(await resolveRecordingTarget("file://alias/x.webm", access, "webm"), {
    kind: "file",
    path: path.join(root, "inner/x.webm"),
  });
  t.same(await resolveRecordingTarget(`file://localhost${root}/f.webm`, access, "webm"), {
    kind: "file",
    path: path.join(root, "f.webm"),
  });
});

t.test("escapes are refused", async (t) => {
  await refused(t, "file://../outside/x.webm", /\.\./);
  await refused(t, `file://${root}/../outside/x.webm`, /\.\./);
  await refused(t, `file://${root}/%2e%2e/outside/x.webm`, /\.\./);
  await refused(t, "inner/../../x.webm", /\.\./);
  await refused(t, `file://${outside}/x.webm`, /outside files.recordingsRoot/);
  await refused(t, "/etc/x.webm", /outside files.recordingsRoot/);
  await refused(t, "file://out/x.webm", /symlink|outside/);
  await refused(t, "file://out/new/x.webm", /symlink|outside/);
  t.notOk(
    lstatSync(outside, { throwIfNoEntry: false }) && lstatSync(path.join(outside, "new"), { throwIfNoEntry: false }),
    "nothing created outside",
  );
  await refused(t, "trap.webm", /symlink/);
  await refused(t, "file://.journal/x.json", /belong to Korus/);
  await refused(t, "file://.spool/x.webm", /belong to Korus/);
  await refused(t, "file://inner/", /folder/);
});

t.test("other schemes, control characters and over-long names are refused", async (t) => {
  for (const uri of ["rtsp://h/x", "ftp://h/x.webm", "data:,x", "concat:a|b", "s3://b/k", "javascript:x"]) {
    await refused(t, uri, /scheme/);
  }
  await refused(t, "file://a\u0000b.webm", /control/);
  await refused(t, "a\nb.webm", /control/);
  await refused(t, "file://a%00b.webm", /control/);
  await refused(t, "file://a%0Ab.webm", /control/);
  await refused(t, `file://${"n".repeat(300)}.webm`, /longer/);
  await refused(t, `file://${"d/".repeat(2100)}x.webm`, /longer/);
  await refused(t, "", /empty/);
  await refused(t, "file://bad%zz.webm", /escape/);
});

t.test("http(s) becomes a spool file and the URL to upload to; refused hosts are refused", async (t) => {
  const up = await resolveRecordingTarget("https://93.184.215.14/put/x.webm", access, ".webm");
  t.equal(up.kind, "upload");
  t.equal(path.dirname(up.path), path.join(root, ".spool"));
  t.match(path.basename(up.path), /^[0-9a-f]{24}\.webm$/);
  t.equal(up.kind === "upload" ? up.uri : "", "https://93.184.215.14/put/x.webm");
  for (const uri of [
    "http://127.0.0.1:8080/x",
    "http://10.1.2.3/x",
    "http://169.254.169.254/latest",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://localhost/x",
  ]) {
    await refused(t, uri, /refused/);
  }
  const loopbackOk = new CompiledHttpPolicy({ allowHosts: [], allowNetworks: ["127.0.0.0/8"] });
  const ok = await resolveRecordingTarget("http://127.0.0.1:9/x", { recordingsRoot: root, http: loopbackOk }, "mp4");
  t.equal(ok.kind, "upload", "allowed when httpMedia.allowNetworks lists it");
  await refused(t, "https://93.184.215.14/x", /allowHosts/, {
    recordingsRoot: root,
    http: new CompiledHttpPolicy({ allowHosts: ["rec.example.org"], allowNetworks: [] }),
  });
});

t.test("the error maps to MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", async (t) => {
  const e = toKurentoError({ name: "RecordingUriError", message: "x" });
  t.equal(e.code, 40107);
  t.equal(new RecordingUriError("m").kurentoType, "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR");
});

/**
 * Issue 9, confined files: a client that reaches the WebSocket used to play any audio file on the server to itself,
 * and to learn from the error whether a file exists. Now a PlayerEndpoint reads only under `files.mediaRoots`.
 *
 * Over JSON-RPC against the built server (one root holding a 800 Hz tone; a folder beside it holding a "secret"
 * WAV): `..` traversal (absolute and relative), an absolute path outside, a symlink inside the root pointing out (to
 * a file and to a folder), a `file://` URI with an encoded `%2e%2e`, and /etc/passwd all raise exactly the Error of a
 * missing file (same type, code and message but for the URI itself), and the server logs why. A file inside the
 * root, by absolute path, file:// URI and relative path, plays: the phone hears 800 Hz.
 */
import "../helpers/loopbackNamespace.js";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import { startKorus } from "../helpers/server.js";
import { PlayerSession, toneWav } from "./playerFixtures.js";

t.setTimeout(90_000);
const work = mkdtempSync(join(tmpdir(), "korus-confine-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const root = join(work, "media");
const outside = join(work, "outside");
mkdirSync(root);
mkdirSync(outside);
writeFileSync(join(root, "tone.wav"), toneWav(800, 1));
writeFileSync(join(outside, "secret.wav"), toneWav(1200, 1));
symlinkSync(join(outside, "secret.wav"), join(root, "link.wav"));
symlinkSync(outside, join(root, "sub"));

const k = await startKorus(t, { workers: 1, config: { files: { mediaRoots: [root] } } });
const s = await PlayerSession.open(k.url);
t.teardown(() => s.close());

/** The Error of a URI with the URI itself taken out of the description, to compare refusals with one another. */
function shape(uri: string, e: Record<string, unknown> | undefined): string {
  return JSON.stringify({
    type: e?.["type"],
    errorCode: e?.["errorCode"],
    description: String(e?.["description"]).replace(uri, "<uri>"),
  });
}

t.test("outside the root, existing or not, is the same error as a missing file", async (t) => {
  const missing = join(root, "missing.wav");
  const reference = await s.play(missing);
  t.match(reference.error, { type: "RESOURCE_ERROR_NOT_FOUND", errorCode: 3 }, "a missing file: NOT_FOUND");
  t.equal(reference.error?.["description"], `file not found: ${missing}`);
  const expected = shape(missing, reference.error);
  const attacks = [
    `${root}/../outside/secret.wav`,
    "../outside/secret.wav",
    join(outside, "secret.wav"),
    join(outside, "missing.wav"),
    pathToFileURL(join(outside, "secret.wav")).href,
    `file://${root}/%2e%2e/outside/secret.wav`,
    `file://${root}/%2E%2E/%2e%2e/${work.split("/").slice(1).join("/")}/outside/secret.wav`,
    join(root, "link.wav"),
    pathToFileURL(join(root, "link.wav")).href,
    join(root, "sub", "secret.wav"),
    "/etc/passwd",
    "file:///etc/passwd",
  ];
  for (const uri of attacks) {
    const got = await s.play(uri);
    t.notOk(got.endOfStream, `${uri}: not played`);
    t.equal(shape(uri, got.error), expected, `${uri}: the same error as a missing file`);
  }
  t.match(k.output(), /outside files\.mediaRoots[^\n]*player file refused/, "the server logs the real reason");
});

t.test("a file inside the root plays (absolute, file://, relative): 800 Hz at the phone", async (t) => {
  for (const uri of [join(root, "tone.wav"), pathToFileURL(join(root, "tone.wav")).href, "tone.wav"]) {
    const got = await s.playToPhone(uri);
    t.equal(got.error, undefined, `${uri}: no Error`);
    t.ok(got.endOfStream, `${uri}: EndOfStream`);
    t.ok(got.packets >= 40, `${uri}: the phone received ${got.packets} packets`);
    t.ok(Math.abs(got.hz - 800) < 10, `${uri}: the phone hears ${got.hz.toFixed(1)} Hz`);
  }
});

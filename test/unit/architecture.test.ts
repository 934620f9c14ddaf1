/**
 * Enforces the import directions of architecture.md §4 by scanning every import specifier, so the layering holds
 * even if lint is bypassed: sdp/ imports nothing; sip/ only sdp/; media/ only sdp/ (werift only in media/webrtc/);
 * nothing outside test/ imports src/.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name);
    if (name === "node_modules" || name === "build") {
      continue;
    }
    if (statSync(join(ROOT, p)).isDirectory()) {
      out.push(...files(p));
    } else if (p.endsWith(".ts")) {
      out.push(p);
    }
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? "");
}

/** The top-level folder a relative specifier of `file` lands in, or null for a package / node: import. */
function target(file: string, spec: string): string | null {
  if (!spec.startsWith(".")) {
    return null;
  }
  return relative(ROOT, resolve(ROOT, dirname(file), spec)).split("/")[0] ?? null;
}

const violations = (folder: string, allowed: (file: string, spec: string, top: string | null) => boolean): string[] => {
  const bad: string[] = [];
  for (const f of files(folder)) {
    for (const spec of imports(f)) {
      if (!allowed(f, spec, target(f, spec))) {
        bad.push(`${f} imports ${spec}`);
      }
    }
  }
  return bad;
};

t.test("sdp/ imports nothing outside sdp/", async (t) => {
  t.same(
    violations("sdp", (_f, _s, top) => top === "sdp"),
    [],
  );
});

t.test("sip/ imports only sdp/, node built-ins and TypeBox (configuration schemas)", async (t) => {
  const npm = (spec: string): boolean => spec.startsWith("node:") || spec.startsWith("@sinclair/typebox");
  t.same(
    violations("sip", (_f, spec, top) => (top === null ? npm(spec) : top === "sip" || top === "sdp")),
    [],
  );
});

t.test("media/ imports only sdp/; werift only inside media/webrtc/", async (t) => {
  t.same(
    violations("media", (f, spec, top) => {
      if (top !== null) {
        return top === "media" || top === "sdp";
      }
      if (spec.startsWith("werift")) {
        return f.startsWith("media/webrtc/");
      }
      return true;
    }),
    [],
  );
});

t.test("nothing but test/ imports src/", async (t) => {
  const bad = ["sdp", "sip", "media", "bench"].flatMap((folder) =>
    violations(folder, (_f, _s, top) => top !== "src" && top !== "test"),
  );
  t.same(bad, []);
});

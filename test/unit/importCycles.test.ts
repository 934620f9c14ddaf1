/**
 * No import cycle among the files of sdp/, sip/, media/ and src/ (issue 10 §1 target), `import type` included: a
 * cycle of types is still two files that cannot be understood, tested or moved one without the other.
 *
 * The test reads every .ts file under the four folders, resolves each relative specifier (`./x.js` → `x.ts`, a
 * folder → its `index.ts`), finds the strongly connected components of the graph (Tarjan) and fails naming one cycle
 * per component, e.g. `media/core/A.ts -> media/transcode/B.ts -> media/core/A.ts`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FOLDERS = ["sdp", "sip", "media", "src"];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name);
    if (name === "node_modules" || name === "build") {
      continue;
    }
    if (statSync(join(ROOT, p)).isDirectory()) {
      out.push(...files(p));
    } else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) {
      out.push(p);
    }
  }
  return out;
}

/** `import … from`, `export … from`, `import "…"` and `import("…")`, after comments are removed. */
const SPECIFIER =
  /(?:^|\n|;)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|(?:^|\n|;)\s*import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

export function specifiers(source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...text.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** The repository-relative .ts file a relative specifier of `file` names, or null (package, node:, outside). */
export function resolveSpecifier(file: string, spec: string, exists: (p: string) => boolean): string | null {
  if (!spec.startsWith(".")) {
    return null;
  }
  const abs = resolve(dirname(file), spec);
  const candidates = [abs.replace(/\.js$/, ".ts"), `${abs}.ts`, join(abs, "index.ts")];
  for (const c of candidates) {
    if (exists(c)) {
      return c;
    }
  }
  return null;
}

/** One cycle per strongly connected component with more than one file (or a file importing itself). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w !== undefined) {
          onStack.delete(w);
          component.push(w);
        }
      } while (w !== undefined && w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) {
        components.push(component);
      }
    }
  };
  for (const v of [...graph.keys()].sort()) {
    if (!index.has(v)) {
      visit(v);
    }
  }
  return components.map((c) => cycleIn(graph, new Set(c)));
}

/** A shortest cycle through the alphabetically first file of a component (breadth-first inside it). */
function cycleIn(graph: ReadonlyMap<string, readonly string[]>, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0] ?? "";
  const prev = new Map<string, string>();
  const queue = [start];
  // The array iterator also visits what the loop pushes: a breadth-first walk.
  for (const v of queue) {
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) {
        continue;
      }
      if (w === start) {
        const path = [v];
        for (let p = prev.get(v); p !== undefined; p = prev.get(p)) {
          path.unshift(p);
        }
        return [...path, start];
      }
      if (!prev.has(w) && w !== start) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const folder of FOLDERS) {
    for (const f of files(folder)) {
      const abs = join(ROOT, f);
      const deps = specifiers(readFileSync(abs, "utf8"))
        .map((s) => resolveSpecifier(abs, s, existsSync))
        .filter((d): d is string => d !== null)
        .map((d) => relative(ROOT, d))
        .filter((d) => FOLDERS.includes(d.split("/")[0] ?? ""));
      graph.set(f, [...new Set(deps)]);
    }
  }
  return graph;
}

t.test("the parser sees every form of import, and not imports in comments", async (t) => {
  const src = [
    'import { a } from "./a.js";',
    'import type { B } from "../b/B.js";',
    "import {",
    "  c,",
    "  type D,",
    '} from "./c.js";',
    'export { e } from "./e.js";',
    'export * from "./f/index.js";',
    'import "./side.js";',
    'const g = await import("./g.js");',
    '// import { no } from "./line-comment.js";',
    '/** import { no } from "./block-comment.js"; */',
    'import os from "node:os";',
  ].join("\n");
  t.same(specifiers(src), [
    "./a.js",
    "../b/B.js",
    "./c.js",
    "./e.js",
    "./f/index.js",
    "./side.js",
    "./g.js",
    "node:os",
  ]);
  const have = new Set(["/r/x/a.ts", "/r/x/f/index.ts"]);
  t.equal(
    resolveSpecifier("/r/x/m.ts", "./a.js", (p) => have.has(p)),
    "/r/x/a.ts",
  );
  t.equal(
    resolveSpecifier("/r/x/m.ts", "./f", (p) => have.has(p)),
    "/r/x/f/index.ts",
  );
  t.equal(
    resolveSpecifier("/r/x/m.ts", "node:os", (p) => have.has(p)),
    null,
  );
});

t.test("cycles are found and named; a diamond is not a cycle", async (t) => {
  const graph = new Map<string, string[]>([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "d"]],
    ["d", []],
    ["e", ["e"]],
    ["f", ["g", "h"]],
    ["g", ["d"]],
    ["h", ["d"]],
  ]);
  t.same(
    findCycles(graph)
      .map((c) => c.join(" -> "))
      .sort(),
    ["a -> b -> c -> a", "e -> e"],
  );
});

t.test("no import cycle among the files of sdp/, sip/, media/ and src/", async (t) => {
  const graph = importGraph();
  t.ok(graph.size > 150, `${graph.size} files read`);
  t.ok(
    (graph.get("media/channel/WorkerDispatcher.ts") ?? []).includes("media/core/MediaPipeline.ts"),
    "the graph holds real edges",
  );
  const cycles = findCycles(graph).map((c) => c.join(" -> "));
  t.same(cycles, [], `import cycles:\n${cycles.join("\n")}`);
});

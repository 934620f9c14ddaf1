/**
 * A small parser of the Prometheus text exposition format (version 0.0.4) for tests: every sample as
 * `{name, labels, value}`, and the `# TYPE` of every family.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [name = "", type = ""] = line.slice(7).split(" ");
      types.set(name, type);
      continue;
    }
    if (line === "" || line.startsWith("#")) {
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) {
      throw new Error(`not a sample line: ${line}`);
    }
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) {
      labels[l[1] ?? ""] = (l[2] ?? "").replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    }
    const raw = m[3] ?? "";
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    samples.push({ name: m[1] ?? "", labels, value });
  }
  return { samples, types };
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) {
    throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return found[0]?.value;
}

/** The sum of every sample of `name` whose labels include `labels` (0 when none). */
export function sampleSum(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

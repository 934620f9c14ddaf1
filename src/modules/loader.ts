/**
 * Resolves the modules of a start-up (docs/modules.md): Korus's built-in ones, then the `modules:` entries of the
 * configuration. Every failure is a {@link ModuleError} naming the module; start-up stops on it.
 *
 * 1. Each entry's manifest and descriptor are read and checked (manifest.ts, descriptor.ts).
 * 2. Names are unique; every dependency (manifest `dependencies` and kmd `imports`) is Kurento's (core, elements,
 *    filters) or another module; there is no dependency cycle.
 * 3. Modules are ordered dependencies first (stable: otherwise in configuration order).
 * 4. The descriptors are added to the KmdRegistry one module at a time, so that a name described twice or a class
 *    extending an unknown one is blamed on the module that brought it.
 */
import type { WorkerModule } from "../../media/index.js";
import { KmdRegistry, type KmdModule } from "../kurento/kmd.js";
import { ModuleError } from "./ModuleError.js";
import { readModule, type ModuleDefinition } from "./manifest.js";

export interface ResolvedModules {
  /** In load order. */
  readonly modules: readonly ModuleDefinition[];
  readonly kmd: KmdRegistry;
}

/**
 * @param builtin Korus's own modules (first, in this order).
 * @param specs the configuration's `modules:` entries.
 * @throws ModuleError naming the first module that cannot be loaded.
 */
export function resolveModules(
  builtin: readonly ModuleDefinition[],
  specs: readonly string[],
  cwd: string = process.cwd(),
): ResolvedModules {
  const official = KmdRegistry.official();
  const all = [...builtin, ...specs.map((s) => readModule(s, cwd))];
  const byName = new Map<string, ModuleDefinition>();
  for (const m of all) {
    const had = byName.get(m.name);
    if (had !== undefined || official.some((o) => o.name === m.name)) {
      throw new ModuleError(m.name, `the name is taken (by ${had === undefined ? "Kurento" : had.source})`);
    }
    byName.set(m.name, m);
  }
  const ordered = order(all, byName, new Set(official.map((o) => o.name)));
  const kmds: KmdModule[] = [...official];
  let kmd: KmdRegistry | undefined;
  for (const m of ordered) {
    kmds.push(m.kmd);
    try {
      kmd = new KmdRegistry(kmds);
    } catch (err) {
      throw new ModuleError(m.name, `descriptor rejected: ${(err as Error).message}`, { cause: err });
    }
  }
  return { modules: ordered, kmd: kmd ?? new KmdRegistry(kmds) };
}

/** Dependencies first, otherwise in the given order. @throws ModuleError on a missing dependency or a cycle. */
function order(
  all: readonly ModuleDefinition[],
  byName: ReadonlyMap<string, ModuleDefinition>,
  kurento: ReadonlySet<string>,
): ModuleDefinition[] {
  for (const m of all) {
    for (const d of m.dependencies) {
      if (!kurento.has(d) && !byName.has(d)) {
        throw new ModuleError(m.name, `depends on module '${d}', which is not loaded (add it to 'modules:')`);
      }
    }
  }
  const out: ModuleDefinition[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (m: ModuleDefinition, chain: string[]): void => {
    const s = state.get(m.name);
    if (s === "done") {
      return;
    }
    if (s === "visiting") {
      throw new ModuleError(m.name, `dependency cycle: ${[...chain, m.name].join(" -> ")}`);
    }
    state.set(m.name, "visiting");
    for (const d of m.dependencies) {
      const dep = byName.get(d);
      if (dep !== undefined) {
        visit(dep, [...chain, m.name]);
      }
    }
    state.set(m.name, "done");
    out.push(m);
  };
  for (const m of all) {
    visit(m, []);
  }
  return out;
}

/** What each media worker loads: the modules' worker entries in order, with the types each may register. */
export function workerModules(modules: readonly ModuleDefinition[]): WorkerModule[] {
  return modules.map((m) => ({
    name: m.name,
    worker: m.worker,
    types: m.kmd.remoteClasses.filter((c) => c.abstract !== true).map((c) => c.name),
  }));
}

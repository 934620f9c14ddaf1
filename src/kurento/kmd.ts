/**
 * Kurento interface descriptors (`*.kmd.json`) as the single source of truth for the object model.
 *
 * The official descriptors ship in the npm packages kurento-client-core, kurento-client-elements and
 * kurento-client-filters (7.3.0); every Korus module adds its own (same format; Korus's SIP types are the module "korus",
 * src/kurento/korusKmd.ts, loaded through the module door like a third party's, docs/modules.md). From them this
 * module builds, per class: the `describe` hierarchy, constructor parameters with defaults, every
 * method and property (inherited ones included) and the events `subscribe` accepts. Parameter validation
 * (40001 naming the field) is in validate.ts.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface KmdParam {
  name: string;
  type: string;
  optional?: boolean;
  defaultValue?: unknown;
}
export interface KmdMethod {
  name: string;
  params: KmdParam[];
  return?: { type: string };
}
export interface KmdProperty {
  name: string;
  type: string;
  final?: boolean;
  readOnly?: boolean;
}
export interface KmdRemoteClass {
  name: string;
  extends?: string;
  abstract?: boolean;
  constructor?: { params: KmdParam[] };
  properties?: KmdProperty[];
  methods?: KmdMethod[];
  events?: string[];
}
export interface KmdComplexType {
  name: string;
  typeFormat: "ENUM" | "REGISTER";
  extends?: string;
  values?: string[];
  properties?: (KmdProperty & { optional?: boolean; defaultValue?: unknown })[];
}
export interface KmdEvent {
  name: string;
  extends?: string;
  properties: KmdProperty[];
}
/**
 * Korus additions to a class another module describes (e.g. `sendDtmf` and `DtmfReceived` on Kurento's
 * RtpEndpoint). Not part of Kurento's kmd format: kurento-client's code generator ignores unknown keys.
 */
export interface KmdClassExtension {
  class: string;
  constructorParams?: KmdParam[];
  methods?: KmdMethod[];
  events?: string[];
}
export interface KmdModule {
  name: string;
  version: string;
  kurentoVersion?: string;
  imports?: unknown[];
  code?: unknown;
  remoteClasses: KmdRemoteClass[];
  complexTypes: KmdComplexType[];
  events: KmdEvent[];
  extensions?: KmdClassExtension[];
  /** Korus additions to an ENUM another module describes (e.g. the WAV and OGG recording profiles). */
  enumExtensions?: { type: string; values: string[] }[];
}

/** An operation callable through `invoke`: a method, or a property getter/setter. */
export type Operation =
  | { kind: "method"; method: KmdMethod; owner: string }
  | { kind: "get"; property: KmdProperty; owner: string }
  | { kind: "set"; property: KmdProperty; owner: string };

export interface ClassInfo {
  name: string;
  /** Kurento module of the class: "core", "elements", "filters", "korus". */
  module: string;
  /** `kurento.X` for core/elements/filters, else `<module>.X`. */
  qualifiedName: string;
  abstract: boolean;
  /** Ancestors, nearest first, qualified (describe's `hierarchy`). */
  hierarchy: string[];
  /** Ancestor names, nearest first, unqualified. */
  ancestors: string[];
  constructorParams: KmdParam[];
  operations: Map<string, Operation>;
  events: Set<string>;
}

/** KMS 6.x event spellings → KMS 7 names (kurento-protocol.md §9). Subscriptions accept both. */
export const EVENT_ALIASES: Readonly<Record<string, string>> = {
  OnIceCandidate: "IceCandidateFound",
  OnIceGatheringDone: "IceGatheringDone",
  OnIceComponentStateChanged: "IceComponentStateChanged",
  IceComponentStateChange: "IceComponentStateChanged",
  OnDataChannelOpened: "DataChannelOpened",
  DataChannelOpen: "DataChannelOpened",
  OnDataChannelClosed: "DataChannelClosed",
  DataChannelClose: "DataChannelClosed",
  MediaFlowInStateChange: "MediaFlowInStateChanged",
  MediaFlowOutStateChange: "MediaFlowOutStateChanged",
  MediaTranscodingStateChange: "MediaTranscodingStateChanged",
};

const KURENTO_MODULES = new Set(["core", "elements", "filters"]);

function loadOfficial(pkg: string, file: string): KmdModule {
  const require = createRequire(import.meta.url);
  return JSON.parse(readFileSync(require.resolve(`${pkg}/src/${file}`), "utf8")) as KmdModule;
}

export class KmdRegistry {
  readonly modules: readonly KmdModule[];
  readonly #classes = new Map<string, ClassInfo>();
  readonly #complex = new Map<string, KmdComplexType & { module: string }>();
  readonly #raw = new Map<string, { module: string; cls: KmdRemoteClass }>();
  readonly #kmdText = new Map<string, string>();

  constructor(modules: readonly KmdModule[]) {
    this.modules = modules;
    const events = new Map<string, string>();
    for (const m of modules) {
      if (this.#kmdText.has(m.name)) {
        throw new TypeError(`kmd: module '${m.name}' is described twice`);
      }
      this.#kmdText.set(m.name, JSON.stringify(m));
      for (const c of m.remoteClasses) {
        KmdRegistry.#unique(
          m.name,
          "class",
          c.name,
          this.#raw.get(c.name)?.module ?? this.#complex.get(c.name)?.module,
        );
        this.#raw.set(c.name, { module: m.name, cls: c });
      }
      for (const t of m.complexTypes) {
        KmdRegistry.#unique(m.name, "type", t.name, this.#raw.get(t.name)?.module ?? this.#complex.get(t.name)?.module);
        this.#complex.set(t.name, { ...t, module: m.name });
      }
      for (const e of m.events) {
        KmdRegistry.#unique(m.name, "event", e.name, events.get(e.name));
        events.set(e.name, m.name);
      }
    }
    for (const m of modules) {
      for (const ext of m.enumExtensions ?? []) {
        const t = this.#complex.get(ext.type);
        if (t?.typeFormat !== "ENUM") {
          throw new TypeError(`kmd: module '${m.name}' extends unknown enum '${ext.type}'`);
        }
        this.#complex.set(ext.type, { ...t, values: [...(t.values ?? []), ...ext.values] });
      }
      for (const ext of m.extensions ?? []) {
        const raw = this.#raw.get(ext.class);
        if (raw === undefined) {
          throw new TypeError(`kmd: module '${m.name}' extends unknown class '${ext.class}'`);
        }
        const cls = raw.cls;
        this.#raw.set(ext.class, {
          module: raw.module,
          cls: {
            ...cls,
            constructor: { params: [...(cls.constructor?.params ?? []), ...(ext.constructorParams ?? [])] },
            methods: [...(cls.methods ?? []), ...(ext.methods ?? [])],
            events: [...(cls.events ?? []), ...(ext.events ?? [])],
          },
        });
      }
    }
    for (const name of this.#raw.keys()) {
      this.#resolve(name);
    }
  }

  /** @throws TypeError when `name` (a class, complex type or event) is already described by module `had`. */
  static #unique(module: string, what: string, name: string, had: string | undefined): void {
    if (had !== undefined) {
      throw new TypeError(
        `kmd: module '${module}' describes ${what} '${name}', which module '${had}' already describes`,
      );
    }
  }

  /** Kurento's official 7.3.0 descriptors (modules core, elements and filters). */
  static official(): KmdModule[] {
    return [
      loadOfficial("kurento-client-core", "core.kmd.json"),
      loadOfficial("kurento-client-elements", "elements.kmd.json"),
      loadOfficial("kurento-client-filters", "filters.kmd.json"),
    ];
  }

  /**
   * The official descriptors plus the modules' (Korus's own "korus" module first, then the configured ones).
   * @throws TypeError when two modules describe the same name, or a class extends one nobody describes.
   */
  static load(modules: readonly KmdModule[] = []): KmdRegistry {
    return new KmdRegistry([...KmdRegistry.official(), ...modules]);
  }

  static qualify(module: string, name: string): string {
    return `${KURENTO_MODULES.has(module) ? "kurento" : module}.${name}`;
  }

  #resolve(name: string): ClassInfo {
    const done = this.#classes.get(name);
    if (done !== undefined) {
      return done;
    }
    const raw = this.#raw.get(name);
    if (raw === undefined) {
      throw new TypeError(`kmd: class '${name}' is not described`);
    }
    const parent = raw.cls.extends !== undefined ? this.#resolve(raw.cls.extends) : undefined;
    const operations = new Map<string, Operation>(parent?.operations);
    const events = new Set<string>(parent?.events);
    for (const p of raw.cls.properties ?? []) {
      // Only the first letter is upper-cased: ICECandidatePairs → getICECandidatePairs.
      const cap = p.name.charAt(0).toUpperCase() + p.name.slice(1);
      operations.set(`get${cap}`, { kind: "get", property: p, owner: name });
      if (p.final !== true && p.readOnly !== true) {
        operations.set(`set${cap}`, { kind: "set", property: p, owner: name });
      }
    }
    for (const m of raw.cls.methods ?? []) {
      operations.set(m.name, { kind: "method", method: m, owner: name });
    }
    for (const e of raw.cls.events ?? []) {
      events.add(e);
    }
    const info: ClassInfo = {
      name,
      module: raw.module,
      qualifiedName: KmdRegistry.qualify(raw.module, name),
      abstract: raw.cls.abstract === true,
      hierarchy: parent === undefined ? [] : [parent.qualifiedName, ...parent.hierarchy],
      ancestors: parent === undefined ? [] : [parent.name, ...parent.ancestors],
      constructorParams: raw.cls.constructor?.params ?? [],
      operations,
      events,
    };
    this.#classes.set(name, info);
    return info;
  }

  /** Looks up `WebRtcEndpoint`, `kurento.WebRtcEndpoint` or `korus.SipEndpoint`. */
  classByType(type: string): ClassInfo | undefined {
    const dot = type.lastIndexOf(".");
    if (dot < 0) {
      return this.#classes.get(type);
    }
    const info = this.#classes.get(type.slice(dot + 1));
    return info?.qualifiedName === type ? info : undefined;
  }

  isA(info: ClassInfo, ancestor: string): boolean {
    return info.name === ancestor || info.ancestors.includes(ancestor);
  }

  complexType(name: string): (KmdComplexType & { module: string }) | undefined {
    return this.#complex.get(name);
  }

  isRemoteClass(name: string): boolean {
    return this.#raw.has(name);
  }

  /** The kmd JSON of a module, for ServerManager.getKmd. */
  kmd(module: string): string | undefined {
    return this.#kmdText.get(module);
  }

  /** Canonical (KMS 7) event name for `name` on `info`, accepting 6.x aliases; undefined if not supported. */
  canonicalEvent(info: ClassInfo, name: string): string | undefined {
    if (info.events.has(name)) {
      return name;
    }
    const alias = EVENT_ALIASES[name];
    return alias !== undefined && info.events.has(alias) ? alias : undefined;
  }

  /** Concrete classes of a module, for ServerInfo.modules[].factories. */
  factories(module: string): string[] {
    return [...this.#classes.values()].filter((c) => c.module === module && !c.abstract).map((c) => c.name);
  }
}

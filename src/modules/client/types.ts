/**
 * Type references of a kmd descriptor, resolved the way Kurento's module creator resolves them (its `TypeRef` and
 * `Type.getQualifiedName()`): `X[]` is a list, `X<>` a map, `mod.X` names the module; a type of core, elements or
 * filters is qualified `kurento.X`, a type of another module `<module>.X`, and a primitive keeps its bare name.
 */
import type { KmdComplexType, KmdModule } from "../../kurento/kmd.js";

/** The primitive types of the kmd format (they have no module). */
const PRIMITIVES = new Set(["String", "boolean", "int", "int64", "float", "double"]);
const KURENTO_MODULES = new Set(["core", "elements", "filters"]);

export interface TypeRef {
  /** The bare type name, without `[]`, `<>` or module prefix. */
  name: string;
  isList: boolean;
  isMap: boolean;
}

/** Parses a kmd type reference (`String`, `IceCandidate[]`, `String<>`, `core.MediaType`). @throws TypeError */
export function parseTypeRef(ref: string): TypeRef {
  const isList = ref.endsWith("[]");
  const isMap = ref.endsWith("<>");
  const bare = isList || isMap ? ref.slice(0, -2) : ref;
  const parts = bare.split(".");
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) {
    throw new TypeError(`kmd: invalid type reference ${JSON.stringify(ref)}`);
  }
  return { name: parts[parts.length - 1] ?? bare, isList, isMap };
}

export type TypeKind = "primitive" | "remoteClass" | "enum" | "register";

export interface ResolvedType {
  kind: TypeKind;
  /** Module that declares it ("" for primitives). */
  module: string;
  abstract: boolean;
}

/** Every type the generated module can name: its own, and those of the modules it builds on. */
export class TypeIndex {
  readonly #types = new Map<string, ResolvedType>();
  readonly #complex = new Map<string, KmdComplexType>();
  readonly module: string;

  /** `module` is the descriptor being generated; `known` are the descriptors its types may refer to. */
  constructor(module: KmdModule, known: readonly KmdModule[]) {
    this.module = module.name;
    for (const m of [...known.filter((k) => k.name !== module.name), module]) {
      for (const c of m.remoteClasses) {
        this.#types.set(c.name, { kind: "remoteClass", module: m.name, abstract: c.abstract === true });
      }
      for (const t of m.complexTypes) {
        this.#types.set(t.name, {
          kind: t.typeFormat === "ENUM" ? "enum" : "register",
          module: m.name,
          abstract: false,
        });
        this.#complex.set(t.name, t);
      }
    }
  }

  /** @throws TypeError when the type is neither primitive nor declared by a known module */
  resolve(name: string): ResolvedType {
    if (PRIMITIVES.has(name)) {
      return { kind: "primitive", module: "", abstract: false };
    }
    const t = this.#types.get(name);
    if (t === undefined) {
      throw new TypeError(`kmd: module '${this.module}' refers to unknown type '${name}'`);
    }
    return t;
  }

  /** kurento-client's name for the type: `kurento.X`, `<module>.X`, or the primitive's own name. */
  qualifiedName(name: string): string {
    const t = this.resolve(name);
    if (t.kind === "primitive") {
      return name;
    }
    return `${KURENTO_MODULES.has(t.module) ? "kurento" : t.module}.${name}`;
  }

  /** JSDoc name path (module creator's `namepath` macro): `module:korus.SipEndpoint`, `external:String`. */
  namepath(name: string): string {
    const t = this.resolve(name);
    switch (t.kind) {
      case "primitive":
        return name === "int" || name === "int64"
          ? "external:Integer"
          : name === "String"
            ? "external:String"
            : name === "boolean"
              ? "external:Boolean"
              : "external:Number";
      case "remoteClass":
        return `module:${t.module}${t.abstract ? "/abstracts" : ""}.${name}`;
      default:
        return `module:${t.module}/complexTypes.${name}`;
    }
  }

  /** The properties of a REGISTER complex type, inherited ones first. @throws TypeError */
  registerFields(name: string): NonNullable<KmdComplexType["properties"]> {
    const t = this.#complex.get(name);
    if (t === undefined) {
      throw new TypeError(`kmd: module '${this.module}' refers to unknown complex type '${name}'`);
    }
    return [...(t.extends === undefined ? [] : this.registerFields(t.extends)), ...(t.properties ?? [])];
  }

  /** Is `name` a remote class (a value the server sends as an object id)? */
  isRemoteClass(name: string): boolean {
    return this.resolve(name).kind === "remoteClass";
  }

  /** Is `name` a REGISTER complex type declared by the generated module itself? */
  isOwnRegister(name: string): boolean {
    const t = this.resolve(name);
    return t.kind === "register" && t.module === this.module;
  }
}

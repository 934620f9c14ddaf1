/**
 * Configuration checked against a TypeBox schema (issue 10 §3). One declaration per setting gives its TypeScript
 * type (`Static`), its default (`default:`), its check and its documentation (`description:`).
 *
 * {@link checkSchema} fills the defaults (a `null`, YAML's `key:` without a value, counts as absent where the key
 * has a default), checks the value, then runs the rules attached with {@link refine} (cross-field checks), and
 * returns the typed value or the first issue: the key path (`sip.trunks[0].peers[1]`), what was expected and what
 * was given.
 *
 * It lives in `sip/` because that is the lowest layer allowed a third-party import: `sip/trunk` checks trunk
 * definitions with it and `src/config` the whole file, so both report errors the same way. Annotations read
 * besides the standard keywords: `expected` (what a string with a `pattern` must be, in words), `secret` (never
 * echo the given value), `keyNoun` (the word for an unknown key of this mapping, default "key"); the README
 * generator also reads `env` and `defaultText`.
 */
import { KindGuard, type Static, type TSchema } from "@sinclair/typebox";
import { Value, ValueErrorType } from "@sinclair/typebox/value";

/** What is wrong and where: `path` is dotted with list indices (`kurento.tokens[1].token`). */
export interface SchemaIssue {
  readonly path: string;
  readonly reason: string;
}

/** A rule's finding, relative to the value it checked: `at` is `""` (the value itself), `.key` or `[i].key`. */
export interface RefineIssue {
  readonly at?: string;
  readonly reason: string;
}

type Rule = (value: unknown) => RefineIssue | undefined;
const rules = new WeakMap<TSchema, Rule>();

/**
 * Attaches a rule that runs once the value is structurally valid (children before their parent), for checks that
 * a schema keyword cannot say: cross-field conditions, unique names, regular expressions that must compile.
 * @returns the same schema.
 */
export function refine<S extends TSchema>(schema: S, rule: (value: Static<S>) => RefineIssue | undefined): S {
  rules.set(schema, (value) => (Value.Check(schema, value) ? rule(value) : undefined));
  return schema;
}

/** A string annotation of the schema (`expected`, `env`, `defaultText`…), if set. */
export function annotation(schema: TSchema, key: string): string | undefined {
  const v: unknown = schema[key];
  return typeof v === "string" ? v : undefined;
}

/** `must be …` in words, from the schema's keywords (or its `expected` annotation). */
export function expectedOf(schema: TSchema): string {
  const annotated = annotation(schema, "expected");
  if (annotated !== undefined) {
    return annotated;
  }
  if (KindGuard.IsInteger(schema) || KindGuard.IsNumber(schema)) {
    const kind = KindGuard.IsInteger(schema) ? "an integer" : "a number";
    const { minimum: min, maximum: max } = schema;
    if (min !== undefined && max !== undefined) {
      return `${kind} from ${min} to ${max}`;
    }
    return min !== undefined ? `${kind} of at least ${min}` : max !== undefined ? `${kind} up to ${max}` : kind;
  }
  if (KindGuard.IsString(schema)) {
    return schema.minLength !== undefined && schema.minLength > 0 ? "a non-empty string" : "a string";
  }
  if (KindGuard.IsBoolean(schema)) {
    return "true or false";
  }
  if (KindGuard.IsUnion(schema) && schema.anyOf.every((s) => KindGuard.IsLiteral(s))) {
    return `one of ${schema.anyOf.map((s) => String(s.const)).join(", ")}`;
  }
  if (KindGuard.IsArray(schema)) {
    return schema.minItems !== undefined && schema.minItems > 0 ? "a non-empty list" : "a list";
  }
  if (KindGuard.IsObject(schema)) {
    return "a mapping";
  }
  return "valid";
}

/** `/sip/trunks/0/peers` → `sip.trunks[0].peers` under `base`. */
function dotted(base: string, pointer: string): string {
  let out = base;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out = /^\d+$/.test(key) ? `${out}[${key}]` : out === "" ? key : `${out}.${key}`;
  }
  return out === "" ? "(root)" : out;
}

function given(schema: TSchema, value: unknown): string {
  if (schema["secret"] === true) {
    return "";
  }
  return `, got ${value === undefined ? "nothing" : JSON.stringify(value)}`;
}

/**
 * Prepares a value for `Value.Default`: deletes `null` values of keys that have a default, so that the default
 * applies (YAML `key:` means "default"), and reports a list where a mapping belongs (`Value.Default` would merge
 * the list's items into the mapping's default as keys "0", "1"…).
 */
function prepare(schema: TSchema, value: unknown, path: string): SchemaIssue | undefined {
  if (KindGuard.IsArray(schema) && Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const issue = prepare(schema.items, value[i], `${path}[${i}]`);
      if (issue !== undefined) {
        return issue;
      }
    }
  } else if (KindGuard.IsObject(schema) && Array.isArray(value)) {
    return { path: path || "(root)", reason: `must be ${expectedOf(schema)}${given(schema, value)}` };
  } else if (KindGuard.IsObject(schema) && typeof value === "object" && value !== null) {
    const record: Record<string, unknown> = { ...value };
    for (const [key, child] of Object.entries(schema.properties)) {
      if (record[key] === null && "default" in child) {
        Reflect.deleteProperty(value, key);
        continue;
      }
      const issue = prepare(child, record[key], path === "" ? key : `${path}.${key}`);
      if (issue !== undefined) {
        return issue;
      }
    }
  }
  return undefined;
}

/** Runs the refinement rules over a structurally valid value, children first; the first issue wins. */
function runRules(schema: TSchema, value: unknown, path: string): SchemaIssue | undefined {
  if (KindGuard.IsArray(schema) && Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const issue = runRules(schema.items, value[i], `${path}[${i}]`);
      if (issue !== undefined) {
        return issue;
      }
    }
  } else if (KindGuard.IsObject(schema) && typeof value === "object" && value !== null) {
    const record: Record<string, unknown> = { ...value };
    for (const [key, child] of Object.entries(schema.properties)) {
      if (record[key] !== undefined) {
        const issue = runRules(child, record[key], path === "" ? key : `${path}.${key}`);
        if (issue !== undefined) {
          return issue;
        }
      }
    }
  }
  const found = rules.get(schema)?.(value);
  return found === undefined ? undefined : { path: `${path}${found.at ?? ""}` || "(root)", reason: found.reason };
}

export type SchemaResult<S extends TSchema> =
  { readonly ok: true; readonly value: Static<S> } | { readonly ok: false; readonly issue: SchemaIssue };

/**
 * Fills defaults into a copy of `input`, checks it and runs the refinement rules.
 * @param path where the value sits, the prefix of every issue path (`""` for the document root).
 */
export function checkSchema<S extends TSchema>(schema: S, input: unknown, path: string): SchemaResult<S> {
  const copy: unknown = input === undefined || input === null ? undefined : Value.Clone(input);
  const shape = prepare(schema, copy, path);
  if (shape !== undefined) {
    return { ok: false, issue: shape };
  }
  const value: unknown = Value.Default(schema, copy);
  const error = Value.Errors(schema, value).First();
  if (error !== undefined) {
    const at = dotted(path, error.path);
    if (error.type === ValueErrorType.ObjectAdditionalProperties) {
      const noun = annotation(error.schema, "keyNoun") ?? "key";
      const known = KindGuard.IsObject(error.schema) ? Object.keys(error.schema.properties).join(", ") : "";
      return { ok: false, issue: { path: at, reason: `unknown ${noun} (known: ${known})` } };
    }
    if (error.type === ValueErrorType.ObjectRequiredProperty) {
      return { ok: false, issue: { path: at, reason: `is required: ${expectedOf(error.schema)}` } };
    }
    const reason = `must be ${expectedOf(error.schema)}${given(error.schema, error.value)}`;
    return { ok: false, issue: { path: at, reason } };
  }
  if (!Value.Check(schema, value)) {
    return { ok: false, issue: { path: path || "(root)", reason: "is not valid" } };
  }
  const issue = runRules(schema, value, path);
  return issue === undefined ? { ok: true, value } : { ok: false, issue };
}

/** Builds a `pattern` that matches exactly one of `values`, ignoring case (JSON Schema patterns carry no flags). */
export function anyCasePattern(values: readonly string[]): string {
  const one = (v: string): string =>
    [...v]
      .map((c) => {
        const lower = c.toLowerCase();
        const upper = c.toUpperCase();
        return lower === upper ? c.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&") : `[${lower}${upper}]`;
      })
      .join("");
  return `^(?:${values.map(one).join("|")})$`;
}

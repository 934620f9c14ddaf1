/**
 * The `korus module client <module> [--out DIR]` subcommand (dispatched by src/cli.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateClient, loadClientSource, nodeNameOf, writeClient } from "./generate.js";

export const MODULE_CLIENT_USAGE = `usage: korus module client <module> [--out DIR]

  Generates the kurento-client JavaScript module of a Korus module from its kmd descriptor, in the layout of
  Kurento's generated modules. <module> is "korus" (Korus's own SIP types), a module folder (its package.json
  names the kmd file in its "korus" field) or a kmd JSON file. DIR defaults to ./<npm name of the module>; its
  lib/ is replaced, other files in it are kept.
`;

export interface ModuleClientArgs {
  module: string;
  out: string | null;
}

/** Parses the arguments after `module client`. @throws the error `usageError` makes */
export function parseModuleClientArgs(
  argv: readonly string[],
  usageError: (message: string) => Error,
): ModuleClientArgs {
  let module: string | null = null;
  let out: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--out" || arg.startsWith("--out=")) {
      const value = arg === "--out" ? argv[++i] : arg.slice("--out=".length);
      if (value === undefined || value === "") {
        throw usageError("--out needs a value");
      }
      out = value;
    } else if (arg.startsWith("-")) {
      throw usageError(`unknown argument ${JSON.stringify(arg)}`);
    } else if (module === null) {
      module = arg;
    } else {
      throw usageError(`one module only, got ${JSON.stringify(module)} and ${JSON.stringify(arg)}`);
    }
  }
  if (module === null) {
    throw usageError("module client needs a module (korus, a module folder or a kmd file)");
  }
  return { module, out };
}

/** The README usage text of Korus's own module (kept next to the generator, written by hand). */
export function korusUsage(root: URL): string | undefined {
  const file = fileURLToPath(new URL("src/modules/client/korus.usage.md", root));
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

/** Runs `korus module client`; returns the output folder. @throws TypeError for a bad descriptor */
export function moduleClient(args: ModuleClientArgs, root: URL): string {
  const source = loadClientSource(args.module, args.module === "korus" ? korusUsage(root) : undefined);
  const out = path.resolve(args.out ?? nodeNameOf(source.kmd));
  writeClient(out, generateClient(source.kmd, source.options));
  return out;
}

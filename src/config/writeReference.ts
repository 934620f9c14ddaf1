/**
 * `npm run docs:config`: regenerates the configuration tables of README.md (or the file given) from the schema,
 * between the `config-reference` markers; the npm script formats the file with prettier afterwards.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { readmeBlocks, updateReadme } from "./reference.js";

const file = process.argv[2] ?? "README.md";
const before = readFileSync(file, "utf8");
const after = updateReadme(before);
writeFileSync(file, after);
process.stdout.write(`${file}: ${readmeBlocks(after).size} configuration tables written from the schema\n`);

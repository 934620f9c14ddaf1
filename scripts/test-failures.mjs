// Prints every failed assertion of the last tap run, read from tap's per-file results (.tap/test-results), so that a
// failure is the last thing a CI log shows, after the coverage table. Used by .ci/run when `npm test` fails.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = ".tap/test-results";
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      walk(path);
    } else if (name.endsWith(".tap")) {
      files.push(path);
    }
  }
};
try {
  walk(root);
} catch {
  console.log("test-failures: no tap results to read");
  process.exit(0);
}
let failed = 0;
for (const file of files.sort()) {
  const lines = readFileSync(file, "utf8").split("\n");
  const shown = [];
  lines.forEach((line, i) => {
    if (/^\s*not ok /.test(line)) {
      shown.push(line.trim());
      // The YAML block under the failure: expected/found, stack, source; enough to name the cause.
      for (let j = i + 1; j < Math.min(lines.length, i + 24) && !/^\s*(ok|not ok) /.test(lines[j]); j++) {
        shown.push(`    ${lines[j].trim()}`);
      }
    }
  });
  if (shown.length > 0) {
    failed++;
    console.log(`\n=== ${relative(root, file).replace(/\.tap$/, "")}`);
    console.log(shown.join("\n"));
  }
}
console.log(`\ntest-failures: ${failed} test file(s) with failed assertions`);

/** The command-line plumbing the outside benchmarks share. */
import { pathToFileURL } from "node:url";

/** The value after `name` on the command line, if given. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** True when the module at `url` (its `import.meta.url`) is the script node was started with. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

/** Prints a benchmark's report and exits 0, or prints its error and exits 1. */
export function printReport(report: Promise<string>): void {
  report.then(
    (out) => {
      console.log(out);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

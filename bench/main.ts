/**
 * `npm run bench`: measures stepwise against raw better-sqlite3 at N = 100, 1,000 and 10,000, and
 * every driver against the same work hand-written on it, under its own runtime; prints markdown
 * tables and writes the full samples to bench/results/.
 *
 * Options: `--sizes 100,1000` to measure other sizes, `--keep` to keep the workload folders.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderMarkdown } from "./report.js";
import { defaultRunCounts, runBench } from "./run-bench.js";
import { repoRoot } from "./workload.js";

const args = process.argv.slice(2);
const sizesFlag = args.indexOf("--sizes");
const sizes = sizesFlag === -1 ? [100, 1_000, 10_000] : args[sizesFlag + 1]!.split(",").map(Number);
if (sizes.some((size) => !Number.isSafeInteger(size) || size < 1)) {
  console.error("usage: npm run bench -- [--sizes 100,1000,10000] [--keep]");
  process.exit(2);
}

const started = performance.now();
const result = await runBench({
  sizes,
  runs: defaultRunCounts,
  keep: args.includes("--keep"),
  onProgress: (message) => console.error(`${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  ${message}`),
});
const markdown = renderMarkdown(result);
console.log(markdown);

const resultsDir = path.join(repoRoot, "bench", "results");
mkdirSync(resultsDir, { recursive: true });
const stamp = result.startedAt.replace(/[:.]/g, "-");
writeFileSync(path.join(resultsDir, `bench-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(path.join(resultsDir, "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(path.join(resultsDir, "latest.md"), `${markdown}\n`);
console.error(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; JSON in bench/results/`);

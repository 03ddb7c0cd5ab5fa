/**
 * `npm run bench`: measures stepwise against raw better-sqlite3 at N = 100, 1,000 and 10,000, every
 * driver against the same work hand-written on it, under its own runtime, and stepwise-migrate/pg against a
 * hand-written `pg` loop, node-pg-migrate, Kysely and Knex on one embedded PostgreSQL server; prints
 * markdown tables and writes the full samples to bench/results/.
 *
 * Options: `--sizes 100,1000` to measure other sizes, `--keep` to keep the workload folders,
 * `--only sqlite` or `--only pg` to run one half, `--pg-size N` and `--pg-rounds N` for the pg half,
 * `--pg-apply-size N` and `--pg-apply-pairs N` for its interleaved apply phase (`--pg-apply-pairs 0`
 * skips it), `--only pg-apply` for that phase alone (`--pg-apply-sides stepwise,hand` to time only
 * those sides, and judge only the comparisons between them),
 * `--only bundles` for the driver entries' bundle sizes alone (measured first in every run: seconds),
 * `--only verify` for the start-up verify alone (cold against the stored expected schema),
 * `--only registry-load` for the bin's import-free registry path against tsx's loader alone,
 * `--only peers` for stepwise beside Umzug, Kysely, Knex and drizzle on SQLite at N = 100 and 1,000.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { DEFAULT_PG_BENCH, runPgBench } from "./measure-pg.js";
import { renderApplyInterleaved, renderPgMarkdown } from "./pg-report.js";
import { measureInterleavedApply } from "./pg-apply-interleaved.js";
import { createPgSides } from "./pg-sides.js";
import { createPgWorkload } from "./pg-workload.js";
import { renderMarkdown } from "./report.js";
import { measureVerify, renderVerifyMarkdown } from "./measure-verify.js";
import { findBundleRegressions, measureEntryBundleSizes, renderEntryBundleSizes } from "./entry-bundle-sizes.js";
import { renderBundleSizeMarkdown, runBundleSizeBench } from "./cloudflare-bundle-size.js";
import { defaultRunCounts, runBench } from "./run-bench.js";
import { repoRoot } from "./workload.js";
import { measureRegistryLoad, renderRegistryLoadMarkdown } from "./registry-load.js";
import { measureSqlitePeers, preparePeerWorkload, renderSqlitePeers } from "./sqlite-peers.js";

const USAGE =
  "usage: npm run bench -- [--sizes 100,1000,10000] [--keep] [--only sqlite|peers|pg|pg-apply|bundles|verify|registry-load] [--pg-size 1000] [--pg-rounds 5] [--pg-apply-size 300] [--pg-apply-pairs 40] [--pg-apply-sides stepwise,hand]";
const args = process.argv.slice(2);
const valueOf = (flag: string): string | undefined => {
  const index = args.indexOf(flag);
  return index === -1 ? undefined : args[index + 1];
};
const positive = (text: string | undefined, fallback: number): number => (text === undefined ? fallback : Number(text));
const sizesFlag = valueOf("--sizes");
const sizes = sizesFlag === undefined ? [100, 1_000, 10_000] : sizesFlag.split(",").map(Number);
const only = valueOf("--only");
const pgSize = positive(valueOf("--pg-size"), DEFAULT_PG_BENCH.size);
const pgRounds = positive(valueOf("--pg-rounds"), DEFAULT_PG_BENCH.rounds);
const pgApplySize = positive(valueOf("--pg-apply-size"), DEFAULT_PG_BENCH.applyInterleaved.size);
const pgApplyPairs = positive(valueOf("--pg-apply-pairs"), DEFAULT_PG_BENCH.applyInterleaved.pairs);
const pgApplySides = valueOf("--pg-apply-sides")?.split(",");
if (
  [...sizes, pgSize, pgRounds, pgApplySize].some((size) => !Number.isSafeInteger(size) || size < 1) ||
  !Number.isSafeInteger(pgApplyPairs) ||
  pgApplyPairs < 0 ||
  (only !== undefined && !["sqlite", "peers", "pg", "pg-apply", "bundles", "verify", "registry-load"].includes(only))
) {
  console.error(USAGE);
  process.exit(2);
}

const started = performance.now();
const onProgress = (message: string) => console.error(`${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  ${message}`);
const resultsDir = path.join(repoRoot, "bench", "results");
mkdirSync(resultsDir, { recursive: true });
const keep = args.includes("--keep");

if (only === undefined || only === "verify") {
  onProgress("start-up verify: status, cold verify, cached verify");
  const result = measureVerify();
  const markdown = renderVerifyMarkdown(result);
  console.log(markdown);
  writeFileSync(path.join(resultsDir, "latest-verify.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest-verify.md"), `${markdown}\n`);
}

if (only === undefined || only === "registry-load") {
  onProgress("registry load: status through the import-free path and through tsx, interleaved");
  const result = measureRegistryLoad({ keep });
  const markdown = renderRegistryLoadMarkdown(result);
  console.log(markdown);
  writeFileSync(path.join(resultsDir, "latest-registry-load.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest-registry-load.md"), `${markdown}\n`);
}

if (only === undefined || only === "bundles") {
  const sizes = await runBundleSizeBench();
  const markdown = renderBundleSizeMarkdown(sizes);
  console.log(markdown);
  writeFileSync(path.join(resultsDir, "latest-bundles.json"), `${JSON.stringify(sizes, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest-bundles.md"), `${markdown}\n`);
  // Every driver entry, the browser one against its budget (bench/entry-bundle-sizes.ts).
  const entrySizes = await measureEntryBundleSizes();
  const entryMarkdown = renderEntryBundleSizes(entrySizes);
  console.log(entryMarkdown);
  writeFileSync(path.join(resultsDir, "latest-entry-bundles.json"), `${JSON.stringify(entrySizes, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest-entry-bundles.md"), `${entryMarkdown}\n`);
  // A bundle past its ceiling (bench/bundle-ceilings.ts) fails the run, after every figure is printed.
  for (const regression of findBundleRegressions(entrySizes)) {
    console.error(`BUNDLE REGRESSION: ${regression.entry} (${regression.imports}) is ${regression.gzipBytes} bytes gzipped, over its ceiling of ${regression.gzipCeiling} (bench/bundle-ceilings.ts)`);
    process.exitCode = 1;
  }
}

if (only === undefined || only === "sqlite") {
  const result = await runBench({ sizes, runs: defaultRunCounts, keep, onProgress });
  const markdown = renderMarkdown(result);
  console.log(markdown);
  const stamp = result.startedAt.replace(/[:.]/g, "-");
  writeFileSync(path.join(resultsDir, `bench-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest.md"), `${markdown}\n`);
}

if (only === undefined || only === "peers") {
  const tables: string[] = [];
  const results = [];
  for (const size of [100, 1_000]) {
    onProgress(`[peers, N=${size}] workload and gen`);
    const workload = await preparePeerWorkload(size);
    try {
      const result = await measureSqlitePeers(workload.registry, workload.raw, { rounds: size >= 1_000 ? 5 : 9, noopRuns: 5 }, onProgress);
      results.push(result);
      tables.push(renderSqlitePeers(result));
    } finally {
      if (!keep) rmSync(workload.root, { recursive: true, force: true });
    }
  }
  const markdown = tables.join("\n\n");
  console.log(markdown);
  writeFileSync(path.join(resultsDir, "latest-peers.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest-peers.md"), `${markdown}\n`);
}

if (only === undefined || only === "pg") {
  const result = await runPgBench({ ...DEFAULT_PG_BENCH, size: pgSize, rounds: pgRounds, applyInterleaved: { size: pgApplySize, pairs: pgApplyPairs }, keep, onProgress });
  const markdown = renderPgMarkdown(result);
  console.log(markdown);
  const stamp = result.startedAt.replace(/[:.]/g, "-");
  writeFileSync(path.join(resultsDir, `bench-pg-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest-pg.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, "latest-pg.md"), `${markdown}\n`);
}
if (only === "pg-apply") {
  onProgress(`[pg-apply, N=${pgApplySize}] workload and gen --dialect postgres`);
  const workload = await createPgWorkload(pgApplySize);
  try {
    const sides = createPgSides(workload).filter((side) => pgApplySides === undefined || pgApplySides.includes(side.id));
    if (sides.length < 2)
      throw new Error(
        `--pg-apply-sides names ${sides.length} of the sides (${createPgSides(workload)
          .map((side) => side.id)
          .join(", ")}); two at least`,
      );
    const phase = await measureInterleavedApply(
      sides,
      pgApplySize,
      pgApplyPairs,
      () => loadavg()[0]!,
      (message) => onProgress(`[pg-apply] ${message}`),
    );
    const markdown = [
      `## PostgreSQL: fresh apply and roll back all, interleaved (N = ${pgApplySize}); ${new Date().toISOString()}, Node ${process.version}`,
      "",
      ...renderApplyInterleaved(phase),
    ].join("\n");
    console.log(markdown);
    writeFileSync(path.join(resultsDir, "latest-pg-apply.json"), `${JSON.stringify(phase, null, 2)}\n`);
    writeFileSync(path.join(resultsDir, "latest-pg-apply.md"), `${markdown}\n`);
  } finally {
    if (!keep) rmSync(workload.root, { recursive: true, force: true });
  }
}
console.error(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; JSON in bench/results/`);

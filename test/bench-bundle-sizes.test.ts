/**
 * The bundle-size case of `npm run bench` (`bench/entry-bundle-sizes.ts`) runs and measures every
 * driver entry: sizes are reported there; here the measurement must not rot, and the budgeted entries
 * must stay within their regression ceilings (`bench/bundle-ceilings.ts`; deterministic bytes, no timing).
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { BUNDLE_GZIP_CEILINGS } from "../bench/bundle-ceilings.js";
import { removeLongLiterals } from "../bench/bundle-size-bound.js";
import { BROWSER_ENTRY_GZIP_BUDGET, findBundleRegressions, measureEntryBundleSizes, renderBudgetVerdicts, renderCodeOnlyBounds, renderEntryBundleSizes } from "../bench/entry-bundle-sizes.js";
import { repoRoot } from "./support/project.js";

test("npm run bench measures every driver entry's bundle, the browser one with no node: import", async () => {
  const sizes = await measureEntryBundleSizes();
  const entries = readdirSync(path.join(repoRoot, "src", "entries"))
    .filter((file) => file.endsWith(".ts"))
    .map((file) => `stepwise-migrate/${file.slice(0, -3)}`)
    .sort();
  assert.deepEqual(sizes.map((size) => size.entry).sort(), entries);
  for (const size of sizes) {
    assert.ok(size.gzipBytes > 0 && size.gzipBytes < size.minifiedBytes, size.entry);
    assert.ok(size.heaviest.length > 0 && size.heaviest.every((weight) => weight.bytes > 0), size.entry);
  }
  const browser = sizes.find((size) => size.entry === "stepwise-migrate/sql-js")!;
  assert.equal(browser.platform, "browser");
  assert.equal(browser.gzipBudget, BROWSER_ENTRY_GZIP_BUDGET);
  assert.deepEqual(browser.nodeImports, []);
  assert.match(renderEntryBundleSizes(sizes), /\| stepwise-migrate\/sql-js \| browser \|/);
});

test("the browser and Workers entries' bundles stay within their regression ceilings, migrate alone and with MigrationManager", async () => {
  const sizes = await measureEntryBundleSizes();
  const budgeted = sizes.filter((size) => size.gzipBudget !== null).map((size) => size.entry);
  assert.deepEqual(budgeted.sort(), ["stepwise-migrate/d1", "stepwise-migrate/durable-objects", "stepwise-migrate/sql-js"]);
  for (const entry of budgeted) {
    const size = sizes.find((candidate) => candidate.entry === entry)!;
    assert.equal(size.gzipCeiling, BUNDLE_GZIP_CEILINGS[entry.slice("stepwise-migrate/".length)], entry);
    // Importing less never bundles more.
    assert.ok(size.migrateOnly.gzipBytes <= size.gzipBytes && size.migrateOnly.minifiedBytes <= size.minifiedBytes, entry);
  }
  assert.deepEqual(findBundleRegressions(sizes), []);
});

test("a bundle past its ceiling is reported as a regression, naming the entry and the import", async () => {
  const sizes = await measureEntryBundleSizes();
  const d1 = sizes.find((size) => size.entry === "stepwise-migrate/d1")!;
  // Each bundle is held to its own ceiling: lowering one flags that bundle alone.
  const lowerMigrate = sizes.map((size) => (size === d1 ? { ...size, gzipCeiling: { migrate: d1.migrateOnly.gzipBytes - 1, manager: d1.gzipBytes } } : size));
  assert.deepEqual(findBundleRegressions(lowerMigrate), [{ entry: "stepwise-migrate/d1", imports: "migrate", gzipBytes: d1.migrateOnly.gzipBytes, gzipCeiling: d1.migrateOnly.gzipBytes - 1 }]);
  const lowerManager = sizes.map((size) => (size === d1 ? { ...size, gzipCeiling: { migrate: d1.migrateOnly.gzipBytes, manager: d1.gzipBytes - 1 } } : size));
  assert.deepEqual(
    findBundleRegressions(lowerManager).map((regression) => [regression.entry, regression.imports]),
    [["stepwise-migrate/d1", "MigrationManager, migrate"]],
  );
  const lowered = sizes.map((size) => (size === d1 ? { ...size, gzipCeiling: { migrate: 1, manager: 1 } } : size));
  assert.deepEqual(
    findBundleRegressions(lowered).map((regression) => regression.imports),
    ["migrate", "MigrationManager, migrate"],
  );
  assert.match(renderEntryBundleSizes(lowered), /\| stepwise-migrate\/d1 \| node \|.*\*\*over by/);
});

test("the bench prints issue 14's figure for each budgeted entry, its ratio to the budget and to better-sqlite3's, and a met / not met verdict", async () => {
  const sizes = await measureEntryBundleSizes();
  const baseline = sizes.find((size) => size.entry === "stepwise-migrate/better-sqlite3")!;
  const verdictOf = (bytes: number) => (bytes <= BROWSER_ENTRY_GZIP_BUDGET ? "met" : "not met");
  const lines = renderBudgetVerdicts(sizes);
  for (const size of sizes.filter((candidate) => candidate.gzipBudget !== null)) {
    const bytes = size.migrateOnly.gzipBytes;
    const line = lines.find((candidate) => candidate.startsWith(`- ${size.entry},`));
    assert.ok(line, size.entry);
    assert.ok(line.includes(`${(bytes / BROWSER_ENTRY_GZIP_BUDGET).toFixed(2)}× the`), line);
    assert.ok(line.includes(`${(bytes / baseline.migrateOnly.gzipBytes).toFixed(2)}× stepwise-migrate/better-sqlite3's`), line);
    assert.ok(line.endsWith(`**${verdictOf(bytes)}**`), line);
  }
  const allMet = sizes.every((size) => size.gzipBudget === null || size.migrateOnly.gzipBytes <= size.gzipBudget);
  assert.ok(lines[0]!.endsWith(`**${allMet ? "met" : "not met"}**`), lines[0]);
  // An entry within the budget is met, and the issue only when every budgeted entry is.
  const shrunk = sizes.map((size) => (size.gzipBudget === null ? size : { ...size, migrateOnly: { ...size.migrateOnly, gzipBytes: BROWSER_ENTRY_GZIP_BUDGET } }));
  const shrunkLines = renderBudgetVerdicts(shrunk);
  assert.ok(shrunkLines[0]!.endsWith("**met**"), shrunkLines[0]);
  assert.equal(shrunkLines.filter((line) => line.endsWith("**met**")).length, 4);
  assert.ok(renderEntryBundleSizes(sizes).includes(lines[0]!));
});

test("the code-only bound removes every long string and template literal, and keeps short ones and the code around them", () => {
  const code = 'const a = "exec"; throw new E(`migration ${v} (${f}) failed`, "a long message here"); x[\'ab\'] = `short`; sql`SELECT a long tagged text`;';
  assert.equal(removeLongLiterals(code, 8), 'const a = "exec"; throw new E(``, ""); x[\'ab\'] = `short`; sql``;');
  assert.equal(removeLongLiterals(code, 1000), code);
});

test("each budgeted entry's code-only bound is smaller than its bundle and carries its verdict against the budget", async () => {
  const sizes = await measureEntryBundleSizes();
  const budgeted = sizes.filter((size) => size.gzipBudget !== null);
  for (const size of sizes) assert.equal(size.codeOnlyBound === null, size.gzipBudget === null, size.entry);
  const lines = renderCodeOnlyBounds(budgeted);
  for (const size of budgeted) {
    const bound = size.codeOnlyBound!;
    assert.ok(bound.gzipBytes > 0 && bound.gzipBytes < size.migrateOnly.gzipBytes && bound.minifiedBytes < size.migrateOnly.minifiedBytes, size.entry);
    const line = lines.find((candidate) => candidate.startsWith(`- ${size.entry}:`));
    assert.ok(line !== undefined, size.entry);
    assert.ok(line.includes(`${(bound.gzipBytes / BROWSER_ENTRY_GZIP_BUDGET).toFixed(2)}× the budget`), line);
    const over = bound.gzipBytes > BROWSER_ENTRY_GZIP_BUDGET;
    assert.equal(line.includes("only carrying less code can reach it"), over, line);
    if (!over) assert.ok(line.endsWith(`fit in ${BROWSER_ENTRY_GZIP_BUDGET - bound.gzipBytes} bytes gzipped`), line);
  }
  // A bound under the budget says how many bytes that leaves for all the text.
  const within = budgeted.map((size) => ({ ...size, codeOnlyBound: { minifiedBytes: 1, gzipBytes: BROWSER_ENTRY_GZIP_BUDGET - 100 } }));
  assert.ok(
    renderCodeOnlyBounds(within)
      .filter((line) => line.startsWith("- "))
      .every((line) => line.endsWith("fit in 100 bytes gzipped")),
  );
  assert.ok(renderEntryBundleSizes(sizes).includes(lines[0]!));
});

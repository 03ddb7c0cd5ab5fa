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
import { BROWSER_ENTRY_GZIP_BUDGET, findBundleRegressions, measureEntryBundleSizes, renderEntryBundleSizes } from "../bench/entry-bundle-sizes.js";
import { repoRoot } from "./support/project.js";

test("npm run bench measures every driver entry's bundle, the browser one with no node: import", async () => {
  const sizes = await measureEntryBundleSizes();
  const entries = readdirSync(path.join(repoRoot, "src", "entries"))
    .filter((file) => file.endsWith(".ts") && file !== "safety-nets.ts")
    .map((file) => `stepwise/${file.slice(0, -3)}`)
    .sort();
  assert.deepEqual(sizes.map((size) => size.entry).sort(), entries);
  for (const size of sizes) {
    assert.ok(size.gzipBytes > 0 && size.gzipBytes < size.minifiedBytes, size.entry);
    assert.ok(size.heaviest.length > 0 && size.heaviest.every((weight) => weight.bytes > 0), size.entry);
  }
  const browser = sizes.find((size) => size.entry === "stepwise/sql-js")!;
  assert.equal(browser.platform, "browser");
  assert.equal(browser.gzipBudget, BROWSER_ENTRY_GZIP_BUDGET);
  assert.deepEqual(browser.nodeImports, []);
  assert.match(renderEntryBundleSizes(sizes), /\| stepwise\/sql-js \| browser \|/);
});

test("the browser and Workers entries' bundles stay within their regression ceilings, migrate alone and with MigrationManager", async () => {
  const sizes = await measureEntryBundleSizes();
  const budgeted = sizes.filter((size) => size.gzipBudget !== null).map((size) => size.entry);
  assert.deepEqual(budgeted.sort(), ["stepwise/d1", "stepwise/durable-objects", "stepwise/sql-js"]);
  for (const entry of budgeted) {
    const size = sizes.find((candidate) => candidate.entry === entry)!;
    assert.equal(size.gzipCeiling, BUNDLE_GZIP_CEILINGS[entry.slice("stepwise/".length)], entry);
    // Importing less never bundles more.
    assert.ok(size.migrateOnly.gzipBytes <= size.gzipBytes && size.migrateOnly.minifiedBytes <= size.minifiedBytes, entry);
  }
  assert.deepEqual(findBundleRegressions(sizes), []);
});

test("a bundle past its ceiling is reported as a regression, naming the entry and the import", async () => {
  const sizes = await measureEntryBundleSizes();
  const d1 = sizes.find((size) => size.entry === "stepwise/d1")!;
  const shrunk = sizes.map((size) => (size === d1 ? { ...size, gzipCeiling: d1.migrateOnly.gzipBytes } : size));
  // The ceiling now sits at migrate's own size: the bigger MigrationManager bundle is the one over it, when they differ.
  const expected = d1.gzipBytes > d1.migrateOnly.gzipBytes ? [{ entry: "stepwise/d1", imports: "MigrationManager, migrate", gzipBytes: d1.gzipBytes, gzipCeiling: d1.migrateOnly.gzipBytes }] : [];
  assert.deepEqual(findBundleRegressions(shrunk), expected);
  const lowered = sizes.map((size) => (size === d1 ? { ...size, gzipCeiling: d1.migrateOnly.gzipBytes - 1 } : size));
  assert.deepEqual(
    findBundleRegressions(lowered).map((regression) => regression.imports),
    ["migrate", "MigrationManager, migrate"],
  );
  assert.match(renderEntryBundleSizes(lowered), /\| stepwise\/d1 \| node \|.*\*\*over by/);
});

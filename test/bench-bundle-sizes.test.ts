/**
 * The bundle-size case of `npm run bench` (`bench/entry-bundle-sizes.ts`) runs and measures every
 * driver entry: sizes are reported there, never asserted here, but the measurement must not rot.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { BROWSER_ENTRY_GZIP_BUDGET, measureEntryBundleSizes, renderEntryBundleSizes } from "../bench/entry-bundle-sizes.js";
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

import assert from "node:assert/strict";
import { test } from "node:test";
import { BENCH_DRIVERS } from "../bench/driver-programs.js";
import { DRIVER_FIGURE_IDS } from "../bench/measure-drivers.js";
import { DRIVER_TARGETS, evaluateDriverTargets, evaluateTargets, renderMarkdown } from "../bench/report.js";
import { runBench } from "../bench/run-bench.js";
import { startVariantId, type StartVariant } from "../bench/start-variants.js";
import { makeTempDir } from "./support/project.js";

// Runs every figure of `npm run bench` once on a tiny workload, so the bench cannot rot. Times are
// only checked to be numbers: speed is the bench's business, not the suite's.
test("the bench runs end to end on a tiny workload and reports every figure", async (t) => {
  const workDir = makeTempDir(t, "stepwise-bench-smoke-");
  const result = await runBench({ sizes: [4], runs: () => ({ gen: 1, apply: 1, applyAll: 1, noopInProcess: 2, startProcess: 1, driverApply: 1, driverStart: 1 }), workDir });

  // Every driver is either measured under its own runtime (apply, and a no-op start on both
  // registries) or skipped because that runtime is not installed here, and the skip says so.
  // Plus the supplementary starts where they apply: the compile cache under Node 24 and Bun, and
  // Node 20 without NODE_EXTRA_CA_CERTS when the environment sets it.
  const variantsOf = (runtime: string): StartVariant[] => (runtime === "node20" ? (process.env.NODE_EXTRA_CA_CERTS ? ["no-extra-ca-certs"] : []) : ["compile-cache"]);
  const driverIds = (runtime: string) => [...Object.values(DRIVER_FIGURE_IDS), ...variantsOf(runtime).flatMap((variant) => [startVariantId("sql", variant), startVariantId("ts", variant)])].sort();
  for (const driver of BENCH_DRIVERS) {
    await t.test(`per-driver figures: ${driver.name}`, (st) => {
      const skipped = result.skippedDrivers.find((skip) => skip.driver === driver.name);
      const figures = result.figures.filter((figure) => figure.driver === driver.name);
      if (skipped) {
        assert.equal(figures.length, 0);
        st.skip(skipped.reason);
        return;
      }
      assert.deepEqual(figures.map((figure) => figure.id).sort(), driverIds(driver.runtime));
      for (const figure of figures) {
        assert.equal(figure.runtime, driver.runtime);
        for (const value of [figure.stepwise.median, figure.baseline.median, figure.ratio]) assert.ok(Number.isFinite(value) && value > 0, `${figure.id}: ${value}`);
        if (figure.id === DRIVER_FIGURE_IDS.apply) continue;
        // The start programs report their CPU time; a parse failure would be NaN.
        for (const cpu of [figure.stepwiseCpuMs?.median, figure.baselineCpuMs?.median]) assert.ok(cpu !== undefined && Number.isFinite(cpu) && cpu > 0, `${figure.id} CPU: ${cpu}`);
      }
      const verdicts = evaluateDriverTargets(result).filter((verdict) => verdict.driver === driver.name);
      assert.deepEqual(
        verdicts.map((verdict) => verdict.target.id),
        DRIVER_TARGETS.map((target) => target.id),
      );
      assert.ok(verdicts.every((verdict) => verdict.met !== null));
    });
  }
  assert.ok(
    result.figures.some((figure) => figure.driver === "better-sqlite3"),
    "better-sqlite3 runs under this Node, so it is never skipped",
  );

  const ids = result.figures
    .filter((figure) => figure.driver === undefined)
    .map((figure) => figure.id)
    .sort();
  assert.deepEqual(ids, [
    "apply",
    "apply-all",
    "gen-check-hit",
    "gen-check-miss",
    "gen-cold",
    "noop-in-process",
    "rollback",
    "start-bundled",
    "start-registry-bundled",
    "start-registry-tsx",
    "start-tsx",
  ]);
  for (const figure of result.figures) {
    assert.equal(figure.size, 4);
    for (const value of [figure.stepwise.median, figure.baseline.median, figure.ratio]) {
      assert.ok(Number.isFinite(value) && value > 0, `${figure.id}: ${value}`);
    }
  }
  assert.ok(Number.isSafeInteger(result.runtimeBundleBytes) && result.runtimeBundleBytes > 0, `runtime bundle: ${result.runtimeBundleBytes}`);
  const markdown = renderMarkdown(result);
  assert.equal(markdown.split("\n").filter((line) => line.startsWith("| ") && /\| 4 \|/.test(line)).length >= result.figures.length, true);
  assert.ok(evaluateTargets(result).length > 0);
  // What loading the registry alone costs, per measured driver, next to the start it is part of.
  const registryRows = markdown.split("\n").filter((line) => BENCH_DRIVERS.some((driver) => line.startsWith(`| ${driver.name} | ${driver.runtime} | `)) && !/\| 4 \|/.test(line));
  const measured = new Set(result.figures.filter((figure) => figure.driver !== undefined).map((figure) => figure.driver));
  // Three such tables: the registry alone, the design's minimum registry alone (the bound on the
  // mostly-SQL target) and the app's own migration modules alone (the bound on the TypeScript-only
  // target), each with a row per measured driver; then a row per driver and supplementary start.
  const variantRows = [...measured].reduce((count, driver) => count + variantsOf(BENCH_DRIVERS.find((candidate) => candidate.name === driver)!.runtime).length, 0);
  assert.equal(registryRows.length, 3 * measured.size + variantRows, markdown);
  for (const driver of measured) {
    for (const id of [DRIVER_FIGURE_IDS.modulesTs, DRIVER_FIGURE_IDS.minimumSql]) {
      assert.ok(
        result.figures.some((figure) => figure.driver === driver && figure.id === id),
        `${driver}: ${id} was measured`,
      );
    }
  }
});

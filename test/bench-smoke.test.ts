import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateTargets, renderMarkdown } from "../bench/report.js";
import { runBench } from "../bench/run-bench.js";
import { makeTempDir } from "./support/project.js";

// Runs every figure of `npm run bench` once on a tiny workload, so the bench cannot rot. Times are
// only checked to be numbers: speed is the bench's business, not the suite's.
test("the bench runs end to end on a tiny workload and reports every figure", async (t) => {
  const workDir = makeTempDir(t, "stepwise-bench-smoke-");
  const result = await runBench({ sizes: [4], runs: () => ({ gen: 1, apply: 1, applyAll: 1, noopInProcess: 2, startProcess: 1 }), workDir });

  const ids = result.figures.map((figure) => figure.id).sort();
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
});

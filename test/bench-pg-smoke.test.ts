import assert from "node:assert/strict";
import { test } from "node:test";
import { runPgBench } from "../bench/measure-pg.js";
import { evaluatePgTargets, renderPgMarkdown } from "../bench/pg-report.js";
import { benchTableName } from "../bench/pg-workload.js";
import { makeTempDir } from "./support/project.js";

const SIZE = 4;
const SIDES = ["stepwise", "stepwise-all", "hand", "hand-all", "node-pg-migrate", "kysely", "knex"];

// Runs the PostgreSQL half of `npm run bench` once on a tiny workload against the embedded server, so
// it cannot rot. Times are only checked to be numbers: speed is the bench's business, not the suite's.
test("the pg bench runs every side on the same workload, and every side leaves the same schema and rolls it all back", { timeout: 300_000 }, async (t) => {
  const result = await runPgBench({ size: SIZE, rounds: 1, noopRuns: 1, warmupRounds: 0, workDir: makeTempDir(t, "stepwise-bench-pg-smoke-") });
  assert.deepEqual(
    result.sides.map((side) => side.id),
    SIDES,
  );

  const expectedTables = Array.from({ length: SIZE }, (_, index) => benchTableName(index + 1));
  const reference = result.sides[0]!.schema;
  // Five columns and two indexes (the primary key's and the name index) per workload table.
  assert.equal(reference.length, SIZE * 7);
  for (const table of expectedTables) {
    assert.ok(
      reference.some((line) => line.startsWith(`index idx_${table}_name on ${table}:`)),
      `${table}'s index`,
    );
  }
  for (const side of result.sides) {
    await t.test(side.id, () => {
      assert.deepEqual(side.schema, reference, `${side.id} left another schema than stepwise`);
      assert.deepEqual(side.leftAfterRollback, [], `${side.id} left workload tables after rolling back`);
      for (const summary of [side.apply, side.noopStart, side.rollbackAll]) {
        assert.equal(summary.samples.length, 1);
        assert.ok(Number.isFinite(summary.median) && summary.median > 0, `${side.id}: ${summary.median}`);
      }
    });
  }

  const verdicts = evaluatePgTargets(result);
  assert.ok(verdicts.length > 0 && verdicts.every((verdict) => Number.isFinite(verdict.ratio)));
  const markdown = renderPgMarkdown(result);
  assert.equal(markdown.split("\n").filter((line) => line.startsWith("| ") && line.includes(" | one ")).length, SIDES.length);
});

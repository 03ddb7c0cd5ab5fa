import assert from "node:assert/strict";
import { test } from "node:test";
import { benchFleet, fleetConcurrencies, renderFleet } from "../bench/fleet.js";
import { benchDialect } from "../bench/measure.js";
import { renderMeasured, renderSizes } from "../bench/report.js";
import { measureEntrySizes, SIZE_TARGETS_KIB } from "../bench/sizes.js";
import { SIDES } from "../bench/workload.js";

// `npm run bench` at N = 3, one round, so it cannot rot: every side produces every figure it has, and
// the bench checked each process's result (what the side reported, what it left in the database).
// Times are only checked to be numbers: speed is the bench's business, not the suite's.
const N = 3;

for (const dialect of ["sqlite", "pg"] as const) {
  test(`the ${dialect} bench runs every side on the same workload and checks each result`, { timeout: 300_000 }, async () => {
    const result = await benchDialect(dialect, N, 1);
    assert.deepEqual(
      result.sides.map((side) => side.id),
      SIDES[dialect].map((side) => side.id),
    );
    for (const side of result.sides) {
      const checked = (samples: readonly { count: number; tables: number }[]) => samples.map(({ count, tables }) => [count, tables]);
      assert.deepEqual(checked(side.apply), [[N, N]], side.id);
      assert.deepEqual(checked(side.noop), Array(3).fill([0, N]), side.id);
      assert.deepEqual(checked(side.rollback), side.id === "drizzle-orm" ? [] : [[N, 0]], side.id);
      for (const sample of [...side.apply, ...side.noop, ...side.rollback]) assert.ok(sample.ms > 0 && sample.rssKiB > 0, side.id);
    }
    const table = renderMeasured(result);
    assert.equal(table.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| side")).length, result.sides.length);
    assert.equal(table.split("\n").filter((line) => /^- .*: stepwise takes \d+\.\d\d× the hand loop .*; \d+\.\d\d× the strongest peer/.test(line)).length, 3);
  });
}

for (const dialect of ["sqlite", "pg"] as const) {
  test(`the ${dialect} fleet bench runs stepwise fleet and the hand-written pool at each concurrency on 20 databases, checking each run`, { timeout: 300_000 }, async () => {
    const result = await benchFleet(dialect, 20, 1);
    assert.deepEqual(
      result.rows.map((row) => [row.concurrency, row.side]),
      fleetConcurrencies().flatMap((concurrency) => [
        [concurrency, "stepwise"],
        [concurrency, "hand"],
      ]),
    );
    for (const row of result.rows) {
      assert.deepEqual(
        row.apply.map(({ databases, count }) => [databases, count]),
        [[20, 100]],
        `${row.side} at ${row.concurrency}`,
      );
      assert.deepEqual(
        row.status.map(({ databases, count }) => [databases, count]),
        [[20, 20]],
        `${row.side} at ${row.concurrency}`,
      );
    }
    const table = renderFleet(result);
    assert.equal(table.split("\n").filter((line) => /^\| \d+ \| /.test(line)).length, result.rows.length);
    assert.equal(table.split("\n").filter((line) => /^- concurrency \d+: stepwise takes the hand pool's fresh apply \d+\.\d\d×/.test(line)).length, fleetConcurrencies().length);
  });
}

test("the bench measures the edge entries' bundles, the browser build failing on any node: import", async () => {
  const sizes = await measureEntrySizes();
  assert.deepEqual(
    sizes.map((size) => size.entry),
    Object.keys(SIZE_TARGETS_KIB),
  );
  for (const size of sizes) assert.ok(size.gzipBytes > 1024, size.entry);
  assert.match(renderSizes(sizes), /\| stepwise-migrate\/d1 \| \d+\.\d \| 16\.1 \|/);
});

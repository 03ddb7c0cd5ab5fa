import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { measureSqlitePeers, preparePeerWorkload, renderSqlitePeers } from "../bench/sqlite-peers.js";
import { makeTempDir } from "./support/project.js";

// The SQLite peer table of `npm run bench` on a tiny workload, so it cannot rot: every tool applies,
// starts with nothing to do and rolls back the same migrations (each side checks that its no-op
// start applied nothing and that its rollback left no workload table, and throws otherwise). Times
// are only checked to be numbers: speed is the bench's business, not the suite's.
test("every SQLite peer of the bench applies, starts and rolls back the same workload", async (t) => {
  const workload = await preparePeerWorkload(6, makeTempDir(t, "stepwise-bench-peers-"));
  t.after(() => rmSync(workload.root, { recursive: true, force: true }));
  const result = await measureSqlitePeers(workload.registry, workload.raw, { rounds: 1, noopRuns: 1 });
  assert.deepEqual(
    result.sides.map((side) => side.id),
    ["stepwise", "hand", "umzug", "kysely", "knex", "drizzle"],
  );
  for (const side of result.sides) {
    for (const summary of [side.apply, side.noopStart, side.rollbackAll]) {
      if (summary === null) continue;
      assert.ok(Number.isFinite(summary.median) && summary.median > 0, `${side.id}: ${summary.median}`);
    }
    // drizzle has no down migrations; every other tool rolls back.
    assert.equal(side.rollbackAll === null, side.id === "drizzle", side.id);
  }
  const table = renderSqlitePeers(result);
  for (const side of result.sides) assert.ok(table.includes(side.label), side.id);
});

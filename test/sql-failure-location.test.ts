/**
 * A SQL migration that fails at run time names the file's line and column of its failing statement
 * (`MIGRATION_FAILED`'s `location`), as `gen` recorded where each section begins (`sqlLines`): in a
 * transaction (found by running the statements again, one by one, in a transaction rolled back after),
 * outside one (`transaction: false`, its statements sent one by one), for `down` as for `up`, and in a
 * whole-run transaction. It used to be `null`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachDriver } from "./support/driver-matrix.js";
import { caught, createItems, sqlEntry } from "./support/registry-builders.js";
import { LOCATE_BY_BATCH_BUDGET } from "../src/core/sql-location.js";
import type { StepwiseError } from "../src/core/errors.js";

/** Up begins on line 3 of its file; its third statement (line 6, column 3) fails. */
const UP = "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n\n  INSERT INTO missing VALUES (1);\nCREATE TABLE b (x);";
const FAILING_UP = { line: 3 + 3, column: 3 };

await describeEachDriver("a SQL migration's failing statement is named by its file's line", (h) => {
  for (const transaction of [true, false]) {
    test(`up, transaction: ${transaction}: MIGRATION_FAILED with location at the failing statement`, () =>
      h.withDatabase((db) => {
        const entry = sqlEntry(2, UP, { transaction, sqlLines: [3, null] });
        const error = caught(() => db.manager([createItems, entry]).up());
        assert.equal(error.code, "MIGRATION_FAILED", String(error.message));
        assert.deepEqual(error.location, { file: entry.file, ...FAILING_UP });
      }));
  }

  test("a statement that fails otherwise when run again (an ATTACH the rolled-back run left attached) names no line rather than its own", () =>
    h.withDatabase((db) => {
      const entry = sqlEntry(2, "CREATE TABLE a (x);\nATTACH DATABASE ':memory:' AS other;\nINSERT INTO missing VALUES (1);", { sqlLines: [3, null] });
      const error = caught(() => db.manager([createItems, entry]).up());
      assert.equal(error.code, "MIGRATION_FAILED", String(error.message));
      assert.match(String(error.message), /no such table: missing/);
      assert.equal(error.location, null);
    }));

  test("down: the location counts from the down section's first line", () =>
    h.withDatabase((db) => {
      const entry = sqlEntry(2, "CREATE TABLE a (x);", { downSql: "DROP TABLE a;\nDROP TABLE missing;", reversible: true, sqlLines: [3, 10] });
      const manager = db.manager([createItems, entry]);
      manager.up();
      const error = caught(() => manager.down({ steps: 1 }));
      assert.equal(error.code, "MIGRATION_FAILED", String(error.message));
      assert.deepEqual(error.location, { file: entry.file, line: 11, column: 1 });
    }));

  test('transaction: "all": the failing statement of the migration that failed, after the run\'s earlier ones', () =>
    h.withDatabase((db) => {
      if (h.capabilities.atomicBatch) return;
      const entry = sqlEntry(3, UP, { sqlLines: [3, null] });
      const error = caught(() => db.manager([createItems, sqlEntry(2, "CREATE TABLE missing_not (x);"), entry]).up({ transaction: "all" }));
      assert.equal(error.code, "MIGRATION_FAILED", String(error.message));
      assert.deepEqual(error.location, { file: entry.file, ...FAILING_UP });
    }));
});

test("D1 (workerd): the search for a failed batch's statement runs at most LOCATE_BY_BATCH_BUDGET statements again; within it, the line is found", async (t) => {
  // Its batches run about log2(N) times the statements before the failing one: a migration of thousands failing at its end ran a hundred thousand and more again.
  const { startD1Proxy } = await import("./support/cloudflare/d1-proxy.js");
  const { MigrationManager } = await import("../src/entries/d1.js");
  const count = LOCATE_BY_BATCH_BUDGET / 10;
  const inserts = Array.from({ length: count }, (_, index) => `INSERT INTO notes (id) VALUES (${index + 2});`);
  for (const failingAt of [count, 3]) {
    await t.test(`failing at statement ${failingAt} of ${count}`, async () => {
      const database = await startD1Proxy();
      try {
        const binding = database.binding();
        const sent = { statements: 0, batches: 0 };
        const counted = {
          ...binding,
          batch: (statements: Parameters<typeof binding.batch>[0]) => ((sent.statements += statements.length), sent.batches++, binding.batch(statements)),
        };
        const lines = inserts.map((insert, index) => (index + 1 === failingAt ? "INSERT INTO notes (id) VALUES (1);" : insert));
        const registry = [sqlEntry(1, "CREATE TABLE notes (id INTEGER PRIMARY KEY); INSERT INTO notes (id) VALUES (1);"), sqlEntry(2, lines.join("\n"), { sqlLines: [2, null] })];
        await new MigrationManager(binding, registry).up({ to: 1 });
        const error = await new MigrationManager(counted, registry).up().then(
          () => assert.fail("expected a failure"),
          (rejected: unknown) => rejected as StepwiseError<"MIGRATION_FAILED">,
        );
        assert.deepEqual([error.code, error.details.version], ["MIGRATION_FAILED", 2]);
        // The migration's own batch (its history row and statements), then the search's, each ending in the statement that always fails.
        assert.ok(sent.statements - (count + 1) - (sent.batches - 1) <= LOCATE_BY_BATCH_BUDGET, `${sent.statements} statements sent in ${sent.batches} batches`);
        assert.deepEqual(error.details.location, failingAt === 3 ? { file: registry[1]!.file, line: 2 + failingAt - 1, column: 1 } : null);
      } finally {
        await database.dispose();
      }
    });
  }
});

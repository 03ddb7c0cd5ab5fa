/**
 * `transaction: false` migrations: statements SQLite refuses inside a transaction (VACUUM, switching
 * to WAL) run unwrapped, and are still recorded. On every driver available here.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachDriver } from "./support/driver-matrix.js";
import { createTestProject } from "./support/project.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

await describeEachDriver("transaction: false", (h) => {
  test("VACUUM and a journal-mode switch apply outside a transaction and are recorded as applied", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/no-transaction" });
    const migrations = await project.load();
    assert.deepEqual(
      migrations.map((m) => m.transaction),
      [true, false, false],
    );
    const db = await h.open(project.databasePath());
    t.after(() => db.close());

    // The statements really are refused inside a transaction, so the test proves they ran unwrapped.
    db.exec("BEGIN");
    assert.throws(() => db.exec("VACUUM"));
    db.exec("ROLLBACK");

    const manager = db.manager(migrations);
    assert.deepEqual(
      manager.up().steps.map((step) => step.version),
      [1, 2, 3],
    );

    assert.equal(db.value("PRAGMA journal_mode"), "wal");
    assert.equal(db.inTransaction(), false);
    const history = manager.history();
    assert.deepEqual(
      history.map((row) => [row.version, row.state]),
      [
        [1, "applied"],
        [2, "applied"],
        [3, "applied"],
      ],
    );
    for (const row of history) assert.equal(typeof row.durationMs, "number");
    assert.equal(db.userVersion(), 3);
    assert.equal(manager.status().problem, null);
    assert.deepEqual(
      db.rows("SELECT body FROM documents ORDER BY id").map((row) => row.body),
      ["a", "b"],
    );

    assert.deepEqual(
      manager.down({ to: 1 }).steps.map((step) => step.version),
      [3, 2],
    );
    assert.equal(db.value("PRAGMA journal_mode"), "delete");
    assert.deepEqual(
      manager.history().map((row) => row.version),
      [1],
    );
    assert.equal(manager.currentVersion(), 1);
  });

  test("a failing transaction: false migration is reported as not rolled back and blocks the next run", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/no-transaction" });
    project.writeMigration(
      "004_broken_unwrapped.ts",
      `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  transaction: false,
  up(db) {
    db.exec("CREATE TABLE half_done (id INTEGER)");
    throw new Error("stopped halfway");
  },
  down(db) {
    db.exec("DROP TABLE half_done");
  },
});
`,
    );
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const manager = db.manager(migrations);

    assert.throws(() => manager.up(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 4, rolledBack: false, direction: "up" }));
    assert.equal(db.inTransaction(), false);
    assert.equal(db.tableNames().includes("half_done"), true, "the unwrapped statement before the throw stays");
    assert.deepEqual(
      manager.history().map((row) => [row.version, row.state]),
      [
        [1, "applied"],
        [2, "applied"],
        [3, "applied"],
        [4, "started"],
      ],
    );
    assert.throws(() => manager.up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 4, file: "migrations/004_broken_unwrapped.ts" }));
    assert.equal(manager.status().migrations[3]!.state, "incomplete");
  });
});

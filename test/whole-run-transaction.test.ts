/**
 * `up({ transaction: "all" })`: one transaction around the whole run, all or nothing. On every driver
 * available here.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StepwiseError, WholeRunTransactionRefusedError, type MigrationEvent } from "./support/stepwise.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { createTestProject } from "./support/project.js";

await describeEachDriver("whole-run transaction", (h) => {
  test('up({ transaction: "all" }) is all or nothing: a failure in the last migration leaves no trace of the others', async (t) => {
    const project = createTestProject(t, { fixture: "whole-run-fails-at-3" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.exec("PRAGMA foreign_keys = ON");
    const events: MigrationEvent[] = [];
    const manager = db.manager(migrations, { onEvent: (event) => events.push(event) });

    assert.throws(
      () => manager.up({ transaction: "all" }),
      (error: unknown) => error instanceof StepwiseError && error.code === "MIGRATION_FAILED" && (error as { version?: number }).version === 3,
    );
    assert.deepEqual(db.tableNames(), [], "neither the migrations' tables nor the history table survive");
    assert.equal(db.userVersion(), 0);
    assert.equal(
      events.some((event) => event.type === "migrated"),
      false,
      "nothing is reported as migrated when the run rolled back",
    );

    const partial = manager.up({ to: 2, transaction: "all" });
    assert.deepEqual(
      partial.steps.map((step) => step.version),
      [1, 2],
    );
    assert.deepEqual(
      manager.history().map((row) => row.version),
      [1, 2],
    );
    assert.equal(db.userVersion(), 2);
    assert.deepEqual(
      db.rows("SELECT name FROM authors").map((row) => row.name),
      ["Ursula"],
    );

    assert.throws(
      () => manager.up({ transaction: "all" }),
      (error: unknown) => (error as StepwiseError).code === "MIGRATION_FAILED",
    );
    assert.equal(manager.currentVersion(), 2, "the failed run left the earlier, separately committed run alone");
    assert.deepEqual(db.tableNames(), ["authors", "books", "schema_migrations"]);

    const again = manager.up({ to: 2, transaction: "all" });
    assert.deepEqual(again.steps, [], "a second run changes nothing");
  });

  test('up({ transaction: "all" }) refuses, before anything runs, when a pending migration has transaction: false', async (t) => {
    const project = createTestProject(t, { fixture: "whole-run-non-transactional" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const manager = db.manager(migrations);

    assert.throws(
      () => manager.up({ transaction: "all" }),
      (error: unknown) =>
        error instanceof WholeRunTransactionRefusedError &&
        error.code === "WHOLE_RUN_TRANSACTION_REFUSED" &&
        error.version === 2 &&
        error.obstacle === "transaction-false" &&
        error.file === "migrations/002_vacuum.sql",
    );
    assert.deepEqual(db.tableNames(), [], "migration 1, which could have run, did not");

    manager.up({ to: 2 });
    const rest = manager.up({ transaction: "all" });
    assert.deepEqual(
      rest.steps.map((step) => step.version),
      [3],
      "an applied transaction: false migration is no obstacle",
    );
    assert.equal(manager.currentVersion(), 3);
  });
});

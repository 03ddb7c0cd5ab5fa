/**
 * A migration that throws after partial DDL and DML: the schema, the data and the history are exactly
 * as before, the error says which migration failed and why, and once the file is fixed it applies.
 * On every driver available here.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { StepwiseError } from "./support/stepwise.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { createTestProject } from "./support/project.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

await describeEachDriver("failure atomicity", (h) => {
  test("a migration that throws midway leaves nothing behind, and applies once fixed", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/failing" });
    const failing = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.exec("PRAGMA foreign_keys = ON");

    db.manager(failing).up({ to: 1 });
    const before = db.snapshot();

    let caught: unknown;
    assert.throws(
      () => db.manager(failing).up(),
      (error: unknown) => {
        caught = error;
        return true;
      },
    );
    assert.ok(caught instanceof StepwiseError && caught.is("MIGRATION_FAILED"));
    assert.ok(caught instanceof StepwiseError);
    assert.equal(caught.code, "MIGRATION_FAILED");
    assert.equal(caught.details.version, 2);
    assert.equal(caught.details.file, "migrations/002_audit_and_email.ts");
    assert.equal(caught.details.direction, "up");
    assert.equal(caught.details.rolledBack, true);
    assert.equal(caught.details.afterReset, null, "a plain up ran no reset");
    assert.equal((caught.cause as { code?: string }).code, "FIXTURE_FAILURE");

    assert.deepEqual(db.snapshot(), before);
    assert.equal(db.inTransaction(), false);
    assert.equal(db.value("PRAGMA foreign_keys"), 1);

    // Fix the file the way a developer would, regenerate, and run again.
    const file = path.join(project.migrationsDir, "002_audit_and_email.ts");
    const broken = readFileSync(file, "utf8");
    const fixed = broken.replace(/^\s*throw .*\n/m, "");
    assert.notEqual(fixed, broken);
    writeFileSync(file, fixed);
    const repaired = await project.load();
    assert.notEqual(repaired[1]!.checksum, failing[1]!.checksum);

    const manager = db.manager(repaired);
    assert.deepEqual(
      manager.up().steps.map((step) => step.version),
      [2],
    );
    assert.equal(manager.currentVersion(), 2);
    assert.deepEqual(
      manager.history().map((row) => row.checksum),
      [repaired[0]!.checksum, repaired[1]!.checksum],
    );
    assert.deepEqual(db.rows("SELECT name, balance, email FROM accounts ORDER BY id"), [{ name: "alice", balance: 200, email: "alice@example.com" }]);
    assert.deepEqual(
      db.rows("SELECT event FROM audit").map((row) => row.event),
      ["emails added"],
    );
  });

  test("a reset whose migrations fail to apply again says its drops stayed: MIGRATION_FAILED with afterReset at the version it reached, what the database held gone", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/failing" });
    const failing = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const manager = db.manager(failing);
    manager.up({ to: 1 });
    db.exec("CREATE TABLE kept_by_the_app (id INTEGER); INSERT INTO accounts (name, balance) VALUES ('carol', 5)");

    assert.throws(
      () => manager.reset({ dangerouslyDropAllData: true }),
      stepwiseFailure({ code: "MIGRATION_FAILED", version: 2, direction: "up", rolledBack: true, afterReset: { reachedVersion: 1 } }),
    );
    assert.equal(manager.currentVersion(), 1);
    assert.deepEqual(db.tableNames(), ["accounts", "schema_migrations"], "the drops stayed");
    assert.deepEqual(
      db.rows("SELECT name FROM accounts ORDER BY id").map((row) => row.name),
      ["alice", "bob"],
      "migration 1 ran again; the rows added since are gone",
    );
  });

  test("a failing down leaves the migration applied and the data in place", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/failing" });
    project.writeMigration(
      "002_audit_and_email.ts",
      readFileSync(path.join(project.migrationsDir, "002_audit_and_email.ts"), "utf8")
        .replace(/^\s*throw .*\n/m, "")
        .replace("down(db) {", 'down(db) {\n    db.exec(`DROP TABLE audit`);\n    throw new Error("down fails after dropping a table");'),
    );
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const manager = db.manager(migrations);
    manager.up();
    const before = db.snapshot();

    assert.throws(() => manager.down(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 2, direction: "down", rolledBack: true }));
    assert.deepEqual(db.snapshot(), before);
    assert.equal(manager.currentVersion(), 2);
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationFailedError, MigrationManager, rehearseUp, type MigrationEvent, type MigrationRegistry } from "./support/stepwise.js";
import { createTestProject, readBytes, runCli } from "./support/project.js";

async function setUp(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const db = new Database(file);
  new MigrationManager(db, migrations).up({ to: 1 });
  db.close();
  return { project, migrations, file };
}

test("a dry run reports durations, the schema diff, row counts and the failure, and leaves the file byte-identical", async (t) => {
  const { migrations, file } = await setUp(t);
  const before = readBytes(file);

  const db = new Database(file);
  const events: MigrationEvent[] = [];
  const manager = new MigrationManager(db, migrations, { progressIntervalMs: 0, onEvent: (event) => events.push(event) });
  const plan = rehearseUp(manager);
  const { rehearsal } = plan;
  db.close();
  assert.deepEqual(readBytes(file), before, "the database file changed during the rehearsal");
  // Progress reaches the manager's handlers, so a long rehearsal can show a bar; applies do not.
  assert.ok(events.length > 0, "no progress event reached the manager's onEvent");
  assert.deepEqual([...new Set(events.map((event) => `${event.type} ${"version" in event ? event.version : ""}`))], ["progress 3"]);

  assert.deepEqual(plan.steps.map((entry) => entry.version), [2, 3, 4]);
  assert.equal(rehearsal.ok, false);
  assert.equal(rehearsal.fromVersion, 1);
  assert.equal(rehearsal.targetVersion, 4);
  assert.equal(rehearsal.reachedVersion, 3);
  assert.deepEqual(rehearsal.steps.map((step) => [step.version, step.status]), [[2, "applied"], [3, "applied"], [4, "failed"]]);
  for (const step of rehearsal.steps.slice(0, 2)) assert.equal(typeof step.durationMs, "number");
  assert.equal(rehearsal.steps[2]!.durationMs, null);

  // 004's CREATE TABLE archive was rolled back with it, so it is not in the diff.
  assert.deepEqual(
    rehearsal.schemaChanges.map((change) => [change.objectType, change.name, change.change]),
    [
      ["column", "notes.priority", "added"],
      ["index", "idx_notes_priority", "added"],
      ["trigger", "notes_touch", "removed"],
    ],
  );
  assert.deepEqual(rehearsal.rowCounts.find((row) => row.table === "notes"), { table: "notes", before: 2, after: 5 });
  assert.deepEqual(rehearsal.rowCounts.find((row) => row.table === "items"), { table: "items", before: 2000, after: 2000 });

  // The real run fails the same way.
  const real = new Database(file);
  t.after(() => real.close());
  const error = (() => {
    try {
      new MigrationManager(real, migrations).up();
    } catch (caught) {
      return caught;
    }
    assert.fail("the real run should have failed");
  })();
  assert.ok(error instanceof MigrationFailedError);
  assert.equal(rehearsal.failure?.code, error.code);
  assert.equal(rehearsal.failure?.message, error.message);
  assert.deepEqual(
    { version: rehearsal.failure?.fields.version, file: rehearsal.failure?.fields.file, direction: rehearsal.failure?.fields.direction, rolledBack: rehearsal.failure?.fields.rolledBack },
    { version: error.version, file: error.file, direction: error.direction, rolledBack: error.rolledBack },
  );
  assert.equal(rehearsal.failure?.cause?.code, "SQLITE_CONSTRAINT_NOTNULL");
});

test("up --dry-run --json prints the rehearsal, exits 1 for a failing plan and does not touch the file", async (t) => {
  const { project, file } = await setUp(t);
  const before = readBytes(file);

  const failing = await runCli(["--db", file, "up", "--dry-run", "--json"], { cwd: project.root });
  assert.equal(failing.code, 1, failing.stderr);
  const report = JSON.parse(failing.stdout) as { ok: boolean; failure: { code: string; fields: { version: number } }; schemaChanges: Array<{ name: string }> };
  assert.equal(report.ok, false);
  assert.equal(report.failure.code, "MIGRATION_FAILED");
  assert.equal(report.failure.fields.version, 4);
  assert.ok(report.schemaChanges.some((change) => change.name === "notes.priority"));

  const passing = await runCli(["--db", file, "up", "--dry-run", "--to", "3"], { cwd: project.root });
  assert.equal(passing.code, 0, passing.stderr);
  assert.match(passing.stdout, /notes\.priority/);

  assert.deepEqual(readBytes(file), before, "the database file changed during the dry run");
});

test("a dry run works on a WAL-mode database and leaves it as it was", async (t) => {
  const { migrations, file } = await setUp(t);
  const db = new Database(file);
  t.after(() => db.close());
  db.pragma("journal_mode = WAL");
  const { rehearsal } = rehearseUp(new MigrationManager(db, migrations), { to: 3 });
  assert.equal(rehearsal.ok, true);
  assert.equal(rehearsal.reachedVersion, 3);
  assert.equal(new MigrationManager(db, migrations).currentVersion(), 1);
});

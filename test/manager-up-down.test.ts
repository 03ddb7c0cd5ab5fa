/**
 * `up` and `down` on real SQLite files, with the migrations of test/fixtures/runtime/ compiled by
 * the real `gen`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, type MigrationEvent } from "./support/stepwise.js";
import { snapshotDatabase, tableNames } from "./support/database-snapshot.js";
import { createTestProject, readBytes } from "./support/project.js";

test("a fresh database gets every migration; a second up changes no row, no schema and no byte", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const file = project.databasePath();
  const db = new Database(file);
  const events: MigrationEvent[] = [];
  const manager = new MigrationManager(db, migrations, { onEvent: (event) => events.push(event) });

  const first = manager.up();
  assert.deepEqual(first.steps.map((step) => step.version), [1, 2, 3]);
  assert.deepEqual([first.fromVersion, first.toVersion], [0, 3]);
  assert.equal(manager.currentVersion(), 3);
  assert.equal(db.pragma("user_version", { simple: true }), 3);
  assert.deepEqual(
    events.filter((event) => event.type === "migrated").map((event) => event.version),
    [1, 2, 3],
  );

  const history = manager.history();
  assert.deepEqual(history.map((row) => [row.version, row.name, row.checksum, row.state]), migrations.map((m) => [m.version, m.name, m.checksum, "applied"]));
  for (const row of history) {
    assert.match(row.appliedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(typeof row.durationMs, "number");
  }
  assert.deepEqual(db.prepare("SELECT version FROM side_effects ORDER BY version").pluck().all(), [1, 2, 3]);

  const before = snapshotDatabase(db);
  const bytesBefore = readBytes(file);
  events.length = 0;
  const second = manager.up();
  assert.deepEqual(second.steps, []);
  assert.deepEqual(events, [{ type: "nothing-pending", direction: "up", currentVersion: 3 }]);
  assert.deepEqual(snapshotDatabase(db), before);
  assert.deepEqual(manager.history(), history);
  db.close();
  assert.ok(readBytes(file).equals(bytesBefore), "the file changed on a second up");

  // A new connection (a restarted app) is just as idempotent.
  const reopened = new Database(file);
  assert.deepEqual(new MigrationManager(reopened, migrations).up().steps, []);
  reopened.close();
  assert.ok(readBytes(file).equals(bytesBefore), "the file changed on an up from a new connection");
});

test("up to a version stops there, and the next up continues", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);

  assert.deepEqual(manager.up({ to: 2 }).steps.map((step) => step.version), [1, 2]);
  assert.equal(manager.currentVersion(), 2);
  assert.equal(manager.status().pendingCount, 1);
  assert.deepEqual(manager.up().steps.map((step) => step.version), [3]);
  assert.throws(() => manager.up({ to: 1 }), { code: "INVALID_TARGET", target: 1 });
});

test("down by steps and to a version, including to 0, and back up again", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const migrations = await project.load();
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);

  manager.up({ to: 1 });
  const atVersion1 = snapshotDatabase(db);
  manager.up();

  const twoSteps = manager.down({ steps: 2 });
  assert.deepEqual(twoSteps.steps.map((step) => step.version), [3, 2]);
  assert.deepEqual([twoSteps.fromVersion, twoSteps.toVersion], [3, 1]);
  assert.equal(manager.currentVersion(), 1);
  assert.deepEqual(snapshotDatabase(db), atVersion1);

  manager.up();
  const toOne = manager.down({ to: 1 });
  assert.deepEqual(toOne.steps.map((step) => step.version), [3, 2]);
  assert.deepEqual(snapshotDatabase(db), atVersion1);

  const defaultStep = manager.down();
  assert.deepEqual(defaultStep.steps.map((step) => step.version), [1]);

  manager.up();
  const all = manager.down({ to: 0 });
  assert.deepEqual(all.steps.map((step) => step.version), [3, 2, 1]);
  assert.equal(manager.currentVersion(), 0);
  assert.equal(db.pragma("user_version", { simple: true }), 0);
  assert.deepEqual(tableNames(db), ["schema_migrations"]);
  assert.deepEqual(manager.history(), []);

  assert.throws(() => manager.down({ steps: 1 }), { code: "INVALID_TARGET" });
  assert.deepEqual(manager.up().steps.map((step) => step.version), [1, 2, 3]);
  assert.deepEqual(db.prepare("SELECT count(*) FROM counter").pluck().get(), 1);
});

test("down refuses to pass an irreversible migration before running anything", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/irreversible" });
  const migrations = await project.load();
  const file = project.databasePath();
  const db = new Database(file);
  const manager = new MigrationManager(db, migrations);
  manager.up();

  const before = snapshotDatabase(db);
  const bytesBefore = readBytes(file);
  const events: MigrationEvent[] = [];
  const watched = new MigrationManager(db, migrations, { onEvent: (event) => events.push(event) });
  for (const attempt of [() => watched.down({ to: 0 }), () => watched.down({ to: 1 }), () => watched.down({ steps: 2 })]) {
    assert.throws(attempt, { code: "IRREVERSIBLE_MIGRATION", version: 2, file: "migrations/002_seed_notes.sql" });
  }
  assert.deepEqual(events, [], "a refused down must not start any migration");
  // Migration 3 has a down and comes first; it must not have run.
  assert.deepEqual(snapshotDatabase(db), before);
  db.close();
  assert.ok(readBytes(file).equals(bytesBefore));

  const reopened = new Database(file);
  t.after(() => reopened.close());
  const again = new MigrationManager(reopened, migrations);
  assert.deepEqual(again.down({ to: 2 }).steps.map((step) => step.version), [3]);
  assert.deepEqual(again.status().migrations.map((row) => row.state), ["applied", "applied", "pending"]);
});

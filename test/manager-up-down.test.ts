/**
 * `up` and `down` on real SQLite files, with the migrations of test/fixtures/runtime/ compiled by
 * the real `gen`, on every driver available here (reads through the driver).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MigrationEvent } from "./support/stepwise.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { createTestProject, readBytes } from "./support/project.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { namedSqlEntry } from "./support/registry-builders.js";

await describeEachDriver("up and down", (h) => {
  test("a fresh database gets every migration; a second up changes no row, no schema and no byte", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const file = project.databasePath();
    const db = await h.open(file);
    t.after(() => db.close());
    const events: MigrationEvent[] = [];
    const manager = db.manager(migrations, { onEvent: (event) => events.push(event) });

    const first = manager.up();
    assert.deepEqual(
      first.steps.map((step) => step.version),
      [1, 2, 3],
    );
    assert.deepEqual([first.fromVersion, first.toVersion], [0, 3]);
    assert.equal(manager.currentVersion(), 3);
    assert.equal(db.userVersion(), 3);
    assert.deepEqual(
      events.filter((event) => event.type === "migrated").map((event) => event.version),
      [1, 2, 3],
    );

    const history = manager.history();
    assert.deepEqual(
      history.map((row) => [row.version, row.name, row.checksum, row.state]),
      migrations.map((m) => [m.version, m.name, m.checksum, "applied"]),
    );
    for (const row of history) {
      assert.match(row.appliedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.equal(typeof row.durationMs, "number");
    }
    assert.deepEqual(
      db.rows("SELECT version FROM side_effects ORDER BY version").map((row) => row.version),
      [1, 2, 3],
    );

    const before = db.snapshot();
    db.close();
    const bytesBefore = readBytes(file);
    const again = await h.open(file);
    events.length = 0;
    const second = again.manager(migrations, { onEvent: (event) => events.push(event) }).up();
    assert.deepEqual(second.steps, []);
    assert.deepEqual(events, [{ type: "nothing-pending", direction: "up", currentVersion: 3 }]);
    assert.deepEqual(again.snapshot(), before);
    assert.deepEqual(again.manager(migrations).history(), history);
    again.close();
    assert.ok(readBytes(file).equals(bytesBefore), "the file changed on a second up");

    // Yet another connection (a restarted app) is just as idempotent.
    const reopened = await h.open(file);
    assert.deepEqual(reopened.manager(migrations).up().steps, []);
    reopened.close();
    assert.ok(readBytes(file).equals(bytesBefore), "the file changed on an up from a new connection");
  });

  test("up to a version stops there, and the next up continues", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const manager = db.manager(migrations);

    assert.deepEqual(
      manager.up({ to: 2 }).steps.map((step) => step.version),
      [1, 2],
    );
    assert.equal(manager.currentVersion(), 2);
    assert.equal(manager.status().pendingCount, 1);
    assert.deepEqual(
      manager.up().steps.map((step) => step.version),
      [3],
    );
    assert.throws(() => manager.up({ to: 1 }), stepwiseFailure({ code: "INVALID_TARGET", target: 1 }));
  });

  test("down by steps and to a version, including to 0, and back up again", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const manager = db.manager(migrations);

    manager.up({ to: 1 });
    const atVersion1 = db.snapshot();
    manager.up();

    const twoSteps = manager.down({ steps: 2 });
    assert.deepEqual(
      twoSteps.steps.map((step) => step.version),
      [3, 2],
    );
    assert.deepEqual([twoSteps.fromVersion, twoSteps.toVersion], [3, 1]);
    assert.equal(manager.currentVersion(), 1);
    assert.deepEqual(db.snapshot(), atVersion1);

    manager.up();
    const toOne = manager.down({ to: 1 });
    assert.deepEqual(
      toOne.steps.map((step) => step.version),
      [3, 2],
    );
    assert.deepEqual(db.snapshot(), atVersion1);

    const defaultStep = manager.down();
    assert.deepEqual(
      defaultStep.steps.map((step) => step.version),
      [1],
    );

    manager.up();
    const all = manager.down({ to: 0 });
    assert.deepEqual(
      all.steps.map((step) => step.version),
      [3, 2, 1],
    );
    assert.equal(manager.currentVersion(), 0);
    assert.equal(db.userVersion(), 0);
    assert.deepEqual(db.tableNames(), ["schema_migrations"]);
    assert.deepEqual(manager.history(), []);

    assert.throws(() => manager.down({ steps: 1 }), { code: "INVALID_TARGET" });
    assert.deepEqual(
      manager.up().steps.map((step) => step.version),
      [1, 2, 3],
    );
    assert.equal(db.value("SELECT count(*) FROM counter"), 1);
  });

  test("a section that holds no statement (an import's -- migrate:empty, a comment, a lone semicolon) runs as nothing, up and down, in a transaction and outside one", async (t) => {
    const project = createTestProject(t);
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const manager = db.manager([
      namedSqlEntry(1, "create", "CREATE TABLE a (id INTEGER);", "DROP TABLE a;"),
      namedSqlEntry(2, "noop", "-- migrate:empty the tool ran no SQL\n-- a note\n", "/* nothing */ ;"),
      namedSqlEntry(3, "noop_outside", "-- nothing here either\n", "", { transaction: false }),
    ]);
    assert.deepEqual(
      manager.up().steps.map((step) => step.version),
      [1, 2, 3],
    );
    assert.deepEqual(
      manager.down({ to: 0 }).steps.map((step) => step.version),
      [3, 2, 1],
    );
    assert.equal(manager.currentVersion(), 0);
  });

  test("down refuses to pass an irreversible migration before running anything", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/irreversible" });
    const migrations = await project.load();
    const file = project.databasePath();
    const db = await h.open(file);
    db.manager(migrations).up();
    db.close();

    const bytesBefore = readBytes(file);
    const refusing = await h.open(file);
    const before = refusing.snapshot();
    const events: MigrationEvent[] = [];
    const watched = refusing.manager(migrations, { onEvent: (event) => events.push(event) });
    for (const attempt of [() => watched.down({ to: 0 }), () => watched.down({ to: 1 }), () => watched.down({ steps: 2 })]) {
      assert.throws(attempt, stepwiseFailure({ code: "IRREVERSIBLE_MIGRATION", version: 2, file: "migrations/002_seed_notes.sql" }));
    }
    assert.deepEqual(events, [], "a refused down must not start any migration");
    // Migration 3 has a down and comes first; it must not have run.
    assert.deepEqual(refusing.snapshot(), before);
    refusing.close();
    assert.ok(readBytes(file).equals(bytesBefore));

    const reopened = await h.open(file);
    t.after(() => reopened.close());
    const again = reopened.manager(migrations);
    assert.deepEqual(
      again.down({ to: 2 }).steps.map((step) => step.version),
      [3],
    );
    assert.deepEqual(
      again.status().migrations.map((row) => row.state),
      ["applied", "applied", "pending"],
    );
  });
});

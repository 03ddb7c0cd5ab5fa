/**
 * `up({ transaction: "all" })` and `down({ transaction: "all" })`: one transaction around the whole
 * run, all or nothing. On every driver available here.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StepwiseError, type MigrationEvent } from "./support/stepwise.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { createTestProject } from "./support/project.js";
import { namedSqlEntry, tsEntry } from "./support/registry-builders.js";
import type { MigrationEntry } from "../src/core/types.js";

/**
 * Three migrations, SQL and TypeScript, whose first revert (the last of a roll-back-all) fails after
 * its DROP ran; the others revert cleanly. Migration 2 references 1, so the order matters.
 */
const REVERT_FAILS_LAST: MigrationEntry[] = [
  namedSqlEntry(
    1,
    "create_authors",
    "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO authors (name) VALUES ('Ursula');",
    "DROP TABLE authors; INSERT INTO missing_table VALUES (1);",
  ),
  tsEntry(2, {
    up(db) {
      db.exec("CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors (id), title TEXT NOT NULL)");
      db.exec("INSERT INTO books (author_id, title) VALUES (1, 'The Dispossessed')");
    },
    down(db) {
      db.exec("DROP TABLE books");
    },
  }) as MigrationEntry,
  namedSqlEntry(3, "create_reviews", "CREATE TABLE reviews (id INTEGER PRIMARY KEY, book_id INTEGER NOT NULL REFERENCES books (id));", "DROP TABLE reviews;"),
];

/** `REVERT_FAILS_LAST` with a first revert that succeeds. */
const REVERTIBLE: MigrationEntry[] = [{ ...REVERT_FAILS_LAST[0]!, downSql: "DROP TABLE authors;" } as MigrationEntry, ...REVERT_FAILS_LAST.slice(1)];

/** An event as the tests compare it: what happened to which migration, in which direction. */
function eventKey(event: MigrationEvent): string {
  return [event.type, "direction" in event ? event.direction : "", "version" in event ? event.version : ""].join(" ");
}

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
      (error: unknown) => error instanceof StepwiseError && error.is("MIGRATION_FAILED") && error.details.version === 3,
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

  test("an up or down option a JavaScript caller got wrong is USAGE before anything runs: a transaction mode not each or all, down with both steps and to", async (t) => {
    const project = createTestProject(t, { fixture: "whole-run-fails-at-3" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const manager = db.manager(migrations);
    // Read as "each", these committed migrations 1 and 2 of a run the caller meant to be all or nothing.
    for (const transaction of ["All", true, "each "]) {
      assert.throws(() => manager.up({ transaction: transaction as "all" }), { code: "USAGE" }, String(transaction));
    }
    assert.deepEqual(db.tableNames(), []);
    manager.up({ to: 2 });
    assert.throws(() => manager.down({ to: 0, transaction: "ALL" as "all" }), { code: "USAGE" });
    // `to` won silently: two migrations reverted where `steps` asked for one.
    assert.throws(() => manager.down({ steps: 1, to: 0 } as unknown as { steps: number }), { code: "USAGE" });
    assert.throws(() => manager.planDown({ steps: 1, to: 0 } as unknown as { steps: number }), { code: "USAGE" });
    assert.equal(manager.currentVersion(), 2);
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
        error instanceof StepwiseError &&
        error.is("WHOLE_RUN_TRANSACTION_REFUSED") &&
        error.code === "WHOLE_RUN_TRANSACTION_REFUSED" &&
        error.details.version === 2 &&
        error.details.obstacle === "transaction-false" &&
        error.details.file === "migrations/002_vacuum.sql",
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

  test('down({ transaction: "all" }) is all or nothing: a failure in the last revert leaves every migration applied, history rows and user_version included', () =>
    h.withDatabase((db) => {
      db.exec("PRAGMA foreign_keys = ON");
      const events: MigrationEvent[] = [];
      const manager = db.manager(REVERT_FAILS_LAST, { onEvent: (event) => events.push(event) });
      manager.up();
      const before = db.snapshot();
      events.length = 0;

      assert.throws(
        () => manager.down({ to: 0, transaction: "all" }),
        (error: unknown) => error instanceof StepwiseError && error.is("MIGRATION_FAILED") && error.details.version === 1 && error.details.direction === "down" && error.details.rolledBack === true,
      );
      assert.deepEqual(db.snapshot(), before, "the reverts of 3 and 2 were rolled back with 1's");
      assert.deepEqual(
        manager.history().map((row) => row.version),
        [1, 2, 3],
      );
      assert.equal(
        events.some((event) => event.type === "migrated"),
        false,
        "nothing is reported reverted when the run rolled back",
      );

      const partial = manager.down({ steps: 2, transaction: "all" });
      assert.deepEqual([partial.direction, partial.fromVersion, partial.toVersion, partial.steps.map((step) => step.version)], ["down", 3, 1, [3, 2]]);
      assert.deepEqual(db.tableNames(), ["authors", "schema_migrations"]);
      assert.equal(manager.currentVersion(), 1);
      if (h.capabilities.userVersion) assert.equal(db.userVersion(), 1);
      assert.deepEqual(manager.down({ to: 1, transaction: "all" }).steps, [], "a second call changes nothing");
    }));

  test('down({ transaction: "all" }) reports the same events and result as down() does, in the same order of versions', async () => {
    const runs: { events: string[]; result: unknown; tables: string[] }[] = [];
    for (const transaction of ["each", "all"] as const) {
      await h.withDatabase((db) => {
        const events: MigrationEvent[] = [];
        const manager = db.manager(REVERTIBLE, { onEvent: (event) => events.push(event) });
        manager.up();
        events.length = 0;
        const result = manager.down({ to: 0, transaction });
        runs.push({
          // A whole run reports every migration as migrated once it committed, not after each one.
          events: events.map(eventKey).sort(),
          result: { ...result, steps: result.steps.map(({ version, name, durationMs }) => ({ version, name, durationMs: typeof durationMs })) },
          tables: db.tableNames(),
        });
      });
    }
    assert.deepEqual(runs[1], runs[0]);
    assert.deepEqual(runs[0]!.tables, ["schema_migrations"]);
    assert.deepEqual(
      (runs[0]!.result as { steps: { version: number }[] }).steps.map((step) => step.version),
      [3, 2, 1],
    );
  });

  test('down({ transaction: "all" }) refuses, before anything runs, when a migration to revert has transaction: false', () =>
    h.withDatabase((db) => {
      const registry: MigrationEntry[] = [
        namedSqlEntry(1, "create_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);", "DROP TABLE notes;"),
        namedSqlEntry(2, "vacuum", "VACUUM;", "VACUUM;", { transaction: false }),
        namedSqlEntry(3, "create_tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;"),
      ];
      const manager = db.manager(registry);
      manager.up();
      const before = db.snapshot();
      assert.throws(
        () => manager.down({ to: 0, transaction: "all" }),
        (error: unknown) =>
          error instanceof StepwiseError &&
          error.is("WHOLE_RUN_TRANSACTION_REFUSED") &&
          error.code === "WHOLE_RUN_TRANSACTION_REFUSED" &&
          error.details.version === 2 &&
          error.details.obstacle === "transaction-false" &&
          error.details.direction === "down" &&
          error.details.file === "migrations/002_vacuum.sql",
      );
      assert.deepEqual(db.snapshot(), before, "migration 3, which could have been reverted, was not");
      // What the error advises: down to the obstacle in one transaction, then the rest without it.
      assert.deepEqual(
        manager.down({ to: 2, transaction: "all" }).steps.map((step) => step.version),
        [3],
      );
      assert.deepEqual(
        manager.down({ to: 0 }).steps.map((step) => step.version),
        [2, 1],
      );
    }));

  test("a refusal whose obstacle is the first migration of the run advises a call that runs it, not a to: that is where the database already is", () =>
    h.withDatabase((db) => {
      const registry: MigrationEntry[] = [
        namedSqlEntry(1, "create_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);", "DROP TABLE notes;"),
        namedSqlEntry(2, "create_tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;"),
        namedSqlEntry(3, "vacuum", "VACUUM;", "VACUUM;", { transaction: false }),
      ];
      const manager = db.manager(registry);
      manager.up({ to: 2 });
      const refusal = (action: () => unknown): StepwiseError<"WHOLE_RUN_TRANSACTION_REFUSED"> => {
        try {
          action();
        } catch (error) {
          if (error instanceof StepwiseError && error.is("WHOLE_RUN_TRANSACTION_REFUSED")) return error;
          throw error;
        }
        assert.fail("expected WHOLE_RUN_TRANSACTION_REFUSED");
      };
      const up = refusal(() => manager.up({ transaction: "all" }));
      assert.deepEqual([up.details.version, up.details.direction], [3, "up"]);
      assert.doesNotMatch(up.message, /to: 2\b/, "up({ to: 2 }) would apply nothing: the database is at 2");
      // 3 is the newest, so the call that runs it is a plain up().
      assert.match(up.message, /run up\(\)\./);
      manager.up();
      const down = refusal(() => manager.down({ to: 0, transaction: "all" }));
      assert.deepEqual([down.details.version, down.details.direction], [3, "down"]);
      assert.doesNotMatch(down.message, /to: 3\b/, "down({ to: 3 }) would revert nothing: the database is at 3");
      assert.match(down.message, /run down\(\{ to: 2 \}\), then down\(\{ to: 0, transaction: "all" \}\)/);
      // The advice, followed: the obstacle alone, then the rest in one transaction.
      assert.deepEqual(
        manager.down({ to: 2 }).steps.map((step) => step.version),
        [3],
      );
      assert.deepEqual(
        manager.down({ to: 0, transaction: "all" }).steps.map((step) => step.version),
        [2, 1],
      );
    }));

  test('down({ transaction: "all" }) refuses, before anything runs, a migration to revert that switches foreign keys off while they are on', (t) => {
    if (h.lacks(t, "foreignKeySwitch")) return;
    return h.withDatabase((db) => {
      db.exec("PRAGMA foreign_keys = ON");
      const registry: MigrationEntry[] = [
        namedSqlEntry(1, "create_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);", "DROP TABLE notes;"),
        namedSqlEntry(
          2,
          "rebuild_notes",
          "CREATE TABLE notes_new (id INTEGER PRIMARY KEY, body TEXT); DROP TABLE notes; ALTER TABLE notes_new RENAME TO notes;",
          "CREATE TABLE notes_old (id INTEGER PRIMARY KEY); DROP TABLE notes; ALTER TABLE notes_old RENAME TO notes;",
          {
            disableForeignKeys: true,
          },
        ),
        namedSqlEntry(3, "create_tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;"),
      ];
      const manager = db.manager(registry);
      manager.up();
      const before = db.snapshot();
      assert.throws(
        () => manager.down({ to: 0, transaction: "all" }),
        (error: unknown) =>
          error instanceof StepwiseError &&
          error.is("WHOLE_RUN_TRANSACTION_REFUSED") &&
          error.details.version === 2 &&
          error.details.obstacle === "foreign-keys-off" &&
          error.details.direction === "down",
      );
      assert.deepEqual(db.snapshot(), before);
      assert.deepEqual(
        manager.down({ to: 0 }).steps.map((step) => step.version),
        [3, 2, 1],
        "down() without it switches foreign keys off for that migration alone",
      );
    });
  });
});

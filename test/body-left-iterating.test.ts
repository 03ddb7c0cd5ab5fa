/**
 * A TypeScript body on better-sqlite3 that returns (or throws) while a statement it ran is still iterating. better-sqlite3 then refuses
 * every other call on the connection, so stepwise could neither record the migration nor roll it back: the run must still fail as
 * `MIGRATION_FAILED` naming the file, rolled back, with the app's connection out of any transaction and out of unsafe mode.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { AsyncMigrationManager, MigrationManager } from "../src/entries/better-sqlite3.js";
import { asyncTsEntry, caught, rejection, sqlEntry, tsEntry } from "./support/registry-builders.js";
import type { MigrationDefinition } from "../src/core/types.js";

const seed = sqlEntry(1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b');", { downSql: "DROP TABLE t;" });

/** A file database with migration 1 applied, and a body for migration 2 that makes a table then leaves an iterator open (kept for the test to inspect). */
function setUp(bodyThrows: boolean) {
  const db = new Database(path.join(mkdtempSync(path.join(tmpdir(), "stepwise-iterating-")), "app.db"));
  new MigrationManager(db, [seed]).up();
  const left: { iterator: IterableIterator<unknown> | null } = { iterator: null };
  const up = (conn: Database.Database) => {
    conn.exec("CREATE TABLE u (id INTEGER)");
    left.iterator = conn.prepare("SELECT * FROM t").iterate();
    left.iterator.next();
    if (bodyThrows) throw new Error("the body's own failure");
  };
  return { db, left, up };
}

/** The database as migration 1 left it, the connection usable once the iterator ends, and better-sqlite3's own check back on while it iterates. */
function assertAsBefore(db: Database.Database, left: { iterator: IterableIterator<unknown> | null }): void {
  assert.equal(db.inTransaction, false, "the app's connection was left inside a transaction");
  // Unsafe mode was switched off again: better-sqlite3 still refuses a statement while the body's iterator is open.
  assert.throws(() => db.exec("SELECT 1"), TypeError);
  left.iterator!.return!();
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all(), [{ name: "schema_migrations" }, { name: "t" }]);
  assert.deepEqual(db.prepare("SELECT version FROM schema_migrations").all(), [{ version: 1 }]);
}

for (const bodyThrows of [false, true]) {
  const what = bodyThrows ? "throws" : "returns";
  test(`a body that ${what} with a statement still iterating: MIGRATION_FAILED naming it, rolled back, the connection left as it was`, () => {
    const { db, left, up } = setUp(bodyThrows);
    const error = caught(() => new MigrationManager(db, [seed, tsEntry(2, { up } as MigrationDefinition)]).up());
    assert.equal(error.code, "MIGRATION_FAILED");
    assert.equal(error.version, 2);
    assert.equal(error.rolledBack, true);
    assertAsBefore(db, left);
  });

  test(`the same through the async runner, an async body that ${what}`, async () => {
    const { db, left, up } = setUp(bodyThrows);
    const body = { up: async (conn: Database.Database) => up(conn) } as MigrationDefinition;
    const error = await rejection(() => new AsyncMigrationManager(db, [seed, asyncTsEntry(2, body)]).up());
    assert.equal(error.code, "MIGRATION_FAILED");
    assert.equal(error.version, 2);
    assert.equal(error.rolledBack, true);
    assertAsBefore(db, left);
  });
}

test("a transaction: false body that leaves a statement iterating fails naming it, and leaves the connection out of unsafe mode", () => {
  const { db, left, up } = setUp(false);
  const error = caught(() => new MigrationManager(db, [seed, tsEntry(2, { up, transaction: false } as MigrationDefinition)]).up());
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 2);
  assert.equal(error.rolledBack, false);
  assert.throws(() => db.exec("SELECT 1"), TypeError);
  left.iterator!.return!();
  assert.equal(db.inTransaction, false);
});

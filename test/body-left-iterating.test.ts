/**
 * A TypeScript body that returns (or throws) while a statement it ran is still running: a write whose RETURNING rows it read one of, or a
 * read it left after one row. SQLite commits nothing, and releases no savepoint, while a write statement of the connection runs, and
 * better-sqlite3 refuses every other call while any statement iterates. On every driver the run must still fail as `MIGRATION_FAILED`
 * naming the file (never `DATABASE_LOCKED`, never `TRANSACTION_ESCAPED`), rolled back where it said so, with the app's connection out of
 * any transaction; a read left running under a library that lets SQLite commit beneath it is simply applied.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachDriver, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { asyncTsEntry, caught, rejection, sqlEntry, tsEntry } from "./support/registry-builders.js";

// More rows than libsql reads ahead (100), so that its statement too is still running after the first.
const ROWS = 150;
const seed = sqlEntry(1, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS}) SELECT 'a' FROM n;`, {
  downSql: "DROP TABLE t;",
});
const WRITE = "UPDATE t SET v = 'x' RETURNING id";
const READ = "SELECT * FROM t";

/** A statement of every library's spelling: sql.js steps it, the others iterate it. */
interface Library {
  exec(sql: string): unknown;
  prepare(sql: string): { step(): boolean; free(): void; iterate(): Iterator<unknown> };
}

/** Runs `sql` on the app's connection and reads one row of it, leaving the statement running; returns what ends it. */
function leaveRunning(h: DriverHarness, db: Library, sql: string): () => void {
  if (h.name === "sql.js") {
    const statement = db.prepare(sql);
    statement.step();
    return () => statement.free();
  }
  const rows = db.prepare(sql).iterate();
  rows.next();
  return () => {
    // libsql's iterator has no return(): read to its end.
    if (rows.return) rows.return();
    else while (!rows.next().done);
  };
}

/** Migration 2: makes a table, then leaves `sql` running (`left.end` ends it) and returns, or throws. */
function bodyLeaving(h: DriverHarness, sql: string, bodyThrows: boolean) {
  const left = { end: (): void => undefined };
  const up = (db: Library): void => {
    db.exec("CREATE TABLE u (id INTEGER)");
    left.end = leaveRunning(h, db, sql);
    if (bodyThrows) throw new Error("the body's own failure");
  };
  return { left, up };
}

/** The app's connection out of stepwise's transaction (and, on better-sqlite3, out of unsafe mode: it still refuses a call while the body's statement runs), usable once that statement ends. */
function endAndCheckConnection(h: DriverHarness, db: TestDatabase, left: { end(): void }): void {
  assert.equal(db.inTransaction(), false, "the app's connection was left inside a transaction");
  if (h.name === "better-sqlite3") assert.throws(() => db.exec("SELECT 1"), TypeError);
  left.end();
  assert.equal(db.inTransaction(), false);
}

/** The database as migration 1 left it. */
function assertAsBefore(db: TestDatabase): void {
  assert.deepEqual(db.tableNames(), ["schema_migrations", "t"]);
  assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations ORDER BY version"), [{ version: 1, state: "applied" }]);
  assert.equal(db.value("SELECT count(*) FROM t WHERE v = 'a'"), ROWS);
}

/** The body's own failure when it threw, else the statement it left running, which the failure names with its fix. */
function assertBodysFailure(error: Record<string, unknown>, bodyThrows: boolean): void {
  assert.equal(error.code, "MIGRATION_FAILED", String(error.message));
  assert.equal(error.version, 2);
  assert.equal(error.file, "migrations/002_step_2.ts");
  assert.match(String((error.cause as Error).message), bodyThrows ? /the body's own failure/ : /still (running|iterating).*(finish|return\(\))/);
}

await describeEachDriver("a body that leaves a statement running", (h) => {
  for (const bodyThrows of [false, true]) {
    const what = bodyThrows ? "throws" : "returns";
    test(`a body that ${what} with a write still running: MIGRATION_FAILED naming it, rolled back, the connection out of the transaction [${h.name}]`, async (t) => {
      if (h.name === "never-seen")
        return void t.skip("a second better-sqlite3 driver, written against the seam alone: better-sqlite3's refusal of every call while a statement iterates is its own driver's to handle");
      await h.withDatabase((db) => {
        db.migrate([seed]);
        const { left, up } = bodyLeaving(h, WRITE, bodyThrows);
        const error = caught(() => db.manager([seed, tsEntry<Library>(2, { up })]).up());
        assertBodysFailure(error, bodyThrows);
        assert.equal(error.rolledBack, true);
        endAndCheckConnection(h, db, left);
        assertAsBefore(db);
      });
    });

    test(`the same through the async runner, an async body that ${what} [${h.name}]`, async (t) => {
      if (h.name === "never-seen") return void t.skip("a second better-sqlite3 driver, written against the seam alone");
      await h.withDatabase(async (db) => {
        db.migrate([seed]);
        const { left, up } = bodyLeaving(h, WRITE, bodyThrows);
        const error = await rejection(() => new h.entry.AsyncMigrationManager(db.native, [seed, asyncTsEntry<Library>(2, { up: async (conn) => up(conn) })]).up());
        assertBodysFailure(error, bodyThrows);
        assert.equal(error.rolledBack, true);
        endAndCheckConnection(h, db, left);
        assertAsBefore(db);
      });
    });
  }

  test(`a transaction: false body that leaves a write running fails naming it before stepwise writes, its started row kept for repair [${h.name}]`, async (t) => {
    if (h.name === "never-seen") return void t.skip("a second better-sqlite3 driver, written against the seam alone");
    await h.withDatabase((db) => {
      db.migrate([seed]);
      const { left, up } = bodyLeaving(h, WRITE, false);
      const error = caught(() => db.manager([seed, tsEntry<Library>(2, { up, transaction: false })]).up());
      assertBodysFailure(error, false);
      assert.equal(error.rolledBack, false);
      endAndCheckConnection(h, db, left);
      assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations ORDER BY version"), [
        { version: 1, state: "applied" },
        { version: 2, state: "started" },
      ]);
    });
  });

  for (const transaction of [true, false]) {
    test(`a ${transaction ? "" : "transaction: false "}body that leaves a read running is applied where SQLite commits beneath it, else fails naming it (better-sqlite3) [${h.name}]`, async (t) => {
      if (h.name === "never-seen") return void t.skip("a second better-sqlite3 driver, written against the seam alone");
      await h.withDatabase((db) => {
        db.migrate([seed]);
        const { left, up } = bodyLeaving(h, READ, false);
        const run = () => db.manager([seed, tsEntry<Library>(2, { up, transaction })]).up();
        if (h.name === "better-sqlite3") {
          const error = caught(run);
          assertBodysFailure(error, false);
          assert.equal(error.rolledBack, transaction);
          endAndCheckConnection(h, db, left);
          if (transaction) assertAsBefore(db);
          return;
        }
        assert.deepEqual(
          run().steps.map((step) => step.version),
          [2],
        );
        endAndCheckConnection(h, db, left);
        assert.deepEqual(db.tableNames(), ["schema_migrations", "t", "u"]);
        assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations ORDER BY version"), [
          { version: 1, state: "applied" },
          { version: 2, state: "applied" },
        ]);
      });
    });
  }
});

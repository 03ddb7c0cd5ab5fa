/**
 * SQL migrations that name no transaction-control keyword run without the escape guard's markers
 * (`needsEscapeGuard` in `src/core/transaction-guard.ts`). These tests check both halves of that promise on every
 * driver: the markers really are skipped, and nothing the guard used to catch gets through. The
 * keyword scan itself is checked against SQLite's own behaviour in `transaction-control.test.ts`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { caught, createItems, sqlEntry, tsEntry } from "./support/registry-builders.js";

/** The temp tables stepwise's guard made on the connection. */
const GUARD_TABLES = "SELECT count(*) FROM temp.sqlite_master WHERE name LIKE 'stepwise\\_guard\\_%' ESCAPE '\\'";

/** Guard tables seen on the connection while each migration ran, by version. */
function guardTablesWhileMigrating(db: TestDatabase): { seen: Map<number, number>; onEvent: (event: { type: string; version?: number }) => void } {
  const seen = new Map<number, number>();
  return {
    seen,
    onEvent: (event) => {
      if (event.type === "migrating" && event.version !== undefined) seen.set(event.version, Number(db.value(GUARD_TABLES)));
    },
  };
}

await describeEachDriver("SQL that cannot end a transaction runs without the escape guard", (h) => {
  test("a run of such SQL migrations never makes the witness table", () =>
    h.withDatabase((db) => {
      const probe = guardTablesWhileMigrating(db);
      const migrations = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('two');"), sqlEntry(3, "CREATE INDEX items_note ON items (note);")];
      db.manager(migrations, { onEvent: probe.onEvent as never }).up();
      assert.deepEqual(
        [...probe.seen],
        [
          [1, 0],
          [2, 0],
          [3, 0],
        ],
      );
      assert.equal(db.value(GUARD_TABLES), 0);
      assert.deepEqual(
        db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
        [1, 2, 3],
      );
      assert.equal(db.userVersion(), 3);
    }));

  test("a TypeScript migration after them gets the guard, made before its transaction, and it still catches an escape", () =>
    h.withDatabase((db) => {
      const probe = guardTablesWhileMigrating(db);
      const migrations = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('two');"), tsEntry(3, { up: (d) => void d.exec("INSERT INTO items (note) VALUES ('three'); COMMIT; BEGIN") })];
      const error = caught(() => db.manager(migrations, { onEvent: probe.onEvent as never }).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 3);
      assert.equal(error.committed, "yes");
      assert.equal(probe.seen.get(2), 0);
      assert.equal(probe.seen.get(3), 1);
      assert.equal(db.value(GUARD_TABLES), 0, "the witness is dropped when the run ends");
    }));

  for (const [label, body] of [
    ["COMMIT; BEGIN", "INSERT INTO items (note) VALUES ('two'); COMMIT; BEGIN;"],
    ["END (COMMIT's synonym) in lower case behind a comment", "INSERT INTO items (note) VALUES ('two'); /* x */end/* y */; begin;"],
    ["ROLLBACK then autocommitted DDL", "INSERT INTO items (note) VALUES ('two'); ROLLBACK; CREATE TABLE stray (id INTEGER);"],
    ["RELEASE of a savepoint that opened the transaction", "COMMIT; SAVEPOINT outer_one; INSERT INTO items (note) VALUES ('two'); RELEASE outer_one; BEGIN;"],
  ] as const) {
    test(`SQL that ends the transaction is still guarded and refused: ${label}`, () =>
      h.withDatabase((db) => {
        const error = caught(() => db.manager([createItems, sqlEntry(2, body)]).up());
        assert.equal(error.code, "TRANSACTION_ESCAPED");
        assert.equal(error.version, 2);
        assert.notEqual(error.committed, "no", "something was committed outside stepwise's transaction");
        assert.deepEqual(
          db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
          [1],
        );
      }));
  }

  test("unguarded SQL whose failure makes SQLite roll back the whole transaction (RAISE(ROLLBACK)) is reported as a rolled-back failure, with nothing kept", () =>
    h.withDatabase((db) => {
      const trigger = sqlEntry(2, "CREATE TRIGGER items_guard BEFORE INSERT ON items WHEN NEW.note = 'bad' BEGIN SELECT RAISE(ROLLBACK, 'refused'); END;");
      db.manager([createItems, trigger]).up();
      const before = db.snapshot();
      // No transaction keyword in this text: it runs unguarded, and the trigger ends the transaction.
      const failing = sqlEntry(3, "CREATE TABLE kept_if_bug (id INTEGER); INSERT INTO items (note) VALUES ('bad');");
      const error = caught(() => db.manager([createItems, trigger, failing]).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 3);
      assert.equal(error.rolledBack, true);
      assert.deepEqual(db.snapshot(), before);
      assert.equal(db.inTransaction(), false);
    }));

  test("unguarded SQL hitting an ON CONFLICT ROLLBACK constraint leaves the database as it was, and the next run applies the fixed migration", () =>
    h.withDatabase((db) => {
      const table = sqlEntry(2, "CREATE TABLE tags (name TEXT UNIQUE ON CONFLICT ROLLBACK); INSERT INTO tags (name) VALUES ('a');");
      db.manager([createItems, table]).up();
      const before = db.snapshot();
      const error = caught(() => db.manager([createItems, table, sqlEntry(3, "CREATE TABLE extra (id INTEGER); INSERT INTO tags (name) VALUES ('a');")]).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.rolledBack, true);
      assert.deepEqual(db.snapshot(), before);
      db.manager([createItems, table, sqlEntry(3, "CREATE TABLE extra (id INTEGER); INSERT INTO tags (name) VALUES ('b');")]).up();
      assert.equal(db.value("SELECT count(*) FROM tags"), 2);
    }));
});

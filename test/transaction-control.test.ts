/**
 * `sqlMayEndTransaction` decides which SQL migrations skip the escape guard, so a text it calls safe
 * must never end or replace the transaction it runs in. SQLite is the judge: each generated text
 * runs inside a transaction whose savepoint would not survive an escape, and every text that
 * escaped must have been flagged. Texts are built from the pieces that matter (every
 * transaction-control statement, comments, strings and identifiers holding keywords, odd spacing and
 * case), plus arbitrary characters.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import fc from "fast-check";
import { sqlMayEndTransaction } from "../src/core/transaction-guard.js";

const PIECES = [
  "BEGIN",
  "BEGIN IMMEDIATE",
  "begin deferred transaction",
  "COMMIT",
  "commit transaction",
  "END",
  "eNd TrAnSaCtIoN",
  "ROLLBACK",
  "rollback to probe",
  "SAVEPOINT sp",
  "RELEASE sp",
  "release savepoint sp",
  "SELECT 1",
  "SELECT 'COMMIT'",
  'SELECT "end" FROM (SELECT 1 AS "end")',
  "SELECT CASE WHEN 1 THEN 2 END",
  "CREATE TABLE IF NOT EXISTS t (x)",
  "INSERT INTO t VALUES ('ROLLBACK')",
  "/* COMMIT */",
  "-- ROLLBACK\n",
  "/**/",
  ";",
  " ",
  "\n",
  "\t",
];

const text = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((parts) => parts.join(" ")),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((parts) => parts.join(";")),
  fc.string({ unit: fc.constantFrom(..."BEGINCOMTDRLLAKSVPbegincomtdrllaksvp ;/*-\n'\"_0"), maxLength: 40 }),
);

/** Runs `sql` inside a transaction and reports whether that transaction survived it. */
function escapes(db: Database.Database, sql: string): boolean {
  db.exec("BEGIN IMMEDIATE; SAVEPOINT probe_marker_4f1c");
  try {
    db.exec(sql);
  } catch {
    // A failing text may still have run transaction statements before it failed.
  }
  let survived: boolean;
  try {
    db.exec("RELEASE probe_marker_4f1c");
    survived = db.inTransaction;
  } catch {
    survived = false;
  }
  if (db.inTransaction) db.exec("ROLLBACK");
  return !survived;
}

test("every generated text that ends or replaces SQLite's transaction is flagged by sqlMayEndTransaction", () => {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE t (x)");
  let escaped = 0;
  fc.assert(
    fc.property(text, (sql) => {
      if (!escapes(db, sql)) return true;
      escaped++;
      return sqlMayEndTransaction(sql);
    }),
    { numRuns: 3000 },
  );
  db.close();
  // The generator must really produce escapes, or the property proves nothing.
  assert.ok(escaped > 100, `only ${escaped} generated texts escaped`);
});

test("SQL without transaction keywords is not flagged, so ordinary migrations skip the guard", () => {
  for (const sql of [
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);",
    "ALTER TABLE accounts ADD COLUMN created_at TEXT; CREATE INDEX accounts_created ON accounts (created_at);",
    "INSERT INTO settings (key, value) VALUES ('theme', 'dark'); UPDATE accounts SET email = lower(email);",
    "DROP INDEX accounts_created; DROP TABLE accounts;",
    "CREATE TABLE appended (id INTEGER); -- pending, ended, committed_at",
  ]) {
    assert.equal(sqlMayEndTransaction(sql), false, sql);
  }
});

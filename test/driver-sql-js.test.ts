/**
 * What the smoke test does not show about the sql.js driver: its code-less errors read back as
 * SQLite's result codes (disk full is DISK_FULL, not a bare MIGRATION_FAILED), `export()` of a migrated
 * database keeping the connection and its settings, batches in a `transaction: false` migration,
 * and the foreign-key switch.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import initSqlJs from "sql.js";
import { createSqlJsDriver } from "../src/drivers/sql-js.js";
import { MigrationManager, migrate } from "../src/entries/sql-js.js";
import type { MigrationContext, MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { factsOf } from "./support/stepwise-failure.js";

const SQL = await initSqlJs();

function entry(version: number, fields: Partial<MigrationEntry> & ({ upSql: string } | { module: { up: (db: never, context: MigrationContext) => void } })): MigrationEntry {
  const base = { version, name: `m${version}`, description: null, checksum: `sha256:${version}`, reversible: false, transaction: true, disableForeignKeys: false };
  return "upSql" in fields
    ? ({ ...base, kind: "sql", file: `migrations/00${version}_m${version}.sql`, downSql: null, ...fields } as MigrationEntry)
    : ({ ...base, kind: "ts", file: `migrations/00${version}_m${version}.ts`, ...fields } as MigrationEntry);
}

const registry: MigrationRegistry = [entry(1, { upSql: "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO contacts (name) VALUES ('a'), ('b'), ('c');" })];
const value = (db: initSqlJs.Database, sql: string) => db.exec(sql)[0]?.values[0]?.[0];

test("sql.js: an error sql.js raises reads as SQLite's result code, and an Error that only says SQLite's words reads as none", () => {
  const db = new SQL.Database();
  const driver = createSqlJsDriver(db);
  const raised = (action: () => unknown): unknown => {
    try {
      action();
    } catch (error) {
      return error;
    }
    assert.fail("expected a throw");
  };
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  db.exec("INSERT INTO t VALUES (1)");
  // sql.js's Error carries only the message; the driver reads the result code its handleError was given.
  assert.deepEqual(driver.classifyError(raised(() => db.exec("INSERT INTO t VALUES (1)"))), { kind: "other", nativeCode: "SQLITE_CONSTRAINT" });
  assert.deepEqual(driver.classifyError(raised(() => db.exec("SELECT * FROM missing"))), { kind: "other", nativeCode: "SQLITE_ERROR" });
  const garbage = new SQL.Database(new Uint8Array(4096).fill(7));
  const notADatabase = createSqlJsDriver(garbage);
  assert.deepEqual(notADatabase.classifyError(raised(() => garbage.exec("SELECT * FROM sqlite_master"))), { kind: "notadb", nativeCode: "SQLITE_NOTADB" });
  assert.deepEqual(driver.classifyError(new Error("database or disk is full")), { kind: "other", nativeCode: null });
  assert.deepEqual(driver.classifyError(new Error("database is locked")), { kind: "other", nativeCode: null });
  garbage.close();
  db.close();
});

test("sql.js: a migration that fills the database is DISK_FULL with its version, and nothing of it stays", () => {
  const db = new SQL.Database();
  try {
    migrate(db, registry);
    db.exec(`PRAGMA max_page_count = ${Number(value(db, "PRAGMA page_count")) + 1}`);
    const big = entry(2, { upSql: "CREATE TABLE blobs (b BLOB); INSERT INTO blobs VALUES (randomblob(200000));" });
    assert.throws(
      () => migrate(db, [...registry, big]),
      (raw: unknown) => {
        const error = factsOf(raw);
        assert.equal(error.code, "DISK_FULL");
        assert.equal(error.version, 2);
        assert.equal(error.sqliteCode, "SQLITE_FULL");
        return true;
      },
    );
    assert.equal(value(db, "SELECT count(*) FROM sqlite_master WHERE name = 'blobs'"), 0);
    assert.equal(value(db, "SELECT max(version) FROM schema_migrations"), 1);
    assert.equal(value(db, "PRAGMA user_version"), 1);
  } finally {
    db.close();
  }
});

test("sql.js: export() of a migrated database reopens with its history, and the connection keeps working with its settings", () => {
  const db = new SQL.Database();
  try {
    db.exec("PRAGMA foreign_keys = ON");
    const manager = new MigrationManager(db, registry);
    manager.up();
    const bytes = db.export();
    // The connection is still usable after export(), with enforcement still on.
    assert.equal(value(db, "PRAGMA foreign_keys"), 1);
    assert.equal(manager.status().currentVersion, 1);
    const copy = new SQL.Database(bytes);
    try {
      const reopened = new MigrationManager(copy, registry);
      assert.equal(reopened.status().currentVersion, 1);
      assert.deepEqual(reopened.up().steps, []);
      assert.equal(value(copy, "PRAGMA user_version"), 1);
    } finally {
      copy.close();
    }
  } finally {
    db.close();
  }
});

test("sql.js: forEachBatch walks in its own transactions in a transaction:false migration, and a disableForeignKeys migration runs", () => {
  const db = new SQL.Database();
  try {
    db.exec("PRAGMA foreign_keys = ON");
    const batches: boolean[] = [];
    const walk = entry(2, {
      transaction: false,
      module: {
        up: (connection: initSqlJs.Database, context: MigrationContext) => {
          const summary = context.forEachBatch<{ id: number }>({ table: "contacts", batchSize: 2 }, (rows: { id: number }[]) => {
            batches.push(rows.length > 0);
            for (const row of rows) connection.run("UPDATE contacts SET name = upper(name) WHERE id = ?", [row.id]);
          });
          assert.deepEqual(summary, { rows: 3, batches: 2 });
        },
      },
    });
    const loose = entry(3, {
      disableForeignKeys: true,
      upSql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, contact_id INTEGER REFERENCES contacts(id)); INSERT INTO notes VALUES (1, 99); DELETE FROM notes;",
    });
    assert.deepEqual(
      migrate(db, [...registry, walk, loose]).steps.map((step) => step.version),
      [1, 2, 3],
    );
    assert.deepEqual(db.exec("SELECT name FROM contacts ORDER BY id")[0]?.values, [["A"], ["B"], ["C"]]);
    assert.equal(batches.length, 2);
    assert.equal(value(db, "PRAGMA foreign_keys"), 1);
    // No transaction is left open, so the app can export at once.
    assert.ok(db.export().length > 0);
  } finally {
    db.close();
  }
});

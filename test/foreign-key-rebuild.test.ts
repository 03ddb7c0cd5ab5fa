/**
 * Table rebuilds with foreign keys. Rebuilding a parent table (create, copy, DROP, rename) with
 * enforcement on cascade-deletes its children, because DROP TABLE deletes every row first. The
 * `foreign_keys:off` flag (TS: `disableForeignKeys`) switches enforcement off around the
 * transaction, checks `PRAGMA foreign_key_check` before committing, and restores it.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, type ForeignKeyViolationError } from "./support/stepwise.js";
import { createTestProject, readBytes } from "./support/project.js";

const REBUILD = "002_rebuild_authors_born_integer.sql";

function openWithForeignKeys(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("foreign_keys = ON");
  return db;
}

test("rebuilding a parent table with foreign_keys:off keeps every child row, and enforcement is restored", async (t) => {
  const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
  const migrations = await project.load();
  const db = openWithForeignKeys(project.databasePath());
  t.after(() => db.close());
  new MigrationManager(db, migrations).up();
  assert.equal(db.prepare("SELECT count(*) FROM books").pluck().get(), 4);
  assert.equal(db.prepare("SELECT typeof(born) FROM authors WHERE id = 1").pluck().get(), "integer");
  assert.equal(db.pragma("foreign_keys", { simple: true }), 1);
  assert.deepEqual(db.pragma("foreign_key_check"), []);
});

test("the same rebuild without the flag cascade-deletes the children (what the flag prevents)", async (t) => {
  const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
  const file = path.join(project.migrationsDir, REBUILD);
  writeFileSync(file, readFileSync(file, "utf8").replace("-- migrate:up foreign_keys:off", "-- migrate:up"));
  const migrations = await project.load();
  const db = openWithForeignKeys(project.databasePath());
  t.after(() => db.close());
  new MigrationManager(db, migrations).up();
  assert.equal(db.prepare("SELECT count(*) FROM books").pluck().get(), 0);
});

test("a rebuild that leaves dangling references rolls back with FOREIGN_KEY_VIOLATION", async (t) => {
  const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
  const file = path.join(project.migrationsDir, REBUILD);
  writeFileSync(file, readFileSync(file, "utf8").replace("FROM authors;", "FROM authors WHERE id <> 3;"));
  const migrations = await project.load();
  const db = openWithForeignKeys(project.databasePath());
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  manager.up({ to: 1 });
  const before = readBytes(project.databasePath());
  assert.throws(
    () => manager.up(),
    (error: ForeignKeyViolationError) =>
      error.code === "FOREIGN_KEY_VIOLATION" && error.version === 2 && error.violationCount === 1 && error.violations[0]!.table === "books" && error.violations[0]!.parent === "authors",
  );
  assert.deepEqual(readBytes(project.databasePath()), before, "the failed rebuild changed the file");
  assert.equal(manager.currentVersion(), 1);
  assert.equal(db.pragma("foreign_keys", { simple: true }), 1, "enforcement was not restored");
});

test("gen flags PRAGMA foreign_keys inside a transactional migration, SQL and TypeScript", async (t) => {
  const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
  project.writeMigration("003_pragma_in_transaction.sql", "-- migrate:up\nPRAGMA foreign_keys = OFF;\nDROP TABLE books;\n");
  project.writeMigration(
    "004_pragma_in_transaction.ts",
    `import { defineMigration } from "stepwise";\nexport default defineMigration({ up(db) { db.exec("PRAGMA foreign_keys = OFF"); } });\n`,
  );
  const result = await project.generate();
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.problems.filter((problem) => problem.code === "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION").map((problem) => problem.file),
    ["migrations/003_pragma_in_transaction.sql", "migrations/004_pragma_in_transaction.ts"],
  );
});

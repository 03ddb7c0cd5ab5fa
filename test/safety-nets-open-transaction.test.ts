/**
 * Every operation that starts its own transaction or VACUUM, called on a connection the app left
 * inside a transaction, on every driver of the matrix: it refuses with TRANSACTION_OPEN before
 * anything runs (the app's transaction and its uncommitted write kept, no file made, history as it
 * was), or, for the nets that only read, works inside that transaction. And every net that needs the
 * system's temporary folder, with that folder unusable: it works without it, or refuses with
 * TEMP_FOLDER_UNUSABLE naming the folder, changing nothing.
 */
import * as SafetyNetsModule from "../src/safety/index.js";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { StepwiseError } from "../src/core/errors.js";
import type { DriverCapability } from "../src/core/driver.js";
import type { SyncMigrationManager } from "../src/core/manager.js";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { createItems, sqlEntry } from "./support/registry-builders.js";

type Manager = SyncMigrationManager<unknown, MigrationRegistry>;

const registry: MigrationEntry[] = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('from 2');", { downSql: "DELETE FROM items;" })];

/** The error `action` throws or rejects with, or `undefined` when it settles normally. */
async function settledError(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The typed fields a refusal must carry. */
function refusal(error: unknown): { code: string; driver?: unknown; operation?: unknown; folder?: unknown } {
  assert.ok(error instanceof StepwiseError, `expected a StepwiseError, got ${String((error as { message?: unknown } | undefined)?.message ?? error)}`);
  const fields = error.details as Record<string, unknown>;
  return { code: error.code, driver: fields.driver, operation: fields.operation, folder: fields.folder };
}

await describeEachDriver("operations that start their own transaction, on a connection the app left inside one", (h) => {
  const nets = SafetyNetsModule;
  const backups = (db: TestDatabase) => path.join(db.dir, "backups");
  const operations: Array<{ name: string; needs: DriverCapability[]; call(db: TestDatabase, manager: Manager): unknown }> = [
    { name: "up", needs: [], call: (_db, manager) => manager.up() },
    { name: "down", needs: [], call: (_db, manager) => manager.down() },
    { name: "reset", needs: [], call: (_db, manager) => manager.reset({ dangerouslyDropAllData: true }) },
    { name: "baselineDatabase", needs: ["snapshot"], call: (_db, manager) => nets.baselineDatabase(manager, 1) },
    // Version 1 has no interrupted attempt: a repair that ran would say INVALID_TARGET instead.
    { name: "repairIncompleteMigration", needs: [], call: (_db, manager) => nets.repairIncompleteMigration(manager, { version: 1, resolution: "forget" }) },
    { name: "takeBackup", needs: ["openFile"], call: (db, manager) => nets.takeBackup(manager, { directory: backups(db), version: 1 }) },
    { name: "upWithBackup", needs: ["openFile"], call: (db, manager) => nets.upWithBackup(manager, { backup: { directory: backups(db) } }) },
    {
      name: "restoreBackup",
      needs: ["openFile"],
      call: (db) => nets.restoreBackup({ driver: db.driver, backupFile: path.join(db.dir, "elsewhere.bak"), databasePath: db.file, migrations: registry }),
    },
  ];

  for (const operation of operations) {
    test(`${operation.name} refuses with TRANSACTION_OPEN before anything runs: the app's pending write kept, no file made, the history as it was`, (t) =>
      h.withDatabase(async (db) => {
        if (h.lacks(t, ...operation.needs)) return;
        const manager = db.manager(registry);
        manager.up({ to: 1 });
        db.exec("BEGIN");
        db.exec("INSERT INTO items (note) VALUES ('pending')");
        const files = readdirSync(db.dir).sort();
        const error = await settledError(() => operation.call(db, manager));
        assert.deepEqual(refusal(error), { code: "TRANSACTION_OPEN", driver: h.name, operation: operation.name, folder: undefined });
        assert.equal(db.driver.inTransaction(), true, "the app's transaction was ended");
        assert.equal(db.value("SELECT count(*) FROM items"), 1, "the app's pending write was lost");
        assert.deepEqual(readdirSync(db.dir).sort(), files, "a file or folder was made");
        db.exec("ROLLBACK");
        assert.equal(db.value("SELECT count(*) FROM items"), 0);
        assert.deepEqual(
          db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
          [1],
        );
        assert.equal(db.userVersion(), 1);
      }));
  }

  test("restoreBackup with an opener inside a transaction on another database is not refused for it", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "openFile")) return;
      db.exec("CREATE TABLE t (x); BEGIN; INSERT INTO t VALUES (1)");
      const error = await settledError(() =>
        nets.restoreBackup({ driver: db.driver, backupFile: path.join(db.dir, "missing.bak"), databasePath: path.join(db.dir, "other.db"), migrations: registry }),
      );
      // It went on to check the backup, which does not exist.
      assert.equal(refusal(error).code, "BACKUP_INVALID");
      assert.equal(db.driver.inTransaction(), true);
      db.exec("ROLLBACK");
    }));

  test("verifySchema inside the app's transaction reads what that connection sees: its uncommitted table is drift until rolled back", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager(registry);
      manager.up();
      db.exec("BEGIN");
      db.exec("CREATE TABLE by_hand (x)");
      const inside = nets.verifySchema(manager);
      assert.equal(inside.ok, false);
      assert.deepEqual(
        inside.differences.map((difference) => [difference.name, difference.change]),
        [["by_hand", "added"]],
      );
      assert.equal(db.driver.inTransaction(), true);
      db.exec("ROLLBACK");
      assert.equal(nets.verifySchema(manager).ok, true);
    }));

  test("status and history read inside the app's transaction, leaving it open", () =>
    h.withDatabase((db) => {
      const manager = db.manager(registry);
      manager.up({ to: 1 });
      db.exec("BEGIN");
      db.exec("INSERT INTO items (note) VALUES ('pending')");
      assert.equal(manager.status().currentVersion, 1);
      assert.deepEqual(
        manager.history().map((row) => row.version),
        [1],
      );
      assert.equal(db.driver.inTransaction(), true);
      assert.equal(db.value("SELECT count(*) FROM items"), 1);
      db.exec("ROLLBACK");
    }));
});

await describeEachDriver("nets that may need the system's temporary folder, with that folder unusable", (h) => {
  const nets = SafetyNetsModule;
  const unusable: Array<{ kind: string; make(dir: string): string | null }> = [
    { kind: "a missing folder", make: (dir) => path.join(dir, "missing", "deeper") },
    {
      kind: "a regular file",
      make: (dir) => {
        writeFileSync(path.join(dir, "a-file"), "x");
        return path.join(dir, "a-file");
      },
    },
    {
      kind: "a folder this user cannot write",
      make: (dir) => {
        // root writes through any mode bits, so the folder would be usable: nothing to test.
        if (process.getuid?.() === 0) return null;
        mkdirSync(path.join(dir, "read-only"));
        chmodSync(path.join(dir, "read-only"), 0o555);
        return path.join(dir, "read-only");
      },
    },
  ];

  for (const { kind, make } of unusable) {
    test(`with TMPDIR at ${kind}: verifySchema and baselineDatabase work, rehearseUp works or refuses with TEMP_FOLDER_UNUSABLE naming it; nothing changed`, (t) =>
      h.withDatabase((db) => {
        if (h.lacks(t, "snapshot")) return;
        const scratch = mkdtempSync(path.join(tmpdir(), "stepwise-tmpdir-"));
        const folder = make(scratch);
        if (folder === null) {
          rmSync(scratch, { recursive: true, force: true });
          t.skip("running as root, which can write any folder");
          return;
        }
        const manager = db.manager(registry);
        manager.up({ to: 1 });
        const saved = process.env.TMPDIR;
        process.env.TMPDIR = folder;
        let rehearsalError: unknown;
        try {
          assert.equal(nets.verifySchema(manager).ok, true);
          rehearsalError = (() => {
            try {
              nets.rehearseUp(manager);
              return undefined;
            } catch (error) {
              return error;
            }
          })();
        } finally {
          if (saved === undefined) delete process.env.TMPDIR;
          else process.env.TMPDIR = saved;
          chmodSync(scratch, 0o700);
          for (const name of readdirSync(scratch)) chmodSync(path.join(scratch, name), 0o700);
        }
        if (rehearsalError !== undefined) {
          assert.deepEqual(refusal(rehearsalError), { code: "TEMP_FOLDER_UNUSABLE", driver: undefined, operation: "rehearseUp", folder });
        }
        const left = readdirSync(scratch).filter((name) => name !== "a-file" && name !== "read-only" && name !== "missing");
        assert.deepEqual(left, []);
        assert.equal(manager.currentVersion(), 1);
        assert.equal(db.value("SELECT count(*) FROM items"), 0);
        rmSync(scratch, { recursive: true, force: true });

        // baselineDatabase on a database made before stepwise, with the same folder.
        const adopted = db.manager([createItems]);
        db.exec("DROP TABLE schema_migrations; PRAGMA user_version = 0");
        const again = mkdtempSync(path.join(tmpdir(), "stepwise-tmpdir-"));
        const brokenAgain = make(again)!;
        process.env.TMPDIR = brokenAgain;
        try {
          assert.deepEqual(nets.baselineDatabase(adopted, 1).recorded, [1]);
        } finally {
          if (saved === undefined) delete process.env.TMPDIR;
          else process.env.TMPDIR = saved;
          chmodSync(again, 0o700);
          rmSync(again, { recursive: true, force: true });
        }
      }));
  }
});

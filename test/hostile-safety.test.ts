/**
 * The safety nets under hostile conditions, through the real bin and the public API: restore while
 * other processes hold locks, stale WAL files, damaged or foreign backups, missing folders; pruning
 * in a backup folder shared with other databases and strangers' files; a backup folder that is full.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, listBackups, restoreBackup, takeBackup, takeBackupSync, upWithBackup, type MigrationRegistry } from "./support/stepwise.js";
import { startLockHolder } from "./support/lock-holder.js";
import { binPath, createTestProject, makeTempDir, readBytes, runCli } from "./support/project.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";
import type { StepwiseError } from "../src/core/errors.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

/** The SQLite library through which restore, and the backup nets given a path, open files. */
const library = createBetterSqlite3Driver(new Database(":memory:"));

/** The version a database file holds, read through a fresh connection: history and user_version. */
function versionOf(file: string): { history: number; userVersion: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null };
    return { history: row.v ?? 0, userVersion: db.pragma("user_version", { simple: true }) as number };
  } finally {
    db.close();
  }
}

function tableExists(file: string, table: string): boolean {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT count(*) FROM sqlite_master WHERE name = ?").pluck().get(table) === 1;
  } finally {
    db.close();
  }
}

const NO_STACK = /^\s+at /m;

/**
 * A database at version 3 whose backup at version 1 is in `backups/`. `prepare` runs on the fresh
 * database first (a page size, a journal mode).
 */
async function restoreScenario(t: Parameters<typeof createTestProject>[0], prepare?: (db: Database.Database) => void) {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const backups = path.join(project.root, "backups");
  const db = new Database(file);
  prepare?.(db);
  const manager = new MigrationManager(db, migrations);
  manager.up({ to: 1 });
  const backup = takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, version: 1 }).path;
  manager.up({ to: 3 });
  db.close();
  const cli = (...args: string[]) => runCli(["--db", file, ...args], { cwd: project.root });
  return { project, migrations, file, backups, backup, cli };
}

for (const role of ["reader", "writer", "wal-writer"] as const) {
  test(`restore fails with DATABASE_LOCKED and changes nothing while another process holds a lock (${role})`, async (t) => {
    const { file, backups, backup, cli } = await restoreScenario(t);
    const holder = await startLockHolder(t, file, role);
    const result = await cli("--busy-timeout", "400", "restore", backup, "--yes");
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /\[DATABASE_LOCKED\]/);
    assert.doesNotMatch(result.stderr, NO_STACK);
    await holder.send("release");
    assert.deepEqual(versionOf(file), { history: 3, userVersion: 3 });
    assert.deepEqual(
      listBackups(backups, file, { driver: library }).map((entry) => entry.path),
      [backup],
      "a failed restore left a snapshot behind",
    );
  });

  test(`restore waits within the busy timeout for a lock that is released, then restores (${role})`, async (t) => {
    const { file, backup, project } = await restoreScenario(t);
    const holder = await startLockHolder(t, file, role);
    // A child: the test releases the lock while the command waits, and SQLite's busy wait blocks its thread.
    const running = runCli(["--db", file, "--busy-timeout", "20000", "restore", backup, "--yes", "--json"], { cwd: project.root, child: true });
    // Long enough for the bin to start and find the lock taken.
    setTimeout(() => void holder.send("release"), 2500);
    const result = await running;
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { version: number }).version, 1);
    assert.deepEqual(versionOf(file), { history: 1, userVersion: 1 });
  });
}

test("a reader in WAL mode does not block restore; fresh connections see the restored content", async (t) => {
  const { file, backup, cli } = await restoreScenario(t, (db) => db.pragma("journal_mode = WAL"));
  const reader = await startLockHolder(t, file, "wal-reader");
  const result = await cli("--busy-timeout", "2000", "restore", backup, "--yes");
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(versionOf(file), { history: 1, userVersion: 1 });
  await reader.send("release");
  assert.equal((JSON.parse(await reader.send("read schema_migrations")) as unknown[]).length, 1);
});

test("restore over a target with a stale -wal left by a crashed writer: the backup's content wins", async (t) => {
  const { file, backup, cli } = await restoreScenario(t);
  const crashed = await startLockHolder(t, file, "wal-crash");
  await crashed.kill();
  assert.ok(existsSync(`${file}-wal`), "the crash should leave a -wal behind");
  const result = await cli("restore", backup, "--yes");
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(versionOf(file), { history: 1, userVersion: 1 });
  assert.equal(tableExists(file, "crash_marker"), false, "a table from the stale -wal survived the restore");
});

test("restore of a backup whose newest content is only in its own -wal brings that content", async (t) => {
  const { file, backup, cli } = await restoreScenario(t);
  const crashed = await startLockHolder(t, backup, "wal-crash");
  await crashed.kill();
  assert.ok(existsSync(`${backup}-wal`));
  const result = await cli("restore", backup, "--yes");
  assert.equal(result.code, 0, result.stderr);
  assert.equal(tableExists(file, "crash_marker"), true, "the rows in the backup's -wal were not restored");
  assert.deepEqual(versionOf(file), { history: 1, userVersion: 1 });
});

for (const journalMode of ["delete", "wal"] as const) {
  test(`another process that had the database open sees the restored content, not its page cache (${journalMode})`, async (t) => {
    const { file, backup, cli } = await restoreScenario(t, (db) => db.pragma(`journal_mode = ${journalMode}`));
    const reader = await startLockHolder(t, file, "idle");
    assert.equal((JSON.parse(await reader.send("read schema_migrations")) as unknown[]).length, 3);
    const result = await cli("restore", backup, "--yes");
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(await reader.send("read schema_migrations")) as unknown[]).length, 1);
    assert.deepEqual(versionOf(file), { history: 1, userVersion: 1 });
  });
}

for (const journalMode of ["delete", "wal"] as const) {
  test(`restore into a ${journalMode}-mode target with another page size brings the backup's pages`, async (t) => {
    const { project, migrations, file, backups, cli } = await restoreScenario(t, (db) => {
      db.pragma("page_size = 8192");
      db.pragma(`journal_mode = ${journalMode}`);
    });
    // A backup with the default page size, from a second database of the same app.
    const other = new Database(path.join(project.root, "other.db"));
    new MigrationManager(other, migrations).up({ to: 2 });
    const backup = takeBackupSync(createBetterSqlite3Driver(other), { directory: backups, version: 2 }).path;
    other.close();
    const result = await cli("restore", backup, "--yes");
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(versionOf(file), { history: 2, userVersion: 2 });
    const db = new Database(file, { readonly: true });
    t.after(() => db.close());
    assert.equal(db.pragma("page_size", { simple: true }), 4096);
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
    assert.equal(db.pragma("journal_mode", { simple: true }), journalMode);
  });
}

test("restore refuses a truncated or corrupted backup with BACKUP_INVALID and changes nothing", async (t) => {
  const { project, file, backup, cli } = await restoreScenario(t);
  const truncated = path.join(project.root, "truncated.bak");
  copyFileSync(backup, truncated);
  truncateSync(truncated, Math.floor(readFileSync(backup).length / 2));
  const corrupted = path.join(project.root, "corrupted.bak");
  const bytes = readFileSync(backup);
  // Scribble over the last page, where the items table's rows are, keeping the header intact.
  bytes.fill(0x5a, bytes.length - 3000, bytes.length - 100);
  writeFileSync(corrupted, bytes);
  const before = readBytes(file);
  for (const candidate of [truncated, corrupted]) {
    const result = await cli("restore", candidate, "--yes");
    assert.equal(result.code, 1, `${candidate}: ${result.stdout}`);
    assert.match(result.stderr, /\[BACKUP_INVALID\]/);
    assert.doesNotMatch(result.stderr, NO_STACK);
  }
  assert.deepEqual(readBytes(file), before);
});

test("restore refuses another app's backup with BACKUP_FOREIGN unless --force", async (t) => {
  const { migrations, file, cli } = await restoreScenario(t);
  const otherApp = createTestProject(t, { fixture: "fk-parent-rebuild" });
  const otherMigrations = await otherApp.load<MigrationRegistry>();
  const otherDb = new Database(otherApp.databasePath());
  new MigrationManager(otherDb, otherMigrations).up();
  const foreign = takeBackupSync(createBetterSqlite3Driver(otherDb), { directory: path.join(otherApp.root, "backups"), version: otherMigrations.length }).path;
  otherDb.close();
  const before = readBytes(file);

  const refused = await cli("restore", foreign, "--yes");
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /\[BACKUP_FOREIGN\]/);
  assert.doesNotMatch(refused.stderr, NO_STACK);
  assert.deepEqual(readBytes(file), before);

  await assert.rejects(restoreBackup({ driver: library, backupFile: foreign, databasePath: file, migrations }), (error: StepwiseError<"BACKUP_FOREIGN">) => {
    assert.equal(error.code, "BACKUP_FOREIGN");
    assert.equal(error.details.file, foreign);
    assert.ok(
      error.details.reasons.some((reason) => reason.version === 1 && reason.kind === "name"),
      JSON.stringify(error.details.reasons),
    );
    return true;
  });
  assert.deepEqual(readBytes(file), before);

  const forced = await cli("restore", foreign, "--yes", "--force", "--json");
  assert.equal(forced.code, 0, forced.stderr);
  const report = JSON.parse(forced.stdout) as { foreignReasons: Array<{ version: number; kind: string }> };
  assert.ok(report.foreignReasons.length > 0);
});

test("restore into a folder that does not exist fails with DATABASE_FOLDER_MISSING, no stack trace, nothing created", async (t) => {
  const { project, backup } = await restoreScenario(t);
  const missing = path.join(project.root, "no", "such", "folder", "app.db");
  const result = await runCli(["--db", missing, "restore", backup, "--yes"], { cwd: project.root });
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stderr, /\[DATABASE_FOLDER_MISSING\]/);
  assert.doesNotMatch(result.stderr, NO_STACK);
  assert.equal(existsSync(path.join(project.root, "no")), false);
  await assert.rejects(restoreBackup({ driver: library, backupFile: backup, databasePath: missing }), stepwiseFailure({ code: "DATABASE_FOLDER_MISSING", folder: path.dirname(missing) }));
});

// ---------------------------------------------------------------------------------------------
// Pruning: only this database's backups, only files stepwise can prove it wrote.

/** A database at `file` with one table, for backups. */
function smallDatabase(t: { after(fn: () => void): void }, file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  t.after(() => db.close());
  db.exec("CREATE TABLE IF NOT EXISTS t (x)");
  return db;
}

const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute));

test("two databases with the same file name sharing a backup folder keep each other's backups", (t) => {
  const dir = makeTempDir(t);
  const shared = path.join(dir, "backups");
  const a = smallDatabase(t, path.join(dir, "a", "app.db"));
  const b = smallDatabase(t, path.join(dir, "b", "app.db"));
  const fromB = [1, 2].map((minute) => takeBackupSync(createBetterSqlite3Driver(b), { directory: shared, keep: 2, version: minute, now: at(minute) }).path);
  const fromA = [3, 4, 5, 6].map((minute) => takeBackupSync(createBetterSqlite3Driver(a), { directory: shared, keep: 2, version: minute, now: at(minute) }));
  assert.deepEqual(fromA.flatMap((record) => record.pruned).sort(), [fromA[0]!.path, fromA[1]!.path].sort());
  for (const file of fromB) assert.ok(existsSync(file), `${path.basename(file)} of b/app.db was deleted by a's pruning`);
  assert.deepEqual(
    listBackups(shared, path.join(dir, "a", "app.db"), { driver: library }).map((entry) => entry.version),
    [5, 6],
  );
  assert.deepEqual(
    listBackups(shared, path.join(dir, "b", "app.db"), { driver: library }).map((entry) => entry.version),
    [1, 2],
  );
});

test("databases whose names are prefixes of each other keep each other's backups", (t) => {
  const dir = makeTempDir(t);
  const shared = path.join(dir, "backups");
  const names = ["app", "app.db", "app.db2", "app-old", "app.v1"];
  const databases = names.map((name) => smallDatabase(t, path.join(dir, name)));
  const written = databases.map((db, index) => takeBackupSync(createBetterSqlite3Driver(db), { directory: shared, version: 1, now: at(index) }).path);
  for (const [index, db] of databases.entries()) {
    const again = takeBackupSync(createBetterSqlite3Driver(db), { directory: shared, keep: 1, version: 2, now: at(10 + index) });
    assert.deepEqual(again.pruned, [written[index]], `${names[index]} pruned the wrong files`);
  }
  assert.equal(readdirSync(shared).length, names.length);
});

test("pruning never deletes files stepwise cannot prove it wrote for this database: strangers, old names, symlinks", (t) => {
  const dir = makeTempDir(t);
  const shared = path.join(dir, "backups");
  const file = path.join(dir, "app.db");
  const db = smallDatabase(t, file);
  const first = takeBackupSync(createBetterSqlite3Driver(db), { directory: shared, version: 1, now: at(1) });
  const identity = path.basename(first.path).split(".").at(-2)!;
  // A name stepwise used before it recorded identities, a text file wearing this database's exact
  // identity, and a symlink with that identity pointing at a real database elsewhere.
  const oldStyle = path.join(shared, "app.db.v0.2020-01-01T00-00-00-000Z.bak");
  copyFileSync(first.path, oldStyle);
  const impostor = path.join(shared, `app.db.v0.2020-01-01T00-00-01-000Z.${identity}.bak`);
  writeFileSync(impostor, "notes, not a database");
  const precious = path.join(dir, "precious.db");
  copyFileSync(first.path, precious);
  const link = path.join(shared, `app.db.v0.2020-01-01T00-00-02-000Z.${identity}.bak`);
  symlinkSync(precious, link);

  const second = takeBackupSync(createBetterSqlite3Driver(db), { directory: shared, keep: 1, version: 2, now: at(2) });
  assert.deepEqual(second.pruned, [first.path]);
  for (const survivor of [oldStyle, impostor, link, precious]) assert.ok(existsSync(survivor), `${path.basename(survivor)} was deleted`);
});

test("a backup folder that is the database's own folder: pruning leaves the database and its journal alone", (t) => {
  const dir = makeTempDir(t);
  const file = path.join(dir, "app.db");
  const db = smallDatabase(t, file);
  db.pragma("journal_mode = WAL");
  db.exec("INSERT INTO t VALUES (1)");
  const before = readdirSync(dir).sort();
  for (const minute of [1, 2, 3]) takeBackupSync(createBetterSqlite3Driver(db), { directory: dir, keep: 1, version: minute, now: at(minute) });
  const after = readdirSync(dir).sort();
  assert.deepEqual(
    after.filter((name) => !name.endsWith(".bak")),
    before,
  );
  assert.equal(after.filter((name) => name.endsWith(".bak")).length, 1);
  assert.equal(db.prepare("SELECT count(*) FROM t").pluck().get(), 1);
});

test("up --backup through the bin prunes only this database's backups in a shared folder", async (t) => {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  const shared = path.join(project.root, "shared-backups");
  const neighbour = path.join(project.root, "other", "app.db");
  const neighbourDb = smallDatabase(t, neighbour);
  const neighbours = [1, 2, 3].map((minute) => takeBackupSync(createBetterSqlite3Driver(neighbourDb), { directory: shared, version: minute, now: at(minute) }).path);
  const file = project.databasePath();
  const setup = new Database(file);
  new MigrationManager(setup, migrations).up({ to: 1 });
  setup.close();
  for (const to of ["2", "3"]) {
    const result = await runCli(["--db", file, "up", "--to", to, "--backup", shared, "--keep-backups", "1"], { cwd: project.root });
    assert.equal(result.code, 0, result.stderr);
  }
  for (const other of neighbours) assert.ok(existsSync(other), `${path.basename(other)} of other/app.db was deleted`);
  assert.deepEqual(
    listBackups(shared, file, { driver: library }).map((entry) => entry.version),
    [2],
  );
});

// ---------------------------------------------------------------------------------------------
// A backup folder without room: BACKUP_DISK_FULL naming the folder, the database untouched.

/** A project database at version 1 that is bigger than the room the tests give its backups. */
async function bulkyDatabase(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const db = new Database(file);
  new MigrationManager(db, migrations).up({ to: 1 });
  db.exec("CREATE TABLE ballast (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) INSERT INTO ballast SELECT randomblob(1000) FROM n;");
  db.close();
  return { project, migrations, file };
}

/** A 256 KiB tmpfs, unmounted when the test ends; `skip` with the reason where mounting is not allowed. */
function smallFileSystem(t: { after(fn: () => void): void }): { mountPoint: string } | { skip: string } {
  if (process.platform !== "linux") return { skip: "tmpfs mounts need Linux" };
  if (process.getuid?.() !== 0) return { skip: "mounting a tmpfs needs root" };
  const mountPoint = mkdtempSync(path.join(tmpdir(), "stepwise-tmpfs-"));
  // One hook, so the unmount happens before the folder is removed.
  t.after(() => {
    spawnSync("umount", [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint], { encoding: "utf8" });
  if (mounted.status !== 0) return { skip: `mount -t tmpfs failed: ${(mounted.stderr || mounted.error?.message || "").trim()}` };
  return { mountPoint };
}

test("up --backup into a full file system fails with BACKUP_DISK_FULL naming the folder; the database is untouched", async (t) => {
  const room = smallFileSystem(t);
  if ("skip" in room) return t.skip(room.skip);
  const { project, file } = await bulkyDatabase(t);
  const before = readBytes(file);
  const backups = path.join(room.mountPoint, "backups");
  const result = await runCli(["--db", file, "up", "--backup", backups], { cwd: project.root });
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stderr, /\[BACKUP_DISK_FULL\]/);
  assert.doesNotMatch(result.stderr, /\[DISK_FULL\]/);
  assert.doesNotMatch(result.stderr, NO_STACK);
  assert.ok(result.stderr.includes(backups), "the message must name the backup folder");
  assert.deepEqual(readBytes(file), before);
  assert.deepEqual(readdirSync(backups), [], "a partial backup was left behind");
});

test("upWithBackup into a full file system throws `BACKUP_DISK_FULL` with the folder, and applies nothing", async (t) => {
  const room = smallFileSystem(t);
  if ("skip" in room) return t.skip(room.skip);
  const { migrations, file } = await bulkyDatabase(t);
  const db = new Database(file);
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  const backups = path.join(room.mountPoint, "sync-backups");
  assert.throws(
    () => upWithBackup(manager, { backup: { directory: backups } }),
    (error: StepwiseError<"BACKUP_DISK_FULL">) => {
      assert.equal(error.code, "BACKUP_DISK_FULL");
      assert.equal(error.details.directory, backups);
      assert.ok(error.details.neededBytes !== null && error.details.neededBytes > 256 * 1024);
      return true;
    },
  );
  assert.equal(manager.currentVersion(), 1);
  assert.deepEqual(readdirSync(backups), []);
});

test("up --backup under a file size limit (ulimit -f) fails with BACKUP_DISK_FULL; the database is untouched", async (t) => {
  const { project, file } = await bulkyDatabase(t);
  const before = readBytes(file);
  const backups = path.join(project.root, "backups");
  // The limit is below the database's size, so only the backup's write can hit it.
  const script = `ulimit -f 256 && exec "$0" --import "$1" "$2" --db "$3" up --backup "$4"`;
  const result = spawnSync("bash", ["-c", script, process.execPath, import.meta.resolve("tsx"), binPath, file, backups], {
    cwd: project.root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined },
  });
  assert.equal(result.status, 1, result.stdout + result.stderr);
  assert.match(result.stderr, /\[BACKUP_DISK_FULL\]/);
  assert.doesNotMatch(result.stderr, NO_STACK);
  assert.deepEqual(readBytes(file), before);
  assert.deepEqual(readdirSync(backups), []);
});

test("up --backup into a path where a file is in the way fails with BACKUP_FOLDER_UNWRITABLE; the database is untouched", async (t) => {
  const { project, file } = await bulkyDatabase(t);
  const before = readBytes(file);
  const blocker = path.join(project.root, "not-a-folder");
  writeFileSync(blocker, "a file, where the backup folder should be");
  const result = await runCli(["--db", file, "up", "--backup", path.join(blocker, "backups")], { cwd: project.root });
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stderr, /\[BACKUP_FOLDER_UNWRITABLE\]/);
  assert.doesNotMatch(result.stderr, NO_STACK);
  assert.deepEqual(readBytes(file), before);
});

test("restore into a database file that does not exist yet (its folder does) creates it from the backup", async (t) => {
  const { project, migrations, backup } = await restoreScenario(t);
  const fresh = path.join(project.root, "fresh.db");
  const result = await restoreBackup({ driver: library, backupFile: backup, databasePath: fresh, migrations });
  assert.equal(result.previous, null);
  assert.deepEqual(versionOf(fresh), { history: 1, userVersion: 1 });
});

test("verify through the bin exits 1 on drift the pragmas cannot see (AUTOINCREMENT added by hand)", async (t) => {
  const { project, file } = await restoreScenario(t);
  const db = new Database(file);
  db.exec(`
    CREATE TABLE notes_rebuild (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, updated_at TEXT, priority INTEGER NOT NULL DEFAULT 0);
    INSERT INTO notes_rebuild SELECT id, body, updated_at, priority FROM notes;
    DROP TABLE notes;
    ALTER TABLE notes_rebuild RENAME TO notes;
    CREATE INDEX idx_notes_body ON notes (body);
    CREATE INDEX idx_notes_priority ON notes (priority);
  `);
  db.close();
  const result = await runCli(["--db", file, "verify", "--json"], { cwd: project.root });
  assert.equal(result.code, 1, result.stderr);
  const report = JSON.parse(result.stdout) as { ok: boolean; differences: Array<{ objectType: string; name: string; details: Array<{ aspect: string }> }> };
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.differences.map((d) => [d.objectType, d.name, d.details.map((detail) => detail.aspect)]),
    [["table", "notes", ["definition"]]],
  );
});

test("restore over a file that is not a readable database replaces it and keeps its bytes aside", async (t) => {
  const { file, backup, cli } = await restoreScenario(t);
  const garbage = Buffer.from("this was a database until something wrote over its header ".repeat(200));
  writeFileSync(file, garbage);
  const result = await cli("restore", backup, "--yes", "--json");
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { previous: unknown; setAside: string };
  assert.equal(report.previous, null);
  assert.deepEqual(readFileSync(report.setAside), garbage);
  assert.deepEqual(versionOf(file), { history: 1, userVersion: 1 });
});

test("an online backup of a database another process holds exclusively fails with DATABASE_LOCKED instead of writing an empty file", async (t) => {
  const dir = makeTempDir(t);
  const file = path.join(dir, "app.db");
  const db = smallDatabase(t, file);
  db.exec("INSERT INTO t VALUES ('must be in the backup')");
  const backups = path.join(dir, "backups");
  const holder = await startLockHolder(t, file, "exclusive");
  await assert.rejects(takeBackup(createBetterSqlite3Driver(db), { directory: backups, version: 1, busyTimeoutMs: 300 }), { code: "DATABASE_LOCKED" });
  assert.deepEqual(readdirSync(backups), [], "a backup file was written although nothing could be copied");

  assert.equal(await holder.send("release-after 500"), "scheduled");
  const record = await takeBackup(createBetterSqlite3Driver(db), { directory: backups, version: 1, busyTimeoutMs: 20_000 });
  const copy = new Database(record.path, { readonly: true });
  t.after(() => copy.close());
  assert.deepEqual(copy.prepare("SELECT x FROM t").pluck().all(), ["must be in the backup"]);
});

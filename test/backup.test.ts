import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationFailedError, MigrationManager, listBackups, takeBackupSync, upWithBackup, upWithOnlineBackup, type MigrationEvent, type MigrationRegistry } from "./support/stepwise.js";
import { createTestProject, makeTempDir, runCli } from "./support/project.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";

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

async function setUp(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  return { project, migrations, file: project.databasePath(), backups: path.join(project.root, "backups") };
}

test("upWithBackup writes a snapshot only when something is pending, at the old version, and says so", async (t) => {
  const { migrations, file, backups } = await setUp(t);
  const db = new Database(file);
  t.after(() => db.close());
  const events: MigrationEvent[] = [];
  const manager = new MigrationManager(db, migrations, { onEvent: (event) => events.push(event) });
  manager.up({ to: 1 });

  const idle = upWithBackup(manager, { to: 1, backup: { directory: backups } });
  assert.equal(idle.backup, undefined);
  assert.equal(existsSync(backups), false, "a backup folder was created although nothing was pending");

  const result = upWithBackup(manager, { to: 3, backup: { directory: backups } });
  assert.ok(result.backup);
  assert.deepEqual(events.filter((event) => event.type === "backed-up"), [{ type: "backed-up", backup: result.backup }]);
  assert.equal(result.backup.version, 1);
  assert.match(path.basename(result.backup.path), /^app\.db\.v1\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.[0-9a-f]{16}\.bak$/);
  assert.deepEqual(versionOf(result.backup.path), { history: 1, userVersion: 1 });
  assert.deepEqual(readdirSync(backups), [path.basename(result.backup.path)]);
});

test("a failed migration's error names the backup, which holds the version before the run", async (t) => {
  const { migrations, file, backups } = await setUp(t);
  const db = new Database(file);
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  manager.up({ to: 3 });
  assert.throws(
    () => upWithBackup(manager, { backup: { directory: backups } }),
    (error: unknown) => {
      assert.ok(error instanceof MigrationFailedError);
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 4);
      assert.ok(error.backupPath && existsSync(error.backupPath));
      assert.deepEqual(versionOf(error.backupPath), { history: 3, userVersion: 3 });
      return true;
    },
  );
});

test("only the newest K backups of a database are kept", (t) => {
  const dir = makeTempDir(t);
  const db = new Database(path.join(dir, "app.db"));
  t.after(() => db.close());
  db.exec("CREATE TABLE t (x)");
  const backups = path.join(dir, "backups");
  const taken = [1, 2, 3, 4].map((minute) => takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, keep: 2, version: minute, now: new Date(Date.UTC(2025, 0, 1, 0, minute)) }));
  assert.deepEqual(listBackups(backups, "app.db").map((backup) => backup.version), [3, 4]);
  assert.deepEqual(taken[3]!.pruned, [taken[1]!.path]);
});

test("a relative backup directory is refused with USAGE before anything is written or applied", async (t) => {
  const { migrations, file } = await setUp(t);
  const db = new Database(file);
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  const usage = { code: "USAGE" };
  assert.throws(() => upWithBackup(manager, { backup: { directory: "backups" } }), usage);
  await assert.rejects(upWithOnlineBackup(manager, { backup: { directory: "backups" } }), usage);
  assert.throws(() => takeBackupSync(createBetterSqlite3Driver(db), { directory: path.join("relative", "backups"), version: 0 }), usage);
  assert.equal(manager.currentVersion(), 0);
});

test("up --backup and restore --yes through the CLI bring the database back to the old version", async (t) => {
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
  assert.deepEqual(listBackups(backups, "app.db").map((backup) => backup.version), [1, 3]);
});

test("restore refuses a file that is not a stepwise backup and changes nothing", async (t) => {
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

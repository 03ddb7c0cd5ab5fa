/**
 * Instances of the failure classes in test/hostile-safety-extra.test.ts that it does not show: other
 * names for the same file, other locks, other ways a backup is recognised or an identity collides,
 * other spellings SQLite reads alike or apart. Real files, real child processes, the real bin.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, symlinkSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, baselineDatabase, listBackups, pruneBackups, restoreBackup, takeBackupSync, upWithBackup, verifySchema, type MigrationRegistry } from "./support/stepwise.js";
import { startLockHolder } from "./support/lock-holder.js";
import { binArgs } from "./support/compiled-bin.js";
import { createTestProject, readBytes, runCli } from "./support/project.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";

/** The SQLite library through which restore, and the backup nets given a path, open files. */
const library = createBetterSqlite3Driver(new Database(":memory:"));

const NO_STACK = /^\s+at /m;

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  assert.fail("expected a rejection");
}

/** A database at version 3 with a backup at version 1. */
async function restoreScenario(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const backups = path.join(project.root, "backups");
  const db = new Database(file);
  const manager = new MigrationManager(db, migrations);
  manager.up({ to: 1 });
  const backup = takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, version: 1 }).path;
  manager.up({ to: 3 });
  db.close();
  return { project, migrations, file, backups, backup };
}

// ---------------------------------------------------------------------------------------------
// restore: the same file under another name

test("restore of the database through a symlink to it is refused at once with BACKUP_IS_DATABASE; through the bin too, without a stack trace", async (t) => {
  const { file, migrations, project } = await restoreScenario(t);
  const link = path.join(project.root, "backups", "looks-like-a-backup.bak");
  symlinkSync(file, link);
  const before = readBytes(file);
  assert.equal(await codeOf(restoreBackup({ driver: library, backupFile: link, databasePath: file, migrations, busyTimeoutMs: 3000 })), "BACKUP_IS_DATABASE");
  const cli = await runCli(["--db", file, "restore", file, "--yes"], { cwd: project.root });
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /\[BACKUP_IS_DATABASE\]/);
  assert.doesNotMatch(cli.stderr, NO_STACK);
  assert.ok(readBytes(file).equals(before), "the database changed");
});

test("restore --db naming a folder through the bin is DATABASE_PATH_INVALID (exit 2), not a disk error; restoreBackup into a folder or a device too", async (t) => {
  const { project, backup } = await restoreScenario(t);
  const folder = path.join(project.root, "a-folder");
  mkdirSync(folder);
  const cli = await runCli(["--db", folder, "restore", backup, "--yes"], { cwd: project.root });
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /\[DATABASE_PATH_INVALID\]/);
  assert.deepEqual(readdirSync(folder), []);
  assert.equal(await codeOf(restoreBackup({ driver: library, backupFile: backup, databasePath: folder })), "DATABASE_PATH_INVALID");
  assert.equal(await codeOf(restoreBackup({ driver: library, backupFile: backup, databasePath: "/dev/null" })), "DATABASE_PATH_INVALID");
  assert.deepEqual(readdirSync(folder), []);
});

// ---------------------------------------------------------------------------------------------
// restore: another process's transaction: false migration, judged by its owner lock

function recordStartedMigration(file: string, lockFile: string): void {
  const db = new Database(file);
  const owner = JSON.stringify({ pid: 999_999, host: "another-container", token: "not-this-process", lockFile });
  db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (4, 'broken_insert', 'x', ?, NULL, 'started', ?)").run(
    new Date().toISOString(),
    owner,
  );
  db.close();
}

test("restore waits for a running transaction:false migration (its owner lock held) and refuses with MIGRATION_IN_PROGRESS, the database unchanged; once its owner is gone, restores", async (t) => {
  const { file, backup, migrations } = await restoreScenario(t);
  const lockFile = `${path.basename(file)}-stepwise-owner-schema_migrations`;
  const lockPath = path.join(path.dirname(file), lockFile);
  new Database(lockPath).close();
  recordStartedMigration(file, lockFile);
  const holder = await startLockHolder(t, lockPath, "exclusive");
  const before = readBytes(file);
  const start = Date.now();
  assert.equal(await codeOf(restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations, busyTimeoutMs: 800 })), "MIGRATION_IN_PROGRESS");
  assert.ok(Date.now() - start >= 700, "refused before the busy timeout");
  assert.ok(readBytes(file).equals(before), "the database changed");
  await holder.send("exit").catch(() => {});
  // The owner died half way: restoring the backup is a way out of its interrupted migration.
  const result = await restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations, busyTimeoutMs: 5000 });
  assert.equal(result.version, 1);
});

// ---------------------------------------------------------------------------------------------
// restore: what counts as a stepwise backup

test("restore accepts an empty version-0 backup through the API, and still refuses a database with tables but no history", async (t) => {
  const { file, migrations, project } = await restoreScenario(t);
  const fresh = new Database(path.join(project.root, "fresh.db"));
  const empty = takeBackupSync(createBetterSqlite3Driver(fresh), { directory: path.join(project.root, "v0"), version: 0 }).path;
  fresh.exec("CREATE TABLE strangers (id INTEGER PRIMARY KEY)");
  const foreign = takeBackupSync(createBetterSqlite3Driver(fresh), { directory: path.join(project.root, "foreign"), version: 0 }).path;
  fresh.pragma("user_version = 7");
  fresh.exec("DROP TABLE strangers");
  const stamped = takeBackupSync(createBetterSqlite3Driver(fresh), { directory: path.join(project.root, "stamped"), version: 0 }).path;
  fresh.close();
  for (const refused of [foreign, stamped]) {
    assert.equal(await codeOf(restoreBackup({ driver: library, backupFile: refused, databasePath: file, migrations })), "BACKUP_INVALID", path.basename(path.dirname(refused)));
  }
  const result = await restoreBackup({ driver: library, backupFile: empty, databasePath: file, migrations });
  assert.equal(result.version, 0);
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master").pluck().get(), 0);
});

test("restore from a read-only backup folder keeps the replaced database next to the database instead, through the bin", async (t) => {
  const probe = spawnSync("unshare", ["-m", "--propagation", "private", "true"]);
  if (probe.status !== 0) {
    t.skip(`unshare -m is not allowed here: ${probe.stderr?.toString().trim() || probe.error?.message}`);
    return;
  }
  const { file, backup, backups, project } = await restoreScenario(t);
  const script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"';
  const run = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh", backups, process.execPath, ...binArgs(), "--db", file, "restore", backup, "--yes", "--json"], {
    cwd: project.root,
    env: { ...process.env, NO_COLOR: "1" },
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const result = JSON.parse(run.stdout) as { version: number; previous: { path: string } };
  assert.equal(result.version, 1);
  assert.equal(path.dirname(result.previous.path), path.dirname(file));
  assert.ok(existsSync(result.previous.path));
});

// ---------------------------------------------------------------------------------------------
// pruning and identity

test("pruneBackups refuses keep 0, Infinity and a number-like string with USAGE, and deletes nothing", async (t) => {
  const { file, backups } = await restoreScenario(t);
  const before = readdirSync(backups).sort();
  for (const keep of [0, Number.POSITIVE_INFINITY, "2" as unknown as number]) {
    assert.throws(
      () => pruneBackups(backups, file, keep, { driver: library }),
      (error: { code?: string }) => error.code === "USAGE",
      `keep ${String(keep)}`,
    );
  }
  assert.deepEqual(readdirSync(backups).sort(), before);
});

test("pruning keeps a backup another run wrote while this one ran (stamped after ours, before now), and ours", async (t) => {
  const { file, project } = await restoreScenario(t);
  const backups = path.join(project.root, "concurrent");
  const db = new Database(file);
  t.after(() => db.close());
  const now = Date.now();
  const older = takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, version: 3, keep: 10, now: new Date(now - 60_000) });
  // Run B finished its snapshot while run A, which started earlier, was still copying.
  const fromB = takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, version: 3, keep: 10, now: new Date(now - 1000) });
  const fromA = takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, version: 3, keep: 1, now: new Date(now - 2000) });
  assert.ok(existsSync(fromA.path), "the snapshot just taken was pruned");
  assert.ok(existsSync(fromB.path), "the concurrent run's snapshot was pruned");
  assert.deepEqual(fromA.pruned, [older.path], "the older backup was kept past keep");
});

test("a new database at the path of an old one (moved away) does not prune the old one's backups; its own pruning still works", async (t) => {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const backups = path.join(project.root, "backups");
  const first = new Database(file);
  new MigrationManager(first, migrations).up({ to: 1 });
  const old = upWithBackup(new MigrationManager(first, migrations), { to: 2, backup: { directory: backups, keep: 1 } }).backup!.path;
  first.close();
  renameSync(file, path.join(project.root, "archived.db"));
  // Later, in the same millisecond or not, another database is created at the same path.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = new Database(file);
  t.after(() => second.close());
  const manager = new MigrationManager(second, migrations);
  manager.up({ to: 1 });
  const mine = upWithBackup(manager, { to: 2, backup: { directory: backups, keep: 1 } }).backup!;
  assert.deepEqual(mine.pruned, []);
  assert.ok(existsSync(old), "the other database's only backup was pruned");
  const next = upWithBackup(manager, { to: 3, backup: { directory: backups, keep: 1 } }).backup!;
  assert.deepEqual(next.pruned, [mine.path], "a database's own older backup is still pruned");
  assert.deepEqual(
    listBackups(backups, file, { driver: library }).map((entry) => entry.path),
    [next.path],
  );
});

test("a restored database keeps the identity of the database its backup came from: its backups list and prune together", async (t) => {
  const { file, backup, migrations, backups } = await restoreScenario(t);
  const result = await restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations });
  const listed = listBackups(backups, file, { driver: library })
    .map((entry) => entry.path)
    .sort();
  assert.deepEqual(listed, [backup, result.previous!.path].sort());
});

// ---------------------------------------------------------------------------------------------
// verify and baseline: case and formatting

async function oneMigration(t: Parameters<typeof createTestProject>[0], sql: string) {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", `-- migrate:up\n${sql}\n-- migrate:down\nSELECT 1;\n`);
  return { project, migrations: await project.load<MigrationRegistry>() };
}

const BASE = `CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT CHECK (status IN ('Open', 'Closed')), amount NUMERIC(10,2) DEFAULT X'0A', name TEXT COLLATE NOCASE);
CREATE VIEW v AS SELECT id, Status, CAST(amount AS TEXT) AS Amount FROM t WHERE name <> 'Nobody';
CREATE TRIGGER t_note AFTER INSERT ON t BEGIN UPDATE t SET name = 'Someone' WHERE id = NEW.id AND name IS NULL; END;`;

const CASE_DRIFT: ReadonlyArray<readonly [string, string]> = [
  ["a view column named by its expression, case changed", "DROP VIEW v; CREATE VIEW v AS SELECT id, status, CAST(amount AS TEXT) AS Amount FROM t WHERE name <> 'Nobody';"],
  ["a string literal in a view, case changed", "DROP VIEW v; CREATE VIEW v AS SELECT id, Status, CAST(amount AS TEXT) AS Amount FROM t WHERE name <> 'nobody';"],
  ["a string literal in a trigger body, case changed", "DROP TRIGGER t_note; CREATE TRIGGER t_note AFTER INSERT ON t BEGIN UPDATE t SET name = 'someone' WHERE id = NEW.id AND name IS NULL; END;"],
  ["an index added by hand on the history table", "CREATE INDEX by_name ON schema_migrations (name);"],
];

for (const [what, edit] of CASE_DRIFT) {
  test(`verify reports drift: ${what}`, async (t) => {
    const { project, migrations } = await oneMigration(t, BASE);
    const db = new Database(project.databasePath());
    t.after(() => db.close());
    new MigrationManager(db, migrations).up();
    db.exec(edit);
    const verification = verifySchema(new MigrationManager(db, migrations));
    assert.equal(verification.ok, false, `no drift reported for: ${what}`);
  });
}

test("baseline accepts the same schema with keywords, function names, types, collations, CAST types and blob digits in other case and spacing", async (t) => {
  const { project, migrations } = await oneMigration(t, BASE);
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`create table t (
  id integer primary key,
  status text check (status in ('Open', 'Closed')),
  amount numeric ( 10 , 2 ) default x'0a',
  name Text collate nocase -- names are compared without case
);
create view v as select id, Status, cast(amount as text) as Amount from t where name <> 'Nobody';
create trigger t_note after insert on t begin update t set name = 'Someone' where id = new.id and name is null; end;`);
  const result = baselineDatabase(new MigrationManager(db, migrations), 1);
  assert.deepEqual(result.differences, []);
});

test("baseline accepts an index and a trigger whose bare names are spelled in another case (SQLite resolves them alike)", async (t) => {
  const { project, migrations } = await oneMigration(
    t,
    `${BASE}
CREATE INDEX t_name ON t (name, status);`,
  );
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT CHECK (status IN ('Open', 'Closed')), amount NUMERIC(10,2) DEFAULT X'0A', name TEXT COLLATE NOCASE);
CREATE VIEW v AS SELECT id, Status, CAST(amount AS TEXT) AS Amount FROM t WHERE name <> 'Nobody';
CREATE TRIGGER t_note AFTER INSERT ON T BEGIN UPDATE T SET Name = 'Someone' WHERE ID = NEW.Id AND NAME IS NULL; END;
CREATE INDEX t_name ON T (Name, STATUS);`);
  const result = baselineDatabase(new MigrationManager(db, migrations), 1);
  assert.deepEqual(result.differences, []);
});

test("restore of a locked backup file through the bin: DATABASE_LOCKED naming the backup, no stack trace, the database unchanged", async (t) => {
  const { file, backup, project } = await restoreScenario(t);
  await startLockHolder(t, backup, "exclusive");
  const before = readBytes(file);
  const cli = await runCli(["--db", file, "--busy-timeout", "300", "restore", backup, "--yes", "--json"], { cwd: project.root });
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /\[DATABASE_LOCKED\]/);
  assert.ok(cli.stderr.includes(backup), "the error does not name the backup");
  assert.doesNotMatch(cli.stderr, NO_STACK);
  assert.ok(readBytes(file).equals(before), "the database changed");
});

test("restore where neither the backup's folder nor the database's can be written: BACKUP_FOLDER_UNWRITABLE that does not suggest --backup, nothing changed", async (t) => {
  const probe = spawnSync("unshare", ["-m", "--propagation", "private", "true"]);
  if (probe.status !== 0) {
    t.skip(`unshare -m is not allowed here: ${probe.stderr?.toString().trim() || probe.error?.message}`);
    return;
  }
  const { file, backup, project } = await restoreScenario(t);
  const before = readBytes(file);
  const script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"';
  const run = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh", project.root, process.execPath, ...binArgs(), "--db", file, "restore", backup, "--yes"], {
    cwd: project.root,
    env: { ...process.env, NO_COLOR: "1" },
    encoding: "utf8",
  });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /\[BACKUP_FOLDER_UNWRITABLE\]/);
  assert.doesNotMatch(run.stderr, /--backup/);
  assert.doesNotMatch(run.stderr, NO_STACK);
  assert.ok(readBytes(file).equals(before), "the database changed");
});

/**
 * Hostile cases beyond test/hostile-safety.test.ts and test/schema-drift-catalogue.test.ts: each
 * test here failed against main when it was written (hostile-h1). Real files, real child processes,
 * the real bin.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, baselineDatabase, listBackups, pruneBackups, restoreBackup, takeBackup, takeBackupSync, verifySchema, type MigrationRegistry } from "./support/stepwise.js";
import { startLockHolder } from "./support/lock-holder.js";
import { binArgs } from "./support/compiled-bin.js";
import { createTestProject, runCli } from "./support/project.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";

/** The SQLite library through which restore, and the backup nets given a path, open files. */
const library = createBetterSqlite3Driver(new Database(":memory:"));

const NO_STACK = /^\s+at /m;

function versionOf(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null }).v ?? 0;
  } finally {
    db.close();
  }
}

/** A database at version 3 with a backup at version 1 (default page size, rollback journal). */
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

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; elapsedMs: number }> {
  const start = Date.now();
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code?: string }).code, elapsedMs: Date.now() - start };
  }
  assert.fail("expected a rejection");
}

// ---------------------------------------------------------------------------------------------
// restore: locks

test("restore into a WAL database with another page size waits for a connection that closes within the busy timeout, then restores", async (t) => {
  const { file, backup, migrations, backups } = await restoreScenario(t);
  // The live database has moved to 8 KiB pages and WAL mode since the 4 KiB backup was taken.
  const db = new Database(file);
  db.pragma("page_size = 8192");
  db.exec("VACUUM");
  db.pragma("journal_mode = WAL");
  db.close();
  // The app still has the file open (idle: no transaction), and closes it half a second later.
  const holder = await startLockHolder(t, file, "idle");
  setTimeout(() => void holder.send("exit").catch(() => {}), 500);
  const result = await restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations, busyTimeoutMs: 10_000 });
  assert.equal(result.version, 1);
  assert.equal(versionOf(file), 1);
  assert.ok(listBackups(backups, file, { driver: library }).length >= 2);
});

test("restore into a WAL database with another page size, a reader open past the busy timeout: restores, or DATABASE_LOCKED only after the busy timeout", async (t) => {
  const { file, backup, migrations } = await restoreScenario(t);
  const db = new Database(file);
  db.pragma("page_size = 8192");
  db.exec("VACUUM");
  db.pragma("journal_mode = WAL");
  db.close();
  await startLockHolder(t, file, "wal-reader");
  const start = Date.now();
  try {
    await restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations, busyTimeoutMs: 1500 });
    assert.equal(versionOf(file), 1);
  } catch (error) {
    const elapsedMs = Date.now() - start;
    assert.equal((error as { code?: string }).code, "DATABASE_LOCKED");
    assert.ok(elapsedMs >= 1400, `gave up after ${elapsedMs} ms and said the lock outlasted the 1500 ms busy timeout`);
    assert.equal(versionOf(file), 3);
  }
});

test("restore of a backup file another process holds exclusively fails with DATABASE_LOCKED within the busy timeout, not BACKUP_INVALID", async (t) => {
  const { file, backup, migrations } = await restoreScenario(t);
  await startLockHolder(t, backup, "exclusive");
  const outcome = await rejection(restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations, busyTimeoutMs: 1000 }));
  assert.equal(outcome.code, "DATABASE_LOCKED");
  assert.ok(outcome.elapsedMs < 4000, `waited ${outcome.elapsedMs} ms with a busy timeout of 1000 ms`);
  assert.equal(versionOf(file), 3);
});

test("restore waits within the busy timeout for a lock on the backup file that is released, then restores", async (t) => {
  const { file, backup, migrations } = await restoreScenario(t);
  const holder = await startLockHolder(t, backup, "exclusive");
  assert.equal(await holder.send("release-after 5500"), "scheduled");
  const result = await restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations, busyTimeoutMs: 12_000 });
  assert.equal(result.version, 1);
  assert.equal(versionOf(file), 1);
});

for (const how of ["the same path", "a hard link"] as const) {
  test(`restore of the database onto itself (${how}) is refused at once or is a no-op, never another connection's lock`, async (t) => {
    const { file, migrations, project } = await restoreScenario(t);
    let backupFile = file;
    if (how === "a hard link") {
      backupFile = path.join(project.root, "app-link.db");
      linkSync(file, backupFile);
    }
    const start = Date.now();
    try {
      await restoreBackup({ driver: library, backupFile, databasePath: file, migrations, busyTimeoutMs: 3000 });
    } catch (error) {
      const elapsedMs = Date.now() - start;
      assert.notEqual((error as { code?: string }).code, "DATABASE_LOCKED", "blamed another connection for its own read transaction");
      assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
    }
    assert.equal(versionOf(file), 3);
  });
}

// ---------------------------------------------------------------------------------------------
// pruning

test("pruning never deletes the backup it just wrote, even when older backups carry later time stamps (a clock set back)", async (t) => {
  const { file, backups } = await restoreScenario(t);
  const db = new Database(file);
  t.after(() => db.close());
  // Taken while the clock was a few years ahead, before NTP corrected it.
  await takeBackup(createBetterSqlite3Driver(db), { directory: backups, version: 3, keep: 10, now: new Date("2031-01-01T00:00:00Z") });
  await takeBackup(createBetterSqlite3Driver(db), { directory: backups, version: 3, keep: 10, now: new Date("2031-01-02T00:00:00Z") });
  const fresh = await takeBackup(createBetterSqlite3Driver(db), { directory: backups, version: 3, keep: 2 });
  assert.ok(existsSync(fresh.path), "the snapshot just taken was deleted by its own pruning");
  assert.ok(!fresh.pruned.includes(fresh.path));
  const sync = takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, version: 3, keep: 1 });
  assert.ok(existsSync(sync.path), "the VACUUM INTO snapshot just taken was deleted by its own pruning");
});

test("up --backup through the bin keeps the snapshot it took when an older backup of this database has a later time stamp", async (t) => {
  const project = createTestProject(t, { fixture: "safety-nets" });
  await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const backups = path.join(project.root, "backups");
  const cli = (...args: string[]) => runCli(["--db", file, ...args], { cwd: project.root });
  assert.equal((await cli("up", "--to", "1", "--backup", backups)).code, 0);
  const [first] = readdirSync(backups);
  copyFileSync(path.join(backups, first!), path.join(backups, first!.replace(/\.\d{4}-/, ".2031-")));
  const result = await cli("up", "--to", "2", "--backup", backups, "--keep-backups", "1", "--json");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stderr, NO_STACK);
  const backup = JSON.parse(result.stdout).backup as { path: string };
  assert.ok(existsSync(backup.path), "the reported backup does not exist");
  assert.equal(versionOf(file), 2);
});

test("two databases at the same path in two mount namespaces (two containers) sharing a backup folder keep each other's backups", async (t) => {
  const probe = spawnSync("unshare", ["-m", "--propagation", "private", "true"]);
  if (probe.status !== 0) {
    t.skip(`unshare -m is not allowed here: ${probe.stderr?.toString().trim() || probe.error?.message}`);
    return;
  }
  const project = createTestProject(t, { fixture: "safety-nets" });
  await project.load<MigrationRegistry>();
  const shared = path.join(project.root, "shared-backups");
  const mountPoint = path.join(project.root, "data");
  const hostA = path.join(project.root, "host-a");
  const hostB = path.join(project.root, "host-b");
  for (const dir of [shared, mountPoint, hostA, hostB]) mkdirSync(dir);
  // Each "container" sees its own database at <root>/data/app.db.
  const inContainer = (host: string, ...args: string[]) => {
    const script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"';
    const run = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh", host, mountPoint, process.execPath, ...binArgs(), "--db", path.join(mountPoint, "app.db"), ...args], {
      cwd: project.root,
      env: { ...process.env, NO_COLOR: "1" },
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  };
  inContainer(hostA, "up", "--to", "1");
  inContainer(hostA, "up", "--to", "2", "--backup", shared, "--keep-backups", "1");
  const backupOfA = readdirSync(shared);
  assert.equal(backupOfA.length, 1);
  inContainer(hostB, "up", "--to", "1");
  inContainer(hostB, "up", "--to", "2", "--backup", shared, "--keep-backups", "1");
  assert.ok(existsSync(path.join(shared, backupOfA[0]!)), "database B's pruning deleted database A's only backup");
});

// ---------------------------------------------------------------------------------------------
// verify and baseline

async function driftProject(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t);
  project.writeMigration(
    "001_init.sql",
    `-- migrate:up
CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT DEFAULT Active, note TEXT DEFAULT "Hello", raw BLOB DEFAULT x'00ff');
CREATE VIEW v AS SELECT id, status AS Status FROM t;
-- migrate:down
DROP VIEW v;
DROP TABLE t;
`,
  );
  return { project, migrations: await project.load<MigrationRegistry>() };
}

function migrated(file: string, migrations: MigrationRegistry, edit: string): Database.Database {
  const db = new Database(file);
  new MigrationManager(db, migrations).up();
  db.exec(edit);
  return db;
}

const REBUILD_T = (columns: string) => `
DROP VIEW v;
CREATE TABLE t_new (${columns});
INSERT INTO t_new SELECT * FROM t;
DROP TABLE t;
ALTER TABLE t_new RENAME TO t;
CREATE VIEW v AS SELECT id, status AS Status FROM t;
`;

const CASE_DRIFTS: ReadonlyArray<readonly [string, string]> = [
  // SELECT * FROM v now returns { status } where the app reads { Status }.
  ["a view's result column renamed by case", "DROP VIEW v; CREATE VIEW v AS SELECT id, status AS status FROM t;"],
  // A bare word after DEFAULT is a string: new rows get 'active' instead of 'Active'.
  ["DEFAULT bare-word string, case changed", REBUILD_T(`id INTEGER PRIMARY KEY, status TEXT DEFAULT active, note TEXT DEFAULT "Hello", raw BLOB DEFAULT x'00ff'`)],
  // So is a double-quoted word: new rows get 'hello' instead of 'Hello'.
  ["DEFAULT double-quoted string, case changed", REBUILD_T(`id INTEGER PRIMARY KEY, status TEXT DEFAULT Active, note TEXT DEFAULT "hello", raw BLOB DEFAULT x'00ff'`)],
  // A trigger made by hand on the history table fires on the next migration and empties t.
  ["a trigger added by hand on the history table", "CREATE TRIGGER wipe AFTER INSERT ON schema_migrations BEGIN DELETE FROM t; END;"],
];

for (const [what, edit] of CASE_DRIFTS) {
  test(`verify reports drift: ${what}`, async (t) => {
    const { project, migrations } = await driftProject(t);
    const db = migrated(project.databasePath(), migrations, edit);
    t.after(() => db.close());
    const verification = verifySchema(new MigrationManager(db, migrations));
    assert.equal(verification.ok, false, `no drift reported for: ${what}`);
    assert.ok(verification.differences.length > 0);
  });
}

test("baseline refuses a legacy DEFAULT whose string differs only in case, with SCHEMA_MISMATCH", async (t) => {
  const { project, migrations } = await driftProject(t);
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT DEFAULT active, note TEXT DEFAULT "Hello", raw BLOB DEFAULT x'00ff');
CREATE VIEW v AS SELECT id, status AS Status FROM t;`);
  assert.throws(
    () => baselineDatabase(new MigrationManager(db, migrations), 1),
    (error: { code?: string }) => error.code === "SCHEMA_MISMATCH",
  );
});

test("baseline accepts a blob literal whose hex digits are spelled in another case (the same value)", async (t) => {
  const { project, migrations } = await driftProject(t);
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT DEFAULT Active, note TEXT DEFAULT "Hello", raw BLOB DEFAULT X'00FF');
CREATE VIEW v AS SELECT id, status AS Status FROM t;`);
  const result = baselineDatabase(new MigrationManager(db, migrations), 1);
  assert.deepEqual(result.differences, []);
});

test("pruneBackups refuses a negative or fractional keep as takeBackup does, and deletes nothing", async (t) => {
  const { file, backups } = await restoreScenario(t);
  const db = new Database(file);
  t.after(() => db.close());
  for (let day = 1; day <= 3; day++) takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, version: 3, keep: 10, now: new Date(Date.UTC(2025, 0, day)) });
  const before = listBackups(backups, file, { driver: library }).map((backup) => backup.path);
  for (const keep of [-1, 1.5, Number.NaN]) {
    assert.throws(
      () => pruneBackups(backups, file, keep, { driver: library }),
      (error: { code?: string }) => error.code === "USAGE",
      `keep ${keep}`,
    );
    assert.deepEqual(
      listBackups(backups, file, { driver: library }).map((backup) => backup.path),
      before,
      `keep ${keep} deleted backups`,
    );
  }
});

test("restore accepts the version-0 backup that up --backup wrote of a fresh database", async (t) => {
  const project = createTestProject(t, { fixture: "safety-nets" });
  await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const backups = path.join(project.root, "backups");
  const cli = (...args: string[]) => runCli(["--db", file, ...args], { cwd: project.root });
  const up = await cli("up", "--to", "3", "--backup", backups, "--json");
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const backup = JSON.parse(up.stdout).backup as { path: string; version: number } | undefined;
  // Not writing a snapshot of an empty database would be an answer too; writing one it then refuses is not.
  if (backup === undefined) return;
  assert.equal(backup.version, 0);
  const restore = await cli("restore", backup.path, "--yes", "--json");
  assert.equal(restore.code, 0, restore.stdout + restore.stderr);
  assert.equal(JSON.parse(restore.stdout).version, 0);
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'notes'").pluck().get(), 0);
});

test("restore over an unreadable database when the backup folder has no room for its bytes: BACKUP_DISK_FULL, no stack trace, nothing changed", async (t) => {
  const project = createTestProject(t, { fixture: "safety-nets" });
  const migrations = await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const backups = path.join(project.root, "backups");
  const source = new Database(path.join(project.root, "other.db"));
  new MigrationManager(source, migrations).up({ to: 1 });
  const backup = takeBackupSync(createBetterSqlite3Driver(source), { directory: backups, version: 1 }).path;
  source.close();
  // Not a database: restore keeps its bytes next to the backup before replacing it, but they do not fit.
  const junk = Buffer.alloc(200_000, 7);
  writeFileSync(file, junk);
  const run = spawnSync("sh", ["-c", 'ulimit -f 100; exec "$@"', "sh", process.execPath, ...binArgs(), "--db", file, "restore", backup, "--yes"], {
    cwd: project.root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /\[BACKUP_DISK_FULL\]/);
  assert.doesNotMatch(run.stderr, NO_STACK);
  assert.ok(readFileSync(file).equals(junk), "the database's bytes changed");
  assert.deepEqual(
    readdirSync(backups).filter((name) => name.includes(".unusable.")),
    [],
    "a partial copy was left behind",
  );
});

test("baseline accepts declared column types spelled with other whitespace or comments (formatting, not drift)", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_prices.sql",
    `-- migrate:up
CREATE TABLE prices (id INTEGER PRIMARY KEY, amount DECIMAL(10,2), code VARCHAR(10), ratio DOUBLE PRECISION);
-- migrate:down
DROP TABLE prices;
`,
  );
  const migrations = await project.load<MigrationRegistry>();
  const db = new Database(project.databasePath("legacy.db"));
  t.after(() => db.close());
  db.exec(`CREATE TABLE prices (
  id INTEGER PRIMARY KEY,
  amount DECIMAL(10, 2),
  code VARCHAR (10),
  ratio DOUBLE   PRECISION /* IEEE */
);`);
  const result = baselineDatabase(new MigrationManager(db, migrations), 1);
  assert.deepEqual(result.differences, []);
});

test("restore while another process runs a transaction:false migration on the database: refused, or the result is the backup, never a mix", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_base.sql", "-- migrate:up\nCREATE TABLE base (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE base;\n");
  project.writeMigration(
    "002_slow_rebuild.ts",
    `import { defineMigration } from "stepwise-migrate";
export default defineMigration({
  transaction: false,
  up(db) {
    db.exec("CREATE TABLE first_half (x)");
    const until = Date.now() + 2500;
    while (Date.now() < until) {}
    db.exec("CREATE TABLE second_half (x)");
  },
});
`,
  );
  const migrations = await project.load<MigrationRegistry>();
  const file = project.databasePath();
  const backups = path.join(project.root, "backups");
  const db = new Database(file);
  new MigrationManager(db, migrations).up({ to: 1 });
  const backup = takeBackupSync(createBetterSqlite3Driver(db), { directory: backups, version: 1 }).path;
  db.close();

  const migrating = runCli(["--db", file, "up"], { cwd: project.root });
  // Wait until the migration has committed its `started` row and its first half.
  for (const deadline = Date.now() + 20_000; ;) {
    const probe = new Database(file, { readonly: true });
    const started = probe.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'first_half'").pluck().get() === 1;
    probe.close();
    if (started) break;
    assert.ok(Date.now() < deadline, "the migration never started");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let restored = false;
  try {
    await restoreBackup({ driver: library, backupFile: backup, databasePath: file, migrations, busyTimeoutMs: 500 });
    restored = true;
  } catch {
    // Refusing is fine.
  }
  await migrating;
  const after = new Database(file, { readonly: true });
  t.after(() => after.close());
  const history = (after.prepare("SELECT max(version) FROM schema_migrations WHERE state = 'applied'").pluck().get() as number | null) ?? 0;
  const userVersion = after.pragma("user_version", { simple: true }) as number;
  const tables = after.prepare("SELECT name FROM sqlite_master WHERE name LIKE '%_half' ORDER BY name").pluck().all();
  if (restored) {
    // A restore that reported success while the migration was still running left neither the backup nor the migrated schema.
    assert.deepEqual({ history, userVersion, tables }, { history: 1, userVersion: 1, tables: [] }, "restore reported success but the migration kept writing into the restored database");
  } else {
    assert.deepEqual({ history, userVersion, tables }, { history: 2, userVersion: 2, tables: ["first_half", "second_half"] });
  }
});

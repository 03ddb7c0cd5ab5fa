/**
 * Further instances of the classes the hostile runtime tests found: an escape judged "no" without
 * proof, an owner lock placed by a path string, a history row lost mid-run, a migration's connection
 * settings seen by stepwise's own writes and by other processes, and a migration closing its
 * connection. On every driver, on real SQLite files in temp folders; other processes are real child
 * processes of the driver's own library (`support/driver-child.ts`).
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ownerLockFileName } from "../src/drivers/sqlite-shared.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { runDriverChild } from "./support/driver-child.js";
import { caught, createItems, registryLosingStartedRow, sqlEntry, tsEntry } from "./support/registry-builders.js";
import { makeTempDir } from "./support/project.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

// sql.js keeps its database in memory: no WAL, no file another connection or process shares. It
// declares no fileLocking, and the tests that need a shared file skip it by that.

await describeEachDriver("an escaped transaction is judged 'no' only when that is proven", (h) => {
  test("ROLLBACK; PRAGMA journal_mode = WAL; BEGIN: the header write is committed, so not 'no'", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "fileLocking")) return;
      const error = caught(() => db.manager([createItems, tsEntry(2, { up: (d) => void d.exec("ROLLBACK; PRAGMA journal_mode = WAL; BEGIN") })]).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(db.value("PRAGMA journal_mode"), "wal", "precondition: the switch really is committed");
      assert.notEqual(error.committed, "no");
    }));

  // In WAL mode, a second connection's row written between ROLLBACK and BEGIN: hostile-runtime-extra, per journal mode.

  for (const mode of ["delete", "wal"] as const) {
    test(`ROLLBACK; BEGIN with nothing written anywhere is still proven 'no', in ${mode} journal mode`, (t) =>
      h.withDatabase((db) => {
        if (mode === "wal" && h.lacks(t, "fileLocking")) return;
        db.exec(`PRAGMA journal_mode = ${mode}`);
        const manager = db.manager([createItems, tsEntry(2, { up: (d) => void d.exec("ROLLBACK; BEGIN") })]);
        manager.up({ to: 1 });
        const error = caught(() => manager.up());
        assert.equal(error.code, "TRANSACTION_ESCAPED", mode);
        assert.equal(error.committed, "no", mode);
      }));
  }
});

await describeEachDriver("the owner lock is found by every path to the same file", (h) => {
  test("an owner that opened a relative path and then changed folder before up is held for a connection using the absolute path", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    const dir = makeTempDir(t);
    mkdirSync(path.join(dir, "data"));
    mkdirSync(path.join(dir, "elsewhere"));
    const absolute = path.join(dir, "data", "app.db");
    const cwd = process.cwd();
    t.after(() => process.chdir(cwd));
    process.chdir(dir);
    const owner = await h.open(path.join("data", "app.db"));
    t.after(() => owner.close());
    const reader = await h.open(absolute);
    t.after(() => reader.close());
    let probe: string | null = null;
    const migrations = [
      createItems,
      tsEntry(2, {
        transaction: false,
        up() {
          const lockFile = (JSON.parse(String(reader.value("SELECT owner FROM schema_migrations WHERE version = 2"))) as { lockFile: string }).lockFile;
          probe = reader.driver.probeOwnerLock!(lockFile);
        },
      }),
    ];
    // The app's process moved on after opening; the sidecar must not follow the relative path.
    process.chdir(path.join(dir, "elsewhere"));
    owner.manager(migrations).up();
    assert.equal(probe, "held");
  });

  test("an owner that opened the database through a symlink is held for a connection using the real path", async (t) => {
    if (h.lacks(t, "fileLocking")) return;
    const dir = makeTempDir(t);
    mkdirSync(path.join(dir, "real"));
    const realPath = path.join(dir, "real", "app.db");
    const linkPath = path.join(dir, "link.db");
    const reader = await h.open(realPath);
    t.after(() => reader.close());
    symlinkSync(realPath, linkPath);
    const owner = await h.open(linkPath);
    t.after(() => owner.close());
    let probe: string | null = null;
    const migrations = [
      createItems,
      tsEntry(2, {
        transaction: false,
        up() {
          const lockFile = (JSON.parse(String(reader.value("SELECT owner FROM schema_migrations WHERE version = 2"))) as { lockFile: string }).lockFile;
          probe = reader.driver.probeOwnerLock!(lockFile);
        },
      }),
    ];
    owner.manager(migrations).up();
    assert.equal(probe, "held");
    assert.equal(reader.driver.probeOwnerLock!(ownerLockFileName(realPath, "schema_migrations")), "free");
  });
});

await describeEachDriver("a history row lost while a transaction: false migration runs", (h) => {
  test("up: HISTORY_ROW_MISSING with its fields, the body ran once, and the next up stops with INCOMPLETE_MIGRATION", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      db.manager([createItems]).up();
      const other = await db.reopen();
      const { migrations, bodyRuns } = registryLosingStartedRow(() => other.exec("DELETE FROM schema_migrations WHERE version = 2"));
      const manager = db.manager(migrations);
      const error = caught(() => manager.up());
      assert.equal(error.code, "HISTORY_ROW_MISSING");
      assert.equal(error.version, 2);
      assert.equal(error.file, "migrations/002_step_2.ts");
      assert.equal(error.direction, "up");
      assert.equal(error.operation, "mark-applied");
      assert.equal(error.rolledBack, false);
      assert.equal(error.restoredStartedRow, true);
      assert.equal(bodyRuns(), 1);
      assert.throws(() => manager.up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
      assert.equal(bodyRuns(), 1);
      assert.equal(db.value("SELECT count(*) FROM items"), 1);
    }));

  test("down: HISTORY_ROW_MISSING, the revert ran once", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      db.manager([createItems]).up();
      const other = await db.reopen();
      let downRuns = 0;
      const migrations = [
        createItems,
        tsEntry(2, {
          transaction: false,
          up: (d) => void d.exec("INSERT INTO items (note) VALUES ('x')"),
          down(d) {
            downRuns++;
            if (downRuns > 3) throw new Error("run over and over");
            d.exec("DELETE FROM items");
            other.exec("DELETE FROM schema_migrations WHERE version = 2");
          },
        }),
      ];
      const manager = db.manager(migrations);
      manager.up();
      const error = caught(() => manager.down());
      assert.equal(error.code, "HISTORY_ROW_MISSING");
      assert.equal(error.direction, "down");
      assert.equal(error.operation, "delete");
      assert.equal(downRuns, 1);
    }));
});

await describeEachDriver("connection settings a migration changes", (h) => {
  test("PRAGMA query_only = 1 then a write in a SQL migration is MIGRATION_FAILED, rolled back", () =>
    h.withDatabase((db) => {
      const error = caught(() => db.manager([createItems, sqlEntry(2, "PRAGMA query_only = 1; INSERT INTO items (note) VALUES ('x');")]).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 2);
      assert.equal(error.rolledBack, true);
      assert.equal(db.value("PRAGMA query_only"), 0);
    }));

  test("a transaction: false migration that leaves query_only = 1 is still recorded, and query_only is put back", () =>
    h.withDatabase((db) => {
      const result = db.manager([createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('x'); PRAGMA query_only = 1;", { transaction: false })]).up();
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2],
      );
      assert.equal(db.value("SELECT state FROM schema_migrations WHERE version = 2"), "applied");
      assert.equal(db.value("PRAGMA query_only"), 0);
    }));

  for (const [title, body] of [
    ["locking_mode = EXCLUSIVE before journal_mode = WAL", "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; INSERT INTO items (note) VALUES ('x');"],
    ["PRAGMA main.locking_mode = EXCLUSIVE, in rollback-journal mode", "PRAGMA main.locking_mode = EXCLUSIVE; INSERT INTO items (note) VALUES ('x');"],
  ] as const) {
    test(`a transaction: false migration with ${title} does not lock another process out after up`, (t) =>
      h.withDatabase((db) => {
        if (h.lacks(t, "fileLocking")) return;
        db.manager([createItems, sqlEntry(2, body, { transaction: false })]).up();
        assert.equal(runDriverChild(h.name, db.file, "write", "INSERT INTO items (note) VALUES ('another process')"), "written");
      }));
  }
});

await describeEachDriver("SQL behind a getter (an older gen's registry) holding a NUL", (h) => {
  test("fails its migration, rolled back, with nothing of it run or recorded: SQLite would stop at the NUL and the rest be recorded as applied", () =>
    h.withDatabase((db) => {
      const hidden = Object.defineProperty({ ...sqlEntry(2, "CREATE TABLE t2 (x);"), upSql: undefined as unknown as string }, "upSql", {
        enumerable: true,
        get: () => "CREATE TABLE t2 (x);\0CREATE TABLE t3 (x);",
      });
      db.manager([createItems]).up();
      const error = caught(() => db.manager([createItems, hidden]).up());
      assert.deepEqual({ code: error.code, version: error.version, rolledBack: error.rolledBack }, { code: "MIGRATION_FAILED", version: 2, rolledBack: true });
      assert.deepEqual(db.tableNames(), ["items", "schema_migrations"]);
    }));
});

await describeEachDriver("a migration that closes its connection", (h) => {
  for (const transaction of [true, false]) {
    test(`transaction: ${transaction}: MIGRATION_FAILED naming it, not a bare TypeError`, async (t) => {
      // Not withDatabase: the migration closes the connection, and a second close throws on some libraries.
      const dir = makeTempDir(t);
      const db = await h.open(path.join(dir, "app.db"));
      try {
        const error = caught(() => db.manager([createItems, tsEntry(2, { transaction, up: (d) => void d.close() })]).up());
        assert.deepEqual(
          { code: error.code, version: error.version, rolledBack: error.rolledBack, connectionClosed: error.connectionClosed },
          { code: "MIGRATION_FAILED", version: 2, rolledBack: false, connectionClosed: true },
        );
      } finally {
        try {
          db.close();
        } catch {
          // Closed by the migration, as intended.
        }
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

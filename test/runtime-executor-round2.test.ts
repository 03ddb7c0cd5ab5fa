/**
 * Further instances of the classes the hostile runtime tests found: an escape judged "no" without
 * proof, an owner lock placed by a path string, a history row lost mid-run, a migration's connection
 * settings seen by stepwise's own writes and by other processes, and a migration closing its
 * connection. Real SQLite files in temp folders; other processes are real child processes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, type MigrationDefinition, type ModuleMigrationEntry, type SqlMigrationEntry } from "./support/stepwise.js";
import { probeOwnerLock } from "../src/drivers/owner-lock.js";
import { makeTempDir } from "./support/project.js";

type TestContext = Parameters<typeof makeTempDir>[0];
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function sqlEntry(version: number, upSql: string, overrides: Partial<SqlMigrationEntry> = {}): SqlMigrationEntry {
  return {
    kind: "sql",
    version,
    name: `step_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_step_${version}.sql`,
    description: null,
    checksum: `checksum-${version}`,
    reversible: overrides.downSql != null,
    transaction: true,
    disableForeignKeys: false,
    upSql,
    downSql: null,
    ...overrides,
  };
}

function tsEntry(version: number, module: MigrationDefinition): ModuleMigrationEntry {
  return {
    kind: "ts",
    version,
    name: `step_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_step_${version}.ts`,
    description: null,
    checksum: `checksum-${version}`,
    reversible: typeof module.down === "function",
    transaction: module.transaction ?? true,
    disableForeignKeys: module.disableForeignKeys ?? false,
    module,
  };
}

const createItems = sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);", { downSql: "DROP TABLE items;" });

function openFileDatabase(t: TestContext): { db: Database.Database; file: string } {
  const file = path.join(makeTempDir(t), "app.db");
  const db = new Database(file);
  t.after(() => {
    if (db.open) db.close();
  });
  return { db, file };
}

function caught(action: () => unknown): Record<string, unknown> {
  try {
    action();
  } catch (error) {
    return error as Record<string, unknown>;
  }
  assert.fail("expected a throw");
}

/** Runs `source` (an ES module) in a child process; returns its stdout. */
function runChild(source: string, env: Record<string, string>): string {
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", source], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  return child.stdout;
}

describe("an escaped transaction is judged 'no' only when that is proven", () => {
  test("ROLLBACK; PRAGMA journal_mode = WAL; BEGIN: the header write is committed, so not 'no'", (t) => {
    const { db } = openFileDatabase(t);
    const error = caught(() => new MigrationManager(db, [createItems, tsEntry(2, { up: (d) => void d.exec("ROLLBACK; PRAGMA journal_mode = WAL; BEGIN") })]).up());
    assert.equal(error.code, "TRANSACTION_ESCAPED");
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal", "precondition: the switch really is committed");
    assert.notEqual(error.committed, "no");
  });

  test("in WAL mode, ROLLBACK, a second connection writes a row, BEGIN: not 'no'", (t) => {
    const { db } = openFileDatabase(t);
    db.pragma("journal_mode = WAL");
    const migrations = [
      createItems,
      tsEntry(2, {
        up(d) {
          d.exec("ROLLBACK");
          const other = new Database(d.name);
          other.exec("INSERT INTO items (note) VALUES ('other')");
          other.close();
          d.exec("BEGIN");
        },
      }),
    ];
    const error = caught(() => new MigrationManager(db, migrations).up());
    assert.equal(error.code, "TRANSACTION_ESCAPED");
    assert.equal(db.prepare("SELECT count(*) FROM items").pluck().get(), 1);
    assert.notEqual(error.committed, "no");
  });

  test("ROLLBACK; BEGIN with nothing written anywhere is still proven 'no', in rollback and WAL mode", (t) => {
    for (const mode of ["delete", "wal"]) {
      const { db, file } = openFileDatabase(t);
      db.pragma(`journal_mode = ${mode}`);
      const manager = new MigrationManager(db, [createItems, tsEntry(2, { up: (d) => void d.exec("ROLLBACK; BEGIN") })]);
      manager.up({ to: 1 });
      const error = caught(() => manager.up());
      assert.equal(error.code, "TRANSACTION_ESCAPED", mode);
      assert.equal(error.committed, "no", `${mode}: ${file}`);
    }
  });
});

describe("the owner lock is found by every path to the same file", () => {
  test("an owner that opened a relative path and then changed folder before up is held for a process using the absolute path", (t) => {
    const dir = makeTempDir(t);
    mkdirSync(path.join(dir, "data"));
    mkdirSync(path.join(dir, "elsewhere"));
    const absolute = path.join(dir, "data", "app.db");
    const cwd = process.cwd();
    t.after(() => process.chdir(cwd));
    process.chdir(dir);
    const owner = new Database(path.join("data", "app.db"));
    t.after(() => owner.close());
    let probe: string | null = null;
    const migrations = [
      createItems,
      tsEntry(2, {
        transaction: false,
        up() {
          const reader = new Database(absolute, { readonly: true });
          const lockFile = (JSON.parse(reader.prepare("SELECT owner FROM schema_migrations WHERE version = 2").pluck().get() as string) as { lockFile: string }).lockFile;
          probe = probeOwnerLock(reader, lockFile);
          reader.close();
        },
      }),
    ];
    // The app's process moved on after opening; the sidecar must not follow the relative path.
    process.chdir(path.join(dir, "elsewhere"));
    new MigrationManager(owner, migrations).up();
    assert.equal(probe, "held");
  });
});

describe("a history row lost while a transaction: false migration runs", () => {
  test("up: HISTORY_ROW_MISSING with its fields, the body ran once, and the next up stops with INCOMPLETE_MIGRATION", (t) => {
    const { db, file } = openFileDatabase(t);
    let bodyRuns = 0;
    const migrations = [
      createItems,
      tsEntry(2, {
        transaction: false,
        up(d) {
          bodyRuns++;
          if (bodyRuns > 3) throw new Error("run over and over");
          d.exec("INSERT INTO items (note) VALUES ('once')");
          const other = new Database(file);
          other.exec("DELETE FROM schema_migrations WHERE version = 2");
          other.close();
        },
      }),
    ];
    const manager = new MigrationManager(db, migrations);
    const error = caught(() => manager.up());
    assert.equal(error.code, "HISTORY_ROW_MISSING");
    assert.equal(error.version, 2);
    assert.equal(error.file, "migrations/002_step_2.ts");
    assert.equal(error.direction, "up");
    assert.equal(error.operation, "mark-applied");
    assert.equal(error.rolledBack, false);
    assert.equal(error.restoredStartedRow, true);
    assert.equal(bodyRuns, 1);
    assert.throws(() => manager.up(), { code: "INCOMPLETE_MIGRATION", version: 2 });
    assert.equal(bodyRuns, 1);
    assert.equal(db.prepare("SELECT count(*) FROM items").pluck().get(), 1);
  });

  test("down: HISTORY_ROW_MISSING, the revert ran once", (t) => {
    const { db, file } = openFileDatabase(t);
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
          const other = new Database(file);
          other.exec("DELETE FROM schema_migrations WHERE version = 2");
          other.close();
        },
      }),
    ];
    const manager = new MigrationManager(db, migrations);
    manager.up();
    const error = caught(() => manager.down());
    assert.equal(error.code, "HISTORY_ROW_MISSING");
    assert.equal(error.direction, "down");
    assert.equal(error.operation, "delete");
    assert.equal(downRuns, 1);
  });
});

describe("connection settings a migration changes", () => {
  test("PRAGMA query_only = 1 then a write in a SQL migration is MIGRATION_FAILED, rolled back", (t) => {
    const { db } = openFileDatabase(t);
    const error = caught(() => new MigrationManager(db, [createItems, sqlEntry(2, "PRAGMA query_only = 1; INSERT INTO items (note) VALUES ('x');")]).up());
    assert.equal(error.code, "MIGRATION_FAILED");
    assert.equal(error.version, 2);
    assert.equal(error.rolledBack, true);
    assert.equal(db.pragma("query_only", { simple: true }), 0);
  });

  test("a transaction: false migration that leaves query_only = 1 is still recorded, and query_only is put back", (t) => {
    const { db } = openFileDatabase(t);
    const result = new MigrationManager(db, [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('x'); PRAGMA query_only = 1;", { transaction: false })]).up();
    assert.deepEqual(result.steps.map((step) => step.version), [1, 2]);
    assert.equal(db.prepare("SELECT state FROM schema_migrations WHERE version = 2").pluck().get(), "applied");
    assert.equal(db.pragma("query_only", { simple: true }), 0);
  });

  for (const [title, body] of [
    ["locking_mode = EXCLUSIVE before journal_mode = WAL", "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; INSERT INTO items (note) VALUES ('x');"],
    ["PRAGMA main.locking_mode = EXCLUSIVE, in rollback-journal mode", "PRAGMA main.locking_mode = EXCLUSIVE; INSERT INTO items (note) VALUES ('x');"],
  ] as const) {
    test(`a transaction: false migration with ${title} does not lock another process out after up`, (t) => {
      const { db, file } = openFileDatabase(t);
      new MigrationManager(db, [createItems, sqlEntry(2, body, { transaction: false })]).up();
      const out = runChild(
        `import Database from "better-sqlite3";
         const other = new Database(process.env.DB, { timeout: 200 });
         try { other.exec("INSERT INTO items (note) VALUES ('another process')"); console.log("written"); } catch (e) { console.log(e.code); }`,
        { DB: file },
      );
      assert.equal(out.trim().split("\n").pop(), "written");
    });
  }
});

describe("a migration that closes its connection", () => {
  for (const transaction of [true, false]) {
    test(`transaction: ${transaction}: MIGRATION_FAILED naming it, not a bare TypeError`, (t) => {
      const { db } = openFileDatabase(t);
      const error = caught(() => new MigrationManager(db, [createItems, tsEntry(2, { transaction, up: (d) => void d.close() })]).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 2);
      assert.equal(error.rolledBack, false);
    });
  }
});

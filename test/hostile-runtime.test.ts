/**
 * Hostile migrations and hostile surroundings at run time, on real SQLite files and through the real
 * bin: a migration that ends stepwise's transaction, one that leaves the connection's settings
 * changed, a `transaction: false` owner judged across PID namespaces, and a full disk at COMMIT.
 *
 * Registries are built here as plain objects, as an older `gen` or a hand edit could have written
 * them: the runtime is the backstop for what `gen` now refuses.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import {
  MigrationManager,
  type MigrationDefinition,
  type MigrationRegistry,
  type ModuleMigrationEntry,
  type SqlMigrationEntry,
  type StepwiseError,
} from "./support/stepwise.js";
import { snapshotConnectionSettings as snapshotSettingsStep } from "../src/core/connection-settings.js";
import { runSync } from "../src/core/runners.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";
import { currentMigrationOwner, serializeMigrationOwner } from "../src/core/migration-owner.js";
import { ownerLockFileName, probeOwnerLock } from "../src/drivers/owner-lock.js";
import { snapshotDatabase } from "./support/database-snapshot.js";
import { createTestProject, makeTempDir, readBytes, runCli } from "./support/project.js";

type TestContext = Parameters<typeof makeTempDir>[0];

/** The connection settings of `db`, read through the executor's step as the manager reads them. */
const snapshotConnectionSettings = (db: Database.Database) => runSync(snapshotSettingsStep(), createBetterSqlite3Driver(db));

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

// These migrations run on better-sqlite3; typed so, as other driver entries widen MigrationConnection.
function tsEntry(version: number, module: MigrationDefinition<Database.Database>, overrides: Partial<ModuleMigrationEntry> = {}): ModuleMigrationEntry {
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
    ...overrides,
  };
}

const createItems = sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);", { downSql: "DROP TABLE items;" });

function openFileDatabase(t: TestContext, name = "app.db"): { db: Database.Database; file: string } {
  const file = path.join(makeTempDir(t), name);
  const db = new Database(file);
  t.after(() => db.close());
  return { db, file };
}

type EscapedError = StepwiseError & { version: number; file: string; direction: string; committed: string };

function assertEscaped(action: () => unknown, expected: { version: number; file: string; direction: "up" | "down"; committed: "yes" | "no" | "unknown" }): EscapedError {
  let caught: EscapedError | undefined;
  assert.throws(action, (error: EscapedError) => {
    caught = error;
    return true;
  });
  assert.equal(caught!.code, "TRANSACTION_ESCAPED", caught!.message);
  assert.deepEqual(
    { version: caught!.version, file: caught!.file, direction: caught!.direction, committed: caught!.committed },
    expected,
  );
  return caught!;
}

describe("a migration that ends stepwise's transaction", () => {
  // Each variant: the SQL of migration 2, what it leaves committed, and the honest answer about it.
  const sqlVariants: ReadonlyArray<{ name: string; sql: string; committed: "yes" | "no" | "unknown"; notes: string[]; tables?: string[] }> = [
    { name: "INSERT; COMMIT; BEGIN; <error>", sql: "INSERT INTO items (note) VALUES ('a'); COMMIT; BEGIN; SELECT * FROM no_such_table;", committed: "yes", notes: ["a"] },
    { name: "INSERT; COMMIT (and nothing after)", sql: "INSERT INTO items (note) VALUES ('a'); COMMIT;", committed: "yes", notes: ["a"] },
    { name: "INSERT; END; INSERT", sql: "INSERT INTO items (note) VALUES ('a'); END; INSERT INTO items (note) VALUES ('b');", committed: "yes", notes: ["a", "b"] },
    { name: "INSERT; ROLLBACK; INSERT (autocommitted)", sql: "INSERT INTO items (note) VALUES ('a'); ROLLBACK; INSERT INTO items (note) VALUES ('b');", committed: "unknown", notes: ["b"] },
    { name: "ROLLBACK; CREATE TABLE (autocommitted)", sql: "ROLLBACK; CREATE TABLE later (x);", committed: "yes", notes: [], tables: ["later"] },
    { name: "ROLLBACK; BEGIN; CREATE TABLE", sql: "ROLLBACK; BEGIN; CREATE TABLE later (x);", committed: "no", notes: [] },
    { name: "ROLLBACK; SAVEPOINT x; INSERT; RELEASE x (commits its own transaction)", sql: "ROLLBACK; SAVEPOINT x; INSERT INTO items (note) VALUES ('b'); RELEASE x;", committed: "unknown", notes: ["b"] },
    { name: "INSERT; COMMIT; SAVEPOINT x; INSERT; RELEASE x", sql: "INSERT INTO items (note) VALUES ('a'); COMMIT; SAVEPOINT x; INSERT INTO items (note) VALUES ('b'); RELEASE x;", committed: "yes", notes: ["a", "b"] },
    { name: "COMMIT TRANSACTION in lower case, then a failure", sql: "insert into items (note) values ('a'); commit transaction; select * from no_such_table;", committed: "yes", notes: ["a"] },
  ];

  for (const variant of sqlVariants) {
    test(`SQL "${variant.name}" is TRANSACTION_ESCAPED (committed: ${variant.committed}) and never recorded`, (t) => {
      const { db } = openFileDatabase(t);
      const migrations = [createItems, sqlEntry(2, variant.sql), sqlEntry(3, "CREATE TABLE after_escape (x);")];
      const manager = new MigrationManager(db, migrations);
      manager.up({ to: 1 });
      const before = snapshotDatabase(db);

      assertEscaped(() => manager.up(), { version: 2, file: "migrations/002_step_2.sql", direction: "up", committed: variant.committed });
      assert.equal(db.inTransaction, false);
      assert.deepEqual(manager.history().map((row) => [row.version, row.state]), [[1, "applied"]], "the escaped migration was recorded");
      assert.equal(db.pragma("user_version", { simple: true }), 1);
      // What the error claims matches the file: committed rows are there, and only those.
      assert.deepEqual(db.prepare("SELECT note FROM items ORDER BY id").pluck().all(), variant.notes);
      for (const table of variant.tables ?? []) assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = ?").pluck().get(table), 1);
      if (variant.committed === "no") assert.deepEqual(snapshotDatabase(db), before);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'after_escape'").pluck().get(), 0, "the run went on after the escape");
      assert.equal(db.prepare("SELECT count(*) FROM temp.sqlite_master").pluck().get(), 0, "stepwise left a temp object behind");
    });
  }

  test('TypeScript db.exec("ROLLBACK; BEGIN") is refused, not recorded as applied, and leaves the database as it was', (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [
      createItems,
      tsEntry(2, {
        up(db) {
          db.exec("ROLLBACK; BEGIN");
          db.exec("CREATE TABLE half (x)");
        },
      }),
    ];
    const manager = new MigrationManager(db, migrations);
    manager.up({ to: 1 });
    const before = snapshotDatabase(db);
    assertEscaped(() => manager.up(), { version: 2, file: "migrations/002_step_2.ts", direction: "up", committed: "no" });
    assert.deepEqual(snapshotDatabase(db), before);
    assert.equal(manager.currentVersion(), 1);
  });

  test('TypeScript rows written, then db.exec("ROLLBACK; BEGIN"), more rows: committed "unknown" is honest and nothing stays', (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [
      createItems,
      tsEntry(2, {
        up(db) {
          db.exec("INSERT INTO items (note) VALUES ('before')");
          db.exec("ROLLBACK; BEGIN");
          db.exec("INSERT INTO items (note) VALUES ('after')");
        },
      }),
    ];
    const manager = new MigrationManager(db, migrations);
    manager.up({ to: 1 });
    const before = snapshotDatabase(db);
    assertEscaped(() => manager.up(), { version: 2, file: "migrations/002_step_2.ts", direction: "up", committed: "unknown" });
    assert.deepEqual(snapshotDatabase(db), before);
  });

  test("TypeScript COMMIT then throw keeps the error as the cause and says the work was committed", (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [
      createItems,
      tsEntry(2, {
        up(db) {
          db.exec("INSERT INTO items (note) VALUES ('kept')");
          db.exec("COMMIT");
          throw new Error("failed after committing");
        },
      }),
    ];
    const manager = new MigrationManager(db, migrations);
    manager.up({ to: 1 });
    const error = assertEscaped(() => manager.up(), { version: 2, file: "migrations/002_step_2.ts", direction: "up", committed: "yes" });
    assert.equal((error.cause as Error).message, "failed after committing");
    assert.deepEqual(db.prepare("SELECT note FROM items").pluck().all(), ["kept"]);
    assert.equal(manager.currentVersion(), 1);
  });

  test("a down that commits by itself is refused and the migration stays recorded as applied", (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [createItems, sqlEntry(2, "CREATE TABLE extra (x);", { downSql: "DROP TABLE extra; COMMIT; BEGIN; SELECT * FROM no_such_table;" })];
    const manager = new MigrationManager(db, migrations);
    manager.up();
    assertEscaped(() => manager.down(), { version: 2, file: "migrations/002_step_2.sql", direction: "down", committed: "yes" });
    assert.deepEqual(manager.history().map((row) => row.version), [1, 2]);
    assert.equal(db.pragma("user_version", { simple: true }), 2);
  });

  test('with transaction: "all", an escape at migration 3 is refused; what it committed is recorded consistently', (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [
      createItems,
      sqlEntry(2, "INSERT INTO items (note) VALUES ('two');"),
      sqlEntry(3, "INSERT INTO items (note) VALUES ('three'); COMMIT; BEGIN; SELECT * FROM no_such_table;"),
    ];
    const manager = new MigrationManager(db, migrations);
    assertEscaped(() => manager.up({ transaction: "all" }), { version: 3, file: "migrations/003_step_3.sql", direction: "up", committed: "yes" });
    // The escape committed 1 and 2 with their history rows; the history and user_version agree with that.
    assert.deepEqual(manager.history().map((row) => row.version), [1, 2]);
    assert.equal(db.pragma("user_version", { simple: true }), 2);
  });

  test('with transaction: "all", "ROLLBACK; BEGIN" in migration 2 leaves nothing of the run', (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [createItems, tsEntry(2, { up: (db) => void db.exec("ROLLBACK; BEGIN") }), sqlEntry(3, "CREATE TABLE c (x);")];
    const manager = new MigrationManager(db, migrations);
    assertEscaped(() => manager.up({ transaction: "all" }), { version: 2, file: "migrations/002_step_2.ts", direction: "up", committed: "no" });
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master").pluck().all(), []);
  });

  test("savepoints of the migration's own, nested or rolled back to, and db.transaction() still work", (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [
      createItems,
      sqlEntry(2, "SAVEPOINT mine; INSERT INTO items (note) VALUES ('a'); RELEASE mine; SAVEPOINT undo; INSERT INTO items (note) VALUES ('gone'); ROLLBACK TO undo; RELEASE undo;"),
      tsEntry(3, {
        up(db) {
          db.transaction(() => db.prepare("INSERT INTO items (note) VALUES (?)").run("b"))();
          db.exec("SAVEPOINT left_open; INSERT INTO items (note) VALUES ('c')");
        },
      }),
    ];
    const manager = new MigrationManager(db, migrations);
    assert.deepEqual(manager.up().steps.map((step) => step.version), [1, 2, 3]);
    assert.deepEqual(db.prepare("SELECT note FROM items ORDER BY id").pluck().all(), ["a", "b", "c"]);
    assert.equal(db.inTransaction, false);
  });

  test("a transaction: false migration that leaves a transaction open fails, not rolled back, and blocks the next run", (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [createItems, sqlEntry(2, "CREATE TABLE outside (x); BEGIN; INSERT INTO items (note) VALUES ('pending');", { transaction: false })];
    const manager = new MigrationManager(db, migrations);
    assert.throws(() => manager.up(), { code: "MIGRATION_FAILED", version: 2, rolledBack: false });
    assert.equal(db.inTransaction, false);
    assert.deepEqual(db.prepare("SELECT count(*) FROM items").pluck().get(), 0);
    assert.throws(() => manager.up(), { code: "INCOMPLETE_MIGRATION", version: 2 });
  });

  test("a transaction: false migration whose history write fails after its body says its changes may remain, and names it", (t) => {
    const { db } = openFileDatabase(t);
    // A trigger makes stepwise's own UPDATE of the started row fail after the body committed its work.
    // (Connection settings such as query_only are restored before that write, so they cannot.)
    const migrations = [
      createItems,
      sqlEntry(2, "CREATE TABLE done_outside (x); CREATE TRIGGER refuse_history BEFORE UPDATE ON schema_migrations BEGIN SELECT RAISE(ABORT, 'history is frozen'); END;", { transaction: false }),
    ];
    const manager = new MigrationManager(db, migrations);
    assert.throws(() => manager.up(), { code: "MIGRATION_FAILED", version: 2, file: "migrations/002_step_2.sql", rolledBack: false });
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'done_outside'").pluck().get(), 1);
    assert.throws(() => manager.up(), { code: "INCOMPLETE_MIGRATION", version: 2 });
  });

  test("through the real bin, an escaping registry exits 1 with TRANSACTION_ESCAPED and no history row", async (t) => {
    const project = createTestProject(t);
    mkdirSync(path.dirname(project.registryFile), { recursive: true });
    // A registry as an older gen wrote it, before gen refused transaction statements.
    const entries = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('a'); COMMIT; BEGIN; SELECT * FROM no_such_table;")];
    writeFileSync(project.registryFile, `export const migrations = ${JSON.stringify(entries, null, 2)} as const;\nexport const latestVersion = 2;\n`);
    const databasePath = project.databasePath();
    const run = await runCli(["up", "--db", databasePath], { cwd: project.root });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /\[TRANSACTION_ESCAPED\]/);
    assert.match(run.stderr, /002_step_2\.sql/);
    const db = new Database(databasePath, { readonly: true });
    t.after(() => db.close());
    assert.deepEqual(db.prepare("SELECT version FROM schema_migrations").pluck().all(), [1]);
  });
});

describe("connection settings after up and down", () => {
  test("PRAGMA foreign_keys=OFF in a transaction: false SQL migration does not leak to the app's connection", (t) => {
    const { db } = openFileDatabase(t);
    db.pragma("foreign_keys = ON");
    const migrations = [createItems, sqlEntry(2, "PRAGMA foreign_keys = OFF; CREATE TABLE loose (item_id INTEGER REFERENCES items (id));", { transaction: false })];
    new MigrationManager(db, migrations).up();
    assert.equal(db.pragma("foreign_keys", { simple: true }), 1);
    // Enforcement really is back: the app's own insert of a dangling reference is refused.
    assert.throws(() => db.prepare("INSERT INTO loose (item_id) VALUES (42)").run(), { code: "SQLITE_CONSTRAINT_FOREIGNKEY" });
  });

  test("the migrations after a transaction: false migration that switched foreign keys off still run with enforcement", (t) => {
    const { db } = openFileDatabase(t);
    db.pragma("foreign_keys = ON");
    const migrations = [
      createItems,
      sqlEntry(2, "PRAGMA foreign_keys = OFF; CREATE TABLE tags (item_id INTEGER NOT NULL REFERENCES items (id));", { transaction: false }),
      sqlEntry(3, "INSERT INTO tags (item_id) VALUES (42);"),
    ];
    assert.throws(() => new MigrationManager(db, migrations).up(), { code: "MIGRATION_FAILED", version: 3, rolledBack: true });
    assert.equal(db.prepare("SELECT count(*) FROM tags").pluck().get(), 0);
    assert.equal(db.pragma("foreign_keys", { simple: true }), 1);
  });

  test("every restored setting a TypeScript migration changes is put back, after success and after a throw, up and down", (t) => {
    const { db } = openFileDatabase(t);
    const hostile = (db: Database.Database) => {
      db.pragma("foreign_keys = OFF");
      db.pragma("recursive_triggers = ON");
      db.pragma("ignore_check_constraints = ON");
      db.pragma("legacy_alter_table = ON");
      db.pragma("case_sensitive_like = ON");
      db.pragma("trusted_schema = OFF");
      db.pragma("cell_size_check = ON");
      db.pragma("automatic_index = OFF");
      db.pragma("reverse_unordered_selects = ON");
      db.pragma("secure_delete = ON");
      db.pragma("synchronous = OFF");
      db.pragma("busy_timeout = 1");
      db.pragma("cache_size = 123");
      db.pragma("temp_store = MEMORY");
      db.pragma("mmap_size = 65536");
      db.pragma("journal_size_limit = 4096");
      db.pragma("wal_autocheckpoint = 7");
      db.pragma("locking_mode = EXCLUSIVE");
    };
    const migrations = [
      createItems,
      tsEntry(2, { transaction: false, up: hostile, down: hostile }),
      tsEntry(3, {
        transaction: false,
        up(db) {
          hostile(db);
          throw new Error("fails after changing every setting");
        },
      }),
    ];
    const before = snapshotConnectionSettings(db);
    const manager = new MigrationManager(db, migrations);
    manager.up({ to: 2 });
    assert.deepEqual(snapshotConnectionSettings(db), before, "after a successful up");
    // locking_mode = EXCLUSIVE is not just put back but its file lock released: another connection can write.
    const other = new Database(db.name, { timeout: 0 });
    other.exec("CREATE TABLE written_by_another_connection (x)");
    other.close();
    manager.down({ to: 1 });
    assert.deepEqual(snapshotConnectionSettings(db), before, "after a successful down");
    assert.throws(() => manager.up(), { code: "MIGRATION_FAILED", version: 3 });
    assert.deepEqual(snapshotConnectionSettings(db), before, "after a failed up");
    assert.equal(db.prepare("SELECT 'a' LIKE 'A'").pluck().get(), 1, "LIKE is case-insensitive again");
  });

  test("settings changed inside a transactional migration, and the app's own non-default values, are restored", (t) => {
    const { db } = openFileDatabase(t);
    db.pragma("foreign_keys = OFF"); // the app's choice, which a migration must not overturn either
    db.pragma("recursive_triggers = ON");
    const migrations = [
      createItems,
      tsEntry(2, {
        up(db) {
          db.pragma("foreign_keys = ON"); // ignored inside a transaction, but harmless to try
          db.pragma("recursive_triggers = OFF");
          db.pragma("query_only = ON");
          db.pragma("defer_foreign_keys = ON");
          db.pragma("query_only = OFF");
        },
      }),
      tsEntry(3, {
        up(db) {
          db.pragma("ignore_check_constraints = ON");
          db.pragma("query_only = ON"); // stepwise's own record then fails: the migration fails and rolls back
        },
      }),
    ];
    const before = snapshotConnectionSettings(db);
    const manager = new MigrationManager(db, migrations);
    manager.up({ to: 2 });
    assert.deepEqual(snapshotConnectionSettings(db), before);
    assert.throws(() => manager.up());
    assert.deepEqual(snapshotConnectionSettings(db), before);
    assert.equal(manager.currentVersion(), 2);
  });

  test("reset restores the settings its migrations change", (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [createItems, sqlEntry(2, "PRAGMA foreign_keys = OFF; PRAGMA recursive_triggers = ON;", { transaction: false })];
    const before = snapshotConnectionSettings(db);
    new MigrationManager(db, migrations).reset({ dangerouslyDropAllData: true });
    assert.deepEqual(snapshotConnectionSettings(db), before);
  });
});

describe("who owns a transaction: false migration, across PID namespaces", () => {
  /** Starts the real bin's `up`, which pauses inside migration 2 (a transaction: false migration) until resumed. */
  async function startPausedOwner(t: TestContext) {
    const project = createTestProject(t, { fixture: "interrupted-non-transactional" });
    const migrations = await project.load();
    const databasePath = project.databasePath();
    const pauseDir = path.join(project.root, "pause");
    mkdirSync(pauseDir);
    const resume = () => {
      if (existsSync(pauseDir)) writeFileSync(path.join(pauseDir, "resume"), "");
    };
    const finished = runCli(["up", "--json", "--db", databasePath], { cwd: project.root, env: { STEPWISE_PAUSE_DIR: pauseDir, STEPWISE_PAUSE_AT: "middle" } });
    // Never leave the owner waiting if an assertion fails first.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- node:test awaits an async hook
    t.after(async () => {
      resume();
      await finished;
    });
    const giveUpAt = Date.now() + 60_000;
    while (!existsSync(path.join(pauseDir, "paused"))) {
      if (Date.now() > giveUpAt) throw new Error("the owner never reached the pause");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { project, migrations, databasePath, finished, resume };
  }

  /** A pid that no process has: one that ran and was reaped. */
  async function deadPid(): Promise<number> {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => child.once("exit", resolve));
    return child.pid!;
  }

  function rewriteOwner(databasePath: string, change: (owner: Record<string, unknown>) => Record<string, unknown>): void {
    const db = new Database(databasePath);
    try {
      const row = db.prepare("SELECT owner FROM schema_migrations WHERE version = 2 AND state = 'started'").pluck().get() as string;
      db.prepare("UPDATE schema_migrations SET owner = ? WHERE version = 2").run(JSON.stringify(change(JSON.parse(row) as Record<string, unknown>)));
    } finally {
      db.close();
    }
  }

  test("a live owner holds its lock: up waits then MIGRATION_IN_PROGRESS and repair refuses, even when its recorded pid is dead", async (t) => {
    const { project, databasePath, finished, resume } = await startPausedOwner(t);
    const probe = new Database(databasePath, { readonly: true });
    t.after(() => probe.close());
    const owner = JSON.parse(probe.prepare("SELECT owner FROM schema_migrations WHERE version = 2").pluck().get() as string) as { lockFile: string };
    assert.equal(owner.lockFile, ownerLockFileName(databasePath, "schema_migrations"));
    assert.equal(probeOwnerLock(probe, owner.lockFile), "held");

    const waited = await runCli(["up", "--busy-timeout", "300", "--db", databasePath], { cwd: project.root });
    assert.equal(waited.code, 1, waited.stderr);
    assert.match(waited.stderr, /\[MIGRATION_IN_PROGRESS\]/);
    const refused = await runCli(["repair", "--forget", "2", "--yes", "--db", databasePath], { cwd: project.root });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /\[MIGRATION_IN_PROGRESS\]/);
    // status does not call it interrupted either: its advice ("repair --forget") would run it twice.
    const status = await runCli(["status", "--json", "--db", databasePath], { cwd: project.root });
    assert.equal((JSON.parse(status.stdout) as { problem: { code: string } }).problem.code, "MIGRATION_IN_PROGRESS");

    // As seen from another PID namespace or host: the pid means nothing here (no such process), the lock still holds.
    const pid = await deadPid();
    rewriteOwner(databasePath, (row) => ({ ...row, pid, token: "another-namespace", host: "another-container" }));
    const stillWaited = await runCli(["up", "--busy-timeout", "300", "--db", databasePath], { cwd: project.root });
    assert.match(stillWaited.stderr, /\[MIGRATION_IN_PROGRESS\]/);
    const stillRefused = await runCli(["repair", "--applied", "2", "--yes", "--db", databasePath], { cwd: project.root });
    assert.match(stillRefused.stderr, /\[MIGRATION_IN_PROGRESS\]/);

    resume();
    const done = await finished;
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual((JSON.parse(done.stdout) as { steps: Array<{ version: number }> }).steps.map((step) => step.version), [1, 2, 3]);
    assert.equal(probeOwnerLock(probe, owner.lockFile), "free");
  });

  for (const lockFileState of ["left by an earlier owner", "missing"] as const) {
    test(`a started row whose pid is a live unrelated process but whose lock is free (lock file ${lockFileState}) is interrupted; repair works`, async (t) => {
      const project = createTestProject(t, { fixture: "interrupted-non-transactional" });
      const migrations = await project.load();
      const databasePath = project.databasePath();
      const setup = new Database(databasePath);
      new MigrationManager(setup, migrations).up({ to: 1 });
      // A live process on this host whose pid happens to equal the dead owner's pid in its own namespace.
      const unrelated = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
      t.after(() => unrelated.kill("SIGKILL"));
      await new Promise((resolve) => unrelated.once("spawn", resolve));
      const lockFile = ownerLockFileName(databasePath, "schema_migrations");
      if (lockFileState === "left by an earlier owner") writeFileSync(path.join(project.root, lockFile), "");
      else rmSync(path.join(project.root, lockFile), { force: true });
      const owner = serializeMigrationOwner({ ...currentMigrationOwner(lockFile), pid: unrelated.pid!, token: "dead-owner-in-another-namespace" });
      setup
        .prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (2, ?, ?, ?, NULL, 'started', ?)")
        .run(migrations[1]!.name, migrations[1]!.checksum, new Date().toISOString(), owner);
      setup.exec("CREATE TABLE notes_copy (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"); // what the dead owner got done
      setup.close();
      const before = readBytes(databasePath);

      // Not a wait for a live owner (that would end in MIGRATION_IN_PROGRESS): the owner is provably gone.
      const refused = await runCli(["up", "--busy-timeout", "30000", "--db", databasePath], { cwd: project.root });
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /\[INCOMPLETE_MIGRATION\]/);
      const status = await runCli(["status", "--json", "--db", databasePath], { cwd: project.root });
      assert.equal((JSON.parse(status.stdout) as { problem: { code: string } }).problem.code, "INCOMPLETE_MIGRATION");
      assert.deepEqual(readBytes(databasePath), before);

      const cleanup = new Database(databasePath);
      cleanup.exec("DROP TABLE notes_copy");
      cleanup.close();
      const repaired = await runCli(["repair", "--forget", "2", "--yes", "--db", databasePath], { cwd: project.root });
      assert.equal(repaired.code, 0, repaired.stderr);
      const up = await runCli(["up", "--json", "--db", databasePath], { cwd: project.root });
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual((JSON.parse(up.stdout) as { steps: Array<{ version: number }> }).steps.map((step) => step.version), [2, 3]);
    });
  }

  test("a lock file that cannot be probed proves nothing: the owner is judged by its pid, as rows without a lock are", async (t) => {
    const { db, file } = openFileDatabase(t);
    const migrations = [createItems, sqlEntry(2, "VACUUM;", { transaction: false })];
    new MigrationManager(db, migrations).up({ to: 1 });
    const lockFile = ownerLockFileName(file, "schema_migrations");
    writeFileSync(path.join(path.dirname(file), lockFile), "this is not a SQLite database, and not ours to judge by");
    assert.equal(probeOwnerLock(db, lockFile), "unknown");
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    t.after(() => live.kill("SIGKILL"));
    await new Promise((resolve) => live.once("spawn", resolve));
    const owner = serializeMigrationOwner({ ...currentMigrationOwner(lockFile), pid: live.pid!, token: "someone-else" });
    db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (2, 'step_2', 'checksum-2', ?, NULL, 'started', ?)").run(new Date().toISOString(), owner);
    assert.throws(() => new MigrationManager(db, migrations, { busyTimeoutMs: 200 }).up(), { code: "MIGRATION_IN_PROGRESS", version: 2 });
    // Only a bare file name next to the database is ever probed, whatever the row says.
    assert.equal(probeOwnerLock(db, "../elsewhere/app.db"), "unknown");
  });

  test("an owner whose transaction: false migration fails releases its lock; the row then reads as interrupted", (t) => {
    const { db, file } = openFileDatabase(t);
    const migrations = [createItems, tsEntry(2, { transaction: false, up: () => { throw new Error("boom"); } })];
    assert.throws(() => new MigrationManager(db, migrations).up(), { code: "MIGRATION_FAILED", rolledBack: false });
    const owner = JSON.parse(db.prepare("SELECT owner FROM schema_migrations WHERE version = 2").pluck().get() as string) as { lockFile: string };
    assert.equal(owner.lockFile, ownerLockFileName(file, "schema_migrations"));
    assert.equal(probeOwnerLock(db, owner.lockFile), "free");
    // Another connection, as another process would be: the owner is gone, so no waiting.
    const other = new Database(file);
    t.after(() => other.close());
    const otherOwner = JSON.stringify({ ...owner, pid: process.pid, token: "a-finished-process" });
    other.prepare("UPDATE schema_migrations SET owner = ? WHERE version = 2").run(otherOwner);
    assert.throws(() => new MigrationManager(other, migrations, { busyTimeoutMs: 30_000 }).up(), { code: "INCOMPLETE_MIGRATION", version: 2 });
  });
});

describe("a full disk at COMMIT", () => {
  test("SQLITE_FULL raised by the COMMIT (not the body) is DISK_FULL naming the migration, and the file is unchanged", (t) => {
    const dir = makeTempDir(t);
    const file = path.join(dir, "app.db");
    const migrations: MigrationRegistry = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('fits in the page cache'); CREATE TABLE more (x);")];
    const setup = new Database(file);
    setup.pragma("journal_mode = WAL");
    new MigrationManager(setup, migrations).up({ to: 1 });
    setup.close(); // checkpoints and deletes the -wal file
    // The write-ahead log is where a WAL-mode COMMIT writes the transaction's pages; /dev/full's device
    // answers every write with ENOSPC, as a full disk does. The body's pages stay in the page cache.
    try {
      execFileSync("mknod", [`${file}-wal`, "c", "1", "7"], { stdio: "ignore" });
    } catch {
      t.skip("mknod is not permitted here (it needs root or CAP_MKNOD)");
      return;
    }
    const before = readBytes(file);
    const db = new Database(file);
    let closed = false;
    t.after(() => {
      if (!closed) db.close();
    });
    assert.throws(
      () => new MigrationManager(db, migrations).up(),
      (error: StepwiseError & { version: number | null; file: string | null; sqliteCode: string }) =>
        error.code === "DISK_FULL" && error.version === 2 && error.file === "migrations/002_step_2.sql" && error.sqliteCode.startsWith("SQLITE_FULL"),
    );
    assert.equal(db.inTransaction, false);
    db.close();
    closed = true;
    rmSync(`${file}-wal`, { force: true });
    assert.deepEqual(readBytes(file), before, "the file changed");

    // With room again, the same migration applies.
    const retry = new Database(file);
    t.after(() => retry.close());
    assert.deepEqual(new MigrationManager(retry, migrations).up().steps.map((step) => step.version), [2]);
  });

  test("a deferred foreign key refused at COMMIT names the migration and rolls it back", (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [
      createItems,
      sqlEntry(2, "CREATE TABLE tags (item_id INTEGER REFERENCES items (id) DEFERRABLE INITIALLY DEFERRED);"),
      sqlEntry(3, "INSERT INTO tags (item_id) VALUES (99);"),
    ];
    db.pragma("foreign_keys = ON");
    const manager = new MigrationManager(db, migrations);
    manager.up({ to: 2 });
    const before = snapshotDatabase(db);
    assert.throws(() => manager.up(), { code: "MIGRATION_FAILED", version: 3, file: "migrations/003_step_3.sql", rolledBack: true });
    assert.equal(db.inTransaction, false);
    assert.deepEqual(snapshotDatabase(db), before);
  });
});

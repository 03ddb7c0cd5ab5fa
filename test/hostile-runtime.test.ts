/**
 * Hostile migrations and hostile surroundings at run time, on real SQLite files, on every driver: a
 * migration that ends stepwise's transaction, one that leaves the connection's settings changed, an
 * owner lock that proves nothing, and a full disk or a deferred key at COMMIT. The CLI's own cases
 * (the real bin, owners across PID namespaces) run on better-sqlite3, the only driver the CLI has.
 *
 * Registries are built by hand (`support/registry-builders.ts`): the runtime is the backstop for
 * what `gen` now refuses.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import {
  AsyncMigrationManager,
  baselineDatabase,
  MigrationManager,
  type MigrationRegistry,
  readSchemaSnapshot,
  rehearseUp,
  repairChecksums,
  repairIncompleteMigration,
  StepwiseError,
  upWithBackup,
  verifySchema,
} from "./support/stepwise.js";
import { currentMigrationOwner, serializeMigrationOwner } from "../src/core/migration-owner.js";
import { ownerLockFileName } from "../src/drivers/sqlite-shared.js";
import { createBetterSqlite3Driver } from "../src/drivers/better-sqlite3.js";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { connectionSettingsOf, snapshotThroughDriver } from "./support/driver-snapshot.js";
import { describeForDriver } from "./support/single-driver.js";
import { createItems, sqlEntry, tsEntry, type PortableConnection } from "./support/registry-builders.js";
import { createTestProject, makeTempDir, readBytes, runCli } from "./support/project.js";
import { factsOf, stepwiseFailure } from "./support/stepwise-failure.js";

type TestContext = Parameters<typeof makeTempDir>[0];

type EscapedError = StepwiseError & { version: number; file: string; direction: string; committed: string };

function assertEscaped(action: () => unknown, expected: { version: number; file: string; direction: "up" | "down"; committed: "yes" | "no" | "unknown" }): EscapedError {
  let caught: EscapedError | undefined;
  assert.throws(action, (error: EscapedError) => {
    caught = factsOf(error) as unknown as EscapedError;
    return true;
  });
  assert.equal(caught!.code, "TRANSACTION_ESCAPED", caught!.message);
  assert.deepEqual({ version: caught!.version, file: caught!.file, direction: caught!.direction, committed: caught!.committed }, expected);
  return caught!;
}

/** The first column of every row. */
const column = (db: TestDatabase, sql: string, params: readonly unknown[] = []): unknown[] => db.rows(sql, params).map((row) => Object.values(row)[0]);

/** A pid that no process has: one that ran and was reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

/** A live process that is not stepwise's, killed when the test ends. */
async function liveUnrelatedProcess(t: TestContext): Promise<number> {
  const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  t.after(() => live.kill("SIGKILL"));
  await new Promise((resolve) => live.once("spawn", resolve));
  return live.pid!;
}

await describeEachDriver("a migration that ends stepwise's transaction", (h) => {
  // Each variant: the SQL of migration 2, what it leaves committed, and the honest answer about it.
  const sqlVariants: ReadonlyArray<{ name: string; sql: string; committed: "yes" | "no" | "unknown"; notes: string[]; tables?: string[] }> = [
    { name: "INSERT; COMMIT; BEGIN; <error>", sql: "INSERT INTO items (note) VALUES ('a'); COMMIT; BEGIN; SELECT * FROM no_such_table;", committed: "yes", notes: ["a"] },
    { name: "INSERT; COMMIT (and nothing after)", sql: "INSERT INTO items (note) VALUES ('a'); COMMIT;", committed: "yes", notes: ["a"] },
    { name: "INSERT; END; INSERT", sql: "INSERT INTO items (note) VALUES ('a'); END; INSERT INTO items (note) VALUES ('b');", committed: "yes", notes: ["a", "b"] },
    { name: "INSERT; ROLLBACK; INSERT (autocommitted)", sql: "INSERT INTO items (note) VALUES ('a'); ROLLBACK; INSERT INTO items (note) VALUES ('b');", committed: "unknown", notes: ["b"] },
    { name: "ROLLBACK; CREATE TABLE (autocommitted)", sql: "ROLLBACK; CREATE TABLE later (x);", committed: "yes", notes: [], tables: ["later"] },
    { name: "ROLLBACK; BEGIN; CREATE TABLE", sql: "ROLLBACK; BEGIN; CREATE TABLE later (x);", committed: "no", notes: [] },
    {
      name: "ROLLBACK; SAVEPOINT x; INSERT; RELEASE x (commits its own transaction)",
      sql: "ROLLBACK; SAVEPOINT x; INSERT INTO items (note) VALUES ('b'); RELEASE x;",
      committed: "unknown",
      notes: ["b"],
    },
    {
      name: "INSERT; COMMIT; SAVEPOINT x; INSERT; RELEASE x",
      sql: "INSERT INTO items (note) VALUES ('a'); COMMIT; SAVEPOINT x; INSERT INTO items (note) VALUES ('b'); RELEASE x;",
      committed: "yes",
      notes: ["a", "b"],
    },
    { name: "COMMIT TRANSACTION in lower case, then a failure", sql: "insert into items (note) values ('a'); commit transaction; select * from no_such_table;", committed: "yes", notes: ["a"] },
  ];

  for (const variant of sqlVariants) {
    test(`SQL "${variant.name}" is TRANSACTION_ESCAPED (committed: ${variant.committed}) and never recorded`, () =>
      h.withDatabase((db) => {
        const migrations = [createItems, sqlEntry(2, variant.sql), sqlEntry(3, "CREATE TABLE after_escape (x);")];
        const manager = db.manager(migrations);
        manager.up({ to: 1 });
        const before = snapshotThroughDriver(db);

        assertEscaped(() => manager.up(), { version: 2, file: "migrations/002_step_2.sql", direction: "up", committed: variant.committed });
        assert.equal(db.driver.inTransaction(), false);
        assert.deepEqual(
          manager.history().map((row) => [row.version, row.state]),
          [[1, "applied"]],
          "the escaped migration was recorded",
        );
        assert.equal(db.userVersion(), 1);
        // What the error claims matches the file: committed rows are there, and only those.
        assert.deepEqual(column(db, "SELECT note FROM items ORDER BY id"), variant.notes);
        for (const table of variant.tables ?? []) assert.equal(db.value("SELECT count(*) FROM sqlite_master WHERE name = ?", [table]), 1);
        if (variant.committed === "no") assert.deepEqual(snapshotThroughDriver(db), before);
        assert.equal(db.value("SELECT count(*) FROM sqlite_master WHERE name = 'after_escape'"), 0, "the run went on after the escape");
        assert.equal(db.value("SELECT count(*) FROM temp.sqlite_master"), 0, "stepwise left a temp object behind");
      }));
  }

  test('TypeScript exec("ROLLBACK; BEGIN") is refused, not recorded as applied, and leaves the database as it was', () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        tsEntry(2, {
          up(d) {
            d.exec("ROLLBACK; BEGIN");
            d.exec("CREATE TABLE half (x)");
          },
        }),
      ];
      const manager = db.manager(migrations);
      manager.up({ to: 1 });
      const before = snapshotThroughDriver(db);
      assertEscaped(() => manager.up(), { version: 2, file: "migrations/002_step_2.ts", direction: "up", committed: "no" });
      assert.deepEqual(snapshotThroughDriver(db), before);
      assert.equal(manager.currentVersion(), 1);
    }));

  test('TypeScript rows written, then exec("ROLLBACK; BEGIN"), more rows: committed "unknown" is honest and nothing stays', () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        tsEntry(2, {
          up(d) {
            d.exec("INSERT INTO items (note) VALUES ('before')");
            d.exec("ROLLBACK; BEGIN");
            d.exec("INSERT INTO items (note) VALUES ('after')");
          },
        }),
      ];
      const manager = db.manager(migrations);
      manager.up({ to: 1 });
      const before = snapshotThroughDriver(db);
      assertEscaped(() => manager.up(), { version: 2, file: "migrations/002_step_2.ts", direction: "up", committed: "unknown" });
      assert.deepEqual(snapshotThroughDriver(db), before);
    }));

  test("TypeScript COMMIT then throw keeps the error as the cause and says the work was committed", () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        tsEntry(2, {
          up(d) {
            d.exec("INSERT INTO items (note) VALUES ('kept')");
            d.exec("COMMIT");
            throw new Error("failed after committing");
          },
        }),
      ];
      const manager = db.manager(migrations);
      manager.up({ to: 1 });
      const error = assertEscaped(() => manager.up(), { version: 2, file: "migrations/002_step_2.ts", direction: "up", committed: "yes" });
      assert.equal((error.cause as Error).message, "failed after committing");
      assert.deepEqual(column(db, "SELECT note FROM items"), ["kept"]);
      assert.equal(manager.currentVersion(), 1);
    }));

  test("a down that commits by itself is refused and the migration stays recorded as applied", () =>
    h.withDatabase((db) => {
      const migrations = [createItems, sqlEntry(2, "CREATE TABLE extra (x);", { downSql: "DROP TABLE extra; COMMIT; BEGIN; SELECT * FROM no_such_table;" })];
      const manager = db.manager(migrations);
      manager.up();
      assertEscaped(() => manager.down(), { version: 2, file: "migrations/002_step_2.sql", direction: "down", committed: "yes" });
      assert.deepEqual(
        manager.history().map((row) => row.version),
        [1, 2],
      );
      assert.equal(db.userVersion(), 2);
    }));

  test('with transaction: "all", an escape at migration 3 is refused; what it committed is recorded consistently', () =>
    h.withDatabase((db) => {
      const migrations = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('two');"), sqlEntry(3, "INSERT INTO items (note) VALUES ('three'); COMMIT; BEGIN; SELECT * FROM no_such_table;")];
      const manager = db.manager(migrations);
      assertEscaped(() => manager.up({ transaction: "all" }), { version: 3, file: "migrations/003_step_3.sql", direction: "up", committed: "yes" });
      // The escape committed 1 and 2 with their history rows; the history and user_version agree with that.
      assert.deepEqual(
        manager.history().map((row) => row.version),
        [1, 2],
      );
      assert.equal(db.userVersion(), 2);
    }));

  test('with down({ transaction: "all" }), a revert that commits by itself is refused; the reverts it committed are recorded consistently, its own is not', () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        sqlEntry(2, "CREATE TABLE two (x);", { downSql: "DROP TABLE two; COMMIT; BEGIN; SELECT * FROM no_such_table;" }),
        sqlEntry(3, "CREATE TABLE three (x);", { downSql: "DROP TABLE three;" }),
      ];
      const manager = db.manager(migrations);
      manager.up();
      assertEscaped(() => manager.down({ to: 0, transaction: "all" }), { version: 2, file: "migrations/002_step_2.sql", direction: "down", committed: "yes" });
      // The escape committed 3's revert with its history row; 2 stays recorded, as a lone down's escape leaves it.
      assert.deepEqual(
        manager.history().map((row) => row.version),
        [1, 2],
      );
      assert.equal(db.userVersion(), 2);
      assert.deepEqual(column(db, "SELECT name FROM sqlite_master WHERE name IN ('two', 'three') ORDER BY name"), []);
    }));

  test('with transaction: "all", "ROLLBACK; BEGIN" in migration 2 leaves nothing of the run', () =>
    h.withDatabase((db) => {
      const migrations = [createItems, tsEntry(2, { up: (d) => void d.exec("ROLLBACK; BEGIN") }), sqlEntry(3, "CREATE TABLE c (x);")];
      const manager = db.manager(migrations);
      assertEscaped(() => manager.up({ transaction: "all" }), { version: 2, file: "migrations/002_step_2.ts", direction: "up", committed: "no" });
      assert.deepEqual(column(db, "SELECT name FROM sqlite_master"), []);
    }));

  test("savepoints of the migration's own, nested, rolled back to or left open, still work", () =>
    h.withDatabase((db) => {
      const migrations = [
        createItems,
        sqlEntry(2, "SAVEPOINT mine; INSERT INTO items (note) VALUES ('a'); RELEASE mine; SAVEPOINT undo; INSERT INTO items (note) VALUES ('gone'); ROLLBACK TO undo; RELEASE undo;"),
        tsEntry(3, {
          up(d) {
            d.exec("SAVEPOINT outer_one; SAVEPOINT inner_one; INSERT INTO items (note) VALUES ('b'); RELEASE inner_one; RELEASE outer_one");
            d.exec("SAVEPOINT left_open; INSERT INTO items (note) VALUES ('c')");
          },
        }),
      ];
      const manager = db.manager(migrations);
      assert.deepEqual(
        manager.up().steps.map((step) => step.version),
        [1, 2, 3],
      );
      assert.deepEqual(column(db, "SELECT note FROM items ORDER BY id"), ["a", "b", "c"]);
      assert.equal(db.driver.inTransaction(), false);
    }));

  test("a transaction: false migration that leaves a transaction open fails, not rolled back, and blocks the next run", () =>
    h.withDatabase((db) => {
      const migrations = [createItems, sqlEntry(2, "CREATE TABLE outside (x); BEGIN; INSERT INTO items (note) VALUES ('pending');", { transaction: false })];
      const manager = db.manager(migrations);
      assert.throws(() => manager.up(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 2, rolledBack: false }));
      assert.equal(db.driver.inTransaction(), false);
      assert.equal(db.value("SELECT count(*) FROM items"), 0);
      assert.throws(() => manager.up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
    }));

  test("a transaction: false migration whose history write fails after its body says its changes may remain, and names it", () =>
    h.withDatabase((db) => {
      // A trigger makes stepwise's own UPDATE of the started row fail after the body committed its work.
      // (Connection settings such as query_only are restored before that write, so they cannot.)
      const migrations = [
        createItems,
        sqlEntry(2, "CREATE TABLE done_outside (x); CREATE TRIGGER refuse_history BEFORE UPDATE ON schema_migrations BEGIN SELECT RAISE(ABORT, 'history is frozen'); END;", { transaction: false }),
      ];
      const manager = db.manager(migrations);
      assert.throws(() => manager.up(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 2, file: "migrations/002_step_2.sql", rolledBack: false }));
      assert.equal(db.value("SELECT count(*) FROM sqlite_master WHERE name = 'done_outside'"), 1);
      assert.throws(() => manager.up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
    }));
});

await describeForDriver("better-sqlite3", "better-sqlite3's own db.transaction() inside a migration", () => {
  test("a nested db.transaction() (a savepoint of better-sqlite3's) commits with the migration", (t) => {
    const db = new Database(path.join(makeTempDir(t), "app.db"));
    t.after(() => db.close());
    const migrations = [createItems, tsEntry<Database.Database>(2, { up: (d) => d.transaction(() => d.prepare("INSERT INTO items (note) VALUES (?)").run("b"))() })];
    assert.deepEqual(
      new MigrationManager(db, migrations).up().steps.map((step) => step.version),
      [1, 2],
    );
    assert.deepEqual(db.prepare("SELECT note FROM items").pluck().all(), ["b"]);
    assert.equal(db.inTransaction, false);
  });
});

await describeForDriver("better-sqlite3", "status while another process resets the database", () => {
  test("the history table dropped between status finding it and reading its rows (another process's reset) reads as no history, not SQLITE_ERROR no such table", (t) => {
    const file = path.join(makeTempDir(t), "app.db");
    const db = new Database(file);
    const resetter = new Database(file);
    t.after(() => [db, resetter].forEach((each) => each.close()));
    const migrations = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('a');")];
    new MigrationManager(db, migrations).up();
    // The reset's drops commit just before status prepares its read of the rows.
    const prepare = db.prepare.bind(db);
    let dropped = false;
    db.prepare = ((sql: string) => {
      if (!dropped && /, checksum, state, name, applied_at, duration_ms FROM /.test(sql)) {
        dropped = true;
        resetter.exec("DROP TABLE schema_migrations; DROP TABLE items");
      }
      return prepare(sql);
    }) as typeof db.prepare;
    const status = new MigrationManager(db, migrations).status();
    assert.ok(dropped);
    assert.deepEqual([status.currentVersion, status.pendingCount, status.problem], [0, 2, null]);
  });
});

await describeForDriver("better-sqlite3", "the real bin (the CLI opens databases with better-sqlite3)", () => {
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

await describeForDriver("better-sqlite3", "who owns a transaction: false migration, across PID namespaces, through the CLI", () => {
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
    assert.equal(createBetterSqlite3Driver(probe).probeOwnerLock!(owner.lockFile), "held");

    const waited = await runCli(["up", "--busy-timeout", "300", "--db", databasePath], { cwd: project.root });
    assert.equal(waited.code, 1, waited.stderr);
    assert.match(waited.stderr, /\[MIGRATION_IN_PROGRESS\]/);
    const refused = await runCli(["repair", "--forget", "2", "--yes", "--db", databasePath], { cwd: project.root });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /\[MIGRATION_IN_PROGRESS\]/);
    // status does not call it interrupted either: its advice ("repair --forget") would run it twice.
    const status = await runCli(["status", "--json", "--db", databasePath], { cwd: project.root });
    assert.equal((JSON.parse(status.stdout) as { problem: { code: string } }).problem.code, "MIGRATION_IN_PROGRESS");
    const table = await runCli(["status", "--db", databasePath], { cwd: project.root });
    assert.match(table.stdout, /^ {2}! 002 .* running \(started /m);

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
    assert.deepEqual(
      (JSON.parse(done.stdout) as { steps: Array<{ version: number }> }).steps.map((step) => step.version),
      [1, 2, 3],
    );
    assert.equal(createBetterSqlite3Driver(probe).probeOwnerLock!(owner.lockFile), "free");
  });

  test("a transaction: false migration still running counts as pending in status and fleet status alike, so the current version and the pending count add up to the latest", async (t) => {
    const { project, databasePath, resume, finished } = await startPausedOwner(t);
    type Counts = { currentVersion: number; pendingCount: number; problem?: { code: string } };
    const single = JSON.parse((await runCli(["status", "--json", "--db", databasePath], { cwd: project.root })).stdout) as Counts & { latestVersion: number };
    const fleet = JSON.parse((await runCli(["fleet", "status", "--json", "--db", databasePath], { cwd: project.root })).stdout) as { targets: Array<Counts & { state: string }> };
    assert.equal(single.problem?.code, "MIGRATION_IN_PROGRESS");
    assert.deepEqual([single.currentVersion, single.pendingCount, single.latestVersion], [1, 2, 3]);
    assert.deepEqual([fleet.targets[0]!.state, fleet.targets[0]!.currentVersion, fleet.targets[0]!.pendingCount], ["locked", 1, 2]);
    resume();
    assert.equal((await finished).code, 0);
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
      // The interrupted migration is not applied: pending, as the one after it is.
      assert.equal((JSON.parse(status.stdout) as { pendingCount: number }).pendingCount, 2);
      assert.deepEqual(readBytes(databasePath), before);

      const cleanup = new Database(databasePath);
      cleanup.exec("DROP TABLE notes_copy");
      cleanup.close();
      const repaired = await runCli(["repair", "--forget", "2", "--yes", "--db", databasePath], { cwd: project.root });
      assert.equal(repaired.code, 0, repaired.stderr);
      const up = await runCli(["up", "--json", "--db", databasePath], { cwd: project.root });
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(
        (JSON.parse(up.stdout) as { steps: Array<{ version: number }> }).steps.map((step) => step.version),
        [2, 3],
      );
    });
  }
});

await describeEachDriver("connection settings after up and down", (h) => {
  test("PRAGMA foreign_keys=OFF in a transaction: false SQL migration does not leak to the app's connection", () =>
    h.withDatabase((db) => {
      db.exec("PRAGMA foreign_keys = ON");
      const migrations = [createItems, sqlEntry(2, "PRAGMA foreign_keys = OFF; CREATE TABLE loose (item_id INTEGER REFERENCES items (id));", { transaction: false })];
      db.manager(migrations).up();
      assert.equal(db.value("PRAGMA foreign_keys"), 1);
      // Enforcement really is back: the app's own insert of a dangling reference is refused.
      assert.throws(
        () => db.exec("INSERT INTO loose (item_id) VALUES (42)"),
        (error) => /^SQLITE_CONSTRAINT/.test(db.driver.classifyError(error).nativeCode ?? ""),
      );
      assert.equal(db.value("SELECT count(*) FROM loose"), 0);
    }));

  test("the migrations after a transaction: false migration that switched foreign keys off still run with enforcement", () =>
    h.withDatabase((db) => {
      db.exec("PRAGMA foreign_keys = ON");
      const migrations = [
        createItems,
        sqlEntry(2, "PRAGMA foreign_keys = OFF; CREATE TABLE tags (item_id INTEGER NOT NULL REFERENCES items (id));", { transaction: false }),
        sqlEntry(3, "INSERT INTO tags (item_id) VALUES (42);"),
      ];
      assert.throws(() => db.manager(migrations).up(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 3, rolledBack: true }));
      assert.equal(db.value("SELECT count(*) FROM tags"), 0);
      assert.equal(db.value("PRAGMA foreign_keys"), 1);
    }));

  test("a database a failed migration ATTACHed is detached with its rollback, so the app's retry fails as the first run did; the app's own stays attached", () =>
    h.withDatabase((db) => {
      db.exec("ATTACH ':memory:' AS app_side");
      const failing = [
        sqlEntry(2, "CREATE TABLE a (x);\nATTACH DATABASE ':memory:' AS other;\nINSERT INTO missing VALUES (1);"),
        tsEntry(2, { up: (connection) => void connection.exec("ATTACH DATABASE ':memory:' AS other; INSERT INTO missing VALUES (1);") }),
      ];
      for (const entry of failing) {
        for (const run of [1, 2]) {
          assert.throws(() => db.manager([createItems, entry]).up(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 2, rolledBack: true, message: /no such table: missing/ }), `run ${run}`);
          assert.deepEqual(
            db
              .rows("PRAGMA database_list")
              .map((row) => row.name)
              .filter((name) => name !== "temp"),
            ["main", "app_side"],
          );
        }
      }
    }));

  test('a setting a SQL migration changes is put back before the next one, in one transaction for the run too (transaction: "all")', () =>
    h.withDatabase((db) => {
      const migrations = [createItems, sqlEntry(2, "PRAGMA case_sensitive_like = ON;"), sqlEntry(3, "CREATE TABLE probe AS SELECT 'a' LIKE 'A' AS matched;")];
      db.manager(migrations).up({ transaction: "all" });
      assert.deepEqual([db.value("SELECT matched FROM probe"), db.value("SELECT 'a' LIKE 'A'")], [1, 1]);
    }));

  test('a row a deferred foreign key leaves dangling still fails the one transaction of the run at its COMMIT (transaction: "all"): nothing is kept', () =>
    h.withDatabase((db) => {
      const tables = sqlEntry(1, "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p (id));");
      const dangling = sqlEntry(2, "PRAGMA defer_foreign_keys = ON; INSERT INTO c VALUES (1, 5);");
      db.exec("PRAGMA foreign_keys = ON");
      assert.throws(() => db.manager([tables, dangling, sqlEntry(3, "CREATE TABLE t3 (x);")]).up({ transaction: "all" }), { name: "StepwiseError" });
      assert.equal(db.value("SELECT count(*) FROM sqlite_master WHERE name IN ('p', 'c', 't3')"), 0);
    }));

  test("every restored setting a TypeScript migration changes is put back, after success and after a throw, up and down", () =>
    h.withDatabase(async (db) => {
      const hostile = (d: PortableConnection) =>
        d.exec(
          [
            "PRAGMA foreign_keys = OFF",
            "PRAGMA recursive_triggers = ON",
            "PRAGMA ignore_check_constraints = ON",
            "PRAGMA legacy_alter_table = ON",
            "PRAGMA case_sensitive_like = ON",
            "PRAGMA trusted_schema = OFF",
            "PRAGMA cell_size_check = ON",
            "PRAGMA automatic_index = OFF",
            "PRAGMA reverse_unordered_selects = ON",
            "PRAGMA secure_delete = ON",
            "PRAGMA synchronous = OFF",
            "PRAGMA fullfsync = ON",
            "PRAGMA checkpoint_fullfsync = ON",
            "PRAGMA read_uncommitted = ON",
            "PRAGMA busy_timeout = 1",
            "PRAGMA cache_size = 123",
            "PRAGMA temp_store = MEMORY",
            "PRAGMA mmap_size = 65536",
            "PRAGMA journal_size_limit = 4096",
            "PRAGMA wal_autocheckpoint = 7",
            "PRAGMA locking_mode = EXCLUSIVE",
          ].join("; "),
        );
      const migrations = [
        createItems,
        tsEntry(2, { transaction: false, up: hostile, down: hostile }),
        tsEntry(3, {
          transaction: false,
          up(d) {
            hostile(d);
            throw new Error("fails after changing every setting");
          },
        }),
      ];
      const before = connectionSettingsOf(db.driver);
      // Read apart from the snapshot, which holds only the settings stepwise knows to put back.
      const durability = () => ["fullfsync", "checkpoint_fullfsync", "read_uncommitted"].map((name) => db.value(`PRAGMA ${name}`));
      const durabilityBefore = durability();
      const manager = db.manager(migrations);
      manager.up({ to: 2 });
      assert.deepEqual(connectionSettingsOf(db.driver), before, "after a successful up");
      assert.deepEqual(durability(), durabilityBefore, "fsync and read isolation after a successful up");
      // sql.js has no file another connection could share (no fileLocking): there is no lock to release.
      if (h.capabilities.fileLocking) {
        // locking_mode = EXCLUSIVE is not just put back but its file lock released: another connection can write.
        const other = await db.reopen();
        other.exec("PRAGMA busy_timeout = 0");
        other.exec("CREATE TABLE written_by_another_connection (x)");
        other.close();
      }
      manager.down({ to: 1 });
      assert.deepEqual(connectionSettingsOf(db.driver), before, "after a successful down");
      assert.throws(() => manager.up(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 3 }));
      assert.deepEqual(connectionSettingsOf(db.driver), before, "after a failed up");
      assert.deepEqual(durability(), durabilityBefore, "fsync and read isolation after a failed up");
      assert.equal(db.value("SELECT 'a' LIKE 'A'"), 1, "LIKE is case-insensitive again");
    }));

  test("settings changed inside a transactional migration, and the app's own non-default values, are restored", () =>
    h.withDatabase((db) => {
      db.exec("PRAGMA foreign_keys = OFF"); // the app's choice, which a migration must not overturn either
      db.exec("PRAGMA recursive_triggers = ON");
      const migrations = [
        createItems,
        tsEntry(2, {
          up(d) {
            d.exec("PRAGMA foreign_keys = ON"); // ignored inside a transaction, but harmless to try
            d.exec("PRAGMA recursive_triggers = OFF");
            d.exec("PRAGMA query_only = ON");
            d.exec("PRAGMA defer_foreign_keys = ON");
            d.exec("PRAGMA query_only = OFF");
          },
        }),
        tsEntry(3, {
          up(d) {
            d.exec("PRAGMA ignore_check_constraints = ON");
            d.exec("PRAGMA query_only = ON"); // stepwise's own record then fails: the migration fails and rolls back
          },
        }),
      ];
      const before = connectionSettingsOf(db.driver);
      const manager = db.manager(migrations);
      manager.up({ to: 2 });
      assert.deepEqual(connectionSettingsOf(db.driver), before);
      assert.throws(() => manager.up(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 3 }));
      assert.deepEqual(connectionSettingsOf(db.driver), before);
      assert.equal(manager.currentVersion(), 2);
    }));

  test("reset restores the settings its migrations change", () =>
    h.withDatabase((db) => {
      const migrations = [createItems, sqlEntry(2, "PRAGMA foreign_keys = OFF; PRAGMA recursive_triggers = ON;", { transaction: false })];
      const before = connectionSettingsOf(db.driver);
      db.manager(migrations).reset({ dangerouslyDropAllData: true });
      assert.deepEqual(connectionSettingsOf(db.driver), before);
    }));
});

await describeEachDriver("the owner lock of a transaction: false migration", (h) => {
  test("a lock file that cannot be probed proves nothing: the owner is judged by its pid, as rows without a lock are", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      const migrations = [createItems, sqlEntry(2, "VACUUM;", { transaction: false })];
      db.manager(migrations).up({ to: 1 });
      const lockFile = ownerLockFileName(db.file, "schema_migrations");
      writeFileSync(path.join(db.dir, lockFile), "this is not a SQLite database, and not ours to judge by");
      assert.equal(db.driver.probeOwnerLock!(lockFile), "unknown");
      const owner = serializeMigrationOwner({ ...currentMigrationOwner(lockFile), pid: await liveUnrelatedProcess(t), token: "someone-else" });
      db.driver.run("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (2, 'step_2', 'checksum-2', ?, NULL, 'started', ?)", [
        new Date().toISOString(),
        owner,
      ]);
      assert.throws(() => db.manager(migrations, { busyTimeoutMs: 200 }).up(), stepwiseFailure({ code: "MIGRATION_IN_PROGRESS", version: 2 }));
      // Only a bare file name next to the database is ever probed, whatever the row says.
      assert.equal(db.driver.probeOwnerLock!("../elsewhere/app.db"), "unknown");
    }));

  test("an owner whose transaction: false migration fails releases its lock; the row then reads as interrupted", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      const migrations = [
        createItems,
        tsEntry(2, {
          transaction: false,
          up: () => {
            throw new Error("boom");
          },
        }),
      ];
      assert.throws(() => db.manager(migrations).up(), stepwiseFailure({ code: "MIGRATION_FAILED", rolledBack: false }));
      const owner = JSON.parse(String(db.value("SELECT owner FROM schema_migrations WHERE version = 2"))) as { lockFile: string };
      assert.equal(owner.lockFile, ownerLockFileName(db.file, "schema_migrations"));
      assert.equal(db.driver.probeOwnerLock!(owner.lockFile), "free");
      // Another connection, as another process would be: the owner is gone, so no waiting.
      const other = await db.reopen();
      const otherOwner = JSON.stringify({ ...owner, pid: process.pid, token: "a-finished-process" });
      other.driver.run("UPDATE schema_migrations SET owner = ? WHERE version = 2", [otherOwner]);
      assert.throws(() => other.manager(migrations, { busyTimeoutMs: 30_000 }).up(), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
    }));
});

test("status during another process's transaction: false migration that ends between status's two reads (a second up, two fleet runs at once) reports where it ended, not INCOMPLETE_MIGRATION", (t) => {
  const file = path.join(makeTempDir(t), "a.db");
  const migrations = [createItems, sqlEntry(2, "CREATE TABLE two (x);", { transaction: false })];
  const other = new Database(file);
  t.after(() => other.close());
  new MigrationManager(other, migrations).up({ to: 1 });
  other
    .prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (2, 'step_2', ?, ?, NULL, 'started', NULL)")
    .run(migrations[1]!.checksum, new Date().toISOString());
  const db = new Database(file);
  t.after(() => db.close());
  // The other process finishes as this one reads the started row's owner, after it read the history.
  const prepare = db.prepare.bind(db);
  let finished = false;
  db.prepare = ((sql: string) => {
    if (!finished && /AND state = 'started'/.test(sql)) {
      finished = true;
      other.prepare("UPDATE schema_migrations SET state = 'applied', owner = NULL WHERE version = 2").run();
    }
    return prepare(sql);
  }) as typeof db.prepare;
  const status = new MigrationManager(db, migrations).status();
  assert.equal(finished, true);
  assert.deepEqual([status.problem?.code ?? null, status.currentVersion, status.pendingCount], [null, 2, 0]);
});

await describeEachDriver("a full disk or a deferred key at COMMIT", (h) => {
  test("SQLITE_FULL raised by the COMMIT (not the body) is DISK_FULL naming the migration, and the file is unchanged", (t) =>
    h.withDatabase(async (db) => {
      // sql.js keeps the database in memory and shares no file (no fileLocking): its COMMIT writes nothing to a disk.
      if (h.lacks(t, "fileLocking")) return;
      const migrations: MigrationRegistry = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('fits in the page cache'); CREATE TABLE more (x);")];
      db.exec("PRAGMA journal_mode = WAL");
      db.manager(migrations).up({ to: 1 });
      // A copy of the checkpointed file, not the file itself: libsql keeps a closed connection (and its
      // -wal) alive while any prepared statement of it lives, so the original's -wal may still be there.
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      db.close();
      const file = path.join(db.dir, "full.db");
      copyFileSync(db.file, file);
      // The write-ahead log is where a WAL-mode COMMIT writes the transaction's pages; /dev/full's device
      // answers every write with ENOSPC, as a full disk does. The body's pages stay in the page cache.
      try {
        execFileSync("mknod", [`${file}-wal`, "c", "1", "7"], { stdio: "ignore" });
      } catch {
        t.skip("mknod is not permitted here (it needs root or CAP_MKNOD)");
        return;
      }
      const before = readBytes(file);
      const full = await h.open(file);
      try {
        assert.throws(
          () => full.manager(migrations).up(),
          (error) =>
            error instanceof StepwiseError &&
            error.is("DISK_FULL") &&
            error.details.version === 2 &&
            error.details.file === "migrations/002_step_2.sql" &&
            error.details.sqliteCode.startsWith("SQLITE_FULL"),
        );
        assert.equal(full.driver.inTransaction(), false);
      } finally {
        full.close();
      }
      rmSync(`${file}-wal`, { force: true });
      assert.deepEqual(readBytes(file), before, "the file changed");

      // With room again, the same migration applies.
      const retry = await h.open(file);
      try {
        assert.deepEqual(
          retry
            .manager(migrations)
            .up()
            .steps.map((step) => step.version),
          [2],
        );
      } finally {
        retry.close();
      }
    }));

  test("a deferred foreign key refused at COMMIT names the migration and rolls it back", () =>
    h.withDatabase((db) => {
      const migrations = [createItems, sqlEntry(2, "CREATE TABLE tags (item_id INTEGER REFERENCES items (id) DEFERRABLE INITIALLY DEFERRED);"), sqlEntry(3, "INSERT INTO tags (item_id) VALUES (99);")];
      db.exec("PRAGMA foreign_keys = ON");
      const manager = db.manager(migrations);
      manager.up({ to: 2 });
      const before = snapshotThroughDriver(db);
      assert.throws(() => manager.up(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 3, file: "migrations/003_step_3.sql", rolledBack: true, atCommit: { versions: [3] } }));
      assert.equal(db.driver.inTransaction(), false);
      assert.deepEqual(snapshotThroughDriver(db), before);
    }));

  test('under transaction: "all" a deferred foreign key refused at the run\'s COMMIT names every migration the run held (atCommit), not only the last, and keeps none of them', () =>
    h.withDatabase((db) => {
      const tags = sqlEntry(2, "CREATE TABLE tags (item_id INTEGER REFERENCES items (id) DEFERRABLE INITIALLY DEFERRED);");
      const migrations = [createItems, tags, sqlEntry(3, "INSERT INTO tags (item_id) VALUES (99);"), sqlEntry(4, "CREATE TABLE later (id INTEGER);")];
      db.exec("PRAGMA foreign_keys = ON");
      const manager = db.manager(migrations);
      manager.up({ to: 2 });
      const before = snapshotThroughDriver(db);
      // Migration 3 broke it; the COMMIT after 4 refused it, and the error must not send the user to 4's file alone.
      assert.throws(() => manager.up({ transaction: "all" }), stepwiseFailure({ code: "MIGRATION_FAILED", version: 4, rolledBack: true, atCommit: { versions: [3, 4] } }));
      assert.equal(db.driver.inTransaction(), false);
      assert.deepEqual(snapshotThroughDriver(db), before);
    }));
});

test("reset names a virtual table this connection cannot drop (its module not loaded here) with RESET_FAILED, and puts back what it dropped before it", (t) => {
  const file = path.join(makeTempDir(t), "app.db");
  // The app's connection loads a module (as an app loads sqlite-vec) and makes a virtual table with it.
  const app = new Database(file);
  t.after(() => app.close());
  // A factory, which `CREATE VIRTUAL TABLE ... USING` takes (better-sqlite3's types know only the eponymous object form).
  app.table("fixed_rows", (() => ({ columns: ["x"], *rows() {} })) as unknown as Parameters<Database.Database["table"]>[1]);
  new MigrationManager(app, [createItems]).up();
  app.exec("INSERT INTO items (note) VALUES ('kept'); CREATE VIRTUAL TABLE zz_vectors USING fixed_rows()");
  // A connection without the module: the drop of the virtual table fails after items was dropped.
  const tool = new Database(file);
  t.after(() => tool.close());
  const manager = new MigrationManager(tool, [createItems]);
  assert.throws(
    () => manager.reset({ dangerouslyDropAllData: true }),
    (error: unknown) => {
      assert.ok(error instanceof StepwiseError && error.is("RESET_FAILED"), String(error));
      assert.deepEqual([error.nativeCode, error.details.object, error.details.rolledBack, error.details.table], ["SQLITE_ERROR", "zz_vectors", true, "schema_migrations"]);
      return true;
    },
  );
  assert.deepEqual(tool.prepare("SELECT note FROM items").all(), [{ note: "kept" }]);
  assert.equal(manager.currentVersion(), 1);
});

test("the safety nets refuse options that are no object with USAGE, as the manager does: thrown by a sync manager's, rejected by an async one's", async (t) => {
  const file = path.join(makeTempDir(t), "app.db");
  const db = new Database(file);
  t.after(() => db.close());
  const sync = new MigrationManager(db, [createItems]);
  const async = new AsyncMigrationManager(db, [createItems]);
  const isUsage = (label: string) => (error: unknown) => {
    assert.ok(error instanceof StepwiseError && error.is("USAGE"), `${label}: ${String(error)}`);
    return true;
  };
  for (const bad of [null, 5]) {
    const label = (name: string) => `${name}(manager, ${String(bad)})`;
    const calls = {
      verifySchema: (manager: never) => verifySchema(manager, bad as never),
      rehearseUp: (manager: never) => rehearseUp(manager, bad as never),
      repairChecksums: (manager: never) => repairChecksums(manager, bad as never),
      repairIncompleteMigration: (manager: never) => repairIncompleteMigration(manager, bad as never),
      readSchemaSnapshot: (manager: never) => readSchemaSnapshot(manager, bad as never),
      baselineDatabase: (manager: never) => baselineDatabase(manager, 1 as never, bad as never),
    };
    for (const [name, call] of Object.entries(calls)) {
      assert.throws(() => call(sync as never), isUsage(label(name)));
      const rejected = call(async as never);
      assert.ok(rejected instanceof Promise, `${label(name)} threw for an async manager instead of rejecting`);
      await assert.rejects(rejected, isUsage(`${label(name)} (async)`));
    }
    await assert.rejects(upWithBackup(sync as never, bad as never), isUsage(label("upWithBackup")));
  }
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master").all(), []);
});

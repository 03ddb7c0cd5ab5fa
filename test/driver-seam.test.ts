/**
 * The driver seam: one executor, two runners. The same generator steps that the better-sqlite3
 * manager drives synchronously are driven here by the async runner over an async facade of
 * better-sqlite3 (every primitive returns a promise), and safety nets a driver cannot support are
 * refused by name before anything runs.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { Executor } from "../src/core/executor.js";
import { SyncMigrationManager } from "../src/core/manager.js";
import { runAsync } from "../src/core/runners.js";
import type { AsyncDriver, SyncDriver } from "../src/core/driver.js";
import { classifySqliteError, defineDriver } from "../src/core/define-driver.js";
import type { MigrationContext, MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { MigrationManager, baselineDatabase, createBetterSqlite3Driver, rehearseUp, verifySchema } from "./support/stepwise.js";
import { namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { StepwiseError } from "../src/core/errors.js";

/** A file database in a fresh temp folder, closed and removed after the test. */
function openDatabase(t: TestContext): Database.Database {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-seam-"));
  const db = new Database(path.join(dir, "app.db"));
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

/** better-sqlite3's primitives, each wrapped to answer through a promise settled on a later tick. */
function asyncFacade(driver: SyncDriver<Database.Database>): AsyncDriver<Database.Database> {
  const later = <T>(action: () => T): Promise<T> =>
    new Promise((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(action());
        } catch (error) {
          reject(error);
        }
      }),
    );
  return {
    ...driver,
    name: "better-sqlite3 (async facade)",
    async: true,
    exec: (sql) => later(() => driver.exec(sql)),
    query: (sql, params) => later(() => driver.query(sql, params)),
    run: (sql, params) => later(() => driver.run(sql, params)),
    begin: (mode) => later(() => driver.begin(mode)),
    commit: () => later(() => driver.commit()),
    rollback: () => later(() => driver.rollback()),
    inTransaction: () => later(() => driver.inTransaction()),
    changeCounter: () => later(() => driver.changeCounter()),
    getBusyTimeout: () => later(() => driver.getBusyTimeout()),
    setBusyTimeout: (ms) => later(() => driver.setBusyTimeout(ms)),
    holdOwnerLock: (tableName, busyTimeoutMs) => later(() => driver.holdOwnerLock!(tableName, busyTimeoutMs)),
    probeOwnerLock: (fileName) => later(() => driver.probeOwnerLock!(fileName)),
    snapshot: undefined,
    openSnapshot: undefined,
    openFile: undefined,
    close: undefined,
  };
}

function tsEntry(version: number, name: string, up: (db: Database.Database, context: MigrationContext) => unknown): MigrationEntry {
  return {
    kind: "ts",
    version,
    name,
    file: `migrations/${String(version).padStart(3, "0")}_${name}.ts`,
    description: null,
    checksum: `sha256:${version}`,
    reversible: false,
    transaction: true,
    disableForeignKeys: false,
    // The registry type wants sync bodies; an async one is exactly what these tests feed in.
    module: { up: up as (db: unknown) => void },
  };
}

const registry: MigrationRegistry = [
  sqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE contacts;"),
  sqlEntry(2, "seed", "INSERT INTO contacts (name) VALUES ('Ada'), ('Grace');", "DELETE FROM contacts;"),
];

function executorFor(migrations: MigrationRegistry): Executor {
  return new Executor(migrations, {
    tableName: "schema_migrations",
    busyTimeoutMs: 1_000,
    progressIntervalMs: undefined,
    onEvent: undefined,
    logger: null,
    driverName: "better-sqlite3 (async facade)",
    capabilities: createBetterSqlite3Driver(new Database(":memory:")).capabilities,
    classifyError: classifySqliteError,
  });
}

const tables = (db: Database.Database) => (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]).filter((name) => !name.startsWith("sqlite_"));

test("the async runner drives the same executor: up, a second up that changes nothing, down", async (t) => {
  const db = openDatabase(t);
  const driver = asyncFacade(createBetterSqlite3Driver(db));
  const executor = executorFor(registry);

  const up = await runAsync(executor.up(), driver);
  assert.deepEqual(
    up.steps.map((step) => step.version),
    [1, 2],
  );
  assert.equal(up.toVersion, 2);
  assert.equal(db.prepare("SELECT count(*) FROM contacts").pluck().get(), 2);
  assert.equal(db.pragma("user_version", { simple: true }), 2);
  assert.deepEqual(db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all() as number[], [1, 2]);

  const again = await runAsync(executor.up(), driver);
  assert.deepEqual(again.steps, []);

  const down = await runAsync(executor.down({ to: 0 }), driver);
  assert.deepEqual(
    down.steps.map((step) => step.version),
    [2, 1],
  );
  assert.deepEqual(tables(db), ["schema_migrations"]);
  assert.equal(db.pragma("user_version", { simple: true }), 0);
  assert.equal(db.inTransaction, false);
});

test("the async runner rolls a failing migration back with its history row", async (t) => {
  const db = openDatabase(t);
  const driver = asyncFacade(createBetterSqlite3Driver(db));
  const failing = [...registry, sqlEntry(3, "broken", "CREATE TABLE notes (id INTEGER PRIMARY KEY); INSERT INTO missing VALUES (1);", null)];

  await assert.rejects(runAsync(executorFor(failing).up(), driver), (error: unknown) => {
    assert.ok(error instanceof StepwiseError && error.is("MIGRATION_FAILED"));
    assert.equal(error.code, "MIGRATION_FAILED");
    assert.equal(error.details.version, 3);
    assert.equal(error.details.rolledBack, true);
    return true;
  });
  assert.deepEqual(tables(db), ["contacts", "schema_migrations"]);
  assert.deepEqual(db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all(), [1, 2]);
  assert.equal(db.pragma("user_version", { simple: true }), 2);
  assert.equal(db.inTransaction, false);
});

test("an async migration body that throws after two awaited statements leaves nothing, through the async runner", async (t) => {
  const db = openDatabase(t);
  const driver = asyncFacade(createBetterSqlite3Driver(db));
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  let reachedThrow = false;
  const asyncRegistry = [
    ...registry,
    tsEntry(3, "async_backfill", async (connection) => {
      await tick();
      connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT)");
      await tick();
      connection.exec("INSERT INTO audit (note) VALUES ('half way')");
      // The write transaction must still be open across the awaits, or the rows above would be committed.
      assert.equal(connection.inTransaction, true);
      reachedThrow = true;
      throw new Error("fails after two awaited statements");
    }),
  ];

  await assert.rejects(runAsync(executorFor(asyncRegistry).up(), driver), (error: unknown) => {
    assert.ok(error instanceof StepwiseError && error.is("MIGRATION_FAILED"));
    assert.equal(error.details.version, 3);
    assert.equal(error.details.rolledBack, true);
    assert.equal((error.cause as Error).message, "fails after two awaited statements");
    return true;
  });
  assert.equal(reachedThrow, true);
  assert.deepEqual(tables(db), ["contacts", "schema_migrations"]);
  assert.deepEqual(db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all(), [1, 2]);
  assert.equal(db.inTransaction, false);
});

test("the sync runner refuses an async migration body and leaves nothing", (t) => {
  const db = openDatabase(t);
  const asyncRegistry = [
    ...registry,
    tsEntry(3, "async_body", async (connection) => {
      connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
      await Promise.resolve();
    }),
  ];
  assert.throws(
    () => new MigrationManager(db, asyncRegistry).up(),
    (error: unknown) => {
      assert.ok(error instanceof StepwiseError && error.is("MIGRATION_FAILED"));
      assert.equal(error.details.version, 3);
      assert.equal(error.details.rolledBack, true);
      assert.equal((error.cause as { code?: string }).code, "ASYNC_IN_SYNC_RUNNER");
      return true;
    },
  );
  assert.deepEqual(tables(db), ["contacts", "schema_migrations"]);
  assert.equal(db.pragma("user_version", { simple: true }), 2);
});

test("safety nets a driver cannot support are refused by name before anything runs", async (t) => {
  const db = openDatabase(t);
  // A capability is its method: without snapshot and backupTo, the driver has neither.
  const manager = new SyncMigrationManager(defineDriver({ ...createBetterSqlite3Driver(db), snapshot: undefined, openSnapshot: undefined, backupTo: undefined }), registry);
  assert.deepEqual([manager.driver.capabilities.snapshot, manager.driver.capabilities.onlineBackup, manager.driver.capabilities.openFile], [false, false, true]);
  const refused = (operation: string, capability: string) => (error: unknown) => {
    assert.ok(error instanceof StepwiseError && error.is("DRIVER_CAPABILITY_MISSING"));
    assert.equal(error.code, "DRIVER_CAPABILITY_MISSING");
    assert.equal(error.details.driver, "better-sqlite3");
    assert.equal(error.details.capability, capability);
    assert.equal(error.details.operation, operation);
    return true;
  };

  assert.throws(() => rehearseUp(manager), refused("rehearseUp", "snapshot"));
  assert.throws(() => verifySchema(manager), refused("verifySchema", "snapshot"));
  assert.throws(() => baselineDatabase(manager, 1), refused("baselineDatabase", "snapshot"));
  // Refused, not half run: nothing was created, and the manager still migrates normally.
  assert.deepEqual(tables(db), []);
  assert.deepEqual(
    manager.up().steps.map((step) => step.version),
    [1, 2],
  );
});

test("a driver without a change counter re-reads the history on every attempt and still applies once", (t) => {
  const db = openDatabase(t);
  const driver: SyncDriver<Database.Database> = defineDriver({ ...createBetterSqlite3Driver(db), changeCounter: undefined });
  assert.equal(driver.capabilities.changeCounter, false);
  assert.equal(driver.changeCounter(), null);
  const first = new SyncMigrationManager(driver, registry).up({ to: 1 });
  assert.deepEqual(
    first.steps.map((step) => step.version),
    [1],
  );
  const rest = new SyncMigrationManager(driver, registry).up();
  assert.deepEqual(
    rest.steps.map((step) => step.version),
    [2],
  );
  assert.deepEqual(db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all(), [1, 2]);
});

test("the executor reads SQLite's codes through the driver's classifyError, so a library whose errors carry no code needs none faked", (t) => {
  const db = openDatabase(t);
  const driver = createBetterSqlite3Driver(db);
  // A library that reports failures its own way: no `code` property, only what its driver can read.
  const codeless = (message: string) => Object.assign(new Error(message), { libraryCode: message === "disk full" ? 13 : 5 });
  const lockedOnBegin: SyncDriver<Database.Database> = {
    ...driver,
    begin: () => {
      throw codeless("busy");
    },
    classifyError: (error) => ((error as { libraryCode?: unknown }).libraryCode === 5 ? { kind: "locked", nativeCode: "SQLITE_BUSY" } : driver.classifyError(error)),
  };
  assert.throws(() => new SyncMigrationManager(lockedOnBegin, registry, { busyTimeoutMs: 20 }).up(), stepwiseFailure({ code: "DATABASE_LOCKED", busyTimeoutMs: 20 }));

  const fullInBody: SyncDriver<Database.Database> = {
    ...driver,
    runBody: () => {
      throw codeless("disk full");
    },
    classifyError: (error) => ((error as { libraryCode?: unknown }).libraryCode === 13 ? { kind: "full", nativeCode: "SQLITE_FULL" } : driver.classifyError(error)),
  };
  const filling = tsEntry(3, "fill", () => {});
  assert.throws(() => new SyncMigrationManager(fullInBody, [...registry, filling]).up(), stepwiseFailure({ code: "DISK_FULL", version: 3 }));
  assert.equal(new SyncMigrationManager(driver, registry).currentVersion(), 2);
});

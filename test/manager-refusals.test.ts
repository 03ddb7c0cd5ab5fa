/**
 * Refusals: the manager stops before changing anything, with a typed error, and the database file is
 * byte for byte what it was. On every driver available here.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { MigrationRegistry } from "./support/stepwise.js";
import type { SyncMigrationManager } from "../src/core/manager.js";
import { describeEachDriver, type DriverHarness } from "./support/driver-matrix.js";
import { createTestProject, readBytes } from "./support/project.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { createItems, sqlEntry, tsEntry } from "./support/registry-builders.js";
import type { MigrationEvent } from "../src/core/events.js";

type Manager = SyncMigrationManager<unknown, MigrationRegistry>;

/** Runs `attempt` on a fresh connection and checks that it throws `expected` and leaves the file unchanged. */
async function assertRefusedWithoutChange(
  h: DriverHarness,
  file: string,
  migrations: MigrationRegistry,
  attempt: (manager: Manager) => unknown,
  expected: { readonly code: string } & Readonly<Record<string, unknown>>,
): Promise<void> {
  const bytesBefore = readBytes(file);
  const db = await h.open(file);
  try {
    assert.throws(() => attempt(db.manager(migrations)), stepwiseFailure(expected));
    assert.equal(db.inTransaction(), false);
  } finally {
    db.close();
  }
  assert.ok(readBytes(file).equals(bytesBefore), "a refusal changed the database file");
}

async function appliedProject(h: DriverHarness, t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  const original = await project.load();
  const file = project.databasePath();
  const db = await h.open(file);
  db.manager(original).up();
  db.close();
  return { project, original, file };
}

await describeEachDriver("refusals", { quickOn: ["better-sqlite3", "sql.js"] }, (h) => {
  test("an applied migration edited afterwards is refused with both checksums and the file", async (t) => {
    const { project, original, file } = await appliedProject(h, t);
    const edited = path.join(project.migrationsDir, "002_add_items.sql");
    writeFileSync(edited, readFileSync(edited, "utf8").replace("('third')", "('third'), ('fourth')"));
    const drifted = await project.load();
    assert.notEqual(drifted[1]!.checksum, original[1]!.checksum);

    const expected = {
      code: "CHECKSUM_MISMATCH",
      version: 2,
      file: "migrations/002_add_items.sql",
      registryChecksum: drifted[1]!.checksum,
      databaseChecksum: original[1]!.checksum,
    };
    await assertRefusedWithoutChange(h, file, drifted, (manager) => manager.up(), expected);
    await assertRefusedWithoutChange(h, file, drifted, (manager) => manager.down({ to: 0 }), expected);
    await assertRefusedWithoutChange(h, file, drifted, (manager) => manager.down({ steps: 1 }), expected);

    // status reports it as data instead of throwing.
    const db = await h.open(file);
    t.after(() => db.close());
    const status = db.manager(drifted).status();
    assert.equal(status.problem?.code, "CHECKSUM_MISMATCH");
    assert.deepEqual(
      status.migrations.map((row) => row.state),
      ["applied", "changed", "applied"],
    );
  });

  test("a database migrated by a newer app is refused", async (t) => {
    const { project, file } = await appliedProject(h, t);
    rmSync(path.join(project.migrationsDir, "003_bump_counter.ts"));
    const older = await project.load();
    assert.equal(older.length, 2);

    const expected = { code: "DATABASE_AHEAD", unknownVersions: [3], latestKnownVersion: 2 };
    await assertRefusedWithoutChange(h, file, older, (manager) => manager.up(), expected);
    await assertRefusedWithoutChange(h, file, older, (manager) => manager.down({ steps: 1 }), expected);
  });

  test("a database with tables but no history is refused as unmanaged", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const file = project.databasePath();
    const setup = await h.open(file);
    setup.exec("CREATE TABLE legacy_contacts (id INTEGER PRIMARY KEY); INSERT INTO legacy_contacts VALUES (1);");
    setup.close();

    await assertRefusedWithoutChange(h, file, migrations, (manager) => manager.up(), { code: "UNMANAGED_DATABASE", tables: ["legacy_contacts"] });
  });

  test("a history table owned by another tool is refused with HISTORY_TABLE_INVALID", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const file = project.databasePath();
    const setup = await h.open(file);
    // The shape dbmate and others use for a table of the same name.
    setup.exec("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');");
    setup.close();

    await assertRefusedWithoutChange(h, file, migrations, (manager) => manager.up(), { code: "HISTORY_TABLE_INVALID", table: "schema_migrations" });
    // status reports what up refuses, and does not throw for it.
    const db = await h.open(file);
    t.after(() => db.close());
    assert.deepEqual([db.manager(migrations).status().problem?.code, db.manager(migrations).status().problem?.table], ["HISTORY_TABLE_INVALID", "schema_migrations"]);
  });

  test("a history table name that is not a plain identifier is refused with INVALID_TABLE_NAME, before any SQL", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    for (const tableName of ["bad-name", "1st", 'x"; DROP TABLE y; --', ""]) {
      assert.throws(() => db.manager(migrations, { tableName }), stepwiseFailure({ code: "INVALID_TABLE_NAME", tableName }));
    }
    assert.deepEqual(db.rows("SELECT name FROM sqlite_master"), []);
  });

  test("a busy timeout that is not a number of milliseconds from 0 to 2^31 - 1 is refused with USAGE at construction, before any SQL", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    // NaN made the wait for a live owner's started row never end (no wait reaches NaN); the others reach SQLite as a busy_timeout it cannot take, or wrap to no wait at all.
    for (const busyTimeoutMs of [NaN, -1, Infinity, 2 ** 31, "5000"]) {
      assert.throws(() => db.manager(migrations, { busyTimeoutMs: busyTimeoutMs as number }), stepwiseFailure({ code: "USAGE" }), String(busyTimeoutMs));
    }
    assert.deepEqual(db.rows("SELECT name FROM sqlite_master"), []);
  });

  test("listeners that would fail at the first event, a progress interval no clock reaches and options that are no object are refused with USAGE, before any SQL", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    // Each failed only later: a TypeError at the first event, inside the first migration's transaction; NaN reported on every call.
    const props = [
      { onEvent: "log" },
      { onEvent: {} },
      { logger: {} },
      { logger: { info: 1 } },
      { logger: "console" },
      { progressIntervalMs: NaN },
      { progressIntervalMs: -1 },
      { progressIntervalMs: "100" },
      null,
      5,
    ];
    for (const bad of props) assert.throws(() => db.manager(migrations, bad as never), stepwiseFailure({ code: "USAGE" }), JSON.stringify(bad));
    const manager = db.manager(migrations);
    for (const bad of [null, 3, "latest", [2]]) {
      for (const call of ["up", "down", "planUp", "planDown"] as const) {
        assert.throws(() => (manager[call] as (options: unknown) => unknown)(bad), stepwiseFailure({ code: "USAGE" }), `${call}(${JSON.stringify(bad)})`);
      }
    }
    assert.deepEqual(db.rows("SELECT name FROM sqlite_master"), []);
    // What stays allowed: no logger, and every progress event.
    db.manager(migrations, { logger: null, progressIntervalMs: 0, onEvent: null as never }).up();
    assert.equal(db.manager(migrations).currentVersion(), migrations.length);
  });

  test("an option the call does not take (misspelt or cut short) is refused with USAGE naming it, before any SQL, on migrate, migrateAsync, the managers and their methods", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    // Each was ignored, the call running as if it were not given: `dryRun` and `target` applied every migration, `table` wrote the history to schema_migrations, `step: 2` reverted one.
    for (const option of ["dryRun", "target", "table", "To"]) {
      assert.throws(() => db.migrate(migrations, { [option]: 1 }), stepwiseFailure({ code: "USAGE", option, message: /^migrate has no option/ }), option);
      await assert.rejects(h.entry.migrateAsync(db.native, migrations, { [option]: 1 }), stepwiseFailure({ code: "USAGE", option, message: /^migrateAsync has no option/ }), option);
    }
    assert.throws(() => db.migrate(migrations, { tranzaction: "all" }), stepwiseFailure({ code: "USAGE", option: "tranzaction", message: /did you mean "transaction"\?/ }));
    assert.throws(() => db.manager(migrations, { table: "app_history" } as never), stepwiseFailure({ code: "USAGE", option: "table", message: /did you mean "tableName"\?/ }));
    assert.throws(() => new h.entry.AsyncMigrationManager(db.native, migrations, { busyTimeout: 5 } as never), stepwiseFailure({ code: "USAGE", option: "busyTimeout" }));
    const manager = db.manager(migrations);
    for (const [call, options, option] of [
      ["up", { To: 1 }, "To"],
      ["up", { dryRun: true }, "dryRun"],
      ["planUp", { target: 1 }, "target"],
      ["down", { step: 2 }, "step"],
      ["planDown", { stpes: 2 }, "stpes"],
    ] as const) {
      assert.throws(() => (manager[call] as (options: unknown) => unknown)(options), stepwiseFailure({ code: "USAGE", option }), `${call}(${JSON.stringify(options)})`);
    }
    await assert.rejects(new h.entry.AsyncMigrationManager(db.native, migrations).down({ step: 2 } as never), stepwiseFailure({ code: "USAGE", option: "step" }));
    assert.deepEqual(db.rows("SELECT name FROM sqlite_master"), []);
    // A key left undefined asks for nothing.
    assert.equal(db.migrate(migrations, { dryRun: undefined }).toVersion, migrations.length);
    assert.equal(manager.down({ steps: 2, step: undefined } as never).toVersion, migrations.length - 2);
  });

  test("a stepwise call made from inside another on the same connection (an onEvent listener, a transaction: false body) is refused with ASYNC_RUN_IN_PROGRESS, doing nothing", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const second = sqlEntry(2, "INSERT INTO items (note) VALUES ('second');");
    const third = sqlEntry(3, "INSERT INTO items (note) VALUES ('third');");
    const migrations = [createItems, second, third];
    const refused = stepwiseFailure({ code: "ASYNC_RUN_IN_PROGRESS", driver: db.driver.name });
    // The listener's migrate applied 2 and 3 between the outer call's transactions, which then failed 2 as MIGRATION_FAILED on the history's UNIQUE key; a down there reverted under it.
    const reenter = (event: MigrationEvent) => {
      if (event.type === "migrated" && event.version === 1) db.migrate(migrations);
    };
    assert.throws(() => db.migrate(migrations, { onEvent: reenter }), refused);
    assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations"), [{ version: 1, state: "applied" }]);
    assert.deepEqual(db.rows("SELECT note FROM items"), []);
    assert.equal(db.migrate(migrations).toVersion, 3);
    // A transaction: false body calling migrate waited the whole busy timeout for its own started row.
    const body = tsEntry<unknown>(4, { transaction: false, up: () => void db.migrate(withBody) });
    const withBody = [...migrations, body];
    const started = Date.now();
    assert.throws(() => db.migrate(withBody, { busyTimeoutMs: 5_000 }), stepwiseFailure({ code: "MIGRATION_FAILED", version: 4, rolledBack: false }));
    assert.ok(Date.now() - started < 4_000, "waited for its own started row");
  });

  test("an onEvent listener that throws as a transaction: false migration starts leaves no started row: its error reaches the caller and the next run applies the migration", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const migrations = [createItems, sqlEntry(2, "INSERT INTO items (note) VALUES ('outside');", { transaction: false })];
    const thrown = new Error("the listener's own failure");
    const listener = (event: MigrationEvent) => {
      if (event.type === "migrating" && event.version === 2) throw thrown;
    };
    // The started row committed before the event, so the next start refused INCOMPLETE_MIGRATION ("may be partly applied") for a body that never ran.
    assert.throws(
      () => db.migrate(migrations, { onEvent: listener }),
      (error) => error === thrown,
    );
    assert.deepEqual(db.rows("SELECT version, state FROM schema_migrations"), [{ version: 1, state: "applied" }]);
    assert.equal(db.migrate(migrations).toVersion, 2);
    assert.deepEqual(db.rows("SELECT note FROM items"), [{ note: "outside" }]);
  });

  test("a connection that is none (a path, null) and migrations that are not the registry's array (the registry module) are refused with USAGE at construction, before any SQL", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    // Each failed as the library's bare TypeError ("migrations is not iterable", "db.pragma is not a function").
    for (const bad of [{ migrations }, {}, null, "001_first.sql"]) assert.throws(() => db.manager(bad as never), stepwiseFailure({ code: "USAGE" }), typeof bad);
    for (const bad of [project.databasePath(), null, undefined, 5]) assert.throws(() => new h.entry.MigrationManager(bad as never, migrations), stepwiseFailure({ code: "USAGE" }), String(bad));
    assert.deepEqual(db.rows("SELECT name FROM sqlite_master"), []);
  });

  test("a connection the app closed before the call is refused with USAGE, by migrate, migrateAsync and a manager made while it was open", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    const manager = db.manager(migrations);
    const name = db.driver.name;
    db.close();
    // Each was the library's own error: better-sqlite3's and libsql's TypeError, node:sqlite's ERR_INVALID_STATE, sql.js's "out of memory".
    const closed = stepwiseFailure({ code: "USAGE", message: new RegExp(`^The ${name} connection is closed`) });
    assert.throws(() => h.entry.migrate(db.native, migrations), closed);
    await assert.rejects(h.entry.migrateAsync(db.native, migrations), closed);
    assert.throws(() => manager.status(), closed);
    assert.throws(() => manager.up(), closed);
  });

  test("a hand-edited registry that breaks the version rules is refused on construction", async (t) => {
    const project = createTestProject(t, { fixture: "runtime/side-effects" });
    const migrations = await project.load();
    const file = project.databasePath();
    writeFileSync(file, "");
    const gap = [migrations[0]!, migrations[2]!];
    await assertRefusedWithoutChange(h, file, gap, (manager) => manager.up(), { code: "REGISTRY_INVALID" });
    const forgedReversible = [migrations[0]!, { ...migrations[1]!, reversible: false }, migrations[2]!] as MigrationRegistry;
    await assertRefusedWithoutChange(h, file, forgedReversible, (manager) => manager.up(), { code: "REGISTRY_INVALID" });
  });
});

// Copying one library's example into an app on another is an easy slip: the connection was called closed, failed as a bare TypeError, or (D1) failed migration 1 after the history table was made.
test("each entry handed another library's connection is USAGE naming what it takes, and nothing is written", { skip: "bun" in process.versions && "better-sqlite3 is Node's" }, async () => {
  const { default: initSqlJs } = await import("sql.js");
  const { default: Database } = await import("better-sqlite3");
  const SQL = await initSqlJs();
  const registry: MigrationRegistry = [createItems];
  const entries = {
    "better-sqlite3": () => import("../src/entries/better-sqlite3.js"),
    libsql: () => import("../src/entries/libsql.js"),
    "sql-js": () => import("../src/entries/sql-js.js"),
    d1: () => import("../src/entries/d1.js"),
    "durable-objects": () => import("../src/entries/durable-objects.js"),
    pg: () => import("../src/entries/pg.js"),
    "libsql-client": () => import("../src/entries/libsql-client.js"),
  };
  for (const [name, load] of Object.entries(entries)) {
    // sql.js's own entry gets better-sqlite3's connection; every other entry, sql.js's.
    const other = name === "sql-js" ? new Database(":memory:") : new SQL.Database();
    const { migrate } = (await load()) as unknown as { migrate: (db: unknown, migrations: MigrationRegistry) => unknown };
    await assert.rejects(
      async () => migrate(other, registry),
      (error: { code?: string; message?: string }) => error.code === "USAGE" && error.message!.startsWith(`stepwise-migrate/${name} takes `),
      name,
    );
    const tables = other instanceof Database ? other.prepare("SELECT name FROM sqlite_master").all() : other.exec("SELECT name FROM sqlite_master");
    assert.deepEqual(tables, [], `${name} wrote to the other library's database`);
    other.close();
  }
});

/** A better-sqlite3 database at version 1 of `registry`, in a project folder of its own, with one backup of it; the safety nets' module to call. */
async function databaseWithBackup(t: { after(fn: () => void): void }, registry: MigrationRegistry) {
  const nets = await import("../src/index.js");
  const { MigrationManager } = await import("../src/entries/better-sqlite3.js");
  const { default: Database } = await import("better-sqlite3");
  const dir = createTestProject(t).root;
  const file = path.join(dir, "app.db");
  const backups = path.join(dir, "backups");
  const db = new Database(file);
  t.after(() => db.close());
  const manager = new MigrationManager(db, registry);
  manager.up({ to: 1 });
  const backup = (await nets.takeBackup(manager, { directory: backups, version: 1 })).path;
  return { nets, db, manager, file, backups, backup };
}

// A misspelt option was ignored, and the call did something else than asked: restoreBackup without its registry skipped the check that refuses another app's backup, migrateMany without its canary migrated the whole fleet.
test(
  "every safety net, reset and migrateMany refuse an option they do not take (USAGE naming it) before anything is read or written",
  { skip: "bun" in process.versions && "better-sqlite3 is Node's" },
  async (t) => {
    const registry: MigrationRegistry = [createItems, sqlEntry(2, "CREATE TABLE more (id INTEGER PRIMARY KEY);")];
    const { nets, manager, file, backups, backup } = await databaseWithBackup(t, registry);
    const before = readBytes(file);
    const calls: ReadonlyArray<readonly [string, string, () => unknown]> = [
      ["restoreBackup", "migration", () => nets.restoreBackup({ driver: manager, backupFile: backup, databasePath: file, migration: registry } as never)],
      ["verifySchema", "refuseDrfit", () => nets.verifySchema(manager, { refuseDrfit: true } as never)],
      ["rehearseUp", "too", () => nets.rehearseUp(manager, { too: 1 } as never)],
      ["takeBackup", "kep", () => nets.takeBackup(manager, { directory: backups, version: 1, kep: 1 } as never)],
      ["upWithBackup", "transction", () => nets.upWithBackup(manager, { backup: { directory: backups }, transction: "all" } as never)],
      ["upWithBackup's backup", "kep", () => nets.upWithBackup(manager, { backup: { directory: backups, kep: 1 } } as never)],
      ["repairChecksums", "aply", () => nets.repairChecksums(manager, { aply: true } as never)],
      ["baselineDatabase", "dangerouslyforce", () => nets.baselineDatabase(manager, 1, { dangerouslyforce: true } as never)],
      ["readSchemaSnapshot", "excludeTable", () => nets.readSchemaSnapshot(manager, { excludeTable: ["items"] } as never)],
      ["reset", "to", () => manager.reset({ dangerouslyDropAllData: true, to: 1 } as never)],
      ["migrateMany", "canery", () => nets.migrateMany(["a"], () => manager, { canery: 1 } as never)],
    ];
    for (const [call, option, run] of calls) {
      await assert.rejects(async () => run(), stepwiseFailure({ code: "USAGE", option }), call);
    }
    assert.deepEqual(readBytes(file), before);
    assert.deepEqual(
      nets.listBackups(backups, file).map((entry) => entry.path),
      [backup],
    );
  },
);

// The app's connection handed where the manager goes (migrate takes one), or a connection closed before the call: each net failed as the library's bare TypeError.
test(
  "each safety net handed the connection instead of the manager, or a closed connection, is USAGE naming what it takes, before anything is read or written",
  { skip: "bun" in process.versions && "better-sqlite3 is Node's" },
  async (t) => {
    const { nets, db, manager, file, backups, backup } = await databaseWithBackup(t, [createItems]);
    const given = (connection: unknown): ReadonlyArray<readonly [string, () => unknown]> => [
      ["takeBackup", () => nets.takeBackup(connection as never, { directory: backups, version: 1 })],
      ["upWithBackup", () => nets.upWithBackup(connection as never, { backup: { directory: backups } })],
      ["verifySchema", () => nets.verifySchema(connection as never)],
      ["rehearseUp", () => nets.rehearseUp(connection as never)],
      ["readSchemaSnapshot", () => nets.readSchemaSnapshot(connection as never)],
      ["baselineDatabase", () => nets.baselineDatabase(connection as never, 1)],
      ["repairChecksums", () => nets.repairChecksums(connection as never)],
      ["restoreBackup", () => nets.restoreBackup({ driver: connection as never, backupFile: backup, databasePath: file })],
      ["repairIncompleteMigration", () => nets.repairIncompleteMigration(connection as never, { version: 1, resolution: "forget" })],
      ["listChecksumRepairs", () => nets.listChecksumRepairs(connection as never)],
    ];
    for (const [call, run] of given(db)) await assert.rejects(async () => run(), stepwiseFailure({ code: "USAGE", message: new RegExp(`^${call} takes the app's migration manager`) }), call);
    // Anything that carries the driver (the manager of another copy of the package) still works where a driver does.
    assert.deepEqual(
      nets.listBackups(backups, { driver: manager.driver } as never).map((entry) => entry.path),
      [backup],
    );
    const before = readBytes(file);
    db.close();
    for (const [call, run] of given(manager)) await assert.rejects(async () => run(), stepwiseFailure({ code: "USAGE", message: /connection is closed/ }), call);
    assert.deepEqual(readBytes(file), before);
    assert.deepEqual(
      nets.listBackups(backups, manager).map((entry) => entry.path),
      [backup],
    );
  },
);

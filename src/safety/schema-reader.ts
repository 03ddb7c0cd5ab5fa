/**
 * What verify, baseline and rehearsal need of a database beyond the executor, per dialect and per
 * runner, behind one object: read the live schema, count rows, and build the schema migrations 1..N
 * produce by replaying them on an empty scratch database. The nets' algorithms are steps written once
 * against this object, and run by the sync runner (SQLite's `MigrationManager`) or the async one
 * (`AsyncMigrationManager`, `stepwise-migrate/pg`'s manager).
 *
 * The scratch database is the driver's: SQLite's drivers open an empty in-memory copy (`snapshot`),
 * PostgreSQL's creates a database on the same server and drops it after (`openScratchDatabase`).
 */
import { stepwiseTableNames } from "../core/checksum-repair-log.js";
import { requireCapabilities, type Driver, type ScratchDatabase, driverCapabilityError } from "../core/driver.js";
import { Executor } from "../core/executor.js";
import { inline, SyncMigrationManager } from "../core/manager.js";
import type { DriverIdentity, MigrationManagerBase } from "../core/manager-base.js";
import { PostgresHistoryStore } from "../core/dialects/postgres.js";
import { runAsync, runSync } from "../core/runners.js";
import { refuseOpenTransaction, refuseOpenTransactionOn } from "../core/transaction-open.js";
import { callWithDriver, exec, queryValue, type Step } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import { readPostgresSchema } from "./postgres-schema.js";
import { containCopy } from "./contained-copy.js";
import { countRows, readSchema, type ReadSchemaOptions, type SchemaSnapshot } from "./schema-snapshot.js";

/**
 * A manager the safety nets run their steps through: the sync `MigrationManager` of a SQLite entry,
 * an `AsyncMigrationManager`, or `stepwise-migrate/pg`'s `MigrationManager`.
 */
export type SafetyNetManager<R extends MigrationRegistry = MigrationRegistry, Async extends boolean = boolean> = MigrationManagerBase<unknown, R, Async, DriverIdentity<unknown>>;

/**
 * Runs a net's step, built by `start`, with the manager's connection settings: on the sync runner its
 * result, on the async one a promise (a refusal `start` throws included). `writes`, the net's name,
 * marks a net that writes in its own transaction: it is refused inside the app's open transaction
 * (SQLite cannot nest one, and a rollback would throw away the app's writes) and, on the async runner,
 * holds the run lock (on PostgreSQL) for the whole call.
 */
export function runSafetyNet<T>(manager: SafetyNetManager, start: () => Step<T>, writes?: string): T | Promise<T> {
  const { executor, driver } = manager;
  if (manager instanceof SyncMigrationManager) {
    const step = start();
    if (writes !== undefined) refuseOpenTransactionOn(manager.driver, writes);
    return manager.run(executor.withConnectionSettings(step));
  }
  return (async () => {
    const step = start();
    const refusing = function* (): Step<T> {
      if (writes !== undefined) yield* refuseOpenTransaction(driver.name, writes);
      return yield* step;
    };
    return manager.run(executor.withConnectionSettings(refusing()), { exclusive: writes !== undefined });
  })();
}

/**
 * Reads the schema of the manager's database through its driver, whatever the library: SQLite's
 * `main` database, or on PostgreSQL the manager's schema. Never writes.
 *
 * @example
 * const snapshot = readSchemaSnapshot(manager, { excludeTables: [manager.tableName] });
 */
export function readSchemaSnapshot(manager: SyncMigrationManager<unknown>, options?: ReadSchemaOptions): SchemaSnapshot;
/** Handed a manager whose methods return promises (`stepwise-migrate/pg`'s), a promise of the same snapshot. */
export function readSchemaSnapshot(manager: SafetyNetManager<MigrationRegistry, true>, options?: ReadSchemaOptions): Promise<SchemaSnapshot>;
export function readSchemaSnapshot(manager: SafetyNetManager, options: ReadSchemaOptions = {}): SchemaSnapshot | Promise<SchemaSnapshot> {
  return manager.run(readSchemaOf(manager, options)) as SchemaSnapshot | Promise<SchemaSnapshot>;
}

/** The step reading `manager`'s schema: on PostgreSQL the manager's schema from the catalog, on SQLite `main`. */
function readSchemaOf(manager: SafetyNetManager, options: ReadSchemaOptions): Step<SchemaSnapshot> {
  const store = manager.executor.store;
  return store instanceof PostgresHistoryStore ? readPostgresSchema({ schema: store.schema, ...options }) : readSchema(options);
}

/** A safety net's view of one database's schema; see the module note. */
export interface SchemaReader {
  /**
   * Run right after `BEGIN`: makes every read of that transaction see one snapshot (PostgreSQL's
   * `REPEATABLE READ`; SQLite's read transaction already does).
   */
  holdSnapshot(): Step<void>;
  /** The live schema, without the history table. */
  read(): Step<SchemaSnapshot>;
  /** Rows per table of `snapshot`. */
  countRows(snapshot: SchemaSnapshot): Step<Record<string, number>>;
  /** The schema migrations 1..`version` build on an empty scratch database, read as {@link read} reads. */
  replay(version: number): Step<SchemaSnapshot>;
}

/**
 * The reader for `manager`'s dialect and runner. `replays: false` (a rehearsal, which never calls
 * {@link SchemaReader.replay}) needs no scratch database.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` (naming `operation`) when the net replays and the driver can open no
 *   scratch database: a SQLite driver without `snapshot` nor `openScratchDatabase` (libsql-client
 *   without its `scratchClient`).
 */
export function schemaReaderOf(manager: SafetyNetManager, operation: string, options: { readonly replays?: boolean } = {}): SchemaReader {
  const store = manager.executor.store;
  const postgresSchema = store instanceof PostgresHistoryStore ? store.schema : undefined;
  const sync = manager instanceof SyncMigrationManager;
  // On SQLite the replay runs on a fresh in-memory database, which only a driver that can snapshot can
  // open, or (async) one that opens a scratch database of its own.
  const canReplay = postgresSchema !== undefined || manager.driver.capabilities.snapshot || (!sync && (manager.driver as Partial<Driver>).openScratchDatabase !== undefined);
  if (options.replays !== false && !canReplay) {
    throw driverCapabilityError({
      driver: manager.driver.name,
      capability: "snapshot",
      operation,
      // The one driver that opens a scratch database when the app says how.
      ...(manager.driver.name === "libsql-client" ? { fix: `Give the manager a scratch database to replay on: scratchClient: () => createClient({ url: ":memory:" }).` } : {}),
    });
  }
  return {
    holdSnapshot: postgresSchema === undefined ? function* () {} : () => exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
    read: () => readSchemaOf(manager, { excludeTables: stepwiseTableNames(manager.tableName) }),
    countRows: (snapshot) => countRows(snapshot, postgresSchema),
    replay: (version) =>
      sync ? inline(() => replaySchema(manager as SyncMigrationManager<unknown, MigrationRegistry>, version)) : callWithDriver((driver) => replayOnScratch(driver, manager, version, operation)),
  };
}

/**
 * Migrations 1..`version` applied, by the async runner, to a scratch database of `driver` (which
 * may hold async migrations), and its schema read; the scratch database is dropped (or closed) after,
 * on success and on failure.
 */
async function replayOnScratch(driver: Driver, manager: SafetyNetManager, version: number, operation: string): Promise<SchemaSnapshot> {
  const scratch = driver.openScratchDatabase ? await driver.openScratchDatabase() : await sqliteScratch(driver, operation);
  let snapshot: SchemaSnapshot;
  try {
    const settings = manager.executor.settings;
    // Its own executor: the replay's events are not the app's.
    const executor = new Executor(manager.migrations, { ...settings, driverName: scratch.driver.name, capabilities: scratch.driver.capabilities, onEvent: undefined, logger: null });
    if (version > 0) await runAsync(executor.up({ to: version }), scratch.driver);
    snapshot = await runAsync(readSchemaOf(manager, { excludeTables: stepwiseTableNames(manager.tableName) }), scratch.driver);
  } catch (error) {
    await scratch.drop().catch(() => undefined);
    throw error;
  }
  await scratch.drop();
  return snapshot;
}

/** An empty in-memory SQLite database with the app connection's foreign-key enforcement, as a scratch database. */
async function sqliteScratch(driver: Driver, operation: string): Promise<ScratchDatabase> {
  requireCapabilities(driver, operation, "snapshot");
  const copy = await driver.openSnapshot!(new Uint8Array(0));
  const drop = async () => void (await copy.close?.());
  try {
    const foreignKeys = (await runAsync(queryValue("PRAGMA foreign_keys"), driver)) === 1;
    await runAsync(exec(`PRAGMA foreign_keys = ${foreignKeys ? "ON" : "OFF"}`), copy);
  } catch (error) {
    await drop();
    throw error;
  }
  return { name: ":memory:", driver: copy as ScratchDatabase["driver"], drop };
}

/**
 * Applies migrations 1..`version` of `manager`'s registry to a fresh scratch database, through the
 * manager's own code path, and reads its schema (without the history table). Data migrations run
 * against empty tables.
 */
function replaySchema<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, version: number): SchemaSnapshot {
  requireCapabilities(manager.driver, "replaySchema", "snapshot");
  // Contained: a migration there may not reach another file (contained-copy.ts).
  const scratch = containCopy(manager.driver.openSnapshot!(new Uint8Array(0)));
  try {
    // Enforcement follows the real connection, so a migration that relies on it behaves the same.
    const foreignKeys = manager.run(queryValue("PRAGMA foreign_keys")) === 1;
    runSync(exec(`PRAGMA foreign_keys = ${foreignKeys ? "ON" : "OFF"}`), scratch);
    if (version > 0) manager.withDriver(scratch, { onEvent: undefined, logger: null }).up({ to: version });
    return runSync(readSchema({ excludeTables: stepwiseTableNames(manager.tableName) }), scratch);
  } finally {
    scratch.close?.();
  }
}

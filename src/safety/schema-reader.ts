/** What the nets share: running a net's step on either runner, and reading a schema, live or as migrations 1..N build it on a scratch database. */
import { stepwiseTableNames } from "../core/checksum-repair-log.js";
import { PostgresHistoryStore } from "../core/dialects/postgres.js";
import { driverCapabilityError, type Driver, type ScratchDatabase } from "../core/driver.js";
import { Executor, type ExecutorSettings } from "../core/executor.js";
import type { DriverIdentity, MigrationManagerBase } from "../core/manager-base.js";
import { SyncMigrationManager } from "../core/manager.js";
import { runAsync, runSync } from "../core/runners.js";
import { begin, callWithDriver, commit, exec, queryValue, rollbackQuietly, type Step } from "../core/step.js";
import { refuseOpenTransaction } from "../core/transaction-open.js";
import type { MigrationRegistry } from "../core/types.js";
import { readPostgresSchema } from "./postgres-schema.js";
import { openContainedCopy } from "./contained-copy.js";
import { countRows, readSchema, type ReadSchemaOptions, type SchemaSnapshot } from "./schema-snapshot.js";

/** A manager the safety nets run through: a SQLite entry's `MigrationManager`, an `AsyncMigrationManager`, or `stepwise-migrate/pg`'s. */
export type SafetyNetManager<R extends MigrationRegistry = MigrationRegistry, Async extends boolean = boolean> = MigrationManagerBase<unknown, R, Async, DriverIdentity<unknown>>;

/**
 * Runs the step `start` makes with the manager's connection settings, as a promise on the async runner (a refusal `start` throws included). `writes`, the net's name, marks a net that writes:
 * refused inside the app's transaction, holding the run lock on PostgreSQL.
 */
export function runSafetyNet<T>(manager: SafetyNetManager, start: () => Step<T>, writes?: string): T | Promise<T> {
  const run = () => {
    const step = start();
    const refusing = function* (): Step<T> {
      if (writes !== undefined) yield* refuseOpenTransaction(manager.driver.name, writes);
      return yield* step;
    };
    return manager.run(manager.executor.withConnectionSettings(refusing()), { exclusive: writes !== undefined }) as T | Promise<T>;
  };
  return manager instanceof SyncMigrationManager ? run() : (async () => run())();
}

/** The manager's algorithm on another connection (a copy, a scratch database), its events going to `listeners` only. */
export function executorOn(manager: SafetyNetManager, driver: Driver, listeners: Pick<ExecutorSettings, "onEvent" | "logger"> = { onEvent: undefined, logger: null }): Executor<MigrationRegistry> {
  return new Executor(manager.migrations, { ...manager.executor.settings, driverName: driver.name, capabilities: driver.capabilities, ...listeners });
}

/** `body` in one write transaction, rolled back when it throws. */
export function* inWriteTransaction<T>(body: () => Step<T>): Step<T> {
  yield* begin("immediate");
  try {
    const value = yield* body();
    yield* commit();
    return value;
  } catch (error) {
    yield* rollbackQuietly();
    throw error;
  }
}

/**
 * Reads the schema of the manager's database: SQLite's `main`, or on PostgreSQL the manager's schema. Never writes.
 *
 * @example
 * const snapshot = readSchemaSnapshot(manager, { excludeTables: [manager.tableName] });
 */
export function readSchemaSnapshot(manager: SyncMigrationManager<unknown>, options?: ReadSchemaOptions): SchemaSnapshot;
/** Handed a manager whose methods return promises, a promise of the same snapshot. */
export function readSchemaSnapshot(manager: SafetyNetManager<MigrationRegistry, true>, options?: ReadSchemaOptions): Promise<SchemaSnapshot>;
export function readSchemaSnapshot(manager: SafetyNetManager, options: ReadSchemaOptions = {}): SchemaSnapshot | Promise<SchemaSnapshot> {
  return manager.run(readSchemaOf(manager, options)) as SchemaSnapshot | Promise<SchemaSnapshot>;
}

/** The PostgreSQL schema the manager's history table lives in; `undefined` on SQLite. */
export function postgresSchemaOf(manager: SafetyNetManager): string | undefined {
  const store = manager.executor.store;
  return store instanceof PostgresHistoryStore ? store.schema : undefined;
}

/** The manager's schema, by default without stepwise's own tables. */
export function readSchemaOf(manager: SafetyNetManager, options: ReadSchemaOptions = { excludeTables: stepwiseTableNames(manager.tableName) }): Step<SchemaSnapshot> {
  const schema = postgresSchemaOf(manager);
  return schema === undefined ? readSchema(options) : readPostgresSchema(schema, options.excludeTables);
}

/** The manager's schema with its rows per table. */
export function* observeSchema(manager: SafetyNetManager): Step<{ readonly schema: SchemaSnapshot; readonly rows: Readonly<Record<string, number>> }> {
  const schema = yield* readSchemaOf(manager);
  return { schema, rows: yield* countRows(schema, postgresSchemaOf(manager)) };
}

/** Throws `DRIVER_CAPABILITY_MISSING` unless the manager can replay its migrations on a scratch database: a snapshot, PostgreSQL's server, or libsql-client's `scratchClient`. */
export function requireReplay(manager: SafetyNetManager, operation: string): void {
  const { driver } = manager;
  if (postgresSchemaOf(manager) !== undefined || driver.capabilities.snapshot || (!(manager instanceof SyncMigrationManager) && (driver as Partial<Driver>).openScratchDatabase !== undefined)) return;
  const fix = driver.name === "libsql-client" ? { fix: `Give the manager a scratch database to replay on: scratchClient: () => createClient({ url: ":memory:" }).` } : {};
  throw driverCapabilityError({ driver: driver.name, capability: "snapshot", operation, ...fix });
}

/** The schema migrations 1..`version` build on an empty scratch database. */
export function replaySchema(manager: SafetyNetManager, version: number): Step<SchemaSnapshot> {
  return callWithDriver((driver) => (manager instanceof SyncMigrationManager ? replaySync(manager, version) : replayAsync(driver, manager, version)));
}

/** Migrations 1..`version` applied to a contained in-memory copy, and its schema. */
function replaySync(manager: SyncMigrationManager<unknown, MigrationRegistry>, version: number): SchemaSnapshot {
  const scratch = openContainedCopy(manager.driver, new Uint8Array(0));
  try {
    if (version > 0) runSync(executorOn(manager, scratch).up({ to: version }), scratch);
    return runSync(readSchemaOf(manager), scratch);
  } finally {
    scratch.close?.();
  }
}

/** The same by the async runner, on a scratch database dropped after, on failure too. */
async function replayAsync(driver: Driver, manager: SafetyNetManager, version: number): Promise<SchemaSnapshot> {
  const scratch = driver.openScratchDatabase ? await driver.openScratchDatabase() : await openSqliteScratch(driver);
  let snapshot: SchemaSnapshot;
  try {
    if (version > 0) await runAsync(executorOn(manager, scratch.driver).up({ to: version }), scratch.driver);
    snapshot = await runAsync(readSchemaOf(manager), scratch.driver);
  } catch (error) {
    await scratch.drop().catch(() => undefined);
    throw error;
  }
  await scratch.drop();
  return snapshot;
}

/** An empty in-memory SQLite database with the app connection's foreign-key enforcement. */
async function openSqliteScratch(driver: Driver): Promise<ScratchDatabase> {
  const copy = await driver.openSnapshot!(new Uint8Array(0));
  const drop = async () => void (await copy.close?.());
  try {
    await runAsync(exec(`PRAGMA foreign_keys = ${(await runAsync(queryValue("PRAGMA foreign_keys"), driver)) === 1 ? "ON" : "OFF"}`), copy);
  } catch (error) {
    await drop();
    throw error;
  }
  return { name: ":memory:", driver: copy as ScratchDatabase["driver"], drop };
}

/** Adopting a database made before stepwise: when its schema is what migrations 1..N build, record 1..N as applied. */
import { invalidTargetError, usageError } from "../core/error-factories.js";
import { alreadyManagedError, schemaMismatchError } from "./errors.js";
import { setUserVersion } from "../core/history.js";
import type { SyncMigrationManager } from "../core/manager.js";
import type { Step } from "../core/step.js";
import type { MigrationRegistry, VersionOf } from "../core/types.js";
import {
  inWriteTransaction,
  postgresSchemaOf,
  readSchemaOf,
  replaySchema,
  requireReplay,
  runSafetyNet,
  tableExists,
  writeAdoptionRecord,
  type SafetyNetManager,
  booleanOption,
  requireManager,
} from "./schema-reader.js";
import { describeDrift, diffSchemas } from "./schema-snapshot.js";
import type { SchemaDifference } from "../core/errors.js";
import { optionsObject } from "../core/options.js";

/** Options for {@link baselineDatabase}. */
export interface BaselineOptions {
  /** Record the versions even when the schema differs (the differences are still returned). Default `false`. */
  readonly dangerouslyForce?: boolean;
  /**
   * Tables another tool keeps in this database, named as the database has them: the history table of a tool `stepwise import` does not read (Sequelize's `SequelizeMeta`, TypeORM's
   * `migrations`, Rails' `schema_migrations` and `ar_internal_metadata`). Each must exist. They are left out of the schema check and recorded, so `verify` leaves them out too; drop them once that
   * tool no longer runs. Default: none.
   */
  readonly oldTables?: readonly string[];
}

/** What {@link baselineDatabase} did. Plain data. */
export interface BaselineResult {
  readonly version: number;
  /** The versions recorded as applied, ascending. */
  readonly recorded: readonly number[];
  /** True when the schema differed and `dangerouslyForce` recorded them anyway. */
  readonly forced: boolean;
  /** From the migrations' schema to the live one; empty when they match. */
  readonly differences: readonly SchemaDifference[];
  readonly drift: readonly string[];
  /** The tables of {@link BaselineOptions.oldTables}, left out of the check and recorded. */
  readonly oldTables: readonly string[];
}

/**
 * Adopts a database created before stepwise: when its schema matches a replay of migrations 1..`version` (or when forced), records them as applied without running them.
 *
 * @example
 * baselineDatabase(new MigrationManager(db, migrations), 5);
 *
 * @throws `ALREADY_MANAGED` when a history exists; `SCHEMA_MISMATCH` when the schema differs and `dangerouslyForce` is not set; `INVALID_TARGET` for a version the registry lacks; `USAGE`
 * for an old table that is not in the database.
 */
export function baselineDatabase<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, version: VersionOf<R>, options?: BaselineOptions): BaselineResult;
/** Handed a manager whose methods return promises, a promise of the same result. On PostgreSQL it holds the run lock and replays in a scratch database (`SCRATCH_DATABASE_UNAVAILABLE`). */
export function baselineDatabase<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, version: VersionOf<R>, options?: BaselineOptions): Promise<BaselineResult>;
export function baselineDatabase(manager: SafetyNetManager, version: number, options: BaselineOptions = {}): BaselineResult | Promise<BaselineResult> {
  requireManager(manager, "baselineDatabase");
  return runSafetyNet(
    manager,
    () => {
      requireReplay(manager, "baselineDatabase");
      booleanOption(optionsObject(options, "baselineDatabase", ["dangerouslyForce", "oldTables"]).dangerouslyForce, "dangerouslyForce", "baselineDatabase");
      const { oldTables = [] } = options;
      if (!Array.isArray(oldTables) || oldTables.some((table) => typeof table !== "string" || table === "")) {
        throw usageError(`baselineDatabase's oldTables must be an array of table names; got ${JSON.stringify(oldTables)}.`);
      }
      const latest = manager.migrations.length;
      if (!Number.isSafeInteger(version) || version < 1 || version > latest) {
        throw invalidTargetError(version, `There is no migration ${version} to baseline at; the versions go from 1 to ${latest}.`);
      }
      return oldTables.length === 0 ? recordBaseline(manager, version, options) : recordBaselineBeside(manager, version, options, oldTables);
    },
    "baselineDatabase",
  );
}

/**
 * What an adoption adds to a baseline: the old tool (named in `SCHEMA_MISMATCH`), its tables (`foreign`, left out of the schema check), and what it writes in the same transaction. A later adopt
 * that records what the old tool applied since passes `since` (the versions already recorded, which stay) and `guard` (in place of refusing a managed database: that history is still as it was).
 */
type Adoption = { tool?: string; foreign: readonly string[]; alsoWrite: () => Step<void>; since?: number; guard?: () => Step<void> };

/** Records migrations 1..`version` as applied when the live schema matches their replay, in one write transaction; `stepwise adopt` and `--old-table` pass an `adoption`. */
export function* recordBaseline(manager: SafetyNetManager, version: number, options: BaselineOptions, adoption?: Adoption): Step<BaselineResult> {
  const store = manager.executor.store;
  const guard = adoption?.guard ?? (() => refuseManagedDatabase(manager, adoption?.tool));
  yield* guard();
  const live = yield* readSchemaOf(manager, undefined, adoption?.foreign);
  const differences = diffSchemas(yield* replaySchema(manager, version), live);
  if (differences.length > 0 && !options.dangerouslyForce) throw schemaMismatchError(version, differences, describeDrift(differences), adoption?.tool);
  const recorded = manager.migrations.slice(adoption?.since ?? 0, version);
  const appliedAt = new Date().toISOString();
  yield* inWriteTransaction(function* () {
    // Another process may have migrated or baselined since the check above.
    yield* guard();
    yield* store.ensure();
    for (const { version, name, checksum } of recorded) {
      try {
        yield* store.insertApplied({ version, name, checksum, appliedAt, durationMs: null });
      } catch (error) {
        // The history table refuses stepwise's rows: its fault, named so; the write transaction rolls back.
        throw manager.executor.refusedHistoryWrite(error, version) ?? error;
      }
    }
    if (manager.driver.capabilities.userVersion) yield* setUserVersion(version);
    if (adoption) yield* adoption.alsoWrite();
  });
  return { version, recorded: recorded.map((entry) => entry.version), forced: differences.length > 0, differences, drift: describeDrift(differences), oldTables: adoption?.foreign ?? [] };
}

/** `ALREADY_MANAGED` when the database has a migration history; `adoptFrom`: the tool `stepwise adopt` was asked to adopt from. */
export function* refuseManagedDatabase(manager: SafetyNetManager, adoptFrom?: string): Step<void> {
  const store = manager.executor.store;
  const keys = (yield* store.exists()) ? yield* store.readKeys() : [];
  if (keys.length > 0) throw alreadyManagedError(keys[keys.length - 1]!.version, manager.tableName, adoptFrom);
}

/** {@link recordBaseline} leaving out another tool's tables, which must exist, and recording them as `stepwise adopt` records its tool's, so later checks leave them out too. */
function* recordBaselineBeside(manager: SafetyNetManager, version: number, options: BaselineOptions, oldTables: readonly string[]): Step<BaselineResult> {
  const schema = postgresSchemaOf(manager);
  // A managed database is refused as such, whatever the tables named.
  yield* refuseManagedDatabase(manager);
  for (const table of oldTables) {
    if (!(yield* tableExists(schema, table))) {
      const where = schema === undefined ? "this database" : `schema ${schema}`;
      throw usageError(`There is no table ${table} in ${where} to leave out of the baseline; name the other tool's table as the database has it (SequelizeMeta, migrations).`);
    }
  }
  const record = oldTables.map((table) => ({ table, schema, dropped: false }));
  return yield* recordBaseline(manager, version, options, { foreign: oldTables, alsoWrite: () => writeAdoptionRecord(manager, "baseline", version, record) });
}

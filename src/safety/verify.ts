/**
 * Drift detection: the live schema against a replay of the migrations the history says were applied.
 * A column added by hand, an index dropped to "fix" a slow write, a trigger edited in place: each
 * shows up as a difference with the object's name.
 */
import { StepwiseError } from "../core/errors.js";
import { SyncMigrationManager } from "../core/manager.js";
import { MANAGER_FOR_VERIFY, type ManagerForVerify } from "../core/manager-for-verify.js";
import { begin, inTransaction, rollbackQuietly, type Step } from "../core/step.js";
import { verifyHistoryOrThrow, type AppliedMigrationKey } from "../core/planner.js";
import { schemaReaderOf, type SafetyNetManager, type SchemaReader } from "./schema-reader.js";
import { describeSchemaDifference, diffSchemas, type SchemaDifference, type SchemaSnapshot } from "./schema-snapshot.js";
import type { MigrationRegistry } from "../core/types.js";
import { PostgresHistoryStore } from "../core/dialects/postgres.js";
import { readCachedExpectedSchema, readExpectedSchemaKey, writeCachedExpectedSchema } from "./expected-schema-cache.js";

/** What {@link verifySchema} found. Plain data. */
export interface SchemaVerification {
  /** True when the live schema is exactly what the applied migrations build. */
  readonly ok: boolean;
  /** The applied version the schema was compared against. */
  readonly version: number;
  /** Read from the migrations' schema to the live one: `added` exists only in the live database. */
  readonly differences: readonly SchemaDifference[];
  /** One sentence per difference: "index idx_x missing", "column contacts.nick added outside migrations". */
  readonly drift: readonly string[];
}

/** Options for {@link verifySchema}. */
export interface VerifySchemaOptions {
  /** Throw `SCHEMA_DRIFT` on any difference instead of returning it. Default `false`. */
  readonly refuseDrift?: boolean;
  /**
   * On SQLite, when the expected schema had to be built by replaying the migrations, store it in the
   * database (table `<tableName>_expected_schema`, see `expected-schema-cache.ts`) so the next verify
   * of the same registry skips the replay. A write, so off by default: `verifySchema` on its own only
   * reads (and uses a stored schema when one matches). `migrate(db, migrations, { verifySchema })`
   * turns it on, which makes its start-up check cost milliseconds from the second start on. Stored
   * only when the schema matched and verify holds its own read transaction. Default `false`.
   */
  readonly cacheExpectedSchema?: boolean;
}

/** The live schema differs from what the applied migrations build. */
export function schemaDriftError(verification: SchemaVerification): StepwiseError<"SCHEMA_DRIFT"> {
  return new StepwiseError(
    "SCHEMA_DRIFT",
    `The schema differs from what migrations 1..${verification.version} build:\n` +
      verification.drift.map((line) => `  - ${line}`).join("\n") +
      `\nSomething changed it outside migrations. Undo that change, or make it a migration ("stepwise create").`,
    { version: verification.version, differences: verification.differences },
  );
}

/**
 * Compares the live schema with a replay of the applied migrations on an empty in-memory database,
 * reporting drift made by hand. Never writes. Emits `verified` through the manager's `onEvent` and
 * logger when the schema matches. Pass it to `migrate` as `{ verifySchema }` to check at start-up.
 *
 * A standalone function rather than a manager method, so an app that never verifies does not
 * bundle the replay and schema-diff code.
 *
 * @example
 * const verification = verifySchema(manager);
 * if (!verification.ok) console.log(verification.drift.join("\n"));
 *
 * @throws `SCHEMA_DRIFT` on drift when `refuseDrift` is set; `UNMANAGED_DATABASE` when the
 *   database has tables but no history (use baseline first); and the planner's refusals (checksum
 *   mismatch, database ahead...) when the history is not usable.
 */
export function verifySchema<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, options?: VerifySchemaOptions): SchemaVerification;
/** Handed a manager whose methods return promises (`stepwise-migrate/pg`, `stepwise-migrate/libsql-client`, `AsyncMigrationManager`), a promise of the same result. */
export function verifySchema<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options?: VerifySchemaOptions): Promise<SchemaVerification>;
export function verifySchema(manager: SafetyNetManager, options: VerifySchemaOptions = {}): SchemaVerification | Promise<SchemaVerification> {
  if (!(manager instanceof SyncMigrationManager)) return verifySchemaAsync(manager as SafetyNetManager<MigrationRegistry, true>, options);
  const reader = schemaReaderOf(manager, "verifySchema");
  return settleVerification(manager, manager.run(verificationStep(manager, reader, options)), options);
}

// What lets `migrate` of an entry without a manager (`stepwise-migrate/sql-js`) take `{ verifySchema }`: it
// builds the manager to verify from what this function carries, so only an app that verifies bundles
// one. A bundler keeps this statement exactly when it keeps verifySchema.
Object.defineProperty(verifySchema, MANAGER_FOR_VERIFY, {
  value: ((driver, migrations, props, dialect) => new SyncMigrationManager(driver, migrations, props, dialect)) satisfies ManagerForVerify,
});

/**
 * {@link verifySchema} for a manager whose methods return promises: `stepwise-migrate/pg`'s `MigrationManager`
 * (the replay runs in a scratch database created on the same server with a random name, and dropped
 * after, even when the replay fails) or an `AsyncMigrationManager` (its async migrations replay on an
 * in-memory copy). The same steps as the sync form, driven by the async runner; the same result and
 * errors. Never writes to the app's database.
 *
 * @example
 * const verification = await verifySchemaAsync(new MigrationManager(pool, migrations));
 * if (!verification.ok) console.log(verification.drift.join("\n"));
 *
 * @throws `SCHEMA_DRIFT` on drift when `refuseDrift` is set; `SCRATCH_DATABASE_UNAVAILABLE` on
 *   PostgreSQL when the role may not create the scratch database (`CREATEDB`); and whatever
 *   {@link verifySchema} throws.
 */
export async function verifySchemaAsync<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options: VerifySchemaOptions = {}): Promise<SchemaVerification> {
  const reader = schemaReaderOf(manager, "verifySchema");
  return settleVerification(manager, await manager.run(verificationStep(manager, reader, options)), options);
}

function verificationStep(manager: SafetyNetManager, reader: SchemaReader, options: VerifySchemaOptions): Step<SchemaVerification> {
  // A transaction: false migration another process is running shows as a started row: wait for it,
  // as up does, rather than report the half-applied schema as drift or the row as interrupted.
  const { executor } = manager;
  return executor.withConnectionSettings(executor.waitWhileAnotherProcessMigrates(() => compareWithReplay(manager, reader, options)));
}

function settleVerification(manager: SafetyNetManager, verification: SchemaVerification, options: VerifySchemaOptions): SchemaVerification {
  if (!verification.ok) {
    if (options.refuseDrift) throw schemaDriftError(verification);
    return verification;
  }
  manager.executor.emit({ type: "verified", version: verification.version });
  return verification;
}

function* compareWithReplay(manager: SafetyNetManager, reader: SchemaReader, options: VerifySchemaOptions): Step<SchemaVerification> {
  // One read transaction: the schema and the history come from the same snapshot, so a process that
  // migrates meanwhile cannot make its new table look like drift against the old history. Inside the
  // app's own transaction that snapshot is already held: its reads are used as they are (what the
  // app's connection sees, its uncommitted writes included), and the transaction is left to the app.
  const ownTransaction = !(yield* inTransaction());
  if (ownTransaction) {
    yield* begin("deferred");
    yield* reader.holdSnapshot();
  }
  let live: SchemaSnapshot;
  let keys: AppliedMigrationKey[];
  // PostgreSQL's schema snapshot is not SQLite's, and its replay has no cache yet.
  const cacheable = !(manager.executor.store instanceof PostgresHistoryStore);
  let cacheKey: string | null = null;
  let cached: SchemaSnapshot | null = null;
  try {
    yield* manager.executor.refuseUnmanagedDatabase();
    live = yield* reader.read();
    keys = yield* manager.executor.store.readKeys();
    if (cacheable) {
      // Read in the same snapshot as the history it is keyed by.
      cacheKey = yield* readExpectedSchemaKey(manager.migrations, verifyHistoryOrThrow(manager.migrations, keys), manager.tableName);
      cached = yield* readCachedExpectedSchema(manager.tableName, cacheKey);
    }
  } finally {
    if (ownTransaction) yield* rollbackQuietly();
  }
  const version = verifyHistoryOrThrow(manager.migrations, keys);
  const expected = cached ?? (yield* reader.replay(version));
  const differences = diffSchemas(expected, live);
  if (cached === null && cacheKey !== null && options.cacheExpectedSchema && ownTransaction && version > 0 && differences.length === 0) {
    yield* writeCachedExpectedSchema(manager.tableName, cacheKey, version, expected);
  }
  return {
    ok: differences.length === 0,
    version,
    differences,
    drift: differences.map((difference) => describeSchemaDifference(difference, "drift")),
  };
}

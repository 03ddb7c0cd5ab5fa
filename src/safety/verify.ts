/**
 * Drift detection: the live schema against a replay of the migrations the history says were applied.
 * A column added by hand, an index dropped to "fix" a slow write, a trigger edited in place: each
 * shows up as a difference with the object's name.
 */
import { StepwiseError } from "../core/errors.js";
import type { SyncMigrationManager } from "../core/manager.js";
import { begin, commit, exec, inTransaction, query, queryValue, rollbackQuietly, run, type Step } from "../core/step.js";
import { verifyHistoryOrThrow, type AppliedMigrationKey } from "../core/planner.js";
import { runSafetyNet, schemaReaderOf, type SafetyNetManager, type SchemaReader } from "./schema-reader.js";
import { describeSchemaDifference, diffSchemas, quoteIdentifier, type SchemaDifference, type SchemaSnapshot } from "./schema-snapshot.js";
import type { MigrationRegistry } from "../core/types.js";
import { PostgresHistoryStore } from "../core/dialects/postgres.js";
import { expectedSchemaTableName } from "../core/checksum-repair-log.js";

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
   * database (table `<tableName>_expected_schema`, see the cache's note below) so the next verify
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
/**
 * Handed a manager whose methods return promises (`stepwise-migrate/pg`, `stepwise-migrate/libsql-client`,
 * `AsyncMigrationManager`), a promise of the same result. On PostgreSQL the replay runs in a scratch
 * database created on the same server with a random name and dropped after, even when the replay
 * fails; it rejects with `SCRATCH_DATABASE_UNAVAILABLE` when the role may not create it (`CREATEDB`).
 * An `AsyncMigrationManager`'s async migrations replay on an in-memory copy.
 */
export function verifySchema<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options?: VerifySchemaOptions): Promise<SchemaVerification>;
export function verifySchema(manager: SafetyNetManager, options: VerifySchemaOptions = {}): SchemaVerification | Promise<SchemaVerification> {
  const verification = runSafetyNet(manager, () => verificationStep(manager, schemaReaderOf(manager, "verifySchema"), options));
  return verification instanceof Promise ? verification.then((found) => settleVerification(manager, found, options)) : settleVerification(manager, verification, options);
}

function verificationStep(manager: SafetyNetManager, reader: SchemaReader, options: VerifySchemaOptions): Step<SchemaVerification> {
  // A transaction: false migration another process is running shows as a started row: wait for it,
  // as up does, rather than report the half-applied schema as drift or the row as interrupted.
  return manager.executor.waitWhileAnotherProcessMigrates(() => compareWithReplay(manager, reader, options));
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

// ---------------------------------------------------------------------------------------------
// The expected schema, cached. Building it means replaying the applied migrations, data migrations
// and their seeds included: seconds for an app with a large seed, on every start-up. It only changes
// when the registry does, so it is kept in the database, beside the history, keyed by everything the
// replay's result depends on: each applied entry's version and checksum (and the flags that change how
// it runs), the history table's name, the SQLite version and the connection's foreign-key enforcement.
// The key is compared as written, never through a hash, so a cached schema is used only for exactly
// the registry and engine it was built for, and the live schema is always read and compared: drift is
// never cached, only the expectation.
//
// The table lives in the database, not in a file or the registry, so every SQLite driver (and a
// bundled app with no folder to write to) gets it without configuration, and the registry's bundle
// stays as small as before. Only a writer fills it: `migrate(db, migrations, { verifySchema })` at
// start-up (see `CACHE_OPTION`); `verifySchema` on its own only reads it, as it only ever read.

/** Bumped whenever {@link SchemaSnapshot} or the key changes shape, so an old row is never read as a new one. */
const CACHE_FORMAT = 1;

/**
 * The key of the schema migrations 1..`version` of `migrations` build on this connection: plain text,
 * compared whole. A registry edit changes a checksum, so it changes the key.
 */
function* readExpectedSchemaKey(migrations: MigrationRegistry, version: number, tableName: string): Step<string> {
  const sqliteVersion = yield* queryValue<string>("SELECT sqlite_version()");
  const foreignKeys = yield* queryValue<number>("PRAGMA foreign_keys");
  const entries = migrations
    .filter((entry) => entry.version <= version)
    .map((entry) => `${entry.version}:${entry.kind}:${entry.checksum}:${entry.transaction ? 1 : 0}${entry.disableForeignKeys ? 1 : 0}:${entry.dialect ?? "sqlite"}`);
  return JSON.stringify({ format: CACHE_FORMAT, sqliteVersion, foreignKeys, tableName, version, entries });
}

/** The cached schema for `key`, or `null`: no table, no row for this key, or a row that does not parse. */
function* readCachedExpectedSchema(tableName: string, key: string): Step<SchemaSnapshot | null> {
  const table = expectedSchemaTableName(tableName);
  const exists = yield* queryValue<number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [table]);
  if (!exists) return null;
  let rows: { snapshot: unknown }[];
  try {
    rows = yield* query<{ snapshot: unknown }>(`SELECT snapshot FROM ${quoteIdentifier(table)} WHERE cache_key = ?`, [key]);
  } catch {
    // A table of that name made by hand, with other columns: not ours to read.
    return null;
  }
  const text = rows[0]?.snapshot;
  if (typeof text !== "string") return null;
  try {
    const parsed = JSON.parse(text) as SchemaSnapshot;
    return Array.isArray(parsed.tables) && Array.isArray(parsed.indexes) && Array.isArray(parsed.triggers) && Array.isArray(parsed.views) ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * Stores `snapshot` as the one cached expected schema, replacing any other, in a write transaction of
 * its own. Never throws: the cache only saves time, so a connection that may not write (read-only,
 * `query_only`, locked) just leaves it empty.
 */
function* writeCachedExpectedSchema(tableName: string, key: string, version: number, snapshot: SchemaSnapshot): Step<boolean> {
  const table = quoteIdentifier(expectedSchemaTableName(tableName));
  try {
    yield* begin("immediate");
    yield* exec(`CREATE TABLE IF NOT EXISTS ${table} (cache_key TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, snapshot TEXT NOT NULL)`);
    yield* run(`DELETE FROM ${table}`);
    yield* run(`INSERT INTO ${table} (cache_key, version, snapshot) VALUES (?, ?, ?)`, [key, version, JSON.stringify(snapshot)]);
    yield* commit();
    return true;
  } catch {
    yield* rollbackQuietly();
    return false;
  }
}

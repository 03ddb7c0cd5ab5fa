/** Drift detection: the live schema against a replay of the migrations the history says were applied. */
import { PostgresHistoryStore } from "../core/dialects/postgres.js";
import { StepwiseError } from "../core/errors.js";
import { expectedSchemaTableName } from "../core/checksum-repair-log.js";
import { verifyHistoryOrThrow, type AppliedMigrationKey } from "../core/planner.js";
import { begin, exec, inTransaction, query, queryValue, rollbackQuietly, run, type Step } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import type { SyncMigrationManager } from "../core/manager.js";
import { inWriteTransaction, runSafetyNet, schemaReaderOf, type SafetyNetManager, type SchemaReader } from "./schema-reader.js";
import { describeDrift, diffSchemas, quoteIdentifier, type SchemaDifference, type SchemaSnapshot } from "./schema-snapshot.js";

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
   * On SQLite, store the expected schema a replay built (in `<tableName>_expected_schema`), so the next verify of the same registry skips the replay. A write, so off by default; `migrate(db,
   * migrations, { verifySchema })` turns it on. Stored only when the schema matched. Default `false`.
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
 * Compares the live schema with a replay of the applied migrations on an empty database, reporting
 * drift made by hand. Emits `verified` when the schema matches. Pass it to `migrate` as
 * `{ verifySchema }` to check at start-up.
 *
 * @example
 * const verification = verifySchema(manager);
 * if (!verification.ok) console.log(verification.drift.join("\n"));
 *
 * @throws `SCHEMA_DRIFT` on drift when `refuseDrift` is set; `UNMANAGED_DATABASE` when the database has
 *   tables but no history; the planner's refusals (checksum mismatch, database ahead...).
 */
export function verifySchema<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, options?: VerifySchemaOptions): SchemaVerification;
/**
 * Handed a manager whose methods return promises, a promise of the same result. On PostgreSQL the replay runs in a scratch database created on the same server and dropped after, even when the replay
 * fails (`SCRATCH_DATABASE_UNAVAILABLE` when the role may not create it).
 */
export function verifySchema<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options?: VerifySchemaOptions): Promise<SchemaVerification>;
export function verifySchema(manager: SafetyNetManager, options: VerifySchemaOptions = {}): SchemaVerification | Promise<SchemaVerification> {
  // A transaction: false migration another process is running is waited for, as up does, rather than reported as drift.
  const verification = runSafetyNet(manager, () => {
    const reader = schemaReaderOf(manager, "verifySchema");
    return manager.executor.waitWhileAnotherProcessMigrates(() => compareWithReplay(manager, reader, options));
  });
  const settle = (found: SchemaVerification) => {
    if (found.ok) manager.executor.emit({ type: "verified", version: found.version });
    else if (options.refuseDrift) throw schemaDriftError(found);
    return found;
  };
  return verification instanceof Promise ? verification.then(settle) : settle(verification);
}

function* compareWithReplay(manager: SafetyNetManager, reader: SchemaReader, options: VerifySchemaOptions): Step<SchemaVerification> {
  // The schema and the history from one read transaction, so a concurrent migration cannot look like
  // drift. Inside the app's own transaction its reads are used as they are, and it is left to the app.
  const ownTransaction = !(yield* inTransaction());
  if (ownTransaction) {
    yield* begin("deferred");
    yield* reader.holdSnapshot();
  }
  const cacheable = !(manager.executor.store instanceof PostgresHistoryStore);
  let live: SchemaSnapshot;
  let keys: AppliedMigrationKey[];
  let cacheKey: string | null = null;
  let cached: SchemaSnapshot | null = null;
  try {
    yield* manager.executor.refuseUnmanagedDatabase();
    live = yield* reader.read();
    keys = yield* manager.executor.store.readKeys();
    if (cacheable) {
      cacheKey = yield* readCacheKey(manager.migrations, verifyHistoryOrThrow(manager.migrations, keys), manager.tableName);
      cached = yield* readCachedSchema(manager.tableName, cacheKey);
    }
  } finally {
    if (ownTransaction) yield* rollbackQuietly();
  }
  const version = verifyHistoryOrThrow(manager.migrations, keys);
  const expected = cached ?? (yield* reader.replay(version));
  const differences = diffSchemas(expected, live);
  if (cached === null && cacheKey !== null && options.cacheExpectedSchema && ownTransaction && version > 0 && differences.length === 0) {
    yield* writeCachedSchema(manager.tableName, cacheKey, version, expected);
  }
  return { ok: differences.length === 0, version, differences, drift: describeDrift(differences) };
}

// The expected schema, cached on SQLite: a replay runs data migrations and their seeds too, seconds on
// every start for a large seed. It is keyed by everything the replay depends on (each applied entry's
// checksum and flags, the table, the SQLite version, foreign-key enforcement), compared as written, never
// hashed. Only the expectation is cached: the live schema is read and compared every time.

/** Bumped whenever {@link SchemaSnapshot} or the key changes shape. */
const CACHE_FORMAT = 2;

function* readCacheKey(migrations: MigrationRegistry, version: number, tableName: string): Step<string> {
  const sqliteVersion = yield* queryValue<string>("SELECT sqlite_version()");
  const foreignKeys = yield* queryValue<number>("PRAGMA foreign_keys");
  const entries = migrations
    .filter((entry) => entry.version <= version)
    .map((entry) => `${entry.version}:${entry.kind}:${entry.checksum}:${entry.transaction ? 1 : 0}${entry.disableForeignKeys ? 1 : 0}:${entry.dialect ?? "sqlite"}`);
  return JSON.stringify({ format: CACHE_FORMAT, sqliteVersion, foreignKeys, tableName, version, entries });
}

/** The cached schema for `key`, or `null`: no table, no row, a table made by hand, or a row that does not parse. */
function* readCachedSchema(tableName: string, key: string): Step<SchemaSnapshot | null> {
  const table = expectedSchemaTableName(tableName);
  if (!(yield* queryValue<number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [table]))) return null;
  try {
    const [row] = yield* query<{ snapshot: unknown }>(`SELECT snapshot FROM ${quoteIdentifier(table)} WHERE cache_key = ?`, [key]);
    const parsed = JSON.parse(String(row?.snapshot)) as SchemaSnapshot;
    return [parsed.tables, parsed.indexes, parsed.triggers, parsed.views].every(Array.isArray) ? parsed : null;
  } catch {
    return null;
  }
}

/** Stores `snapshot` as the one cached schema. Never throws: a connection that may not write just leaves the cache empty. */
function* writeCachedSchema(tableName: string, key: string, version: number, snapshot: SchemaSnapshot): Step<void> {
  const table = quoteIdentifier(expectedSchemaTableName(tableName));
  try {
    yield* inWriteTransaction(function* () {
      yield* exec(`CREATE TABLE IF NOT EXISTS ${table} (cache_key TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, snapshot TEXT NOT NULL)`);
      yield* run(`DELETE FROM ${table}`);
      yield* run(`INSERT INTO ${table} (cache_key, version, snapshot) VALUES (?, ?, ?)`, [key, version, JSON.stringify(snapshot)]);
    });
  } catch {
    // The cache only saves time.
  }
}

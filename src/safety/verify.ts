/** Drift detection: the live schema against a replay of the migrations the history says were applied. */
import { schemaDriftError } from "./errors.js";
import { expectedSchemaTableName } from "./checksum-repair-log.js";
import { verifyHistoryOrThrow } from "../core/planner.js";
import { begin, exec, inTransaction, query, queryValue, rollbackQuietly, run, type Step } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import type { SyncMigrationManager } from "../core/manager.js";
import { inWriteTransaction, postgresSchemaOf, readSchemaOf, replaySchema, requireReplay, runSafetyNet, type SafetyNetManager, booleanOption, requireManager } from "./schema-reader.js";
import { quoteIdentifier } from "../core/batch-walk.js";
import { describeDrift, diffSchemas, type SchemaSnapshot } from "./schema-snapshot.js";
import type { SchemaDifference } from "../core/errors.js";
import { optionsObject } from "../core/options.js";

/** What {@link verifySchema} found. Plain data. */
export interface SchemaVerification {
  /** True when the live schema is exactly what the applied migrations build. */
  readonly ok: boolean;
  /** The applied version the schema was compared against. */
  readonly version: number;
  /** From the migrations' schema to the live one: `added` exists only in the live database. */
  readonly differences: readonly SchemaDifference[];
  /** One sentence per difference: "index idx_x missing". */
  readonly drift: readonly string[];
}

/** Options for {@link verifySchema}. */
export interface VerifySchemaOptions {
  /** Throw `SCHEMA_DRIFT` on any difference instead of returning it. Default `false`. */
  readonly refuseDrift?: boolean;
  /** On SQLite, store the expected schema a replay built (in `<tableName>_expected_schema`, only when it matched) so the next verify skips the replay. Default `false`. */
  readonly cacheExpectedSchema?: boolean;
}

/**
 * Compares the live schema with a replay of the applied migrations on an empty database, reporting drift made by hand. Emits `verified` when the schema matches.
 *
 * @example
 * const verification = verifySchema(manager);
 * if (!verification.ok) console.log(verification.drift.join("\n"));
 *
 * @throws `SCHEMA_DRIFT` on drift when `refuseDrift` is set; `UNMANAGED_DATABASE` when the database has tables but no history; the planner's refusals (checksum mismatch, database ahead...).
 */
export function verifySchema<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, options?: VerifySchemaOptions): SchemaVerification;
/** Handed a manager whose methods return promises, a promise of the same result. On PostgreSQL the replay runs in a scratch database of the same server (`SCRATCH_DATABASE_UNAVAILABLE`). */
export function verifySchema<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options?: VerifySchemaOptions): Promise<SchemaVerification>;
export function verifySchema(manager: SafetyNetManager, options: VerifySchemaOptions = {}): SchemaVerification | Promise<SchemaVerification> {
  requireManager(manager, "verifySchema");
  // A transaction: false migration another process is running is waited for, not reported as drift.
  const verification = runSafetyNet(manager, () => {
    requireReplay(manager, "verifySchema");
    for (const name of ["refuseDrift", "cacheExpectedSchema"] as const) booleanOption(optionsObject(options, "verifySchema", ["refuseDrift", "cacheExpectedSchema"])[name], name, "verifySchema");
    return manager.executor.waitWhileAnotherProcessMigrates(() => compareWithReplay(manager, options));
  });
  const settle = (found: SchemaVerification) => {
    if (found.ok) manager.executor.emit({ type: "verified", version: found.version });
    else if (options.refuseDrift) throw schemaDriftError(found);
    return found;
  };
  return verification instanceof Promise ? verification.then(settle) : settle(verification);
}

function* compareWithReplay(manager: SafetyNetManager, options: VerifySchemaOptions): Step<SchemaVerification> {
  const { executor, migrations, tableName } = manager;
  // The schema and the history from one read snapshot (REPEATABLE READ on PostgreSQL), so a concurrent migration cannot look like drift.
  const ownTransaction = !(yield* inTransaction());
  const cacheable = postgresSchemaOf(manager) === undefined;
  if (ownTransaction) yield* begin("deferred");
  if (ownTransaction && !cacheable) yield* exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  let read: { live: SchemaSnapshot; version: number; cache: { key: string; snapshot: SchemaSnapshot | null } | null };
  try {
    // The history first: a view or a foreign table of its name is HISTORY_TABLE_INVALID, as every other command says, before tables without a history are UNMANAGED_DATABASE.
    const keys = yield* executor.store.readKeys();
    yield* executor.refuseUnmanagedDatabase();
    const live = yield* readSchemaOf(manager);
    const version = verifyHistoryOrThrow(migrations, keys);
    read = { live, version, cache: cacheable ? yield* readCache(migrations, version, tableName) : null };
  } finally {
    if (ownTransaction) yield* rollbackQuietly();
  }
  const { live, version, cache } = read;
  const expected = cache?.snapshot ?? (yield* replaySchema(manager, version));
  const differences = diffSchemas(expected, live);
  if (cache && !cache.snapshot && options.cacheExpectedSchema && ownTransaction && version > 0 && differences.length === 0) yield* writeCache(tableName, cache.key, version, expected);
  return { ok: differences.length === 0, version, differences, drift: describeDrift(differences) };
}

/** Bumped whenever {@link SchemaSnapshot} or the cache key changes shape. */
const CACHE_FORMAT = 3;

/** The cache key (everything a replay depends on, compared as written) and the schema stored under it, or `null`. */
function* readCache(migrations: MigrationRegistry, version: number, tableName: string): Step<{ key: string; snapshot: SchemaSnapshot | null }> {
  const entries = migrations
    .filter((entry) => entry.version <= version)
    .map((entry) => `${entry.version}:${entry.kind}:${entry.checksum}:${entry.transaction ? 1 : 0}${entry.disableForeignKeys ? 1 : 0}:${entry.dialect ?? "sqlite"}`);
  const [sqliteVersion, foreignKeys] = [yield* queryValue<string>("SELECT sqlite_version()"), yield* queryValue<number>("PRAGMA foreign_keys")];
  const key = JSON.stringify({ format: CACHE_FORMAT, sqliteVersion, foreignKeys, tableName, version, entries });
  const table = expectedSchemaTableName(tableName);
  if (!(yield* queryValue<number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [table]))) return { key, snapshot: null };
  try {
    // main's, as the check above read it, not a temporary table of the same name a migration left on the connection.
    const [row] = yield* query<{ snapshot: unknown }>(`SELECT snapshot FROM main.${quoteIdentifier(table)} WHERE cache_key = ?`, [key]);
    const parsed = JSON.parse(String(row?.snapshot)) as SchemaSnapshot;
    return { key, snapshot: [parsed.tables, parsed.indexes, parsed.triggers, parsed.views].every(Array.isArray) ? parsed : null };
  } catch {
    return { key, snapshot: null };
  }
}

/** Stores `snapshot` as the one cached schema. Never throws: the cache only saves time. */
function* writeCache(tableName: string, key: string, version: number, snapshot: SchemaSnapshot): Step<void> {
  const table = `main.${quoteIdentifier(expectedSchemaTableName(tableName))}`;
  try {
    yield* inWriteTransaction(function* () {
      yield* exec(`CREATE TABLE IF NOT EXISTS ${table} (cache_key TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, snapshot TEXT NOT NULL)`);
      yield* run(`DELETE FROM ${table}`);
      yield* run(`INSERT INTO ${table} (cache_key, version, snapshot) VALUES (?, ?, ?)`, [key, version, JSON.stringify(snapshot)]);
    });
  } catch {
    // A connection that may not write leaves the cache empty.
  }
}

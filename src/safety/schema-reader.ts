/** What the nets share: running a net's step on either runner, and reading a schema, live or as migrations 1..N build it on a scratch database. */
import { stepwiseTableNames } from "./checksum-repair-log.js";
import { ADOPTED_SUFFIX, copyFailure, firstLineOf, usageError } from "../core/error-factories.js";
import { COLLATE_C, CONCAT, EQ, GT, NE, PostgresHistoryStore, TEXT } from "../core/dialects/postgres.js";
import { driverCapabilityError, type Driver, type ScratchDatabase } from "../core/driver.js";
import { Executor, type ExecutorSettings } from "../core/executor.js";
import type { DriverIdentity, MigrationManagerBase } from "../core/manager-base.js";
import { SyncMigrationManager } from "../core/manager.js";
import { runAsync, runSync } from "../core/runners.js";
import { begin, commit, exec, query, queryValue, rollbackQuietly, run, type Step } from "../core/step.js";
import { StepwiseError } from "../core/errors.js";
import { refuseOpenTransaction } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import { planUp, type MigrationPlan } from "../core/planner.js";
import { openContainedCopy } from "./contained-copy.js";
import { countRows, readSchema, type ReadSchemaOptions, type SchemaSnapshot, type SqlObjectSnapshot, type TableSnapshot } from "./schema-snapshot.js";
import { optionsObject } from "../core/options.js";
import { describeOption } from "../core/error-factories.js";

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

/**
 * `USAGE` unless `value` is a migration manager: handed the app's connection itself (a likely slip, since `migrate` takes one), a net would fail as a bare `TypeError` on a field the
 * connection lacks. `alsoDriver` accepts a manager's driver, as the backup nets do.
 */
export function requireManager(value: unknown, operation: string, alsoDriver = false): void {
  const candidate = value as { run?: unknown; executor?: unknown; driver?: unknown; capabilities?: unknown; name?: unknown } | null | undefined;
  const isManager = typeof candidate?.run === "function" && typeof candidate.executor === "object" && typeof candidate.driver === "object";
  const isDriverShape = (driver: unknown) => typeof (driver as { name?: unknown } | null)?.name === "string" && typeof (driver as { capabilities?: unknown }).capabilities === "object";
  // A driver, or anything that carries one (a manager of another copy of the package).
  const isDriver = alsoDriver && (isDriverShape(candidate) || isDriverShape(candidate?.driver));
  if (isManager || isDriver) return;
  throw usageError(
    `${operation} takes the app's migration manager (new MigrationManager(db, migrations), from its driver's entry)${alsoDriver ? " or its driver" : ""}; it was given ${value !== null && typeof value === "object" ? "another object (the connection itself?)" : describeOption(value)}. Nothing was read or written.`,
  );
}

/** What `up` would run, once no other process still runs a `transaction: false` migration (waited for within the busy timeout, as `up` waits): planning alone would call it interrupted. */
export function* planUpOnceNoneRuns(manager: SafetyNetManager, to: number | undefined): Step<MigrationPlan> {
  const { executor } = manager;
  return yield* executor.waitWhileAnotherProcessMigrates(function* () {
    return planUp(manager.migrations, yield* executor.readKeys(), to === undefined ? {} : { to });
  });
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
  requireManager(manager, "readSchemaSnapshot");
  const read = function* (): Step<SchemaSnapshot> {
    return yield* readSchemaOf(manager, optionsObject(options, "readSchemaSnapshot", ["excludeTables"]));
  };
  return manager.run(read()) as SchemaSnapshot | Promise<SchemaSnapshot>;
}

/** The PostgreSQL schema the manager's history table lives in; `undefined` on SQLite. */
export function postgresSchemaOf(manager: SafetyNetManager): string | undefined {
  const store = manager.executor.store;
  return store instanceof PostgresHistoryStore ? store.schema : undefined;
}

/** The manager's whole schema, {@link RelationSetting.operational | operational} settings included: what a squash must build, and its proof compare. */
export function readFullSchemaOf(manager: SafetyNetManager): Step<SchemaSnapshot> {
  return readSchemaOf(manager, undefined, undefined, true);
}

/**
 * The manager's schema, by default without stepwise's own tables (an index or trigger made on them is kept, as drift) nor those of the tool `stepwise adopt` adopted the database from (`foreign`,
 * else its record), with what is on them.
 */
export function* readSchemaOf(manager: SafetyNetManager, options?: ReadSchemaOptions, foreign?: readonly string[], operational = false): Step<SchemaSnapshot> {
  const schema = postgresSchemaOf(manager);
  foreign ??= options ? [] : yield* readAdoptedTables(manager);
  const excludeTables = [...(options?.excludeTables ?? stepwiseTableNames(manager.tableName)), ...foreign];
  const snapshot = schema === undefined ? yield* readSchema({ excludeTables }) : yield* readPostgresSchema(schema, excludeTables, operational);
  if (foreign.length === 0) return snapshot;
  // SQLite's names match whatever their case; PostgreSQL's as the catalog holds them.
  const key = (table: string) => (schema === undefined ? table.toLowerCase() : table);
  const theirs = new Set(foreign.map(key));
  const mine = (object: SqlObjectSnapshot) => !theirs.has(key(object.table));
  // A serial or identity id (Knex's, node-pg-migrate's, goose's) owns a sequence, which goes with its table.
  return { ...snapshot, indexes: snapshot.indexes.filter(mine), triggers: snapshot.triggers.filter(mine), ...(snapshot.sequences && { sequences: snapshot.sequences.filter(mine) }) };
}

/** Every table an adopted tool keeps its history in: its history table, and the lock table beside it (Knex's `<table>_lock`; Kysely's is `kysely_migration_lock` whatever its history table's name). */
export function adoptedTablesOf(tool: string, table: string): string[] {
  return tool === "knex" ? [table, `${table}_lock`] : tool === "kysely" ? [table, "kysely_migration_lock"] : [table];
}

/**
 * The old tool's tables, by name, that `stepwise adopt` or `baseline --old-table` kept in the manager's schema (a drizzle table in schema `drizzle` is not in it); none when nothing was recorded or
 * they were dropped.
 */
function* readAdoptedTables(manager: SafetyNetManager): Step<string[]> {
  const store = manager.executor.store;
  if (!(yield* store.companionExists(ADOPTED_SUFFIX))) return [];
  const rows = yield* query<{ tool: string; old_table: string; old_schema: string | null; dropped: number | boolean }>(
    `SELECT tool, old_table, old_schema, dropped FROM ${store.companionTable(ADOPTED_SUFFIX)}`,
  );
  // A dropped table is ignored no more: one of that name made later is drift.
  return rows.filter((row) => !Number(row.dropped) && (row.old_schema ?? undefined) === postgresSchemaOf(manager)).flatMap((row) => adoptedTablesOf(row.tool, row.old_table));
}

/** An old table (or history file) an adoption record names; `dropped` once it is gone. */
type AdoptedTable = { readonly table: string; readonly schema: string | undefined; readonly dropped: boolean };

/**
 * Writes the record of an adoption beside stepwise's history, one row per old table, which later runs, `verify` and `baseline` read: by `stepwise adopt` (the tool's history table, or its
 * history file, marked dropped), or by `baseline --old-table` (tool `baseline`).
 */
export function* writeAdoptionRecord(manager: SafetyNetManager, tool: string, version: number, tables: readonly AdoptedTable[]): Step<void> {
  const store = manager.executor.store;
  const record = store.companionTable(ADOPTED_SUFFIX);
  yield* exec(
    `CREATE TABLE ${record} (tool ${store.textType} NOT NULL, old_table ${store.textType} NOT NULL, old_schema ${store.textType}, version BIGINT NOT NULL, dropped INTEGER NOT NULL, adopted_at ${store.textType} NOT NULL)`,
  );
  const adoptedAt = new Date().toISOString();
  for (const { table, schema, dropped } of tables) {
    yield* run(`INSERT INTO ${record} (tool, old_table, old_schema, version, dropped, adopted_at) VALUES (?, ?, ?, ?, ?, ?)`, [tool, table, schema ?? null, version, dropped ? 1 : 0, adoptedAt]);
  }
}

/** Whether `table` exists (in `schema` on PostgreSQL, where names match as written; on SQLite whatever their case). */
export function* tableExists(schema: string | undefined, table: string): Step<boolean> {
  const count =
    schema === undefined
      ? yield* queryValue<number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", [table])
      : yield* queryValue<number | string>(`SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname ${EQ} ? AND tablename ${EQ} ?`, [schema, table]);
  return Number(count) > 0;
}

/** The manager's whole schema (partitions and operational settings too: a rehearsal reports what its migrations make) with its rows per table. */
export function* observeSchema(manager: SafetyNetManager): Step<{ readonly schema: SchemaSnapshot; readonly rows: Readonly<Record<string, number>> }> {
  const schema = yield* readFullSchemaOf(manager);
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

/** A migration's failure in the scratch database, which is dropped: a `transaction: false` one left nothing either, so its fix is not a repair of the database checked. */
function fromScratch(error: unknown): unknown {
  return error instanceof StepwiseError && error.is("MIGRATION_FAILED") ? copyFailure(error, { rolledBack: true, replayed: true, sequencesSet: [] }) : error;
}

/** Migrations 1..`version` applied to a contained in-memory copy, and its schema. */
function replaySync(manager: SyncMigrationManager<unknown, MigrationRegistry>, version: number): SchemaSnapshot {
  const scratch = openContainedCopy(manager.driver, new Uint8Array(0));
  try {
    if (version > 0) runSync(executorOn(manager, scratch).up({ to: version }), scratch);
    return runSync(readSchemaOf(manager), scratch);
  } catch (error) {
    throw fromScratch(error);
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
    const schema = postgresSchemaOf(manager);
    if (schema !== undefined) await runAsync(refuseEmptyComparison(schema, stepwiseTableNames(manager.tableName)), scratch.driver);
    snapshot = await runAsync(readSchemaOf(manager), scratch.driver);
  } catch (error) {
    await scratch.drop().catch(() => undefined);
    throw schemaMissingInScratch(postgresSchemaOf(manager), error) ?? fromScratch(error);
  }
  await scratch.drop();
  return snapshot;
}

/** What keeps verify and baseline comparing the schema the migrations build in, `schema` being the history table's. */
const keepHistoryBeside = (schema: string) =>
  `Keep the history in the schema the migrations build in (the "schema" option; stepwise then makes that schema before migration 1, so a migration that makes it must say CREATE SCHEMA IF NOT EXISTS), or have them build in ${schema}: names left unqualified, with the connection's search_path set to it (as the CLI's --schema does).`;

/**
 * A replay failure on PostgreSQL for want of a schema (SQLSTATE 3F000: a search_path naming none that exists, a name qualified with one) as `USAGE`: the scratch database holds
 * only `schema`, the history table's, so the migrations build elsewhere on the live database, which is no fault of theirs; `null` for any other failure.
 */
function schemaMissingInScratch(schema: string | undefined, error: unknown): StepwiseError | null {
  if (schema === undefined || !(error instanceof StepwiseError && error.is("MIGRATION_FAILED")) || error.nativeCode !== "3F000") return null;
  return usageError(
    `Migration ${error.details.version} (${error.details.file}) needs a schema the scratch database that verify and baseline replay in does not have (${firstLineOf(error.cause)}): stepwise makes only ${schema} there, the history table's schema, which is all they compare, so the migrations build in another schema. Nothing was changed. ${keepHistoryBeside(schema)}`,
  );
}

/**
 * Refuses a comparison of nothing: the safety nets compare the history table's schema (`schema`, holding `own` tables), so migrations that built only in other schemas (the
 * session's `public` beside a history moved with `--schema`) would pass any database, and let `baseline` record one that holds none of them.
 */
function* refuseEmptyComparison(schema: string, own: readonly string[]): Step<void> {
  const [row] = yield* query<{ here: number; elsewhere: string | null }>(
    `SELECT count(*) FILTER (WHERE n.nspname ${EQ} ? AND NOT (c.relname::${TEXT} = ANY (?::${TEXT}[])))::int AS here, ` +
      `pg_catalog.string_agg(DISTINCT n.nspname::${TEXT}, ', ') FILTER (WHERE n.nspname ${NE} ?) AS elsewhere ` +
      `FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace ` +
      `WHERE n.nspname !~ '^pg_' AND n.nspname ${NE} 'information_schema' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')`,
    [schema, own, schema],
  );
  if (row === undefined || row.here > 0 || row.elsewhere === null) return;
  throw usageError(
    `The migrations build in ${row.elsewhere} and nothing in ${schema}, the history table's schema, which is all verify and baseline compare. Nothing was changed. ${keepHistoryBeside(schema)}`,
  );
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

// PostgreSQL's schema, read from `pg_catalog` in one schema without what an extension owns; its deparsers (`pg_get_*def`) print one canonical text per meaning.

/** A catalog row an extension did not create (the extension's own `CREATE EXTENSION` brings it back). */
export const NOT_FROM_EXTENSION = (oid: string) => `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS e WHERE e.objid ${EQ} ${oid} AND e.deptype ${EQ} 'e')`;
/** Restricts a catalog query to the schema passed as its `?`. */
export const IN_SCHEMA = (namespace: string) => `JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} ${namespace} WHERE n.nspname ${EQ} ?`;
const TABLE_KINDS = `(c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'p')`;

/**
 * `persistence`: `p` permanent, `u` unlogged. `parents`: the tables it inherits from, in their order (a partition's one parent); `bound`: a partition's `FOR VALUES`
 * clause. A partition detached by hand (or attached for other values), or a child taken out of its parent's inheritance, keeps its columns, so only these tell it.
 */
type TableRow = { name: string; persistence: string; rowSecurity: boolean; partitionKey: string | null; parents: string | null; bound: string | null };
const TABLES_SQL = `SELECT c.relname::${TEXT} AS name, c.relpersistence::${TEXT} AS persistence, c.relrowsecurity AS "rowSecurity", pg_catalog.pg_get_partkeydef(c.oid) AS "partitionKey",
       (SELECT pg_catalog.string_agg(pc.relname::${TEXT}, ', ' ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS pc ON pc.oid ${EQ} i.inhparent WHERE i.inhrelid ${EQ} c.oid) AS parents,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound
  FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")} AND ${TABLE_KINDS} AND ${NOT_FROM_EXTENSION("c.oid")} ORDER BY c.relname ${COLLATE_C}`;

/** `expression`: the default or a generated column's; `identity`: `a`, `d` or `""`; `generated`: `s`, `v` or `""`; `collation` when not the type's default. */
type ColumnRow = { table: string; name: string; type: string; notNull: boolean; expression: string | null; identity: string; generated: string; collation: string | null };
const COLUMNS_SQL = `SELECT c.relname::${TEXT} AS "table", a.attname::${TEXT} AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
       pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) AS expression, a.attidentity::${TEXT} AS identity, a.attgenerated::${TEXT} AS generated,
       CASE WHEN a.attcollation ${NE} t.typcollation THEN co.collname::${TEXT} END AS collation
  FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} a.attrelid JOIN pg_catalog.pg_type AS t ON t.oid ${EQ} a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid ${EQ} a.attrelid AND d.adnum ${EQ} a.attnum LEFT JOIN pg_catalog.pg_collation AS co ON co.oid ${EQ} a.attcollation
  ${IN_SCHEMA("c.relnamespace")} AND ${TABLE_KINDS} AND a.attnum ${GT} 0 AND NOT a.attisdropped ORDER BY c.relname ${COLLATE_C}, a.attnum`;

/** `type`: `p`, `f`, `u`, `c`, `x`, `n` (NOT NULL, PostgreSQL 18), `t`; `onUpdate`/`onDelete`: `a`, `r`, `c`, `n`, `d`. */
type ConstraintRow = {
  table: string;
  name: string;
  type: string;
  definition: string;
  columns: string[];
  referencedTable: string | null;
  referencedColumns: string[];
  onUpdate: string;
  onDelete: string;
};
/** A constraint's column numbers as their names, in the constraint's order. */
const columnsOf = (relation: string, numbers: string) =>
  `pg_catalog.to_json(ARRAY(SELECT a.attname::${TEXT} FROM pg_catalog.unnest(${numbers}) WITH ORDINALITY AS u(num, i) JOIN pg_catalog.pg_attribute AS a ON a.attrelid ${EQ} ${relation} AND a.attnum ${EQ} u.num ORDER BY u.i))`;
const CONSTRAINTS_SQL = `SELECT c.relname::${TEXT} AS "table", k.conname::${TEXT} AS name, k.contype::${TEXT} AS type, pg_catalog.pg_get_constraintdef(k.oid, true) AS definition,
       ${columnsOf("k.conrelid", "k.conkey")} AS columns, fc.relname::${TEXT} AS "referencedTable", ${columnsOf("k.confrelid", "k.confkey")} AS "referencedColumns",
       k.confupdtype::${TEXT} AS "onUpdate", k.confdeltype::${TEXT} AS "onDelete"
  FROM pg_catalog.pg_constraint AS k JOIN pg_catalog.pg_class AS c ON c.oid ${EQ} k.conrelid LEFT JOIN pg_catalog.pg_class AS fc ON fc.oid ${EQ} k.confrelid
  ${IN_SCHEMA("c.relnamespace")} AND ${TABLE_KINDS} ORDER BY c.relname ${COLLATE_C}, k.conname ${COLLATE_C}`;

/** `column`, a function's oid, as the function with its argument types; `-` for none. */
const FUNCTION_OF = (column: string) => `${column}::pg_catalog.regprocedure::${TEXT}`;
/** An aggregate's `CREATE AGGREGATE` options as the catalog holds them (a function or type it lacks reads `-`): pg_get_functiondef refuses an aggregate. */
const AGGREGATE_DEFINITION = Object.entries({
  SFUNC: FUNCTION_OF("a.aggtransfn"),
  STYPE: "pg_catalog.format_type(a.aggtranstype, NULL)",
  SSPACE: `a.aggtransspace::${TEXT}`,
  FINALFUNC: FUNCTION_OF("a.aggfinalfn"),
  FINALFUNC_EXTRA: `a.aggfinalextra::${TEXT}`,
  COMBINEFUNC: FUNCTION_OF("a.aggcombinefn"),
  SERIALFUNC: FUNCTION_OF("a.aggserialfn"),
  DESERIALFUNC: FUNCTION_OF("a.aggdeserialfn"),
  INITCOND: "coalesce(pg_catalog.quote_literal(a.agginitval), '-')",
  MSFUNC: FUNCTION_OF("a.aggmtransfn"),
  MINVFUNC: FUNCTION_OF("a.aggminvtransfn"),
  MSTYPE: "pg_catalog.format_type(a.aggmtranstype, NULL)",
  MSSPACE: `a.aggmtransspace::${TEXT}`,
  MFINALFUNC: FUNCTION_OF("a.aggmfinalfn"),
  MFINALFUNC_EXTRA: `a.aggmfinalextra::${TEXT}`,
  MINITCOND: "coalesce(pg_catalog.quote_literal(a.aggminitval), '-')",
  SORTOP: `a.aggsortop::pg_catalog.regoperator::${TEXT}`,
  KIND: `a.aggkind::${TEXT}`,
  PARALLEL: `p.proparallel::${TEXT}`,
})
  .map(([option, value]) => `'${option} = ' ${CONCAT} ${value}`)
  .join(` ${CONCAT} ', ' ${CONCAT} `);
/** An operator's operand type, `NONE` for a prefix operator's left one. */
const OPERAND = (column: string) => `CASE WHEN ${column} ${EQ} 0 THEN 'NONE' ELSE pg_catalog.format_type(${column}, NULL) END`;

/**
 * Each kind of object compared by its definition: indexes that back no constraint, triggers named `<table>.<trigger>`, views, sequences (never their value), functions, aggregates and
 * operators with their argument types, enum, domain, composite and range types. What is part of another object (a range's constructors) goes with it.
 */
const OBJECTS_SQL = {
  indexes: `SELECT ic.relname::${TEXT} AS name, tc.relname::${TEXT} AS "table", pg_catalog.pg_get_indexdef(i.indexrelid) ${CONCAT} CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END AS sql
  FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
  ${IN_SCHEMA("ic.relnamespace")} AND ${NOT_FROM_EXTENSION("i.indexrelid")}
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k WHERE k.conindid ${EQ} i.indexrelid AND k.conrelid ${EQ} i.indrelid) ORDER BY ic.relname ${COLLATE_C}`,
  triggers: `SELECT tc.relname::${TEXT} ${CONCAT} '.' ${CONCAT} t.tgname::${TEXT} AS name, tc.relname::${TEXT} AS "table",
       pg_catalog.pg_get_triggerdef(t.oid, true) ${CONCAT} CASE WHEN t.tgenabled ${EQ} 'D' THEN ' (DISABLED)' WHEN t.tgenabled ${EQ} 'R' THEN ' (ENABLE REPLICA)' WHEN t.tgenabled ${EQ} 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END AS sql
  FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} t.tgrelid ${IN_SCHEMA("tc.relnamespace")} AND NOT t.tgisinternal ORDER BY tc.relname ${COLLATE_C}, t.tgname ${COLLATE_C}`,
  views: `SELECT c.relname::${TEXT} AS name, c.relname::${TEXT} AS "table", CASE WHEN c.relkind ${EQ} 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END ${CONCAT} ' AS ' ${CONCAT} pg_catalog.pg_get_viewdef(c.oid, true) AS sql
  FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")} AND (c.relkind ${EQ} 'v' OR c.relkind ${EQ} 'm') AND ${NOT_FROM_EXTENSION("c.oid")} ORDER BY c.relname ${COLLATE_C}`,
  sequences: `SELECT c.relname::${TEXT} AS name, coalesce(owner.tbl, c.relname::${TEXT}) AS "table",
       CASE WHEN c.relpersistence ${EQ} 'u' THEN 'UNLOGGED ' ELSE '' END ${CONCAT} 'SEQUENCE AS ' ${CONCAT} pg_catalog.format_type(s.seqtypid, NULL) ${CONCAT} ' INCREMENT ' ${CONCAT} s.seqincrement ${CONCAT} ' MINVALUE ' ${CONCAT} s.seqmin ${CONCAT} ' MAXVALUE ' ${CONCAT} s.seqmax ${CONCAT}
       ' START ' ${CONCAT} s.seqstart ${CONCAT} ' CACHE ' ${CONCAT} s.seqcache ${CONCAT} CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END ${CONCAT} coalesce(' OWNED BY ' ${CONCAT} owner.tbl ${CONCAT} '.' ${CONCAT} owner.col, '') AS sql
  FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_sequence AS s ON s.seqrelid ${EQ} c.oid
  LEFT JOIN LATERAL (SELECT tc.relname::${TEXT} AS tbl, a.attname::${TEXT} AS col FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} d.refobjid
       JOIN pg_catalog.pg_attribute AS a ON a.attrelid ${EQ} d.refobjid AND a.attnum ${EQ} d.refobjsubid
      WHERE d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid ${EQ} c.oid AND (d.deptype ${EQ} 'a' OR d.deptype ${EQ} 'i') LIMIT 1) AS owner ON true
  ${IN_SCHEMA("c.relnamespace")} AND c.relkind ${EQ} 'S' AND ${NOT_FROM_EXTENSION("c.oid")} ORDER BY c.relname ${COLLATE_C}`,
  functions: `SELECT p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS name,
       p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS "table", pg_catalog.pg_get_functiondef(p.oid) AS sql
  FROM pg_catalog.pg_proc AS p ${IN_SCHEMA("p.pronamespace")} AND (p.prokind ${EQ} 'f' OR p.prokind ${EQ} 'p' OR p.prokind ${EQ} 'w') AND ${NOT_FROM_EXTENSION("p.oid")}
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.classid ${EQ} 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid ${EQ} p.oid AND d.deptype ${EQ} 'i')
  ORDER BY p.proname ${COLLATE_C}, pg_catalog.pg_get_function_identity_arguments(p.oid) ${COLLATE_C}`,
  // Aggregates and operators are found by their dependency on the schema, through pg_depend's index (neither pg_proc nor pg_operator has one on the schema): not a scan per kind.
  aggregates: `SELECT p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS name,
       p.proname::${TEXT} ${CONCAT} '(' ${CONCAT} pg_catalog.pg_get_function_identity_arguments(p.oid) ${CONCAT} ')' AS "table", ${AGGREGATE_DEFINITION} AS sql
  FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_proc AS p ON p.oid ${EQ} d.objid JOIN pg_catalog.pg_aggregate AS a ON a.aggfnoid ${EQ} p.oid ${IN_SCHEMA("d.refobjid")}
   AND d.refclassid ${EQ} 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.classid ${EQ} 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype ${EQ} 'n' AND ${NOT_FROM_EXTENSION("p.oid")}
  ORDER BY p.proname ${COLLATE_C}, pg_catalog.pg_get_function_identity_arguments(p.oid) ${COLLATE_C}`,
  operators: `SELECT o.oprname::${TEXT} ${CONCAT} '(' ${CONCAT} ${OPERAND("o.oprleft")} ${CONCAT} ', ' ${CONCAT} ${OPERAND("o.oprright")} ${CONCAT} ')' AS name,
       o.oprname::${TEXT} ${CONCAT} '(' ${CONCAT} ${OPERAND("o.oprleft")} ${CONCAT} ', ' ${CONCAT} ${OPERAND("o.oprright")} ${CONCAT} ')' AS "table",
       'FUNCTION = ' ${CONCAT} ${FUNCTION_OF("o.oprcode")} ${CONCAT} ', COMMUTATOR = ' ${CONCAT} o.oprcom::pg_catalog.regoperator::${TEXT} ${CONCAT} ', NEGATOR = ' ${CONCAT} o.oprnegate::pg_catalog.regoperator::${TEXT} ${CONCAT}
       ', RESTRICT = ' ${CONCAT} ${FUNCTION_OF("o.oprrest")} ${CONCAT} ', JOIN = ' ${CONCAT} ${FUNCTION_OF("o.oprjoin")} ${CONCAT} ', HASHES = ' ${CONCAT} o.oprcanhash::${TEXT} ${CONCAT} ', MERGES = ' ${CONCAT} o.oprcanmerge::${TEXT} AS sql
  FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_operator AS o ON o.oid ${EQ} d.objid ${IN_SCHEMA("d.refobjid")}
   AND d.refclassid ${EQ} 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.classid ${EQ} 'pg_catalog.pg_operator'::pg_catalog.regclass AND d.deptype ${EQ} 'n' AND ${NOT_FROM_EXTENSION("o.oid")}
  ORDER BY o.oprname ${COLLATE_C}, ${OPERAND("o.oprleft")} ${COLLATE_C}, ${OPERAND("o.oprright")} ${COLLATE_C}`,
  types: `SELECT t.typname::${TEXT} AS name, t.typname::${TEXT} AS "table", CASE
         WHEN t.typtype ${EQ} 'e' THEN 'ENUM (' ${CONCAT} coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum AS e WHERE e.enumtypid ${EQ} t.oid), '') ${CONCAT} ')'
         WHEN t.typtype ${EQ} 'c' THEN 'AS (' ${CONCAT} coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) ${CONCAT} ' ' ${CONCAT} pg_catalog.format_type(a.atttypid, a.atttypmod) ${CONCAT}
                CASE WHEN a.attcollation ${NE} (SELECT b.typcollation FROM pg_catalog.pg_type AS b WHERE b.oid ${EQ} a.atttypid) THEN ' COLLATE ' ${CONCAT} pg_catalog.quote_ident(co.collname) ELSE '' END, ', ' ORDER BY a.attnum)
              FROM pg_catalog.pg_attribute AS a LEFT JOIN pg_catalog.pg_collation AS co ON co.oid ${EQ} a.attcollation
             WHERE a.attrelid ${EQ} t.typrelid AND a.attnum ${GT} 0 AND NOT a.attisdropped), '') ${CONCAT} ')'
         WHEN t.typtype ${EQ} 'r' THEN (SELECT 'RANGE (SUBTYPE = ' ${CONCAT} pg_catalog.format_type(r.rngsubtype, NULL) ${CONCAT} ', SUBTYPE_OPCLASS = ' ${CONCAT} pg_catalog.quote_ident(oc.opcname) ${CONCAT}
              coalesce(', COLLATION = ' ${CONCAT} pg_catalog.quote_ident(co.collname), '') ${CONCAT} ', CANONICAL = ' ${CONCAT} ${FUNCTION_OF("r.rngcanonical")} ${CONCAT} ', SUBTYPE_DIFF = ' ${CONCAT} ${FUNCTION_OF("r.rngsubdiff")} ${CONCAT} ')'
              FROM pg_catalog.pg_range AS r JOIN pg_catalog.pg_opclass AS oc ON oc.oid ${EQ} r.rngsubopc LEFT JOIN pg_catalog.pg_collation AS co ON co.oid ${EQ} r.rngcollation WHERE r.rngtypid ${EQ} t.oid)
         ELSE 'DOMAIN AS ' ${CONCAT} pg_catalog.format_type(t.typbasetype, t.typtypmod) ${CONCAT}
              coalesce((SELECT ' COLLATE ' ${CONCAT} pg_catalog.quote_ident(co.collname) FROM pg_catalog.pg_collation AS co JOIN pg_catalog.pg_type AS b ON b.oid ${EQ} t.typbasetype
                         WHERE co.oid ${EQ} t.typcollation AND t.typcollation ${NE} b.typcollation), '') ${CONCAT} CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END ${CONCAT} coalesce(' DEFAULT ' ${CONCAT} t.typdefault, '') ${CONCAT}
              coalesce((SELECT ' ' ${CONCAT} pg_catalog.string_agg('CONSTRAINT ' ${CONCAT} k.conname ${CONCAT} ' ' ${CONCAT} pg_catalog.pg_get_constraintdef(k.oid, true), ' ' ORDER BY k.conname ${COLLATE_C})
                          FROM pg_catalog.pg_constraint AS k WHERE k.contypid ${EQ} t.oid AND k.contype ${EQ} 'c'), '')
       END AS sql
  FROM pg_catalog.pg_type AS t ${IN_SCHEMA("t.typnamespace")} AND ${NOT_FROM_EXTENSION("t.oid")}
   AND (t.typtype ${EQ} 'e' OR t.typtype ${EQ} 'd' OR t.typtype ${EQ} 'r' OR (t.typtype ${EQ} 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class AS c WHERE c.oid ${EQ} t.typrelid) ${EQ} 'c')) ORDER BY t.typname ${COLLATE_C}`,
} as const;

/**
 * One setting a relation holds away from its default, as the `ALTER` that gives it: a table's, view's, materialized view's or constraint index's storage parameters (`toast.*` with
 * them), FORCE ROW LEVEL SECURITY, REPLICA IDENTITY, CLUSTER ON, a column's storage, compression, statistics target and options, a view column's default. What `CREATE` and the
 * deparsers leave out, so `stepwise squash` writes it and `verify` compares it (but an {@link RelationSetting.operational | operational} one).
 */
export interface RelationSetting {
  /** The relation the statement alters. */
  readonly name: string;
  /** The table it belongs to (a view's or a table's own name; an index's table). */
  readonly table: string;
  /** `TABLE ONLY`, `VIEW`, `MATERIALIZED VIEW` or `INDEX`: what follows `ALTER`. */
  readonly keyword: string;
  /** The statement, without its `;`. */
  readonly sql: string;
  /**
   * Whether operators and tools commonly set it on a live database without a migration (vacuum tuning, statistics targets, `n_distinct`, REPLICA IDENTITY for change data capture, CLUSTER
   * ON): `squash` writes it, `verify` does not count it as drift.
   */
  readonly operational: boolean;
}

const KIND_IS = (column: string, kinds: string) => `${column} ${EQ} ANY ('{${kinds}}'::pg_catalog."char"[])`;
/** `name=value` storage parameters as `SET (name='value', ...)`, sorted so the order they were set in does not count. */
const SET_OPTIONS = (options: string) =>
  `'SET (' ${CONCAT} (SELECT pg_catalog.string_agg(pg_catalog.split_part(o, '=', 1) ${CONCAT} '=' ${CONCAT} pg_catalog.quote_literal(pg_catalog.substr(o, pg_catalog.strpos(o, '=') + 1)), ', ' ORDER BY o ${COLLATE_C})
     FROM pg_catalog.unnest(${options}) AS o) ${CONCAT} ')'`;
/**
 * A table's foreign keys' own triggers, when a migration left them switched off (`DISABLE TRIGGER ALL`): the references then go unchecked. Named by the server with numbers, they
 * cannot be set one by one on another database, so only all of them off is written (`squash` refuses the rest, which `verify` compares as this text).
 */
const SYSTEM_TRIGGERS = "'SYSTEM TRIGGERS '";

/** The storage parameters that tune how the server vacuums a table (`autovacuum_*`, `vacuum_truncate`, `log_autovacuum_min_duration`, their `toast.` twins), which operators set on a live database. */
const VACUUM_OPTION = (option: string) => `pg_catalog.split_part(${option}, '=', 1) LIKE '%vacuum%'`;
const OPTIONS_WHERE = (options: string, vacuum: boolean) => `ARRAY(SELECT o FROM pg_catalog.unnest(${options}) AS o WHERE ${vacuum ? "" : "NOT "}${VACUUM_OPTION("o")})`;
const COLUMN_OF = (kind: string) => `'ALTER COLUMN ' ${CONCAT} CASE WHEN ${KIND_IS(kind, "i,I")} THEN a.attnum::${TEXT} ELSE pg_catalog.quote_ident(a.attname) END`;
/**
 * One row per setting, each kind one branch; `step` orders a relation's. An index's own storage parameters are in `pg_get_indexdef`, a constraint's index's in no deparser; an unset
 * statistics target is -1 before PostgreSQL 17 and NULL from it.
 */
const RELATION_SETTINGS_SQL = `WITH rel AS (
  SELECT c.oid, c.relname, c.relkind, coalesce(tc.relname, c.relname)::${TEXT} AS owner,
         CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'i' THEN 'INDEX' WHEN 'I' THEN 'INDEX' ELSE 'TABLE ONLY' END AS keyword,
         coalesce(c.reloptions, '{}') ${CONCAT} coalesce((SELECT pg_catalog.array_agg('toast.' ${CONCAT} o) FROM pg_catalog.pg_class AS t, pg_catalog.unnest(t.reloptions) AS o WHERE t.oid ${EQ} c.reltoastrelid), '{}') AS options,
         c.relforcerowsecurity AS force, c.relreplident AS replident,
         i.indrelid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k WHERE k.conindid ${EQ} c.oid AND k.conrelid ${EQ} i.indrelid) AS "ownDef"
    FROM pg_catalog.pg_class AS c LEFT JOIN pg_catalog.pg_index AS i ON i.indexrelid ${EQ} c.oid LEFT JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
    ${IN_SCHEMA("c.relnamespace")} AND ${KIND_IS("c.relkind", "r,p,v,m,i,I")} AND ${NOT_FROM_EXTENSION("c.oid")}
), setting AS (
  SELECT r.oid, 1 AS step, 0 AS num, ${SET_OPTIONS(OPTIONS_WHERE("r.options", false))} AS action, false AS operational FROM rel AS r
   WHERE pg_catalog.cardinality(${OPTIONS_WHERE("r.options", false)}) ${GT} 0 AND NOT r."ownDef" AND r.relkind ${NE} 'I'
  UNION ALL SELECT r.oid, 1, 1, ${SET_OPTIONS(OPTIONS_WHERE("r.options", true))}, true FROM rel AS r WHERE pg_catalog.cardinality(${OPTIONS_WHERE("r.options", true)}) ${GT} 0 AND NOT r."ownDef" AND r.relkind ${NE} 'I'
  UNION ALL SELECT r.oid, 2, 0, 'FORCE ROW LEVEL SECURITY', false FROM rel AS r WHERE r.force
  UNION ALL SELECT r.oid, 3, 0, 'REPLICA IDENTITY ' ${CONCAT} CASE r.replident WHEN 'f' THEN 'FULL' WHEN 'n' THEN 'NOTHING' ELSE 'USING INDEX ' ${CONCAT}
         coalesce((SELECT pg_catalog.quote_ident(ic.relname) FROM pg_catalog.pg_index AS x JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} x.indexrelid WHERE x.indrelid ${EQ} r.oid AND x.indisreplident), '') END, true
    FROM rel AS r WHERE ${KIND_IS("r.relkind", "r,p")} AND r.replident ${NE} 'd'
  UNION ALL SELECT x.indrelid, 4, 0, 'CLUSTER ON ' ${CONCAT} pg_catalog.quote_ident(ic.relname), true FROM pg_catalog.pg_index AS x JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} x.indexrelid WHERE x.indisclustered
  UNION ALL SELECT a.attrelid, 5, a.attnum, ${COLUMN_OF("r.relkind")} ${CONCAT} ' SET STORAGE ' ${CONCAT} CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END, false
    FROM pg_catalog.pg_attribute AS a JOIN rel AS r ON r.oid ${EQ} a.attrelid JOIN pg_catalog.pg_type AS t ON t.oid ${EQ} a.atttypid
   WHERE ${KIND_IS("r.relkind", "r,p,m")} AND a.attnum ${GT} 0 AND NOT a.attisdropped AND a.attstorage ${NE} t.typstorage
  UNION ALL SELECT a.attrelid, 6, a.attnum, ${COLUMN_OF("r.relkind")} ${CONCAT} ' SET COMPRESSION ' ${CONCAT} CASE a.compression WHEN 'l' THEN 'lz4' ELSE 'pglz' END, false
    FROM (SELECT a.*, pg_catalog.to_jsonb(a.*) ->> 'attcompression' AS compression FROM pg_catalog.pg_attribute AS a) AS a JOIN rel AS r ON r.oid ${EQ} a.attrelid
   WHERE ${KIND_IS("r.relkind", "r,p,m")} AND a.attnum ${GT} 0 AND NOT a.attisdropped AND a.compression ${NE} ''
  UNION ALL SELECT a.attrelid, 7, a.attnum, ${COLUMN_OF("r.relkind")} ${CONCAT} ' SET STATISTICS ' ${CONCAT} a.attstattarget::${TEXT}, true
    FROM pg_catalog.pg_attribute AS a JOIN rel AS r ON r.oid ${EQ} a.attrelid WHERE a.attnum ${GT} 0 AND NOT a.attisdropped AND a.attstattarget ${GT} (-1)
  UNION ALL SELECT a.attrelid, 8, a.attnum, ${COLUMN_OF("r.relkind")} ${CONCAT} ' ' ${CONCAT} ${SET_OPTIONS("a.attoptions")}, true
    FROM pg_catalog.pg_attribute AS a JOIN rel AS r ON r.oid ${EQ} a.attrelid WHERE ${KIND_IS("r.relkind", "r,p,m")} AND a.attnum ${GT} 0 AND NOT a.attisdropped AND a.attoptions IS NOT NULL
  UNION ALL SELECT d.adrelid, 9, d.adnum, ${COLUMN_OF("r.relkind")} ${CONCAT} ' SET DEFAULT ' ${CONCAT} pg_catalog.pg_get_expr(d.adbin, d.adrelid), false
    FROM pg_catalog.pg_attrdef AS d JOIN rel AS r ON r.oid ${EQ} d.adrelid JOIN pg_catalog.pg_attribute AS a ON a.attrelid ${EQ} d.adrelid AND a.attnum ${EQ} d.adnum WHERE r.relkind ${EQ} 'v'
  UNION ALL SELECT r.oid, 10, 0, CASE WHEN pg_catalog.bool_and(t.tgenabled ${EQ} 'D') THEN 'DISABLE TRIGGER ALL'
         ELSE ${SYSTEM_TRIGGERS} ${CONCAT} pg_catalog.string_agg(t.tgenabled::${TEXT}, '' ORDER BY t.tgenabled::${TEXT} ${COLLATE_C}) END, false
    FROM rel AS r JOIN pg_catalog.pg_trigger AS t ON t.tgrelid ${EQ} r.oid AND t.tgisinternal WHERE ${KIND_IS("r.relkind", "r,p")} GROUP BY r.oid HAVING pg_catalog.bool_or(t.tgenabled ${NE} 'O')
)
SELECT r.relname::${TEXT} AS name, r.owner AS "table", r.keyword, 'ALTER ' ${CONCAT} r.keyword ${CONCAT} ' ' ${CONCAT} pg_catalog.quote_ident(r.relname) ${CONCAT} ' ' ${CONCAT} s.action AS sql, s.operational
  FROM setting AS s JOIN rel AS r ON r.oid ${EQ} s.oid ORDER BY r.keyword ${NE} 'TABLE ONLY', r.keyword ${COLLATE_C}, r.oid, s.step, s.num`;

/**
 * A table's row-level security policies and rules, as more of its settings for `verify` (a policy dropped by hand opens the table's rows; `squash` refuses both by name, so it does not write them).
 * Roles are named as the server names them: `verify` compares with a scratch database on the same server.
 */
const POLICIES_AND_RULES_SQL = `WITH tbl AS (
  SELECT c.oid, c.relname::${TEXT} AS name, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE ONLY' END AS keyword FROM pg_catalog.pg_class AS c ${IN_SCHEMA("c.relnamespace")})
SELECT t.name, t.name AS "table", t.keyword, false AS operational,
       'POLICY ' ${CONCAT} pg_catalog.quote_ident(p.polname) ${CONCAT} ' AS ' ${CONCAT} CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END ${CONCAT}
       ' FOR ' ${CONCAT} CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END ${CONCAT}
       ' TO ' ${CONCAT} (SELECT pg_catalog.string_agg(r.name, ', ' ORDER BY r.name ${COLLATE_C})
         FROM (SELECT CASE WHEN u.oid ${EQ} 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(u.oid)) END AS name FROM pg_catalog.unnest(p.polroles) AS u(oid)) AS r) ${CONCAT}
       coalesce(' USING (' ${CONCAT} pg_catalog.pg_get_expr(p.polqual, p.polrelid, true) ${CONCAT} ')', '') ${CONCAT} coalesce(' WITH CHECK (' ${CONCAT} pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid, true) ${CONCAT} ')', '') AS sql
  FROM pg_catalog.pg_policy AS p JOIN tbl AS t ON t.oid ${EQ} p.polrelid
UNION ALL
SELECT t.name, t.name, t.keyword, false, pg_catalog.pg_get_ruledef(w.oid, true) ${CONCAT} CASE w.ev_enabled WHEN 'D' THEN ' (DISABLED)' WHEN 'R' THEN ' (ENABLE REPLICA)' WHEN 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END
  FROM pg_catalog.pg_rewrite AS w JOIN tbl AS t ON t.oid ${EQ} w.ev_class WHERE w.rulename ${NE} '_RETURN' AND ${NOT_FROM_EXTENSION("w.oid")}`;

/** Each {@link RelationSetting} of the relations in `schema`: tables' first, then by kind of relation, each relation's in creation order. */
export function readRelationSettings(schema: string): Step<RelationSetting[]> {
  return query<RelationSetting>(RELATION_SETTINGS_SQL, [schema]);
}

/**
 * `schema` as a {@link SchemaSnapshot}, sorted by name, without `excludeTables` and what belongs to them. Never writes. Unless `operational`, without partitions either: an app or a job
 * makes, attaches and drops them as it runs (a day's partition, pg_partman), so they are data to `verify`, as operational settings are; a partition detached by hand is a table again.
 */
export function* readPostgresSchema(schema: string, excludeTables: readonly string[] = [], operational = false): Step<SchemaSnapshot> {
  const skip = new Set(excludeTables);
  const partitions = new Set<string>();
  const read = function* <T extends { table?: string; name: string }>(sql: string, excluded = skip): Step<T[]> {
    return (yield* query<T>(sql, [schema])).filter((row) => !excluded.has(row.table ?? row.name) && !partitions.has(row.table ?? row.name));
  };
  const tables = (yield* read<TableRow>(TABLES_SQL)).filter((table) => {
    if (operational || table.bound === null) return true;
    // What is read next (columns, constraints, indexes, triggers, settings) belongs to the partition too.
    partitions.add(table.name);
    return false;
  });
  const columns = yield* read<ColumnRow>(COLUMNS_SQL);
  const constraints = yield* read<ConstraintRow>(CONSTRAINTS_SQL);
  const objects = {} as Record<keyof typeof OBJECTS_SQL, SqlObjectSnapshot[]>;
  // An index or trigger on a table left out is still read, as on SQLite: stepwise makes none on its own tables, and one made by hand there (a trigger on the history) is drift.
  for (const [kind, sql] of Object.entries(OBJECTS_SQL) as Array<[keyof typeof OBJECTS_SQL, string]>)
    objects[kind] = kind === "indexes" || kind === "triggers" ? yield* read<SqlObjectSnapshot>(sql, new Set()) : yield* query<SqlObjectSnapshot>(sql, [schema]);
  const settings = [...(yield* read<RelationSetting>(RELATION_SETTINGS_SQL)), ...(yield* read<RelationSetting>(POLICIES_AND_RULES_SQL))].filter((setting) => operational || !setting.operational);
  const of = <T extends { table: string }>(rows: T[], table: string) => rows.filter((row) => row.table === table);
  return withSettings({ tables: tables.map((table) => assembleTable(table, of(columns, table.name), of(constraints, table.name))), ...objects }, settings);
}

/** `snapshot` with each object's settings after its text, sorted (the order they were made in differs between databases); a constraint's index's go with its table. */
function withSettings(snapshot: SchemaSnapshot, settings: readonly RelationSetting[]): SchemaSnapshot {
  const indexes = new Set(snapshot.indexes.map((index) => index.name));
  const keyOf = (setting: RelationSetting) =>
    setting.keyword === "INDEX" && indexes.has(setting.name) ? `index ${setting.name}` : setting.keyword.endsWith("VIEW") ? `view ${setting.name}` : `table ${setting.table}`;
  const groups = new Map<string, string[]>();
  for (const setting of settings) groups.set(keyOf(setting), [...(groups.get(keyOf(setting)) ?? []), setting.sql]);
  const add = <T extends { name: string; sql: string }>(kind: string, object: T): T => {
    const statements = groups.get(`${kind} ${object.name}`);
    return statements ? { ...object, sql: `${object.sql}; ${statements.sort().join("; ")}` } : object;
  };
  return {
    ...snapshot,
    tables: snapshot.tables.map((table) => add("table", table)),
    indexes: snapshot.indexes.map((index) => add("index", index)),
    views: snapshot.views.map((view) => add("view", view)),
  };
}

const REFERENTIAL_ACTIONS: Readonly<Record<string, string>> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

/** One table as SQLite's reader shapes it; `sql` catches what the fields miss (a renamed constraint, DEFERRABLE). */
function assembleTable(table: TableRow, columns: readonly ColumnRow[], constraints: readonly ConstraintRow[]): TableSnapshot {
  const primaryKey = constraints.find((constraint) => constraint.type === "p")?.columns ?? [];
  const ofType = (...types: string[]) => constraints.filter((constraint) => types.includes(constraint.type));
  const action = (code: string) => REFERENTIAL_ACTIONS[code] ?? code;
  const lineage = table.parents === null ? "" : table.bound === null ? ` INHERITS (${table.parents})` : ` PARTITION OF ${table.parents} ${table.bound}`;
  const header = `${table.persistence === "u" ? "UNLOGGED TABLE" : "TABLE"} ${table.name}${lineage}${table.partitionKey ? ` PARTITION BY ${table.partitionKey}` : ""}${table.rowSecurity ? " ROW LEVEL SECURITY" : ""}`;
  const body = [
    ...columns.map((column) => `${column.name} ${column.type}${column.collation ? ` COLLATE ${column.collation}` : ""}${column.notNull ? " NOT NULL" : ""}`),
    ...constraints.map((constraint) => `CONSTRAINT ${constraint.name} ${constraint.definition}`),
  ];
  return {
    name: table.name,
    columns: columns.map(({ name, type, notNull, expression, identity, generated, collation }) => ({
      name,
      type,
      notNull,
      defaultValue: identity ? `generated ${identity === "a" ? "always" : "by default"} as identity` : generated ? null : expression,
      primaryKeyPosition: primaryKey.indexOf(name) + 1,
      collation,
      checks: generated ? [`generated as ${expression ?? ""}`] : [],
      generated: generated === "s" ? "stored" : generated === "v" ? "virtual" : null,
    })),
    withoutRowid: false,
    strict: false,
    foreignKeys: ofType("f")
      .map(({ columns, referencedTable, referencedColumns, onUpdate, onDelete }) => ({
        columns,
        referencedTable: referencedTable ?? "",
        referencedColumns,
        onUpdate: action(onUpdate),
        onDelete: action(onDelete),
      }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    uniqueConstraints: ofType("u")
      .map((constraint) => constraint.columns)
      .sort((a, b) => a.join(",").localeCompare(b.join(","))),
    checks: ofType("c", "x")
      .map((constraint) => constraint.definition)
      .sort(),
    sql: `${header} (${body.join(", ")})`,
  };
}

/** A boolean option's value, `false` when not given; `USAGE` for anything else, where a truthy string such as "false" (an environment variable passed on) would otherwise say yes. */
export function booleanOption(value: unknown, name: string, call: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw usageError(`${call}'s ${name} must be true or false; got ${describeOption(value)}. Nothing was changed.`);
  return value;
}

/** Runs `action` on the driver the step runs on and returns its result; the sync runner refuses a promise. */
export function* callWithDriver<T>(action: (driver: Driver) => T | PromiseLike<T>): Step<T> {
  return (yield { op: "call", action }) as T;
}

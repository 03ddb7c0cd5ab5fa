/**
 * The data that crosses from build time to run time: what a migration module exports and what an
 * entry in `generated/registry.ts` holds. Codegen writes exactly these shapes and the runtime reads
 * nothing else.
 */
import type { SqlDialect } from "../shared/sql-dialect.js";

/**
 * The native connection types of the driver entries a program imports, keyed by driver name. Each
 * driver entry adds its own (`stepwise-migrate/better-sqlite3` adds better-sqlite3's `Database`) by
 * declaration merging, so a migration's `db` has the type of the connection it will receive without
 * the core naming any driver.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty until a driver entry merges its connection in
export interface MigrationConnections {}

/** The connection a migration receives: the imported drivers' native types, or `unknown` when none is. */
export type MigrationConnection = keyof MigrationConnections extends never ? unknown : MigrationConnections[keyof MigrationConnections];

/**
 * The part of a sync connection `forEachBatch` walks with (better-sqlite3's `Database` fits). Stage 2
 * of the driver seam moves batching onto driver primitives.
 */
export interface BatchConnection {
  prepare(sql: string): { get(...params: unknown[]): unknown; all(...params: unknown[]): unknown[] };
  readonly inTransaction: boolean;
  transaction(fn: () => void): () => void;
}

/** Which way a migration runs. */
export type MigrationDirection = "up" | "down";

/** Extra facts and helpers handed to a TypeScript migration next to the connection. */
export interface MigrationContext {
  readonly version: number;
  readonly name: string;
  readonly direction: MigrationDirection;
  /**
   * Reports how far a long migration has got; the manager turns it into `progress` events (at most
   * one per `progressIntervalMs`, plus the first and the last) and the CLI into a progress bar.
   * `total` is `null` when unknown.
   */
  progress(done: number, total: number | null): void;
  /**
   * Walks a table in keyed batches (`WHERE key > last ORDER BY key LIMIT size`), calls `handle` with
   * each batch and reports progress after it. It runs inside the migration's transaction; in a
   * `transaction: false` migration each batch gets its own. Keyset pagination keeps every batch as
   * cheap as the first (OFFSET would rescan), and rows the handler changes so they no longer match
   * `where` are not skipped or visited twice.
   *
   * The walk is bounded: it covers keys up to the largest matching key when it starts. A handler that
   * moves keys forward (`UPDATE t SET id = id + 1000`) or appends rows past that bound therefore ends
   * the walk instead of feeding it forever. Rows added or moved to a key inside the bound, ahead of
   * the walk, are new rows to it and are visited. Keys only ever increase from batch to batch, so no
   * key is handed twice.
   *
   * @throws `BATCH_KEY_INVALID` before the first batch when the key is not a column of the table
   *   (matched case-insensitively, as SQLite does) or a rowid it has, or when a matching row's key is
   *   NULL or shared with another row; during the walk when a key turns out repeated or cannot be
   *   held exactly in JavaScript. Inside a migration's transaction, the whole migration rolls back.
   * @throws `BATCH_OPTIONS_INVALID` when `batchSize` is not a whole number from 1 to 2^53, before
   *   anything is read or written.
   */
  forEachBatch<Row extends Record<string, unknown> = Record<string, unknown>>(options: BatchOptions, handle: (rows: Row[]) => void): BatchSummary;
}

/** Which rows {@link MigrationContext.forEachBatch} walks, and how many at a time. */
export interface BatchOptions {
  readonly table: string;
  /**
   * A unique, non-null column to walk by, such as an INTEGER PRIMARY KEY, or `"rowid"` (`"oid"`,
   * `"_rowid_"`) on a table that has one. Matched case-insensitively, as SQLite does; rows carry it
   * under this spelling. Anything else is refused with `BATCH_KEY_INVALID`. Default `"id"`.
   */
  readonly key?: string;
  /** Columns each row carries; the key is added when missing. Default: every column (`*`). */
  readonly columns?: readonly string[];
  /** An SQL condition on the rows to visit, such as `"phone IS NOT NULL"`. Default: every row. */
  readonly where?: string;
  /** Values for `?` placeholders in `where`. */
  readonly params?: readonly unknown[];
  /** Rows per batch. Default `DEFAULT_BATCH_SIZE` (500). */
  readonly batchSize?: number;
}

/** What {@link MigrationContext.forEachBatch} did. */
export interface BatchSummary {
  readonly rows: number;
  readonly batches: number;
}

/**
 * One direction of a TypeScript migration, on the driver's native connection `Db`: synchronous, or
 * `async`. An async one runs only through a driver entry's async API (`migrateAsync`,
 * `AsyncMigrationManager`, or an async driver such as `stepwise-migrate/pg`), which holds the migration's
 * transaction across its awaits; `gen` records it, so the sync API refuses the registry.
 */
export type MigrationFunction<Db = MigrationConnection> = SyncMigrationFunction<Db> | AsyncMigrationFunction<Db>;

/** A migration direction that finishes before it returns; any value it returns is ignored. */
export type SyncMigrationFunction<Db = MigrationConnection> = (db: Db, context: MigrationContext) => void;

/** A migration direction that returns a promise; its transaction stays open until the promise settles. */
export type AsyncMigrationFunction<Db = MigrationConnection> = (db: Db, context: MigrationContext) => PromiseLike<unknown>;

/** What `defineMigration` accepts: the default export of a `.ts` migration. */
export interface MigrationDefinition<Db = MigrationConnection> {
  /** One line for `status` and `history`. Must be a string literal, so codegen can read it. */
  readonly description?: string;
  /** Applies the change. */
  readonly up: MigrationFunction<Db>;
  /** Undoes `up`. Without it the migration is irreversible and `down` refuses to pass it. */
  readonly down?: MigrationFunction<Db>;
  /**
   * Run inside a transaction with its history row. Default `true`. Set `false` only for statements
   * SQLite refuses inside a transaction (VACUUM, some PRAGMAs).
   */
  readonly transaction?: boolean;
  /**
   * Turn `PRAGMA foreign_keys` off around the migration (it has no effect inside a transaction),
   * check `PRAGMA foreign_key_check` before committing, and restore it. Use it for table rebuilds, so
   * dropping a parent table does not cascade into its children. Default `false`.
   */
  readonly disableForeignKeys?: boolean;
}

/**
 * Declares a TypeScript migration. It returns its argument unchanged; its job is the type check
 * and the marker codegen looks for. `up` and `down` may be `async` (see {@link MigrationFunction}).
 *
 * @example
 * export default defineMigration({
 *   description: "Per-contact notification preferences",
 *   up(db) { db.exec("CREATE TABLE preferences (contact_id INTEGER PRIMARY KEY)"); },
 *   down(db) { db.exec("DROP TABLE preferences"); },
 * });
 */
export function defineMigration<const T extends MigrationDefinition>(
  definition: T,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): MigrationDefinition<any> {
  // Returning the named type over `any`, not T, keeps declaration emit in apps from having to name
  // the driver's connection type (it comes from whichever driver entries the program imports).
  return definition;
}

/**
 * `defineMigration` with `db` typed as one driver's native connection `Db`: the one each driver entry
 * exports, so `import { defineMigration } from "stepwise-migrate/node-sqlite"` gives `up(db)` node:sqlite's
 * `DatabaseSync`. Per entry rather than by declaration merging, because merged declarations add up:
 * a program that imports two drivers (a test suite, this repository) would type every `db` as the
 * union of both connections.
 */
export type DefineMigration<Db> = <const T extends MigrationDefinition<Db>>(
  definition: T,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as for `defineMigration`
) => MigrationDefinition<any>;

/**
 * What every entry's `defineMigration` does at run time: nothing but return the definition, since
 * the types do the checking and codegen reads the call without running it.
 */
export function returnDefinition<T>(definition: T): T {
  return definition;
}

export type { SqlDialect };

/** The dialect of a registry that does not name one: every registry written before dialects existed. */
export const DEFAULT_DIALECT: SqlDialect = "sqlite";

/** Fields every registry entry carries. */
export interface MigrationEntryBase {
  readonly version: number;
  readonly name: string;
  /** Path of the source file relative to the project root, with forward slashes; errors name it. */
  readonly file: string;
  readonly description: string | null;
  /** See `checksum.ts`: stable across formatting, changed by any edit to code or SQL. */
  readonly checksum: string;
  /**
   * The checksum an earlier release of `gen` computed for this same source, where it differs (a
   * TypeScript migration with a `description`, which that release hashed too, or one that imports
   * `defineMigration` from a driver's entry, whose specifier it hashed as written); several are
   * separated by spaces. A history row that holds one is this migration unchanged; `repair
   * --checksums` rewrites it to {@link checksum}. Absent for every other migration.
   */
  readonly legacyChecksum?: string;
  readonly reversible: boolean;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  /**
   * The dialect the migration was generated for. Absent means `sqlite` (`"sqlite"`), so
   * hand-built entries and registries from before dialects keep working on the SQLite drivers.
   */
  readonly dialect?: SqlDialect;
}

/** A `.sql` migration, inlined as text so nothing is read from disk at run time. */
export interface SqlMigrationEntry extends MigrationEntryBase {
  readonly kind: "sql";
  readonly upSql: string;
  readonly downSql: string | null;
  /**
   * The lines of the migration's file (1-based) where `upSql` and `downSql` begin (`null`: no down
   * section), so a statement that fails at run time is named by its file's line. Absent in a
   * registry written before `gen` recorded them: such a failure then names no line.
   */
  readonly sqlLines?: readonly [up: number, down: number | null];
}

/** A `.ts` migration, statically imported by the registry. */
export interface ModuleMigrationEntry extends MigrationEntryBase {
  readonly kind: "ts";
  // `any`: a registry is a plain value the runtime hands to whichever driver runs it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly module: MigrationDefinition<any>;
}

/** One entry of `generated/registry.ts`. */
export type MigrationEntry = SqlMigrationEntry | ModuleMigrationEntry;

/** The `migrations` array exported by `generated/registry.ts`, in version order. */
export type MigrationRegistry = readonly MigrationEntry[];

/** The version numbers a registry contains, as a union of literals when the registry is `as const`. */
export type VersionOf<R extends MigrationRegistry> = R[number]["version"];

/**
 * The mark `gen` puts on an entry whose `up` or `down` is async: `async: true` at run time, and a
 * registry type whose entries carry `readonly async: boolean`. A registry without the field (every
 * registry written before async migrations, and one without any) holds only sync migrations.
 */
export interface AsyncMigrationMark {
  readonly async: boolean;
}

/**
 * A registry the sync API (`migrate`, `MigrationManager`) accepts: no entry's type admits
 * `async: true`. A registry `gen` wrote with an async migration in it does not match, so passing it
 * to the sync API fails to type-check; the async API (`migrateAsync`, `AsyncMigrationManager`) takes
 * any {@link MigrationRegistry}.
 */
export type SyncMigrationRegistry = readonly (MigrationEntry & { readonly async?: false })[];

/** Whether `gen` marked `entry` async (see {@link AsyncMigrationMark}). */
export function isAsyncMigration(entry: MigrationEntry): boolean {
  return (entry as MigrationEntry & Partial<AsyncMigrationMark>).async === true;
}

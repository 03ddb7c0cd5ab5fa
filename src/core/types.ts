/** What a migration module exports and what an entry of `generated/registry.ts` holds: codegen writes these shapes, the runtime reads them. */
import type { SqlDialect } from "../shared/sql-dialect.js";

/** The native connection types of the driver entries a program imports, merged in by each entry. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty until a driver entry merges its connection in
export interface MigrationConnections {}

/** The connection a migration receives: the imported drivers' native types, or `unknown` when none is. */
export type MigrationConnection = keyof MigrationConnections extends never ? unknown : MigrationConnections[keyof MigrationConnections];

/** The part of a sync connection `forEachBatch` walks with (better-sqlite3's `Database` fits). */
export interface BatchConnection {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
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
  /** Reports how far a long migration has got, as `progress` events; `total` is `null` when unknown. */
  progress(done: number, total: number | null): void;
  /**
   * Walks a table in keyed batches (`WHERE key > last ORDER BY key LIMIT size`) up to its largest key at the start, calls `handle` with each, reports progress; no row twice.
   * In a `transaction: false` migration each batch gets its own transaction. `BATCH_KEY_INVALID` for a key that is not unique, non-null and exact; `BATCH_OPTIONS_INVALID`.
   */
  forEachBatch<Row extends Record<string, unknown> = Record<string, unknown>>(options: BatchOptions, handle: (rows: Row[]) => void): BatchSummary;
}

/** Which rows {@link MigrationContext.forEachBatch} walks, and how many at a time. */
export interface BatchOptions {
  readonly table: string;
  /** A unique, non-null column to walk by, or `"rowid"` on a table that has one; rows carry it under this spelling. Default `"id"`. */
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

/** One direction of a TypeScript migration on the driver's connection `Db`; an `async` one runs only through an async API. */
export type MigrationFunction<Db = MigrationConnection, Context = MigrationContext> = SyncMigrationFunction<Db, Context> | AsyncMigrationFunction<Db, Context>;

/** A migration direction that finishes before it returns. */
export type SyncMigrationFunction<Db = MigrationConnection, Context = MigrationContext> = (db: Db, context: Context) => void;

/** A migration direction that returns a promise; its transaction stays open until the promise settles. */
export type AsyncMigrationFunction<Db = MigrationConnection, Context = MigrationContext> = (db: Db, context: Context) => PromiseLike<unknown>;

/** What `defineMigration` accepts: the default export of a `.ts` migration. `Context` is what its functions receive beside `db` (the async drivers' `forEachBatch` returns a promise). */
export interface MigrationDefinition<Db = MigrationConnection, Context = MigrationContext> {
  /** One line for `status` and `history`; a string literal, so codegen can read it. */
  readonly description?: string;
  /** Applies the change. */
  readonly up: MigrationFunction<Db, Context>;
  /** Undoes `up`; without it the migration is irreversible. */
  readonly down?: MigrationFunction<Db, Context>;
  /** Run inside a transaction with its history row. Default `true`; `false` only for statements refused inside one (VACUUM). */
  readonly transaction?: boolean;
  /** Turn `PRAGMA foreign_keys` off around the migration and check `foreign_key_check` before committing, for table rebuilds. Default `false`. */
  readonly disableForeignKeys?: boolean;
}

/**
 * Declares a TypeScript migration: it returns its argument unchanged, for the type check and the marker codegen looks for.
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
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- not T: an app's declaration emit need not name the driver's connection type
): MigrationDefinition<any> {
  return definition;
}

/** `defineMigration` with `db` typed as one driver's connection, as each driver entry exports it. */
export type DefineMigration<Db> = <const T extends MigrationDefinition<Db>>(
  definition: T,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as for `defineMigration`
) => MigrationDefinition<any>;

/** Every entry's `defineMigration` at run time. */
export function returnDefinition<T>(definition: T): T {
  return definition;
}

export type { SqlDialect };

/** The dialect of a registry that names none. */
export const DEFAULT_DIALECT: SqlDialect = "sqlite";

/** Fields every registry entry carries. */
export interface MigrationEntryBase {
  readonly version: number;
  readonly name: string;
  /** Path of the source file relative to the project root, with forward slashes; errors name it. */
  readonly file: string;
  readonly description: string | null;
  /** Stable across formatting, changed by any edit to code or SQL. */
  readonly checksum: string;
  /** Checksums an earlier release of `gen` computed for this same source, space-separated. */
  readonly legacyChecksum?: string;
  readonly reversible: boolean;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  /** The dialect the migration was generated for. Default `"sqlite"`. */
  readonly dialect?: SqlDialect;
  /**
   * Set by `stepwise squash`: the version of the migration that now builds this one's schema. On that migration it is its own version; on the versions it replaced (entries with an empty `upSql`
   * and their old checksums, so a database that ran them still matches) it names it. A database part way through them is refused (`DATABASE_INSIDE_SQUASH`), and so is `down` past it.
   */
  readonly squashedInto?: number;
}

/** A `.sql` migration, inlined as text so nothing is read from disk at run time. */
export interface SqlMigrationEntry extends MigrationEntryBase {
  readonly kind: "sql";
  readonly upSql: string;
  readonly downSql: string | null;
  /** The lines of the file (1-based) where `upSql` and `downSql` begin. */
  readonly sqlLines?: readonly [up: number, down: number | null];
}

/** A `.ts` migration, statically imported by the registry. */
export interface ModuleMigrationEntry extends MigrationEntryBase {
  readonly kind: "ts";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry is a plain value the runtime hands to whichever driver runs it, with that driver's context
  readonly module: MigrationDefinition<any, any>;
}

/** One entry of `generated/registry.ts`. */
export type MigrationEntry = SqlMigrationEntry | ModuleMigrationEntry;

/** The `migrations` array exported by `generated/registry.ts`, in version order. */
export type MigrationRegistry = readonly MigrationEntry[];

/** The version numbers of a registry, as a union of literals when it is `as const`. */
export type VersionOf<R extends MigrationRegistry> = R[number]["version"];

/** The mark `gen` puts on an entry whose `up` or `down` is async; a registry without it holds only sync migrations. */
export interface AsyncMigrationMark {
  readonly async: boolean;
}

/** A registry the sync API accepts: one with an async migration fails to type-check. */
export type SyncMigrationRegistry = readonly (MigrationEntry & { readonly async?: false })[];

/** Whether `gen` marked `entry` async (see {@link AsyncMigrationMark}). */
export function isAsyncMigration(entry: MigrationEntry): boolean {
  return (entry as MigrationEntry & Partial<AsyncMigrationMark>).async === true;
}

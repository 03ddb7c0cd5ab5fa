/**
 * The bun:sqlite driver: the executor's primitives on Bun's built-in `Database`, and the
 * `stepwise-migrate/bun-sqlite` entry (`migrate`, `MigrationManager`). Only bun:sqlite's API is called here;
 * SQLite itself is the core's business.
 *
 * This file never imports `bun:sqlite`: the app's connection brings it, and copies are opened with
 * that connection's own class. So stepwise compiles without `bun-types` (the types below are
 * structural) and a bundle of this entry names no Bun module.
 *
 * No online backup: bun:sqlite does not expose SQLite's backup API. `VACUUM INTO` is a consistent
 * copy of a live database, but not the same thing: it blocks the thread for the whole copy (the
 * backup API steps), it fails inside a transaction and on an existing target, and it writes a
 * vacuumed file rather than the same pages. So `onlineBackup` is declared false and the safety net
 * that needs it refuses with `DRIVER_CAPABILITY_MISSING`.
 */
import { SyncMigrationManager, migrateWithManager } from "../core/manager.js";
import { AsyncMigrationManager as CoreAsyncMigrationManager, migrateAsyncWithManager, type MigrateAsyncOptions } from "../core/async-manager.js";
import { SQLITE_DIALECT } from "../core/dialects/sqlite.js";
import { createMigrationContext } from "../core/progress.js";
import type { Row, SyncDriver } from "../core/driver.js";
import type { MigrateOptions, MigrationManagerProps, MigrationResult, UpOptions } from "../core/options.js";
import { returnDefinition, type DefineMigration, type MigrationRegistry, type SyncMigrationRegistry, type VersionOf } from "../core/types.js";
import { mainDatabaseFile } from "./database-file.js";
import { cachedStatements, createBatchConnection, fileLockPrimitives, type SidecarOptions } from "./sqlite-shared.js";
import { defineDriver } from "../core/define-driver.js";

/** The part of bun:sqlite's `Statement` stepwise uses. */
export interface BunStatement {
  all(...params: unknown[]): unknown[];
  /** `null` when there is no row. */
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  /** Whether integers are read as `bigint`. */
  safeIntegers(enabled?: boolean): BunStatement;
  finalize(): void;
}

/**
 * The part of bun:sqlite's `Database` stepwise uses, declared here so stepwise compiles without
 * `bun-types`; the real class fits it.
 */
export interface Database {
  /** Runs statements, several at once allowed. */
  exec(sql: string): unknown;
  prepare(sql: string): BunStatement;
  close(throwOnError?: boolean): void;
  serialize(name?: string): Uint8Array;
  /** The path as the app gave it, `":memory:"` (or empty) for an in-memory database. */
  readonly filename: string;
  readonly inTransaction: boolean;
}

/** bun:sqlite's `Database` class, as reached through a connection. */
interface DatabaseClass {
  new (file?: string, options?: { readonly?: boolean; create?: boolean; readwrite?: boolean }): Database;
  deserialize(bytes: Uint8Array): Database;
}

/** Another connection on `file` with the class of `db` (the app's bun:sqlite): the owner lock's sidecar, or the file a safety net works on. */
function openerFor(db: Database): (file: string, options: SidecarOptions) => Database {
  const Class = db.constructor as DatabaseClass;
  return (file, { readonly, busyTimeoutMs }) => {
    const connection = readonly ? new Class(file, { readonly: true }) : new Class(file, { create: true, readwrite: true });
    try {
      // bun:sqlite has no timeout option; SQLite's own setting does the same.
      connection.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  };
}

/**
 * The executor's primitives on one bun:sqlite connection.
 *
 * @example
 * const driver = createBunSqliteDriver(new Database("data/app.db"));
 */
export function createBunSqliteDriver(db: Database): SyncDriver<Database> {
  // Statements of our own rather than db.query()'s cache: that cache is the app's, and its
  // statements would keep the safeIntegers setting set here.
  // Integers come back as numbers even when the app opened the database with safeIntegers.
  const prepare = cachedStatements(
    (sql) => db.prepare(sql).safeIntegers(false),
    (statement) => statement.finalize(),
  );
  const value = (sql: string): unknown => {
    const row = prepare(sql).get() as Row | null;
    return row === null || row === undefined ? undefined : Object.values(row)[0];
  };
  const filePath = databaseFileOf(db);
  const open = openerFor(db);
  // bun:sqlite has no open flag; its inTransaction getter throws "Database has closed" once closed.
  const isOpen = (): boolean => {
    try {
      void db.inTransaction;
      return true;
    } catch {
      return false;
    }
  };
  const batchConnection = createBatchConnection({ prepare: (sql) => db.prepare(sql), exec: (sql) => void db.exec(sql), inTransaction: () => db.inTransaction });
  // No online backup: bun:sqlite has no backup API.
  return defineDriver({
    name: "bun-sqlite",
    dialect: "sqlite",
    async: false,
    connection: db,
    filePath,
    isOpen,
    exec: (sql) => void db.exec(sql),
    query: (sql, params) => prepare(sql).all(...params) as Row[],
    run: (sql, params) => ({ changes: prepare(sql).run(...params).changes }),
    // Prepared once, as the history INSERT is: an exec parses its text every time, once per migration here.
    begin: (mode) => void prepare(mode === "immediate" ? "BEGIN IMMEDIATE" : "BEGIN").run(),
    commit: () => void prepare("COMMIT").run(),
    inTransaction: () => isOpen() && db.inTransaction,
    changeCounter: () => value("PRAGMA data_version") as number,
    createContext: (entry, direction, progress) => createMigrationContext(batchConnection, entry, direction, progress),
    ...fileLockPrimitives(open, filePath),
    snapshot: () => db.serialize(),
    openSnapshot: (bytes) => {
      const Class = db.constructor as DatabaseClass;
      return createBunSqliteDriver(bytes.length === 0 ? new Class(":memory:") : Class.deserialize(bytes));
    },
    close: () => db.close(),
    openFile: (file, options) => createBunSqliteDriver(open(file, options)),
  });
}

/**
 * The main database's file as SQLite resolved it at open time, or `null` in memory. Not `db.filename`:
 * that is the string the app passed, and a relative one would point elsewhere after a `chdir`, so the
 * owner lock would be taken (or looked for) next to another file. The plain PRAGMA, not a SELECT: a
 * SELECT reads the schema, which fails at once with SQLITE_BUSY while another process commits.
 */
function databaseFileOf(db: Database): string | null {
  if (db.filename === "" || db.filename === ":memory:") return null;
  const statement = db.prepare("PRAGMA database_list");
  try {
    return mainDatabaseFile(statement.all() as Array<{ name?: unknown; file?: unknown }>);
  } finally {
    statement.finalize();
  }
}

/**
 * Applies and reverts the migrations of a generated registry on one bun:sqlite connection.
 *
 * @example
 * import { Database } from "bun:sqlite";
 * import { MigrationManager } from "stepwise-migrate/bun-sqlite";
 * import { migrations } from "../generated/registry.js";
 *
 * const manager = new MigrationManager(new Database("data/app.db"), migrations);
 * manager.up();
 * manager.down({ steps: 1 });
 */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncMigrationManager<Database, R> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when it holds async migrations (use {@link AsyncMigrationManager}).
   */
  constructor(db: Database, migrations: R, props: MigrationManagerProps = {}) {
    super(createBunSqliteDriver(db), migrations, props, SQLITE_DIALECT);
  }

  /** A manager with the same registry and settings on another connection. */
  withDatabase(db: Database, props: MigrationManagerProps = {}): MigrationManager<R> {
    return new MigrationManager(db, this.migrations, this.copySettings(props));
  }
}

/**
 * Applies every pending migration: the one call an app makes at start-up.
 *
 * @example
 * migrate(new Database("data/app.db"), migrations, { logger: console });
 */
export function migrate<R extends SyncMigrationRegistry>(
  db: Database,
  migrations: R,
  options: MigrationManagerProps & UpOptions<VersionOf<R>> & MigrateOptions<MigrationManager<R>> = {},
): MigrationResult {
  return migrateWithManager(options, (props) => new MigrationManager(db, migrations, props), "stepwise-migrate/bun-sqlite");
}

/**
 * {@link MigrationManager} with every method returning a promise, for a registry that holds async
 * migrations: each migration's write transaction (`BEGIN IMMEDIATE`) stays open across its awaits, so
 * a failure after an await rolls back all it did, its history row included. Other connections wait
 * for the lock meanwhile; statements the app runs on this same connection before the promise settles
 * join the migration's transaction (see the README, "Async migrations").
 *
 * @example
 * const manager = new AsyncMigrationManager(db, migrations);
 * await manager.up();
 * await manager.down({ steps: 1 });
 */
export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends CoreAsyncMigrationManager<Database, R> {
  /** @throws `REGISTRY_INVALID` when the registry breaks the version rules. */
  constructor(db: Database, migrations: R, props: MigrationManagerProps = {}) {
    super(createBunSqliteDriver(db), migrations, props, SQLITE_DIALECT);
  }
}

/**
 * {@link migrate} for a registry that may hold async migrations: applies every pending migration and
 * resolves to what ran. Every refusal is a rejection.
 *
 * @example
 * const result = await migrateAsync(new Database("data/app.db"), migrations, { logger: console });
 */
export function migrateAsync<R extends MigrationRegistry>(db: Database, migrations: R, options: MigrateAsyncOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
  return migrateAsyncWithManager(options, (props) => new AsyncMigrationManager(db, migrations, props), "stepwise-migrate/bun-sqlite");
}

/**
 * Declares a TypeScript migration whose `db` is bun:sqlite's `Database`, whatever other drivers the program
 * imports. Otherwise the root `defineMigration` (same rules, same codegen checks).
 *
 * @example
 * import { defineMigration } from "stepwise-migrate/bun-sqlite";
 * export default defineMigration({ up(db) { db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); } });
 */
export const defineMigration: DefineMigration<Database> = returnDefinition;

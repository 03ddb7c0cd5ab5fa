/**
 * The better-sqlite3 driver: the executor's primitives on better-sqlite3's native `Database`, and
 * the `stepwise-migrate/better-sqlite3` entry (`migrate`, `MigrationManager`). SQLite itself (PRAGMAs,
 * `sqlite_master`) is the core's business; only better-sqlite3's API is called here.
 */
import BetterSqlite3 from "better-sqlite3";
import type { Database } from "better-sqlite3";
import { SyncMigrationManager, migrateWithManager } from "../core/manager.js";
import { AsyncMigrationManager as CoreAsyncMigrationManager, migrateAsyncWithManager, type MigrateAsyncOptions } from "../core/async-manager.js";
import { SQLITE_DIALECT } from "../core/dialects/sqlite.js";
import { createMigrationContext } from "../core/progress.js";
import type { Row, SyncDriver } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import type { MigrateOptions, MigrationManagerProps, MigrationResult, UpOptions } from "../core/options.js";
import { returnDefinition, type DefineMigration, type MigrationRegistry, type SyncMigrationRegistry, type VersionOf } from "../core/types.js";
import { mainDatabaseFile } from "./database-file.js";
import { findLockHolders } from "./lock-holders.js";
import { holdOwnerLock, probeOwnerLock } from "./owner-lock.js";

export type { Database } from "better-sqlite3";

declare module "../core/types.js" {
  interface MigrationConnections {
    "better-sqlite3": Database;
  }
}

/** Prepared statements kept per connection; the executor's SQL is a small fixed set. */
const STATEMENT_CACHE_LIMIT = 64;

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/**
 * The executor's primitives on one better-sqlite3 connection.
 *
 * @example
 * const driver = createBetterSqlite3Driver(new Database("data/app.db"));
 */
export function createBetterSqlite3Driver(db: Database): SyncDriver<Database> {
  const statements = new Map<string, Statement>();
  const prepare = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= STATEMENT_CACHE_LIMIT) statements.clear();
      // Integers come back as numbers even when the app set defaultSafeIntegers(true).
      statement = db.prepare<unknown[], unknown>(sql).safeIntegers(false);
      statements.set(sql, statement);
    }
    return statement;
  };
  const plucked = new Map<string, Statement>();
  const value = (sql: string): unknown => {
    let statement = plucked.get(sql);
    if (!statement) {
      statement = db.prepare<unknown[], unknown>(sql).safeIntegers(false).pluck();
      plucked.set(sql, statement);
    }
    return statement.get();
  };
  // As SQLite resolved it when the connection opened: `db.name` is the app's string, and a relative
  // one would point elsewhere (backups, the owner lock, lock holders) after the app changes folder.
  const filePath = db.memory || db.name === "" ? null : mainDatabaseFile(db.pragma("database_list") as Array<{ name?: unknown; file?: unknown }>) || null;
  return defineDriver({
    name: "better-sqlite3",
    dialect: "sqlite",
    async: false,
    connection: db,
    filePath,
    isOpen: () => db.open,
    exec: (sql) => void db.exec(sql),
    query: (sql, params) => prepare(sql).all(...params) as Row[],
    run: (sql, params) => ({ changes: prepare(sql).run(...params).changes }),
    inTransaction: () => db.open && db.inTransaction,
    changeCounter: () => value("PRAGMA data_version") as number,
    createContext: (entry, direction, progress) => createMigrationContext(db, entry, direction, progress),
    holdOwnerLock: (tableName, busyTimeoutMs) => holdOwnerLock(db, tableName, busyTimeoutMs),
    probeOwnerLock: (fileName) => probeOwnerLock(db, fileName),
    lockHolders: () => (filePath === null ? [] : findLockHolders(filePath)),
    snapshot: () => db.serialize(),
    openSnapshot: (bytes) => createBetterSqlite3Driver(bytes.length === 0 ? new BetterSqlite3(":memory:") : new BetterSqlite3(Buffer.from(bytes))),
    close: () => void db.close(),
    backupTo: async (path) => (await db.backup(path)).totalPages,
    openFile: (file, { readonly, busyTimeoutMs }) => createBetterSqlite3Driver(new BetterSqlite3(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs })),
  });
}

/**
 * Applies and reverts the migrations of a generated registry on one better-sqlite3 connection.
 *
 * @example
 * import Database from "better-sqlite3";
 * import { MigrationManager } from "stepwise-migrate/better-sqlite3";
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
    super(createBetterSqlite3Driver(db), migrations, props, SQLITE_DIALECT);
  }

  /** A manager with the same registry and settings on another connection (an in-memory copy, say). */
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
  return migrateWithManager(options, (props) => new MigrationManager(db, migrations, props), "stepwise-migrate/better-sqlite3");
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
    super(createBetterSqlite3Driver(db), migrations, props, SQLITE_DIALECT);
  }
}

/**
 * {@link migrate} for a registry that may hold async migrations: applies every pending migration and
 * resolves to what ran. Every refusal is a rejection.
 *
 * @example
 * import Database from "better-sqlite3";
 * const result = await migrateAsync(new Database("data/app.db"), migrations, { logger: console });
 */
export function migrateAsync<R extends MigrationRegistry>(db: Database, migrations: R, options: MigrateAsyncOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
  return migrateAsyncWithManager(options, (props) => new AsyncMigrationManager(db, migrations, props), "stepwise-migrate/better-sqlite3");
}

/**
 * Declares a TypeScript migration whose `db` is better-sqlite3's `Database`, whatever other drivers the program
 * imports. Otherwise the root `defineMigration` (same rules, same codegen checks).
 *
 * @example
 * import { defineMigration } from "stepwise-migrate/better-sqlite3";
 * export default defineMigration({ up(db) { db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); } });
 */
export const defineMigration: DefineMigration<Database> = returnDefinition;

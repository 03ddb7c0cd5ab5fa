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
import { cachedStatements, fileLockPrimitives, type SidecarOptions } from "./sqlite-shared.js";

export type { Database } from "better-sqlite3";

// Only this entry augments `MigrationConnections`: augmentations merge program-wide, so a program that
// sees several drivers would type every `db` as a union. The other entries' own `defineMigration`
// types `db` instead.
declare module "../core/types.js" {
  interface MigrationConnections {
    "better-sqlite3": Database;
  }
}

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/**
 * Another connection on `file` with the class of `db`: the owner lock's sidecar, or the file a safety
 * net works on. The app's own copy of the library, not the one this module imports: two copies of
 * SQLite in one process do not see each other's locks.
 */
function openerFor(db: Database): (file: string, options: SidecarOptions) => Database {
  const Class = db.constructor as typeof BetterSqlite3;
  return (file, { readonly, busyTimeoutMs }) => new Class(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
}

/**
 * The executor's primitives on one better-sqlite3 connection.
 *
 * @example
 * const driver = createBetterSqlite3Driver(new Database("data/app.db"));
 */
export function createBetterSqlite3Driver(db: Database): SyncDriver<Database> {
  // Integers come back as numbers even when the app set defaultSafeIntegers(true).
  const prepare = cachedStatements((sql): Statement => db.prepare<unknown[], unknown>(sql).safeIntegers(false));
  const plucked = cachedStatements((sql): Statement => db.prepare<unknown[], unknown>(sql).safeIntegers(false).pluck());
  const open = openerFor(db);
  // As SQLite resolved it when the connection opened: `db.name` is the app's string, and a relative
  // one would point elsewhere (backups, the owner lock, lock holders) after the app changes folder.
  const filePath = db.memory || db.name === "" ? null : mainDatabaseFile(db.pragma("database_list") as Array<{ name?: unknown; file?: unknown }>);
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
    changeCounter: () => plucked("PRAGMA data_version").get() as number,
    createContext: (entry, direction, progress) => createMigrationContext(db, entry, direction, progress),
    ...fileLockPrimitives(open, filePath),
    snapshot: () => db.serialize(),
    openSnapshot: (bytes) => createBetterSqlite3Driver(bytes.length === 0 ? new BetterSqlite3(":memory:") : new BetterSqlite3(Buffer.from(bytes))),
    close: () => void db.close(),
    backupTo: async (path) => (await db.backup(path)).totalPages,
    openFile: (file, options) => createBetterSqlite3Driver(open(file, options)),
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

/**
 * The libsql driver: the executor's primitives on a local connection of the `libsql` package
 * (Turso's embedded libSQL, with a better-sqlite3-like API), and the `stepwise-migrate/libsql` entry
 * (`migrate`, `MigrationManager`). SQLite itself (PRAGMAs, `sqlite_master`) is the core's business;
 * only libsql's API is called here.
 *
 * What libsql 0.5 lacks, and so what this driver declares it cannot do: `backup()` throws "not
 * implemented" (no online backup). `serialize()` throws too, so the `snapshot` reads every page
 * through SQLite's `sqlite_dbpage` on the app's connection (inside the app's transaction too, its
 * uncommitted writes included), and a copy is a connection on a private temporary file, deleted when
 * the copy is closed (see `file-copy.ts`). `db.name` is always empty,
 * so the file is read from `PRAGMA database_list`; `Statement.get()` adds a `_metadata` field and
 * ignores `pluck()`, so rows are read with `all()` only. Locking is SQLite's own, as with
 * better-sqlite3: a second connection's `BEGIN IMMEDIATE` waits out the busy timeout, then fails
 * with `SQLITE_BUSY`.
 */
import type Libsql from "libsql";
import { SyncMigrationManager, migrateWithManager } from "../core/manager.js";
import { AsyncMigrationManager as CoreAsyncMigrationManager, migrateAsyncWithManager, type MigrateAsyncOptions } from "../core/async-manager.js";
import { SQLITE_DIALECT } from "../core/dialects/sqlite.js";
import { createMigrationContext } from "../core/progress.js";
import type { Row, SyncDriver } from "../core/driver.js";
import { defineDriver } from "../core/define-driver.js";
import type { MigrateOptions, MigrationManagerProps, MigrationResult, UpOptions } from "../core/options.js";
import { returnDefinition, type BatchConnection, type MigrationRegistry, type SyncMigrationRegistry, type VersionOf, type DefineMigration } from "../core/types.js";
import { mainDatabaseFile } from "./database-file.js";
import { openFileCopy, snapshotOfConnection } from "./file-copy.js";
import { cachedStatements, fileLockPrimitives, type SidecarOptions } from "./sqlite-shared.js";

/** The `libsql` package's native connection. */
export type Database = Libsql.Database;

type Statement = Libsql.Statement<unknown[]>;

type DatabaseConstructor = new (file: string, options?: { readonly: boolean; fileMustExist: boolean; timeout: number }) => Database;

/**
 * The executor's primitives on one libsql connection (a local file or `:memory:`).
 *
 * @example
 * const driver = createLibsqlDriver(new Database("data/app.db"));
 */
export function createLibsqlDriver(db: Database): SyncDriver<Database> {
  // Integers come back as numbers even when the app set defaultSafeIntegers(true).
  const prepare = cachedStatements((sql) => db.prepare(sql).safeIntegers(false) as Statement);
  // Values are passed as one array: libsql reads a lone object argument (null, a Uint8Array) as
  // named parameters.
  const all = (sql: string, params: readonly unknown[]): Row[] => prepare(sql).all([...params]) as Row[];
  // A closed connection (a migration called db.close()) holds no transaction. libsql 0.5 aborts the
  // whole process (a Rust panic, not an exception) when inTransaction is read after close().
  const isOpen = (): boolean => db.open;
  const isInTransaction = (): boolean => isOpen() && db.inTransaction;
  const filePath = databaseFileOf(db);
  // Another connection with the app's class: the owner lock's sidecar, or the file a safety net works on.
  const open = (file: string, { readonly, busyTimeoutMs }: SidecarOptions): Database =>
    new (db.constructor as DatabaseConstructor)(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
  // No online backup: libsql 0.5's backup() throws "not implemented".
  return defineDriver({
    name: "libsql",
    dialect: "sqlite",
    async: false,
    connection: db,
    filePath,
    isOpen,
    exec: (sql) => void db.exec(sql),
    query: all,
    run: (sql, params) => ({ changes: Number(prepare(sql).run([...params]).changes) }),
    inTransaction: isInTransaction,
    changeCounter: () => all("PRAGMA data_version", [])[0]!.data_version as number,
    // libsql's prepare/get/all/transaction/inTransaction have better-sqlite3's shapes, which is all
    // the batch walker uses (the extra `_metadata` on `get()` rows is never read).
    createContext: (entry, direction, progress) => createMigrationContext(db as unknown as BatchConnection, entry, direction, progress),
    ...fileLockPrimitives(open, filePath),
    openFile: (file, options) => createLibsqlDriver(open(file, options)),
    snapshot: () => snapshotOfConnection({ name: "libsql", exec: (sql) => void db.exec(sql), query: all, inTransaction: isInTransaction }),
    openSnapshot: (bytes) => openCopy(db, bytes),
  });
}

/** A copy on a private file, opened with the app's own class (reached through its connection). */
function openCopy(db: Database, bytes: Uint8Array): SyncDriver<Database> {
  return openFileCopy(bytes, (file) => {
    const copy = new (db.constructor as DatabaseConstructor)(file);
    return { driver: createLibsqlDriver(copy), close: () => void copy.close() };
  });
}

/**
 * The main database's file, or `null` in memory: libsql leaves `db.name` empty, SQLite knows. The
 * plain PRAGMA, not `pragma_database_list` in a SELECT: a SELECT must read the schema, which takes a
 * shared lock and fails at once with SQLITE_BUSY while another process commits (this runs when the
 * driver is made, before any busy timeout is set).
 */
function databaseFileOf(db: Database): string | null {
  if (db.memory) return null;
  return mainDatabaseFile(db.prepare("PRAGMA database_list").all() as Array<{ name?: unknown; file?: unknown }>);
}

/**
 * Applies and reverts the migrations of a generated registry on one libsql connection.
 *
 * @example
 * import Database from "libsql";
 * import { MigrationManager } from "stepwise-migrate/libsql";
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
    super(createLibsqlDriver(db), migrations, props, SQLITE_DIALECT);
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
  return migrateWithManager(options, (props) => new MigrationManager(db, migrations, props), "stepwise-migrate/libsql");
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
    super(createLibsqlDriver(db), migrations, props, SQLITE_DIALECT);
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
  return migrateAsyncWithManager(options, (props) => new AsyncMigrationManager(db, migrations, props), "stepwise-migrate/libsql");
}

/**
 * Declares a TypeScript migration whose `db` is libsql's `Database`, whatever other drivers the program
 * imports. Otherwise the root `defineMigration` (same rules, same codegen checks).
 *
 * @example
 * import { defineMigration } from "stepwise-migrate/libsql";
 * export default defineMigration({ up(db) { db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); } });
 */
export const defineMigration: DefineMigration<Database> = returnDefinition;

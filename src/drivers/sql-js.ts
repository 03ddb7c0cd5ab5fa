/**
 * The sql.js driver: the executor's primitives on an in-memory sql.js `Database` (SQLite compiled to
 * WebAssembly), and the `stepwise-migrate/sql-js` entry (`migrate`, `MigrationManager`). The app calls
 * `initSqlJs()` and passes its `Database`; this module imports none of sql.js's code.
 *
 * sql.js has no file and no other connection: no file locking, no owner lock, no lock holders, and a
 * busy timeout that is accepted but never waited on. It has no online backup. Its `export()` (1.16
 * copies through SQLite's backup API and leaves the connection, its statements and its settings as
 * they were) is the `snapshot`, and a `Database` built from those bytes is the copy. Its errors are
 * plain `Error`s carrying SQLite's message and no code; the driver notes the result code SQLite gave
 * for each (see `watchResultCodes`), {@link sqliteCodeOfMessage} refines it from the message where
 * that says more (constraints), and the driver's `classifyError` reports it, so the core reports them
 * as it does for other drivers while the error itself stays sql.js's.
 */
import type { BindParams, Database as SqlJsDatabase, SqlValue, Statement } from "sql.js";
import { migrateWithManager, SyncMigrationManager } from "../core/manager.js";
import { SQLITE_DIALECT } from "../core/dialects/sqlite.js";
import { AsyncMigrationManager as CoreAsyncMigrationManager, migrateAsyncWithManager, type MigrateAsyncOptions } from "../core/async-manager.js";
import { createMigrationContext } from "../core/progress.js";
import type { ErrorClassification, Row, SyncDriver } from "../core/driver.js";
import { classifySqliteError, defineDriver } from "../core/define-driver.js";
import type { MigrateOptions, MigrationManagerProps, MigrationResult, UpOptions } from "../core/options.js";
import { returnDefinition, type BatchConnection, type MigrationRegistry, type SyncMigrationRegistry, type VersionOf, type DefineMigration } from "../core/types.js";
import { cachedStatements, createBatchConnection, sqliteCodeName } from "./sqlite-shared.js";
import { transactionOpenError } from "../core/error-factories.js";

/** sql.js's native connection (`new SQL.Database()` after `initSqlJs()`). */
export type Database = SqlJsDatabase;

/**
 * SQLite's own text for the result codes a user can act on (`sqlite3_errstr`), which is what sql.js
 * throws for them. Matched whole, so a migration's error that merely mentions one is not taken for it.
 */
const CODE_OF_MESSAGE: ReadonlyMap<string, string> = new Map([
  ["database is locked", "SQLITE_BUSY"],
  ["database table is locked", "SQLITE_LOCKED"],
  ["database or disk is full", "SQLITE_FULL"],
  ["attempt to write a readonly database", "SQLITE_READONLY"],
  ["file is not a database", "SQLITE_NOTADB"],
  ["database disk image is malformed", "SQLITE_CORRUPT"],
  ["unable to open database file", "SQLITE_CANTOPEN"],
  ["disk I/O error", "SQLITE_IOERR"],
  ["out of memory", "SQLITE_NOMEM"],
  ["interrupted", "SQLITE_INTERRUPT"],
]);

/**
 * The `SQLITE_*` code an sql.js error stands for, read from its message, or `null`. Constraint
 * failures ("UNIQUE constraint failed: t.id") read as `SQLITE_CONSTRAINT`; other messages (syntax
 * errors, "no such table") carry no code a user could act on and read as `null`.
 */
export function sqliteCodeOfMessage(message: string): string | null {
  const exact = CODE_OF_MESSAGE.get(message);
  if (exact !== undefined) return exact;
  return /^(UNIQUE|NOT NULL|CHECK|FOREIGN KEY|PRIMARY KEY) constraint failed/.test(message) ? "SQLITE_CONSTRAINT" : null;
}

/**
 * sql.js throws bare strings for values it cannot bind; those become `Error`s, so a failure always
 * has a message and a stack. Its `Error`s pass as they are: {@link classifySqlJsError} reads their
 * code from the message, with nothing added to them.
 */
function throwingErrors<A extends unknown[], T>(action: (...args: A) => T): (...args: A) => T {
  return (...args) => {
    try {
      return action(...args);
    } catch (error) {
      throw typeof error === "string" ? new Error(error) : error;
    }
  };
}

/**
 * SQLite's result code for each error sql.js raised from it, keyed by the error object itself, so the
 * error reaches the app untouched. Filled by {@link watchResultCodes}.
 */
const resultCodes = new WeakMap<object, number>();
/** The connections whose `handleError` is already watched. */
const watched = new WeakSet<object>();

/**
 * Notes SQLite's result code for every error this connection raises. sql.js turns every failing
 * SQLite call, the app's own included, into `throw new Error(sqlite3_errmsg)` in one method,
 * `handleError(resultCode)`, which sees the code and drops it; a wrapper on the instance (never on
 * sql.js's prototype) keeps it. So every error that came from SQLite gets its code, "cannot VACUUM
 * from within a transaction" (SQLITE_ERROR) as much as "database is locked", and an error that
 * did not (the app's own `throw new Error(...)`) gets none, whatever its message says.
 */
function watchResultCodes(db: Database): void {
  const connection = db as unknown as { handleError?: unknown };
  const original = connection.handleError;
  if (watched.has(db) || typeof original !== "function") return;
  watched.add(db);
  Object.defineProperty(db, "handleError", {
    configurable: true,
    writable: true,
    value(this: unknown, resultCode: unknown) {
      try {
        return (original as (code: unknown) => unknown).call(this, resultCode);
      } catch (error) {
        if (typeof error === "object" && error !== null && typeof resultCode === "number") resultCodes.set(error, resultCode);
        throw error;
      }
    },
  });
}

/**
 * sql.js's errors carry SQLite's message and no code: the result code {@link watchResultCodes}
 * noted, else the message's (an error raised before the driver watched the connection). Never throws:
 * a migration body can throw anything, a Proxy whose getters throw included.
 */
function classifySqlJsError(error: unknown): ErrorClassification {
  try {
    if (!(error instanceof Error)) return classifySqliteError(error);
    const resultCode = resultCodes.get(error);
    const named = resultCode === undefined ? null : sqliteCodeName(resultCode);
    // The message may say more than the primary code (constraint kinds); the code says it for everything else.
    const code = sqliteCodeOfMessage(error.message) ?? named;
    return classifySqliteError(code === null ? error : { code });
  } catch {
    return { kind: "other", nativeCode: null };
  }
}

/** Runs `sql` once with `params` and frees the statement, so a caller that never frees leaks nothing. */
function readOnce(db: Database, sql: string, params: readonly unknown[]): Row[] {
  const statement = db.prepare(sql);
  try {
    return readAll(statement, params);
  } finally {
    statement.free();
  }
}

function readAll(statement: Statement, params: readonly unknown[]): Row[] {
  try {
    statement.bind(params as BindParams);
    const rows: Row[] = [];
    while (statement.step()) rows.push(statement.getAsObject() as Row);
    return rows;
  } finally {
    statement.reset();
  }
}

/**
 * Whether SQLite is inside a transaction. sql.js exposes no `sqlite3_get_autocommit`, so this asks
 * SQLite to open one: refused inside a transaction, otherwise opened and at once ended (an empty
 * deferred transaction takes no lock and changes nothing).
 */
function isInTransaction(db: Database): boolean {
  try {
    db.exec("BEGIN");
  } catch {
    return true;
  }
  db.exec("COMMIT");
  return false;
}

/**
 * The part of better-sqlite3's API the batch walker of `forEachBatch` uses, on an sql.js
 * connection. Each read prepares, runs and frees its statement, as the walker never frees any.
 */
function batchConnectionOf(db: Database): BatchConnection {
  return createBatchConnection({
    prepare: (sql) => ({
      get: throwingErrors((...params: unknown[]) => readOnce(db, sql, params)[0]),
      all: throwingErrors((...params: unknown[]) => readOnce(db, sql, params)),
    }),
    exec: (sql) => void db.exec(sql),
    inTransaction: () => isInTransaction(db),
  });
}

/** The first value of `statement`'s first row (the change counter, read per migration). */
function firstValue(statement: Statement): unknown {
  try {
    return statement.step() ? statement.get()[0] : undefined;
  } finally {
    statement.reset();
  }
}

/** Runs a write; returns the rows it changed. */
function runWrite(db: Database, statement: Statement, params: readonly unknown[]): number {
  try {
    // run() resets the statement when it succeeds.
    statement.run(params as SqlValue[]);
  } catch (error) {
    statement.reset();
    throw error;
  }
  return db.getRowsModified();
}

/** sql.js has no open flag; close() sets its handle `db` to null (a field sql.js has always had). */
function isOpenConnection(db: Database): boolean {
  return (db as unknown as { db: unknown }).db !== null;
}

/**
 * The database's bytes. export() copies with SQLite's backup API, which cannot read past this
 * connection's own pending writes: the copy cannot hold them, so the app's transaction is refused,
 * untouched.
 */
function exportOutsideTransaction(db: Database): Uint8Array {
  try {
    return db.export();
  } catch (error) {
    if (isOpenConnection(db) && isInTransaction(db)) throw transactionOpenError({ driver: "sql.js", operation: "snapshot", cause: error });
    throw error;
  }
}

/** A connection of the app's `Database` class on `bytes`, reached through its connection: this module imports none of sql.js. */
function openCopy(db: Database, bytes: Uint8Array): SyncDriver<Database> {
  const copy = new (db.constructor as new (data?: Uint8Array) => Database)(bytes.length > 0 ? bytes : undefined);
  const copyDriver = createSqlJsDriver(copy);
  // Unlike the app's connection, the copy is ours to close.
  return {
    ...copyDriver,
    close: () => {
      copyDriver.close!();
      copy.close();
    },
  };
}

/**
 * The executor's primitives on one sql.js connection. Its cached statements are freed when the cache
 * fills and by `close()`; the app's `db.close()` frees any left.
 *
 * @example
 * const SQL = await initSqlJs();
 * const driver = createSqlJsDriver(new SQL.Database());
 */
export function createSqlJsDriver(db: Database): SyncDriver<Database> {
  watchResultCodes(db);
  // Each statement holds WebAssembly memory until freed.
  const prepare = cachedStatements(
    (sql) => db.prepare(sql),
    (statement) => statement.free(),
  );
  const exec = throwingErrors((sql: string): void => void db.exec(sql));
  return defineDriver({
    name: "sql.js",
    dialect: "sqlite",
    async: false,
    connection: db,
    filePath: null,
    isOpen: () => isOpenConnection(db),
    // export() cannot copy past the connection's own pending writes (see `snapshot`).
    lacks: ["snapshotInTransaction"],
    exec,
    query: throwingErrors((sql: string, params: readonly unknown[]): Row[] => readAll(prepare(sql), params)),
    run: throwingErrors((sql, params) => ({ changes: runWrite(db, prepare(sql), params) })),
    begin: (mode) => exec(mode === "immediate" ? "BEGIN IMMEDIATE" : "BEGIN"),
    commit: () => exec("COMMIT"),
    rollback: () => {
      try {
        db.exec("ROLLBACK");
      } catch {
        // No transaction was open, or SQLite already rolled back (after SQLITE_FULL); nothing is left to undo.
      }
    },
    // A closed connection (a migration called db.close()) holds no transaction; BEGIN would throw there.
    inTransaction: () => isOpenConnection(db) && isInTransaction(db),
    changeCounter: throwingErrors(() => firstValue(prepare("PRAGMA data_version")) as number),
    createContext: (entry, direction, progress) => createMigrationContext(batchConnectionOf(db), entry, direction, progress),
    classifyError: classifySqlJsError,
    close: () => prepare.clear(),
    snapshot: throwingErrors(() => exportOutsideTransaction(db)),
    openSnapshot: throwingErrors((bytes: Uint8Array) => openCopy(db, bytes)),
  });
}

/**
 * Applies and reverts the migrations of a generated registry on one sql.js connection.
 *
 * @example
 * import initSqlJs from "sql.js";
 * import { MigrationManager } from "stepwise-migrate/sql-js";
 * import { migrations } from "../generated/registry.js";
 *
 * const SQL = await initSqlJs();
 * const manager = new MigrationManager(new SQL.Database(), migrations);
 * manager.up();
 */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncMigrationManager<Database, R> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when it holds async migrations (use {@link AsyncMigrationManager}).
   */
  constructor(db: Database, migrations: R, props: MigrationManagerProps = {}) {
    super(createSqlJsDriver(db), migrations, props, SQLITE_DIALECT);
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
 * const SQL = await initSqlJs();
 * const db = new SQL.Database(savedBytes);
 * migrate(db, migrations);
 */
export function migrate<R extends SyncMigrationRegistry>(
  db: Database,
  migrations: R,
  options: MigrationManagerProps & UpOptions<VersionOf<R>> & MigrateOptions<MigrationManager<R>> = {},
): MigrationResult {
  return migrateWithManager(options as never, (props) => new MigrationManager(db, migrations, props), "stepwise-migrate/sql-js");
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
    super(createSqlJsDriver(db), migrations, props);
  }
}

/**
 * {@link migrate} for a registry that may hold async migrations: applies every pending migration and
 * resolves to what ran. Every refusal is a rejection.
 *
 * @example
 * const result = await migrateAsync(new SQL.Database(savedBytes), migrations);
 */
export function migrateAsync<R extends MigrationRegistry>(db: Database, migrations: R, options: MigrateAsyncOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
  return migrateAsyncWithManager(options, (props) => new AsyncMigrationManager(db, migrations, props), "stepwise-migrate/sql-js");
}

/**
 * Declares a TypeScript migration whose `db` is sql.js's `Database`, whatever other drivers the program
 * imports. Otherwise the root `defineMigration` (same rules, same codegen checks).
 *
 * @example
 * import { defineMigration } from "stepwise-migrate/sql-js";
 * export default defineMigration({ up(db) { db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); } });
 */
export const defineMigration: DefineMigration<Database> = returnDefinition;

/** The sql.js driver (SQLite in WebAssembly, in memory) and the `stepwise-migrate/sql-js` entry's API. The app passes its `Database`; this module imports none of sql.js. No file, no locking, no
 * online backup; `export()` is the snapshot. */
import { refuseOtherLibrary } from "../core/options.js";
import type { BindParams, Database as SqlJsDatabase, SqlValue, Statement } from "sql.js";
import { migrateOn, syncManagerOn, type Migrate, type SyncManagerClass } from "../core/manager.js";
import { asyncManagerOn, migrateAsyncOn, type AsyncManagerClass, type MigrateAsync } from "../core/async-manager.js";
import type { ErrorClassification, Row, SyncDriver } from "../core/driver.js";
import { classifySqliteError } from "../core/define-driver.js";
import { returnDefinition, type MigrationRegistry, type SyncMigrationRegistry, type DefineMigration } from "../core/types.js";
import { classifySafely, transactionOpenError } from "../core/error-factories.js";
import { cachedStatements, createBatchConnection, defineSqliteDriver, sqliteCodeName } from "./sqlite-shared.js";

/** sql.js's native connection (`new SQL.Database()` after `initSqlJs()`). */
export type Database = SqlJsDatabase;

/** sql.js throws bare strings for values it cannot bind: those become `Error`s. */
function throwingErrors<A extends unknown[], T>(action: (...args: A) => T): (...args: A) => T {
  return (...args) => {
    try {
      return action(...args);
    } catch (error) {
      throw typeof error === "string" ? new Error(error) : error;
    }
  };
}

/** SQLite's result code of each error a watched connection raised, by error. */
const resultCodes = new WeakMap<object, number>();

/** Notes the result code of every error this connection raises, the app's calls included: sql.js's `handleError(resultCode)` throws `new Error(message)`, dropping it. Wrapped on the instance only. */
function watchResultCodes(db: Database): void {
  const original = (db as unknown as { handleError?: unknown }).handleError;
  if (typeof original !== "function" || (original as { watched?: true }).watched) return;
  const watched = function (this: unknown, resultCode: unknown) {
    try {
      return (original as (code: unknown) => unknown).call(this, resultCode);
    } catch (error) {
      if (typeof error === "object" && error !== null && typeof resultCode === "number") resultCodes.set(error, resultCode);
      throw error;
    }
  };
  Object.defineProperty(db, "handleError", { configurable: true, writable: true, value: Object.assign(watched, { watched: true as const }) });
}

/** The code {@link watchResultCodes} noted for an error sql.js raised: its message alone names none, since an app's own error may say the same words. Never throws. */
function classifySqlJsError(error: unknown): ErrorClassification {
  return classifySafely((thrown) => {
    const resultCode = typeof thrown === "object" && thrown !== null ? resultCodes.get(thrown) : undefined;
    return classifySqliteError(resultCode === undefined ? thrown : { code: sqliteCodeName(resultCode) });
  }, error);
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

/** sql.js has no `sqlite3_get_autocommit`: BEGIN is refused inside a transaction. */
function isInTransaction(db: Database): boolean {
  try {
    db.exec("BEGIN");
  } catch {
    return true;
  }
  try {
    db.exec("COMMIT");
  } catch {
    // Refused while a write statement still runs (one a migration left): the probe's own transaction must not stay open, and a rollback is the one way out.
    db.exec("ROLLBACK");
  }
  return false;
}

/** The executor's primitives on one sql.js connection; `close()` frees its cached statements. */
export function createSqlJsDriver(db: Database): SyncDriver<Database> {
  refuseOtherLibrary(db, "sql-js", "a sql.js Database", ["prepare", "exec", "export"]);
  watchResultCodes(db);
  const prepare = cachedStatements(
    (sql) => db.prepare(sql),
    (statement) => statement.free(),
  );
  const exec = throwingErrors((sql: string): void => void db.exec(sql));
  const query = throwingErrors((sql: string, params: readonly unknown[]) => readAll(prepare(sql), params));
  // sql.js has no open flag: close() nulls its handle.
  const isOpen = () => (db as unknown as { db: unknown }).db !== null;
  const inTransaction = () => isOpen() && isInTransaction(db);
  const walk = createBatchConnection({
    prepare: (sql) => ({ all: (...params: unknown[]) => query(sql, params) }),
    exec,
    inTransaction,
  });
  return defineSqliteDriver(walk, "sql.js cannot read them otherwise, so walk by another key", {
    name: "sql.js",
    connection: db,
    isOpen,
    // export() cannot copy the connection's own pending writes.
    lacks: ["snapshotInTransaction"],
    exec,
    query,
    run: throwingErrors((sql, params) => {
      const statement = prepare(sql);
      try {
        statement.run(params as SqlValue[]);
      } catch (error) {
        // run() resets the statement only when it succeeds.
        statement.reset();
        throw error;
      }
      return { changes: db.getRowsModified() };
    }),
    inTransaction,
    classifyError: classifySqlJsError,
    close: () => prepare.clear(),
    snapshot: throwingErrors(() => {
      try {
        return db.export();
      } catch (error) {
        throw inTransaction() ? transactionOpenError({ driver: "sql.js", operation: "snapshot", cause: error }) : error;
      }
    }),
    openSnapshot: throwingErrors((bytes: Uint8Array) => {
      const copy = new (db.constructor as new (data?: Uint8Array) => Database)(bytes.length > 0 ? bytes : undefined);
      const copyDriver = createSqlJsDriver(copy);
      // Unlike the app's connection, the copy is ours to close.
      return { ...copyDriver, close: () => (copyDriver.close!(), copy.close()) };
    }),
  });
}

const SyncBase: SyncManagerClass<Database> = /* @__PURE__ */ syncManagerOn(createSqlJsDriver);
const AsyncBase: AsyncManagerClass<Database> = /* @__PURE__ */ asyncManagerOn(createSqlJsDriver);

/**
 * Applies and reverts the migrations of a generated registry on one sql.js connection.
 *
 * @example
 * const SQL = await initSqlJs();
 * new MigrationManager(new SQL.Database(savedBytes), migrations).up();
 */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncBase<R> {}

/** Applies every pending migration (`migrate(db, migrations)`): the one call an app makes at start-up. */
export const migrate: Migrate<Database> = /* @__PURE__ */ migrateOn(MigrationManager, "sql-js");

/** {@link MigrationManager} returning promises, for async migrations: each one's transaction stays open across its awaits. */
export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncBase<R> {}

/** {@link migrate} for a registry that may hold async migrations; every refusal is a rejection. */
export const migrateAsync: MigrateAsync<Database> = /* @__PURE__ */ migrateAsyncOn(AsyncMigrationManager, "sql-js");

/** Declares a TypeScript migration whose `db` is sql.js's `Database`, whatever other drivers the program imports. */
export const defineMigration: DefineMigration<Database> = returnDefinition;

/** The node:sqlite driver and the `stepwise-migrate/node-sqlite` entry's API. It never imports `node:sqlite` (the app's connection brings it), so the package keeps its Node 20 floor. */
import { refuseOtherLibrary } from "../core/options.js";
import { migrateOn, syncManagerOn, type Migrate, type SyncManagerClass } from "../core/manager.js";
import { asyncManagerOn, migrateAsyncOn, type AsyncManagerClass, type MigrateAsync } from "../core/async-manager.js";
import type { Row, SyncDriver } from "../core/driver.js";
import { returnDefinition, type DefineMigration, type MigrationRegistry, type SyncMigrationRegistry } from "../core/types.js";
import { closedConnectionError, usageError } from "../core/error-factories.js";
import { cachedStatements, classifyNativeSqliteError, createBatchConnection, defineSqliteDriver, fileLockPrimitives, openFileCopy, snapshotOfConnection } from "./sqlite-shared.js";

/** The part of node:sqlite's `StatementSync` stepwise uses. */
interface StatementSync {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  setReadBigInts(enabled: boolean): void;
  /** Node 24 and newer, with `DatabaseSync`'s `returnArrays`. */
  setReturnArrays?(enabled: boolean): void;
}

/** The part of node:sqlite's `DatabaseSync` stepwise uses; the real class fits it. */
export interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): StatementSync;
  close(): void;
  /** The file's path, or `null` in memory. */
  location(dbName?: string): string | null;
  /** Node 22.16 and newer. */
  readonly isTransaction: boolean;
  /** Node 22.15 and newer (read as open where missing). */
  readonly isOpen?: boolean;
  /** Node 24.21 and newer; without it the snapshot reads the pages. */
  serialize?(dbName?: string): Uint8Array;
  deserialize?(data: Uint8Array, options?: { dbName?: string }): void;
}

/** How a connection reads rows: integers as BigInt, rows as arrays. */
interface ResultModes {
  readBigInts?: boolean;
  returnArrays?: boolean;
}

type DatabaseSyncConstructor = new (file: string, options?: { readOnly?: boolean; timeout?: number } & ResultModes) => DatabaseSync;

/** Integers as numbers, as the other drivers read them: node:sqlite would refuse a whole read meeting one past 2^53 instead of rounding it. */
function numbersOf<T>(row: T): T {
  if (row !== null && typeof row === "object") {
    for (const [key, cell] of Object.entries(row)) if (typeof cell === "bigint") (row as Row)[key] = Number(cell);
  }
  return row;
}

/** A walk's statement: rows as objects, whose keys it reads; integers as the app's connection reads them, where one past 2^53 that cannot be a number reads inexactly (so the walk refuses
 * such a key) instead of failing the read. */
function walkStatement(statement: StatementSync): { all(...params: unknown[]): unknown[] } {
  statement.setReturnArrays?.(false);
  return {
    all: (...params) => {
      try {
        return statement.all(...params);
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ERR_OUT_OF_RANGE") throw error;
        statement.setReadBigInts(true);
        try {
          return statement.all(...params).map(numbersOf);
        } finally {
          statement.setReadBigInts(false);
        }
      }
    },
  };
}

/** The executor's primitives on one node:sqlite connection; `USAGE` on a Node without `DatabaseSync#isTransaction` (before 22.16). */
export function createNodeSqliteDriver(db: DatabaseSync): SyncDriver<DatabaseSync> {
  refuseOtherLibrary(db, "node-sqlite", "a node:sqlite DatabaseSync", ["prepare", "exec"]);
  // Its isTransaction getter throws on a closed connection.
  if (db.isOpen === false) throw closedConnectionError("node-sqlite");
  // Without it a rollback could not tell whether SQLite already ended the transaction.
  if (typeof db.isTransaction !== "boolean")
    throw usageError(
      "stepwise-migrate/node-sqlite needs DatabaseSync#isTransaction, which Node has from 22.16 (and 24.0): upgrade Node. If this connection is no node:sqlite DatabaseSync, pass it to the entry of the library that opened it.",
    );
  // Objects of numbers whatever the app's readBigInts and returnArrays.
  const prepare = cachedStatements((sql) => {
    const statement = db.prepare(sql);
    statement.setReadBigInts(true);
    statement.setReturnArrays?.(false);
    return statement;
  });
  const query = (sql: string, params: readonly unknown[]): Row[] => (prepare(sql).all(...params) as Row[]).map(numbersOf);
  const isOpen = (): boolean => db.isOpen !== false;
  const inTransaction = (): boolean => isOpen() && db.isTransaction;
  const Database = db.constructor as DatabaseSyncConstructor;
  // A copy reads rows as the app's connection does (a migration replayed on it walks the keys it walked); node:sqlite sets that only when opening, and a Node without an option is not given it.
  const likeApp = (): ResultModes => {
    // No getter for either: a statement prepared now takes the connection's defaults.
    const row = db.prepare("SELECT 1").get() as object;
    return { ...(typeof Object.values(row)[0] === "bigint" && { readBigInts: true }), ...(Array.isArray(row) && { returnArrays: true }) };
  };
  const open = (file: string, { readonly, busyTimeoutMs }: { readonly: boolean; busyTimeoutMs: number }) =>
    new Database(file, { readOnly: readonly, timeout: Math.max(0, Math.trunc(busyTimeoutMs)), ...likeApp() });
  const filePath = db.location();
  const backup = (process.getBuiltinModule?.("node:sqlite") as { backup?: (source: DatabaseSync, path: string) => Promise<number> } | undefined)?.backup;
  const canSerialize = typeof db.serialize === "function" && typeof db.deserialize === "function";
  const exec = (sql: string): void => db.exec(sql);
  const walk = createBatchConnection({ prepare: (sql) => walkStatement(db.prepare(sql)), exec, inTransaction: () => db.isTransaction });
  return defineSqliteDriver(walk, "open it with new DatabaseSync(file, { readBigInts: true })", {
    name: "node-sqlite",
    connection: db,
    filePath,
    isOpen,
    exec,
    query,
    run: (sql, params) => ({ changes: Number(prepare(sql).run(...params).changes) }),
    inTransaction,
    classifyError: classifyNativeSqliteError,
    ...fileLockPrimitives(open, filePath, createNodeSqliteDriver),
    // A migration may have closed it already, and closing twice throws.
    close: () => void (isOpen() && db.close()),
    ...(canSerialize
      ? {
          snapshot: () => db.serialize!(),
          openSnapshot: (bytes: Uint8Array) => {
            const copy = new Database(":memory:", likeApp());
            if (bytes.length > 0) copy.deserialize!(bytes);
            return createNodeSqliteDriver(copy);
          },
        }
      : {
          lacks: ["snapshotInTransaction" as const],
          snapshot: () => snapshotOfConnection({ name: "node-sqlite", exec, query, inTransaction }, open),
          openSnapshot: (bytes: Uint8Array) => openFileCopy(bytes, (file) => createNodeSqliteDriver(new Database(file, likeApp())), open),
        }),
    ...(backup === undefined ? {} : { backupTo: (path: string) => backup(db, path) }),
  });
}

const SyncBase: SyncManagerClass<DatabaseSync> = /* @__PURE__ */ syncManagerOn(createNodeSqliteDriver);
const AsyncBase: AsyncManagerClass<DatabaseSync> = /* @__PURE__ */ asyncManagerOn(createNodeSqliteDriver);

/**
 * Applies and reverts the migrations of a generated registry on one node:sqlite connection.
 *
 * @example
 * new MigrationManager(new DatabaseSync("data/app.db"), migrations).up();
 */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncBase<R> {}

/** Applies every pending migration (`migrate(db, migrations)`): the one call an app makes at start-up. */
export const migrate: Migrate<DatabaseSync> = /* @__PURE__ */ migrateOn(MigrationManager, "node-sqlite");

/** {@link MigrationManager} returning promises, for async migrations: each one's transaction stays open across its awaits. */
export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncBase<R> {}

/** {@link migrate} for a registry that may hold async migrations; every refusal is a rejection. */
export const migrateAsync: MigrateAsync<DatabaseSync> = /* @__PURE__ */ migrateAsyncOn(AsyncMigrationManager, "node-sqlite");

/** Declares a TypeScript migration whose `db` is node:sqlite's `DatabaseSync`, whatever other drivers the program imports. */
export const defineMigration: DefineMigration<DatabaseSync> = returnDefinition;

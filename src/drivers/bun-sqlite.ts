/** The bun:sqlite driver and the `stepwise-migrate/bun-sqlite` entry's API. It never imports `bun:sqlite` (the app's connection brings it). bun:sqlite has no backup API: backups use `VACUUM INTO`. */
import { refuseOtherLibrary } from "../core/options.js";
import { closedConnectionError } from "../core/error-factories.js";
import { migrateOn, syncManagerOn, type Migrate, type SyncManagerClass } from "../core/manager.js";
import { asyncManagerOn, migrateAsyncOn, type AsyncManagerClass, type MigrateAsync } from "../core/async-manager.js";
import type { Row, SyncDriver } from "../core/driver.js";
import { returnDefinition, type DefineMigration, type MigrationRegistry, type SyncMigrationRegistry } from "../core/types.js";
import { mainDatabaseFile } from "./database-file.js";
import { cachedStatements, createBatchConnection, defineSqliteDriver, fileLockPrimitives, readsBigInts } from "./sqlite-shared.js";
import { significantTokens, tokenizeSqliteSql } from "../shared/sqlite-tokens.js";

/** The part of bun:sqlite's `Statement` stepwise uses. */
interface BunStatement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  safeIntegers(enabled?: boolean): BunStatement;
  finalize(): void;
}

/** The part of bun:sqlite's `Database` stepwise uses; the real class fits it. */
export interface Database {
  /** Runs statements, several at once allowed. */
  exec(sql: string): unknown;
  prepare(sql: string): BunStatement;
  close(throwOnError?: boolean): void;
  serialize(name?: string): Uint8Array;
  /** The path as the app gave it, `":memory:"` (or empty) in memory. */
  readonly filename: string;
  readonly inTransaction: boolean;
}

interface DatabaseClass {
  new (file?: string, options?: { readonly?: boolean; create?: boolean; readwrite?: boolean; safeIntegers?: boolean }): Database;
  deserialize(bytes: Uint8Array, options?: { safeIntegers?: boolean }): Database;
}

/** The executor's primitives on one bun:sqlite connection. */
export function createBunSqliteDriver(db: Database): SyncDriver<Database> {
  refuseOtherLibrary(db, "bun-sqlite", "a bun:sqlite Database", ["prepare", "query", "exec"]);
  // Our own statements, not db.query()'s cache: that is the app's, and would keep safeIntegers(false).
  const prepare = cachedStatements(
    (sql) => db.prepare(sql).safeIntegers(false),
    (statement) => statement.finalize(),
  );
  const query = (sql: string, params: readonly unknown[]) => prepare(sql).all(...params) as Row[];
  const Class = db.constructor as DatabaseClass;
  // A copy reads integers as the app's connection does (a migration replayed on it walks the keys it walked), which bun:sqlite sets only when opening.
  const likeApp = () => ({ safeIntegers: readsBigInts(db) });
  // bun:sqlite has no timeout option.
  const open = (file: string, { readonly, busyTimeoutMs }: { readonly: boolean; busyTimeoutMs: number }): Database => {
    const connection = readonly ? new Class(file, { readonly: true, ...likeApp() }) : new Class(file, { create: true, readwrite: true, ...likeApp() });
    try {
      connection.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
      return connection;
    } catch (error) {
      connection.close();
      throw error;
    }
  };
  // bun:sqlite has no open flag; inTransaction throws once closed.
  const isOpen = (): boolean => {
    try {
      void db.inTransaction;
      return true;
    } catch {
      return false;
    }
  };
  if (!isOpen()) throw closedConnectionError("bun-sqlite");
  // Not db.filename, the app's string (perhaps relative): the file SQLite resolved.
  const filePath = db.filename === "" || db.filename === ":memory:" ? null : mainDatabaseFile(query("PRAGMA database_list", []));
  // bun:sqlite throws on SQL that holds no statement (a `-- migrate:empty` section, a comment), which every other library runs as nothing.
  const exec = (sql: string) => void (significantTokens(tokenizeSqliteSql(sql)).some((token) => token.text !== ";") && db.exec(sql));
  const walk = createBatchConnection({ prepare: (sql) => db.prepare(sql), exec, inTransaction: () => db.inTransaction });
  return defineSqliteDriver(walk, "open it with new Database(file, { safeIntegers: true })", {
    name: "bun-sqlite",
    connection: db,
    filePath,
    isOpen,
    exec,
    query,
    run: (sql, params) => ({ changes: prepare(sql).run(...params).changes }),
    inTransaction: () => isOpen() && db.inTransaction,
    ...fileLockPrimitives(open, filePath, createBunSqliteDriver),
    snapshot: () => db.serialize(),
    openSnapshot: (bytes) => createBunSqliteDriver(bytes.length === 0 ? new Class(":memory:", likeApp()) : Class.deserialize(bytes, likeApp())),
    close: () => db.close(),
  });
}

const SyncBase: SyncManagerClass<Database> = /* @__PURE__ */ syncManagerOn(createBunSqliteDriver);
const AsyncBase: AsyncManagerClass<Database> = /* @__PURE__ */ asyncManagerOn(createBunSqliteDriver);

/**
 * Applies and reverts the migrations of a generated registry on one bun:sqlite connection.
 *
 * @example
 * new MigrationManager(new Database("data/app.db"), migrations).up();
 */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncBase<R> {}

/** Applies every pending migration (`migrate(db, migrations)`): the one call an app makes at start-up. */
export const migrate: Migrate<Database> = /* @__PURE__ */ migrateOn(MigrationManager, "bun-sqlite");

/** {@link MigrationManager} returning promises, for async migrations: each one's transaction stays open across its awaits. */
export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncBase<R> {}

/** {@link migrate} for a registry that may hold async migrations; every refusal is a rejection. */
export const migrateAsync: MigrateAsync<Database> = /* @__PURE__ */ migrateAsyncOn(AsyncMigrationManager, "bun-sqlite");

/** Declares a TypeScript migration whose `db` is bun:sqlite's `Database`, whatever other drivers the program imports. */
export const defineMigration: DefineMigration<Database> = returnDefinition;

/**
 * The node:sqlite driver: the executor's primitives on Node's built-in `DatabaseSync`, and the
 * `stepwise-migrate/node-sqlite` entry (`migrate`, `MigrationManager`). Only node:sqlite's API is called
 * here; SQLite itself is the core's business.
 *
 * This file never imports `node:sqlite`: the app's connection brings it, the snapshot copy is opened
 * with that connection's own constructor, and the online backup is looked up with
 * `process.getBuiltinModule` only when asked for. So the package's Node 20 floor holds for everything
 * but this entry, and stepwise needs no `@types/node` newer than 20 (the types below are structural).
 */
import { SyncMigrationManager, migrateWithManager } from "../core/manager.js";
import { AsyncMigrationManager as CoreAsyncMigrationManager, migrateAsyncWithManager, type MigrateAsyncOptions } from "../core/async-manager.js";
import { SQLITE_DIALECT } from "../core/dialects/sqlite.js";
import { createMigrationContext } from "../core/progress.js";
import type { Row, SyncDriver } from "../core/driver.js";
import type { MigrateOptions, MigrationManagerProps, MigrationResult, UpOptions } from "../core/options.js";
import { returnDefinition, type DefineMigration, type MigrationRegistry, type SyncMigrationRegistry, type VersionOf } from "../core/types.js";
import { openFileCopy, snapshotOfConnection } from "./file-copy.js";
import { defineDriver } from "../core/define-driver.js";
import { cachedStatements, classifyNativeSqliteError, createBatchConnection, fileLockPrimitives, type BatchStatement, type SidecarOptions } from "./sqlite-shared.js";
import { usageError } from "../core/error-factories.js";

/** The part of node:sqlite's `StatementSync` stepwise uses. */
export interface StatementSync {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  setReadBigInts(enabled: boolean): void;
}

/**
 * A batch statement that reads an integer beyond 2^53 as an inexact number, as better-sqlite3 and
 * bun:sqlite do, where node:sqlite throws ERR_OUT_OF_RANGE: `forEachBatch` then refuses the key as
 * BATCH_KEY_INVALID (`unsafe-integer`) with its fix, instead of failing with a bare range error. A
 * connection opened with `readBigInts` never throws it, and keeps its bigints.
 */
function inexactBeyondSafeIntegers(statement: StatementSync): BatchStatement {
  const toNumbers = (row: unknown): unknown =>
    row !== null && typeof row === "object" ? Object.fromEntries(Object.entries(row).map(([column, cell]) => [column, typeof cell === "bigint" ? Number(cell) : cell])) : row;
  const read = <T>(run: () => T, convert: (result: T) => T): T => {
    try {
      return run();
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ERR_OUT_OF_RANGE") throw error;
      statement.setReadBigInts(true);
      try {
        return convert(run());
      } finally {
        statement.setReadBigInts(false);
      }
    }
  };
  return {
    get: (...params) => read(() => statement.get(...params), toNumbers),
    all: (...params) =>
      read(
        () => statement.all(...params),
        (rows) => rows.map(toNumbers),
      ),
  };
}

/**
 * The part of node:sqlite's `DatabaseSync` stepwise uses, declared here so stepwise compiles against
 * `@types/node` 20 (which has no `node:sqlite`); the real class fits it.
 */
export interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): StatementSync;
  close(): void;
  /** The file's path, or `null` for an in-memory database. */
  location(dbName?: string): string | null;
  /** Node 22.16 and newer. */
  readonly isTransaction: boolean;
  /** Node 22.15 and newer, so every Node this driver accepts (read as open where it is missing). */
  readonly isOpen?: boolean;
  /** Only on Nodes that have it (24.21 does); the driver checks for it before a snapshot. */
  serialize?(dbName?: string): Uint8Array;
  deserialize?(data: Uint8Array, options?: { dbName?: string }): void;
}

type DatabaseSyncConstructor = new (file: string, options?: { readOnly?: boolean; timeout?: number }) => DatabaseSync;
type BackupFunction = (source: DatabaseSync, path: string) => Promise<number>;

/** `backup()` from `node:sqlite` where this Node has it (24.21 does), or `null`. */
function nodeSqliteBackup(): BackupFunction | null {
  const sqlite = process.getBuiltinModule?.("node:sqlite") as { backup?: unknown } | undefined;
  return typeof sqlite?.backup === "function" ? (sqlite.backup as BackupFunction) : null;
}

/** Whether this Node's `DatabaseSync` can serialize (24.21 can; 22.x cannot). */
function hasSerialize(db: DatabaseSync): boolean {
  return typeof db.serialize === "function" && typeof db.deserialize === "function";
}

/**
 * A row with its integers as numbers, as every other driver reads them. Read as bigints first: with
 * readBigInts off, node:sqlite refuses a whole read that meets one integer past 2^53 (ERR_OUT_OF_RANGE,
 * from a history row written by hand, say) where the other libraries give the nearest number; the core
 * asks SQLite for the exact text where it matters (see `history.ts`).
 */
function numbersOf(row: Row): Row {
  for (const key of Object.keys(row)) {
    const cell = row[key];
    if (typeof cell === "bigint") row[key] = Number(cell);
  }
  return row;
}

/** Another connection on `file` with the class of `db` (the app's node:sqlite): the owner lock's sidecar, or the file a safety net works on. */
function openerFor(db: DatabaseSync): (file: string, options: SidecarOptions) => DatabaseSync {
  const Database = db.constructor as DatabaseSyncConstructor;
  return (file, { readonly, busyTimeoutMs }) => new Database(file, { readOnly: readonly, timeout: Math.max(0, Math.trunc(busyTimeoutMs)) });
}

/**
 * The executor's primitives on one node:sqlite connection.
 *
 * @throws `USAGE` on a Node without `DatabaseSync#isTransaction` (before 22.16).
 * @example
 * const driver = createNodeSqliteDriver(new DatabaseSync("data/app.db"));
 */
export function createNodeSqliteDriver(db: DatabaseSync): SyncDriver<DatabaseSync> {
  // Without it, a rollback could not tell whether SQLite already ended the transaction.
  if (typeof db.isTransaction !== "boolean") throw usageError("stepwise-migrate/node-sqlite needs DatabaseSync#isTransaction, which Node has from 22.16 (and 24.0); upgrade Node.");
  const prepare = cachedStatements((sql) => {
    const statement = db.prepare(sql);
    // Read as bigints, then made numbers (see numbersOf), whatever readBigInts the app opened with.
    statement.setReadBigInts(true);
    return statement;
  });
  const filePath = db.location();
  const open = openerFor(db);
  const batchConnection = createBatchConnection({ prepare: (sql) => inexactBeyondSafeIntegers(db.prepare(sql)), exec: (sql) => db.exec(sql), inTransaction: () => db.isTransaction });
  // `false` only once closed; a Node without the flag is taken at its word that the connection is open.
  const isOpen = (): boolean => db.isOpen !== false;
  const query = (sql: string, params: readonly unknown[]): Row[] => (prepare(sql).all(...params) as Row[]).map(numbersOf);
  const inTransaction = (): boolean => isOpen() && db.isTransaction;
  const Database = db.constructor as DatabaseSyncConstructor;
  const backup = nodeSqliteBackup();
  // No wrapping: errors reach the app as node:sqlite threw them, and classifyError names their errcode.
  return defineDriver({
    name: "node-sqlite",
    dialect: "sqlite",
    async: false,
    connection: db,
    filePath,
    isOpen,
    exec: (sql) => db.exec(sql),
    query,
    run: (sql, params) => ({ changes: Number(prepare(sql).run(...params).changes) }),
    // Prepared once, as the history INSERT is: an exec parses its text every time, once per migration here.
    begin: (mode) => void prepare(mode === "immediate" ? "BEGIN IMMEDIATE" : "BEGIN").run(),
    commit: () => void prepare("COMMIT").run(),
    inTransaction,
    changeCounter: () => query("PRAGMA data_version", [])[0]!.data_version as number,
    createContext: (entry, direction, progress) => createMigrationContext(batchConnection, entry, direction, progress),
    classifyError: classifyNativeSqliteError,
    ...fileLockPrimitives(open, filePath),
    // node:sqlite throws ERR_INVALID_STATE when closing twice; a migration may have closed it already.
    close: () => {
      if (isOpen()) db.close();
    },
    openFile: (file, options) => createNodeSqliteDriver(open(file, options)),
    ...(hasSerialize(db)
      ? {
          snapshot: () => db.serialize!(),
          openSnapshot: (bytes: Uint8Array) => {
            const copy = new Database(":memory:");
            if (bytes.length > 0) copy.deserialize!(bytes);
            return createNodeSqliteDriver(copy);
          },
        }
      : {
          // VACUUM INTO a private temporary file (see `file-copy.ts`), which cannot run in a transaction.
          lacks: ["snapshotInTransaction" as const],
          snapshot: () => snapshotOfConnection({ name: "node-sqlite", exec: (sql) => db.exec(sql), query, inTransaction }),
          openSnapshot: (bytes: Uint8Array) =>
            openFileCopy(bytes, (file) => {
              const copyDriver = createNodeSqliteDriver(new Database(file));
              return { driver: copyDriver, close: () => copyDriver.close!() };
            }),
        }),
    ...(backup === null ? {} : { backupTo: async (path: string) => await backup(db, path) }),
  });
}

/**
 * Applies and reverts the migrations of a generated registry on one node:sqlite connection.
 *
 * @example
 * import { DatabaseSync } from "node:sqlite";
 * import { MigrationManager } from "stepwise-migrate/node-sqlite";
 * import { migrations } from "../generated/registry.js";
 *
 * const manager = new MigrationManager(new DatabaseSync("data/app.db"), migrations);
 * manager.up();
 * manager.down({ steps: 1 });
 */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncMigrationManager<DatabaseSync, R> {
  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when it holds async migrations (use {@link AsyncMigrationManager}).
   */
  constructor(db: DatabaseSync, migrations: R, props: MigrationManagerProps = {}) {
    super(createNodeSqliteDriver(db), migrations, props, SQLITE_DIALECT);
  }

  /** A manager with the same registry and settings on another connection. */
  withDatabase(db: DatabaseSync, props: MigrationManagerProps = {}): MigrationManager<R> {
    return new MigrationManager(db, this.migrations, this.copySettings(props));
  }
}

/**
 * Applies every pending migration: the one call an app makes at start-up.
 *
 * @example
 * migrate(new DatabaseSync("data/app.db"), migrations, { logger: console });
 */
export function migrate<R extends SyncMigrationRegistry>(
  db: DatabaseSync,
  migrations: R,
  options: MigrationManagerProps & UpOptions<VersionOf<R>> & MigrateOptions<MigrationManager<R>> = {},
): MigrationResult {
  return migrateWithManager(options, (props) => new MigrationManager(db, migrations, props), "stepwise-migrate/node-sqlite");
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
export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends CoreAsyncMigrationManager<DatabaseSync, R> {
  /** @throws `REGISTRY_INVALID` when the registry breaks the version rules. */
  constructor(db: DatabaseSync, migrations: R, props: MigrationManagerProps = {}) {
    super(createNodeSqliteDriver(db), migrations, props, SQLITE_DIALECT);
  }
}

/**
 * {@link migrate} for a registry that may hold async migrations: applies every pending migration and
 * resolves to what ran. Every refusal is a rejection.
 *
 * @example
 * const result = await migrateAsync(new DatabaseSync("data/app.db"), migrations, { logger: console });
 */
export function migrateAsync<R extends MigrationRegistry>(db: DatabaseSync, migrations: R, options: MigrateAsyncOptions<VersionOf<R>> = {}): Promise<MigrationResult> {
  return migrateAsyncWithManager(options, (props) => new AsyncMigrationManager(db, migrations, props), "stepwise-migrate/node-sqlite");
}

/**
 * Declares a TypeScript migration whose `db` is node:sqlite's `DatabaseSync`, whatever other drivers the program
 * imports. Otherwise the root `defineMigration` (same rules, same codegen checks).
 *
 * @example
 * import { defineMigration } from "stepwise-migrate/node-sqlite";
 * export default defineMigration({ up(db) { db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); } });
 */
export const defineMigration: DefineMigration<DatabaseSync> = returnDefinition;

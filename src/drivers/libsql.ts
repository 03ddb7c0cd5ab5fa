/** The libsql driver (Turso's embedded libSQL, better-sqlite3's API) and the `stepwise-migrate/libsql` entry's API. libsql 0.5's `backup()` and `serialize()` throw "not implemented": no online
 * backup, and the snapshot is a page copy opened on a private file. `db.name` is always empty. */
import { refuseOtherLibrary } from "../core/options.js";
import { closedConnectionError } from "../core/error-factories.js";
import type Libsql from "libsql";
import { migrateOn, syncManagerOn, type Migrate, type SyncManagerClass } from "../core/manager.js";
import { asyncManagerOn, migrateAsyncOn, type AsyncManagerClass, type MigrateAsync } from "../core/async-manager.js";
import type { Row, SyncDriver } from "../core/driver.js";
import { returnDefinition, type MigrationRegistry, type SyncMigrationRegistry, type DefineMigration } from "../core/types.js";
import { mainDatabaseFile } from "./database-file.js";
import { cachedStatements, createBatchConnection, defineSqliteDriver, fileLockPrimitives, openFileCopy, readsBigInts, snapshotOfConnection } from "./sqlite-shared.js";

/** The `libsql` package's native connection. */
export type Database = Libsql.Database;

type DatabaseConstructor = new (file: string, options?: { readonly: boolean; fileMustExist: boolean; timeout: number }) => Database;

/** The executor's primitives on one libsql connection (a local file or `:memory:`). */
export function createLibsqlDriver(db: Database): SyncDriver<Database> {
  refuseOtherLibrary(db, "libsql", "a libsql Database", ["prepare", "exec", "pragma"]);
  // Its filePath is read here, which a closed connection refuses as a bare TypeError.
  if (!db.open) throw closedConnectionError("libsql");
  const prepare = cachedStatements((sql) => db.prepare(sql).safeIntegers(false) as Libsql.Statement<unknown[]>);
  // One array of values: libsql reads a lone object argument (null, a Uint8Array) as named parameters.
  const query = (sql: string, params: readonly unknown[]): Row[] => prepare(sql).all([...params]) as Row[];
  // libsql 0.5 aborts the process when inTransaction is read after close().
  const inTransaction = (): boolean => db.open && db.inTransaction;
  const exec = (sql: string): void => void db.exec(sql);
  const Class = db.constructor as DatabaseConstructor;
  const open = (file: string, { readonly, busyTimeoutMs }: { readonly: boolean; busyTimeoutMs: number }) => new Class(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
  // The plain PRAGMA: a SELECT would read the schema, failing at once with SQLITE_BUSY while another process commits.
  const filePath = db.memory ? null : mainDatabaseFile(db.prepare("PRAGMA database_list").all() as Row[]);
  // forEachBatch binds the keys it read back: one array of values (a lone Buffer would be named parameters), and blobs as Buffers, since libsql reads them as ArrayBuffers it cannot bind.
  const walk = createBatchConnection({
    prepare: (sql) => {
      const statement = db.prepare(sql);
      return { all: (...params) => statement.all(params).map(blobsAsBuffers) };
    },
    exec,
    inTransaction,
  });
  // A copy reads integers as the app's connection does: a migration replayed on it walks the keys it walked.
  const likeApp = (copy: Database): Database => copy.defaultSafeIntegers(readsBigInts(db));
  return defineSqliteDriver(walk, "call db.defaultSafeIntegers(true) before migrating", {
    name: "libsql",
    connection: db,
    filePath,
    isOpen: () => db.open,
    exec,
    query,
    run: (sql, params) => ({ changes: Number(prepare(sql).run([...params]).changes) }),
    inTransaction,
    ...fileLockPrimitives(open, filePath, (copy) => createLibsqlDriver(likeApp(copy))),
    close: () => void (db.open && db.close()),
    snapshot: () => snapshotOfConnection({ name: "libsql", exec, query, inTransaction }, open),
    openSnapshot: (bytes) => openFileCopy(bytes, (file) => createLibsqlDriver(likeApp(new Class(file))), open),
  });
}

/** `row` with each ArrayBuffer value as a Buffer, as better-sqlite3 reads a blob. */
function blobsAsBuffers(row: unknown): unknown {
  if (typeof row !== "object" || row === null) return row;
  for (const [column, value] of Object.entries(row)) if (value instanceof ArrayBuffer) (row as Record<string, unknown>)[column] = Buffer.from(value);
  return row;
}

const SyncBase: SyncManagerClass<Database> = /* @__PURE__ */ syncManagerOn(createLibsqlDriver);
const AsyncBase: AsyncManagerClass<Database> = /* @__PURE__ */ asyncManagerOn(createLibsqlDriver);

/**
 * Applies and reverts the migrations of a generated registry on one libsql connection.
 *
 * @example
 * new MigrationManager(new Database("data/app.db"), migrations).up();
 */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncBase<R> {}

/** Applies every pending migration (`migrate(db, migrations)`): the one call an app makes at start-up. */
export const migrate: Migrate<Database> = /* @__PURE__ */ migrateOn(MigrationManager, "libsql");

/** {@link MigrationManager} returning promises, for async migrations: each one's transaction stays open across its awaits. */
export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncBase<R> {}

/** {@link migrate} for a registry that may hold async migrations; every refusal is a rejection. */
export const migrateAsync: MigrateAsync<Database> = /* @__PURE__ */ migrateAsyncOn(AsyncMigrationManager, "libsql");

/** Declares a TypeScript migration whose `db` is libsql's `Database`, whatever other drivers the program imports. */
export const defineMigration: DefineMigration<Database> = returnDefinition;

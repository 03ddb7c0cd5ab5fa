/** The better-sqlite3 driver and the `stepwise-migrate/better-sqlite3` entry's API. */
import { refuseOtherLibrary } from "../core/options.js";
import { closedConnectionError } from "../core/error-factories.js";
import BetterSqlite3 from "better-sqlite3";
import type { Database } from "better-sqlite3";
import { migrateOn, syncManagerOn, type Migrate, type SyncManagerClass } from "../core/manager.js";
import { asyncManagerOn, migrateAsyncOn, type AsyncManagerClass, type MigrateAsync } from "../core/async-manager.js";
import type { Row, SyncDriver } from "../core/driver.js";
import { quietly, runBodyOnConnection } from "../core/define-driver.js";
import { isThenable } from "../core/step.js";
import { returnDefinition, type DefineMigration, type MigrationRegistry, type SyncMigrationRegistry } from "../core/types.js";
import { mainDatabaseFile } from "./database-file.js";
import { cachedStatements, defineSqliteDriver, fileLockPrimitives, readsBigInts } from "./sqlite-shared.js";

export type { Database } from "better-sqlite3";

// Only this entry augments `MigrationConnections`: augmentations merge program-wide, so a program that
// sees several drivers would type every `db` as a union. The other entries' `defineMigration` types `db` instead.
declare module "../core/types.js" {
  interface MigrationConnections {
    "better-sqlite3": Database;
  }
}

/** Whether a statement of `db` is still iterating: better-sqlite3 then refuses every other call on the connection (outside its unsafe mode). */
function isIterating(db: Database): boolean {
  try {
    db.exec("");
    return false;
  } catch (error) {
    return error instanceof TypeError && error.message.includes("busy executing a query");
  }
}

const LEFT_ITERATING =
  "it returned while a statement it ran was still iterating (an iterate() neither run to its end nor return()ed), and better-sqlite3 refuses every other statement until that ends, stepwise's record of the migration included: finish the loop, or call the iterator's return(), before the body returns";

/** The executor's primitives on one better-sqlite3 connection. */
export function createBetterSqlite3Driver(db: Database): SyncDriver<Database> {
  refuseOtherLibrary(db, "better-sqlite3", "a better-sqlite3 Database", ["prepare", "exec", "pragma"]);
  // Its filePath is read here, which a closed connection refuses as a bare TypeError.
  if (!db.open) throw closedConnectionError("better-sqlite3");
  // Numbers even when the app set defaultSafeIntegers(true).
  const prepare = cachedStatements((sql) => db.prepare<unknown[], unknown>(sql).safeIntegers(false));
  const query = (sql: string, params: readonly unknown[]) => prepare(sql).all(...params) as Row[];
  // The app's own class: two copies of SQLite in a process do not see each other's locks.
  const Class = db.constructor as typeof BetterSqlite3;
  const open = (file: string, { readonly, busyTimeoutMs }: { readonly: boolean; busyTimeoutMs: number }) => new Class(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
  const isOpen = () => db.open;
  const inTransaction = () => isOpen() && db.inTransaction;
  let unsafeUntilRollback = false;
  // As SQLite resolved it: `db.name` is the app's string, perhaps relative to a folder it has left.
  const filePath = db.memory || db.name === "" ? null : mainDatabaseFile(db.pragma("database_list") as Row[]);
  // A copy reads integers as the app's connection does: a migration replayed on it walks the keys it walked.
  const likeApp = (copy: Database): Database => copy.defaultSafeIntegers(readsBigInts(db));
  return defineSqliteDriver(db, "call db.defaultSafeIntegers(true) before migrating", {
    name: "better-sqlite3",
    connection: db,
    filePath,
    isOpen,
    exec: (sql) => void db.exec(sql),
    query,
    run: (sql, params) => ({ changes: prepare(sql).run(...params).changes }),
    inTransaction,
    rollback: () => {
      if (inTransaction()) quietly(() => db.exec("ROLLBACK"));
      if (unsafeUntilRollback) db.unsafeMode((unsafeUntilRollback = false));
    },
    runBody: (entry, direction, context) => {
      // A statement the body left iterating makes better-sqlite3 refuse every other call, stepwise's savepoint, record and rollback included (once reported as a COMMIT the body
      // ran). SQLite itself can roll back under a statement still reading, so in a transaction the connection goes to unsafe mode (which allows that) until the migration's
      // rollback, and the migration fails as any other.
      const checkIterating = (bodyFailed: boolean): void => {
        if (!db.open || !isIterating(db)) return;
        if (db.inTransaction) db.unsafeMode((unsafeUntilRollback = true));
        if (!bodyFailed) throw new Error(LEFT_ITERATING);
      };
      const failed = (error: unknown): never => {
        checkIterating(true);
        throw error;
      };
      try {
        const result = runBodyOnConnection(db, isOpen, entry, direction, context, () => checkIterating(false));
        return isThenable(result) ? Promise.resolve(result).then(undefined, failed) : result;
      } catch (error) {
        return failed(error);
      }
    },
    ...fileLockPrimitives(open, filePath, (copy) => createBetterSqlite3Driver(likeApp(copy))),
    snapshot: () => db.serialize(),
    openSnapshot: (bytes) => createBetterSqlite3Driver(likeApp(new BetterSqlite3(bytes.length === 0 ? ":memory:" : Buffer.from(bytes)))),
    close: () => void db.close(),
    backupTo: async (path) => (await db.backup(path)).totalPages,
  });
}

const SyncBase: SyncManagerClass<Database> = /* @__PURE__ */ syncManagerOn(createBetterSqlite3Driver);
const AsyncBase: AsyncManagerClass<Database> = /* @__PURE__ */ asyncManagerOn(createBetterSqlite3Driver);

/**
 * Applies and reverts the migrations of a generated registry on one better-sqlite3 connection.
 *
 * @example
 * const manager = new MigrationManager(new Database("data/app.db"), migrations);
 * manager.up();
 * manager.down({ steps: 1 });
 */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncBase<R> {}

/** Applies every pending migration (`migrate(db, migrations)`): the one call an app makes at start-up. */
export const migrate: Migrate<Database> = /* @__PURE__ */ migrateOn(MigrationManager, "better-sqlite3");

/** {@link MigrationManager} returning promises, for async migrations: each one's transaction stays open across its awaits. */
export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncBase<R> {}

/** {@link migrate} for a registry that may hold async migrations; every refusal is a rejection. */
export const migrateAsync: MigrateAsync<Database> = /* @__PURE__ */ migrateAsyncOn(AsyncMigrationManager, "better-sqlite3");

/** Declares a TypeScript migration whose `db` is better-sqlite3's `Database`, whatever other drivers the program imports. */
export const defineMigration: DefineMigration<Database> = returnDefinition;

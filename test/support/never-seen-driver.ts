/**
 * A driver the core has never seen: written in this file against the seam alone (`defineDriver`),
 * over a better-sqlite3 connection, with no code of the package's own drivers. The behavioural suite
 * runs on it through one line of `driver-matrix.ts`; when it passes, the seam is what a new driver
 * needs, and nothing else in the package has to learn of one.
 *
 * It fills the required primitives and the capabilities a file database serves (a snapshot, a second
 * file, an online backup, a change counter, `forEachBatch`, the owner lock and the lock holders, the
 * last two with the helpers every SQLite driver shares), and leaves the rest to the defaults:
 * transactions, busy timeout, error classification, running a migration's body and fencing writes.
 */
import Database from "better-sqlite3";
import { defineDriver } from "../../src/core/define-driver.js";
import { closedConnectionError } from "../../src/core/error-factories.js";
import { migrateOn, syncManagerOn, type Migrate, type SyncManagerClass } from "../../src/core/manager.js";
import { asyncManagerOn, migrateAsyncOn, type AsyncManagerClass, type MigrateAsync } from "../../src/core/async-manager.js";
import { createMigrationContext } from "../../src/core/progress.js";
import type { Row, SyncDriver } from "../../src/core/driver.js";
import type { MigrationRegistry, SyncMigrationRegistry } from "../../src/core/types.js";
import { holdSidecarLock, probeSidecarLock, type SidecarOpener } from "../../src/drivers/sqlite-shared.js";
import { findLockHolders } from "../../src/drivers/lock-holders.js";

type Connection = Database.Database;

/** The seam's primitives on one better-sqlite3 connection. */
export function createNeverSeenDriver(db: Connection): SyncDriver<Connection> {
  // The file path is read below, which a closed connection refuses with the library's own TypeError.
  if (!db.open) throw closedConnectionError("never-seen");
  // Numbers whatever the app's defaultSafeIntegers; a key past 2^53 is then refused by the walk, not rounded.
  const query = (sql: string, params: readonly unknown[]): Row[] =>
    db
      .prepare(sql)
      .safeIntegers(false)
      .all(...params) as Row[];
  // The file SQLite opened, absolute: `db.name` is the app's string, perhaps relative to a folder it left.
  const main = (db.pragma("database_list") as Array<{ name: string; file: string }>).find((row) => row.name === "main");
  const filePath = main === undefined || main.file === "" ? null : main.file;
  const openSidecar: SidecarOpener = (file, { readonly, busyTimeoutMs }) => {
    const sidecar = new Database(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
    return { exec: (sql) => void sidecar.exec(sql), close: () => void sidecar.close() };
  };
  return defineDriver({
    name: "never-seen",
    dialect: "sqlite",
    async: false,
    connection: db,
    filePath,
    isOpen: () => db.open,
    exec: (sql) => void db.exec(sql),
    query,
    run: (sql, params) => ({ changes: db.prepare(sql).run(...params).changes }),
    inTransaction: () => db.open && db.inTransaction,
    changeCounter: () => Number(query("PRAGMA data_version", [])[0]!.data_version),
    createContext: (entry, direction, progress) => createMigrationContext(db, entry, direction, progress),
    snapshot: () => db.serialize(),
    // The copy reads integers as the app's connection does, so a migration replayed on it walks the same keys; the library has no getter, a statement prepared now takes the default.
    openSnapshot: (bytes) => createNeverSeenDriver(new Database(bytes.length === 0 ? ":memory:" : Buffer.from(bytes)).defaultSafeIntegers(typeof db.prepare("SELECT 1").pluck().get() === "bigint")),
    close: () => void db.close(),
    openFile: (file, { readonly, busyTimeoutMs }) => createNeverSeenDriver(new Database(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs })),
    backupTo: async (file) => (await db.backup(file)).totalPages,
    holdOwnerLock: (tableName, busyTimeoutMs) => holdSidecarLock(openSidecar, filePath, tableName, busyTimeoutMs),
    probeOwnerLock: (fileName) => probeSidecarLock(openSidecar, filePath, fileName),
    lockHolders: () => (filePath === null ? [] : findLockHolders(filePath)),
  });
}

const SyncBase: SyncManagerClass<Connection> = /* @__PURE__ */ syncManagerOn(createNeverSeenDriver);
const AsyncBase: AsyncManagerClass<Connection> = /* @__PURE__ */ asyncManagerOn(createNeverSeenDriver);

/** The driver's manager, as a driver entry exports it. */
export class MigrationManager<R extends SyncMigrationRegistry = MigrationRegistry> extends SyncBase<R> {}

/** Applies every pending migration. */
export const migrate: Migrate<Connection> = /* @__PURE__ */ migrateOn(MigrationManager, "never-seen");

/** The async API, for registries with async migrations. */
export class AsyncMigrationManager<R extends MigrationRegistry = MigrationRegistry> extends AsyncBase<R> {}

/** {@link migrate} for registries that may hold async migrations. */
export const migrateAsync: MigrateAsync<Connection> = /* @__PURE__ */ migrateAsyncOn(AsyncMigrationManager, "never-seen");

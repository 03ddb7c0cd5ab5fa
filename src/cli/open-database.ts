/** How the CLI opens a database through the chosen driver: the loader contract, SQLite's connection, and the typed failures of a library that cannot load. */
import { existsSync } from "node:fs";
import { driverCapabilityError } from "../core/driver.js";
import { driverNotInstalledError, driverUnknownError, usageError } from "../core/error-factories.js";
import type { StepwiseError } from "../core/errors.js";
import { SyncMigrationManager } from "../core/manager.js";
import type { DriverIdentity, MigrationManagerBase } from "../core/manager-base.js";
import type { MigrationManagerProps } from "../core/options.js";
import { translateSqliteError } from "../core/error-factories.js";
import { isAsyncMigration, type MigrationRegistry } from "../core/types.js";
import type { Database } from "../drivers/better-sqlite3.js";
import type { CliDriverName } from "./driver-names.js";

/** What a command asks of the connection, as a driver's loader and `openUrl` are told it. */
export type OpenMode = "read" | "write";

/** An {@link OpenMode}, or `rehearse` (a dry run, verify): no file is created, but a server session and an async manager stay writable to roll back; a sync manager rehearses on a copy. */
export type CommandMode = OpenMode | "rehearse";

/** A manager the CLI drives, whose methods return values or promises; the commands await either. */
export type CliManager<R extends MigrationRegistry> = MigrationManagerBase<unknown, R, boolean, DriverIdentity<unknown>>;

/** How the CLI asks a driver to open the database. */
export interface OpenDatabaseOptions<R extends MigrationRegistry> {
  /** Absolute path, or `:memory:`; for a driver that connects by URL, the URL as it may be shown (password hidden). */
  readonly databasePath: string;
  /** The connection URL, for a driver that connects by URL; it may hold a password. */
  readonly url?: string;
  /** The history table's schema, for pg. */
  readonly schema?: string;
  /** The server's auth token (libsql-client, from `LIBSQL_AUTH_TOKEN`); a secret. */
  readonly authToken?: string;
  /** For libsql-client's `file:` URL: a missing file is read as an empty database, never created. */
  readonly neverCreate?: boolean;
  readonly busyTimeoutMs: number;
  /** For pg: the `lock_timeout` of the session and its runs; the driver's default when absent. */
  readonly lockTimeoutMs?: number;
  readonly migrations: R;
  readonly props: MigrationManagerProps;
}

/** A manager on a connection the CLI opened, and how to close that connection. */
export interface OpenedDatabase<R extends MigrationRegistry> {
  readonly manager: CliManager<R>;
  /** Whether the database existed before it was opened, for libsql-client's `file:` URL; a server's always does. */
  readonly exists?: boolean;
  close(): void | Promise<void>;
  /** The typed error for a failed read the CLI made outside the manager's methods (`info`'s counts), in this driver's words. */
  translateError(error: unknown): unknown;
}

/** A driver whose library is loaded and whose runtime is right: all that is left is opening the database. */
export interface DriverConnector {
  open<R extends MigrationRegistry>(options: OpenDatabaseOptions<R>): Promise<OpenedDatabase<R>>;
}

/** A SQLite library's native connection, and the manager for a registry on it. */
export interface SqliteConnection {
  readonly db: { exec(sql: string): unknown; close(): unknown };
  createManager<R extends MigrationRegistry>(migrations: R, props: MigrationManagerProps): CliManager<R>;
}

/** Opens a SQLite library's native connection on `file` (the database or `:memory:`). */
export type DriverConnect = (file: string, exists: boolean) => SqliteConnection;

/** How a driver that connects by URL opens its session: every step a round trip, and read mode its own to set up. */
export interface UrlDriverConnect {
  openUrl<R extends MigrationRegistry>(options: OpenDatabaseOptions<R> & { readonly url: string }, mode: OpenMode): Promise<OpenedDatabase<R>>;
}

/** Checks the runtime and loads a driver's library, touching no file; `operation` names the command in refusals. */
export type DriverLoader = (operation: string, mode: OpenMode) => Promise<DriverConnect | UrlDriverConnect>;

/** The drivers a CLI can open databases with, by name. */
export type DriverLoaders = Partial<Record<CliDriverName, DriverLoader>>;

/**
 * Loads the chosen driver's library, touching no file; its connector's read never creates the file
 * and switches writes off. `operation` names the command in refusals, `source` where the driver was chosen.
 *
 * @throws `DRIVER_UNKNOWN`, `DRIVER_NOT_INSTALLED`, `DRIVER_RUNTIME_UNSUPPORTED`, or `DRIVER_CAPABILITY_MISSING` (sql.js asked to write).
 */
export async function loadDriver(driver: CliDriverName, mode: CommandMode, operation: string, loaders: DriverLoaders, source: string): Promise<DriverConnector> {
  if (mode === "write") assertDriverWrites(driver, operation);
  const loader = loaders[driver];
  // An app's own CLI may be built with fewer drivers than the bin: for it, the rest are unknown.
  if (loader === undefined) throw driverUnknownError({ driver, source, validDrivers: Object.keys(loaders) });
  const loaded = await loader(operation, mode === "rehearse" ? "read" : mode);
  if (typeof loaded !== "function") {
    return {
      open(options) {
        if (options.url === undefined) throw usageError(`The ${driver} driver connects to a server: pass --url.`);
        return loaded.openUrl({ ...options, url: options.url, neverCreate: mode !== "write" }, mode === "rehearse" ? "write" : mode);
      },
    };
  }
  return {
    async open({ databasePath, busyTimeoutMs, migrations, props }) {
      const exists = databasePath === ":memory:" || existsSync(databasePath);
      // A read opens the file read-write but never creates it: only a connection that may write can roll back a crashed writer's hot journal.
      let connection: SqliteConnection;
      try {
        connection = loaded(mode === "write" || exists ? databasePath : ":memory:", exists);
      } catch (error) {
        throw translateSqliteError(libraryError(driver, error) ?? error, busyTimeoutMs);
      }
      const { db } = connection;
      try {
        db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
        const manager = connection.createManager(migrations, props);
        if (mode === "read" || (mode === "rehearse" && manager instanceof SyncMigrationManager)) db.exec("PRAGMA query_only = ON");
        // The code is the driver's reading: node:sqlite's errors carry a number, sql.js's only a message.
        return { manager, close: () => void db.close(), translateError: (error) => translateSqliteError(error, busyTimeoutMs, manager.driver.classifyError(error).nativeCode) };
      } catch (error) {
        db.close();
        throw translateSqliteError(error, busyTimeoutMs);
      }
    },
  };
}

/** Imports a driver's library (and stepwise's module for it), turning "not installed" and "built for another runtime" into `DRIVER_NOT_INSTALLED`. */
export async function loadLibrary<T>(driver: CliDriverName, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw libraryError(driver, error) ?? error;
  }
}

/** The typed error for a library that is missing or fails to load, or `null` for any other failure. */
function libraryError(driver: CliDriverName, error: unknown): StepwiseError<"DRIVER_NOT_INSTALLED"> | null {
  // node:sqlite and bun:sqlite are built into their runtimes; the rest are npm packages of (nearly) the driver's name.
  const packageName = driver === "sql-js" ? "sql.js" : driver === "libsql-client" ? "@libsql/client" : driver.replace(/^(node|bun)-/, "$1:");
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  const notFound = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
  // A native addon built for another Node, or a missing part of the package (libsql's platform binary).
  const unloadable = code === "ERR_DLOPEN_FAILED" || /NODE_MODULE_VERSION/.test(text);
  if (!notFound && !unloadable) return null;
  const missing = notFound && text.includes(`'${packageName}'`);
  const installCommand = `npm ${missing || !unloadable ? "install" : "rebuild"} ${packageName}`;
  return driverNotInstalledError({ driver, packageName, installCommand, reason: missing ? "missing" : "unloadable", cause: error });
}

/** Refuses (`DRIVER_CAPABILITY_MISSING`) a command that writes on sql.js, which works on bytes in memory: it can neither lock the file nor write it back atomically. */
export function assertDriverWrites(driver: CliDriverName, operation: string): void {
  if (driver === "sql-js") throw driverCapabilityError({ driver: "sql.js", capability: "fileLocking", operation });
}

/** A stepwise SQLite driver module's managers, over the library's connection `D`. */
export interface SqliteDriverModule<D> {
  readonly MigrationManager: new <R extends MigrationRegistry>(db: D, migrations: R, props?: MigrationManagerProps) => SyncMigrationManager<unknown, R>;
  /** For a registry holding async migrations; without it such a registry meets the sync manager's refusal. */
  readonly AsyncMigrationManager?: new <R extends MigrationRegistry>(db: D, migrations: R, props?: MigrationManagerProps) => unknown;
}

/** `db` and the manager `module` makes on it: the async one for a registry holding async migrations, when the driver has one. */
export function sqliteConnection<D extends SqliteConnection["db"]>(db: D, { MigrationManager, AsyncMigrationManager }: SqliteDriverModule<D>): SqliteConnection {
  return {
    db,
    createManager: (migrations, props) =>
      AsyncMigrationManager && migrations.some(isAsyncMigration) ? (new AsyncMigrationManager(db, migrations, props) as CliManager<typeof migrations>) : new MigrationManager(db, migrations, props),
  };
}

/** The parts of better-sqlite3 and its stepwise driver that {@link connectBetterSqlite3} uses. */
export interface BetterSqlite3Modules extends SqliteDriverModule<Database> {
  readonly Database: new (file: string, options?: { fileMustExist?: boolean }) => Database;
}

/** How better-sqlite3 opens a connection, for the bin's loader (imported on use) and `stepwise-migrate/cli`'s default (imported statically). */
export function connectBetterSqlite3(modules: BetterSqlite3Modules, mode: OpenMode): DriverConnect {
  // better-sqlite3 loads its native addon on the first `new Database`; a failure there is typed by `open`.
  return (file, exists) => sqliteConnection(new modules.Database(file, { fileMustExist: mode === "read" && exists && file !== ":memory:" }), modules);
}

/**
 * How the CLI opens a database through the driver the user chose: the loader contract every driver
 * fills, the typed failures, and better-sqlite3's connection. The loaders themselves live in
 * `driver-loaders.ts` (the bin: each library imported on use, so a project with only `libsql` never
 * needs better-sqlite3) and `better-sqlite3-loader.ts` (`stepwise-migrate/cli`: a static import a bundler
 * resolves). Every failure to get a connection is typed and thrown before the file is touched.
 */
import { existsSync } from "node:fs";
import { SyncMigrationManager } from "../core/manager.js";
import type { DriverIdentity, MigrationManagerBase } from "../core/manager-base.js";
import type { MigrationManagerProps } from "../core/options.js";
import { translateSqliteError } from "../core/sqlite-errors.js";
import { isAsyncMigration, type MigrationRegistry } from "../core/types.js";
import type { Database } from "../drivers/better-sqlite3.js";
import type { CliDriverName } from "./driver-names.js";
import { driverCapabilityError } from "../core/driver.js";
import { driverNotInstalledError, usageError, driverUnknownError } from "../core/error-factories.js";
import type { StepwiseError } from "../core/errors.js";

/** What a command asks of the connection, as a driver's loader and `openUrl` are told it. */
export type OpenMode = "read" | "write";

/**
 * What a command asks of `loadDriver`: an {@link OpenMode}, or `rehearse` (a dry run, a
 * verification), which reads like `read` (a missing SQLite file is never created) but may write inside
 * a transaction it rolls back: a PostgreSQL session is opened as for `write` (not read-only, so a
 * rehearsal's transaction and verify's scratch database can be made), and a SQLite connection whose
 * manager is async is left writable (its rehearsal runs on the file, rolled back); a sync manager
 * rehearses on a copy, so its connection stays `query_only`.
 */
export type CommandMode = OpenMode | "rehearse";

/**
 * A manager the CLI drives: a SQLite driver's, whose methods return values, or a server driver's
 * (pg), whose methods return promises. The commands await what either returns, so there is one
 * command layer for both.
 */
export type CliManager<R extends MigrationRegistry> = MigrationManagerBase<unknown, R, boolean, DriverIdentity<unknown>>;

/** How the CLI asks a driver to open the database. */
export interface OpenDatabaseOptions<R extends MigrationRegistry> {
  /** Absolute path, or `:memory:`; for a driver that connects by URL, the URL as it may be shown (password hidden). */
  readonly databasePath: string;
  /** The connection URL, for a driver that connects by URL (see `connectsByUrl`); it may hold a password. */
  readonly url?: string;
  /** The history table's schema, for a driver whose database has schemas (pg). */
  readonly schema?: string;
  /** The server's auth token, for a driver that takes one (libsql-client, from `LIBSQL_AUTH_TOKEN`); it is a secret. */
  readonly authToken?: string;
  /**
   * For a driver that connects by URL to a local file (libsql-client's `file:`): a missing file is
   * read as an empty database, never created. Set for every command mode but `write`.
   */
  readonly neverCreate?: boolean;
  readonly busyTimeoutMs: number;
  /** For pg: the `lock_timeout` of the session and of its runs (`--lock-timeout`); the driver's default when absent. */
  readonly lockTimeoutMs?: number;
  readonly migrations: R;
  readonly props: MigrationManagerProps;
}

/** A manager on a connection the CLI opened, and how to close that connection. */
export interface OpenedDatabase<R extends MigrationRegistry> {
  readonly manager: CliManager<R>;
  /** Whether the database existed before it was opened, for a driver that connects by URL to a file (libsql-client's `file:`); a server's always does. */
  readonly exists?: boolean;
  close(): void | Promise<void>;
  /**
   * The typed error for a failure of a read the CLI made outside the manager's own methods (`info`'s
   * counts, say), in the words of this driver's database; anything else is returned unchanged.
   */
  translateError(error: unknown): unknown;
}

/** A driver whose library is loaded and whose runtime is right: all that is left is opening the file. */
export interface DriverConnector {
  /**
   * Opens the database and builds its manager. The busy timeout is set before the first read (even
   * reading waits for a writer's lock), and read mode sets `query_only`.
   */
  open<R extends MigrationRegistry>(options: OpenDatabaseOptions<R>): Promise<OpenedDatabase<R>>;
}

/** The part of every native connection this module uses; all five SQLite libraries have both. */
export interface NativeConnection {
  exec(sql: string): unknown;
  close(): unknown;
}

/** Opens the native connection (`file` is the database or `:memory:`) and makes a manager on it. */
export type DriverConnect = <R extends MigrationRegistry>(
  file: string,
  exists: boolean,
  options: OpenDatabaseOptions<R>,
) => {
  db: NativeConnection;
  createManager: () => SyncMigrationManager<unknown, R>;
  /**
   * The driver's `AsyncMigrationManager` on the same connection, used when `gen` marked migrations of
   * the registry async; without it such a registry meets the sync manager's typed refusal.
   */
  createAsyncManager?: () => CliManager<R>;
};

/**
 * How a driver that connects by URL (pg) opens its connection: everything is a round trip, so it is
 * async, and it sets up read mode itself (there are no PRAGMAs to run).
 */
export interface UrlDriverConnect {
  /** Connects to `options.url` and builds the manager; read mode makes the session read-only. */
  openUrl<R extends MigrationRegistry>(options: OpenDatabaseOptions<R> & { readonly url: string }, mode: OpenMode): Promise<OpenedDatabase<R>>;
}

/**
 * Checks the runtime and loads a driver's library, touching no file, and returns how to open a
 * connection with it. `operation` names the command in refusals.
 */
export type DriverLoader = (operation: string, mode: OpenMode) => Promise<DriverConnect | UrlDriverConnect>;

/** The drivers a CLI can open databases with, by name. */
export type DriverLoaders = Partial<Record<CliDriverName, DriverLoader>>;

/**
 * Checks the runtime and loads the chosen driver's library, touching no file. `read` connections
 * never create the file (a missing one reads as an empty in-memory database) and switch writes off;
 * `write` ones open or create it.
 *
 * @param operation - the command, for refusals (`"stepwise up"`).
 * @throws `DRIVER_NOT_INSTALLED`, `DRIVER_RUNTIME_UNSUPPORTED`, or `DRIVER_CAPABILITY_MISSING` (sql.js
 *   asked to write).
 */
export async function loadDriver(driver: CliDriverName, mode: CommandMode, operation: string, loaders: DriverLoaders, source: string): Promise<DriverConnector> {
  if (mode === "write") assertDriverWrites(driver, operation);
  const loader = loaders[driver];
  // An app's own CLI may be built with fewer drivers than the stepwise bin: for it, the rest are unknown.
  if (loader === undefined) throw driverUnknownError({ driver, source, validDrivers: Object.keys(loaders) });
  // A rehearsal opens a SQLite file as a read does; on a server it needs a session that may write (and rolls back).
  const loaded = await loader(operation, mode === "rehearse" ? "read" : mode);
  if (typeof loaded !== "function") {
    return {
      open(options) {
        if (options.url === undefined) throw usageError(`The ${driver} driver connects to a server: pass --url.`);
        return loaded.openUrl({ ...options, url: options.url, neverCreate: mode !== "write" }, mode === "rehearse" ? "write" : mode);
      },
    };
  }
  const connect = loaded;
  return {
    async open(options) {
      const exists = options.databasePath === ":memory:" || existsSync(options.databasePath);
      // Read commands open the file read-write but never create it: a hot journal left by a crashed
      // writer can only be rolled back by a connection that may write.
      const file = mode === "write" || exists ? options.databasePath : ":memory:";
      let opened: ReturnType<typeof connect<typeof options.migrations>>;
      try {
        opened = connect(file, exists, options);
      } catch (error) {
        throw translateSqliteError(libraryError(driver, PACKAGES[driver], error) ?? error, options.busyTimeoutMs);
      }
      const { db } = opened;
      try {
        db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs}`);
        // The sync API refuses a registry with async migrations; the driver's async manager runs them.
        const manager: CliManager<typeof options.migrations> =
          opened.createAsyncManager !== undefined && options.migrations.some(isAsyncMigration) ? opened.createAsyncManager() : opened.createManager();
        if (mode === "read" || (mode === "rehearse" && manager instanceof SyncMigrationManager)) db.exec("PRAGMA query_only = ON");
        return {
          manager,
          close: () => void db.close(),
          // The code is the driver's reading: node:sqlite's errors carry a number, sql.js's only a message.
          translateError: (error) => translateSqliteError(error, options.busyTimeoutMs, manager.driver.classifyError(error).nativeCode),
        };
      } catch (error) {
        db.close();
        throw translateSqliteError(error, options.busyTimeoutMs);
      }
    },
  };
}

/** The npm package behind each driver (node:sqlite and bun:sqlite are built into their runtimes). */
const PACKAGES: Record<CliDriverName, string> = {
  pg: "pg",
  "better-sqlite3": "better-sqlite3",
  "node-sqlite": "node:sqlite",
  "bun-sqlite": "bun:sqlite",
  libsql: "libsql",
  "sql-js": "sql.js",
  "libsql-client": "@libsql/client",
};

/**
 * Imports a driver's library (and stepwise's module for it, which imports the library too), turning
 * "not installed" and "installed for another runtime" into `DRIVER_NOT_INSTALLED`.
 */
export async function loadLibrary<T>(driver: CliDriverName, packageName: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw libraryError(driver, packageName, error) ?? error;
  }
}

/** The typed error for a library that is missing or fails to load, or `null` for any other failure. */
function libraryError(driver: CliDriverName, packageName: string, error: unknown): StepwiseError<"DRIVER_NOT_INSTALLED"> | null {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  if ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && text.includes(`'${packageName}'`)) {
    return driverNotInstalledError({ driver, packageName, installCommand: `npm install ${packageName}`, reason: "missing", cause: error });
  }
  // A native addon built for another Node (better-sqlite3 loads it on the first `new Database`), or
  // a part of the package that is missing (libsql's binary for this platform is a package of its own).
  if (code === "ERR_DLOPEN_FAILED" || /NODE_MODULE_VERSION/.test(text)) {
    return driverNotInstalledError({ driver, packageName, installCommand: `npm rebuild ${packageName}`, reason: "unloadable", cause: error });
  }
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
    return driverNotInstalledError({ driver, packageName, installCommand: `npm install ${packageName}`, reason: "unloadable", cause: error });
  }
  return null;
}

/**
 * Refuses a command that writes when the driver cannot write the file safely: sql.js works on bytes
 * in memory, so it can neither lock the file against other writers nor write it back atomically, and
 * a migration applied through it could be lost or could overwrite another process's. Reading is
 * safe (see `liveWriterSidecar`), so read commands work.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` (`fileLocking`) before anything is touched.
 */
export function assertDriverWrites(driver: CliDriverName, operation: string): void {
  if (driver === "sql-js") throw driverCapabilityError({ driver: "sql.js", capability: "fileLocking", operation });
}

/** The parts of better-sqlite3 and its stepwise driver that `connectBetterSqlite3` uses. */
export interface BetterSqlite3Modules {
  readonly Database: new (file: string, options?: { fileMustExist?: boolean }) => Database;
  readonly MigrationManager: new <R extends MigrationRegistry>(db: Database, migrations: R, props?: MigrationManagerProps) => SyncMigrationManager<unknown, R>;
  /** Its `AsyncMigrationManager`, for a registry holding async migrations; without it such a registry is refused. */
  readonly AsyncMigrationManager?: new <R extends MigrationRegistry>(db: Database, migrations: R, props?: MigrationManagerProps) => CliManager<R>;
}

/**
 * How better-sqlite3 opens a connection, for its two loaders: the bin's, which imports the library
 * on first use, and `stepwise-migrate/cli`'s default, which imports it statically so a bundler resolves it.
 */
export function connectBetterSqlite3(modules: BetterSqlite3Modules, mode: OpenMode): DriverConnect {
  return (file, exists, options) => {
    // better-sqlite3 loads its native addon on the first `new Database`; a failure there is typed by `open`.
    const db = new modules.Database(file, { fileMustExist: mode === "read" && exists && file !== ":memory:" });
    const { AsyncMigrationManager } = modules;
    return {
      db,
      createManager: () => new modules.MigrationManager(db, options.migrations, options.props),
      ...(AsyncMigrationManager === undefined ? {} : { createAsyncManager: () => new AsyncMigrationManager(db, options.migrations, options.props) }),
    };
  };
}

/** How the CLI opens a database: the contract a driver's loader fills, the SQLite libraries' and the servers' openers, and a library's typed failures to load. */
import { existsSync } from "node:fs";
import type pg from "pg";
import { classifyPostgresError, describeConnectionFailure, translatePostgresError } from "../core/dialects/postgres.js";
import { driverCapabilityError } from "../core/driver.js";
import { databaseUnusableError, translateSqliteError } from "../core/error-factories.js";
import { driverNotInstalledError, driverUnknownError, refusal } from "./errors.js";
import { installCommand as installCommandOf } from "../shared/install-command.js";
import { StepwiseError } from "../core/errors.js";
import { SyncMigrationManager } from "../core/manager.js";
import type { DriverIdentity, MigrationManagerBase } from "../core/manager-base.js";
import { DEFAULT_LOCK_TIMEOUT_MS, type MigrationManagerProps } from "../core/options.js";
import { isAsyncMigration, type MigrationRegistry } from "../core/types.js";
import type { Database } from "../drivers/better-sqlite3.js";
import { CLI_DRIVERS, type CliDriverName } from "./driver-names.js";

/** What a command asks of the connection: `read` creates and writes nothing; `rehearse` (a dry run, verify) creates no file, but a server session or an async manager stays writable to roll back. */
export type CommandMode = "read" | "write" | "rehearse";

/** A manager the CLI drives, whose methods return values or promises; the commands await either. */
export type CliManager<R extends MigrationRegistry> = MigrationManagerBase<unknown, R, boolean, DriverIdentity<unknown>>;

/** How the CLI asks a driver to open the database: `databasePath` (absolute, or `:memory:`), or by URL the `url` (it may hold a secret) with pg's `schema` and `lockTimeoutMs`. */
export interface OpenDatabaseOptions<R extends MigrationRegistry> {
  readonly databasePath: string;
  readonly url?: string;
  readonly schema?: string;
  readonly authToken?: string;
  readonly busyTimeoutMs: number;
  readonly lockTimeoutMs?: number;
  readonly migrations: R;
  readonly props: MigrationManagerProps;
}

/** A manager on a connection the CLI opened; whether a libsql-client `file:` database existed; how to close it; the typed error for a read outside the manager (`info`'s counts). */
export interface OpenedDatabase<R extends MigrationRegistry> {
  readonly manager: CliManager<R>;
  readonly exists?: boolean;
  close(): void | Promise<void>;
  translateError(error: unknown): unknown;
}

/** What a driver's loader returns: how it opens a session for a command's mode. */
export interface DatabaseOpener {
  open<R extends MigrationRegistry>(options: OpenDatabaseOptions<R>, mode: CommandMode): Promise<OpenedDatabase<R>>;
}

/** A driver loaded and checked for a command's mode: all that is left is opening the database. */
export interface DriverConnector {
  open<R extends MigrationRegistry>(options: OpenDatabaseOptions<R>): Promise<OpenedDatabase<R>>;
}

/** Checks the runtime and loads a driver's library, touching no file; `operation` names the command in refusals. */
export type DriverLoader = (operation: string) => Promise<DatabaseOpener>;

/** The drivers a CLI can open databases with, by name. */
export type DriverLoaders = Partial<Record<CliDriverName, DriverLoader>>;

/**
 * Loads the chosen driver's library, touching no file. `operation` names the command in refusals, `source` where the driver was chosen.
 *
 * @throws `DRIVER_UNKNOWN`, `DRIVER_NOT_INSTALLED`, `DRIVER_RUNTIME_UNSUPPORTED`, or `DRIVER_CAPABILITY_MISSING` (sql.js asked to write).
 */
export async function loadDriver(driver: CliDriverName, mode: CommandMode, operation: string, loaders: DriverLoaders, source: string): Promise<DriverConnector> {
  if (mode === "write") assertDriverWrites(driver, operation);
  const loader = loaders[driver];
  // An app's own CLI may be built with fewer drivers than the bin: for it, the rest are unknown.
  if (loader === undefined) throw driverUnknownError({ driver, source, validDrivers: Object.keys(loaders) });
  const connect = await loader(operation);
  return { open: (options) => connect.open(options, mode) };
}

/** Refuses (`DRIVER_CAPABILITY_MISSING`) a command that writes on sql.js, which works on bytes in memory: it can neither lock the file nor write it back atomically. */
export function assertDriverWrites(driver: CliDriverName, operation: string): void {
  if (driver === "sql-js")
    throw driverCapabilityError({
      driver: "sql.js",
      capability: "fileLocking",
      operation,
      fix: "Run it with --driver better-sqlite3 (or another driver with file locking): the file is the same SQLite file.",
    });
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
  const packageName = CLI_DRIVERS[driver].library;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  const notFound = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
  // better-sqlite3 installed without its install script (npm 12 skips an unapproved one, as --ignore-scripts does) has no
  // .node file, and its loader, the bindings package, says so in a plain Error without a code.
  const unbuilt = /Could not locate the bindings file/.test(text);
  // A native addon built for another Node, a missing part of the package (libsql's platform binary), or one never built.
  const unloadable = code === "ERR_DLOPEN_FAILED" || /NODE_MODULE_VERSION/.test(text) || unbuilt;
  if (!notFound && !unloadable) return null;
  const missing = notFound && text.includes(`'${packageName}'`);
  const installCommand = installCommandOf(packageName, { rebuild: !missing && unloadable, userAgent: process.env.npm_config_user_agent });
  return driverNotInstalledError({ driver, packageName, installCommand, reason: missing ? "missing" : "unloadable", cause: error, unbuilt });
}

/** A SQLite library's native connection, as the CLI uses it. */
type SqliteDatabase = { exec(sql: string): unknown; close(): unknown };

/** A stepwise SQLite driver module's managers over the library's connection `D` (without the async one, an async registry meets the sync manager's refusal). */
export interface SqliteDriverModule<D> {
  readonly MigrationManager: new <R extends MigrationRegistry>(db: D, migrations: R, props?: MigrationManagerProps) => SyncMigrationManager<unknown, R>;
  readonly AsyncMigrationManager?: new <R extends MigrationRegistry>(db: D, migrations: R, props?: MigrationManagerProps) => unknown;
}

/** The opener of a SQLite library. A read opens the file read-write (only such a connection can roll back a crashed writer's hot journal) but never creates it, and switches writes off. */
export function sqliteConnector<D extends SqliteDatabase>(driver: CliDriverName, openDatabase: (file: string, exists: boolean, mode: CommandMode) => D, module: SqliteDriverModule<D>): DatabaseOpener {
  return {
    async open({ databasePath, busyTimeoutMs, migrations, props }, mode) {
      const exists = databasePath === ":memory:" || existsSync(databasePath);
      let db: D;
      try {
        db = openDatabase(mode === "write" || exists ? databasePath : ":memory:", exists, mode);
      } catch (error) {
        throw translateSqliteError(libraryError(driver, error) ?? error, busyTimeoutMs);
      }
      try {
        db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
        const async = module.AsyncMigrationManager && migrations.some(isAsyncMigration);
        const manager = (async ? new module.AsyncMigrationManager!(db, migrations, props) : new module.MigrationManager(db, migrations, props)) as CliManager<typeof migrations>;
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

/** The parts of better-sqlite3 and its stepwise driver that {@link connectBetterSqlite3} uses. */
export interface BetterSqlite3Modules extends SqliteDriverModule<Database> {
  readonly Database: new (file: string, options?: { fileMustExist?: boolean }) => Database;
}

/** better-sqlite3's connector, for the bin's loader (imported on use) and `stepwise-migrate/cli`'s default (imported statically). */
export function connectBetterSqlite3(modules: BetterSqlite3Modules): DatabaseOpener {
  // better-sqlite3 loads its native addon on the first `new Database`; a failure there is typed on open.
  return sqliteConnector("better-sqlite3", (file, exists, mode) => new modules.Database(file, { fileMustExist: mode !== "write" && exists && file !== ":memory:" }), modules);
}

/**
 * The parts of `pg` and of stepwise's pg driver that {@link connectPostgres} uses: `C` is pg's `Client`. Written
 * without pg's types, so that the cli entry type-checks (`skipLibCheck: false`) in an app that has no pg.
 */
export interface PostgresModules<C extends PostgresSession = PostgresSession> {
  readonly Client: new (config: { connectionString: string; options?: string; connectionTimeoutMillis: number; application_name: string }) => C;
  readonly MigrationManager: new <R extends MigrationRegistry>(
    db: C,
    migrations: R,
    props?: MigrationManagerProps & { readonly schema?: string; readonly lockTimeoutMs?: number },
  ) => { readonly lockTimeoutMs: number };
}

/** What {@link connectPostgres} calls on a pg `Client`. */
export interface PostgresSession {
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: "error", listener: (error: Error) => void): unknown;
  query(sql: string): Promise<{ rows: unknown[] }>;
}

/**
 * The pg driver's opener: one session per command, read-only for a read. An app's own CLI offers pg with its own static imports:
 *
 * ```ts
 * import pg from "pg";
 * import { MigrationManager } from "stepwise-migrate/pg";
 * import { connectPostgres, createCli } from "stepwise-migrate/cli";
 * createCli({ migrations, drivers: { pg: async () => connectPostgres({ Client: pg.Client, MigrationManager }) }, driver: "pg" });
 * ```
 */
export function connectPostgres<C extends PostgresSession>(modules: PostgresModules<C>): DatabaseOpener {
  return {
    async open(options, mode) {
      const { schema } = options;
      const client = new modules.Client({ ...sessionIn(options.url!, schema), connectionTimeoutMillis: 10_000, application_name: "stepwise" });
      // A server that drops the session emits "error" on the client; the next query reports it.
      client.on("error", () => {});
      const end = () => client.end().catch(() => {});
      try {
        await client.connect();
      } catch (error) {
        await end();
        throw describeConnectionFailure(error);
      }
      let lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
      const translateError = (error: unknown) => translatePostgresError(error, options.busyTimeoutMs, classifyPostgresError(error), lockTimeoutMs);
      try {
        const manager = new modules.MigrationManager(client, options.migrations, {
          ...options.props,
          ...(schema === undefined ? {} : { schema }),
          ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
        });
        lockTimeoutMs = manager.lockTimeoutMs;
        if (schema !== undefined) await refuseIgnoredSearchPath(client as unknown as pg.ClientBase, schema);
        // The session's own reads wait for a lock no longer than a run's statements, and the server enforces read mode, as query_only does.
        const settings = [...(lockTimeoutMs > 0 ? [`SET lock_timeout = ${lockTimeoutMs}`] : []), ...(mode === "read" ? ["SET default_transaction_read_only = on"] : [])];
        if (settings.length > 0) await client.query(settings.join("; "));
        return { manager: manager as unknown as CliManager<typeof options.migrations>, close: end, translateError };
      } catch (error) {
        await end();
        throw error instanceof StepwiseError ? error : translateError(error);
      }
    },
  };
}

/**
 * The parts of `@libsql/client` and of stepwise's libsql-client driver that {@link connectLibsqlClient} uses: `C` is its
 * `Client`. Written without its types, so that the cli entry type-checks (`skipLibCheck: false`) in an app that has no `@libsql/client`.
 */
export interface LibsqlClientModules<C extends LibsqlClientSession = LibsqlClientSession> {
  readonly createClient: (config: { url: string; authToken?: string }) => C;
  readonly MigrationManager: new <R extends MigrationRegistry>(client: C, migrations: R, props?: MigrationManagerProps & { readonly scratchClient?: () => C }) => object;
  /** Reads a `LibsqlError`'s SQLite code (`classifyLibsqlClientError` from `stepwise-migrate/libsql-client`). */
  readonly classifyError: (error: unknown) => { readonly nativeCode: string | null };
}

/** What {@link connectLibsqlClient} calls on an `@libsql/client` `Client`. */
export interface LibsqlClientSession {
  execute(sql: string): Promise<unknown>;
  close(): void;
}

/**
 * The libsql-client driver's opener, on a `file:` URL (only a write creates a missing file) or a server's. An app's own CLI offers it with its own static imports:
 *
 * ```ts
 * import { createClient } from "@libsql/client";
 * import { MigrationManager, classifyLibsqlClientError } from "stepwise-migrate/libsql-client";
 * import { connectLibsqlClient, createCli } from "stepwise-migrate/cli";
 * createCli({ migrations, drivers: { "libsql-client": async () => connectLibsqlClient({ createClient, MigrationManager, classifyError: classifyLibsqlClientError }) }, driver: "libsql-client" });
 * ```
 */
export function connectLibsqlClient<C extends LibsqlClientSession>(modules: LibsqlClientModules<C>): DatabaseOpener {
  return {
    async open(options, mode) {
      const url = options.url ?? "";
      const file = url.startsWith("file:") ? url.slice("file:".length) : null;
      const exists = file === null || existsSync(file);
      const translateError = (error: unknown) => translateSqliteError(error, options.busyTimeoutMs, modules.classifyError(error).nativeCode);
      let client: C;
      try {
        client = modules.createClient({ url: mode !== "write" && !exists ? ":memory:" : url, ...(options.authToken ? { authToken: options.authToken } : {}) });
        // A remote client connects lazily; this round trip turns an unreachable or refusing server into one typed error.
        await client.execute("SELECT 1");
      } catch (error) {
        throw libsqlConnectionError(error, translateError(error), file !== null);
      }
      try {
        // verify and baseline replay the migrations on an in-memory client of the same library.
        const manager = new modules.MigrationManager(client, options.migrations, { ...options.props, scratchClient: () => modules.createClient({ url: ":memory:" }) });
        return { manager: manager as unknown as CliManager<typeof options.migrations>, exists, close: () => client.close(), translateError };
      } catch (error) {
        client.close();
        throw translateError(error);
      }
    },
  };
}

/** A failed first round trip as a typed error: SQLite's refusal as SQLite's; a URL the client refuses (`URL_*`, quoting it) as `USAGE` without that cause; else `DATABASE_UNUSABLE` naming the client's code only. */
function libsqlConnectionError(error: unknown, translated: unknown, local: boolean): unknown {
  if (translated instanceof StepwiseError) return translated;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("URL_")) {
    return refusal(
      `The libSQL client refused the URL's shape (${code}): write it as ${CLI_DRIVERS["libsql-client"].exampleUrl}, with authToken and tls=0|1 its only query parameters.`,
      `write the URL as ${CLI_DRIVERS["libsql-client"].exampleUrl}, with authToken and tls=0|1 its only query parameters`,
    );
  }
  const status = /\b(40[13])\b/.exec(error instanceof Error ? error.message : "")?.[1];
  const reason = status !== undefined ? `HTTP ${status}` : typeof code === "string" ? code : "no answer";
  const message = local
    ? `Cannot open the libSQL database file (${reason}): check the path in the URL and that this user may read it.`
    : status !== undefined
      ? `The libSQL server refused the connection (${reason}): set LIBSQL_AUTH_TOKEN to a valid token for this database.`
      : `Cannot reach the libSQL server (${reason}): check the host and port in the URL, and that the server is running and accepts connections from here.`;
  return databaseUnusableError(`${message} Nothing was changed.`, null, error);
}

/**
 * A PostgreSQL session whose migrations build in `schema`, beside the history table, so that `--schema` names one database to every command. The search_path joins the URL's (else
 * `PGOPTIONS`) server options as a client option: pg would encode the URL again when its path holds a `%` that starts no escape.
 */
function sessionIn(url: string, schema: string | undefined): { connectionString: string; options?: string } {
  if (schema === undefined) return { connectionString: url };
  const parsed = new URL(url);
  const given = parsed.searchParams.getAll("options").at(-1) ?? process.env.PGOPTIONS ?? "";
  parsed.searchParams.delete("options");
  const name = `"${schema.replaceAll('"', '""')}"`.replace(/[\\\s]/g, "\\$&");
  return { connectionString: parsed.href, options: `${given === "" ? "" : `${given} `}-c search_path=${name}` };
}

/**
 * `USAGE` when the session does not work in `schema`, as {@link sessionIn} asked: a connection pooler (PgBouncer) drops or refuses the `options` startup parameter, and the
 * migrations would build where the server's search_path puts them, apart from the history table.
 */
async function refuseIgnoredSearchPath(client: pg.ClientBase, schema: string): Promise<void> {
  const { rows } = await client.query<{ path: string }>("SELECT pg_catalog.current_setting('search_path') AS path");
  const path = rows[0]?.path ?? "";
  if (path.replaceAll('"', "") === schema) return;
  throw refusal(
    `The server did not take the search_path --schema ${schema} sets (the session has ${JSON.stringify(path)}): a connection pooler such as PgBouncer drops the "options" startup parameter. Connect to PostgreSQL itself for stepwise.`,
    "connect to PostgreSQL itself, not through a connection pooler, for stepwise",
  );
}

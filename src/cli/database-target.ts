/**
 * Which database a command works on and how it is opened: the global flags (`--db`, `--url`,
 * `--driver`, ...) over the app's settings over `DATABASE_URL`, each checked before anything is
 * touched, and the chosen driver's library loaded for this runtime.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import type { MigrationEvent } from "../core/events.js";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../core/options.js";
import type { MigrationRegistry } from "../core/types.js";
import { databasePathInvalidError, usageError } from "../core/error-factories.js";
import { driverCapabilityError } from "../core/driver.js";
import type { CreateCliProps } from "./cli-props.js";
import type { CliIo } from "./cli-context.js";
import { serverBackupUnsupportedError } from "../safety/backup.js";
import { usableDatabasePathOrThrow } from "./database-path.js";
import { databasePathFromUrl } from "./database-url.js";
import { connectsByUrl, DEFAULT_CLI_DRIVER, dialectOfDriver, type CliDriverName } from "./driver-names.js";
import { noDatabaseGivenError } from "./no-database-error.js";
import { loadDriver, type CommandMode, type DriverLoaders } from "./open-database.js";
import { assertPathRoundTrips } from "./path-encoding.js";
import { redactConnectionString } from "./secrets.js";
import { exampleUrlOf, parseServerUrl, type ServerUrl } from "./server-url.js";

/** The global flags, as commander parses them. */
export interface GlobalFlags {
  db?: string;
  url?: string;
  schema?: string;
  table?: string;
  busyTimeout?: number;
  lockTimeout?: number;
  driver?: CliDriverName;
}

/** One CLI's settings and streams, shared by its commands. */
export interface CliSession<R extends MigrationRegistry> {
  readonly props: CreateCliProps<R>;
  readonly io: CliIo;
  /** A command as the user types it, for messages that say what to run: `stepwise <rest>`, or the app's name. */
  commandLine(rest: string): string;
  /** Shows what a manager reports as it runs. */
  onEvent(event: MigrationEvent): void;
  /** The registry, once a command loaded it. */
  loaded?: Promise<R>;
}

/** What this module offers without `drivers`: none, so it imports no library (`stepwise-migrate/cli`'s `createCli` adds better-sqlite3). */
export const DEFAULT_DRIVERS: DriverLoaders = {};

/** The global flags of the command's run. */
export function flagsOf(command: Command): GlobalFlags {
  return command.optsWithGlobals<GlobalFlags>();
}

/** The registry, loaded once per run with the chosen driver and its dialect. */
export function loadMigrations<R extends MigrationRegistry>(session: CliSession<R>, driver: CliDriverName): Promise<R> {
  const { migrations } = session.props;
  session.loaded ??= Promise.resolve(typeof migrations === "function" ? migrations({ dialect: dialectOfDriver(driver), driver }) : migrations);
  return session.loaded;
}

/** The driver that opens the database: `--driver`, then the app's setting, then better-sqlite3. */
export function driverOf(session: CliSession<MigrationRegistry>, flags: GlobalFlags): CliDriverName {
  const { driver } = session.props;
  return flags.driver ?? (typeof driver === "function" ? driver() : driver) ?? DEFAULT_CLI_DRIVER;
}

/** The history table: `--table`, then the app's setting (`undefined`: the default). */
export function tableNameOf(session: CliSession<MigrationRegistry>, flags: GlobalFlags): string | undefined {
  const { tableName } = session.props;
  return flags.table ?? (typeof tableName === "function" ? tableName() : tableName);
}

/** The history table's schema on pg: `--schema`, then the app's setting. */
export function schemaOf(session: CliSession<MigrationRegistry>, flags: GlobalFlags): string | undefined {
  const { schema } = session.props;
  return flags.schema ?? (typeof schema === "function" ? schema() : schema);
}

/** How long to wait for another process's lock: `--busy-timeout`, then the app's setting, then the default. */
export function busyTimeoutOf(session: CliSession<MigrationRegistry>, flags: GlobalFlags): number {
  return flags.busyTimeout ?? session.props.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
}

/** pg's `lock_timeout` for a migration's statements: `--lock-timeout`, then the app's setting. */
export function lockTimeoutOf(session: CliSession<MigrationRegistry>, flags: GlobalFlags): number | undefined {
  return flags.lockTimeout ?? session.props.lockTimeoutMs;
}

/** Resolves a path the user typed against the CLI's working folder, once it is known to name the file the user meant. */
export function resolvePath(session: CliSession<MigrationRegistry>, file: string): string {
  const cwd = session.props.cwd ?? process.cwd();
  assertPathRoundTrips(file);
  // The working folder's own name may have come in bytes that are not UTF-8 too.
  if (!path.isAbsolute(file)) assertPathRoundTrips(cwd);
  return path.resolve(cwd, file);
}

/** The SQLite file a command opens: `--db`, then the app's setting, then a `DATABASE_URL` that names a file. */
export function resolveDatabasePath(session: CliSession<MigrationRegistry>, flags: GlobalFlags): string {
  const { props, io } = session;
  const driver = driverOf(session, flags);
  if (connectsByUrl(driver)) {
    throw usageError(`The ${driver} driver connects to a server and has no database file; this command works on a SQLite file only. Nothing was changed.`);
  }
  if (flags.url !== undefined) throw usageError(`--url is for --driver pg or libsql-client; the ${driver} driver opens a SQLite file: pass --db <path> instead. Nothing was changed.`);
  if (flags.schema !== undefined) throw usageError(`--schema is for --driver pg; a SQLite database has no schemas: leave it out. Nothing was changed.`);
  refuseLockTimeoutOff(session, flags);
  const chosen = flags.db ?? (typeof props.database === "function" ? props.database() : props.database) ?? databasePathFromUrl(io.env.DATABASE_URL);
  if (chosen === null) {
    const searched = props.databaseSearched?.() ?? (props.database === undefined ? [] : [{ place: "the app's database setting", found: "no path (null)" }]);
    throw noDatabaseGivenError(
      [{ place: "--db", found: "not given" }, ...searched, { place: "DATABASE_URL", found: io.env.DATABASE_URL === undefined ? "not set" : "blank" }],
      props.extend !== undefined,
    );
  }
  // An empty path would resolve to the working folder itself; SQLite would open "" as a temporary database.
  if (chosen === "") throw databasePathInvalidError("", "empty");
  if (chosen === ":memory:") return chosen;
  // `--db "$DATABASE_URL"` in a script hands over another database's URL or connection string:
  // created as a path, its password or token would become a file name, printed with every message.
  refuseConnectionStringAsPath(chosen, flags.db !== undefined ? "--db" : props.extend ? 'the config\'s "database"' : "the database setting");
  // path.resolve drops a trailing "/" or "/.", which is how a user says "this folder"; the file
  // would otherwise be created under the folder's own name.
  if (namesFolder(chosen)) throw databasePathInvalidError(chosen, "directory");
  return usableDatabasePathOrThrow(resolvePath(session, chosen));
}

/**
 * The connection URL for a driver that connects by URL: `--url`, then the app's `url` (the
 * config's), then `DATABASE_URL`. Its password is handed to the redactor before anything can fail.
 */
export function resolveUrl(session: CliSession<MigrationRegistry>, flags: GlobalFlags): ServerUrl {
  const { props, io } = session;
  const driver = driverOf(session, flags);
  if (flags.db !== undefined) {
    throw usageError(`--db is for the SQLite file drivers; the ${driver} driver connects by URL: pass --url ${exampleUrlOf(driver)} instead (or set DATABASE_URL). Nothing was changed.`);
  }
  if (flags.schema !== undefined && driver !== "pg") throw usageError(`--schema is for --driver pg; a libSQL database has no schemas: leave it out. Nothing was changed.`);
  refuseLockTimeoutOff(session, flags);
  // The setting is read only without the flag: a flag wins, even over a setting that cannot be resolved.
  const fromProps = flags.url !== undefined ? null : typeof props.url === "function" ? props.url() : props.url;
  const [chosen, source] =
    flags.url !== undefined ? [flags.url, "--url"] : fromProps != null ? [fromProps, props.extend ? 'the config\'s "url"' : "the url setting"] : [io.env.DATABASE_URL, "DATABASE_URL"];
  if (chosen === undefined || chosen.trim() === "") {
    throw usageError(
      `No database URL for the ${driver} driver: pass --url ${exampleUrlOf(driver)}` +
        `${props.extend ? ', set "url" in the stepwise config (such as "${DATABASE_URL}", so no password is committed)' : ""}, or set DATABASE_URL. Nothing was changed.`,
    );
  }
  return parseServerUrl(driver, chosen, source, (file) => resolvePath(session, file));
}

/** `--lock-timeout` outside pg: SQLite has no lock_timeout (its busy timeout bounds every wait). */
function refuseLockTimeoutOff(session: CliSession<MigrationRegistry>, flags: GlobalFlags): void {
  const driver = driverOf(session, flags);
  if (flags.lockTimeout !== undefined && driver !== "pg") {
    throw usageError(`--lock-timeout is for --driver pg; the ${driver} driver waits for locks up to --busy-timeout: use that instead. Nothing was changed.`);
  }
}

/**
 * Refuses, before any connection, a backup or restore on a driver whose database lives on a
 * server: stepwise's backups copy a SQLite file, and the refusal names the server's `tool`.
 */
export function refuseServerBackup(session: CliSession<MigrationRegistry>, command: Command, operation: string, tool: "pg_dump" | "pg_restore"): void {
  const driver = driverOf(session, flagsOf(command));
  if (driver === "pg") throw serverBackupUnsupportedError({ driver, operation, tool });
  // libsql-client reaches no second file through its client: backups copy files (capability openFile).
  if (connectsByUrl(driver)) throw driverCapabilityError({ driver, capability: "openFile", operation });
}

/** Commands that change an existing database must not create an empty one by mistake. */
export function refuseMissingDatabase(session: CliSession<MigrationRegistry>, command: Command, consequence: string): void {
  // A server's database exists or the connection fails; there is no file to create by mistake,
  // except through a libsql-client file: URL.
  if (connectsByUrl(driverOf(session, flagsOf(command)))) {
    const { file } = resolveUrl(session, flagsOf(command));
    if (file !== null && !existsSync(file)) throw usageError(`There is no database at ${file}; ${consequence}.`);
    return;
  }
  const databasePath = resolveDatabasePath(session, flagsOf(command));
  if (databasePath !== ":memory:" && !existsSync(databasePath)) {
    throw usageError(`There is no database at ${databasePath}; ${consequence}.`);
  }
}

/** The chosen driver's library, loaded and checked for this runtime and `mode`; refuses typed before anything is touched. */
export function connectorFor(session: CliSession<MigrationRegistry>, command: Command, mode: CommandMode): ReturnType<typeof loadDriver> {
  const flags = flagsOf(command);
  return loadDriver(driverOf(session, flags), mode, session.commandLine(command.name()), session.props.drivers ?? DEFAULT_DRIVERS, flags.driver ? "--driver" : "the driver setting");
}

/**
 * Refuses, naming `source` and the shape only, a database path that is a URL (`scheme://...`: never
 * a file anyone means) or a connection string that holds a secret (`password=`, `authToken=`).
 */
function refuseConnectionStringAsPath(chosen: string, source: string): void {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+:)\/\//.exec(chosen)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    const hint = /^postgres(ql)?:$/.test(scheme)
      ? "; for PostgreSQL pass --driver pg and --url"
      : /^(libsql|https?|wss?):$/.test(scheme)
        ? "; for a libSQL server pass --driver libsql-client and --url"
        : "";
    throw databasePathInvalidError(`${source} (a ${scheme}// URL${hint})`, "unsupported-url");
  }
  if (redactConnectionString(chosen) !== chosen) throw databasePathInvalidError(`${source} (a connection string with a password or token)`, "unsupported-url");
}

/** Whether a path ends the way only a folder is named: a separator, or a `.`/`..` last segment. */
function namesFolder(file: string): boolean {
  return /[\\/]$/.test(file) || /(^|[\\/])\.{1,2}$/.test(file);
}

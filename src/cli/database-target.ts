/** The database a command works on: chosen by the flags over the app's settings over `DATABASE_URL`, checked before anything is touched, then opened and closed. */
import { existsSync } from "node:fs";
import path from "node:path";
import { driverCapabilityError } from "../core/driver.js";
import { databasePathInvalidError, usageError } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../core/options.js";
import type { AppliedMigration } from "../core/planner.js";
import type { MigrationRegistry } from "../core/types.js";
import { serverBackupUnsupportedError } from "../safety/backup.js";
import type { CreateCliProps } from "./cli-props.js";
import { assertPathRoundTrips, createDatabaseFolder, databasePathFromUrl, serverUrlHint, usableDatabasePathOrThrow } from "./database-path.js";
import { connectsByUrl, DEFAULT_CLI_DRIVER, dialectOfDriver, type CliDriverName } from "./driver-names.js";
import { loadDriver, type CliManager, type CommandMode, type DriverConnector } from "./open-database.js";
import { exampleUrlOf, LIBSQL_AUTH_TOKEN_ENV, parseServerUrl, type ServerUrl } from "./open-server.js";
import type { CliOutput } from "./output.js";
import { hideUrlIn, redactConnectionString } from "./secrets.js";

/** The global flags, as commander parses them. */
export interface GlobalFlags {
  readonly db?: string;
  readonly url?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly busyTimeout?: number;
  readonly lockTimeout?: number;
  readonly driver?: CliDriverName;
}

/** One CLI's settings and output, shared by its commands. */
export interface CliSession<R extends MigrationRegistry> {
  readonly props: CreateCliProps<R>;
  readonly output: CliOutput;
  /** A command as the user types it, for messages that say what to run: `stepwise <rest>`, or the app's name. */
  commandLine(rest: string): string;
  /** Text with the library's `stepwise <command>` as the app's program name. */
  rename(text: string): string;
  /** The registry, once a command loaded it. */
  loaded?: Promise<R>;
}

/** One command's run: the CLI's session, the command's name, and the global flags it was given. */
export interface CommandScope<R extends MigrationRegistry = MigrationRegistry> {
  readonly session: CliSession<R>;
  readonly name: string;
  readonly flags: GlobalFlags;
}

const NOTHING_CHANGED = "Nothing was changed.";

/** A flag, else the app's setting (called only then: a flag wins even over a setting that cannot be read). */
export function setting<T>(flag: T | undefined, prop: T | (() => T) | undefined): T | undefined {
  return flag !== undefined ? flag : typeof prop === "function" ? (prop as () => T)() : prop;
}

/** The driver that opens the database: `--driver`, then the app's setting, then better-sqlite3. */
export function driverOf({ session, flags }: CommandScope): CliDriverName {
  return setting(flags.driver, session.props.driver) ?? DEFAULT_CLI_DRIVER;
}

/** The chosen driver's library, loaded and checked for this runtime and `mode`; refuses typed before anything is touched. */
export function connectorFor(scope: CommandScope, mode: CommandMode): Promise<DriverConnector> {
  const { session, flags, name } = scope;
  return loadDriver(driverOf(scope), mode, session.commandLine(name), session.props.drivers ?? {}, flags.driver ? "--driver" : "the driver setting");
}

/** Resolves a path the user typed against the CLI's working folder, once it is known to name the file the user meant. */
export function resolvePath(session: CliSession<MigrationRegistry>, file: string): string {
  const cwd = session.props.cwd ?? process.cwd();
  assertPathRoundTrips(file);
  // The working folder's own name may have come in bytes that are not UTF-8 too.
  if (!path.isAbsolute(file)) assertPathRoundTrips(cwd);
  return path.resolve(cwd, file);
}

/** Refuses the flags of the other kind of driver: `--url`/`--db` and `--schema`, and `--lock-timeout` outside pg. */
function refuseOtherDriverFlags(scope: CommandScope, byUrl: boolean): void {
  const { flags } = scope;
  const driver = driverOf(scope);
  if (byUrl && flags.db !== undefined) {
    throw usageError(`--db is for the SQLite file drivers; the ${driver} driver connects by URL: pass --url ${exampleUrlOf(driver)} instead (or set DATABASE_URL). ${NOTHING_CHANGED}`);
  }
  if (!byUrl && flags.url !== undefined) throw usageError(`--url is for --driver pg or libsql-client; the ${driver} driver opens a SQLite file: pass --db <path> instead. ${NOTHING_CHANGED}`);
  if (flags.schema !== undefined && driver !== "pg") {
    throw usageError(`--schema is for --driver pg; a ${byUrl ? "libSQL database" : "SQLite database"} has no schemas: leave it out. ${NOTHING_CHANGED}`);
  }
  // SQLite has no lock_timeout: its busy timeout bounds every wait.
  if (flags.lockTimeout !== undefined && driver !== "pg") {
    throw usageError(`--lock-timeout is for --driver pg; the ${driver} driver waits for locks up to --busy-timeout: use that instead. ${NOTHING_CHANGED}`);
  }
}

/** The SQLite file a command opens: `--db`, then the app's setting, then a `DATABASE_URL` that names a file. */
export function resolveDatabasePath(scope: CommandScope): string {
  const { session, flags } = scope;
  const { props } = session;
  const driver = driverOf(scope);
  if (connectsByUrl(driver)) throw usageError(`The ${driver} driver connects to a server and has no database file; this command works on a SQLite file only. ${NOTHING_CHANGED}`);
  refuseOtherDriverFlags(scope, false);
  const env = session.output.io.env;
  const chosen = setting(flags.db, props.database) ?? databasePathFromUrl(env.DATABASE_URL);
  if (chosen === null) {
    const searched = props.databaseSearched?.() ?? (props.database === undefined ? [] : [{ place: "the app's database setting", found: "no path (null)" }]);
    const looked = [{ place: "--db", found: "not given" }, ...searched, { place: "DATABASE_URL", found: env.DATABASE_URL === undefined ? "not set" : "blank" }];
    const fix = props.extend
      ? `pass --db <path>, set "database" in the stepwise config (such as "stepwise": {"database": "data/app.db"} in package.json), or set DATABASE_URL to a SQLite path`
      : "pass --db <path>, or set DATABASE_URL to a SQLite path";
    throw new StepwiseError("USAGE", `No database given: ${fix}. Looked at:\n${looked.map((lookup) => `  ${lookup.place}: ${lookup.found}`).join("\n")}`, { searched: looked });
  }
  // An empty path would resolve to the working folder itself; SQLite would open "" as a temporary database.
  if (chosen === "") throw databasePathInvalidError("", "empty");
  if (chosen === ":memory:") return chosen;
  // `--db "$DATABASE_URL"` hands over another database's URL: created as a path, its password would become a file name.
  const source = flags.db !== undefined ? "--db" : props.extend ? 'the config\'s "database"' : "the database setting";
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+:)\/\//.exec(chosen)?.[1]?.toLowerCase();
  if (scheme !== undefined) throw databasePathInvalidError(`${source} (a ${scheme}// URL${serverUrlHint(scheme, " and --url")})`, "unsupported-url");
  if (redactConnectionString(chosen) !== chosen) throw databasePathInvalidError(`${source} (a connection string with a password or token)`, "unsupported-url");
  // path.resolve drops a trailing "/" or "/.", which is how a user says "this folder".
  if (/[\\/]$/.test(chosen) || /(^|[\\/])\.{1,2}$/.test(chosen)) throw databasePathInvalidError(chosen, "directory");
  return usableDatabasePathOrThrow(resolvePath(session, chosen));
}

/** The connection URL for a driver that connects by URL: `--url`, then the app's `url` (the config's), then `DATABASE_URL`. */
function resolveUrl(scope: CommandScope): ServerUrl {
  const { session, flags } = scope;
  const { props } = session;
  const driver = driverOf(scope);
  refuseOtherDriverFlags(scope, true);
  const configured = setting(flags.url, props.url);
  const [chosen, source] =
    flags.url !== undefined ? [flags.url, "--url"] : configured != null ? [configured, props.extend ? 'the config\'s "url"' : "the url setting"] : [session.output.io.env.DATABASE_URL, "DATABASE_URL"];
  if (chosen === undefined || chosen.trim() === "") {
    const config = props.extend ? ', set "url" in the stepwise config (such as "${DATABASE_URL}", so no password is committed)' : "";
    throw usageError(`No database URL for the ${driver} driver: pass --url ${exampleUrlOf(driver)}${config}, or set DATABASE_URL. ${NOTHING_CHANGED}`);
  }
  return parseServerUrl(driver, chosen, source, (file) => resolvePath(session, file));
}

/** Refuses, before any connection, a backup or restore of a database a driver reaches by URL: stepwise's backups copy a SQLite file. */
export function refuseServerBackup(scope: CommandScope, operation: string, tool: "pg_dump" | "pg_restore"): void {
  const driver = driverOf(scope);
  if (driver === "pg") throw serverBackupUnsupportedError({ driver, operation, tool });
  // libsql-client reaches no second file through its client.
  if (connectsByUrl(driver)) throw driverCapabilityError({ driver, capability: "openFile", operation });
}

/** Refuses a command that changes an existing database when there is none, rather than create an empty one by mistake. */
export function refuseMissingDatabase(scope: CommandScope, consequence: string): void {
  // A server's database exists or the connection fails; only a libsql-client file: URL names a file.
  const file = connectsByUrl(driverOf(scope)) ? resolveUrl(scope).file : resolveDatabasePath(scope);
  if (file !== null && file !== ":memory:" && !existsSync(file)) throw usageError(`There is no database at ${file}; ${consequence}.`);
}

/** A config setting names an environment variable (`"url": "${DATABASE_URL}"`) that is not set, and a command needs the setting. */
export function configVariableUnsetError(fields: { setting: string; variable: string; configFile: string }): StepwiseError<"USAGE"> {
  const { setting, variable, configFile } = fields;
  return new StepwiseError(
    "USAGE",
    `The config's "${setting}" (in ${configFile}) names \${${variable}}, but ${variable} is not set. Set ${variable}, or pass --${setting}. ${NOTHING_CHANGED}`,
    fields,
  );
}

/** What a command does with the opened database: the manager, the database's path (or redacted URL), and whether it existed. */
type ManagerAction<R extends MigrationRegistry, T> = (manager: CliManager<R>, database: string, exists: boolean) => T;

/**
 * Opens the database for one command and runs `action` on it. A read never creates a file: a missing
 * one reads as an empty database. A write on a SQLite file that does not exist yet first runs
 * `preflight` on an in-memory database of the same library and registry, so whatever it refuses is
 * refused before a folder or file is made; by URL, `preflight` runs on the real session first.
 * `registry` stands in for the app's, for a command that must read whatever the registry holds.
 */
export async function withManager<R extends MigrationRegistry, T>(
  scope: CommandScope<R>,
  mode: CommandMode,
  action: ManagerAction<R, T>,
  preflight?: (manager: CliManager<R>) => unknown,
  registry?: R,
): Promise<Awaited<T>> {
  const { session, flags } = scope;
  const { props } = session;
  const driver = driverOf(scope);
  const server = connectsByUrl(driver) ? resolveUrl(scope) : null;
  const databasePath = server?.label ?? resolveDatabasePath(scope);
  // Before the folder is made: a driver that cannot write, or cannot load here, refuses with nothing touched.
  const connector = await connectorFor(scope, mode);
  const file = server ? server.file : databasePath;
  const migrations =
    registry ?? (await (session.loaded ??= Promise.resolve(typeof props.migrations === "function" ? props.migrations({ dialect: dialectOfDriver(driver), driver }) : props.migrations)));
  const busyTimeoutMs = setting(flags.busyTimeout, props.busyTimeoutMs) ?? DEFAULT_BUSY_TIMEOUT_MS;
  const tableName = setting(flags.table, props.tableName);
  const exists = file === null || file === ":memory:" || existsSync(file);
  if (mode === "write" && !server && !exists) {
    // Opening the real path creates the file, and a refusal after that would leave an empty database behind.
    const scratch = await connector.open({ databasePath: ":memory:", busyTimeoutMs, migrations, props: { tableName, busyTimeoutMs } });
    try {
      await preflight?.(scratch.manager);
    } finally {
      await scratch.close();
    }
  }
  if (mode === "write" && file !== null && file !== ":memory:") createDatabaseFolder(file);
  const lockTimeoutMs = setting(flags.lockTimeout, props.lockTimeoutMs);
  const authToken = driver === "libsql-client" ? session.output.io.env[LIBSQL_AUTH_TOKEN_ENV] : undefined;
  try {
    const opened = await connector.open({
      databasePath,
      busyTimeoutMs,
      migrations,
      props: { tableName, busyTimeoutMs, onEvent: session.output.printEvent },
      ...(server && { url: server.url, schema: setting(flags.schema, props.schema) }),
      ...(authToken !== undefined && { authToken }),
      ...(server && lockTimeoutMs !== undefined && { lockTimeoutMs }),
    });
    try {
      if (server) await preflight?.(opened.manager);
      return await action(opened.manager, databasePath, opened.exists ?? exists);
    } catch (error) {
      // Reads outside the manager (info's counts) fail in the database's own words; translated here with the busy timeout in force.
      throw opened.translateError(error);
    } finally {
      await opened.close();
    }
  } catch (error) {
    // A driver's error may quote the URL it was given (its own, or a cause's): shown redacted.
    throw server ? hideUrlIn(error, server.url) : error;
  }
}

/** The history rows of the configured database, read whatever the registry holds (even one a merge broke) without creating a file; `null` when none is configured. */
export async function readAppliedHistory(scope: CommandScope): Promise<{ readonly database: string; readonly rows: readonly AppliedMigration[] } | null> {
  const { flags, session } = scope;
  const { props } = session;
  const env = session.output.io.env;
  const byUrl = connectsByUrl(driverOf(scope));
  let configured: string | null | undefined;
  try {
    configured = byUrl ? (setting(flags.url, props.url) ?? env.DATABASE_URL) : (setting(flags.db, props.database) ?? databasePathFromUrl(env.DATABASE_URL));
  } catch (error) {
    if (error instanceof StepwiseError && error.is("USAGE") && error.details.variable !== undefined) return null;
    throw error;
  }
  if (configured == null || configured.trim() === "") return null;
  if (!byUrl) {
    const database = resolveDatabasePath(scope);
    if (database !== ":memory:" && !existsSync(database)) return { database, rows: [] };
  }
  return withManager(scope, "read", async (manager, database) => ({ database, rows: await manager.history() }), undefined, [] as MigrationRegistry);
}

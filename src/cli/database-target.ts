/** The database a command works on: chosen by the flags over the app's settings over `DATABASE_URL`, checked before anything is touched, then opened and closed. */
import { existsSync } from "node:fs";
import path from "node:path";
import { driverCapabilityError } from "../core/driver.js";
import { NOTHING_CHANGED, usageError } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";
import { spellFields } from "../core/option-text.js";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../core/options.js";
import { assertRegistryForDriver, type AppliedMigration } from "../core/planner.js";
import type { MigrationEvent } from "../core/events.js";
import type { MigrationRegistry } from "../core/types.js";
import { serverBackupUnsupportedError } from "../safety/backup.js";
import type { CreateCliProps } from "./cli-props.js";
import { assertPathRoundTrips, checkDatabasePath, createDatabaseFolder, databasePathFromUrl, namesSqliteFile, LIBSQL_AUTH_TOKEN_ENV, parseServerUrl } from "./database-path.js";
import { fileKindAt } from "../drivers/database-file.js";
import { expandFileGlob, isGlob } from "./file-glob.js";
import { quoteForShell } from "../shared/shell-quote.js";
import { CLI_DRIVERS, connectsByUrl, defaultDriverOf, dialectOfDriver, driverOfScheme, type CliDriverName } from "./driver-names.js";
import { withFix } from "./error-fix.js";
import { driverUnknownError, pgOnlyFlagRefusal, refusal } from "./errors.js";
import { loadDriver, type CliManager, type CommandMode, type DriverConnector } from "./open-database.js";
import type { CliOutput } from "./output.js";

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
  /** The registry, once a command loaded it. */
  loaded?: Promise<R>;
  /** The command running, as commander parsed it: what a failure's fix tells the user to run again. */
  running?: RunningCommand;
}

/**
 * A command as commander parsed it: its `name` (`fleet verify` for a fleet's), its `operands` (`baseline`'s version), and the options it declares (`--json` left out), to find as typed;
 * `repeat`: the options a fix that says to run it again must repeat (` --to 3`), as the command sets them.
 */
export interface RunningCommand {
  readonly name: string;
  readonly operands: readonly string[];
  readonly options: readonly { readonly flag: string; readonly takesValue: boolean }[];
  readonly repeat?: string;
}

/** One command's run: the CLI's session, the command's name, and the global flags it was given. */
export interface CommandScope<R extends MigrationRegistry = MigrationRegistry> {
  readonly session: CliSession<R>;
  readonly name: string;
  readonly flags: GlobalFlags;
}

/** An app's setting, called if it is a function (only when its flag is not given: a flag wins even over a setting that cannot be read). */
function valueOf<T>(prop: T | (() => T) | undefined): T | undefined {
  return typeof prop === "function" ? (prop as () => T)() : prop;
}

/** A flag, else the app's setting. */
export function setting<T>(flag: T | undefined, prop: T | (() => T) | undefined): T | undefined {
  return flag !== undefined ? flag : valueOf(prop);
}

/** The names of the drivers this CLI was given: what it can open, and so the only drivers a message may send its user to. */
export function offeredDrivers(props: Pick<CreateCliProps<MigrationRegistry>, "drivers">): string[] {
  return Object.keys(props.drivers ?? {});
}

/** The driver that opens the database ({@link chooseDriver}); one this CLI was not given is DRIVER_UNKNOWN before anything asks for its settings. */
export function driverOf({ session, flags }: CommandScope): CliDriverName {
  const loaders = session.props.drivers ?? {};
  const driver = chooseDriver(flags, session.props);
  if (loaders[driver] === undefined) throw driverUnknownError({ driver, source: flags.driver ? "--driver" : "the driver setting", validDrivers: offeredDrivers(session.props) });
  return driver;
}

/** `--driver`, the app's setting, the driver a server's URL names ({@link driverOfUrl}), else the default; unchecked: for a command's defaults before it runs (`adopt`'s map). */
export function chooseDriver(flags: GlobalFlags, props: Pick<CreateCliProps<MigrationRegistry>, "driver" | "drivers" | "database" | "url">): CliDriverName {
  const offered = offeredDrivers(props);
  return setting(flags.driver, props.driver) ?? driverOfUrl(flags, props, offered) ?? defaultDriverOf(offered);
}

/** Whether `error` is a config setting naming an environment variable that is not set ({@link configVariableUnsetError}). */
export function isUnsetVariable(error: unknown): error is StepwiseError<"USAGE"> {
  return error instanceof StepwiseError && error.is("USAGE") && error.details.variable !== undefined;
}

/**
 * When nothing names a driver, a server's URL does: `--url` by its scheme ({@link driverOfScheme}), among the drivers offered; else the app's `url` when it sets no `database`, for `pg` only.
 * A PostgreSQL `url` is the dialect's, which `create`'s template and `gen --check`'s replay follow too; a libSQL one they cannot tell from the config, so that project names its driver. `--db`
 * names a SQLite file, so with it nothing is inferred (a PostgreSQL project's `--db` then meets the registry-dialect refusal, whose fix is a SQLite registry). A `url` setting naming a variable
 * that is not set names no driver: the SQLite default takes it as not configured, and its "No database given" names the variable.
 */
function driverOfUrl(flags: GlobalFlags, props: Pick<CreateCliProps<MigrationRegistry>, "database" | "url">, offered: readonly string[]): CliDriverName | null {
  if (flags.db !== undefined) return null;
  if (flags.url !== undefined) return driverOfScheme(flags.url, offered);
  if (valueOf(props.database) != null) return null;
  const { url } = configuredUrl(props);
  return url == null || driverOfScheme(url, offered) !== "pg" ? null : "pg";
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

/** The app's registry, loaded once, for the chosen driver's dialect. */
export function loadRegistry<R extends MigrationRegistry>(scope: CommandScope<R>): Promise<R> {
  const { session } = scope;
  const { migrations } = session.props;
  const driver = driverOf(scope);
  return (session.loaded ??= Promise.resolve(typeof migrations === "function" ? migrations({ dialect: dialectOfDriver(driver), driver }) : migrations));
}

/** The database a command names: its driver, how it is shown (a path, a URL without its password), its local file (`null` on a server) and, by URL, what the client takes. */
export interface DatabaseTarget {
  readonly driver: CliDriverName;
  readonly label: string;
  readonly file: string | null;
  readonly url?: string;
}

/** The commands a fleet runs on every database itself; the others a `fix` names (`repair`, `down`, `baseline`...) work on one database. */
export const FLEET_COMMANDS: ReadonlySet<string> = new Set(["up", "status", "verify"]);

/** The database of `scope`, checked, the other kind of driver's flags refused, its URL hidden from the output from here on; none given is a usage error, or with `optional`, `null`. */
export function resolveTarget(scope: CommandScope): DatabaseTarget;
export function resolveTarget(scope: CommandScope, optional: true): DatabaseTarget | null;
export function resolveTarget(scope: CommandScope, optional = false): DatabaseTarget | null {
  const driver = driverOf(scope);
  const byUrl = connectsByUrl(driver);
  // Asked whether a database is configured at all, the flags are weighed only once one is.
  if (!optional) refuseOtherDriverFlags(scope, driver);
  const setting = byUrl ? urlSetting(scope) : sqliteSetting(scope);
  if (optional && (setting.value == null || setting.value.trim() === "")) return null;
  if (optional) refuseOtherDriverFlags(scope, driver);
  return byUrl ? serverTarget(scope, driver, setting) : sqliteTarget(scope, driver, setting, optional);
}

/** Where the database is set: its value (`null` or `undefined` when nowhere), and the place messages name (`--db`, the app's setting, `DATABASE_URL`). */
interface DatabaseSetting {
  readonly value: string | null | undefined;
  readonly source: string;
  /** For a SQLite driver: the driver that opens the app's `url` setting when that names a server instead of a file, which "No database given" then names. */
  readonly urlDriver?: CliDriverName | null;
  /** For a SQLite driver: the app's `url` setting naming a variable that is not set (that error's fields), which "No database given" then names. */
  readonly unsetVariable?: StepwiseError<"USAGE">["details"] | null;
}

/** Refuses the flags of the other kind of driver (`--db` for a URL driver, `--url` for a SQLite one) and pg's own flags for the others. */
function refuseOtherDriverFlags({ flags, session }: CommandScope, driver: CliDriverName): void {
  const example = CLI_DRIVERS[driver].exampleUrl;
  const offered = offeredDrivers(session.props);
  if (example !== undefined && flags.db !== undefined)
    throw refusal(
      `--db is for the SQLite file drivers; the ${driver} driver connects by URL: pass --url ${example} instead (or set DATABASE_URL).`,
      `pass --url ${example} instead of --db (or set DATABASE_URL)`,
    );
  if (example === undefined && flags.url !== undefined)
    throw refusal(`--url is for --driver pg or libsql-client; the ${driver} driver opens a SQLite file: pass --db <path> instead.`, `pass --db <path> instead of --url`);
  if (flags.schema !== undefined && driver !== "pg") throw pgOnlyFlagRefusal("--schema", driver, offered);
  if (flags.lockTimeout !== undefined && driver !== "pg") throw pgOnlyFlagRefusal("--lock-timeout", driver, offered);
}

/** A SQLite driver's database: `--db`, else the app's `database`, else its `url` when that names a SQLite file (the app's setting wins over the environment), else `DATABASE_URL` as a path. */
function sqliteSetting({ session, flags }: CommandScope): DatabaseSetting {
  const { props } = session;
  if (flags.db !== undefined) return { value: flags.db, source: "--db" };
  const database = valueOf(props.database);
  if (database != null) return { value: database, source: settingName(props, "database") };
  // The app's url when that names a SQLite file (as DATABASE_URL may; the file libsql-client would open), before DATABASE_URL: the app's setting wins over the environment.
  const { url, unsetVariable } = configuredUrl(props);
  const file = url != null && namesSqliteFile(url);
  const fromUrl = file ? databasePathFromUrl(url, settingName(props, "url")) : null;
  if (fromUrl !== null) return { value: fromUrl, source: settingName(props, "url") };
  const urlDriver = url == null || file ? null : driverOfScheme(url, offeredDrivers(props));
  return { value: databasePathFromUrl(session.output.io.env.DATABASE_URL), source: "DATABASE_URL", urlDriver, unsetVariable };
}

/** A URL driver's database: `--url`, else the app's `url`, else `DATABASE_URL`. */
function urlSetting({ session, flags }: CommandScope): DatabaseSetting {
  const { props } = session;
  if (flags.url !== undefined) return { value: flags.url, source: "--url" };
  const url = valueOf(props.url);
  return url != null ? { value: url, source: settingName(props, "url") } : { value: session.output.io.env.DATABASE_URL, source: "DATABASE_URL" };
}

/** The server `setting` names, parsed by `driver`'s rules; its URL hidden from the output from here on. */
function serverTarget({ session }: CommandScope, driver: CliDriverName, { value, source }: DatabaseSetting): DatabaseTarget {
  const example = CLI_DRIVERS[driver].exampleUrl!;
  if (value == null || value.trim() === "") {
    const config = session.props.extend ? ', set "url" in the stepwise config (such as "${DATABASE_URL}", so no password is committed)' : "";
    throw refusal(`No database URL for the ${driver} driver: pass --url ${example}${config}, or set DATABASE_URL.`, `pass --url ${example}${config}, or set DATABASE_URL`);
  }
  // A driver's error may quote the URL it was given (its own, or a cause's).
  session.output.hide(value);
  return { driver, ...parseServerUrl(driver, value, source, (file) => resolvePath(session, file)) };
}

/** The SQLite file `setting` names, checked; `null` with `optional` for a fleet's pattern that names no one file. */
function sqliteTarget(scope: CommandScope, driver: CliDriverName, { value, source, urlDriver: server = null, unsetVariable = null }: DatabaseSetting, optional: boolean): DatabaseTarget | null {
  const { session } = scope;
  const { props } = session;
  if (value == null) {
    const env = session.output.io.env;
    const searched = props.databaseSearched?.() ?? (props.database === undefined ? [] : [{ place: "the app's database setting", found: "no path (null)" }]);
    const variable = unsetVariable?.variable;
    const unset = variable === undefined ? [] : [{ place: settingName(props, "url"), found: `names \${${variable}}, and ${variable} is not set (or is blank)` }];
    const looked = [{ place: "--db", found: "not given" }, ...searched, ...unset, { place: "DATABASE_URL", found: env.DATABASE_URL === undefined ? "not set" : "blank" }];
    const sqliteFix = props.extend
      ? `pass --db <path>, set "database" in the stepwise config (such as "stepwise": {"database": "data/app.db"} in package.json), or set DATABASE_URL to a SQLite path`
      : "pass --db <path>, or set DATABASE_URL to a SQLite path";
    const fileFix = variable === undefined ? sqliteFix : `set ${variable}, which ${settingName(props, "url")} names (a SQLite path, or a server's URL); or ${sqliteFix}`;
    // A url setting naming a server is set, but only a driver named for it opens it: the SQLite advice alone would send a libSQL project to invent a file.
    const fix =
      server === null
        ? fileFix
        : `${settingName(props, "url")} is a server's URL, which the ${server} driver opens and the ${driver} driver does not: name that driver (${props.extend ? `"driver": "${server}" in the stepwise config, or ` : ""}--driver ${server}); for a SQLite file, ${sqliteFix}`;
    throw withFix(
      new StepwiseError("USAGE", `No database given: ${fix}. Looked at:\n${looked.map((lookup) => `  ${lookup.place}: ${lookup.found}`).join("\n")}`, {
        searched: looked,
        ...(server !== null && { urlDriver: server }),
        ...unsetVariable,
      }),
      fix,
    );
  }
  const file = checkDatabasePath(value, source, (chosen) => resolvePath(session, chosen));
  // A fleet's pattern (`data/tenants/*.db`, which the setting may hold for `stepwise fleet`) names no one database: opened as a path, it would create a database of that name,
  // a tenant every fleet run then counts. A file of that very name is opened; a URL (whose `?` is no pattern) was refused above, by its shape.
  // A `*` always; a `?` or `[…]` only where it matches files, so a new database may be named app[v2].db.
  if (isGlob(value) && fileKindAt(file, false) === "missing" && (value.includes("*") || expandFileGlob(file, path.sep).length > 0)) {
    if (optional) return null;
    // `stepwise fleet` reads no DATABASE_URL: the pattern goes in its --db.
    const fleetDb = source === "DATABASE_URL" ? ` --db ${quoteForShell(value)}` : "";
    const fleet = FLEET_COMMANDS.has(scope.name) ? `run "stepwise fleet ${scope.name}${fleetDb}" for every database it matches, or ` : "";
    throw refusal(`${source} is a pattern, ${JSON.stringify(value)}, and no file has that name: stepwise ${scope.name} works on one database.`, `${fleet}pass --db <file> naming one database`);
  }
  return { driver, label: file, file };
}

/** How messages name the app's setting `key`: the config's, for the bin. */
function settingName(props: CreateCliProps<MigrationRegistry>, key: "database" | "url"): string {
  return props.extend ? `the config's "${key}"` : `the ${key} setting`;
}

/** The app's `url` setting; `null` when it names an environment variable that is not set (`unsetVariable`): not configured, for a SQLite driver. */
function configuredUrl(props: Pick<CreateCliProps<MigrationRegistry>, "url">): { url: string | null | undefined; unsetVariable: StepwiseError<"USAGE">["details"] | null } {
  try {
    return { url: valueOf(props.url), unsetVariable: null };
  } catch (error) {
    if (isUnsetVariable(error)) return { url: null, unsetVariable: error.details };
    throw error;
  }
}

/** Refuses what `driver`'s manager would refuse at construction, with the same code and fields, before a session is opened (and authenticated) or a file created. */
export function assertRegistryFits(migrations: MigrationRegistry, driver: CliDriverName): void {
  assertRegistryForDriver(migrations, dialectOfDriver(driver), driver === "sql-js" ? "sql.js" : driver);
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
  const { file } = resolveTarget(scope);
  if (file !== null && file !== ":memory:" && !existsSync(file))
    throw withFix(
      usageError(`There is no database at ${file}; ${consequence}.`),
      `check the database path (${scope.flags.db !== undefined ? "--db" : scope.flags.url !== undefined ? "--url" : "the database setting, or DATABASE_URL"}): ${file} does not exist`,
    );
}

/** A config setting names an environment variable (`"url": "${DATABASE_URL}"`) that is not set, and a command needs the setting. */
export function configVariableUnsetError(fields: { setting: string; variable: string; configFile: string }): StepwiseError<"USAGE"> {
  const { setting, variable, configFile } = fields;
  return withFix(
    new StepwiseError(
      "USAGE",
      `The config's "${setting}" (in ${configFile}) names \${${variable}}, but ${variable} is not set (or is blank). Set ${variable}, or pass --${setting}. ${NOTHING_CHANGED}`,
      fields,
    ),
    `set ${variable}, or pass --${setting}`,
  );
}

/**
 * Opens the database for one command and runs `action` on it; a read never creates a file. A write on a SQLite file not there yet first runs `preflight` on an in-memory database,
 * so what it refuses is refused before a file is made. `registry` stands in for the app's, for a command that must read whatever the registry holds.
 */
export async function withManager<R extends MigrationRegistry, T>(
  scope: CommandScope<R>,
  mode: CommandMode,
  action: (manager: CliManager<R>, database: string, exists: boolean) => T,
  preflight?: (manager: CliManager<R>) => unknown,
  registry?: R,
): Promise<Awaited<T>> {
  const target = resolveTarget(scope);
  // A migration's body reaches files of its own (an ATTACHed one): what SQLite refuses while one runs is not said of the database.
  let migrating = false;
  const onEvent = (event: MigrationEvent) => {
    if (event.type === "migrating" || event.type === "migrated") migrating = event.type === "migrating";
    scope.session.output.printEvent(event);
  };
  try {
    return await openAndRun(scope, target, onEvent, mode, action, preflight, registry);
  } catch (error) {
    throw migrating ? error : namingDatabaseFile(error, target.file);
  }
}

/** {@link withManager}'s work, on the target it resolved. */
async function openAndRun<R extends MigrationRegistry, T>(
  scope: CommandScope<R>,
  { driver, label, file, url }: DatabaseTarget,
  onEvent: (event: MigrationEvent) => void,
  mode: CommandMode,
  action: (manager: CliManager<R>, database: string, exists: boolean) => T,
  preflight?: (manager: CliManager<R>) => unknown,
  registry?: R,
): Promise<Awaited<T>> {
  const { session, flags } = scope;
  const { props } = session;
  // Before the folder is made: a driver that cannot write, or cannot load here, refuses with nothing touched.
  const connector = await connectorFor(scope, mode);
  const migrations = registry ?? (await loadRegistry(scope));
  if (registry === undefined) assertRegistryFits(migrations, driver);
  const busyTimeoutMs = setting(flags.busyTimeout, props.busyTimeoutMs) ?? DEFAULT_BUSY_TIMEOUT_MS;
  const managerProps = { tableName: setting(flags.table, props.tableName), busyTimeoutMs };
  const exists = file === null || file === ":memory:" || existsSync(file);
  if (mode === "write" && url === undefined && !exists) {
    // Opening the real path creates the file, and a refusal after that would leave an empty database behind.
    const scratch = await connector.open({ databasePath: ":memory:", busyTimeoutMs, migrations, props: managerProps });
    try {
      await preflight?.(scratch.manager);
    } finally {
      await scratch.close();
    }
  }
  if (mode === "write" && file !== null && file !== ":memory:") createDatabaseFolder(file);
  const lockTimeoutMs = setting(flags.lockTimeout, props.lockTimeoutMs);
  const authToken = driver === "libsql-client" ? session.output.io.env[LIBSQL_AUTH_TOKEN_ENV] : undefined;
  const opened = await connector.open({
    databasePath: label,
    busyTimeoutMs,
    migrations,
    props: { ...managerProps, onEvent: noteMigrating(session.output, migrations, onEvent) },
    ...(url !== undefined && { url, schema: setting(flags.schema, props.schema), ...(lockTimeoutMs !== undefined && { lockTimeoutMs }) }),
    ...(authToken !== undefined && { authToken }),
  });
  try {
    if (url !== undefined) await preflight?.(opened.manager);
    return await action(opened.manager, label, opened.exists ?? exists);
  } catch (error) {
    // Reads outside the manager (info's counts) fail in the database's own words; translated here with the busy timeout in force.
    throw opened.translateError(error);
  } finally {
    await opened.close();
  }
}

/** `onEvent`, which also keeps in `output` the migration running, from the registry's entry: a process that ends under it is reported as its failure. */
function noteMigrating(output: CliOutput, migrations: MigrationRegistry, onEvent: (event: MigrationEvent) => void): (event: MigrationEvent) => void {
  return (event) => {
    if (event.type === "migrating") {
      const entry = migrations.find((migration) => migration.version === event.version);
      output.migrating = entry ? { version: entry.version, file: entry.file, direction: event.direction, transaction: entry.transaction !== false } : null;
    } else if (event.type === "migrated" || event.type === "skipped") output.migrating = null;
    onEvent(event);
  };
}

/**
 * SQLite's refusal of a file (not a database, unreadable, read-only, a hot journal it may not roll back) as the library reports it names no file, which a connection does not know; the CLI opened one, perhaps from
 * the config or `DATABASE_URL`, so its message and `databasePath` name it.
 */
function namingDatabaseFile(error: unknown, file: string | null): unknown {
  if (file === null || file === ":memory:" || !(error instanceof StepwiseError)) return error;
  const code = error.is("DATABASE_UNUSABLE") ? (error.details.problem === undefined ? error.code : null) : error.is("DATABASE_NEEDS_RECOVERY") ? error.code : null;
  // A message that names the path already (a folder that cannot be made) says it once.
  if (code === null || error.message.includes(file)) return error;
  const spelled = (syntax: "api" | "cli") => {
    const kept = spellFields(error, syntax).message;
    return typeof kept === "string" ? kept : error.message;
  };
  const message = { api: spelled("api"), cli: spelled("cli") };
  const named = new StepwiseError(code, [`${file}: `, message], { ...(error.details as { sqliteCode: string }), databasePath: file }, { cause: error });
  return Object.assign(named, { nativeCode: error.nativeCode, nativeKind: error.nativeKind });
}

/** The history rows of the configured database, read whatever the registry holds (even one a merge broke) without creating a file; `null` when none is configured. */
export async function readAppliedHistory(scope: CommandScope): Promise<{ readonly database: string; readonly rows: readonly AppliedMigration[] } | null> {
  let target: DatabaseTarget | null;
  try {
    target = resolveTarget(scope, true);
  } catch (error) {
    // A config setting naming an environment variable that is not set: no database configured here.
    if (isUnsetVariable(error)) return null;
    throw error;
  }
  if (target === null) return null;
  // No file yet: nothing is applied, and the driver need not even load.
  if (target.url === undefined && target.file !== ":memory:" && !existsSync(target.file!)) return { database: target.label, rows: [] };
  return withManager(scope, "read", async (manager, database) => ({ database, rows: await manager.history() }), undefined, [] as MigrationRegistry);
}

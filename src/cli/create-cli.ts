/**
 * The runtime command line, embeddable in an app's own binary:
 *
 * ```ts
 * import { createCli } from "stepwise-migrate/cli";
 * import { migrations } from "./generated/registry.js";
 * process.exitCode = await createCli({ migrations, database: "data/app.db" }).run(process.argv.slice(2));
 * ```
 *
 * This layer only declares commands, parses arguments, calls the library and prints. Exit codes:
 * 0 success, 1 a refusal or failed migration, 2 a usage error. It imports no database library: the
 * drivers it offers come in `drivers` (`stepwise-migrate/cli`'s `createCli`, in `embedded-cli.ts`, adds
 * better-sqlite3; the bin adds all six, pg included, each loaded on use).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { StepwiseError, type StepwiseErrorCode } from "../core/errors.js";
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_LOCK_TIMEOUT_MS, type MigrationResult, type TransactionMode } from "../core/options.js";
import type { MigrationEvent } from "../core/events.js";
import type { StatusProblem } from "../core/plain-error.js";
import { chooseBackupMethod, upWithBackupMethod, type CliBackupMethod } from "./backup-method.js";
import { formatMigrationLabel } from "../core/migration-label.js";
import { describeRepair } from "../safety/repair.js";
import { translateSqliteError } from "../core/sqlite-errors.js";
import type { MigrationRegistry, SqlDialect } from "../core/types.js";
import { SyncMigrationManager } from "../core/manager.js";
import { requireBackupManager, serverBackupRefusal } from "./backup-refusals.js";
import { rehearsesOnCopy, rehearseWith, repairWith } from "./safety-nets.js";
import { collectDatabaseInfo } from "./database-info.js";
import { writerIgnoringClosedStream } from "./closed-pipe.js";
import { createDatabaseFolder, translateFolderError, usableDatabasePathOrThrow } from "./database-path.js";
import { assertPathRoundTrips } from "./path-encoding.js";
import { databasePathFromUrl } from "./database-url.js";
import { type DatabaseLookup, noDatabaseGivenError } from "./no-database-error.js";
import { createPalette, formatHistory, formatInfo, formatResult, formatStatus, type Palette } from "./format.js";
import { DEFAULT_BACKUP_KEEP } from "../safety/backup-defaults.js";
import { aliasesOf, CLI_DRIVER_NAMES, connectsByUrl, DEFAULT_CLI_DRIVER, dialectOfDriver, parseDriverName, type CliDriverName } from "./driver-names.js";
import { cliMessage, errorToJson, inCliSpelling, unexpectedErrorToJson } from "./json-error.js";
import { formatDuration, roundDurations } from "./duration.js";
import { formatStackChain, locateFailure } from "./error-location.js";
import { renameCommandMentions } from "./program-name.js";
import { loadDriver, type CliManager, type DriverLoaders, type OpenedDatabase, type CommandMode } from "./open-database.js";
import { exampleUrlOf, parseServerUrl, type ServerUrl } from "./server-url.js";
import { LIBSQL_AUTH_TOKEN_ENV } from "./libsql-url.js";
import { hideUrlIn, redactArguments, redactConnectionString } from "./secrets.js";
import { formatBackupTaken, formatRehearsal } from "./format-safety.js";
import { parseBusyTimeout, parseNonNegativeInteger, parsePath, parsePositiveInteger, parseTableName, refuseBareRepeat, singleValued } from "./parse-options.js";
import { createProgressDisplay } from "./progress-display.js";
import { createTransactionOption, refuseWholeRunEarly, transactionOptionOf } from "./transaction-option.js";
import { addSafetyCommands, defaultBackupDirectory } from "./safety-commands.js";
import type { CliContext, CliIo } from "./cli-context.js";
import {
  attachChecksumRepairs,
  checksumRepairsWith,
  exitCodeOfChecksumRepair,
  formatChecksumRepair,
  formatChecksumRepairEvents,
  repairChecksumsWith,
  REPAIRED_BY_ENV,
  resolveRepairedBy,
} from "./checksum-repair-command.js";
import { databasePathInvalidError, usageError } from "../core/error-factories.js";
import { driverCapabilityError } from "../core/driver.js";

/** Options for {@link createCli}. */
export interface CreateCliProps<R extends MigrationRegistry = MigrationRegistry> {
  /**
   * The registry, or a function that loads it when a command first needs it; it is told the chosen
   * driver and the SQL dialect of its database, so an app with one registry per dialect loads the right one.
   */
  readonly migrations: R | ((context: { readonly dialect: SqlDialect; readonly driver: CliDriverName }) => R | Promise<R>);
  /**
   * The database path used when `--db` is not given, or a function returning it (called only when a
   * command needs it). Relative paths are resolved against `cwd`.
   */
  readonly database?: string | null | (() => string | null);
  /**
   * The connection URL for a driver that connects by URL (pg), or a function returning it (called
   * only when a command needs it); `--url` overrides, `DATABASE_URL` is the fallback. It may hold a
   * password: the CLI never prints one.
   */
  readonly url?: string | null | (() => string | null);
  /** The history table's schema for pg, or a function returning it; `--schema` overrides. Default `public`. */
  readonly schema?: string | (() => string | undefined);
  /** Folder that relative `--db` paths are resolved against. Default: the process's working folder. */
  readonly cwd?: string;
  /** History table name, or a function returning it; `--table` overrides. Default `schema_migrations`. */
  readonly tableName?: string | (() => string);
  /**
   * The driver that opens the database, or a function returning it (`null`: the default,
   * better-sqlite3); `--driver` overrides. Its library is loaded only when a command runs.
   */
  readonly driver?: CliDriverName | (() => CliDriverName | null);
  /**
   * How each driver the CLI offers opens its connection. `stepwise-migrate/cli`'s `createCli` defaults it to
   * better-sqlite3 alone, so an app's bundle does not look for the other libraries; the `stepwise`
   * bin passes all six (five SQLite libraries and pg), each loaded only when chosen.
   */
  readonly drivers?: DriverLoaders;
  /** Default 30,000 ms; `--busy-timeout` overrides. */
  readonly busyTimeoutMs?: number;
  /**
   * For pg: how long a statement waits for another session's lock (PostgreSQL's `lock_timeout`) before
   * the migration fails with `LOCK_TIMEOUT`; 0 sets none. Default `DEFAULT_LOCK_TIMEOUT_MS` of
   * `stepwise-migrate/pg` (10 s); `--lock-timeout` overrides.
   */
  readonly lockTimeoutMs?: number;
  /**
   * The command as the app's users type it, such as `"myapp migrate"`: shown in help, usage lines and
   * every message that tells them what to run next. Default `"stepwise"`.
   */
  readonly programName?: string;
  /**
   * Printed by `--version` (and `-V`), such as the app's own version. Without it the CLI offers no
   * `--version`: an embedded CLI has no version of its own to report. The `stepwise` bin passes
   * stepwise's.
   */
  readonly version?: string;
  readonly io?: Partial<CliIo>;
  /**
   * The places besides `--db` and `DATABASE_URL` where the database setting was looked for, named
   * by the "No database given" error (the bin lists its config files and what each held).
   */
  readonly databaseSearched?: () => readonly DatabaseLookup[];
  /** Adds commands (the `stepwise` bin adds `gen` and `create` this way). */
  readonly extend?: (program: Command, context: CliContext) => void;
}

/** A ready command line. */
export interface Cli {
  /** The commander program, for apps that want to add commands or inspect help. */
  readonly program: Command;
  /** Runs one command line (without the node and script arguments) and returns the exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** What `up` parses from its own flags. */
interface UpCommandOptions {
  to?: number;
  transaction?: TransactionMode;
  json?: boolean;
  dryRun?: boolean;
  backup?: string | true;
  keepBackups?: number;
  dangerouslySkipIntegrityCheck?: boolean;
}

interface GlobalFlags {
  db?: string;
  url?: string;
  schema?: string;
  table?: string;
  busyTimeout?: number;
  lockTimeout?: number;
  driver?: CliDriverName;
}

/** Builds the runtime CLI: status, up, down, history, version, info, reset. */
/** A driver's name as `--help` lists it, with the other spellings `--driver` accepts for it. */
function withAliases(driver: string): string {
  const aliases = (CLI_DRIVER_NAMES as readonly string[]).includes(driver) ? aliasesOf(driver as CliDriverName) : [];
  return aliases.length === 0 ? driver : `${driver} (or ${aliases.join(", ")})`;
}

export function createCli<R extends MigrationRegistry>(props: CreateCliProps<R>): Cli {
  // Secrets are hidden where a URL is printed (secrets.ts), never by searching the output for them.
  const io: CliIo = {
    stdout: props.io?.stdout ?? writerIgnoringClosedStream(process.stdout),
    stderr: props.io?.stderr ?? writerIgnoringClosedStream(process.stderr),
    env: props.io?.env ?? process.env,
    isTTY: props.io?.isTTY ?? Boolean(process.stdout.isTTY),
  };
  const palette = createPalette(io.env, io.isTTY);
  const print = (text: string) => io.stdout(text.endsWith("\n") ? text : `${text}\n`);
  // Every JSON output passes here: durations become whole milliseconds, as the text shows them rounded too.
  const printJson = (value: unknown) => print(JSON.stringify(roundDurations(value), null, 2));
  const programName = props.programName ?? "stepwise";
  /** The library names commands as `stepwise <command>`; the app's own CLI is run by its name. */
  const renameCommands = (text: string) =>
    renameCommandMentions(
      text,
      programName,
      program.commands.map((command) => command.name()),
    );
  /** A command as the user types it, for messages that say what to run. */
  const commandLine = (rest: string) => `${programName} ${rest}`;
  let exitCode = 0;
  /** The arguments of the run under way, whose secrets commander's messages must not echo. */
  let echoedArguments: readonly string[] = [];

  let loaded: Promise<R> | undefined;
  const loadMigrations = (driver: CliDriverName): Promise<R> => {
    const { migrations } = props;
    loaded ??= Promise.resolve(typeof migrations === "function" ? migrations({ dialect: dialectOfDriver(driver), driver }) : migrations);
    return loaded;
  };

  const offeredDrivers = Object.keys(props.drivers ?? DEFAULT_DRIVERS);
  const program = new Command(programName);
  if (props.version !== undefined) program.version(props.version, "-V, --version", "print the version and exit");
  program
    .description("Migrations for SQLite and PostgreSQL apps, compiled into a registry")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      // commander's own usage errors carry the same code as the CLI's, so scripts can tell them apart.
      outputError: (text, write) => write(redactArguments(text, echoedArguments).replace(/^error: /, `${palette.red(`error [${USAGE_CODE}]`)}: `)),
    })
    .showHelpAfterError(`(run "${programName} --help" for usage)`)
    .option(
      "--db <path>",
      "database file" + (typeof props.database === "string" ? ` (default: ${props.database})` : props.extend ? ' (default: "database" in the stepwise config, then DATABASE_URL)' : ""),
      singleValued(undefined, showRedacted),
    )
    .option(
      "--url <url>",
      `connection URL for --driver pg, such as postgres://user@host:5432/database, or for --driver libsql-client, such as file:data/app.db or libsql://your-db.turso.io` +
        `${props.extend ? ' (or "url" in the stepwise config)' : ""}, else DATABASE_URL; ` +
        "keep the password out of it (PGPASSWORD) where others can read your command line, and give a libSQL token as LIBSQL_AUTH_TOKEN",
      singleValued(undefined, showRedacted),
    )
    .option("--schema <name>", "PostgreSQL schema of the history table, for --driver pg (default: public)", singleValued())
    .option("--table <name>", "history table name (default: schema_migrations)", singleValued(parseTableName))
    .option("--busy-timeout <ms>", `how long to wait for another process's lock (default: ${DEFAULT_BUSY_TIMEOUT_MS}); on pg, for the run lock`, singleValued(parseBusyTimeout))
    .option(
      "--lock-timeout <ms>",
      `for --driver pg: how long a migration's statement waits for another session's lock on a table (lock_timeout) before it fails, rolled back, naming the session that held it (default: ${DEFAULT_LOCK_TIMEOUT_MS}; 0: no limit)`,
      singleValued(parseBusyTimeout),
    )
    .option(
      "--driver <name>",
      `the library that opens the database: ${offeredDrivers.map(withAliases).join(", ")}` +
        `${props.extend ? ', or "driver" in the stepwise config' : ""}; the flag wins (default: ${typeof props.driver === "string" ? props.driver : DEFAULT_CLI_DRIVER})`,
      singleValued((value: string) => parseDriverName(value, "--driver")),
    )
    .option("--verbose", "on failure, also print the whole stack and the chain of causes");

  const flagsOf = (command: Command) => command.optsWithGlobals<GlobalFlags>();
  /** Resolves a path the user typed against the CLI's working folder, once it is known to name the file the user meant. */
  const resolvePath = (file: string) => {
    const cwd = props.cwd ?? process.cwd();
    assertPathRoundTrips(file);
    // The working folder's own name may have come in bytes that are not UTF-8 too.
    if (!path.isAbsolute(file)) assertPathRoundTrips(cwd);
    return path.resolve(cwd, file);
  };
  const driverOf = (flags: GlobalFlags): CliDriverName => flags.driver ?? (typeof props.driver === "function" ? props.driver() : props.driver) ?? DEFAULT_CLI_DRIVER;
  const tableNameOf = (flags: GlobalFlags) => flags.table ?? (typeof props.tableName === "function" ? props.tableName() : props.tableName);

  const resolveDatabasePath = (flags: GlobalFlags): string => {
    const driver = driverOf(flags);
    if (connectsByUrl(driver)) {
      throw usageError(`The ${driver} driver connects to a server and has no database file; this command works on a SQLite file only. Nothing was changed.`);
    }
    if (flags.url !== undefined) throw usageError(`--url is for --driver pg or libsql-client; the ${driver} driver opens a SQLite file: pass --db <path> instead. Nothing was changed.`);
    if (flags.schema !== undefined) throw usageError(`--schema is for --driver pg; a SQLite database has no schemas: leave it out. Nothing was changed.`);
    refuseLockTimeoutOff(flags);
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
    return usableDatabasePathOrThrow(resolvePath(chosen));
  };

  /**
   * The connection URL for a driver that connects by URL: `--url`, then the app's `url` (the
   * config's), then `DATABASE_URL`. Its password is handed to the redactor before anything can fail.
   */
  const resolveUrl = (flags: GlobalFlags): ServerUrl => {
    const driver = driverOf(flags);
    if (flags.db !== undefined) {
      throw usageError(`--db is for the SQLite file drivers; the ${driver} driver connects by URL: pass --url ${exampleUrlOf(driver)} instead (or set DATABASE_URL). Nothing was changed.`);
    }
    if (flags.schema !== undefined && driver !== "pg") throw usageError(`--schema is for --driver pg; a libSQL database has no schemas: leave it out. Nothing was changed.`);
    refuseLockTimeoutOff(flags);
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
    return parseServerUrl(driver, chosen, source, resolvePath);
  };
  const schemaOf = (flags: GlobalFlags) => flags.schema ?? (typeof props.schema === "function" ? props.schema() : props.schema);
  /** `--lock-timeout` outside pg: SQLite has no lock_timeout (its busy timeout bounds every wait). */
  const refuseLockTimeoutOff = (flags: GlobalFlags): void => {
    if (flags.lockTimeout !== undefined && driverOf(flags) !== "pg") {
      throw usageError(`--lock-timeout is for --driver pg; the ${driverOf(flags)} driver waits for locks up to --busy-timeout: use that instead. Nothing was changed.`);
    }
  };
  const lockTimeoutOf = (flags: GlobalFlags): number | undefined => flags.lockTimeout ?? props.lockTimeoutMs;

  /**
   * Refuses, before any connection, a backup or restore on a driver whose database lives on a
   * server: stepwise's backups copy a SQLite file, and the refusal names the server's `tool`.
   */
  const refuseServerBackup = (command: Command, operation: string, tool: "pg_dump" | "pg_restore"): void => {
    const driver = driverOf(flagsOf(command));
    if (driver === "pg") throw serverBackupRefusal(driver, operation, tool);
    // libsql-client reaches no second file through its client: backups copy files (capability openFile).
    if (connectsByUrl(driver)) throw driverCapabilityError({ driver, capability: "openFile", operation });
  };

  /** Commands that change an existing database must not create an empty one by mistake. */
  const refuseMissingDatabase = (command: Command, consequence: string): void => {
    // A server's database exists or the connection fails; there is no file to create by mistake,
    // except through a libsql-client file: URL.
    if (connectsByUrl(driverOf(flagsOf(command)))) {
      const { file } = resolveUrl(flagsOf(command));
      if (file !== null && !existsSync(file)) throw usageError(`There is no database at ${file}; ${consequence}.`);
      return;
    }
    const databasePath = resolveDatabasePath(flagsOf(command));
    if (databasePath !== ":memory:" && !existsSync(databasePath)) {
      throw usageError(`There is no database at ${databasePath}; ${consequence}.`);
    }
  };

  const busyTimeoutOf = (flags: ReturnType<typeof flagsOf>): number => flags.busyTimeout ?? props.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  /** The chosen driver's library, loaded and checked for this runtime and `mode`; refuses typed before anything is touched. */
  const connectorFor = (command: Command, mode: CommandMode) => {
    const flags = flagsOf(command);
    return loadDriver(driverOf(flags), mode, commandLine(command.name()), props.drivers ?? DEFAULT_DRIVERS, flags.driver ? "--driver" : "the driver setting");
  };

  /**
   * Opens the database for one command. Read-only commands never create a file: a missing one reads
   * as an empty database. A write command on a database that does not exist yet first runs
   * `preflight` on an in-memory database of the same library and registry, so whatever it refuses
   * (the registry, `--to`, a capability the library lacks) is refused before a folder or file is made.
   */
  const withManager = async <T>(
    command: Command,
    mode: CommandMode,
    action: (manager: CliManager<R>, databasePath: string, exists: boolean) => T,
    preflight?: (manager: CliManager<R>) => unknown,
    registry?: R,
  ): Promise<Awaited<T>> => {
    const flags = flagsOf(command);
    if (connectsByUrl(driverOf(flags))) return withServerManager(command, mode, action, preflight, registry);
    const databasePath = resolveDatabasePath(flags);
    // Before the folder is made: a driver that cannot write, or cannot load here, refuses with nothing touched.
    const connector = await connectorFor(command, mode);
    const migrations = registry ?? (await loadMigrations(driverOf(flags)));
    const exists = databasePath === ":memory:" || existsSync(databasePath);
    const busyTimeoutMs = busyTimeoutOf(flags);
    if (mode === "write" && !exists) {
      // Opening the real path creates the file, and a refusal after that would leave an empty
      // database behind that `status` then reports as existing.
      const scratch = await connector.open({ databasePath: ":memory:", busyTimeoutMs, migrations, props: { tableName: tableNameOf(flags), busyTimeoutMs } });
      try {
        await preflight?.(scratch.manager);
      } finally {
        await scratch.close();
      }
    }
    if (mode === "write" && databasePath !== ":memory:") {
      try {
        createDatabaseFolder(databasePath);
      } catch (error) {
        throw translateFolderError(error, databasePath);
      }
    }
    const opened = await connector.open({ databasePath, busyTimeoutMs, migrations, props: managerProps(flags) });
    return runAndClose(opened, () => action(opened.manager, databasePath, exists));
  };

  const managerProps = (flags: GlobalFlags) => ({
    tableName: tableNameOf(flags),
    busyTimeoutMs: busyTimeoutOf(flags),
    // Read-only commands emit only progress (a dry run) and verification events.
    onEvent: (event: MigrationEvent) => printEvent(event),
  });

  /**
   * Runs `action` on an opened database and closes it. Reads outside the manager (info's object
   * counts, say) fail with the database's own codes; translated here, they report the busy timeout
   * that was really in force, not reportError's unknown 0.
   */
  const runAndClose = async <T>(opened: OpenedDatabase<R>, action: () => T): Promise<Awaited<T>> => {
    try {
      return await action();
    } catch (error) {
      throw opened.translateError(error);
    } finally {
      await opened.close();
    }
  };

  /**
   * {@link withManager} for a driver that connects by URL. There is no file to create, so there is no
   * scratch preflight: `preflight` (whatever the command refuses before it writes) runs on the real
   * session, before the action, and reads only. The action sees the URL with its password hidden.
   */
  const withServerManager = async <T>(
    command: Command,
    mode: CommandMode,
    action: (manager: CliManager<R>, databaseLabel: string, exists: boolean) => T,
    preflight?: (manager: CliManager<R>) => unknown,
    registry?: R,
  ): Promise<Awaited<T>> => {
    const flags = flagsOf(command);
    const { url, label, file } = resolveUrl(flags);
    const connector = await connectorFor(command, mode);
    if (mode === "write" && file !== null) {
      try {
        createDatabaseFolder(file);
      } catch (error) {
        throw translateFolderError(error, file);
      }
    }
    const migrations = registry ?? (await loadMigrations(driverOf(flags)));
    const authToken = driverOf(flags) === "libsql-client" ? io.env[LIBSQL_AUTH_TOKEN_ENV] : undefined;
    // A driver's error may quote the URL it was given (its own, or a cause's): here, where the URL
    // is known, it is shown redacted.
    try {
      const opened = await connector.open({
        databasePath: label,
        url,
        schema: schemaOf(flags),
        ...(authToken === undefined ? {} : { authToken }),
        ...(lockTimeoutOf(flags) === undefined ? {} : { lockTimeoutMs: lockTimeoutOf(flags) }),
        busyTimeoutMs: busyTimeoutOf(flags),
        migrations,
        props: managerProps(flags),
      });
      return await runAndClose(opened, async () => {
        await preflight?.(opened.manager);
        return action(opened.manager, label, opened.exists ?? true);
      });
    } catch (error) {
      throw hideUrlIn(error, url, redactConnectionString(url));
    }
  };

  let quietEvents = false;
  /** The snapshot `up --backup` is taking, named where its `backed-up` event is printed. */
  let backupMethod: CliBackupMethod | undefined;
  const progressDisplay = createProgressDisplay({ write: io.stdout, isTTY: io.isTTY, palette });
  const printEvent = (event: MigrationEvent) => {
    if (quietEvents) return;
    if (event.type === "progress") return progressDisplay.show(event);
    progressDisplay.clear();
    if (event.type === "backed-up") return print(formatBackupTaken(event.backup, palette, backupMethod));
    if (event.type === "migrated") {
      const arrow = event.direction === "up" ? palette.green("↑") : palette.yellow("↓");
      print(`  ${arrow} ${formatMigrationLabel(event.version, event.name)} ${palette.dim(formatDuration(event.durationMs))}`);
    } else if (event.type === "skipped") {
      print(`  ${palette.dim(`- ${formatMigrationLabel(event.version, event.name)} (already ${event.direction === "up" ? "applied" : "reverted"} by another process)`)}`);
    }
  };

  const printResult = (result: MigrationResult & { readonly backupMethod?: CliBackupMethod }, json: boolean) => {
    if (json) printJson(result);
    else print(formatResult(result, palette));
  };

  program
    .command("status")
    .description("show which migrations are applied and which are pending")
    .option("--json", "print plain JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withManager(command, "read", async (manager, databasePath, exists) => {
        const found = await manager.status();
        // The refusal as every command prints one: spelled with the CLI's flags, named by this program.
        const problem = found.problem && inCliSpelling(found.problem);
        const status = {
          ...found,
          problem: problem && { ...problem, message: renameCommands(problem.message), ...(problem.fix ? { fix: renameInFix(problem.fix, renameCommands) as StatusProblem["fix"] } : {}) },
        };
        if (options.json) printJson({ database: databasePath, exists, ...status });
        else print(formatStatus(status, exists ? databasePath : `${databasePath} ${palette.dim("(does not exist yet)")}`, palette));
        if (status.problem) {
          io.stderr(`${palette.red(`error [${status.problem.code}]`)}: ${status.problem.message}\n`);
          exitCode = 1;
        }
      });
    });

  const up = program
    .command("up")
    .description("apply pending migrations, in order")
    .option("--to <version>", "stop after this version", singleValued(parsePositiveInteger))
    .addOption(createTransactionOption("apply"))
    .option("--json", "print the result as JSON instead of progress lines")
    .addOption(new Option("--dry-run", "rehearse on an in-memory copy and report durations, schema diff, row counts and failures; writes nothing").conflicts("backup"))
    .option("--backup [dir]", "snapshot the database before applying, when something is pending (default dir: backups/ next to the database)", singleValued(parsePath))
    .option("--keep-backups <count>", `how many backups of this database to keep in that folder (default: ${DEFAULT_BACKUP_KEEP})`, singleValued(parsePositiveInteger))
    .option("--dangerously-skip-integrity-check", "with --backup: migrate, and keep the snapshot, even when SQLite's quick_check finds the database damaged");
  refuseBareRepeat(up, "backup", "--backup [dir]");
  up.action(async (options: UpCommandOptions, command: Command) => {
    quietEvents = Boolean(options.json);
    const to = options.to === undefined ? {} : { to: options.to };
    const transaction = transactionOptionOf(options);
    // What the run would refuse, refused before a database file is made (see withManager).
    const preflight = async (manager: CliManager<R>) => {
      let plan;
      try {
        plan = await manager.planUp(to);
      } catch (error) {
        // Only up tells an interrupted migration from one still running elsewhere (it waits for it).
        if (error instanceof StepwiseError && error.is("INCOMPLETE_MIGRATION")) return;
        throw error;
      }
      if (transaction.transaction === "all") await refuseWholeRunEarly(manager, plan);
    };
    if (options.dryRun) {
      // A sync SQLite manager rehearses on an in-memory copy; pg and an async manager in a transaction rolled back.
      await withManager(command, "rehearse", async (manager) => {
        // A rehearsal runs the migrations one by one; what one transaction for the run would refuse is refused first.
        if (transaction.transaction === "all") await refuseWholeRunEarly(manager, await manager.planUp(to));
        const { rehearsal } = await rehearseWith(manager, to);
        progressDisplay.clear();
        if (options.json) printJson(rehearsal);
        else print(formatRehearsal(rehearsal, palette, rehearsesOnCopy(manager) ? "copy" : "rolled-back"));
        if (!rehearsal.ok) exitCode = 1;
      });
      return;
    }
    const { dangerouslySkipIntegrityCheck = false } = options;
    // Only a backup is checked: plain up would read the whole file at every start (see backup-check.ts).
    if (dangerouslySkipIntegrityCheck && options.backup === undefined) throw usageError("--dangerously-skip-integrity-check goes with --backup; plain up runs no integrity check.");
    if (options.backup === undefined) {
      await withManager(command, "write", async (manager) => printResult(await manager.up({ ...to, ...transaction }), Boolean(options.json)), preflight);
      return;
    }
    // Resolved before anything is opened or created: a path that is not the one the user meant is refused first.
    const backupDirectory = options.backup === true ? null : resolvePath(options.backup);
    // Backups copy a SQLite file; a PostgreSQL database is backed up with pg_dump before the run.
    const operation = commandLine("up --backup");
    refuseServerBackup(command, operation, "pg_dump");
    await withManager(
      command,
      "write",
      async (cliManager, databasePath) => {
        const manager = requireBackupManager(cliManager, operation);
        const backup = {
          directory: backupDirectory ?? defaultBackupDirectory(databasePath),
          keep: options.keepBackups ?? DEFAULT_BACKUP_KEEP,
        };
        backupMethod = chooseBackupMethod(manager);
        const result = await upWithBackupMethod(manager, backupMethod, { ...to, ...transaction, backup, dangerouslySkipIntegrityCheck });
        // Scripts read which snapshot was taken: an online copy, or a VACUUM INTO on drivers without one.
        printResult(result.backup ? { ...result, backupMethod } : result, Boolean(options.json));
      },
      async (cliManager) => {
        const manager = requireBackupManager(cliManager, operation);
        await preflight(manager);
        chooseBackupMethod(manager);
      },
    );
  });

  program
    .command("down")
    .description("revert applied migrations, newest first (default: one)")
    .addOption(new Option("--steps <count>", "how many to revert").argParser(singleValued(parsePositiveInteger)).conflicts("to"))
    .addOption(new Option("--to <version>", "revert every migration above this version (0 reverts all)").argParser(singleValued(parseNonNegativeInteger)))
    .addOption(createTransactionOption("revert"))
    .option("--json", "print the result as JSON instead of progress lines")
    .action(async (options: { steps?: number; to?: number; transaction?: TransactionMode; json?: boolean }, command: Command) => {
      quietEvents = Boolean(options.json);
      refuseMissingDatabase(command, "nothing to revert");
      const transaction = transactionOptionOf(options);
      await withManager(command, "write", async (manager) => {
        const result = await (options.to !== undefined ? manager.down({ to: options.to, ...transaction }) : manager.down({ steps: options.steps ?? 1, ...transaction }));
        printResult(result, Boolean(options.json));
      });
    });

  program
    .command("history")
    .description("list applied migrations with when they ran and how long they took")
    .option("--json", "print plain JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withManager(command, "read", async (manager) => {
        const rows = await manager.history();
        const repairs = await checksumRepairsWith(manager);
        if (options.json) printJson(attachChecksumRepairs(rows, repairs));
        else print(formatHistory(rows, palette) + formatChecksumRepairEvents(repairs));
      });
    });

  program
    .command("version")
    .description("print the database's schema version (0 when nothing is applied)")
    .action(async (_options: unknown, command: Command) => {
      await withManager(command, "read", async (manager) => print(String(await manager.currentVersion())));
    });

  program
    .command("info")
    .description("show the database file, its schema version, object counts, last migration and journal mode")
    .option("--json", "print plain JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withManager(command, "read", async (manager, databasePath, exists) => {
        if (!exists) throw usageError(`There is no database at ${databasePath}; run "${commandLine("up")}" to create it.`);
        const collected = await collectDatabaseInfo(manager, databasePath);
        const info = { ...collected, problem: collected.problem && inCliSpelling(collected.problem) };
        if (options.json) printJson(info);
        else print(formatInfo(info, palette));
      });
    });

  program
    .command("reset")
    .description("drop every table, view, index and trigger, then apply all migrations (destroys all data)")
    .option("--yes", "confirm that all data in the database may be destroyed")
    .option("--json", "print the result as JSON instead of progress lines")
    .action(async (options: { yes?: boolean; json?: boolean }, command: Command) => {
      if (!options.yes) throw usageError("reset destroys every table and all data; run it again with --yes to confirm.");
      quietEvents = Boolean(options.json);
      await withManager(command, "write", async (manager) => {
        printResult(await manager.reset({ dangerouslyDropAllData: true }), Boolean(options.json));
      });
    });

  program
    .command("repair")
    .description("resolve an interrupted transaction:false migration (--applied/--forget), or realign recorded checksums with the registry after a deliberate edit (--checksums)")
    .addOption(new Option("--applied <version>", "its changes are all in the database: record it as applied").argParser(singleValued(parsePositiveInteger)).conflicts(["forget", "checksums"]))
    .addOption(new Option("--forget <version>", "none of its changes are in the database: drop the attempt so up runs it again").argParser(singleValued(parsePositiveInteger)).conflicts("checksums"))
    .addOption(
      new Option(
        "--checksums [version]",
        "record the registry's checksum for applied migrations whose file was edited on purpose (all, or one version); shows the changes and exits 1 until --yes, and history records who and when",
      ).argParser(singleValued(parsePositiveInteger)),
    )
    .option("--by <name>", `with --checksums: who the repair is recorded as (default: $${REPAIRED_BY_ENV}, else the OS user)`, singleValued())
    .option("--yes", "confirm; repair only records what you checked, it does not inspect the schema")
    .option("--json", "print the result as JSON")
    .action(async (options: { applied?: number; forget?: number; checksums?: number | true; by?: string; yes?: boolean; json?: boolean }, command: Command) => {
      if (options.checksums !== undefined) {
        refuseMissingDatabase(command, "nothing to repair");
        const apply = Boolean(options.yes);
        const repairedBy = resolveRepairedBy(options.by, io.env);
        await withManager(command, apply ? "write" : "read", async (manager) => {
          const result = await repairChecksumsWith(manager, { apply, version: options.checksums === true ? undefined : options.checksums, repairedBy });
          if (options.json) printJson(result);
          else print(formatChecksumRepair(result));
          exitCode = exitCodeOfChecksumRepair(result);
        });
        return;
      }
      if (options.by !== undefined) throw usageError("--by names who realigned checksums; it goes with --checksums.");
      const version = options.applied ?? options.forget;
      if (version === undefined) throw usageError("repair needs --applied <version>, --forget <version> or --checksums [version].");
      if (!options.yes) throw usageError("repair rewrites the history after you checked the database by hand; run it again with --yes to confirm.");
      refuseMissingDatabase(command, "nothing to repair");
      await withManager(command, "write", async (manager) => {
        const result = await repairWith(manager, {
          version,
          resolution: options.applied !== undefined ? "applied" : "forget",
        });
        if (options.json) printJson(result);
        else print(describeRepair(result));
      });
    });

  const context: CliContext = {
    io,
    palette,
    setExitCode: (code) => {
      exitCode = code;
    },
    async readAppliedHistory(command) {
      const flags = flagsOf(command);
      const byUrl = connectsByUrl(driverOf(flags));
      let configured: string | null | undefined;
      try {
        configured = byUrl
          ? (flags.url ?? (typeof props.url === "function" ? props.url() : props.url) ?? io.env.DATABASE_URL)
          : (flags.db ?? (typeof props.database === "function" ? props.database() : props.database) ?? databasePathFromUrl(io.env.DATABASE_URL));
      } catch (error) {
        // A setting naming an unset variable is not configured, for a command that can do without it.
        if (error instanceof StepwiseError && error.is("USAGE") && error.details.variable !== undefined) return null;
        throw error;
      }
      if (configured == null || configured.trim() === "") return null;
      // The empty registry: the rows are wanted whatever the registry holds, even one a merge broke.
      const empty = [] as unknown as R;
      if (!byUrl && resolveDatabasePath(flags) !== ":memory:" && !existsSync(resolveDatabasePath(flags))) return { database: resolveDatabasePath(flags), rows: [] };
      return withManager(command, "read", async (manager, database) => ({ database, rows: await manager.history() }), undefined, empty);
    },
  };
  addSafetyCommands(program, {
    context,
    print,
    printJson,
    commandLine,
    withManager,
    refuseServerBackup,
    refuseMissingDatabase,
    resolveDatabasePath: (command) => resolveDatabasePath(flagsOf(command)),
    tableName: (command) => tableNameOf(flagsOf(command)),
    driver: (command) => driverOf(flagsOf(command)),
    resolvePath,
    scratchDriver: async (command) => {
      const connector = await connectorFor(command, "write");
      const opened = await connector.open({ databasePath: ":memory:", busyTimeoutMs: busyTimeoutOf(flagsOf(command)), migrations: [], props: {} });
      if (!(opened.manager instanceof SyncMigrationManager)) {
        await opened.close();
        throw driverCapabilityError({ driver: opened.manager.driver.name, capability: "openFile", operation: commandLine("restore") });
      }
      const driver = (opened.manager as SyncMigrationManager<unknown, never[]>).driver;
      return { driver, close: () => void opened.close() };
    },
  });
  props.extend?.(program, context);

  return {
    program,
    async run(argv) {
      exitCode = 0;
      // commander echoes an argument it refuses (an unknown option or command, a repeated flag).
      echoedArguments = argv;
      try {
        await program.parseAsync([...argv], { from: "user" });
        return exitCode;
      } catch (error) {
        const rename = renameCommands;
        // A script that asked for JSON gets every failure as JSON too, on stdout where it reads:
        // usage errors, refusals before the database opens, and what nothing translated.
        if (asksFor(argv, "--json")) {
          const printError = (fields: Record<string, unknown>) => printJson({ error: { ...fields, message: rename(String(fields.message)), fix: renameInFix(fields.fix, rename) } });
          if (error instanceof StepwiseError) printError(errorToJson(error));
          else if (error instanceof CommanderError) {
            if (!isSuccess(error)) printError({ name: "StepwiseError", code: USAGE_CODE, message: redactArguments(error.message.replace(/^error: /, ""), argv) });
          } else {
            const translated = translateSqliteError(error, 0);
            printError(translated instanceof StepwiseError ? errorToJson(translated) : unexpectedErrorToJson(error));
          }
        }
        return reportError(error, { ...io, stderr: (text) => io.stderr(rename(text)) }, palette, { verbose: asksFor(argv, "--verbose") });
      }
    },
  };
}

const USAGE_CODE: StepwiseErrorCode = "USAGE";

/** What this module offers without `drivers`: none, so it imports no library (`stepwise-migrate/cli`'s `createCli` adds better-sqlite3). */
const DEFAULT_DRIVERS: DriverLoaders = {};

/** A value of `--db` or `--url` as a message quotes it: as JSON, its secrets hidden. */
function showRedacted(value: string): string {
  return JSON.stringify(redactConnectionString(value));
}

/**
 * Refuses, naming `source` and the shape only, a database path that is a URL (`scheme://…`: never
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

/**
 * Whether `flag` is among the options (before a `--` that ends them). Read from the raw arguments,
 * not commander's parse, so a failure while parsing still honours it.
 */
function asksFor(argv: readonly string[], flag: "--json" | "--verbose"): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes(flag);
}

/** Whether commander stopped for help or a version asked for (exit 0), not for a mistake. */
function isSuccess(error: CommanderError): boolean {
  return error.code === "commander.helpDisplayed" || error.code === "commander.version" || (error.code === "commander.help" && error.exitCode === 0);
}

/** Whether a path ends the way only a folder is named: a separator, or a `.`/`..` last segment. */
function namesFolder(file: string): boolean {
  return /[\\/]$/.test(file) || /(^|[\\/])\.{1,2}$/.test(file);
}

/** How {@link reportError} prints. */
export interface ReportErrorOptions {
  /** Also print the whole stack and the chain of causes (`--verbose`). */
  readonly verbose?: boolean;
}

/** The codes the CLI exits 2 for: each names a setting the user typed (a flag or the config), not a state of the database. */
const USAGE_EXIT_CODES: ReadonlySet<StepwiseErrorCode> = new Set<StepwiseErrorCode>(["USAGE", "DATABASE_PATH_INVALID", "PATH_NOT_UTF8", "INVALID_TABLE_NAME", "DRIVER_UNKNOWN"]);

/**
 * Maps an error to its exit code after printing it; the one place the CLI decides exit codes. A
 * failed migration is followed by where in its file it failed (`at migrations/002_x.ts:5:11`);
 * the stack only with `verbose`.
 */
export function reportError(error: unknown, io: CliIo, palette: Palette, options: ReportErrorOptions = {}): number {
  if (error instanceof CommanderError) {
    // commander has printed its own message already.
    // Help asked for (--help, `help <command>`) is success; help shown because no command or an
    // unknown one was given carries commander's non-zero exit code and is a usage error.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    if (error.code === "commander.help") return error.exitCode === 0 ? 0 : 2;
    return 2;
  }
  if (error instanceof StepwiseError && USAGE_EXIT_CODES.has(error.code)) {
    io.stderr(`${palette.red(`error [${error.code}]`)}: ${cliMessage(error)}\n`);
    if (options.verbose) io.stderr(`${palette.dim(formatStackChain(error))}\n`);
    return 2;
  }
  const translated = translateSqliteError(error, 0);
  if (translated instanceof StepwiseError) {
    const location = locateFailure(translated);
    io.stderr(`${palette.red(`error [${translated.code}]`)}: ${cliMessage(translated)}\n`);
    if (location) io.stderr(`Thrown at ${location.file}:${location.line}:${location.column}\n`);
    if (options.verbose) io.stderr(`${palette.dim(formatStackChain(translated))}\n`);
    else if (translated.cause !== undefined) io.stderr(palette.dim("(run with --verbose for the whole stack)\n"));
    return 1;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr(`${palette.red("unexpected error")} (please report it with the output below):\n${detail}\n`);
  return 1;
}

/**
 * An error's `fix` with the library's command names rewritten to the app's: a string, or a structured
 * fix (such as CHECKSUM_MISMATCH's accidental and deliberate ways out) with every string inside it
 * rewritten and its shape kept; `null` when the error has none.
 */
function renameInFix(fix: unknown, rename: (text: string) => string): unknown {
  if (fix === undefined || fix === null) return null;
  if (typeof fix === "string") return rename(fix);
  if (Array.isArray(fix)) return fix.map((item) => renameInFix(item, rename));
  if (typeof fix === "object") return Object.fromEntries(Object.entries(fix).map(([key, value]) => [key, renameInFix(value, rename)]));
  return fix;
}

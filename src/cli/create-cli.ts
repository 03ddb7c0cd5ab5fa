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
import { Command, CommanderError } from "commander";
import { StepwiseError, type StepwiseErrorCode } from "../core/errors.js";
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_LOCK_TIMEOUT_MS } from "../core/options.js";
import { translateSqliteError } from "../core/sqlite-errors.js";
import type { MigrationRegistry } from "../core/types.js";
import { SyncMigrationManager } from "../core/manager.js";
import { driverCapabilityError } from "../core/driver.js";
import { writerIgnoringClosedStream } from "./closed-pipe.js";
import type { Cli, CreateCliProps } from "./cli-props.js";
import type { CliContext, CliIo } from "./cli-context.js";
import { createCliOutput, type CliOutput } from "./cli-output.js";
import {
  busyTimeoutOf,
  connectorFor,
  DEFAULT_DRIVERS,
  driverOf,
  flagsOf,
  refuseMissingDatabase,
  refuseServerBackup,
  resolveDatabasePath,
  resolvePath,
  tableNameOf,
  type CliSession,
} from "./database-target.js";
import { databasePathFromUrl } from "./database-url.js";
import { aliasesOf, CLI_DRIVER_NAMES, connectsByUrl, DEFAULT_CLI_DRIVER, parseDriverName, type CliDriverName } from "./driver-names.js";
import { formatStackChain, locateFailure } from "./error-location.js";
import { createPalette, type Palette } from "./format.js";
import { cliMessage, errorToJson, unexpectedErrorToJson } from "./json-error.js";
import { parseBusyTimeout, parseTableName, singleValued } from "./parse-options.js";
import { renameCommandMentions, renameInFix } from "./program-name.js";
import { addSafetyCommands } from "./safety-commands.js";
import { redactArguments, redactConnectionString } from "./secrets.js";
import { withManager } from "./with-manager.js";
import type { CommandKit } from "./commands/command-kit.js";
import { addDownCommand, addResetCommand } from "./commands/down-reset.js";
import { addReadCommands } from "./commands/read.js";
import { addRepairCommand } from "./commands/repair.js";
import { addStatusCommand } from "./commands/status.js";
import { addUpCommand } from "./commands/up.js";

export type { Cli, CreateCliProps } from "./cli-props.js";

/** Builds the runtime CLI: status, up, down, history, version, info, reset, repair, baseline, verify and restore. */
export function createCli<R extends MigrationRegistry>(props: CreateCliProps<R>): Cli {
  // Secrets are hidden where a URL is printed (secrets.ts), never by searching the output for them.
  const io: CliIo = {
    stdout: props.io?.stdout ?? writerIgnoringClosedStream(process.stdout),
    stderr: props.io?.stderr ?? writerIgnoringClosedStream(process.stderr),
    env: props.io?.env ?? process.env,
    isTTY: props.io?.isTTY ?? Boolean(process.stdout.isTTY),
  };
  const output = createCliOutput(io, createPalette(io.env, io.isTTY));
  const programName = props.programName ?? "stepwise";
  /** The arguments of the run under way, whose secrets commander's messages must not echo. */
  const echoed: { argv: readonly string[] } = { argv: [] };
  const program = declareProgram(props, output, programName, echoed);
  const kit: CommandKit<R> = {
    session: { props, io, commandLine: (rest) => `${programName} ${rest}`, onEvent: (event) => output.printEvent(event) },
    output,
    // The library names commands as `stepwise <command>`; the app's own CLI is run by its name.
    renameCommands: (text) =>
      renameCommandMentions(
        text,
        programName,
        program.commands.map((command) => command.name()),
      ),
  };
  addStatusCommand(program, kit);
  addUpCommand(program, kit);
  addDownCommand(program, kit);
  addReadCommands(program, kit);
  addResetCommand(program, kit);
  addRepairCommand(program, kit);
  const context = cliContextOf(kit.session, output);
  addSafetyCommands(program, safetyCommandDeps(kit, context));
  props.extend?.(program, context);
  return {
    program,
    async run(argv) {
      output.exitCode = 0;
      // commander echoes an argument it refuses (an unknown option or command, a repeated flag).
      echoed.argv = argv;
      try {
        await program.parseAsync([...argv], { from: "user" });
        return output.exitCode;
      } catch (error) {
        return reportRunError(error, argv, output, kit.renameCommands);
      }
    },
  };
}

/** The program with its description, its output routed to `io` and the global flags. */
function declareProgram(props: CreateCliProps<MigrationRegistry>, output: CliOutput, programName: string, echoed: { argv: readonly string[] }): Command {
  const { io, palette } = output;
  const program = new Command(programName);
  if (props.version !== undefined) program.version(props.version, "-V, --version", "print the version and exit");
  const drivers = Object.keys(props.drivers ?? DEFAULT_DRIVERS);
  return program
    .description("Migrations for SQLite and PostgreSQL apps, compiled into a registry")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      // commander's own usage errors carry the same code as the CLI's, so scripts can tell them apart.
      outputError: (text, write) => write(redactArguments(text, echoed.argv).replace(/^error: /, `${palette.red(`error [${USAGE_CODE}]`)}: `)),
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
      `the library that opens the database: ${drivers.map(withAliases).join(", ")}` +
        `${props.extend ? ', or "driver" in the stepwise config' : ""}; the flag wins (default: ${typeof props.driver === "string" ? props.driver : DEFAULT_CLI_DRIVER})`,
      singleValued((value: string) => parseDriverName(value, "--driver")),
    )
    .option("--verbose", "on failure, also print the whole stack and the chain of causes");
}

/** What the commands share with the ones an app (or the bin) adds through `extend`. */
function cliContextOf<R extends MigrationRegistry>(session: CliSession<R>, output: CliOutput): CliContext {
  const { props, io } = session;
  return {
    io,
    palette: output.palette,
    setExitCode: (code) => {
      output.exitCode = code;
    },
    async readAppliedHistory(command) {
      const flags = flagsOf(command);
      const byUrl = connectsByUrl(driverOf(session, flags));
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
      if (!byUrl) {
        const database = resolveDatabasePath(session, flags);
        if (database !== ":memory:" && !existsSync(database)) return { database, rows: [] };
      }
      return withManager(session, command, "read", async (manager, database) => ({ database, rows: await manager.history() }), undefined, empty);
    },
  };
}

/** What `baseline`, `verify` and `restore` (safety-commands.ts) take from the CLI. */
function safetyCommandDeps<R extends MigrationRegistry>(kit: CommandKit<R>, context: CliContext): Parameters<typeof addSafetyCommands<R>>[1] {
  const { session, output } = kit;
  return {
    context,
    print: output.print,
    printJson: output.printJson,
    commandLine: session.commandLine,
    withManager: (command, mode, action) => withManager(session, command, mode, action),
    refuseServerBackup: (command, operation, tool) => refuseServerBackup(session, command, operation, tool),
    refuseMissingDatabase: (command, consequence) => refuseMissingDatabase(session, command, consequence),
    resolveDatabasePath: (command) => resolveDatabasePath(session, flagsOf(command)),
    tableName: (command) => tableNameOf(session, flagsOf(command)),
    driver: (command) => driverOf(session, flagsOf(command)),
    resolvePath: (file) => resolvePath(session, file),
    scratchDriver: async (command) => {
      const connector = await connectorFor(session, command, "write");
      const opened = await connector.open({ databasePath: ":memory:", busyTimeoutMs: busyTimeoutOf(session, flagsOf(command)), migrations: [], props: {} });
      if (!(opened.manager instanceof SyncMigrationManager)) {
        await opened.close();
        throw driverCapabilityError({ driver: opened.manager.driver.name, capability: "openFile", operation: session.commandLine("restore") });
      }
      const driver = (opened.manager as SyncMigrationManager<unknown, never[]>).driver;
      return { driver, close: () => void opened.close() };
    },
  };
}

/**
 * A run's failure, printed and mapped to its exit code. A script that asked for JSON gets every
 * failure as JSON too, on stdout where it reads: usage errors, refusals before the database opens,
 * and what nothing translated.
 */
function reportRunError(error: unknown, argv: readonly string[], output: CliOutput, rename: (text: string) => string): number {
  const { io, palette } = output;
  if (asksFor(argv, "--json")) {
    const printError = (fields: Record<string, unknown>) => output.printJson({ error: { ...fields, message: rename(String(fields.message)), fix: renameInFix(fields.fix, rename) } });
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

/** A driver's name as `--help` lists it, with the other spellings `--driver` accepts for it. */
function withAliases(driver: string): string {
  const aliases = (CLI_DRIVER_NAMES as readonly string[]).includes(driver) ? aliasesOf(driver as CliDriverName) : [];
  return aliases.length === 0 ? driver : `${driver} (or ${aliases.join(", ")})`;
}

/** A value of `--db` or `--url` as a message quotes it: as JSON, its secrets hidden. */
function showRedacted(value: string): string {
  return JSON.stringify(redactConnectionString(value));
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

const USAGE_CODE: StepwiseErrorCode = "USAGE";

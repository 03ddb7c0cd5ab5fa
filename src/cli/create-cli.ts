/** The runtime command line, embeddable in an app's own binary: it declares the program, prints what a command returns and hands any failure to `reportError`; the database libraries come in `drivers`. */
import { Command, CommanderError, Option, type HelpContext } from "commander";
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_TRANSACTION_MODE, TRANSACTION_MODES } from "../core/options.js";
import type { MigrationRegistry } from "../core/types.js";
import { DEFAULT_BACKUP_KEEP } from "../safety/backup.js";
import type { Cli, CliContext, CliIo, CreateCliProps, ProcessEntryProps } from "./cli-props.js";
import * as commands from "./commands.js";
import { declareFleetCommands } from "./fleet-command.js";
import type { FleetWorkerProps } from "./fleet-workers.js";
import { offeredDrivers, readAppliedHistory, type CliSession, type CommandScope, type GlobalFlags } from "./database-target.js";
import { aliasesOf, describeDefaultDriver, parseDriverName } from "./driver-names.js";
import { withFix } from "./error-fix.js";
import { describeOption, usageError } from "../core/error-factories.js";
import { createCliOutput, type Report } from "./output.js";
import * as parse from "./parse-options.js";
import { reportError } from "./report-error.js";
import { reportingAbnormalEnd } from "./abnormal-end.js";

export type { Cli, CreateCliProps } from "./cli-props.js";

const { singleValued } = parse;

/** Builds the runtime CLI: status, up, down, history, version, info, reset, repair, baseline, adopt, verify, restore and fleet. */
export function createCli<R extends MigrationRegistry>(props: CreateCliProps<R> & FleetWorkerProps & ProcessEntryProps): Cli {
  const programName = props.programName ?? "stepwise";
  const output = createCliOutput(props.io, programName, () => program.commands.map((command) => command.name()));
  const { io } = output;
  // commander reports help shown for no command, like help asked for, as `commander.help`; only the first goes to stderr (its exit code also reads the host's process.exitCode).
  const wrote = { toStderr: false };
  const program = declareProgram(props, output.palette.red, programName, { ...io, stderr: (text) => ((wrote.toStderr = true), io.stderr(text)) });
  const session: CliSession<R> = { props, output, commandLine: (rest) => `${programName} ${rest}` };
  declareCommands(program, session);
  const context: CliContext = {
    io,
    palette: output.palette,
    setExitCode: (code) => void (output.exitCode = code),
    readAppliedHistory: (command) => readAppliedHistory({ session, name: command.name(), flags: command.optsWithGlobals<GlobalFlags>() }),
  };
  props.extend?.(program, context);
  refuseHelpForUnknownCommand(program);
  pointErrorsAtOwnHelp(program, programName);
  const cli: Cli = {
    program,
    async run(args) {
      output.exitCode = 0;
      output.committed = null;
      output.backup = null;
      wrote.toStderr = false;
      session.running = undefined;
      // An argument may hold a URL, which commander's messages echo.
      for (const arg of args) [arg, arg.replace(/^--?[\w-]+=/, "")].forEach(output.hide);
      output.migrating = null;
      output.printedJson = false;
      // A failure after the command printed its --json value prints no second one.
      const report = (error: unknown) => reportError(error, output.printedJson ? args.filter((arg) => arg !== "--json") : args, output, session.running);
      const work = async () => {
        try {
          await program.parseAsync([...args], { from: "user" });
          return output.exitCode;
        } catch (error) {
          if (error instanceof CommanderError && error.code === "commander.help") return wrote.toStderr ? 2 : 0;
          return report(error);
        }
      };
      // Only the bin's process is its own: an app that embeds the CLI keeps its exit code, whatever ends its process.
      const code = props.ownsProcess ? await reportingAbnormalEnd(output, work, report) : await work();
      return reportLostOutput(output, code);
    },
  };
  let busy = false;
  return {
    program,
    async run(args) {
      // The output state (the exit code, what a run committed, whether it printed its JSON) is the CLI's: a second run at once would mix the two.
      const wellFormed = Array.isArray(args) && args.every((arg) => typeof arg === "string");
      const refusal = !wellFormed
        ? `run takes the command line as an array of strings, such as process.argv.slice(2); got ${describeOption(args)}.`
        : busy
          ? "This CLI is already running a command: await its run() before the next, or create a CLI for each command run at once."
          : null;
      if (refusal !== null) return reportError(usageError(refusal), wellFormed ? args : [], createCliOutput(props.io, programName));
      busy = true;
      try {
        return await cli.run(args);
      } finally {
        busy = false;
      }
    },
  };
}

/** `code`, or 1 where stdout could not be written (a full disk): what a script would have read is lost, which a success must not hide. */
async function reportLostOutput(output: ReturnType<typeof createCliOutput>, code: number): Promise<number> {
  // A stream reports a failed write by an event after the write returned.
  await new Promise(setImmediate);
  const failure = output.stdoutFailure();
  if (failure === null) return code;
  output.io.stderr(`${output.palette.red("error [UNEXPECTED]")}: stdout could not be written (${failure.message}); what the command printed there is lost.\n`);
  return code === 0 ? 1 : code;
}

/** `help nope` is an unknown command, as `nope` is: commander would print the whole help on stderr and no error a script can read. */
function refuseHelpForUnknownCommand(program: Command): void {
  const help = program.help.bind(program);
  program.help = ((context?: HelpContext) => {
    // commander's help command dispatches an unknown name to the program's help, as an error, after it set the operands.
    const [first, name] = program.args;
    if (context?.error && first === "help" && name !== undefined) program.error(`error: unknown command '${name}'`, { code: "commander.unknownCommand", exitCode: 2 });
    return help(context);
  }) as Command["help"];
}

/** A command's option errors point at that command's help (`stepwise up --help`), not the program's, which does not list its options. */
function pointErrorsAtOwnHelp(command: Command, path: string): void {
  command.showHelpAfterError(`(run "${path} --help" for usage)`);
  // And --json's fix says the same.
  command.exitOverride((error) => {
    throw withFix(error, `run "${path} --help" for usage`);
  });
  for (const sub of command.commands) pointErrorsAtOwnHelp(sub, `${path} ${sub.name()}`);
}

/** The program with its description, its output routed to `io`, and the global flags. */
function declareProgram(props: CreateCliProps<MigrationRegistry>, red: (text: string) => string, programName: string, io: CliIo): Command {
  const program = new Command(programName);
  if (props.version !== undefined) program.version(props.version, "-V, --version", "print the version and exit");
  const config = (text: string) => (props.extend ? text : "");
  const drivers = offeredDrivers(props).map((driver) => (aliasesOf(driver).length === 0 ? driver : `${driver} (or ${aliasesOf(driver).join(", ")})`));
  // A server driver's options are listed only by a CLI given that driver (an app's own CLI often has better-sqlite3 alone); they still parse, so their refusal names the driver they are for.
  const [pg, libsqlClient] = [props.drivers?.pg !== undefined, props.drivers?.["libsql-client"] !== undefined];
  const serverOption = (flags: string, description: string, listed: boolean, parseValue?: (value: string) => string | number) =>
    new Option(flags, description).argParser(singleValued(parseValue)).hideHelp(!listed);
  const urlHelp =
    `connection URL ${[pg && "for --driver pg, such as postgres://user@host:5432/database", libsqlClient && "for --driver libsql-client, such as file:data/app.db or libsql://your-db.turso.io"].filter(Boolean).join(", or ")}` +
    `${config(' (or "url" in the stepwise config)')}, else DATABASE_URL; ` +
    [pg && "keep the password out of it (PGPASSWORD) where others can read your command line", libsqlClient && "give a libSQL token as LIBSQL_AUTH_TOKEN"].filter(Boolean).join(", and ");
  return program
    .description("Migrations for SQLite and PostgreSQL apps, compiled into a registry")
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      // commander's own usage errors carry the CLI's code, so scripts can tell them apart; the argument they echo is escaped, as a carriage return or an escape sequence in it would
      // rewrite the terminal's line.
      outputError: (text, write) => write(text.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, (char) => JSON.stringify(char).slice(1, -1)).replace(/^error: /, `${red("error [USAGE]")}: `)),
    })
    .option(
      "--db <path>",
      "database file" +
        (typeof props.database === "string"
          ? ` (default: ${props.database})`
          : config(' (default: "database" in the stepwise config, then its "url" when that names a SQLite file, then DATABASE_URL)')),
      singleValued(parse.parseDatabasePath),
    )
    .addOption(serverOption("--url <url>", urlHelp, pg || libsqlClient))
    .addOption(
      serverOption(
        "--schema <name>",
        `PostgreSQL schema to work in (search_path and history table), for --driver pg (default: ${typeof props.schema === "string" ? props.schema : `${config('"schema" in the stepwise config, else ')}public`})`,
        pg,
      ),
    )
    .option(
      "--table <name>",
      `history table name (default: ${typeof props.tableName === "string" ? props.tableName : `${config('"tableName" in the stepwise config, else ')}schema_migrations`})`,
      singleValued(parse.parseTableName),
    )
    .option("--busy-timeout <ms>", `how long to wait for another process's lock (default: ${DEFAULT_BUSY_TIMEOUT_MS})${pg ? "; on pg, for the run lock" : ""}`, singleValued(parse.parseBusyTimeout))
    .addOption(
      serverOption(
        "--lock-timeout <ms>",
        `for --driver pg: how long a migration's statement waits for another session's lock on a table (lock_timeout) before it fails, rolled back, naming the session that held it (default: ${DEFAULT_LOCK_TIMEOUT_MS}; 0: no limit)`,
        pg,
        parse.parseBusyTimeout,
      ),
    )
    .option(
      "--driver <name>",
      `the library that opens the database: ${drivers.join(", ")}${config(', or "driver" in the stepwise config')}; the flag wins (default: ${typeof props.driver === "string" ? props.driver : describeDefaultDriver(offeredDrivers(props))})`,
      singleValued((value: string) => parseDriverName(value, "--driver")),
    )
    .option("--verbose", "on failure, also print the whole stack and the chain of causes");
}

/** A command's function of `commands.ts`: its scope, its options (the global flags among them) and its arguments, to a report. */
type CommandFunction<R extends MigrationRegistry> = (scope: CommandScope<R>, options: never, ...args: never[]) => Promise<Report>;

const json = (what = "print plain JSON") => new Option("--json", what);
const asResult = () => json("print the result as JSON instead of progress lines");
const option = <T>(flags: string, description: string, parse?: (value: string, previous: T | undefined) => T) =>
  parse ? new Option(flags, description).argParser(parse) : new Option(flags, description);
const positive = singleValued(parse.parsePositiveInteger);
const yes = (what: string) => option("--yes", what);
// No commander default: singleValued would take it for a value given before.
const transaction = (verb: string) =>
  option(
    "--transaction <mode>",
    `"each" commits every migration with its history row on its own; "all" ${verb} the whole run in one transaction, all or nothing ` +
      `(refused before anything runs if a migration of the run has transaction: false, or switches foreign keys off while they are on) (default: "${DEFAULT_TRANSACTION_MODE}")`,
  )
    .choices(TRANSACTION_MODES)
    .argParser(singleValued(parse.parseTransactionMode));

/** A command's declaration under `parent`: commander runs its function, then prints its report. */
function declarerOf<R extends MigrationRegistry>(parent: Command, session: CliSession<R>) {
  return (name: string, description: string, run: CommandFunction<R>, ...options: Option[]) => {
    const command = parent.command(name).description(description);
    for (const added of options) command.addOption(added);
    return command.action(async (...args: unknown[]) => {
      // commander calls an action with the arguments, the options and the command.
      const declared = args.at(-1) as Command;
      const flags = declared.optsWithGlobals<GlobalFlags & { json?: boolean }>();
      // A --json run prints its events nowhere, so stdout holds the JSON alone.
      session.output.quietEvents = Boolean(flags.json);
      const operands = args.slice(0, -2);
      // A fleet's subcommand is named with its parent (`fleet verify`).
      const name = declared.parent?.parent ? `${declared.parent.name()} ${declared.name()}` : declared.name();
      session.running = {
        name,
        operands: operands.filter((operand) => operand !== undefined).map(String),
        options: declared.options.flatMap((option) => (option.long === undefined || option.long === "--json" ? [] : [{ flag: option.long, takesValue: option.required || option.optional }])),
      };
      const report = await run({ session, name: declared.name(), flags }, flags as never, ...(operands as never[]));
      session.output.printReport(report, Boolean(flags.json));
    });
  };
}

/** Declares the commands that read and run migrations, the safety nets' and the fleet's. */
function declareCommands<R extends MigrationRegistry>(program: Command, session: CliSession<R>): void {
  const declare = declarerOf(program, session);
  declare("status", "show which migrations are applied and which are pending", commands.status, json());
  const up = declare(
    "up",
    "apply pending migrations, in order",
    commands.up,
    option("--to <version>", "stop after this version", positive),
    transaction("applies"),
    asResult(),
    option("--dry-run", "rehearse on a copy (pg, libsql-client, async migrations: in a transaction rolled back): durations, schema diff, row counts, failures; writes nothing").conflicts("backup"),
    option("--backup [dir]", "snapshot the database before applying, when something is pending (default dir: backups/ next to the database)", singleValued(parse.parsePath)),
    option("--keep-backups <count>", `with --backup: how many backups of this database to keep in that folder (default: ${DEFAULT_BACKUP_KEEP})`, positive),
    option("--dangerously-skip-integrity-check", "with --backup: migrate, and keep the snapshot, even when SQLite's quick_check finds the database damaged"),
  );
  parse.refuseBareRepeat(up, "backup", "--backup [dir]");
  declare(
    "down",
    "revert applied migrations, newest first (default: one)",
    commands.down,
    option("--steps <count>", "how many to revert", positive).conflicts("to"),
    option("--to <version>", "revert every migration above this version (0 reverts all)", singleValued(parse.parseNonNegativeInteger)),
    transaction("reverts"),
    asResult(),
  );
  declare("history", "list applied migrations with when they ran and how long they took", commands.history, json());
  declare("version", "print the database's schema version (0 when nothing is applied)", commands.version);
  declare("info", "show the database file, its schema version, object counts, last migration and journal mode", commands.info, json());
  declare(
    "reset",
    "drop every table, view, index and trigger, then apply all migrations (destroys all data)",
    commands.reset,
    yes("confirm that all data in the database may be destroyed"),
    asResult(),
  );
  declare(
    "repair",
    "resolve an interrupted transaction:false migration (--applied/--forget), or realign recorded checksums with the registry after a deliberate edit (--checksums)",
    commands.repair,
    option("--applied <version>", "its changes are all in the database: record it as applied", positive).conflicts(["forget", "checksums"]),
    option("--forget <version>", "none of its changes are in the database: drop the attempt so up runs it again", positive).conflicts("checksums"),
    option(
      "--checksums [version]",
      "record the registry's checksum for applied migrations whose file was edited on purpose (all, or one version); shows the changes and exits 1 until --yes, and history records who and when",
      positive,
    ),
    option("--by <name>", `with --checksums: who the repair is recorded as (default: $${commands.REPAIRED_BY_ENV}, else the OS user)`, singleValued(parse.recordedText("--by"))),
    yes("confirm; repair only records what you checked, it does not inspect the schema"),
    json("print the result as JSON"),
  );
  declareSafetyNetCommands(declare);
  declareFleetCommands(program, (parent) => declarerOf(parent, session), offeredDrivers(session.props));
}

/** Declares the safety nets that check a database against the migrations, or put one back: baseline, adopt, verify and restore. */
function declareSafetyNetCommands<R extends MigrationRegistry>(declare: ReturnType<typeof declarerOf<R>>): void {
  declare(
    "baseline",
    "adopt a database made before stepwise: record migrations 1..VERSION as applied if its schema matches them",
    commands.baseline,
    option("--force", "record them even when the schema differs (prints the differences)"),
    option<string[]>(
      "--old-table <name>",
      "a table another tool keeps here (its history: SequelizeMeta, TypeORM's migrations), left out of the check and of later verify runs; repeat for each (default: none)",
      (value, previous) => [...(previous ?? []), parse.recordedText("--old-table")(value)],
    ),
    json(),
  ).argument("<version>", "the last migration the database's schema already contains", parse.parseVersion);
  declare(
    "adopt",
    "adopt a database another tool migrated: read its history table, map each applied migration through stepwise import's map, and record them if the schema matches",
    commands.adopt,
    option(
      "--map <file>",
      "the map stepwise import wrote (default: stepwise-import-map.json in the migrations folder; an app's own CLI: migrations/stepwise-import-map.json)",
      singleValued(parse.parsePath),
    ),
    option("--drop-old-table", "drop the old tool's history table (and Knex's or Kysely's lock table beside it) in the same transaction (default: keep them; baseline and verify leave them out)"),
    option("--history-file <file>", "read the history from this file instead of a table: Umzug's JSONStorage (umzug.json)", singleValued(parse.parsePath)),
    option(
      "--old-table <name>",
      "the old tool's history table when it was configured to name it otherwise: name, or schema.name on PostgreSQL (default: the tool's own name)",
      singleValued(parse.recordedText("--old-table")),
    ),
    option("--write-sql <file>", "write the SQL that records this copy's adoption in the database it was copied from (D1: for wrangler d1 execute --file)", singleValued(parse.parsePath)),
    json(),
  );
  declare("verify", "compare the schema with a replay of the applied migrations; exit 1 on drift", commands.verify, json());
  declare(
    "restore",
    "put a backup written by up --backup back in place of the database (checks it first)",
    commands.restore,
    yes("confirm that the database's current content may be replaced"),
    option("--force", "restore even when the backup's history does not match this app's migrations"),
    json(),
  ).argument("<file>", "the backup file", parse.parsePath);
}

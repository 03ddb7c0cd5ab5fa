/** `stepwise fleet status|up|verify`: one command over many databases. Declares the commands; each is a function of its scope and options that returns a {@link Report}. */
import { Option, type Command } from "commander";
import { TRANSACTION_MODES } from "../core/options.js";
import type { MigrationRegistry } from "../core/types.js";
import type { CommandScope } from "./database-target.js";
import { formatFleetStatus, formatFleetUp, formatFleetVerify, summarizeStatus, summarizeUp, summarizeVerify } from "./fleet-output.js";
import { defaultFleetConcurrency, maxFleetWorkers, runFleetCommand, type FleetOptions, type FleetUpOptions } from "./fleet-run.js";
import type { FleetStatusResult } from "./fleet-task.js";
import { parseShard } from "./fleet-targets.js";
import type { Report } from "./output.js";
import * as parse from "./parse-options.js";

/** How `createCli` declares a command under `parent`: its function runs, then its report prints. */
type Declarer<R extends MigrationRegistry> = (
  parent: Command,
) => (name: string, description: string, run: (scope: CommandScope<R>, options: never) => Promise<Report>, ...options: Option[]) => Command;

/** Declares `fleet` and its three commands on `program`; `drivers` are the ones this CLI has, whose ways of naming databases its help lists. */
export function declareFleetCommands<R extends MigrationRegistry>(program: Command, declarerOf: Declarer<R>, drivers: readonly string[]): void {
  const [pg, libsqlClient] = [drivers.includes("pg"), drivers.includes("libsql-client")];
  // Only the ways this CLI's drivers have: an app offering only servers has no SQLite files to glob.
  const files = drivers.filter((driver) => driver !== "pg" && driver !== "libsql-client");
  const servers = [pg && "pg", libsqlClient && "libsql-client"].filter(Boolean).join("|");
  const sources = [files.length > 0 && "the SQLite files --db '<glob>' matches", pg && "the PostgreSQL schemas --schema '<glob>' matches", servers && "the URLs of --url-file"].filter(Boolean);
  const fleet = program.command("fleet").description(`status, up or verify on many databases: ${sources.slice(0, -1).join(", ")}${sources.length > 1 ? ", or " : ""}${sources.at(-1)}`);
  const declareIn = declarerOf(fleet);
  // Where the fleet comes from, which the global options say, under each fleet command's help.
  const targets = [
    "",
    "The databases (global options, before or after the command):",
    ...(files.length === 0 ? [] : [`  --db '<glob>'                 SQLite files, on ${files.length === 1 ? `--driver ${files[0]}` : `any file driver (--driver ${files.join(", ")})`}`]),
    ...(pg ? ["  --driver pg --schema '<glob>' the PostgreSQL schemas of --url or DATABASE_URL, each in a session with that search_path"] : []),
    ...(servers
      ? [
          `  --url-file <file> or --url    databases by URL (--url-file: one a line), on --driver ${servers}, else the driver the first URL's scheme names${libsqlClient ? "; a libSQL token from LIBSQL_AUTH_TOKEN" : ""}`,
        ]
      : []),
    `  --table${pg ? ", --busy-timeout and --lock-timeout apply" : " and --busy-timeout apply"} to every database`,
  ].join("\n");
  const declare: typeof declareIn = (...args) => declareIn(...args).addHelpText("after", targets);
  const positive = parse.singleValued(parse.parsePositiveInteger);
  const shared = () => [
    new Option(
      "--concurrency <n>",
      `how many databases to work on at once; the SQLite file drivers use a worker thread each, at most ${maxFleetWorkers()} (four per core) (default: the number of cores, ${defaultFleetConcurrency()} here)`,
    ).argParser(positive),
    new Option("--shard <i/n>", "work on the i-th of n parts of the fleet, split by a hash of each database's id, so several machines or CI jobs can share it").argParser(
      parse.singleValued((value: string) => {
        const { index, count } = parseShard(value);
        return `${index}/${count}`;
      }),
    ),
    new Option(
      "--url-file <file>",
      "a file listing the databases' URLs, one a line, for pg or libsql-client (the first URL's scheme picks which unless --driver or the driver setting names one; tokens from LIBSQL_AUTH_TOKEN)",
    )
      .argParser(parse.singleValued(parse.parsePath))
      .hideHelp(!servers),
    new Option("--json", "print the report as JSON instead of progress and a summary"),
  ];
  declare("status", "how many databases are at each version, how many are pending, refusing, locked or failed and why; exit 1 unless every one can be migrated", fleetStatus, ...shared());
  declare(
    "up",
    "apply the pending migrations to every database; one that fails is reported and the others go on; run it again after any stop to go on",
    fleetUp,
    ...shared(),
    new Option("--to <version>", "stop after this version").argParser(positive),
    new Option("--transaction <mode>", 'as up\'s: "each" or "all" (default: "each")').choices(TRANSACTION_MODES).argParser(parse.singleValued(parse.parseTransactionMode)),
    new Option("--canary <n>", "migrate the first n databases first, and no other if any of them fails").argParser(positive),
    new Option("--fail-fast", "start no other database once one has failed"),
  );
  declare("verify", "compare each database's schema with a replay of its applied migrations; exit 1 on any drift or failure", fleetVerify, ...shared());
}

/** `fleet status`: the histogram, and every database that is not at the latest version. */
async function fleetStatus<R extends MigrationRegistry>(scope: CommandScope<R>, options: FleetOptions): Promise<Report> {
  const run = await runFleetCommand(scope, options, { task: "status", mode: "read" });
  const summary = summarizeStatus(run.results as FleetStatusResult[], run.latestVersion);
  return { data: { ...summary, venue: run.venue }, text: formatFleetStatus(summary, scope.session.output.palette), exitCode: summary.ok ? 0 : 1 };
}

/** `fleet up`: what each database was migrated from and to, what failed and why. */
async function fleetUp<R extends MigrationRegistry>(scope: CommandScope<R>, options: FleetUpOptions): Promise<Report> {
  const job = { task: "up", mode: "write", ...(options.to !== undefined && { to: options.to }), ...(options.transaction !== undefined && { transaction: options.transaction }) } as const;
  const data = summarizeUp(await runFleetCommand(scope, options, job));
  return { data, text: formatFleetUp(data, scope.session.output.palette), exitCode: data.ok ? 0 : 1 };
}

/** `fleet verify`: which databases drifted from their migrations, and which could not be verified. */
async function fleetVerify<R extends MigrationRegistry>(scope: CommandScope<R>, options: FleetOptions): Promise<Report> {
  const data = summarizeVerify(await runFleetCommand(scope, options, { task: "verify", mode: "rehearse" }));
  return { data, text: formatFleetVerify(data, scope.session.output.palette), exitCode: data.ok ? 0 : 1 };
}

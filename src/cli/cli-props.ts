/** What `createCli` takes and returns, and what it hands the commands an app adds; apart, so the CLI's modules can name them without importing `create-cli.ts`. */
import type { Command } from "commander";
import type { DatabaseLookup } from "../core/errors.js";
import type { AppliedMigration } from "../core/planner.js";
import type { MigrationRegistry, SqlDialect } from "../core/types.js";
import type { CliDriverName } from "./driver-names.js";
import type { Palette } from "./format.js";
import type { DriverLoaders } from "./open-database.js";

/** Options for `createCli`. A setting given as a function is called only when a command needs it, and only when its flag is not given. */
export interface CreateCliProps<R extends MigrationRegistry = MigrationRegistry> {
  /** The registry, or a function that loads it, told the chosen driver and its SQL dialect (so an app with one registry per dialect loads the right one). */
  readonly migrations: R | ((context: { readonly dialect: SqlDialect; readonly driver: CliDriverName }) => R | Promise<R>);
  /** The database path when `--db` is not given; relative paths are resolved against `cwd`. */
  readonly database?: string | null | (() => string | null);
  /** The connection URL for a driver that connects by URL (pg); `--url` overrides, `DATABASE_URL` is the fallback. It may hold a password: the CLI never prints one. */
  readonly url?: string | null | (() => string | null);
  /** The schema the pg database lives in (each session's `search_path`, the history table's schema); `--schema` overrides. Default `public`. */
  readonly schema?: string | (() => string | undefined);
  /** Folder that relative `--db` paths are resolved against. Default: the process's working folder. */
  readonly cwd?: string;
  /** History table name; `--table` overrides. Default `schema_migrations`. */
  readonly tableName?: string | (() => string);
  /**
   * The driver that opens the database; `--driver` overrides. `null`: the one `--url` names by its scheme (`postgres://` pg; `libsql://`, `http(s)://`, `ws(s)://` libsql-client), or pg for a
   * `postgres://` `url` when `database` is not set, among `drivers`; else better-sqlite3, or the first of `drivers` when it lacks better-sqlite3. Its library is loaded only when a command runs.
   */
  readonly driver?: CliDriverName | (() => CliDriverName | null);
  /** How each driver the CLI offers opens its connection: `stepwise-migrate/cli` defaults it to better-sqlite3 alone; the `stepwise` bin passes all, each loaded only when chosen. */
  readonly drivers?: DriverLoaders;
  /** Default 30,000 ms; `--busy-timeout` overrides. */
  readonly busyTimeoutMs?: number;
  /** For pg: how long a statement waits for another session's lock before the migration fails with `LOCK_TIMEOUT`; 0 sets none. Default 10 s; `--lock-timeout` overrides. */
  readonly lockTimeoutMs?: number;
  /** The command as the app's users type it, such as `"myapp migrate"`: shown in help, usage lines and every message that says what to run next. Default `"stepwise"`. */
  readonly programName?: string;
  /** Printed by `--version` (and `-V`), such as the app's own version; without it there is no `--version`. */
  readonly version?: string;
  /** Where output goes and the environment read; the process's own by default. */
  readonly io?: Partial<CliIo>;
  /** The places besides `--db` and `DATABASE_URL` where the database setting was looked for, named by the "No database given" error. */
  readonly databaseSearched?: () => readonly DatabaseLookup[];
  /** Adds commands (the `stepwise` bin adds `gen`, `create` and `rebase` this way). */
  readonly extend?: (program: Command, context: CliContext) => void;
  /**
   * Stops a `fleet` command once aborted: no further database is started, and those running finish. The embedded CLI listens to no process signal (the app's own handlers stay in
   * charge), so an app that wants Ctrl-C to stop a fleet cleanly aborts this from its own handler.
   */
  readonly signal?: AbortSignal;
}

/**
 * What only the `stepwise` bin gives `createCli`, as the process is its own: a run the process ends under is reported as the run's failure, with the exit code that says so, and
 * SIGINT and SIGTERM stop `fleet up` cleanly. An app that embeds the CLI keeps its process's exit code and signals to itself.
 */
export interface ProcessEntryProps {
  readonly ownsProcess?: boolean;
}

/** A ready command line. */
export interface Cli {
  /** The commander program, for apps that want to add commands or inspect help. */
  readonly program: Command;
  /**
   * Runs one command line (without the node and script arguments) and returns the exit code; it never sets `process.exitCode` itself. One at a time: a run while another of this CLI is
   * under way resolves 2 (`USAGE`) and leaves that one alone.
   */
  run(argv: readonly string[]): Promise<number>;
}

/** Where the CLI writes and what it knows about its terminal. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal, which turns colour on. */
  readonly isTTY: boolean;
}

/** What the CLI hands the commands an app adds through `extend`. */
export interface CliContext {
  readonly io: CliIo;
  readonly palette: Palette;
  /** Sets the exit code `run` returns, for a command that failed without throwing. */
  setExitCode(code: number): void;
  /** The history rows of the database the global flags and settings point at, read without loading the registry or creating a missing file; `null` when no database is configured. */
  readAppliedHistory(command: Command): Promise<{ readonly database: string; readonly rows: readonly AppliedMigration[] } | null>;
}

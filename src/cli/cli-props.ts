/**
 * What `createCli` takes and returns, in a file of its own so that the modules the CLI is made
 * of can name them without importing `create-cli.ts`, which imports them.
 */
import type { Command } from "commander";
import type { MigrationRegistry, SqlDialect } from "../core/types.js";
import type { CliContext, CliIo } from "./cli-context.js";
import type { CliDriverName } from "./driver-names.js";
import type { DatabaseLookup } from "./no-database-error.js";
import type { DriverLoaders } from "./open-database.js";

/** Options for `createCli`. */
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

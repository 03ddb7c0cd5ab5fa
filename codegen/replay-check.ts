/**
 * How the bin's `gen --check` runs the replay (`replay.ts`): it loads the registry it just checked,
 * opens an empty in-memory database with a SQLite driver this runtime can load (the project's own
 * first), and replays there. What cannot run here (a PostgreSQL registry with no server, no SQLite
 * driver installed, no tsx to load TypeScript) is not a fault of the migrations, so it does not
 * fail the check: it comes back as a skip with its reason whole, which the bin reports in text and
 * JSON, and which `--require-replay` turns into a failure.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import type { CliDriverName } from "../src/cli/driver-names.js";
import { loadDriver, type DriverConnector, type DriverLoaders } from "../src/cli/open-database.js";
import { StepwiseError } from "../src/core/errors.js";
import type { Driver } from "../src/core/driver.js";
import { Executor } from "../src/core/executor.js";
import { runAsync } from "../src/core/runners.js";
import { callWithDriver, exec } from "../src/core/step.js";
import type { MigrationEntry, MigrationRegistry, SqlDialect } from "../src/core/types.js";
import { packageSubpathOf, type DriverEntry } from "../src/shared/package-name.js";
import type { Target } from "./d1-target.js";
import { toPortablePath } from "./portable-path.js";
import type { Problem } from "./problems.js";
import { replayMigrations, type ReplayManager, type ReplayResult } from "./replay.js";
import { containBodies, firstReachingSql } from "../src/safety/contained-copy.js";
import { statementTexts } from "../src/drivers/statement-texts.js";

/** Inputs for {@link runReplayCheck}. */
export interface ReplayCheckOptions {
  readonly projectRoot: string;
  readonly registryFile: string;
  readonly dialect: SqlDialect;
  /** The config's driver; `null` means the bin's default, better-sqlite3. */
  readonly driver: DriverEntry | null;
  /** The config's target: `d1` hands TypeScript migrations a D1 binding, as `driver: "d1"` does. */
  readonly target?: Target | null;
  readonly tableName: string;
  /**
   * The PostgreSQL server to replay a `postgres` registry on (the config's `url`, expanded, or
   * `DATABASE_URL`): the replay runs in a scratch database created there with a random name and
   * dropped after, never in the database the URL names. `null`: no server, so no replay.
   */
  readonly url?: string | null;
  /** When `url` is `null` because the config's `url` names an unset variable: that variable, for the note. */
  readonly urlUnset?: string | null;
  /** The history table's PostgreSQL schema, when the config names one. */
  readonly schema?: string | null;
  /** Imports the registry as the runtime commands do (tsx), throwing `REGISTRY_LOAD_FAILED` when it fails. */
  readonly loadRegistry: (registryFile: string) => Promise<MigrationRegistry>;
  /** The drivers that may replay. Default: every driver of the bin ({@link ALL_DRIVER_LOADERS}). */
  readonly drivers?: DriverLoaders;
}

/** Why a replay did not run; each is also what `gen --check --json` reports as `replay.code`. */
export type ReplaySkipCode =
  /** `--no-replay`. */
  | "disabled"
  /** Other checks failed first: the replay runs on a registry that passed them. */
  | "not-reached"
  /** A PostgreSQL registry, and no server to replay on (no `url` in the config, no `DATABASE_URL`). */
  | "no-server"
  /** No driver that can replay loads here (none installed, or not for this runtime). */
  | "no-driver"
  /** The server refused a scratch database (no CREATEDB, unreachable, wrong password). */
  | "no-scratch-database"
  /** The registry imports TypeScript, and tsx (which loads it) is missing or of an unsupported major version. */
  | "no-registry-loader"
  /** A SQL migration reaches another file (`ATTACH`, `VACUUM INTO`): replayed, what it wrote there would stay. */
  | "not-contained";

/** What the replay did: ran (whatever it found), or why not, its reason whole. */
export type ReplayOutcome =
  | {
      readonly ran: true;
      /** The driver it ran on (`pg` on a scratch database of the configured server). */
      readonly driver: string;
      readonly database: "memory" | "scratch";
      /**
       * Where it ran: `an empty in-memory better-sqlite3 database`, `the scratch database
       * stepwise_scratch_… on the PostgreSQL server at db.example:5432 (dropped after)`. Names a
       * server by host and port only, never its role or password.
       */
      readonly where: string;
      /** How many migrations applied before it ended. */
      readonly applied: number;
      /** The version whose `down` was replayed, or `null`. */
      readonly rolledBack: number | null;
      /** The drivers tried first that could not run here, and why (the project's own, when it does not load). */
      readonly unavailable: readonly { readonly driver: string; readonly reason: string }[];
      /** The Worker connection the TypeScript migrations were handed (see `withWorkerConnections`), if any. */
      readonly connection: WorkerConnection | null;
    }
  | { readonly ran: false; readonly code: ReplaySkipCode; readonly reason: string };

/** The replay's problems (the migrations' faults) and what it did. */
export interface ReplayCheckResult {
  readonly problems: readonly Problem[];
  readonly replay: ReplayOutcome;
}

/** The driver `gen --check` replays with first when the config names none: the bin's default. */
export const DEFAULT_REPLAY_DRIVER: CliDriverName = "better-sqlite3";

/**
 * The SQLite drivers tried, in order, after the project's own: sql.js last but one, since it is
 * WebAssembly and installs anywhere (`npm install --save-dev sql.js`), and bun:sqlite under Bun.
 */
const SQLITE_REPLAY_DRIVERS: readonly CliDriverName[] = ["better-sqlite3", "node-sqlite", "libsql", "sql-js", "bun-sqlite"];

/** What a project with no SQLite driver installed is told to install to replay: it builds nothing and runs on every runtime. */
export const REPLAY_DRIVER_INSTALL = "npm install --save-dev sql.js";

const skipped = (code: ReplaySkipCode, reason: string): ReplayCheckResult => ({ problems: [], replay: { ran: false, code, reason } });

/**
 * Replays the registry's migrations on an empty in-memory database (see `replay.ts`).
 * Never throws for the migrations' faults: they come back as problems.
 */
export async function runReplayCheck(options: ReplayCheckOptions): Promise<ReplayCheckResult> {
  if (options.dialect === "postgres") {
    const url = options.url ?? null;
    if (url === null) {
      const missing = options.urlUnset
        ? `the config's "url" names \${${options.urlUnset}}, which is not set`
        : `none is configured: set "url" in the config (such as "\${DATABASE_URL}") or DATABASE_URL`;
      return skipped("no-server", `a postgres registry replays on a server, and ${missing}; a scratch database is created there and dropped after, and the role needs CREATEDB.`);
    }
    return runOnPostgres(options, url);
  }
  return runOnSqlite(options);
}

/** The problem `gen --check --require-replay` fails with when the replay did not run. */
export function skippedReplayProblem(replay: ReplayOutcome & { ran: false }, registryLabel: string): Problem {
  return {
    code: "REPLAY_SKIPPED",
    file: registryLabel,
    line: 1,
    column: 1,
    message: `the replay did not run (${replay.code}), and --require-replay asks it to: ${oneLine(replay.reason)}`,
  };
}

/** `text` as one line, for a problem's message. */
export function oneLine(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ");
}

/** One line for the bin: what ran, on what, and what stood in for what. */
export function describeReplay(outcome: ReplayOutcome & { ran: true }): string {
  const count = `${outcome.applied} migration${outcome.applied === 1 ? "" : "s"}`;
  const down = outcome.rolledBack === null ? "" : `, then rolled back ${outcome.rolledBack}`;
  const connection = outcome.connection === null ? "" : ` (TypeScript migrations given ${outcome.connection === "d1" ? "a D1 binding" : "a Durable Object's sql"} over it)`;
  return `Replayed ${count} on ${outcome.where}${connection}${down}.`;
}

/**
 * The replay on PostgreSQL: connected to the configured server, it creates a scratch database with
 * a random name (the role needs CREATEDB, as `verifySchema` does on PostgreSQL), replays there through the
 * runtime's executor, and drops it, whatever happened.
 */
async function runOnPostgres(options: ReplayCheckOptions, url: string): Promise<ReplayCheckResult> {
  const migrations = await loadOrProblem(options);
  if (isCheckResult(migrations)) return migrations;
  let connector: DriverConnector;
  try {
    connector = await loadReplayDriver("pg", options);
  } catch (error) {
    if (error instanceof StepwiseError) return skipped("no-driver", error.message);
    throw error;
  }
  const props = { tableName: options.tableName };
  const server = describeServer(url);
  let scratchName = "";
  let failure: string | null = null;
  const result = await replayMigrations({
    projectRoot: options.projectRoot,
    migrations,
    tableName: options.tableName,
    dialect: "postgres",
    open: async (registry) => {
      const opened = await connector.open({ databasePath: "the configured server", url, ...(options.schema ? { schema: options.schema } : {}), busyTimeoutMs: 0, migrations: registry, props });
      try {
        const { executor } = opened.manager;
        // The driver behind the CLI's manager, the one that can make a scratch database, is reached through a step.
        const scratch = await opened.manager.run(
          callWithDriver((driver: Driver) => {
            if (!driver.openScratchDatabase) throw new Error("the pg driver opens no scratch database");
            return driver.openScratchDatabase();
          }),
        );
        scratchName = scratch.name;
        // Its own executor on the scratch database, as verify's replay has: the same settings, no events.
        const replayer = new Executor(registry, { ...executor.settings, driverName: scratch.driver.name, capabilities: scratch.driver.capabilities, onEvent: undefined, logger: null });
        const manager: ReplayManager = {
          up: (upOptions) => runAsync(replayer.up(upOptions), scratch.driver),
          down: (downOptions) => runAsync(replayer.down(downOptions), scratch.driver),
          run: (step) => runAsync(step, scratch.driver),
        };
        return {
          manager,
          where: `a scratch database of the PostgreSQL server at ${server}`,
          close: async () => {
            await scratch.drop().catch(() => undefined);
            await opened.close();
          },
        };
      } catch (error) {
        await opened.close();
        failure = error instanceof Error ? error.message : String(error);
        throw error;
      }
    },
  }).catch((error: unknown) => {
    if (failure !== null) return null;
    if (!(error instanceof StepwiseError)) throw error;
    failure = error.message;
    return null;
  });
  if (result === null) return skipped("no-scratch-database", `no scratch database could be made on the PostgreSQL server at ${server}: ${failure ?? "the connection was refused"}`);
  const where = `the scratch database ${scratchName} on the PostgreSQL server at ${server} (dropped after)`;
  return ranOutcome({ ...result, where }, { driver: "pg", database: "scratch", unavailable: [], connection: null });
}

function ranOutcome(
  result: ReplayResult,
  on: { driver: string; database: "memory" | "scratch"; unavailable: { driver: string; reason: string }[]; connection: WorkerConnection | null },
): ReplayCheckResult {
  return { problems: result.problems, replay: { ran: true, ...on, where: result.where, applied: result.applied, rolledBack: result.downVersion } };
}

/**
 * The server a URL names, as `host:port` and nothing else of it: no role, no password, no options.
 * `the configured server` when the URL does not parse (the connection then fails on its own).
 */
function describeServer(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || parsed.searchParams.get("host") || "localhost";
    return `${host}:${parsed.port || parsed.searchParams.get("port") || "5432"}`;
  } catch {
    return "the configured server";
  }
}

function isCheckResult(value: MigrationRegistry | ReplayCheckResult): value is ReplayCheckResult {
  return !Array.isArray(value);
}

/** The registry, or the result that reports why it cannot be loaded. */
async function loadOrProblem(options: ReplayCheckOptions): Promise<MigrationRegistry | ReplayCheckResult> {
  const registryLabel = toPortablePath(path.relative(options.projectRoot, options.registryFile));
  try {
    return await options.loadRegistry(options.registryFile);
  } catch (error) {
    if (error instanceof StepwiseError && (error.is("MISSING_DEPENDENCY") || error.is("DEPENDENCY_VERSION_UNSUPPORTED"))) return skipped("no-registry-loader", error.message);
    if (error instanceof StepwiseError && error.is("REGISTRY_LOAD_FAILED")) {
      const [file, line, column] = parseLocation(error.details.location) ?? [registryLabel, 1, 1];
      return {
        problems: [{ code: "REPLAY_REGISTRY_UNLOADABLE", file, line, column, message: `the registry cannot be imported, so the app could not start either: ${firstLine(rootMessage(error))}` }],
        replay: { ran: false, code: "not-reached", reason: "the registry cannot be imported" },
      };
    }
    throw error;
  }
}

/** sql.js writes nothing here (the database is in memory), so it is opened as a reader would be. */
function loadReplayDriver(driver: CliDriverName, options: ReplayCheckOptions): Promise<DriverConnector> {
  return loadDriver(driver, driver === "sql-js" ? "read" : "write", "stepwise gen --check (replay)", options.drivers ?? ALL_DRIVER_LOADERS, "the config");
}

/**
 * The first SQLite driver that loads here, the project's own first (SQLite is the same engine through
 * every driver, so any one replays the SQL), with why each one before it could not.
 */
async function loadSqliteReplayDriver(options: ReplayCheckOptions): Promise<{ driver: CliDriverName | null; connector: DriverConnector | null; unavailable: { driver: string; reason: string }[] }> {
  const own = options.driver === null || options.driver === "pg" || options.driver === "d1" || options.driver === "durable-objects" ? null : options.driver;
  const unavailable: { driver: string; reason: string }[] = [];
  for (const driver of [...new Set([...(own === null ? [] : [own]), ...SQLITE_REPLAY_DRIVERS])]) {
    try {
      return { driver, connector: await loadReplayDriver(driver, options), unavailable };
    } catch (error) {
      if (!(error instanceof StepwiseError)) throw error;
      // Only the drivers a project would have chosen are worth naming: its own, and the default.
      if (driver === own || driver === DEFAULT_REPLAY_DRIVER) unavailable.push({ driver, reason: error.message });
    }
  }
  return { driver: null, connector: null, unavailable };
}

/** The Worker connection a TypeScript migration is written for: the entry it imports from, else the project's driver. */
function workerConnectionOf(options: ReplayCheckOptions): (entry: MigrationEntry) => WorkerConnection | null {
  const projectDefault: WorkerConnection | null = options.driver === "d1" || options.driver === "durable-objects" ? options.driver : options.target === "d1" ? "d1" : null;
  return (entry) => {
    let source = "";
    try {
      source = readFileSync(path.join(options.projectRoot, entry.file), "utf8");
    } catch {
      // The registry's module is what runs; without its file only the project's driver can say.
    }
    for (const match of source.matchAll(/\bfrom\s*["']([^"'\n]+)["']/g)) {
      const subpath = packageSubpathOf(match[1]!);
      if (subpath === "d1" || subpath === "durable-objects") return subpath;
    }
    return projectDefault;
  };
}

async function runOnSqlite(options: ReplayCheckOptions): Promise<ReplayCheckResult> {
  const migrations = await loadOrProblem(options);
  if (isCheckResult(migrations)) return migrations;
  // The replay changes nothing outside its in-memory database: a TypeScript body's connection refuses
  // what reaches another file (the migration then fails there, named), and a SQL migration that does is
  // found in its text before anything runs.
  const reaching = firstReachingSql(migrations);
  if (reaching !== null) {
    return skipped(
      "not-contained",
      `${reaching.file} reaches another file (${reaching.statement.slice(0, 80)}), and what a replay wrote there would stay. Check that migration on a copy of the database by hand; the replay runs again once no migration reaches another file.`,
    );
  }
  const loaded = await loadSqliteReplayDriver(options);
  const { driver, connector } = loaded;
  if (driver === null || connector === null) {
    const tried = loaded.unavailable.map(({ driver, reason }) => `${driver}: ${reason}`).join("\n");
    return skipped(
      "no-driver",
      `no SQLite driver loads here to replay on.\n${tried}\nInstall one as a devDependency to replay (the app's own driver need not change): sql.js is WebAssembly, builds nothing and runs on every runtime:\n  ${REPLAY_DRIVER_INSTALL}`,
    );
  }
  const connectionOf = workerConnectionOf(options);
  const connections = new Set(migrations.map((entry) => (entry.kind === "ts" ? connectionOf(entry) : null)));
  connections.delete(null);
  const result = await replayMigrations({
    projectRoot: options.projectRoot,
    migrations,
    tableName: options.tableName,
    open: async (registry) => {
      // url: libsql-client connects by URL, here to an in-memory database of its own; the file drivers ignore it.
      const opened = await connector.open({
        databasePath: ":memory:",
        url: ":memory:",
        busyTimeoutMs: 0,
        migrations: withWorkerConnections(containBodies(registry), connectionOf),
        props: { tableName: options.tableName },
      });
      // The in-memory database is the replay's own, so read mode's query_only is lifted.
      await opened.manager.run(exec("PRAGMA query_only = OFF"));
      return { manager: opened.manager as unknown as ReplayManager, where: `an empty in-memory ${driver} database`, close: () => opened.close() };
    },
  });
  return ranOutcome(result, { driver, database: "memory", unavailable: loaded.unavailable, connection: [...connections][0] ?? null });
}

function firstLine(text: string): string {
  return text.split("\n")[0]!;
}

function rootMessage(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : error.message;
}

/** `file:line:col` as `REGISTRY_LOAD_FAILED` records it. */
function parseLocation(location: string | null): [string, number, number] | null {
  const match = location === null ? null : /^(.*):(\d+):(\d+)$/.exec(location);
  return match ? [toPortablePath(match[1]!), Number(match[2]), Number(match[3])] : null;
}

/**
 * The Worker connections a migration can be written for. A Cloudflare project's TypeScript migration
 * is written for a D1 binding (`db.prepare(…).bind(…).run()`) or a Durable Object's `ctx.storage.sql`
 * (`sql.exec(…).toArray()`), neither of which exists outside a Worker; the replay runs on an
 * in-memory SQLite database of a driver installed here, so the body is handed an object with the
 * binding's API over that database (the part a migration uses: D1's `prepare` with `bind`, `first`,
 * `all`, `run`, `raw`, and `batch` and `exec`; Durable Objects' `exec` and its cursor). The SQL is
 * SQLite's either way, which is what the replay checks.
 */
type WorkerConnection = "d1" | "durable-objects";

type Row = Record<string, unknown>;

/** The part every replay driver's native connection shares, and what each one's statements offer. */
interface NativeDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): unknown;
  /** sql.js only. */
  getRowsModified?(): number;
}

interface RunResult {
  readonly rows: Row[];
  readonly columns: string[];
  readonly changes: number;
}

/** D1 and Durable Objects bind booleans as 1 and 0; the file drivers refuse them. */
const bindable = (values: readonly unknown[]) => values.map((value) => (typeof value === "boolean" ? Number(value) : value));

/** Runs one statement with `params` on any replay driver's connection (sql.js, or a `prepare(…).all/run` one). */
function runStatement(db: NativeDatabase, sql: string, params: readonly unknown[]): RunResult {
  const statement = db.prepare(sql) as Record<string, (...args: unknown[]) => unknown> & { reader?: boolean; columnNames?: string[] };
  if (typeof db.getRowsModified === "function") {
    try {
      statement.bind!(bindable(params));
      const rows: Row[] = [];
      while (statement.step!()) rows.push(statement.getAsObject!() as Row);
      const columns = statement.getColumnNames!() as string[];
      return { rows, columns, changes: columns.length === 0 ? db.getRowsModified() : 0 };
    } finally {
      statement.free!();
    }
  }
  // better-sqlite3 and libsql say whether a statement reads (and refuse columns() when it does not);
  // node:sqlite lists its columns, bun:sqlite names them.
  const columns = statement.reader === false ? [] : typeof statement.columns === "function" ? (statement.columns() as { name: string }[]).map((column) => column.name) : (statement.columnNames ?? []);
  const reader = statement.reader ?? columns.length > 0;
  if (!reader) return { rows: [], columns: [], changes: Number((statement.run!(...bindable(params)) as { changes?: number | bigint }).changes ?? 0) };
  const rows = statement.all!(...bindable(params)) as Row[];
  return { rows, columns: columns.length > 0 ? columns : Object.keys(rows[0] ?? {}), changes: 0 };
}

/** A D1 binding's API over `db`. */
function d1Binding(db: NativeDatabase) {
  const results = (run: RunResult) => ({ results: run.rows, success: true, meta: { changes: run.changes, rows_read: run.rows.length, rows_written: run.changes } });
  const statement = (sql: string, params: readonly unknown[]) => ({
    sql,
    params,
    bind: (...values: unknown[]) => statement(sql, values),
    all: async () => results(runStatement(db, sql, params)),
    run: async () => results(runStatement(db, sql, params)),
    first: async (column?: string) => {
      const row = runStatement(db, sql, params).rows[0] ?? null;
      return column === undefined || row === null ? row : row[column];
    },
    raw: async (options?: { columnNames?: boolean }) => {
      const run = runStatement(db, sql, params);
      const rows = run.rows.map((row) => run.columns.map((column) => row[column]));
      return options?.columnNames ? [run.columns, ...rows] : rows;
    },
  });
  return {
    prepare: (sql: string) => statement(sql, []),
    // A batch lands whole or not at all, as D1's does.
    batch: async (statements: readonly ReturnType<typeof statement>[]) => {
      db.exec("SAVEPOINT stepwise_replay_batch");
      try {
        const all = statements.map((each) => results(runStatement(db, each.sql, each.params)));
        db.exec("RELEASE stepwise_replay_batch");
        return all;
      } catch (error) {
        db.exec("ROLLBACK TO stepwise_replay_batch");
        db.exec("RELEASE stepwise_replay_batch");
        throw error;
      }
    },
    exec: async (sql: string) => {
      const statements = statementTexts(sql);
      for (const text of statements) runStatement(db, text, []);
      return { count: statements.length, duration: 0 };
    },
  };
}

/** A Durable Object's `ctx.storage.sql` over `db`: `exec` runs every statement, binding the last, and returns its cursor. */
function durableObjectSql(db: NativeDatabase) {
  return {
    exec(query: string, ...bindings: unknown[]) {
      const statements = statementTexts(query);
      let written = 0;
      let last: RunResult = { rows: [], columns: [], changes: 0 };
      statements.forEach((text, index) => {
        last = runStatement(db, text, index === statements.length - 1 ? bindings : []);
        written += last.changes;
      });
      const { rows, columns } = last;
      let next = 0;
      return {
        columnNames: columns,
        rowsRead: rows.length,
        rowsWritten: written,
        toArray: () => rows.slice(next),
        one: () => {
          if (rows.length !== 1) throw new Error(`Expected exactly one result from SQL query, but got ${rows.length === 0 ? "no results" : `${rows.length} results`}.`);
          return rows[0];
        },
        raw: () => rows.map((row) => columns.map((column) => row[column]))[Symbol.iterator](),
        next: () => (next < rows.length ? { done: false, value: rows[next++] } : { done: true, value: undefined }),
        [Symbol.iterator]() {
          return this;
        },
      };
    },
    get databaseSize() {
      return 0;
    },
  };
}

/**
 * `migrations` with each TypeScript migration that `connectionOf` names handed that Worker
 * connection's API over the replay's native connection instead of the connection itself.
 */
function withWorkerConnections(migrations: MigrationRegistry, connectionOf: (entry: MigrationEntry) => WorkerConnection | null): MigrationRegistry {
  return migrations.map((entry) => {
    const connection = entry.kind === "ts" ? connectionOf(entry) : null;
    if (connection === null || entry.kind !== "ts") return entry;
    const facade = connection === "d1" ? d1Binding : durableObjectSql;
    const wrap = (fn: ((db: never, context: never) => unknown) | undefined) =>
      fn && ((db: NativeDatabase, context: unknown) => (fn as (db: unknown, context: unknown) => unknown)(facade(db), context));
    const module = { ...entry.module, up: wrap(entry.module.up as never)!, ...(entry.module.down ? { down: wrap(entry.module.down as never) } : {}) };
    return { ...entry, module } as MigrationEntry;
  }) as unknown as MigrationRegistry;
}

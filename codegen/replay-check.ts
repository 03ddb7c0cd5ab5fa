/**
 * Where `gen --check` replays (`replay.ts`): an in-memory database of a SQLite driver that loads here,
 * or a scratch database on the configured PostgreSQL server. What cannot run here is not the
 * migrations' fault: a skip with its reason, which `--require-replay` turns into a failure.
 */
import path from "node:path";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import type { CliDriverName } from "../src/cli/driver-names.js";
import { loadDriver, type DriverConnector, type DriverLoaders } from "../src/cli/open-database.js";
import type { Driver } from "../src/core/driver.js";
import { StepwiseError } from "../src/core/errors.js";
import { Executor } from "../src/core/executor.js";
import { runAsync } from "../src/core/runners.js";
import { callWithDriver, exec } from "../src/core/step.js";
import type { MigrationRegistry, SqlDialect } from "../src/core/types.js";
import { containBodies, firstReachingSql } from "../src/safety/contained-copy.js";
import type { DriverEntry } from "../src/shared/package-name.js";
import type { Target } from "./config.js";
import { joinLines, problemAt, projectPath, type Problem } from "./problems.js";
import { replayMigrations, type ReplayDatabase, type ReplayResult } from "./replay.js";
import { withWorkerConnections, workerConnectionOf, type WorkerConnection } from "./worker-connections.js";

/** Inputs for {@link runReplayCheck}. */
export interface ReplayCheckOptions {
  readonly projectRoot: string;
  readonly registryFile: string;
  readonly dialect: SqlDialect;
  /** The config's driver; `null` means the bin's default, better-sqlite3. */
  readonly driver: DriverEntry | null;
  /** `d1` hands TypeScript migrations a D1 binding, as `driver: "d1"` does. */
  readonly target?: Target | null;
  readonly tableName: string;
  /** The PostgreSQL server a `postgres` registry replays on, in a scratch database created there and dropped after; `null`: no replay. */
  readonly url?: string | null;
  /** When `url` is `null` because the config's `url` names an unset variable: that variable. */
  readonly urlUnset?: string | null;
  readonly schema?: string | null;
  /** Imports the registry as the runtime commands do, throwing `REGISTRY_LOAD_FAILED` when it fails. */
  readonly loadRegistry: (registryFile: string) => Promise<MigrationRegistry>;
  /** The drivers that may replay. Default: every driver of the bin. */
  readonly drivers?: DriverLoaders;
}

/** Why a replay did not run, as `gen --check --json` reports it: `disabled` (`--no-replay`), `not-reached` (other checks failed first), `no-server`, `no-driver`, `no-scratch-database`, `no-registry-loader` (tsx missing), `not-contained` (SQL that reaches another file). */
export type ReplaySkipCode = "disabled" | "not-reached" | "no-server" | "no-driver" | "no-scratch-database" | "no-registry-loader" | "not-contained";

/** What the replay did, or why it did not run, its reason whole. `where` names a server by host and port only. */
export type ReplayOutcome =
  | {
      readonly ran: true;
      readonly driver: string;
      readonly database: "memory" | "scratch";
      readonly where: string;
      readonly applied: number;
      /** The version whose `down` was replayed, or `null`. */
      readonly rolledBack: number | null;
      /** The drivers tried first that could not run here, and why. */
      readonly unavailable: readonly { readonly driver: string; readonly reason: string }[];
      /** The Worker connection the TypeScript migrations were handed, if any. */
      readonly connection: WorkerConnection | null;
    }
  | { readonly ran: false; readonly code: ReplaySkipCode; readonly reason: string };

/** The replay's problems (the migrations' faults) and what it did. */
export interface ReplayCheckResult {
  readonly problems: readonly Problem[];
  readonly replay: ReplayOutcome;
}

/** What a project with no SQLite driver is told to install: it builds nothing and runs on every runtime. */
export const REPLAY_DRIVER_INSTALL = "npm install --save-dev sql.js";

const skipped = (code: ReplaySkipCode, reason: string): ReplayCheckResult => ({ problems: [], replay: { ran: false, code, reason } });

/** Replays the registry's migrations on an empty database. Never throws for the migrations' faults: they come back as problems. */
export async function runReplayCheck(options: ReplayCheckOptions): Promise<ReplayCheckResult> {
  if (options.dialect === "postgres" && (options.url ?? null) === null) {
    const missing = options.urlUnset
      ? `the config's "url" names \${${options.urlUnset}}, which is not set`
      : `none is configured: set "url" in the config (such as "\${DATABASE_URL}") or DATABASE_URL`;
    return skipped("no-server", `a postgres registry replays on a server, and ${missing}; a scratch database is created there and dropped after, and the role needs CREATEDB.`);
  }
  let migrations: MigrationRegistry;
  try {
    migrations = await options.loadRegistry(options.registryFile);
  } catch (error) {
    if (error instanceof StepwiseError && (error.is("MISSING_DEPENDENCY") || error.is("DEPENDENCY_VERSION_UNSUPPORTED"))) return skipped("no-registry-loader", error.message);
    if (!(error instanceof StepwiseError && error.is("REGISTRY_LOAD_FAILED"))) throw error;
    const location = error.details.location === null ? null : /^(.*):(\d+):(\d+)$/.exec(error.details.location);
    const at = location
      ? { file: location[1]!.split(path.sep).join("/"), line: Number(location[2]), column: Number(location[3]) }
      : { file: projectPath(options.projectRoot, options.registryFile), line: 1, column: 1 };
    const cause = error.cause instanceof Error ? error.cause.message : error.message;
    const message = `the registry cannot be imported, so the app could not start either: ${cause.split("\n")[0]}`;
    return { problems: [{ code: "REPLAY_REGISTRY_UNLOADABLE", ...at, message }], replay: { ran: false, code: "not-reached", reason: "the registry cannot be imported" } };
  }
  return options.dialect === "postgres" ? runOnPostgres(options, options.url!, migrations) : runOnSqlite(options, migrations);
}

/** The problem `gen --check --require-replay` fails with when the replay did not run. */
export function skippedReplayProblem(replay: ReplayOutcome & { ran: false }, registryLabel: string): Problem {
  return problemAt("REPLAY_SKIPPED", registryLabel, `the replay did not run (${replay.code}), and --require-replay asks it to: ${joinLines(replay.reason)}`);
}

/** One line for the bin: what ran, on what, and what stood in for what. */
export function describeReplay(outcome: ReplayOutcome & { ran: true }): string {
  const down = outcome.rolledBack === null ? "" : `, then rolled back ${outcome.rolledBack}`;
  const connection = outcome.connection === null ? "" : ` (TypeScript migrations given ${outcome.connection === "d1" ? "a D1 binding" : "a Durable Object's sql"} over it)`;
  return `Replayed ${outcome.applied} migration${outcome.applied === 1 ? "" : "s"} on ${outcome.where}${connection}${down}.`;
}

function ranOutcome(
  result: ReplayResult,
  on: { driver: string; database: "memory" | "scratch"; unavailable: { driver: string; reason: string }[]; connection: WorkerConnection | null },
): ReplayCheckResult {
  return { problems: result.problems, replay: { ran: true, ...on, where: result.where, applied: result.applied, rolledBack: result.downVersion } };
}

/** sql.js writes nothing here (the database is in memory), so it is opened as a reader would be. */
function loadReplayDriver(driver: CliDriverName, options: ReplayCheckOptions): Promise<DriverConnector> {
  return loadDriver(driver, driver === "sql-js" ? "read" : "write", "stepwise gen --check (replay)", options.drivers ?? ALL_DRIVER_LOADERS, "the config");
}

/** Connected to the server, it creates a scratch database with a random name (the role needs CREATEDB), replays there with its own executor, and drops it whatever happened. */
async function runOnPostgres(options: ReplayCheckOptions, url: string, migrations: MigrationRegistry): Promise<ReplayCheckResult> {
  let connector: DriverConnector;
  try {
    connector = await loadReplayDriver("pg", options);
  } catch (error) {
    if (error instanceof StepwiseError) return skipped("no-driver", error.message);
    throw error;
  }
  // The server by host and port only: never the role, password or options.
  let server = "the configured server";
  try {
    const parsed = new URL(url);
    server = `${parsed.hostname || parsed.searchParams.get("host") || "localhost"}:${parsed.port || parsed.searchParams.get("port") || "5432"}`;
  } catch {
    // The connection then fails on its own.
  }
  let scratchName = "";
  let failure: string | null = null;
  const open = async (registry: MigrationRegistry): Promise<ReplayDatabase> => {
    const opened = await connector.open({
      databasePath: "the configured server",
      url,
      ...(options.schema ? { schema: options.schema } : {}),
      busyTimeoutMs: 0,
      migrations: registry,
      props: { tableName: options.tableName },
    });
    try {
      // The driver behind the CLI's manager, the one that can make a scratch database, is reached through a step.
      const scratch = await opened.manager.run(
        callWithDriver((driver: Driver) => {
          if (!driver.openScratchDatabase) throw new Error("the pg driver opens no scratch database");
          return driver.openScratchDatabase();
        }),
      );
      scratchName = scratch.name;
      const replayer = new Executor(registry, { ...opened.manager.executor.settings, driverName: scratch.driver.name, capabilities: scratch.driver.capabilities, onEvent: undefined, logger: null });
      return {
        manager: { up: (up) => runAsync(replayer.up(up), scratch.driver), down: (down) => runAsync(replayer.down(down), scratch.driver), run: (step) => runAsync(step, scratch.driver) },
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
  };
  const result = await replayMigrations({ projectRoot: options.projectRoot, migrations, tableName: options.tableName, dialect: "postgres", open }).catch((error: unknown) => {
    if (failure !== null) return null;
    if (!(error instanceof StepwiseError)) throw error;
    failure = error.message;
    return null;
  });
  if (result === null) return skipped("no-scratch-database", `no scratch database could be made on the PostgreSQL server at ${server}: ${failure ?? "the connection was refused"}`);
  const where = `the scratch database ${scratchName} on the PostgreSQL server at ${server} (dropped after)`;
  return ranOutcome({ ...result, where }, { driver: "pg", database: "scratch", unavailable: [], connection: null });
}

/** On SQLite, the same engine through every driver: the project's own first, then the rest (sql.js builds nothing and installs anywhere). */
async function runOnSqlite(options: ReplayCheckOptions, migrations: MigrationRegistry): Promise<ReplayCheckResult> {
  // A TypeScript body's connection refuses what reaches another file; SQL that does is found in its text before anything runs.
  const reaching = firstReachingSql(migrations);
  if (reaching !== null) {
    const reason = `${reaching.file} reaches another file (${reaching.statement.slice(0, 80)}), and what a replay wrote there would stay. Check that migration on a copy of the database by hand; the replay runs again once no migration reaches another file.`;
    return skipped("not-contained", reason);
  }
  const own = options.driver === null || options.driver === "pg" || options.driver === "d1" || options.driver === "durable-objects" ? null : options.driver;
  // Only the drivers a project would have chosen are worth naming when they do not load: its own, and the default.
  const unavailable: { driver: string; reason: string }[] = [];
  let loaded: { driver: CliDriverName; connector: DriverConnector } | null = null;
  for (const driver of new Set<CliDriverName>([...(own === null ? [] : [own]), "better-sqlite3", "node-sqlite", "libsql", "sql-js", "bun-sqlite"])) {
    try {
      loaded = { driver, connector: await loadReplayDriver(driver, options) };
      break;
    } catch (error) {
      if (!(error instanceof StepwiseError)) throw error;
      if (driver === own || driver === "better-sqlite3") unavailable.push({ driver, reason: error.message });
    }
  }
  if (loaded === null) {
    const tried = unavailable.map(({ driver, reason }) => `${driver}: ${reason}`).join("\n");
    return skipped(
      "no-driver",
      `no SQLite driver loads here to replay on.\n${tried}\nInstall one as a devDependency to replay (the app's own driver need not change): sql.js is WebAssembly, builds nothing and runs on every runtime:\n  ${REPLAY_DRIVER_INSTALL}`,
    );
  }
  const { driver, connector } = loaded;
  const connectionOf = workerConnectionOf(options.projectRoot, options.driver, options.target);
  const connections = migrations.flatMap((entry) => {
    const connection = entry.kind === "ts" ? connectionOf(entry) : null;
    return connection === null ? [] : [connection];
  });
  const open = async (registry: MigrationRegistry): Promise<ReplayDatabase> => {
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
    return { manager: opened.manager as unknown as ReplayDatabase["manager"], where: `an empty in-memory ${driver} database`, close: () => opened.close() };
  };
  const result = await replayMigrations({ projectRoot: options.projectRoot, migrations, tableName: options.tableName, open });
  return ranOutcome(result, { driver, database: "memory", unavailable, connection: connections[0] ?? null });
}

/**
 * How the bin's `gen --check` runs the replay (`replay.ts`): it loads the registry it just checked,
 * opens an empty in-memory database with the project's driver, and turns what cannot be replayed here
 * (a PostgreSQL registry, a driver this runtime cannot load, no tsx to load TypeScript) into a note
 * rather than a failure, since none of those is a fault of the migrations.
 */
import path from "node:path";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import type { CliDriverName } from "../src/cli/driver-names.js";
import { loadDriver } from "../src/cli/open-database.js";
import { RegistryLoadError, StepwiseError } from "../src/core/errors.js";
import type { Driver } from "../src/core/driver.js";
import { Executor } from "../src/core/executor.js";
import { runAsync } from "../src/core/runners.js";
import { callWithDriver, exec } from "../src/core/step.js";
import type { MigrationRegistry, SqlDialect } from "../src/core/types.js";
import { MissingDependencyError } from "./optional-dependencies.js";
import { toPortablePath } from "./portable-path.js";
import type { Problem } from "./problems.js";
import { replayMigrations, type ReplayManager } from "./replay.js";

/** Inputs for {@link runReplayCheck}. */
export interface ReplayCheckOptions {
  readonly projectRoot: string;
  readonly registryFile: string;
  readonly dialect: SqlDialect;
  /** The config's driver; `null` means the bin's default, better-sqlite3. */
  readonly driver: CliDriverName | null;
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
  /** Imports the registry as the runtime commands do (tsx), throwing `RegistryLoadError` when it fails. */
  readonly loadRegistry: (registryFile: string) => Promise<MigrationRegistry>;
}

/** What the replay found: problems to fail on, or a one-line note of what it did or why it did not run. */
export interface ReplayCheckResult {
  readonly problems: readonly Problem[];
  readonly note: string;
}

/** The driver `gen --check` replays with when the config names none: the bin's default. */
export const DEFAULT_REPLAY_DRIVER: CliDriverName = "better-sqlite3";

/**
 * Replays the registry's migrations on an empty in-memory database (see `replay.ts`).
 * Never throws for the migrations' faults: they come back as problems.
 */
export async function runReplayCheck(options: ReplayCheckOptions): Promise<ReplayCheckResult> {
  if (options.dialect === "postgres") {
    const url = options.url ?? null;
    if (url === null) {
      const missing = options.urlUnset ? `the config's "url" names \${${options.urlUnset}}, which is not set` : `set "url" in the config or DATABASE_URL`;
      return { problems: [], note: `Replay skipped: a postgres registry replays on a server; ${missing} (a scratch database is created there and dropped).` };
    }
    return runOnPostgres(options, url);
  }
  const driver = options.driver ?? DEFAULT_REPLAY_DRIVER;
  if (driver === "pg" || driver === "sql-js") {
    // sql.js refuses to write files, not memory; pg is a server. Both replay with the bin's default.
    return runWith(options, driver === "sql-js" ? "sql-js" : DEFAULT_REPLAY_DRIVER);
  }
  return runWith(options, driver);
}

/**
 * The replay on PostgreSQL: connected to the configured server, it creates a scratch database with
 * a random name (the role needs CREATEDB, as `verifySchemaAsync` does), replays there through the
 * runtime's executor, and drops it, whatever happened.
 */
async function runOnPostgres(options: ReplayCheckOptions, url: string): Promise<ReplayCheckResult> {
  const migrations = await loadOrProblem(options);
  if (isCheckResult(migrations)) return migrations;
  let connector;
  try {
    connector = await loadReplayDriver("pg");
  } catch (error) {
    if (error instanceof StepwiseError) return { problems: [], note: `Replay skipped: ${firstLine(error.message)}` };
    throw error;
  }
  const props = { tableName: options.tableName };
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
        // Its own executor on the scratch database, as verify's replay has: the same settings, no events.
        const replayer = new Executor(registry, { ...executor.settings, driverName: scratch.driver.name, capabilities: scratch.driver.capabilities, onEvent: undefined, logger: null });
        const manager: ReplayManager = {
          up: (upOptions) => runAsync(replayer.up(upOptions), scratch.driver),
          down: (downOptions) => runAsync(replayer.down(downOptions), scratch.driver),
          run: (step) => runAsync(step, scratch.driver),
        };
        return {
          manager,
          close: async () => {
            await scratch.drop().catch(() => undefined);
            await opened.close();
          },
        };
      } catch (error) {
        await opened.close();
        failure = error instanceof Error ? firstLine(error.message) : String(error);
        throw error;
      }
    },
  }).catch((error: unknown) => {
    if (failure !== null || error instanceof StepwiseError) return null;
    throw error;
  });
  if (result === null) return { problems: [], note: `Replay skipped: no scratch database on the configured server (${failure ?? "connection refused"}).` };
  const count = `${result.applied} migration${result.applied === 1 ? "" : "s"}`;
  const down = result.downVersion === null ? "" : `, then rolled back ${result.downVersion}`;
  return { problems: result.problems, note: result.problems.length === 0 ? `Replayed ${count} on a scratch PostgreSQL database${down} (dropped after).` : "" };
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
    if (error instanceof MissingDependencyError) return { problems: [], note: `Replay skipped: ${firstLine(error.message)}` };
    if (error instanceof RegistryLoadError) {
      const [file, line, column] = parseLocation(error.location) ?? [registryLabel, 1, 1];
      return {
        problems: [{ code: "REPLAY_REGISTRY_UNLOADABLE", file, line, column, message: `the registry cannot be imported, so the app could not start either: ${firstLine(rootMessage(error))}` }],
        note: "",
      };
    }
    throw error;
  }
}

/** sql.js writes nothing here (the database is in memory), so it is opened as a reader would be. */
function loadReplayDriver(driver: CliDriverName) {
  return loadDriver(driver, driver === "sql-js" ? "read" : "write", "stepwise gen --check (replay)", ALL_DRIVER_LOADERS, "the config");
}

async function runWith(options: ReplayCheckOptions, driver: CliDriverName): Promise<ReplayCheckResult> {
  const migrations = await loadOrProblem(options);
  if (isCheckResult(migrations)) return migrations;
  let connector;
  let fallback = "";
  try {
    connector = await loadReplayDriver(driver);
  } catch (error) {
    if (!(error instanceof StepwiseError)) throw error;
    // The configured driver cannot load under this runtime (node:sqlite on an older Node, bun:sqlite
    // under Node): SQLite is the same engine through every driver, so the default one stands in.
    if (driver === DEFAULT_REPLAY_DRIVER) return { problems: [], note: `Replay skipped: ${firstLine(error.message)}` };
    try {
      connector = await loadReplayDriver(DEFAULT_REPLAY_DRIVER);
    } catch {
      return { problems: [], note: `Replay skipped: ${firstLine(error.message)}` };
    }
    fallback = ` (${driver} does not load here: ${firstLine(error.message)})`;
    driver = DEFAULT_REPLAY_DRIVER;
  }
  const result = await replayMigrations({
    projectRoot: options.projectRoot,
    migrations,
    tableName: options.tableName,
    open: async (registry) => {
      // url: libsql-client connects by URL, here to an in-memory database of its own; the file drivers ignore it.
      const opened = await connector.open({ databasePath: ":memory:", url: ":memory:", busyTimeoutMs: 0, migrations: registry, props: { tableName: options.tableName } });
      // The in-memory database is the replay's own, so read mode's query_only is lifted.
      await opened.manager.run(exec("PRAGMA query_only = OFF"));
      return { manager: opened.manager as unknown as ReplayManager, close: () => opened.close() };
    },
  });
  const count = `${result.applied} migration${result.applied === 1 ? "" : "s"}`;
  const down = result.downVersion === null ? "" : `, then rolled back ${result.downVersion}`;
  return { problems: result.problems, note: result.problems.length === 0 ? `Replayed ${count} on an empty in-memory ${driver} database${down}${fallback}.` : "" };
}

function firstLine(text: string): string {
  return text.split("\n")[0]!;
}

function rootMessage(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : error.message;
}

/** `file:line:col` as RegistryLoadError records it. */
function parseLocation(location: string | null): [string, number, number] | null {
  const match = location === null ? null : /^(.*):(\d+):(\d+)$/.exec(location);
  return match ? [toPortablePath(match[1]!), Number(match[2]), Number(match[3])] : null;
}

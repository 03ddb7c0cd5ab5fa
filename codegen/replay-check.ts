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
import { exec } from "../src/core/step.js";
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
  if (options.dialect !== "sqlite") {
    return { problems: [], note: `Replay skipped: the ${options.dialect} registry needs a server to replay on (run "stepwise up --dry-run" against a scratch database).` };
  }
  const driver = options.driver ?? DEFAULT_REPLAY_DRIVER;
  if (driver === "pg" || driver === "sql-js") {
    // sql.js refuses to write files, not memory; pg is a server. Both replay with the bin's default.
    return runWith(options, driver === "sql-js" ? "sql-js" : DEFAULT_REPLAY_DRIVER);
  }
  return runWith(options, driver);
}

/** sql.js writes nothing here (the database is in memory), so it is opened as a reader would be. */
function loadReplayDriver(driver: CliDriverName) {
  return loadDriver(driver, driver === "sql-js" ? "read" : "write", "stepwise gen --check (replay)", ALL_DRIVER_LOADERS, "the config");
}

async function runWith(options: ReplayCheckOptions, driver: CliDriverName): Promise<ReplayCheckResult> {
  const registryLabel = toPortablePath(path.relative(options.projectRoot, options.registryFile));
  let migrations: MigrationRegistry;
  try {
    migrations = await options.loadRegistry(options.registryFile);
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
      const opened = await connector.open({ databasePath: ":memory:", busyTimeoutMs: 0, migrations: registry, props: { tableName: options.tableName } });
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

/** How `stepwise fleet` runs a command over its databases: on worker threads (the sync SQLite drivers, when the CLI can load the registry there) or in this thread, until Ctrl-C. */
import { readFileSync } from "node:fs";
import os from "node:os";
import { runFleet } from "../fleet/run-fleet.js";
import { DEFAULT_BUSY_TIMEOUT_MS, type TransactionMode } from "../core/options.js";
import { planUp } from "../core/planner.js";
import type { MigrationRegistry } from "../core/types.js";
import { tryOr } from "../shared/try-or.js";
import { LIBSQL_AUTH_TOKEN_ENV } from "./database-path.js";
import { assertRegistryFits, connectorFor, driverOf, loadRegistry, offeredDrivers, resolvePath, setting, type CommandScope } from "./database-target.js";
import { connectsByUrl, dialectOfDriver, driverOfScheme } from "./driver-names.js";
import { createFleetProgress } from "./fleet-output.js";
import { targetFlags } from "./report-error.js";
import { quoteForShell } from "../shared/shell-quote.js";
import { runFleetTarget, type FleetJob } from "./fleet-task.js";
import { listedUrls, listFleetTargets, parseShard } from "./fleet-targets.js";
import type { FleetWorkerProps } from "./fleet-workers.js";
import type { ProcessEntryProps } from "./cli-props.js";

/** What every fleet command takes besides the global flags. */
export interface FleetOptions {
  readonly concurrency?: number;
  /** `i/n`, checked by {@link parseShard}. */
  readonly shard?: string;
  readonly urlFile?: string;
  readonly json?: boolean;
}

/** What `fleet up` takes besides those. */
export interface FleetUpOptions extends FleetOptions {
  readonly to?: number;
  readonly transaction?: TransactionMode;
  readonly canary?: number;
  readonly failFast?: boolean;
}

/** How many databases a fleet command works on at once unless told: one per core. */
export function defaultFleetConcurrency(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/** The most worker threads a fleet command starts: four per core. Each holds its own driver and registry (tens of MB), and past a few per core more threads only wait. */
export function maxFleetWorkers(): number {
  return 4 * defaultFleetConcurrency();
}

/** `scope` for a fleet named by `--url-file`, whose URLs take the url setting's place: when nothing names the driver, the first one's scheme does, as `--url`'s would. */
function withUrlFile<R extends MigrationRegistry>(scope: CommandScope<R>, urlFile: string): CommandScope<R> {
  const { props } = scope.session;
  // Read only when nothing names the driver; a file that cannot be read picks nothing: listing the targets reports it.
  const text = setting(scope.flags.driver, props.driver) == null ? tryOr(() => readFileSync(resolvePath(scope.session, urlFile), "utf8"), "") : "";
  const first = listedUrls(text, urlFile)[0]?.line;
  const driver = (first === undefined ? null : driverOfScheme(first, offeredDrivers(props))) ?? props.driver;
  return { ...scope, session: { ...scope.session, props: { ...props, url: null, driver } } };
}

/** Lists the targets and runs `job` on every one, the registry and the driver loaded once here, with a progress display unless `--json`. */
export async function runFleetCommand<R extends MigrationRegistry>(given: CommandScope<R>, options: FleetUpOptions, job: Pick<FleetJob, "task" | "mode" | "to" | "transaction">) {
  const scope = options.urlFile === undefined ? given : withUrlFile(given, options.urlFile);
  const targets = await listFleetTargets(scope, options.urlFile, options.shard === undefined ? undefined : parseShard(options.shard));
  const { session, flags } = scope;
  const { props, output } = session;
  const progress = options.json ? undefined : createFleetProgress(output.io, output.palette, `fleet ${job.task}`);
  // Only `up` writes: status and verify have nothing to finish, so a Ctrl-C ends them at once. Signals are the bin's to take; an app that embeds the CLI stops a fleet by its own signal.
  const stop = job.task === "up" && (props as ProcessEntryProps).ownsProcess ? listenForStop() : undefined;
  const signal = stop?.signal ?? props.signal;
  const pool = { concurrency: options.concurrency ?? defaultFleetConcurrency(), canary: options.canary ?? 0, failFast: Boolean(options.failFast), total: targets.length, signal };
  try {
    // What the driver or the registry refuses is refused once, before any database is opened.
    const driver = driverOf(scope);
    const connector = await connectorFor(scope, job.mode);
    const migrations = await loadRegistry(scope);
    assertRegistryFits(migrations, driver);
    // A --to the registry lacks is the command's mistake, not each database's: refused once, before any is opened.
    if (job.to !== undefined) planUp(migrations, [], { to: job.to });
    const tableName = setting(flags.table, props.tableName);
    const lockTimeoutMs = setting(flags.lockTimeout, props.lockTimeoutMs);
    const typed = given.flags;
    const selection = `${targetFlags({ db: typed.db, url: typed.url, schema: typed.schema, table: typed.table, driver: typed.driver })}${options.urlFile === undefined ? "" : ` --url-file ${quoteForShell(options.urlFile)}`}${options.shard === undefined ? "" : ` --shard ${quoteForShell(options.shard)}`}`;
    const full: FleetJob = {
      ...job,
      selection,
      driver,
      busyTimeoutMs: setting(flags.busyTimeout, props.busyTimeoutMs) ?? DEFAULT_BUSY_TIMEOUT_MS,
      ...(tableName !== undefined && { tableName }),
      ...(lockTimeoutMs !== undefined && { lockTimeoutMs }),
    };
    const lanes = Math.min(pool.concurrency, targets.length);
    const latest = { latestVersion: migrations.length, total: targets.length };
    // On a worker even one at a time: a signal reaches this thread while a database migrates, and a migration that ends its thread fails only its database.
    const worker = !connectsByUrl(driver) && lanes > 0 ? (props as FleetWorkerProps).fleetWorker?.({ dialect: dialectOfDriver(driver), driver }) : undefined;
    if (worker !== undefined) {
      const workers = Math.min(lanes, maxFleetWorkers());
      return { ...(await worker(workers, full, (run) => runFleet(targets, run, { ...pool, concurrency: workers }, progress))), venue: "workers", ...latest };
    }
    const authToken = driver === "libsql-client" ? output.io.env[LIBSQL_AUTH_TOKEN_ENV] : undefined;
    return { ...(await runFleet(targets, (spec) => runFleetTarget(connector, migrations, spec, full, authToken), pool, progress)), venue: "in-process", ...latest };
  } finally {
    stop?.dispose();
    progress?.clear();
  }
}

/** The signals that stop a fleet run: Ctrl-C, and what a CI runner or a deploy sends before it kills. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Listens for SIGINT and SIGTERM while a fleet run lasts: the first aborts `signal`, so no database is started and those running finish; a second ends the process as the signal would. */
function listenForStop(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) return controller.abort();
    dispose();
    process.kill(process.pid, name);
  };
  const dispose = () => {
    for (const name of STOP_SIGNALS) process.off(name, onSignal);
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return { signal: controller.signal, dispose };
}

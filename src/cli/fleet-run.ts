/**
 * How `stepwise fleet` runs a command over its databases: the registry and the driver loaded once
 * here, then each database on a worker thread (the sync SQLite drivers, when the CLI can load the
 * registry there) or in a pool in this thread (the async drivers, and an embedded CLI).
 */
import os from "node:os";
import { runFleet, type FleetListeners, type FleetPoolOptions, type FleetRun } from "../fleet/run-fleet.js";
import { DEFAULT_BUSY_TIMEOUT_MS } from "../core/options.js";
import { planUp } from "../core/planner.js";
import type { MigrationRegistry } from "../core/types.js";
import { LIBSQL_AUTH_TOKEN_ENV } from "./database-path.js";
import { assertRegistryFits, connectorFor, driverOf, loadRegistry, setting, type CommandScope } from "./database-target.js";
import { connectsByUrl, dialectOfDriver } from "./driver-names.js";
import { runFleetTarget, type FleetJob, type FleetTargetResult } from "./fleet-task.js";
import type { FleetTargetSpec } from "./fleet-targets.js";
import type { FleetWorkerProps } from "./fleet-workers.js";

/** How many databases a fleet command works on at once unless told: one per core. */
export function defaultFleetConcurrency(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/**
 * The most worker threads a fleet command starts, whatever `--concurrency` asks: four per core. Each holds its own driver and registry (tens of MB), so one per database of a huge
 * `--concurrency` could exhaust memory, while a sync SQLite migration keeps its core busy: past a few per core, more threads only wait (on the disk, or another process's lock).
 */
export function maxFleetWorkers(): number {
  return 4 * defaultFleetConcurrency();
}

/** Where a fleet command ran its targets: on worker threads, or in this thread (an async driver, an embedded CLI). */
export type FleetVenue = "workers" | "in-process";

/**
 * Runs `task` on every target: the registry and the driver loaded once here (what either refuses, and
 * a `to` the registry lacks, is refused before any database is opened), then each target on a worker
 * thread or in this thread.
 */
export async function executeFleet<R extends MigrationRegistry>(
  scope: CommandScope<R>,
  job: Omit<FleetJob, "driver" | "busyTimeoutMs" | "tableName" | "lockTimeoutMs">,
  targets: readonly FleetTargetSpec[],
  pool: FleetPoolOptions,
  listeners: FleetListeners<FleetTargetSpec, FleetTargetResult>,
): Promise<FleetRun<FleetTargetResult> & { readonly venue: FleetVenue; readonly latestVersion: number }> {
  const { session, flags } = scope;
  const { props } = session;
  const driver = driverOf(scope);
  const connector = await connectorFor(scope, job.mode);
  const migrations = await loadRegistry(scope);
  // Refused once for every database.
  assertRegistryFits(migrations, driver);
  // A --to the registry lacks is the command's mistake, not each database's: refused once, before any is opened.
  if (job.to !== undefined) planUp(migrations, [], { to: job.to });
  const tableName = setting(flags.table, props.tableName);
  const lockTimeoutMs = setting(flags.lockTimeout, props.lockTimeoutMs);
  const full: FleetJob = {
    ...job,
    driver,
    busyTimeoutMs: setting(flags.busyTimeout, props.busyTimeoutMs) ?? DEFAULT_BUSY_TIMEOUT_MS,
    ...(tableName !== undefined && { tableName }),
    ...(lockTimeoutMs !== undefined && { lockTimeoutMs }),
  };
  const lanes = Math.min(pool.concurrency ?? 1, targets.length);
  // On a worker even one at a time: a signal reaches this thread while a database migrates, and a migration that ends its thread fails only its database.
  const worker = !connectsByUrl(driver) && lanes > 0 ? (props as FleetWorkerProps).fleetWorker?.({ dialect: dialectOfDriver(driver), driver }) : undefined;
  const latestVersion = migrations.length;
  if (worker !== undefined) {
    const workers = Math.min(lanes, maxFleetWorkers());
    return { ...(await worker(workers, full, (run) => runFleet(targets, run, { ...pool, concurrency: workers }, listeners))), venue: "workers", latestVersion };
  }
  const authToken = driver === "libsql-client" ? session.output.io.env[LIBSQL_AUTH_TOKEN_ENV] : undefined;
  return { ...(await runFleet(targets, (spec) => runFleetTarget(connector, migrations, spec, full, authToken), pool, listeners)), venue: "in-process", latestVersion };
}

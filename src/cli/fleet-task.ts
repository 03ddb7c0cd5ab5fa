/** How `stepwise fleet` works on one database, in this thread or a worker's: open it through the chosen driver, run the command's task (status, up or verify), close it, report. */
import { FLEET_COMMANDS } from "./database-target.js";
import { toPlainError } from "../core/error-factories.js";
import { databasePathInvalidError } from "../safety/errors.js";
import { describeTargetError, runTarget, upTarget, type TargetError, type TargetReport } from "../fleet/migrate-many.js";
import { fileKindAt } from "../drivers/database-file.js";
import { realDatabaseFileOrThrow } from "../safety/real-database-file.js";
import type { TransactionMode } from "../core/options.js";
import type { MigrationRegistry } from "../core/types.js";
import type { SafetyNetManager } from "../safety/schema-reader.js";
import { verifySchema } from "../safety/verify.js";
import type { CliDriverName } from "./driver-names.js";
import type { FleetTargetSpec } from "./fleet-targets.js";
import type { CliManager, CommandMode, DriverConnector, OpenedDatabase } from "./open-database.js";
import { inCliReport, RUN_AGAIN_CODES, targetFlags, withDatabaseFlags } from "./report-error.js";
import { query } from "../core/step.js";

/** What a fleet command does to each database. */
export type FleetTask = "status" | "up" | "verify";

/** Everything a target's run needs besides the target: plain data, handed to the worker threads. */
export interface FleetJob {
  readonly task: FleetTask;
  readonly driver: CliDriverName;
  readonly mode: CommandMode;
  readonly busyTimeoutMs: number;
  readonly tableName?: string;
  readonly lockTimeoutMs?: number;
  readonly to?: number;
  readonly transaction?: TransactionMode;
  /** The options that picked the fleet, as given (`--db '<glob>'`, `--url-file`, `--shard`, …): a command a fix names to run the fleet again repeats them. */
  readonly selection?: string;
}

/** `status` of one database; `state` sorts it into the histogram. */
export interface FleetStatusResult {
  readonly id: string;
  readonly ok: boolean;
  readonly state: "current" | "pending" | "refusing" | "locked" | "failed";
  readonly currentVersion: number | null;
  readonly pendingCount: number | null;
  readonly durationMs: number;
  readonly error: TargetError | null;
}

/** `verify` of one database. */
export interface FleetVerifyResult {
  readonly id: string;
  readonly ok: boolean;
  readonly version: number | null;
  readonly drift: readonly string[];
  readonly durationMs: number;
  readonly error: TargetError | null;
}

/** What one database's run reports, by task. */
export type FleetTargetResult = TargetReport | FleetStatusResult | FleetVerifyResult;

/** The codes that say another process holds the database, rather than that something is wrong with it. */
const LOCKED_CODES: ReadonlySet<string> = new Set(["DATABASE_LOCKED", "LOCK_TIMEOUT", "MIGRATION_IN_PROGRESS"]);

/** Each task's work on an open manager, and the fields of its report when the database could not be opened or read. */
const TASKS = {
  up: { blank: { fromVersion: null, toVersion: null, steps: [] }, run: (manager: CliManager<MigrationRegistry>, job: FleetJob) => upTarget(manager, upOptionsOf(job)) },
  status: {
    blank: { state: "failed", currentVersion: null, pendingCount: null },
    run: async (manager: CliManager<MigrationRegistry>): Promise<Omit<FleetStatusResult, "id" | "durationMs">> => {
      const { currentVersion, pendingCount, problem } = await manager.status();
      const state = problem === null ? (pendingCount > 0 ? "pending" : "current") : LOCKED_CODES.has(problem.code) ? "locked" : "refusing";
      return { ok: problem === null, state, currentVersion, pendingCount, error: problem };
    },
  },
  verify: {
    blank: { version: null, drift: [] },
    run: async (manager: CliManager<MigrationRegistry>): Promise<Omit<FleetVerifyResult, "id" | "durationMs">> => {
      const { ok, version, drift } = await verifySchema(manager as unknown as SafetyNetManager<MigrationRegistry, true>);
      return { ok, version, drift, error: null };
    },
  },
} as const;

const upOptionsOf = (job: FleetJob) => ({ ...(job.to === undefined ? {} : { to: job.to }), ...(job.transaction === undefined ? {} : { transaction: job.transaction }) });

/** Opens one database, runs the job's task and closes it: a report whose error is spelled as the CLI spells options. */
export async function runFleetTarget(connector: DriverConnector, migrations: MigrationRegistry, spec: FleetTargetSpec, job: FleetJob, authToken?: string): Promise<FleetTargetResult> {
  if ("unlisted" in spec) return describeLostTarget(spec, job, spec.unlisted, 0);
  // A file the fleet names (by --db, or a file: URL of --url-file): a tenant to migrate, never one to create (a URL mistyped, or a file deleted, would make an empty one).
  const file = "file" in spec ? spec.file : "localFile" in spec ? spec.localFile : undefined;
  if (file !== undefined) {
    // Listed when the run began, deleted since: opening it to write would create an empty tenant and migrate it.
    if (fileKindAt(file, false) === "missing") return describeLostTarget(spec, job, toPlainError(databasePathInvalidError(spec.id, "gone", "missing")), 0);
    // What `up --db` refuses of its path (a link to nothing, such as an unmounted volume's, through which SQLite would create a database), refused here too.
    try {
      realDatabaseFileOrThrow(file);
    } catch (error) {
      return describeLostTarget(spec, job, describeTargetError(error), 0);
    }
  }
  const task = TASKS[job.task];
  const open = () =>
    connector.open({
      databasePath: "file" in spec ? spec.file : spec.id,
      busyTimeoutMs: job.busyTimeoutMs,
      migrations,
      props: { tableName: job.tableName, busyTimeoutMs: job.busyTimeoutMs },
      ...("url" in spec && { url: spec.url, schema: spec.schema, ...(job.lockTimeoutMs !== undefined && { lockTimeoutMs: job.lockTimeoutMs }) }),
      ...(authToken !== undefined && { authToken }),
    });
  const run = async (opened: OpenedDatabase<MigrationRegistry>) => {
    try {
      // As for a file: a schema the pattern found and that was dropped since is no tenant to create anew.
      if ("listed" in spec && spec.listed && (await opened.manager.run(query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ?", [spec.schema]))).length === 0)
        throw databasePathInvalidError(spec.id, "gone", null);
      return await task.run(opened.manager, job);
    } catch (error) {
      throw opened.translateError(error);
    }
  };
  const result = (await runTarget(spec.id, open, run, (opened) => opened.close(), task.blank as never)) as FleetTargetResult;
  // A status that could not be read at all is `locked` when another process held the database.
  const locked = "state" in result && result.state === "failed" && result.error !== null && LOCKED_CODES.has(result.error.code);
  return { ...result, ...(locked && { state: "locked" }), error: result.error && inFleetReport(result.error, spec, job) } as FleetTargetResult;
}

/** `error` as the CLI reports it, naming `stepwise fleet up` again, or a one-database command with the database it is for (the fleet's own settings name many). */
function inFleetReport(error: TargetError, spec: FleetTargetSpec, job: FleetJob): TargetError & { readonly fix: unknown } {
  const report = inCliReport(error);
  if ("unlisted" in spec) return report;
  // The database as the fleet reached it: its file, or its server (the password left out) and schema; with the fleet's driver and history table.
  const target = targetFlags({
    ...("file" in spec ? { db: spec.id } : { url: spec.server, schema: spec.schema }),
    table: job.tableName,
    driver: job.driver === "better-sqlite3" ? undefined : job.driver,
  });
  // A migration that failed in a verify's replay is fixed, then verified again: up is for a migration that failed on the database.
  const again = (name: string) => (name === "up" && report.code === "MIGRATION_FAILED" ? job.task : name);
  // Run again, a fleet up that was to stop at a version stops there (as a one-database up's fix says).
  const repeat = job.task === "up" && RUN_AGAIN_CODES.has(report.code) ? `${job.to === undefined ? "" : ` --to ${job.to}`}${job.transaction === "all" ? " --transaction all" : ""}` : "";
  const spell = <T>(text: T) =>
    withDatabaseFlags(text, target, (name, bare) => (FLEET_COMMANDS.has(name) ? `"stepwise fleet ${again(name)}${job.selection ?? ""}${bare && again(name) === "up" ? repeat : ""}` : null));
  // The message's commands too (`"stepwise down --to 3"`): the text report prints it, and without the database it names none of the fleet's.
  return Object.assign(report, { message: spell(report.message), fix: spell(report.fix) });
}

/** The report of a target that could not be run (its worker thread died, its server could not be listed): failed with `error`. */
export function describeLostTarget(spec: FleetTargetSpec, job: FleetJob, error: TargetError, durationMs: number): FleetTargetResult {
  return { id: spec.id, ...TASKS[job.task].blank, ok: false, durationMs, error: inFleetReport(error, spec, job) } as FleetTargetResult;
}

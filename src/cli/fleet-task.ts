/** How `stepwise fleet` works on one database, in this thread or a worker's: open it through the chosen driver, run the command's task (status, up or verify), close it, report. */
import { runTarget, upTarget, type TargetError, type TargetReport } from "../fleet/migrate-many.js";
import type { TransactionMode } from "../core/options.js";
import type { MigrationRegistry } from "../core/types.js";
import type { SafetyNetManager } from "../safety/schema-reader.js";
import { verifySchema } from "../safety/verify.js";
import type { CliDriverName } from "./driver-names.js";
import type { FleetTargetSpec } from "./fleet-targets.js";
import type { CliManager, CommandMode, DriverConnector, OpenedDatabase } from "./open-database.js";
import { inCliSpelling } from "./report-error.js";
import { findPasswords, hideUrlIn } from "./secrets.js";

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
  status: { blank: { state: "failed", currentVersion: null, pendingCount: null }, run: statusTarget },
  verify: { blank: { version: null, drift: [] }, run: verifyTarget },
} as const;

const upOptionsOf = (job: FleetJob) => ({ ...(job.to === undefined ? {} : { to: job.to }), ...(job.transaction === undefined ? {} : { transaction: job.transaction }) });

async function statusTarget(manager: CliManager<MigrationRegistry>): Promise<Omit<FleetStatusResult, "id" | "durationMs">> {
  const status = await manager.status();
  const { currentVersion, pendingCount, problem } = status;
  const state = problem === null ? (pendingCount > 0 ? "pending" : "current") : LOCKED_CODES.has(problem.code) ? "locked" : "refusing";
  return { ok: problem === null, state, currentVersion, pendingCount, error: problem };
}

async function verifyTarget(manager: CliManager<MigrationRegistry>): Promise<Omit<FleetVerifyResult, "id" | "durationMs">> {
  const verification = await verifySchema(manager as unknown as SafetyNetManager<MigrationRegistry, true>);
  return { ok: verification.ok, version: verification.version, drift: verification.drift, error: null };
}

/**
 * Opens one database through `connector`, runs the job's task, closes it: a report whose error is
 * spelled as the CLI spells options, and never quotes the URL it was opened with.
 */
export async function runFleetTarget(connector: DriverConnector, migrations: MigrationRegistry, spec: FleetTargetSpec, job: FleetJob, authToken?: string): Promise<FleetTargetResult> {
  const url = "url" in spec ? spec.url : undefined;
  const hidden = (error: unknown) => (url === undefined ? error : hideUrlIn(error, url));
  const task = TASKS[job.task];
  const open = async () => {
    try {
      return await connector.open({
        databasePath: "file" in spec ? spec.file : spec.id,
        busyTimeoutMs: job.busyTimeoutMs,
        migrations,
        props: { tableName: job.tableName, busyTimeoutMs: job.busyTimeoutMs },
        ...("url" in spec && { url: spec.schema === undefined ? spec.url : withSearchPath(spec.url, spec.schema), schema: spec.schema }),
        ...(authToken !== undefined && { authToken }),
        ...(url !== undefined && job.lockTimeoutMs !== undefined && { lockTimeoutMs: job.lockTimeoutMs }),
      });
    } catch (error) {
      throw hidden(error);
    }
  };
  const run = async (opened: OpenedDatabase<MigrationRegistry>) => {
    try {
      return await task.run(opened.manager, job);
    } catch (error) {
      throw hidden(opened.translateError(error));
    }
  };
  const result = (await runTarget(spec.id, open, run, (opened) => opened.close(), task.blank as never)) as FleetTargetResult;
  // A status that could not be read at all is `locked` when another process held the database.
  const locked = "state" in result && result.state === "failed" && result.error !== null && LOCKED_CODES.has(result.error.code);
  return { ...result, ...(locked && { state: "locked" }), error: result.error && withoutSecrets(inCliSpelling(result.error), url) } as FleetTargetResult;
}

/** `error` with every password or token `url` holds written `****`, wherever a driver's message quoted it. */
function withoutSecrets(error: TargetError, url: string | undefined): TargetError {
  const secrets = url === undefined ? [] : findPasswords(url).filter((secret) => secret !== "");
  if (secrets.length === 0) return error;
  let text = JSON.stringify(error);
  for (const secret of secrets) text = text.split(JSON.stringify(secret).slice(1, -1)).join("****");
  return JSON.parse(text) as TargetError;
}

/** A PostgreSQL URL whose sessions work in `schema`: the migrations' own SQL lands there, as the history table does. */
function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  const options = parsed.searchParams.get("options");
  parsed.searchParams.set("options", `${options === null ? "" : `${options} `}-c search_path=${schema}`);
  return parsed.href;
}

/**
 * A SQL migration applied as one request: its script, its history writes and (for a transaction per
 * migration) the commit go to the driver together (capability `scriptWithHistory`), where the usual
 * path sends them one by one and waits for each. On PostgreSQL that is one round trip instead of
 * three, the bulk of what a migration costs the client beyond the server's own work.
 *
 * Nothing else changes: the migration and its row still commit together or not at all, in the
 * transaction the executor opened; the events and the errors are those of the usual path. A revert
 * checks that its history row is there in the same request (the store's `failUnlessApplied`), since
 * no check can run between the statements of one request, and a failed check is reported as the
 * usual path reports it: `HISTORY_ROW_MISSING` as the cause of the migration's failure.
 */
import { HistoryRowMissingError, type StepwiseError } from "./errors.js";
import type { MigrationEvent } from "./events.js";
import type { HistoryStore } from "./history.js";
import { collectWrites, rollbackQuietly, SCRIPT_ELAPSED_MS, scriptWithHistory, type Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";

/** What the executor lends the one-request path: its own steps, so nothing here is a second copy of them. */
export interface ScriptWithHistoryHost {
  readonly store: HistoryStore;
  emit(event: MigrationEvent): void;
  /** What runs before a body: the executor's refusals (a parent table rebuilt under enforced foreign keys). */
  beforeBody(entry: MigrationEntry, direction: MigrationDirection): Step<void>;
  /** The executor's history writes for `entry`, with `durationMs` as their duration. */
  record(entry: MigrationEntry, direction: MigrationDirection, durationMs: typeof SCRIPT_ELAPSED_MS): Step<void>;
  /** The error the usual path reports for a failure of `entry`, rolled back. */
  failed(entry: MigrationEntry, direction: MigrationDirection, cause: unknown): Step<StepwiseError>;
}

/** Whether `entry` can be applied as one request on a driver that declares `scriptWithHistory`: unguarded SQL. */
export function runsAsOneRequest(scriptWithHistoryCapability: boolean, entry: MigrationEntry): boolean {
  return scriptWithHistoryCapability === true && entry.kind === "sql" && !entry.disableForeignKeys;
}

/**
 * Runs SQL migration `entry` in the open transaction with its history writes, and commits when
 * `commit` is set; returns the duration the client saw. A failure is rolled back and thrown as the
 * migration's failure.
 */
export function* runScriptWithHistory(host: ScriptWithHistoryHost, entry: MigrationEntry, direction: MigrationDirection, commit: boolean): Step<number> {
  host.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
  const started = performance.now();
  try {
    yield* host.beforeBody(entry, direction);
    const script = entry.kind === "sql" ? (direction === "up" ? entry.upSql : entry.downSql) : null;
    if (script === null) throw new Error("it has no down section");
    const check = direction === "up" ? [] : collectWrites(host.store.failUnlessApplied(entry.version));
    yield* scriptWithHistory(script, [...check, ...collectWrites(host.record(entry, direction, SCRIPT_ELAPSED_MS))], commit);
  } catch (cause) {
    yield* rollbackQuietly();
    const missing = direction === "down" && host.store.isFailedRowCheck(cause);
    throw yield* host.failed(entry, direction, missing ? new HistoryRowMissingError({ table: host.store.tableName, version: entry.version, operation: "delete" }) : cause);
  }
  return performance.now() - started;
}

/**
 * A SQL migration applied as one request: its script and its history writes go to the driver
 * together (capability `scriptWithHistory`), where the usual path sends them one by one and waits for
 * each (on PostgreSQL the driver also folds the BEGIN into that message; see `src/drivers/pg.ts`).
 * The COMMIT stays a request of its own:
 * a server runs a message it has received to the end even when its client has died, so a COMMIT
 * inside it would commit a migration whose process was killed mid-way; sent alone, it only follows a
 * live client's success, and a dead client's transaction is rolled back.
 *
 * Nothing else changes: the migration and its row still commit together or not at all, in the
 * transaction the executor opened; the events and the errors are those of the usual path. A revert
 * checks that its history row is there in the same request (`failUnlessApplied` of `history-reverts.ts`), since
 * no check can run between the statements of one request, and a failed check is reported as the
 * usual path reports it: `HISTORY_ROW_MISSING` as the cause of the migration's failure.
 */
import { HistoryRowMissingError } from "./errors.js";
import type { ExecutorBase } from "./executor-base.js";
import { failUnlessApplied } from "./history-reverts.js";
import { collectWrites, rollbackQuietly, SCRIPT_ELAPSED_MS, scriptWithHistory, type Step } from "./step.js";
import type { MigrationDirection, MigrationRegistry } from "./types.js";

/**
 * A history store that can tell `failUnlessApplied`'s refusal from any other failure (PostgreSQL's
 * reports the table and column it hit). Without it, a revert's missing row reads as its SQL's failure.
 */
export interface FailedRowCheckReader {
  isFailedRowCheck(error: unknown): boolean;
}

/**
 * Runs SQL migration `entry` in the open transaction with its history writes, for the caller to
 * commit; returns the duration the client saw, or `null` without doing anything when the
 * driver does not declare `scriptWithHistory` or the entry is not plain SQL (TypeScript, or foreign
 * keys switched off). A failure is rolled back and thrown as the migration's failure.
 */
export function* runScriptWithHistory<R extends MigrationRegistry>(executor: ExecutorBase<R>, entry: R[number], direction: MigrationDirection): Step<number | null> {
  if (!executor.settings.capabilities.scriptWithHistory || entry.kind !== "sql" || entry.disableForeignKeys) return null;
  executor.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
  const started = performance.now();
  try {
    yield* executor.refuseParentRebuild(entry, direction);
    const script = direction === "up" ? entry.upSql : entry.downSql;
    if (script === null) throw new Error("it has no down section");
    const check = direction === "up" ? [] : collectWrites(failUnlessApplied(executor.store, entry.version));
    const changes = yield* scriptWithHistory(script, [...check, ...collectWrites(executor.record(entry, direction, SCRIPT_ELAPSED_MS))]);
    // The history writes again, over the rows each changed: a row a trigger or rule discarded fails
    // here, before the COMMIT, as it fails on the usual path.
    collectWrites(executor.record(entry, direction, SCRIPT_ELAPSED_MS), changes.slice(check.length));
  } catch (cause) {
    yield* rollbackQuietly();
    const missing = direction === "down" && (executor.store as Partial<FailedRowCheckReader>).isFailedRowCheck?.(cause) === true;
    throw yield* executor.migrationFailed(
      entry,
      direction,
      missing ? new HistoryRowMissingError({ table: executor.store.tableName, version: entry.version, operation: "delete" }) : cause,
      true,
      "body",
    );
  }
  return performance.now() - started;
}

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
 * transaction the executor opened; the events and the errors are those of the usual path. The rows
 * each history write changed come back with the request, and are checked as the usual path checks
 * them, before the COMMIT: a revert whose DELETE found no row (its SQL removed it, or a trigger or
 * rule kept it) fails with `HISTORY_ROW_MISSING` as the cause, and is rolled back.
 */
import type { MigrationExecutor } from "./executor-types.js";
import { collectWrites, rollbackQuietly, SCRIPT_ELAPSED_MS, scriptWithHistory, type Step } from "./step.js";
import type { MigrationDirection, MigrationRegistry } from "./types.js";

/**
 * Runs SQL migration `entry` in the open transaction with its history writes, for the caller to
 * commit; returns the duration the client saw, or `null` without doing anything when the
 * driver does not declare `scriptWithHistory` or the entry is not plain SQL (TypeScript, or foreign
 * keys switched off). A failure is rolled back and thrown as the migration's failure.
 */
export function* runScriptWithHistory<R extends MigrationRegistry>(executor: MigrationExecutor<R>, entry: R[number], direction: MigrationDirection): Step<number | null> {
  if (!executor.settings.capabilities.scriptWithHistory || entry.kind !== "sql" || entry.disableForeignKeys) return null;
  executor.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
  const started = performance.now();
  try {
    yield* executor.refuseParentRebuild(entry, direction);
    const script = direction === "up" ? entry.upSql : entry.downSql;
    if (script === null) throw new Error("it has no down section");
    // The history guard's reading before the script, in the same request (see `postgres-history-guard.ts`).
    const capture = executor.historyGuard?.writes?.capture;
    const changes = yield* scriptWithHistory(script, collectWrites(executor.record(entry, direction, SCRIPT_ELAPSED_MS)), capture === undefined ? [] : [{ sql: capture, params: [] }]);
    // The history writes again, over the rows each changed: an INSERT a trigger or rule discarded, or
    // a DELETE that found no row, fails here, before the COMMIT, as it fails on the usual path.
    collectWrites(executor.record(entry, direction, SCRIPT_ELAPSED_MS), changes);
  } catch (cause) {
    yield* rollbackQuietly();
    throw yield* executor.migrationFailed(entry, direction, cause, true, "body");
  }
  return performance.now() - started;
}

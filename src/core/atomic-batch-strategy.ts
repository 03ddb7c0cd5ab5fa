/**
 * Applying a migration as one atomic batch with its history row, as a strategy (see
 * `executor-types.ts`): only a driver that declares `atomicBatch` (D1) passes it, so no other
 * entry's bundle holds it.
 */
import type { AtomicBatchStrategy, MigrationExecutor } from "./executor-types.js";
import type { AppliedStep } from "./options.js";
import { historyRowDiscarded, type HistoryStore } from "./history.js";
import { batch, collectWrites, type Step } from "./step.js";
import type { BatchStatement } from "./driver.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";

/** What the guard's failure names, so it reads as the discarded row and not as the migration's SQL. */
const DISCARDED = "stepwise-history-row-discarded";

/**
 * A statement that fails (a JSON path it cannot read names {@link DISCARDED}) unless `version`'s
 * history row is there after an `up`'s INSERT, or gone after a `down`'s DELETE: it follows that
 * write in the batch, so a trigger or rule that discarded it fails the whole batch before it commits.
 * A batch commits as a whole, so a row count read after it would come too late to keep the migration
 * out; and a check written as a history write would be discarded by the same trigger.
 */
function failUnlessRecorded(store: HistoryStore, version: number, direction: MigrationDirection): BatchStatement {
  return {
    sql: `SELECT json_extract('{}', CASE WHEN ${direction === "up" ? "" : "NOT "}EXISTS (SELECT 1 FROM ${store.quoted} WHERE version = ?) THEN '$' ELSE '${DISCARDED}' END)`,
    params: [version],
  };
}

/** The failure to report when the batch failed on {@link failUnlessRecorded}, else `cause`. */
function discardedRowError(store: HistoryStore, version: number, direction: MigrationDirection, cause: unknown): unknown {
  if (!String((cause as { message?: unknown } | null)?.message).includes(DISCARDED)) return cause;
  return historyRowDiscarded(store, version, direction === "up" ? "insert" : "delete");
}

/**
 * Applies one SQL migration as one atomic batch (capability `atomicBatch`, D1): its history row
 * first (a revert: a statement that fails unless the row is there, then its removal), then its
 * statements. The row comes first so that two processes applying the same
 * migration at once collide on the history's primary key before either's statements count: the
 * loser's whole batch fails, and finding the row there then means "applied elsewhere", not a
 * failure. Returns `null` in that case, so the caller plans again. The row records no duration
 * (`null`): it is written before the statements run.
 */
function* applyAsBatch(executor: MigrationExecutor, entry: MigrationEntry, direction: MigrationDirection): Step<AppliedStep | null> {
  executor.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
  const started = performance.now();
  if (entry.kind !== "sql") executor.refuseUnsupportedMigrations([entry], direction);
  const script = entry.kind === "sql" ? (direction === "up" ? entry.upSql : entry.downSql) : null;
  if (script === null) throw yield* executor.migrationFailed(entry, direction, new Error("it has no down section"), true, "body");
  try {
    yield* executor.refuseParentRebuild(entry, direction);
  } catch (cause) {
    throw yield* executor.migrationFailed(entry, direction, cause, true, "body");
  }
  try {
    const history = direction === "up" ? [] : collectWrites(executor.store.failUnlessApplied(entry.version));
    // The history guard's triggers, made after stepwise's own writes and dropped after the script, inside the batch.
    const guarded = executor.historyGuard?.wrapBatch ? yield* executor.historyGuard.wrapBatch(entry, direction, script) : null;
    yield* batch(
      [...history, ...collectWrites(executor.record(entry, direction, null)), failUnlessRecorded(executor.store, entry.version, direction), ...(guarded?.before ?? [])],
      guarded?.script ?? script,
    );
  } catch (cause) {
    const keys = yield* executor.store.readKeys();
    const present = keys.some((key) => key.version === entry.version && key.startedAt === null);
    if (present === (direction === "up")) return null;
    throw yield* executor.migrationFailed(entry, direction, discardedRowError(executor.store, entry.version, direction, cause), true, "body");
  }
  yield* executor.commitTranslated();
  const durationMs = performance.now() - started;
  executor.emit({ type: "migrated", direction, version: entry.version, name: entry.name, durationMs });
  return { version: entry.version, name: entry.name, durationMs };
}

/** One batch per migration, for a driver that declares `atomicBatch`. */
export const ATOMIC_BATCH: AtomicBatchStrategy = applyAsBatch;

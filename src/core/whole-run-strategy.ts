/**
 * `up({ transaction: "all" })` and `down({ transaction: "all" })` as a strategy (see
 * `executor-types.ts`): the whole plan, in either direction, in one transaction. An entry whose
 * driver refuses it (D1, where one batch per migration is the only atomic unit) does not pass it, so
 * its bundle holds neither this loop nor the whole-run refusal.
 */
import { commitRecordedMigration, recordInOpenTransaction, runBodyInOpenTransaction } from "./apply-in-transaction.js";
import type { MigrationExecutor, Replan, RunGuard, WholeRunStrategy } from "./executor-types.js";
import type { AppliedStep, MigrationResult } from "./options.js";
import type { MigrationPlan } from "./planner.js";
import { changeCounter, rollbackQuietly, type Step } from "./step.js";
import type { MigrationRegistry } from "./types.js";
import { refuseWholeRunObstacles } from "./whole-run-transaction.js";
import { scriptOf } from "./sql-location.js";

/**
 * Runs the whole plan in one transaction. The history is re-read under the write lock, so another
 * connection's progress is honoured; the refusal is checked again on that fresh plan.
 */
function* runWholePlan<R extends MigrationRegistry>(executor: MigrationExecutor<R>, plan: MigrationPlan<R[number]>, replan: Replan<R[number]>): Step<MigrationResult> {
  const direction = plan.direction;
  yield* refuseWholeRunObstacles(executor, plan.steps, direction);
  if (plan.steps.length === 0) {
    executor.emit({ type: "nothing-pending", direction, currentVersion: plan.fromVersion });
    return { direction, fromVersion: plan.fromVersion, toVersion: plan.toVersion, steps: [] };
  }
  const ran: AppliedStep[] = [];
  // Read again inside the transaction: another connection may have migrated since planning.
  let fresh: typeof plan;
  const before = yield* executor.dialect.snapshotConnectionSettings();
  let failed = true;
  let guard: RunGuard | null = null;
  const historyGuard = executor.startHistoryGuard();
  try {
    try {
      guard = yield* executor.createRunGuard();
      yield* executor.beginImmediate();
      const start = yield* executor.dialect.readTransactionStart(yield* changeCounter());
      if (direction === "up") yield* executor.refuseUnmanagedDatabase();
      yield* executor.store.ensure();
      fresh = replan(yield* executor.store.readKeys());
      yield* refuseWholeRunObstacles(executor, fresh.steps, direction);
      executor.emitSkipped(direction, plan.steps, fresh.steps);
      const token = yield* executor.dialect.markCommitWitness(guard.witness);
      for (const entry of fresh.steps) {
        const escapeGuard = executor.needsGuard(entry, direction) ? { guard, start, token } : null;
        let durationMs = yield* executor.applyAsOneRequest(entry, direction, escapeGuard);
        if (durationMs === null) {
          durationMs = yield* runBodyInOpenTransaction(executor, entry, direction, escapeGuard);
          // Sets user_version at every step: only the final value is committed, unless a later
          // migration commits by itself, and then the rows it commits agree with user_version.
          yield* recordInOpenTransaction(executor, entry, direction, durationMs);
        }
        ran.push({ version: entry.version, name: entry.name, durationMs });
      }
      const last = fresh.steps[fresh.steps.length - 1];
      if (last) yield* commitRecordedMigration(executor, last, direction);
      else yield* executor.commitTranslated();
    } catch (error) {
      yield* rollbackQuietly();
      // The migrations before it in this run, rolled back with it, are applied again first where they are SQL.
      const before = ran.map((step) => fresh.steps.find((entry) => entry.version === step.version)!);
      throw before.every((entry) => entry.kind === "sql")
        ? yield* executor.locateFailedStatement(
            error,
            before.map((entry) => scriptOf(entry, direction) ?? ""),
          )
        : error;
    }
    failed = false;
  } finally {
    yield* executor.restoreSettingsAfterRun(before, failed);
    if (guard) yield* executor.dialect.dropCommitWitness(guard.witness);
    yield* executor.endHistoryGuard(historyGuard);
  }
  for (const step of ran) executor.emit({ type: "migrated", direction, ...step });
  if (ran.length === 0) executor.emit({ type: "nothing-pending", direction, currentVersion: fresh.fromVersion });
  return { direction, fromVersion: plan.fromVersion, toVersion: fresh.toVersion, steps: ran };
}

/** `up` and `down` with `transaction: "all"`, for every driver that can hold a whole run in one transaction. */
export const WHOLE_RUN: WholeRunStrategy = runWholePlan;

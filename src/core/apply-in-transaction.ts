/**
 * Applying one migration inside the transaction the executor opened, as a strategy (see
 * `executor-types.ts`): run its body (under the escape guard where the driver has savepoints),
 * check what it left, write its history row, commit. A driver that applies each migration as one
 * batch instead (D1) does not pass it, so its bundle holds none of this. The whole run
 * (`whole-run-strategy.ts`) runs its migrations through the same steps.
 */
import type { EscapedCommit, StepwiseError } from "./errors.js";
import type { EscapeGuard, InTransactionStrategy, MigrationExecutor, RunGuard } from "./executor-types.js";
import type { AppliedStep } from "./options.js";
import { commit, query, rollbackQuietly, type Step } from "./step.js";
import { openBodySavepoint, type TransactionStart } from "./transaction-guard.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import { foreignKeyViolationError, isConnectionClosedError } from "./error-factories.js";

/** Runs one migration inside the already-open transaction, records it, and commits. */
function* runInTransaction(
  executor: MigrationExecutor,
  entry: MigrationEntry,
  direction: MigrationDirection,
  guarded: { readonly guard: RunGuard; readonly start: TransactionStart } | null,
): Step<AppliedStep> {
  // Where the dialect applies a script with its history writes as one request (PostgreSQL), that; else the body, then its row.
  let durationMs = yield* executor.applyAsOneRequest(entry, direction, guarded);
  if (durationMs === null) {
    const escapeGuard = guarded && { ...guarded, token: yield* executor.dialect.markCommitWitness(guarded.guard.witness) };
    durationMs = yield* runBodyInOpenTransaction(executor, entry, direction, escapeGuard);
    yield* recordInOpenTransaction(executor, entry, direction, durationMs);
  }
  yield* commitRecordedMigration(executor, entry, direction);
  executor.emit({ type: "migrated", direction, version: entry.version, name: entry.name, durationMs });
  return { version: entry.version, name: entry.name, durationMs };
}

/** One migration in the transaction the executor opened, for every driver with transactions. */
export const IN_TRANSACTION: InTransactionStrategy = runInTransaction;

/**
 * Runs one migration's body inside the already-open transaction (its commit witness in `guard`
 * marked with `token`) and checks what it left behind: our transaction still open (see
 * `transaction-guard.ts`) and, with foreign keys switched off, no dangling references. Throws the
 * failure already mapped to a stepwise error; the caller rolls back. Returns the body's duration.
 */
export function* runBodyInOpenTransaction(executor: MigrationExecutor, entry: MigrationEntry, direction: MigrationDirection, escapeGuard: EscapeGuard | null): Step<number> {
  executor.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
  const started = performance.now();
  const changesBeforeBody = escapeGuard && (yield* executor.dialect.readTotalChanges());
  const savepoint = escapeGuard && (yield* openBodySavepoint(escapeGuard.guard.savepoint));
  let failure: { readonly cause: unknown } | null = null;
  try {
    yield* executor.refuseParentRebuild(entry, direction);
    yield* executor.runGuardedBody(entry, direction, true);
  } catch (cause) {
    failure = { cause };
  }
  // The connection is gone: no savepoint to release, nothing to judge or roll back through it.
  if (failure && isConnectionClosedError(failure.cause)) throw failure.cause;
  if (escapeGuard && !(yield* executor.dialect.releaseBodySavepoint(savepoint!, escapeGuard.start))) {
    throw yield* escapedOrFailed(executor, entry, direction, failure, executor.dialect.judgeEscapedCommit(escapeGuard.guard.witness, escapeGuard.token, escapeGuard.start, changesBeforeBody!));
  }
  // Unguarded SQL cannot have ended the transaction without failing; if SQLite rolled it back for
  // the failure (a full disk), the caller's rollback finds nothing to undo, and the report is the same.
  if (failure) throw yield* executor.migrationFailed(entry, direction, failure.cause, true, "body");
  try {
    if (entry.disableForeignKeys) yield* assertNoForeignKeyViolations(entry, direction);
  } catch (cause) {
    throw yield* executor.migrationFailed(entry, direction, cause, true);
  }
  return performance.now() - started;
}

/**
 * The error for a body after which our savepoint is gone: the guard's verdict, or the body's own
 * failure when SQLite rolled the transaction back itself.
 */
function* escapedOrFailed(
  executor: MigrationExecutor,
  entry: MigrationEntry,
  direction: MigrationDirection,
  failure: { readonly cause: unknown } | null,
  judgeCommitted: Step<EscapedCommit>,
): Step<StepwiseError> {
  const escaped = yield* executor.strategies.escapeGuard!.judgeEscape(entry, direction, failure, judgeCommitted, (error) => executor.sqliteCodeOf(error));
  return escaped ?? (yield* executor.migrationFailed(entry, direction, failure!.cause, true, "body"));
}

/**
 * Writes `entry`'s history row inside the open transaction. A failure here (the history insert
 * meeting a full disk) is the migration's failure and names it; the caller rolls back.
 */
export function* recordInOpenTransaction(executor: MigrationExecutor, entry: MigrationEntry, direction: MigrationDirection, durationMs: number): Step<void> {
  try {
    yield* executor.record(entry, direction, durationMs);
  } catch (cause) {
    throw yield* executor.migrationFailed(entry, direction, cause, true);
  }
}

/**
 * Commits a transaction that ran `entry` (the last of a whole run). A failure here (a full disk
 * when the pages are written, a deferred foreign key) is the migration's failure and names it; the
 * transaction is rolled back first, so the error's "rolled back" is true.
 */
export function* commitRecordedMigration(executor: MigrationExecutor, entry: MigrationEntry, direction: MigrationDirection): Step<void> {
  try {
    yield* commit();
  } catch (cause) {
    yield* rollbackQuietly();
    throw yield* executor.migrationFailed(entry, direction, cause, true, "commit");
  }
}

function* assertNoForeignKeyViolations(entry: MigrationEntry, direction: MigrationDirection): Step<void> {
  const violations = yield* query<{ table: string; rowid: number | null; parent: string }>("PRAGMA foreign_key_check");
  if (violations.length > 0) {
    throw foreignKeyViolationError({
      version: entry.version,
      file: entry.file,
      direction,
      violations: violations.map((v) => ({ table: v.table, rowid: v.rowid, parent: v.parent })),
    });
  }
}

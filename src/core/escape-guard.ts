/**
 * The transaction-escape guard as a strategy the executor is given, not one it imports: which
 * migrations run under it, and the verdict on a body after which stepwise's savepoint is gone (see
 * `transaction-guard.ts` for the markers). A storage without savepoints refuses every statement that
 * could end the transaction, so it needs no guard, and an executor built without this one (`migrate`
 * on Durable Objects and D1) bundles none of it. {@link Executor} always carries it.
 */
import type { EscapedCommit, StepwiseError } from "./errors.js";
import { inTransaction, rollbackQuietly, type Step } from "./step.js";
import { bodySavepointName, isAutomaticRollbackError } from "./transaction-guard.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import { transactionEscapedError } from "./error-factories.js";

/** What the executor asks of the guard; see the module note. */
export interface EscapeGuardStrategy {
  /** A fresh name for the savepoint that brackets a body, unguessable by a migration (once per run). */
  savepointName(): string;
  /** Whether `entry` may end the transaction it runs in, so it runs under the guard. */
  needsGuard(entry: MigrationEntry, direction: MigrationDirection): boolean;
  /**
   * The verdict on a body after which our savepoint is gone: the `TRANSACTION_ESCAPED`, or
   * `null` when SQLite rolled the transaction back itself (disk full, I/O error) and the body's own
   * failure is what to report. Rolls back first, because only then does the commit witness tell
   * whether the migration committed anything.
   *
   * @param sqliteCodeOf reads a failure's `SQLITE_*` code through the driver.
   */
  judgeEscape(
    entry: MigrationEntry,
    direction: MigrationDirection,
    failure: { readonly cause: unknown } | null,
    judgeCommitted: Step<EscapedCommit>,
    sqliteCodeOf: (error: unknown) => string | null,
  ): Step<StepwiseError<"TRANSACTION_ESCAPED"> | null>;
}

/** The guard every driver with savepoints runs under. */
export const ESCAPE_GUARD: EscapeGuardStrategy = {
  savepointName: bodySavepointName,
  needsGuard: needsEscapeGuard,
  judgeEscape: function* (entry, direction, failure, judgeCommitted, sqliteCodeOf) {
    // Our savepoint is gone yet a transaction is open: the migration began a new one after ending ours.
    const replacedTransaction = yield* inTransaction();
    yield* rollbackQuietly();
    const committed = yield* judgeCommitted;
    // Rows it wrote count as "unknown" above, but after an error of this kind SQLite's own rollback is
    // the likely reason our savepoint is gone; only a proven commit outweighs that.
    if (failure && committed !== "yes" && !replacedTransaction && isAutomaticRollbackError(sqliteCodeOf(failure.cause))) {
      // SQLite rolled the transaction back itself: the migration ended nothing.
      return null;
    }
    return transactionEscapedError({ version: entry.version, file: entry.file, direction, committed, ...(failure ? { cause: failure.cause } : {}) });
  },
};

/**
 * Every keyword that starts a statement able to end or replace a transaction: `BEGIN`, `COMMIT`,
 * `END`, `ROLLBACK`, and `SAVEPOINT`/`RELEASE`, whose outermost use begins or commits one; and
 * PostgreSQL's own spellings, `ABORT` (a rollback), `START TRANSACTION` and `PREPARE TRANSACTION`
 * (which ends the session's transaction, handing it to two-phase commit). On SQLite those three are
 * never statements (`ON CONFLICT ABORT` is a clause), so there they only cost a false match.
 *
 * Deliberately cruder than a tokenizer: it matches inside strings, comments and identifiers too
 * (`CASE ... END`, a trigger's `BEGIN ... END`, a column named `release`). Each such false match costs the
 * migration only the guard, never a missed escape. It cannot miss a real keyword: SQLite spells
 * keywords in ASCII letters only, ends them at the first character that cannot continue an
 * identifier, and every character `\b` treats as part of a word ([A-Za-z0-9_]) is one that continues
 * an identifier in SQLite too.
 */
export const TRANSACTION_KEYWORD = /\b(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|ABORT|START|PREPARE)\b/i;

/** Whether `sql` may contain a statement that ends the transaction it runs in. */
export function sqlMayEndTransaction(sql: string): boolean {
  return TRANSACTION_KEYWORD.test(sql);
}

/**
 * Whether running `entry` in `direction` needs the escape guard: always for TypeScript (its code can
 * do anything with the connection), and for SQL whose text names a transaction-control keyword. SQL
 * can end its transaction only by such a statement or by a failure that makes SQLite roll back, which
 * surfaces as an error either way; so SQL naming no keyword skips the guard's markers.
 */
export function needsEscapeGuard(entry: MigrationEntry, direction: MigrationDirection): boolean {
  if (entry.kind !== "sql") return true;
  const sql = direction === "up" ? entry.upSql : entry.downSql;
  // No down section: the body fails before running anything, which needs no guard either.
  return sql !== null && sqlMayEndTransaction(sql);
}

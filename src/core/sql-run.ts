/**
 * A run of consecutive SQL migrations that cannot end the transaction they run in, applied by one
 * loop. Each still gets its own transaction, exactly as `apply-in-transaction.ts` gives it:
 * `BEGIN IMMEDIATE`, the change counter (re-planning when another connection committed), the
 * script, the prepared history `INSERT`, the `user_version` mirror, `COMMIT`, and the same events and
 * errors. What the loop saves is the JavaScript around those calls: the executor's outer loop, the
 * strategy's generator levels and their operation objects, per migration. The loop is a step like
 * any other, so the sync and the async runner both drive this one copy of it.
 *
 * TypeScript migrations join the run once the run's escape-guard markers exist (`transaction-guard.ts`;
 * the executor makes them outside any transaction, before the `BEGIN` of the first migration that
 * needs them): each runs under the same guard the strategy gives it, through the same
 * `runBodyInOpenTransaction`, so its events, its errors and the escape verdict are the strategy's
 * own; only the executor's loop and the strategy's levels around it are saved.
 *
 * Only the entries of the file drivers carry it (`dialects/sqlite-file.ts`), where `npm run
 * bench` holds a fresh apply to the hand-written loop; the others apply the same migrations through
 * the strategy, so their budgeted bundles hold none of this.
 */
import { commitRecordedMigration, recordInOpenTransaction, runBodyInOpenTransaction } from "./apply-in-transaction.js";
import type { StepwiseError } from "./errors.js";
import type { MigrationExecutor, RunGuard } from "./executor-types.js";
import { DROP_OR_RENAME } from "./foreign-key-rebuild.js";
import type { AppliedStep } from "./options.js";
import { driveDirectly, rollbackQuietly, type Operation, type Step } from "./step.js";
import { TRANSACTION_KEYWORD } from "./transaction-control.js";
import type { TransactionStart } from "./transaction-guard.js";
import type { MigrationEntry } from "./types.js";

/*
 * The operations without arguments, made once: the runner only reads an operation, and the loop
 * yields these for every migration, so a new object each time would be garbage for nothing.
 */
const BEGIN_IMMEDIATE: Operation = { op: "begin", mode: "immediate" };
const CHANGE_COUNTER: Operation = { op: "changeCounter" };
const COMMIT: Operation = { op: "commit" };
const ROLLBACK: Operation = { op: "rollback" };

/** The alternatives of a `\b(?:...)\b` pattern; throws when it is no longer written so. */
function wordsOf(pattern: RegExp): string {
  return /^\\b\(\?:(.*)\)\\b$/.exec(pattern.source)![1]!;
}

/**
 * The escape guard's keywords (`transaction-control.ts`) and those of the foreign-key parent check
 * (`foreign-key-rebuild.ts`) in one pattern, so each migration's text is scanned once: a match sends
 * the migration to the strategy, which runs the guard and the check as it always does. One group of
 * alternatives between one pair of word boundaries matches what the two patterns side by side match,
 * and V8 scans a text with it in about half the time (0.9 against 1.8 us for a workload migration).
 */
const NEEDS_STRATEGY = new RegExp(`\\b(?:${wordsOf(TRANSACTION_KEYWORD)}|${wordsOf(DROP_OR_RENAME)})\\b`, "i");

/** What {@link fitOf} answers for a TypeScript migration the loop runs under the guard: no text can equal it. */
const GUARDED: unique symbol = Symbol("guarded");

/**
 * How {@link applySqlRun} applies `entry`: its up SQL for a SQL migration in a transaction of its own,
 * with foreign keys as the connection has them, whose text names no transaction-control keyword (so
 * it needs no escape guard) and no `DROP` or `RENAME` (so no table a foreign key still references can
 * go), read once, since a generated registry's accessor looks it up; {@link GUARDED} for a TypeScript
 * one of the same kind once the run's guard markers exist (`guard`), on a driver with savepoints;
 * `null` for anything else, which the executor applies itself.
 */
function fitOf(entry: MigrationEntry | undefined, guard: RunGuard | null, savepoints: boolean): string | typeof GUARDED | null {
  if (entry === undefined || !entry.transaction || entry.disableForeignKeys) return null;
  if (entry.kind === "sql") {
    const upSql = entry.upSql;
    return NEEDS_STRATEGY.test(upSql) ? null : upSql;
  }
  return guard !== null && savepoints ? GUARDED : null;
}

/**
 * Applies `queue[from]` in the transaction the executor opened for it (the change counter read there
 * was `counter`), then each following entry that fits the run, each in its own transaction, appending
 * what it applied to `ran`. Returns the index of the first entry it did not apply, with no
 * transaction open: the executor goes on from there. When another connection committed since the
 * plan, the loop stops before writing anything, so the executor's next transaction reads the counter
 * again and re-plans.
 *
 * @param guard the run's escape-guard markers, or `null` before they exist (TypeScript migrations then
 *   stop the loop).
 * @param start what the executor read of its transaction's start (`transaction-guard.ts`): the guard's
 *   reference for `queue[from]` when that runs under it; later transactions read their own.
 * @returns `from` when `queue[from]` does not fit: the executor applies it itself.
 */
export function* applySqlRun(
  executor: MigrationExecutor,
  queue: readonly MigrationEntry[],
  from: number,
  counter: number | null,
  ran: AppliedStep[],
  guard: RunGuard | null = null,
  start: TransactionStart | null = null,
): Step<number> {
  const fit = fitOf(queue[from], guard, executor.settings.capabilities.savepoints);
  if (executor.settings.capabilities.atomicBatch || fit === null || (fit === GUARDED && start === null)) return from;
  // Driven by the runner itself, so its operations pass no generator level of the executor's.
  return yield* driveDirectly(sqlRun(executor, queue, from, counter, ran, guard, start));
}

function* sqlRun(
  executor: MigrationExecutor,
  queue: readonly MigrationEntry[],
  from: number,
  counter: number | null,
  ran: AppliedStep[],
  guard: RunGuard | null,
  firstStart: TransactionStart | null,
): Step<number> {
  const settings = executor.settings;
  // Without a listener no event object is built; a logger or `onEvent` gets each, as the strategy sends them.
  const listening = settings.onEvent !== undefined || settings.logger !== null;
  const mirror = settings.capabilities.userVersion;
  const savepoints = settings.capabilities.savepoints;
  const store = executor.store;
  const historyGuard = executor.historyGuard;
  let next = from;
  // Never past the end: an out-of-bounds read would throw V8's compiled loop away at the end of every
  // run. What a SQL migration rarely needs (the guard, a failure) lives in the functions below, so
  // this loop stays small for the engine to compile.
  while (next < queue.length) {
    const entry = queue[next]!;
    const upSql = fitOf(entry, guard, savepoints);
    if (upSql === null) break;
    if (next !== from) {
      // A driver without a counter re-reads the history in every transaction: the executor's loop does that.
      if (counter === null) break;
      try {
        yield BEGIN_IMMEDIATE;
      } catch (error) {
        throw executor.translateError(error);
      }
      if ((yield CHANGE_COUNTER) !== counter) {
        // Another connection committed: nothing is written yet, so end this transaction and let the
        // executor open the next one, where it sees the counter moved and plans again.
        yield ROLLBACK;
        break;
      }
    }
    if (upSql === GUARDED) {
      ran.push(yield* applyGuarded(executor, entry, counter, guard!, next === from ? firstStart! : null));
      next++;
      continue;
    }
    // Each field read once: a generated registry's name is an accessor that looks it up.
    const version = entry.version;
    const name = entry.name;
    if (listening) executor.emit({ type: "migrating", direction: "up", version, name });
    let stage: FailureStage = "body";
    let durationMs: number;
    try {
      const started = performance.now();
      const guarded = historyGuard !== null && (yield* historyGuard.enter(entry, "up", true, upSql));
      yield execOperation(upSql);
      if (guarded) yield* historyGuard.leave(entry, "up", true);
      durationMs = performance.now() - started;
      stage = "history";
      yield* store.insertApplied({ version, name, checksum: entry.checksum, appliedAt: new Date().toISOString(), durationMs: Math.round(durationMs) });
      if (mirror) yield execOperation(`PRAGMA user_version = ${Math.trunc(version)}`);
      stage = "commit";
      yield COMMIT;
    } catch (cause) {
      throw yield* failedInRun(executor, entry, cause, stage);
    }
    if (listening) executor.emit({ type: "migrated", direction: "up", version, name, durationMs });
    ran.push({ version, name, durationMs });
    next++;
  }
  return next;
}

/** Which of a SQL migration's steps failed: its script, its history writes, or the `COMMIT`. */
type FailureStage = "body" | "history" | "commit";

/**
 * The error for a SQL migration of the run that failed at `stage`, as the strategy reports it: the
 * script's own failure is the body's; a failed `COMMIT` is rolled back first. Either way the
 * transaction is rolled back (here or by the executor) and the error says so.
 */
function* failedInRun(executor: MigrationExecutor, entry: MigrationEntry, cause: unknown, stage: FailureStage): Step<StepwiseError> {
  if (stage === "commit") yield* rollbackQuietly();
  return yield* executor.migrationFailed(entry, "up", cause, true, stage === "body" ? "body" : "stepwise");
}

/**
 * A TypeScript migration of the run, in the transaction just opened for it, through the strategy's
 * own steps, so the guard, its verdict, the events and the errors are its own.
 *
 * @param start what the executor read of the transaction's start, for the run's first migration;
 *   `null` to read it here, before anything is written in this transaction.
 */
function* applyGuarded(executor: MigrationExecutor, entry: MigrationEntry, counter: number | null, guard: RunGuard, start: TransactionStart | null): Step<AppliedStep> {
  const dialect = executor.dialect;
  const escapeGuard = { guard, start: start ?? (yield* dialect.readTransactionStart(counter)), token: yield* dialect.markCommitWitness(guard.witness) };
  const durationMs = yield* runBodyInOpenTransaction(executor, entry, "up", escapeGuard);
  yield* recordInOpenTransaction(executor, entry, "up", durationMs);
  yield* commitRecordedMigration(executor, entry, "up");
  const { version, name } = entry;
  executor.emit({ type: "migrated", direction: "up", version, name, durationMs });
  return { version, name, durationMs };
}

/** A statement without bound values, as the operation that runs it. */
function execOperation(sql: string): Operation {
  return { op: "exec", sql };
}

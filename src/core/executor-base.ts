/**
 * The migration algorithm, written once for every driver as generator functions that yield
 * operations (see `step.ts`) and never touch a connection themselves. A runner (`runners.ts`)
 * performs them, synchronously or by awaiting each.
 *
 * For each step: take the write lock (`BEGIN IMMEDIATE`, waiting up to the busy timeout), check
 * whether another connection committed since the plan was made (the driver's change counter, SQLite's
 * `data_version`; a driver without one re-reads every time) and re-plan from the history if so, run
 * the migration, record it, commit. A migration and its history row therefore commit together or not
 * at all, and several processes migrating one database apply each migration exactly once.
 */
import { refuseOpenTransaction } from "./transaction-open.js";
import { StepwiseError } from "./errors.js";
import { toPlainError } from "./error-factories.js";
import { createProgressReporter } from "./progress.js";
import { setUserVersion, type HistoryStore } from "./history.js";
import { assessMigrationOwner, currentMigrationOwner, parseMigrationOwner, serializeMigrationOwner } from "./migration-owner.js";
import type { ConnectionSettingsSnapshot } from "./connection-settings.js";
import { GUARD_TABLE_PREFIX, type TransactionStart } from "./transaction-guard.js";
import type { Dialect, ExecutorSettings, ExecutorStrategies, FailureOrigin, MigrationExecutor, Replan, RunGuard } from "./executor-types.js";
import { HISTORY_GUARD_MARK, type HistoryGuard } from "./history-guard.js";
import { locateByRerun, locateFromFailure, recordFailedStatement, scriptOf } from "./sql-location.js";
import { kindOfSqliteCode } from "./error-factories.js";
import { classifySafely } from "./error-factories.js";
import { readForeignKeyRebuildHint, ReferencingTables, refuseParentRebuild } from "./foreign-key-rebuild.js";
import { isInstanceSafely } from "./error-factories.js";
import { describeStatus, planDown, planUp, type AppliedMigration, type AppliedMigrationKey, type MigrationPlan, type MigrationStatus } from "./planner.js";
import type { SchemaObject, SchemaObjectKind } from "./schema-objects.js";
import { describeEvent, type MigrationEvent } from "./events.js";
import { type OwnerLockHandle, driverCapabilityError } from "./driver.js";
import { begin, changeCounter, commit, exec, inTransaction, lockHolders, query, queryValue, rollbackQuietly, sleep, type Step } from "./step.js";
import type { SCRIPT_ELAPSED_MS } from "./step.js";
import type { MigrationDirection, MigrationEntry, MigrationRegistry } from "./types.js";
import { DEFAULT_TRANSACTION_MODE, type AppliedStep, type DownOptions, type MigrationResult, type TransactionMode, type UpOptions } from "./options.js";
import {
  migrationFailedError,
  diskFullError,
  historyChangedByMigrationError,
  migrationInProgressError,
  databaseLockedError,
  unmanagedDatabaseError,
  isConnectionClosedError,
  withLocation,
} from "./error-factories.js";

/** The progress callback of a body that cannot report any. */
const ignoreProgress = (): void => undefined;

/** A statement that begins, ends or nests a transaction. */
const TRANSACTION_CONTROL = /^(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|START|ABORT|PREPARE)\b/i;

/** How often a process waiting for another's `transaction: false` migration looks again. */
const WAIT_POLL_MS = 25;

/** The order `reset` drops objects in: those that name a table before the table itself. */
const DROP_ORDER: Readonly<Record<SchemaObjectKind, number>> = { trigger: 0, view: 1, index: 2, table: 3 };

/** What one `up` or `down` call has done so far, kept across the re-plans after a wait. */
export interface Progress {
  readonly ran: AppliedStep[];
  fromVersion: number | null;
}

/** Where {@link ExecutorBase.executeSteps} is in its plan, which a re-plan may replace. */
interface Walk<E> {
  queue: readonly E[];
  next: number;
  toVersion: number;
  /** The change counter the plan was made at. */
  knownCounter: number | null;
  /** Whether the history table was made sure of (in the first transaction). */
  ensured: boolean;
  /** Set when another process applied the entry about to run (a batch refused by the history key). */
  stale: boolean;
}

/** The run's guard, made the first time a migration needs it. */
interface LazyRunGuard {
  current: RunGuard | null;
}

/**
 * The algorithm over one registry and one history table: `up` and `down` over one loop (`execute`),
 * `reset`, `status` and `history`. Every public method returns a {@link Step} for a runner; none
 * performs I/O itself. {@link Executor} (`executor.ts`) picks its strategies and dialect. The steps that are public
 * without being documented as API (`createRunGuard`, `runBodyInOpenTransaction`, `migrationFailed`...)
 * are so for the strategies (`executor-types.ts`), which drive the same loop from their own files.
 */
export class ExecutorBase<R extends MigrationRegistry = MigrationRegistry> implements MigrationExecutor<R> {
  readonly migrations: R;
  readonly settings: ExecutorSettings;
  readonly store: HistoryStore;
  /** The SQL dialect's answers (see `executor-types.ts`). */
  readonly dialect: Dialect;
  /** The strategies the driver's capabilities reach (see `executor-types.ts`). */
  readonly strategies: ExecutorStrategies;
  /**
   * The history table's guard while a run applies migrations (`history-guard.ts`), `null` outside
   * a run and where the dialect has none. Set by {@link withHistoryGuard}.
   */
  historyGuard: HistoryGuard | null = null;
  /** The tables that may reference another, as this run's checks read them (`foreign-key-rebuild.ts`). */
  protected readonly referencingTables = new ReferencingTables();

  /**
   * @param dialect `settings.dialect` when it names one, else the driver's default, chosen by the
   *   caller: {@link Executor} picks SQLite's, so this file imports no dialect and a Cloudflare bundle
   *   holds only the one its driver passes.
   * @param strategies what the driver can use of the escape guard, a migration in the open
   *   transaction, the whole run and the atomic batch (`executor-types.ts`); {@link Executor}
   *   passes them all.
   * @throws TypeError when the driver's capabilities need a strategy it was not given: its migrations
   *   would run unguarded, or a path it offers would be missing.
   */
  constructor(migrations: R, settings: ExecutorSettings, dialect: Dialect, strategies: ExecutorStrategies) {
    const { capabilities, driverName } = settings;
    if (strategies.escapeGuard === null && capabilities.savepoints) throw new TypeError(`The ${driverName} driver has savepoints, so its executor needs the escape guard.`);
    if (strategies.atomicBatch === null && capabilities.atomicBatch) throw new TypeError(`The ${driverName} driver applies migrations as batches, so its executor needs the atomic batch.`);
    if (strategies.inTransaction === null && !capabilities.atomicBatch) throw new TypeError(`The ${driverName} driver applies migrations in transactions, so its executor needs them.`);
    this.migrations = migrations;
    this.settings = settings;
    this.dialect = dialect;
    this.strategies = strategies;
    this.store = this.dialect.createHistoryStore(settings.tableName);
  }

  /** Applies pending migrations up to `options.to`; see `MigrationManager.up`. */
  *up(options: UpOptions = {}): Step<MigrationResult> {
    return yield* this.runPlan("up", options, (applied) => planUp(this.migrations as readonly R[number][], applied, { to: options.to }));
  }

  /** Reverts applied migrations; see `MigrationManager.down`. */
  *down(options: DownOptions = {}): Step<MigrationResult> {
    // `steps` counts from where the call started: every re-plan after the first (each migration, on
    // a driver without a change counter) aims at the version the first plan chose.
    let target: DownOptions = options;
    return yield* this.runPlan("down", options, (applied) => {
      const plan = planDown(this.migrations as readonly R[number][], applied, target);
      target = { to: plan.toVersion };
      return plan;
    });
  }

  /** `up` or `down` along `replan`: the whole run in one transaction (`transaction: "all"`), else one per migration. */
  private *runPlan(call: MigrationDirection, options: { readonly transaction?: TransactionMode }, replan: Replan<R[number]>): Step<MigrationResult> {
    yield* refuseOpenTransaction(this.settings.driverName, call);
    this.referencingTables.forget();
    const progress: Progress = { ran: [], fromVersion: null };
    const all = (options.transaction ?? DEFAULT_TRANSACTION_MODE) === "all";
    return yield* this.withConnectionSettings(
      this.waitWhileAnotherProcessMigrates(
        function* (this: ExecutorBase<R>): Step<MigrationResult> {
          const { plan, counter } = yield* this.planWithCounter(replan, !all);
          // The whole run's strategy reads the plan's direction.
          if (all) return yield* this.strategies.wholeRun(this, plan, replan);
          return yield* this.execute(plan, counter, replan, progress);
        }.bind(this),
      ),
    );
  }

  /**
   * Plans from the history and, when the plan has work and `wantCounter`, reads the change counter
   * and plans again: the counter must be read before the history the plan comes from, so a commit
   * by another connection in between forces a re-plan under the lock. A start with nothing to do, the
   * usual one, reads the history once and never the counter.
   */
  protected *planWithCounter(replan: Replan<R[number]>, wantCounter: boolean): Step<{ plan: MigrationPlan<R[number]>; counter: number | null }> {
    const plan = replan(yield* this.store.readKeys());
    if (plan.steps.length === 0 || !wantCounter) return { plan, counter: null };
    const counter = yield* changeCounter();
    return { plan: replan(yield* this.store.readKeys()), counter };
  }

  /** Throws `UNMANAGED_DATABASE` when the database has tables but no history table. */
  *refuseUnmanagedDatabase(): Step<void> {
    // One statement, so the history table and the user tables are seen in the same snapshot: another
    // process's first migration creates both in one commit.
    const tables = (yield* this.dialect.readSchemaObjects({ types: ["table"] })).map((object) => object.name);
    if (tables.some((name) => this.store.isNamed(name))) return;
    if (tables.length > 0) throw unmanagedDatabaseError(tables);
  }

  /**
   * Runs `step` with the busy timeout applied, translating SQLite's failures to typed errors, and
   * restores the caller's busy timeout afterwards. Safety nets wrap their own steps in it too.
   */
  *withConnectionSettings<T>(step: Step<T>): Step<T> {
    const wanted = Math.max(0, Math.trunc(this.settings.busyTimeoutMs));
    let previous: number;
    try {
      previous = (yield { op: "getBusyTimeout" }) as number;
    } catch (error) {
      throw this.translateError(error);
    }
    if (previous !== wanted) yield { op: "setBusyTimeout", ms: wanted };
    try {
      return yield* step;
    } catch (raw) {
      const error = this.translateError(raw);
      // SQLite does not say who holds the lock; the operating system sometimes does.
      if (error instanceof StepwiseError && error.is("DATABASE_LOCKED") && error.details.holders.length === 0 && this.settings.capabilities.lockHolders) {
        const holders = yield* lockHolders();
        if (holders.length > 0) throw databaseLockedError(error.details.busyTimeoutMs, error.cause, holders, error.details.waitedMs);
      }
      throw error;
    } finally {
      if (previous !== wanted) yield { op: "setBusyTimeout", ms: previous };
    }
  }

  /** Sends an event to `onEvent` and the logger. */
  emit(event: MigrationEvent): void {
    this.settings.onEvent?.(event);
    if (this.settings.logger) this.settings.logger.info(describeEvent(event));
  }

  /**
   * A `started` row owned by a live process means a `transaction: false` migration is running
   * elsewhere without holding the lock: wait for it (up to the busy timeout) and try `attempt` again,
   * rather than calling it interrupted. Only a row whose owner is gone is reported as incomplete.
   * `up`, `down` and `verifySchema` all wait through it.
   */
  *waitWhileAnotherProcessMigrates<T>(attempt: () => Step<T>): Step<T> {
    let waitingSince: number | null = null;
    const busyTimeoutMs = this.settings.busyTimeoutMs;
    for (;;) {
      try {
        return yield* attempt();
      } catch (error) {
        if (!(error instanceof StepwiseError && error.is("INCOMPLETE_MIGRATION"))) throw error;
        const { details } = error;
        const row = yield* this.store.readStartedRow(details.version);
        if (row === null) continue; // finished between our two reads: plan again
        const owner = parseMigrationOwner(row.owner);
        const liveness = yield* this.assessOwner(owner);
        if (liveness !== "alive" && liveness !== "unknown") {
          // The owner may have finished (and released its lock) between our read and the probe; only a
          // row still there, with the same owner, after the probe proves the attempt was abandoned.
          if ((yield* this.store.readStartedRow(details.version))?.owner !== row.owner) continue;
          throw error;
        }
        waitingSince ??= performance.now();
        const waitedMs = Math.round(performance.now() - waitingSince);
        if (waitedMs >= busyTimeoutMs) {
          throw migrationInProgressError({
            version: details.version,
            file: details.file,
            startedAt: details.startedAt,
            owner: owner && { pid: owner.pid, host: owner.host },
            waitedMs,
          });
        }
        yield* sleep(Math.min(WAIT_POLL_MS, busyTimeoutMs - waitedMs));
      }
    }
  }

  /** Whether a recorded owner still runs: its owner lock when the driver can probe it, else its pid. */
  *assessOwner(owner: ReturnType<typeof parseMigrationOwner>): Step<ReturnType<typeof assessMigrationOwner>> {
    if (owner?.lockFile && this.dialect.probeOwnerSession) return assessMigrationOwner(owner, yield* this.dialect.probeOwnerSession(owner.lockFile));
    const lock = owner?.lockFile && this.settings.capabilities.fileLocking ? ((yield { op: "probeOwnerLock", fileName: owner.lockFile }) as "held" | "free" | "unknown") : null;
    return assessMigrationOwner(owner, lock);
  }

  protected *execute(plan: MigrationPlan<R[number]>, plannedAtCounter: number | null, replan: Replan<R[number]>, progress: Progress): Step<MigrationResult> {
    const direction = plan.direction;
    progress.fromVersion ??= plan.fromVersion;
    if (plan.steps.length === 0) {
      this.emit({ type: "nothing-pending", direction, currentVersion: plan.fromVersion });
      return { direction, fromVersion: progress.fromVersion, toVersion: plan.toVersion, steps: progress.ran };
    }
    this.refuseUnsupportedMigrations(plan.steps, direction);
    // Put back every connection setting a migration changed (see RESTORED_CONNECTION_SETTINGS), on
    // success and on failure. Taken only when migrations run, so a no-op start pays nothing.
    const before = yield* this.dialect.snapshotConnectionSettings();
    let failed = true;
    // Made when the first migration that needs it is about to run (see `needsEscapeGuard` in `escape-guard.ts`): a
    // run of SQL that cannot end a transaction never creates the witness table.
    const guard: LazyRunGuard = { current: null };
    const historyGuard = this.startHistoryGuard();
    try {
      const result = yield* this.executeSteps(plan, plannedAtCounter, replan, progress, before, guard);
      failed = false;
      return result;
    } finally {
      yield* this.restoreSettingsAfterRun(before, failed);
      if (guard.current) yield* this.dialect.dropCommitWitness(guard.current.witness);
      yield* this.endHistoryGuard(historyGuard);
    }
  }

  /**
   * Makes the run's history guard (see `history-guard.ts`), where the dialect has one; its objects
   * are made when the first body runs. End it with {@link endHistoryGuard}, outside any transaction.
   */
  startHistoryGuard(): HistoryGuard | null {
    this.historyGuard = this.dialect.guardHistory?.(this.store) ?? null;
    return this.historyGuard;
  }

  /** Drops the run's history guard, if it made one. */
  *endHistoryGuard(historyGuard: HistoryGuard | null): Step<void> {
    if (this.historyGuard === historyGuard) this.historyGuard = null;
    if (historyGuard) yield* historyGuard.remove();
  }

  /**
   * Runs `entry`'s body with the history table guarded: its statements may not write it, and after it
   * the table must be as it was. `inTransaction` is false for a `transaction: false` migration.
   */
  *runGuardedBody(entry: R[number], direction: MigrationDirection, inTransaction: boolean): Step<void> {
    const historyGuard = this.historyGuard;
    const guarded = historyGuard !== null && (yield* historyGuard.enter(entry, direction, inTransaction));
    yield* this.runBody(entry, direction);
    if (guarded) yield* historyGuard.leave(entry, direction, inTransaction);
  }

  /**
   * Refuses, before anything runs, a plan holding a migration this driver cannot apply as promised:
   * one that needs foreign keys switched off where the storage cannot (Durable Objects, D1,
   * libsql-client), or, where a migration is applied as one batch (D1), a TypeScript one, whose code
   * cannot be made atomic there.
   */
  refuseUnsupportedMigrations(entries: readonly R[number][], direction: MigrationDirection): void {
    const { capabilities, driverName } = this.settings;
    const needsSwitch = capabilities.foreignKeySwitch ? undefined : entries.find((entry) => entry.disableForeignKeys);
    if (needsSwitch) {
      throw driverCapabilityError({
        driver: driverName,
        capability: "foreignKeySwitch",
        operation: "a disableForeignKeys migration",
        file: needsSwitch.file,
        fix: 'Remove "foreign_keys:off" (disableForeignKeys) and change the table in place (ALTER TABLE ... ADD, RENAME or DROP COLUMN), which keeps every reference to it; or rebuild the tables that reference it in the same migration after "PRAGMA defer_foreign_keys = ON", which checks references when the migration commits (ON DELETE actions still fire when a parent table is dropped).',
      });
    }
    const script = capabilities.atomicBatch ? entries.find((entry) => entry.transaction && entry.kind !== "sql") : undefined;
    if (script) {
      throw driverCapabilityError({
        driver: driverName,
        capability: "atomicBatch",
        operation: `a TypeScript migration (${direction})`,
        file: script.file,
        fix: "Its code cannot run inside the one batch that applies a migration with its history row; write it as a .sql migration.",
      });
    }
  }

  /** Whether `entry` runs under the escape guard: never where transaction-control SQL is refused outright (no savepoints). */
  needsGuard(entry: R[number], direction: MigrationDirection): boolean {
    return this.settings.capabilities.savepoints && this.strategies.escapeGuard!.needsGuard(entry, direction);
  }

  /**
   * The escape guard's markers for one run, made once: the witness table (outside any transaction)
   * and the body savepoint's name (empty where the executor has no escape guard: no body runs under a
   * savepoint there). Per run rather than per migration, since both only need to be unguessable by a
   * migration and distinct within this connection.
   */
  *createRunGuard(): Step<RunGuard> {
    try {
      return { witness: yield* this.dialect.createCommitWitness(), savepoint: this.strategies.escapeGuard?.savepointName() ?? "" };
    } catch (error) {
      throw this.translateError(error);
    }
  }

  *restoreSettingsAfterRun(before: ConnectionSettingsSnapshot, failed: boolean): Step<void> {
    // Settings only take effect outside a transaction; every path has ended its own by now.
    yield* rollbackQuietly();
    try {
      yield* this.dialect.restoreConnectionSettings(before);
    } catch (error) {
      // Never hide the migration's own failure behind a failure to tidy up after it.
      if (!failed) throw error;
    }
  }

  private *executeSteps(
    plan: MigrationPlan<R[number]>,
    plannedAtCounter: number | null,
    replan: Replan<R[number]>,
    progress: Progress,
    settingsBefore: ConnectionSettingsSnapshot,
    guard: LazyRunGuard,
  ): Step<MigrationResult> {
    // Read before the plan was: data_version ignores this connection's own commits, so it changes
    // only when another connection commits, and any such commit forces a re-plan under the lock.
    const walk: Walk<R[number]> = { queue: plan.steps, next: 0, toVersion: plan.toVersion, knownCounter: plannedAtCounter, ensured: false, stale: false };
    for (;;) {
      // The pragma must be set outside a transaction, so it follows the entry we expect to run; if a
      // re-plan picks another entry, the attempt is abandoned and made again with the right setting.
      const expected = walk.queue[walk.next];
      // The witness table must be made outside a transaction, so before BEGIN, for the entry we expect.
      // Scanned once per entry: the same answer serves the transaction below when a re-plan keeps it.
      const expectedNeedsGuard = expected?.transaction === true && this.needsGuard(expected, plan.direction);
      if (expectedNeedsGuard && guard.current === null) guard.current = yield* this.createRunGuard();
      const restoreForeignKeys = expected?.disableForeignKeys ? yield* this.switchOffForeignKeys() : false;
      try {
        const outcome = yield* this.attemptNext(walk, { entry: expected, needsGuard: expectedNeedsGuard }, plan.direction, replan, progress, settingsBefore, guard);
        if (outcome === "done") break;
      } catch (error) {
        yield* rollbackQuietly();
        // Inside the try: the statements run again as the migration ran them, its foreign keys switched as it had them.
        throw yield* this.locateFailedStatement(error, []);
      } finally {
        if (restoreForeignKeys) yield* exec("PRAGMA foreign_keys = ON");
      }
    }
    return { direction: plan.direction, fromVersion: progress.fromVersion!, toVersion: walk.toVersion, steps: progress.ran };
  }

  /**
   * One attempt of {@link executeSteps}: under the write lock, re-plans if another connection
   * committed, then runs the next migration. `"again"` when the attempt was given up (the next
   * migration is not the one `expected` prepared the connection for, or another process applied it)
   * and is to be made again; `"done"` when nothing is left to run.
   */
  private *attemptNext(
    walk: Walk<R[number]>,
    expected: { readonly entry: R[number] | undefined; readonly needsGuard: boolean },
    direction: MigrationDirection,
    replan: Replan<R[number]>,
    progress: Progress,
    settingsBefore: ConnectionSettingsSnapshot,
    guard: LazyRunGuard,
  ): Step<"ran" | "again" | "done"> {
    yield* this.beginImmediate();
    const counter = yield* changeCounter();
    // What an escape is judged against must be read before stepwise writes in this transaction;
    // only the first one writes before the body (the history table), so only there is it read
    // up front. Elsewhere it is read when a guarded migration is about to run.
    let start: TransactionStart | null = walk.ensured ? null : yield* this.dialect.readTransactionStart(counter);
    if (!walk.ensured) {
      // Checked under the write lock: outside it, another process may create the history table
      // between reading "no history" and listing the tables.
      if (direction === "up") yield* this.refuseUnmanagedDatabase();
      yield* this.store.ensure();
      walk.ensured = true;
    }
    // A driver without a counter cannot tell, so it trusts only what the history says now.
    if (walk.stale || counter === null || counter !== walk.knownCounter) {
      walk.stale = false;
      const fresh = replan(yield* this.store.readKeys());
      this.emitSkipped(direction, walk.queue.slice(walk.next), fresh.steps);
      walk.queue = fresh.steps;
      walk.next = 0;
      walk.toVersion = fresh.toVersion;
      walk.knownCounter = counter;
    }
    const entry = walk.queue[walk.next];
    if (!entry) {
      yield* this.commitTranslated();
      return "done";
    }
    if (entry.disableForeignKeys !== Boolean(expected.entry?.disableForeignKeys)) {
      yield* this.commitTranslated();
      return "again";
    }
    if (entry.transaction) {
      const guarded = entry === expected.entry ? expected.needsGuard : this.needsGuard(entry, direction);
      if (guarded && guard.current === null) {
        // A re-plan brought a migration that needs the witness, which cannot be made in here.
        yield* this.commitTranslated();
        return "again";
      }
      start ??= guarded ? yield* this.dialect.readTransactionStart(counter) : null;
      const applied = this.settings.capabilities.atomicBatch
        ? yield* this.strategies.atomicBatch!(this, entry, direction)
        : yield* this.strategies.inTransaction!(this, entry, direction, guarded ? { guard: guard.current!, start: start! } : null);
      if (applied === null) {
        // Another process applied it (the batch was refused by the history key).
        walk.stale = true;
        yield* this.commitTranslated();
        return "again";
      }
      progress.ran.push(applied);
    } else {
      progress.ran.push(yield* this.runWithoutTransaction(entry, direction, settingsBefore));
      // Outside a transaction its PRAGMAs took effect at once (foreign_keys = OFF); the migrations
      // after it run with the connection as the app set it, not as this one left it.
      yield* this.dialect.restoreConnectionSettings(settingsBefore);
      // A temp_store change (its own, or restoring it just now) deletes every temp table.
      if (guard.current) yield* this.dialect.renewCommitWitness(guard.current.witness);
    }
    walk.next++;
    // No re-read here: data_version ignores this connection's own commits, and reading it now
    // would swallow a commit another connection made since ours.
    return "ran";
  }

  /**
   * `error` naming where in its file the failing statement starts, when it is a SQL migration's
   * failure (rolled back: the database is as the migration found it, after `before`, the scripts a
   * whole run applied before it) whose statement is not known yet: its statements run again, one by
   * one, in a transaction rolled back after (`sql-location.ts`). Anything else is returned as it is.
   */
  *locateFailedStatement(error: unknown, before: readonly string[]): Step<unknown> {
    if (!(error instanceof StepwiseError && error.is("MIGRATION_FAILED")) || isConnectionClosedError(error) || error.details.location !== null || !error.details.rolledBack) return error;
    const { details } = error;
    const split = this.dialect.splitStatements;
    const entry = (this.migrations as readonly R[number][]).find((candidate) => candidate.version === details.version);
    if (split === undefined || entry === undefined || entry.kind !== "sql" || this.settings.capabilities.atomicBatch) return error;
    const location = yield* locateByRerun(entry, details.direction, split, before);
    return location === null ? error : withLocation(error, location);
  }

  /** Emits `skipped` for each entry of `previous` a re-plan no longer lists: another connection ran it. */
  emitSkipped(direction: MigrationDirection, previous: readonly R[number][], stillPending: readonly R[number][]): void {
    const pending = new Set(stillPending);
    for (const entry of previous) {
      if (!pending.has(entry)) this.emit({ type: "skipped", direction, version: entry.version, name: entry.name, reason: "applied-elsewhere" });
    }
  }

  /**
   * Runs a `transaction: false` migration. A `started` row is committed first, so a crash in the
   * middle leaves a trace that makes the next run stop and ask a person instead of guessing.
   */
  private *runWithoutTransaction(entry: R[number], direction: MigrationDirection, settingsBefore: ConnectionSettingsSnapshot): Step<AppliedStep> {
    // Taken before the started row commits, so no process can ever see the row without the lock held
    // (a crash in between leaves neither). Held until the row is marked applied, or the attempt fails.
    const lock = this.settings.capabilities.fileLocking
      ? ((yield { op: "holdOwnerLock", tableName: this.store.tableName, busyTimeoutMs: this.settings.busyTimeoutMs }) as OwnerLockHandle | null)
      : null;
    try {
      const startedAt = new Date().toISOString();
      const owner = serializeMigrationOwner(currentMigrationOwner(lock?.fileName ?? (this.dialect.readOwnerSession ? yield* this.dialect.readOwnerSession() : null)));
      try {
        // Before the started row commits: a refusal here leaves nothing for a person to resolve.
        yield* this.refuseParentRebuild(entry, direction);
        yield { op: "checkBody", entry, direction };
        if (direction === "up") {
          yield* this.store.insertStarted({ version: entry.version, name: entry.name, checksum: entry.checksum, startedAt, owner });
        } else {
          yield* this.recordRevert(entry, { startedAt, owner });
        }
        yield* commit();
      } catch (cause) {
        yield* rollbackQuietly();
        throw yield* this.migrationFailed(entry, direction, cause, true);
      }
      this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
      const started = performance.now();
      try {
        yield* this.runGuardedBody(entry, direction, false);
        yield* refuseTransactionLeftOpen();
        // Its PRAGMAs took effect at once; the history write below needs the manager's busy timeout
        // (and the rest of the connection as it was), not `busy_timeout = 0` or `query_only = 1`.
        yield* this.dialect.restoreConnectionSettings(settingsBefore);
      } catch (cause) {
        throw yield* this.migrationFailed(entry, direction, cause, false, "body");
      }
      const durationMs = performance.now() - started;
      try {
        yield* begin("immediate");
        yield* this.record(entry, direction, durationMs);
        yield* commit();
      } catch (cause) {
        // The body's changes are in the database but not its record: the started row stays, so the
        // next run stops with INCOMPLETE_MIGRATION and a person confirms with "repair --applied".
        yield* rollbackQuietly();
        throw yield* this.migrationFailed(entry, direction, cause, false);
      }
      this.emit({ type: "migrated", direction, version: entry.version, name: entry.name, durationMs });
      return { version: entry.version, name: entry.name, durationMs };
    } finally {
      lock?.release();
    }
  }

  /**
   * Applies `entry` with its history writes as one request (the caller commits) where the
   * dialect carries that path (`script-with-history.ts`, so only the entries that use it bundle it).
   * Returns its duration, or `null` for the usual path, which a migration under the escape guard
   * (`guarded`) always takes.
   */
  *applyAsOneRequest(entry: R[number], direction: MigrationDirection, guarded: object | null): Step<number | null> {
    const apply = guarded ? null : this.dialect.applyScriptWithHistory;
    return apply ? yield* apply(this, entry, direction) : null;
  }

  /** See `refuseParentRebuild` in `foreign-key-rebuild.ts`. Public for `script-with-history.ts`. */
  *refuseParentRebuild(entry: R[number], direction: MigrationDirection): Step<void> {
    yield* refuseParentRebuild(entry, direction, this.settings.capabilities.foreignKeySwitch, () => this.dialect.foreignKeysEnforced(), this.referencingTables);
  }

  *runBody(entry: R[number], direction: MigrationDirection): Step<void> {
    // SQL reports no progress; a reporter per migration would be built for nothing.
    if (entry.kind === "sql") {
      if (!entry.transaction && this.dialect.splitStatements) {
        const script = scriptOf(entry, direction);
        const statements = script === null ? [] : this.dialect.splitStatements(script);
        // Outside a transaction each statement commits on its own, so sending them apart changes nothing,
        // and the one that fails is known (sql-location.ts). A script that manages its own transaction goes whole.
        if (script !== null && !statements.some((statement) => TRANSACTION_CONTROL.test(statement.text))) {
          for (const statement of statements) {
            try {
              yield* exec(statement.text);
            } catch (error) {
              recordFailedStatement(error, statement);
              throw error;
            }
          }
          return;
        }
      }
      yield { op: "runBody", entry, direction, progress: ignoreProgress };
      return;
    }
    const progress = createProgressReporter({
      intervalMs: this.settings.progressIntervalMs,
      report: (measure) => this.emit({ type: "progress", direction, version: entry.version, name: entry.name, ...measure }),
    });
    yield { op: "runBody", entry, direction, progress };
  }

  /** Writes `entry`'s history row for `direction` (`SCRIPT_ELAPSED_MS`: the storage measures it). @internal Public for `script-with-history.ts`. */
  *record(entry: R[number], direction: MigrationDirection, durationMs: number | null | typeof SCRIPT_ELAPSED_MS): Step<void> {
    // Where the history guard reads (PostgreSQL): the table as the body left it, then as stepwise leaves it.
    const guardWrites = entry.transaction ? this.historyGuard?.writes : undefined;
    if (guardWrites) yield* exec(guardWrites.check);
    yield* this.recordUnchecked(entry, direction, durationMs);
    if (guardWrites) yield* exec(guardWrites.capture);
  }

  private *recordUnchecked(entry: R[number], direction: MigrationDirection, durationMs: number | null | typeof SCRIPT_ELAPSED_MS): Step<void> {
    const now = new Date().toISOString();
    const mirror = this.settings.capabilities.userVersion;
    if (direction === "up") {
      if (entry.transaction) {
        yield* this.store.insertApplied({
          version: entry.version,
          name: entry.name,
          checksum: entry.checksum,
          appliedAt: now,
          durationMs: typeof durationMs === "number" ? Math.round(durationMs) : durationMs,
        });
      } else {
        // A transaction: false migration is never sent as one request, so its duration is a number.
        yield* this.store.markApplied(entry.version, now, Math.round((durationMs as number | null) ?? 0));
      }
      if (mirror) yield* setUserVersion(entry.version);
    } else {
      yield* this.recordRevert(entry, null);
    }
  }

  /** `down`'s history writes: with `started`, a `transaction: false` revert's started row; without, the finished revert. */
  private *recordRevert(entry: R[number], started: { readonly startedAt: string; readonly owner: string } | null): Step<void> {
    if (started) {
      yield* this.store.markStarted(entry.version, started.startedAt, started.owner);
      return;
    }
    yield* this.store.deleteRow(entry.version);
    if (this.settings.capabilities.userVersion) yield* setUserVersion(entry.version - 1);
  }

  /** Drops every table, view, index and trigger, in one write section, then applies everything. */
  *reset(): Step<MigrationResult> {
    yield* refuseOpenTransaction(this.settings.driverName, "reset");
    yield* this.withConnectionSettings(
      function* (this: ExecutorBase<R>): Step<void> {
        const restoreForeignKeys = yield* this.switchOffForeignKeys();
        try {
          yield* this.beginImmediate();
          // Where foreign keys stay on (no switch: Durable Objects, D1), a parent dropped before its
          // children fails: children go first, and the check waits for the commit where there is one.
          const enforced = !restoreForeignKeys && this.dialect.name === "sqlite";
          if (enforced) yield* exec("PRAGMA defer_foreign_keys = ON");
          const sorted = (yield* this.dialect.readSchemaObjects()).sort((a, b) => DROP_ORDER[a.type] - DROP_ORDER[b.type]);
          const objects = enforced ? yield* orderChildrenFirst(sorted) : sorted;
          for (const object of objects) {
            // Indexes and triggers go with their tables; dropping them first just avoids order problems.
            yield* exec(this.dialect.dropObjectSql(object));
          }
          if (this.settings.capabilities.userVersion) yield* setUserVersion(0);
          yield* this.commitTranslated();
        } catch (error) {
          yield* rollbackQuietly();
          throw error;
        } finally {
          if (restoreForeignKeys) yield* exec("PRAGMA foreign_keys = ON");
        }
      }.call(this),
    );
    return yield* this.up();
  }

  /** The history's planner keys, read under the connection settings. */
  *readKeys(): Step<AppliedMigrationKey[]> {
    return yield* this.withConnectionSettings(this.store.readKeys());
  }

  /** The history's rows, oldest first. Never writes. */
  *history(): Step<AppliedMigration[]> {
    return yield* this.withConnectionSettings(this.store.readAll());
  }

  /**
   * Where the database stands against the registry, with why `up` would refuse: what the history
   * shows (see `describeStatus`), a history table stepwise cannot read, another tool's tables (only
   * when something is pending, as `up` refuses them only then), and a pending migration this driver
   * cannot apply. A `transaction: false` migration still running elsewhere (its owner alive, or on
   * another host) is reported as `MIGRATION_IN_PROGRESS`, as `up` reports it after waiting, not as
   * interrupted.
   */
  *status(): Step<MigrationStatus> {
    let rows: AppliedMigration[];
    try {
      rows = yield* this.history();
    } catch (error) {
      if (!(error instanceof StepwiseError) || error.code !== "HISTORY_TABLE_INVALID") throw error;
      return { ...describeStatus(this.migrations, []), problem: toPlainError(error) };
    }
    const status = describeStatus(this.migrations, rows);
    const refusal = status.problem === null ? yield* this.refusalBeyondHistory(status, rows.length === 0) : yield* this.stillRunning(status);
    return refusal === null ? status : { ...status, problem: toPlainError(refusal) };
  }

  /** What `up` refuses that the history rows cannot show: another tool's tables, a pending migration this driver cannot apply. */
  private *refusalBeyondHistory(status: MigrationStatus, noHistory: boolean): Step<StepwiseError | null> {
    const pending = this.migrations.filter((_entry, index) => status.migrations[index]?.state === "pending");
    if (pending.length === 0) return null;
    try {
      if (noHistory) yield* this.withConnectionSettings(this.refuseUnmanagedDatabase());
      this.refuseUnsupportedMigrations(pending, "up");
    } catch (error) {
      if (error instanceof StepwiseError && (error.is("UNMANAGED_DATABASE") || error.is("DRIVER_CAPABILITY_MISSING"))) return error;
      throw error;
    }
    return null;
  }

  /** An interrupted migration whose owner still runs (or may: on another host), as `up` would report it. */
  private *stillRunning(status: MigrationStatus): Step<StepwiseError<"MIGRATION_IN_PROGRESS"> | null> {
    const row = status.problem?.code === "INCOMPLETE_MIGRATION" ? status.migrations.find((migration) => migration.state === "incomplete") : undefined;
    if (!row) return null;
    const started = yield* this.withConnectionSettings(this.store.readStartedRow(row.version));
    const owner = parseMigrationOwner(started?.owner ?? null);
    const liveness = yield* this.assessOwner(owner);
    if (liveness !== "alive" && liveness !== "unknown") return null;
    return migrationInProgressError({
      version: row.version,
      file: row.file,
      startedAt: row.appliedAt ?? "",
      owner: owner && { pid: owner.pid, host: owner.host },
      waitedMs: 0,
    });
  }

  /**
   * True when a write was refused because the connection itself was told not to write
   * (`PRAGMA query_only = 1`, which a migration can run), not because the file, its folder or the
   * connection's open mode forbid it. Such a refusal is the migration's failure, not the
   * environment's: reporting it as a read-only database would send people to check file permissions
   * for nothing.
   */
  private *isQueryOnlyRefusal(sqliteCode: string | null): Step<boolean> {
    if (sqliteCode !== "SQLITE_READONLY") return false;
    try {
      return (yield* queryValue("PRAGMA query_only")) === 1;
    } catch {
      return false;
    }
  }

  /** The failure's `SQLITE_*` code as the driver reads it, or `null`. */
  sqliteCodeOf(error: unknown): string | null {
    const code = classifySafely(this.settings.classifyError, error).nativeCode;
    return code !== null && code.startsWith("SQLITE_") ? code : null;
  }

  /**
   * The typed error for a SQLite failure a user can act on (see `translateSqliteError`), with the driver's reading of its code.
   */
  translateError(error: unknown): unknown {
    return this.dialect.translateError(error, this.settings.busyTimeoutMs, classifySafely(this.settings.classifyError, error));
  }

  /**
   * The error for `entry`'s failure. `origin` says who ran what failed: `"body"` for the migration's
   * own statements and code, `"stepwise"` for stepwise's own (the history row, COMMIT).
   * @internal Public for `script-with-history.ts`.
   */
  *migrationFailed(entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin: FailureOrigin = "stepwise"): Step<StepwiseError> {
    // Recording nothing would let the next plan run it again; the store writes a trace back instead.
    if (isInstanceSafely(cause, StepwiseError) && cause.is("HISTORY_ROW_MISSING")) return yield* this.store.reportMissingRow(cause, entry, direction, rolledBack, new Date().toISOString());
    if (isInstanceSafely(cause, StepwiseError) && !(cause.code === "ASYNC_IN_SYNC_RUNNER")) return cause;
    if (this.historyGuard) {
      const change = isHistoryGuardRefusal(cause)
        ? "a row inserted, updated or deleted; the write was refused"
        : isHistoryGuardGone(cause)
          ? "the table dropped or replaced"
          : origin === "stepwise" && this.isHistoryGone(cause)
            ? "the table renamed or altered"
            : null;
      if (change !== null)
        return historyChangedByMigrationError({
          version: entry.version,
          file: entry.file,
          direction,
          table: this.store.tableName,
          change,
          rolledBack,
          historyChanged: !rolledBack && change.startsWith("the table"),
          cause,
        });
    }
    const described = this.dialect.describeMigrationFailure && (yield* this.dialect.describeMigrationFailure(this, entry, direction, cause, rolledBack, origin));
    if (described) return described;
    const sqliteCode = this.sqliteCodeOf(cause);
    if (rolledBack && sqliteCode?.startsWith("SQLITE_FULL")) return diskFullError({ version: entry.version, file: entry.file, sqliteCode, cause });
    // A read-only file or folder, a locked or corrupt database is the environment's fault, not the
    // migration's: report it as such, so nobody goes looking for a bug in the migration.
    const environmental = rolledBack && this.isEnvironmental(cause, sqliteCode, origin) && !(yield* this.isQueryOnlyRefusal(sqliteCode)) ? this.translateError(cause) : cause;
    if (isInstanceSafely(environmental, StepwiseError) && environmental.code !== "ASYNC_IN_SYNC_RUNNER") return environmental;
    const foreignKeyRebuild = yield* readForeignKeyRebuildHint(entry, direction, sqliteCode, cause, this.settings.capabilities.foreignKeySwitch);
    const location = origin === "body" ? locateFromFailure(entry, direction, cause) : null;
    return migrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack, foreignKeyRebuild, location });
  }

  /** Whether stepwise's own history write failed for want of the table, or of one of its columns (a migration renamed or altered it). */
  private isHistoryGone(cause: unknown): boolean {
    const message = isInstanceSafely(cause, Error) ? cause.message : "";
    return /no such (?:table|column)|has no column named/.test(message) && message.toLowerCase().includes(this.store.tableName.toLowerCase());
  }

  /**
   * Whether a failure is the environment's (DATABASE_LOCKED, DATABASE_UNUSABLE...) rather than the
   * migration's. Never a value that is no `Error`: libraries throw `Error`s, so `{ code: "SQLITE_BUSY" }`
   * is the app's own value that merely looks like one. And from a body, never a lock, an unopenable
   * or a non-database file: stepwise holds the main database's write lock and has read it while the
   * body runs, so those come from something the body reached for (an ATTACHed file, a connection of
   * its own), and an error naming no migration would send people to the wrong file. A read-only,
   * corrupt or failing main database is met first by whoever writes, the body included.
   */
  private isEnvironmental(cause: unknown, sqliteCode: string | null, origin: FailureOrigin): boolean {
    if (!isInstanceSafely(cause, Error)) return false;
    if (origin !== "body" || sqliteCode === null) return true;
    const kind = kindOfSqliteCode(sqliteCode);
    return kind !== "locked" && kind !== "cantopen" && kind !== "notadb";
  }

  /** Turns enforcement off (a no-op inside a transaction, hence done before BEGIN); true when it was on. */
  protected *switchOffForeignKeys(): Step<boolean> {
    if (!this.settings.capabilities.foreignKeySwitch) return false;
    if ((yield* queryValue("PRAGMA foreign_keys")) !== 1) return false;
    yield* exec("PRAGMA foreign_keys = OFF");
    return true;
  }

  *beginImmediate(): Step<void> {
    try {
      yield* begin("immediate");
    } catch (error) {
      throw this.translateError(error);
    }
  }

  *commitTranslated(): Step<void> {
    try {
      yield* commit();
    } catch (error) {
      throw this.translateError(error);
    }
  }
}

/**
 * A `transaction: false` migration that leaves a transaction open (BEGIN without COMMIT) would have
 * its last statements committed, or lost, with stepwise's bookkeeping; neither is what it wrote.
 */
function* refuseTransactionLeftOpen(): Step<void> {
  if (!(yield* inTransaction())) return;
  yield* rollbackQuietly();
  throw new Error("it left a transaction open (BEGIN without COMMIT); stepwise rolled back the statements that transaction held");
}

/** Whether `cause` says one of the history guard's triggers was gone when it was dropped (inside a batch, D1): the table went with it. */
function isHistoryGuardGone(cause: unknown): boolean {
  const message = isInstanceSafely(cause, Error) ? cause.message : "";
  return message.includes("no such trigger") && message.includes(GUARD_TABLE_PREFIX);
}

/** Whether `cause`, or an error down its chain (a body may wrap it), is the history guard's refusal. */
function isHistoryGuardRefusal(cause: unknown): boolean {
  let current = cause;
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    try {
      const message = (current as { message?: unknown }).message;
      if (typeof message === "string" && message.includes(HISTORY_GUARD_MARK)) return true;
      current = (current as { cause?: unknown }).cause;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * `objects` with their tables reordered so that every table comes before the tables it references:
 * the order `reset` drops them in where foreign keys stay enforced (no switch: Durable Objects, D1, a
 * libSQL client), since dropping a parent a child's rows still reference fails, and D1 runs each
 * statement on its own, so deferring the check to a commit does not help there.
 * Other objects keep their places. A cycle of references keeps the order it had (the deferred check
 * at the commit covers it where there is one).
 */
export function* orderChildrenFirst(objects: readonly SchemaObject[]): Step<SchemaObject[]> {
  const tables = objects.filter((object) => object.type === "table");
  const references = new Map<string, Set<string>>();
  for (const table of tables) {
    const rows = yield* query<{ table: string }>(`SELECT "table" FROM pragma_foreign_key_list(?)`, [table.name]);
    references.set(table.name.toLowerCase(), new Set(rows.map((row) => String(row.table).toLowerCase()).filter((name) => name !== table.name.toLowerCase())));
  }
  const ordered: SchemaObject[] = [];
  let left = tables;
  while (left.length > 0) {
    // A table no other remaining table references can go now.
    const free = left.filter((table) => !left.some((other) => other !== table && references.get(other.name.toLowerCase())!.has(table.name.toLowerCase())));
    const next = free.length > 0 ? free : left;
    ordered.push(...next);
    left = left.filter((table) => !next.includes(table));
  }
  let index = 0;
  return objects.map((object) => (object.type === "table" ? ordered[index++]! : object));
}

/**
 * The migration algorithm, written once for every driver as generators that yield operations
 * (`step.ts`); a runner (`runners.ts`) performs them, synchronously or by awaiting each.
 *
 * Each migration: take the write lock (`BEGIN IMMEDIATE`, waiting up to the busy timeout), plan again
 * from the history if another connection committed since the plan was made (the driver's change
 * counter; without one, every time), run it, record it, commit. A migration and its history row
 * commit together or not at all, and processes migrating one database at once apply each exactly once.
 */
import { StepwiseError, type LockHolder } from "./errors.js";
import type { Dialect, FailureOrigin } from "./dialect.js";
import { sqliteDialectFor } from "./dialects/sqlite.js";
import { driverCapabilityError, type DriverCapabilities, type ErrorClassification, type OwnerLockHandle } from "./driver.js";
import {
  databaseLockedError,
  diskFullError,
  foreignKeyViolationError,
  historyChangedByMigrationError,
  isConnectionClosedError,
  migrationFailedError,
  migrationInProgressError,
  transactionEscapedError,
  unmanagedDatabaseError,
  withLocation,
  classifySafely,
  toPlainError,
  kindOfSqliteCode,
  isInstanceSafely,
} from "./error-factories.js";
import { describeEvent, type MigrationEvent, type MigrationLogger } from "./events.js";
import { readForeignKeyRebuildHint, ReferencingTables, refuseParentRebuild } from "./foreign-key-rebuild.js";
import { HISTORY_GUARD_MARK, type HistoryGuard } from "./history-guard.js";
import { setUserVersion, type HistoryStore } from "./history.js";
import { assessMigrationOwner, currentMigrationOwner, parseMigrationOwner, serializeMigrationOwner, type MigrationOwner, type OwnerLiveness } from "./migration-owner.js";
import { DEFAULT_TRANSACTION_MODE, type AppliedStep, type DownOptions, type MigrationResult, type TransactionMode, type UpOptions } from "./options.js";
import { runCall, text } from "./option-text.js";
import { describeStatus, planDown, planUp, type AppliedMigration, type AppliedMigrationKey, type MigrationPlan, type MigrationStatus } from "./planner.js";
import { createProgressReporter } from "./progress.js";
import type { ConnectionSettingsSnapshot } from "./connection-settings.js";
import type { SchemaObject, SchemaObjectKind } from "./schema-objects.js";
import { locateByRerun, locateFromFailure, recordFailedStatement, scriptOf } from "./sql-location.js";
import { begin, changeCounter, collectWrites, commit, exec, inTransaction, query, queryValue, rollbackQuietly, type Step } from "./step.js";
import { refuseOpenTransaction } from "./transaction-open.js";
import { GUARD_TABLE_PREFIX, isAutomaticRollbackError, needsEscapeGuard, type EscapeGuardRun } from "./transaction-guard.js";
import type { MigrationDirection, MigrationEntry, MigrationRegistry } from "./types.js";
import { refuseWholeRunObstacles } from "./whole-run-transaction.js";

/** Everything the executor knows besides the registry: settings and what the driver declared. */
export interface ExecutorSettings {
  readonly tableName: string;
  readonly busyTimeoutMs: number;
  readonly progressIntervalMs: number | undefined;
  readonly onEvent: ((event: MigrationEvent) => void) | undefined;
  readonly logger: MigrationLogger | null;
  /** The driver's name, for capability refusals. */
  readonly driverName: string;
  readonly capabilities: DriverCapabilities;
  /** The driver's reading of an error: codes are read through it, never off the error object. */
  readonly classifyError: (error: unknown) => ErrorClassification;
  /** Default: SQLite's, for the driver's capabilities. */
  readonly dialect?: Dialect;
}

/** Plans again from the history's keys (after a wait, or when another connection committed). */
type Replan<E extends MigrationEntry> = (applied: AppliedMigrationKey[]) => MigrationPlan<E>;

/** Where a run of one transaction per migration is in its plan, which a re-plan may replace. */
interface Walk<E> {
  readonly direction: MigrationDirection;
  queue: readonly E[];
  next: number;
  toVersion: number;
  /** The change counter the plan was made at. */
  knownCounter: number | null;
  /** Whether the history table was made sure of (in the first transaction). */
  ensured: boolean;
  /** Another process applied the entry about to run (its batch was refused by the history key). */
  stale: boolean;
  readonly settingsBefore: ConnectionSettingsSnapshot;
}

/** How often a process waiting for another's `transaction: false` migration looks again. */
const WAIT_POLL_MS = 25;

/** A statement that begins, ends or nests a transaction. */
const TRANSACTION_CONTROL = /^(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|START|ABORT|PREPARE)\b/i;

const FOREIGN_KEY_SWITCH_FIX =
  'Remove "foreign_keys:off" (disableForeignKeys) and change the table in place (ALTER TABLE ... ADD, RENAME or DROP COLUMN), which keeps every reference to it; or rebuild the tables that reference it in the same migration after "PRAGMA defer_foreign_keys = ON", which checks references when the migration commits (ON DELETE actions still fire when a parent table is dropped).';
const BATCHED_CODE_FIX = "Its code cannot run inside the one batch that applies a migration with its history row; write it as a .sql migration.";

/** The order `reset` drops objects in: those that name a table before the table. */
const DROP_ORDER: Readonly<Record<SchemaObjectKind, number>> = { trigger: 0, view: 1, index: 2, table: 3 };

/**
 * The algorithm over one registry and one history table: `up`, `down`, `reset`, `status` and
 * `history`. Every method returns a {@link Step} for a runner; none performs I/O itself.
 */
export class Executor<R extends MigrationRegistry = MigrationRegistry> {
  readonly migrations: R;
  readonly settings: ExecutorSettings;
  readonly dialect: Dialect;
  readonly store: HistoryStore;
  /** The history table's guard while a run applies migrations. */
  private historyGuard: HistoryGuard | null = null;
  /** The escape guard of the run, made before the first migration that needs it (a run of plain SQL makes none). */
  private escapeGuard: EscapeGuardRun | null = null;
  /** The tables that may reference another, as this run read them (`foreign-key-rebuild.ts`). */
  private readonly referencingTables = new ReferencingTables();

  constructor(migrations: R, settings: ExecutorSettings) {
    this.migrations = migrations;
    this.settings = settings;
    this.dialect = settings.dialect ?? sqliteDialectFor(settings.capabilities);
    this.store = this.dialect.createHistoryStore(settings.tableName);
  }

  private get entries(): readonly R[number][] {
    return this.migrations as readonly R[number][];
  }

  /** Applies pending migrations up to `options.to`; see `MigrationManager.up`. */
  *up(options: UpOptions = {}): Step<MigrationResult> {
    return yield* this.runPlan("up", options, (applied) => planUp(this.entries, applied, { to: options.to }));
  }

  /** Reverts applied migrations; see `MigrationManager.down`. */
  *down(options: DownOptions = {}): Step<MigrationResult> {
    // `steps` counts from where the call started: every re-plan aims at the version the first chose.
    let target: DownOptions = options;
    return yield* this.runPlan("down", options, (applied) => {
      const plan = planDown(this.entries, applied, target);
      target = { to: plan.toVersion };
      return plan;
    });
  }

  private *runPlan(direction: MigrationDirection, options: { readonly transaction?: TransactionMode }, replan: Replan<R[number]>): Step<MigrationResult> {
    yield* refuseOpenTransaction(this.settings.driverName, direction);
    this.referencingTables.forget();
    const all = (options.transaction ?? DEFAULT_TRANSACTION_MODE) === "all";
    // Kept across the attempts of a wait for another process.
    const ran: AppliedStep[] = [];
    let fromVersion: number | null = null;
    return yield* this.withConnectionSettings(
      this.waitWhileAnotherProcessMigrates(
        function* (this: Executor<R>): Step<MigrationResult> {
          let plan = replan(yield* this.store.readKeys());
          if (all) return yield* this.runWhole(plan, replan);
          let counter: number | null = null;
          if (plan.steps.length > 0) {
            // Read before the history the plan comes from, so a commit in between forces a re-plan under the lock.
            counter = yield* changeCounter();
            plan = replan(yield* this.store.readKeys());
          }
          fromVersion ??= plan.fromVersion;
          if (plan.steps.length === 0) {
            this.emit({ type: "nothing-pending", direction, currentVersion: plan.fromVersion });
            return { direction, fromVersion, toVersion: plan.toVersion, steps: ran };
          }
          return { direction, fromVersion, toVersion: yield* this.runEach(plan, counter, replan, ran), steps: ran };
        }.bind(this),
      ),
    );
  }

  /** Runs `plan`, each migration in its own transaction; returns the version reached. */
  private *runEach(plan: MigrationPlan<R[number]>, counter: number | null, replan: Replan<R[number]>, ran: AppliedStep[]): Step<number> {
    this.refuseUnsupportedMigrations(plan.steps, plan.direction);
    return yield* this.duringRun(
      function* (this: Executor<R>, settingsBefore: ConnectionSettingsSnapshot): Step<number> {
        const walk: Walk<R[number]> = { direction: plan.direction, queue: plan.steps, next: 0, toVersion: plan.toVersion, knownCounter: counter, ensured: false, stale: false, settingsBefore };
        for (;;) {
          // Settings a transaction cannot change (the witness table, foreign_keys) are prepared for the entry expected next.
          const expected = walk.queue[walk.next];
          const expectedGuard = expected !== undefined && expected.transaction && this.needsGuard(expected, walk.direction);
          if (expectedGuard && this.escapeGuard === null) this.escapeGuard = yield* this.startEscapeGuard();
          const restoreForeignKeys = expected?.disableForeignKeys ? yield* this.switchOffForeignKeys() : false;
          try {
            if ((yield* this.attemptNext(walk, expected, expectedGuard, replan, ran)) === "done") return walk.toVersion;
          } catch (error) {
            yield* rollbackQuietly();
            // Inside the try: the statements run again with foreign keys as the migration had them.
            throw yield* this.locateFailedStatement(error, []);
          } finally {
            if (restoreForeignKeys) yield* exec("PRAGMA foreign_keys = ON");
          }
        }
      }.bind(this),
    );
  }

  /**
   * One attempt under the write lock: plans again if another connection committed, then runs the
   * next migration. `again` when the connection was prepared for another entry or another process
   * applied it; `done` when nothing is left.
   */
  private *attemptNext(walk: Walk<R[number]>, expected: R[number] | undefined, expectedGuard: boolean, replan: Replan<R[number]>, ran: AppliedStep[]): Step<"ran" | "again" | "done"> {
    const direction = walk.direction;
    yield* this.beginImmediate();
    const counter = yield* changeCounter();
    // An escape is judged against what was read before stepwise wrote in the transaction: the first one writes the history table.
    let startRead = false;
    if (!walk.ensured) {
      if (this.escapeGuard) yield* this.escapeGuard.readStart(counter);
      startRead = true;
      // Under the write lock: another process may create the history table meanwhile.
      if (direction === "up") yield* this.refuseUnmanagedDatabase();
      yield* this.store.ensure();
      walk.ensured = true;
    }
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
    const guarded = entry.transaction && (entry === expected ? expectedGuard : this.needsGuard(entry, direction));
    if (entry.disableForeignKeys !== Boolean(expected?.disableForeignKeys) || (guarded && this.escapeGuard === null)) {
      yield* this.commitTranslated();
      return "again";
    }
    if (!entry.transaction) {
      ran.push(yield* this.runWithoutTransaction(entry, direction, walk.settingsBefore));
      // Its PRAGMAs took effect at once; the migrations after it run with the connection as the app set it.
      yield* this.restoreSettings(walk.settingsBefore);
      if (this.escapeGuard) yield* this.escapeGuard.renew();
    } else {
      if (guarded && !startRead) yield* this.escapeGuard!.readStart(counter);
      const applied = this.settings.capabilities.atomicBatch ? yield* this.applyAsBatch(entry, direction) : yield* this.applyInTransaction(entry, direction, guarded);
      if (applied === null) {
        walk.stale = true;
        yield* this.commitTranslated();
        return "again";
      }
      ran.push(applied);
    }
    walk.next++;
    return "ran";
  }

  /** Runs one migration in the open transaction (under the escape guard when `guarded`), records it, commits. */
  private *applyInTransaction(entry: R[number], direction: MigrationDirection, guarded: boolean): Step<AppliedStep> {
    const durationMs = yield* this.applyBody(entry, direction, guarded);
    yield* this.commitMigration(entry, direction);
    return this.migrated(entry, direction, durationMs);
  }

  /** Emits `migrated` and returns the step. */
  private migrated(entry: R[number], direction: MigrationDirection, durationMs: number): AppliedStep {
    this.emit({ type: "migrated", direction, version: entry.version, name: entry.name, durationMs });
    return { version: entry.version, name: entry.name, durationMs };
  }

  /** `up` or `down` with `transaction: "all"`: the whole plan in one transaction, its history re-read under the lock. */
  private *runWhole(plan: MigrationPlan<R[number]>, replan: Replan<R[number]>): Step<MigrationResult> {
    const direction = plan.direction;
    if (this.settings.capabilities.atomicBatch) {
      throw driverCapabilityError({
        driver: this.settings.driverName,
        capability: "atomicBatch",
        operation: [runCall(direction, { transaction: "all" })],
        fix: text`Each migration is ${direction === "up" ? "applied" : "reverted"} atomically on its own; run ${runCall(direction)} instead.`,
      });
    }
    yield* refuseWholeRunObstacles(this, plan.steps, direction);
    if (plan.steps.length === 0) {
      this.emit({ type: "nothing-pending", direction, currentVersion: plan.fromVersion });
      return { direction, fromVersion: plan.fromVersion, toVersion: plan.toVersion, steps: [] };
    }
    const durations: number[] = [];
    const steps: AppliedStep[] = [];
    let fresh = plan;
    yield* this.duringRun(
      function* (this: Executor<R>): Step<void> {
        try {
          if (this.canGuard) this.escapeGuard = yield* this.startEscapeGuard();
          yield* this.beginImmediate();
          if (this.escapeGuard) yield* this.escapeGuard.readStart(yield* changeCounter());
          if (direction === "up") yield* this.refuseUnmanagedDatabase();
          yield* this.store.ensure();
          fresh = replan(yield* this.store.readKeys());
          yield* refuseWholeRunObstacles(this, fresh.steps, direction);
          this.emitSkipped(direction, plan.steps, fresh.steps);
          // Sets user_version at every step: only the last value commits.
          for (const entry of fresh.steps) durations.push(yield* this.applyBody(entry, direction, this.needsGuard(entry, direction)));
          const last = fresh.steps[fresh.steps.length - 1];
          if (last) yield* this.commitMigration(last, direction);
          else yield* this.commitTranslated();
          steps.push(...fresh.steps.map((entry, index) => ({ version: entry.version, name: entry.name, durationMs: durations[index]! })));
        } catch (error) {
          yield* rollbackQuietly();
          // The migrations before it, rolled back with it, are applied again first where they are SQL.
          const earlier = fresh.steps.slice(0, durations.length);
          throw earlier.every((entry) => entry.kind === "sql")
            ? yield* this.locateFailedStatement(
                error,
                earlier.map((entry) => scriptOf(entry, direction) ?? ""),
              )
            : error;
        }
      }.bind(this),
    );
    for (const step of steps) this.emit({ type: "migrated", direction, ...step });
    if (steps.length === 0) this.emit({ type: "nothing-pending", direction, currentVersion: fresh.fromVersion });
    return { direction, fromVersion: plan.fromVersion, toVersion: fresh.toVersion, steps };
  }

  /** Runs `body` with the run's guards, then puts the connection back as the run found it, outside any transaction. */
  private *duringRun<T>(body: (settingsBefore: ConnectionSettingsSnapshot) => Step<T>): Step<T> {
    const settingsBefore = yield* this.snapshotSettings();
    this.historyGuard = this.dialect.guardHistory?.(this.store) ?? null;
    this.escapeGuard = null;
    let failed = true;
    try {
      const result = yield* body(settingsBefore);
      failed = false;
      return result;
    } finally {
      yield* rollbackQuietly();
      yield* this.restoreSettings(settingsBefore, failed);
      // Read again: the body set them (the compiler still sees the nulls above).
      const escapeGuard = this.escapeGuard as EscapeGuardRun | null;
      const historyGuard = this.historyGuard as HistoryGuard | null;
      this.escapeGuard = null;
      this.historyGuard = null;
      if (escapeGuard) yield* escapeGuard.close();
      if (historyGuard) yield* historyGuard.remove();
    }
  }

  private *snapshotSettings(): Step<ConnectionSettingsSnapshot> {
    return this.dialect.snapshotConnectionSettings ? yield* this.dialect.snapshotConnectionSettings() : {};
  }

  /** Puts back the settings a migration changed, outside any transaction; after a failure, a failure to tidy up never hides it. */
  private *restoreSettings(before: ConnectionSettingsSnapshot, failed = false): Step<void> {
    try {
      if (this.dialect.restoreConnectionSettings) yield* this.dialect.restoreConnectionSettings(before);
    } catch (error) {
      if (!failed) throw error;
    }
  }

  /** Whether the dialect and the driver can guard a body against ending its transaction. */
  private get canGuard(): boolean {
    return this.dialect.startEscapeGuard !== undefined && this.settings.capabilities.savepoints;
  }

  /** Whether `entry` runs under the escape guard. */
  private needsGuard(entry: R[number], direction: MigrationDirection): boolean {
    return this.canGuard && needsEscapeGuard(entry, direction);
  }

  private *startEscapeGuard(): Step<EscapeGuardRun> {
    try {
      return yield* this.dialect.startEscapeGuard!();
    } catch (error) {
      throw this.translateError(error);
    }
  }

  /**
   * Runs a body in the open transaction, checks what it left (our transaction still open when
   * `guarded`, and with foreign keys off no dangling reference), and writes its history row. Throws
   * the failure as a stepwise error; the caller rolls back. Returns the body's duration.
   */
  private *applyBody(entry: R[number], direction: MigrationDirection, guarded: boolean): Step<number> {
    this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
    const started = performance.now();
    const guard = guarded ? this.escapeGuard! : null;
    if (guard) yield* guard.enter();
    let failure: { readonly cause: unknown } | null = null;
    try {
      yield* this.refuseParentRebuild(entry, direction);
      yield* this.runGuardedBody(entry, direction, true);
    } catch (cause) {
      failure = { cause };
    }
    // The connection is gone: nothing to release, judge or roll back through it.
    if (failure && isConnectionClosedError(failure.cause)) throw failure.cause;
    if (guard && !(yield* guard.leave())) throw yield* this.escaped(entry, direction, failure, guard);
    // Unguarded SQL cannot end the transaction without failing.
    if (failure) throw yield* this.migrationFailed(entry, direction, failure.cause, true, "body");
    const durationMs = performance.now() - started;
    try {
      if (entry.disableForeignKeys) {
        const violations = yield* query<{ table: string; rowid: number | null; parent: string }>("PRAGMA foreign_key_check");
        if (violations.length > 0) {
          throw foreignKeyViolationError({ version: entry.version, file: entry.file, direction, violations: violations.map((v) => ({ table: v.table, rowid: v.rowid, parent: v.parent })) });
        }
      }
      yield* this.record(entry, direction, durationMs);
    } catch (cause) {
      throw yield* this.migrationFailed(entry, direction, cause, true);
    }
    return durationMs;
  }

  /**
   * The error for a body after which our savepoint is gone: `TRANSACTION_ESCAPED` with what was
   * committed, or the body's own failure when SQLite rolled the transaction back itself (a full disk).
   */
  private *escaped(entry: R[number], direction: MigrationDirection, failure: { readonly cause: unknown } | null, guard: EscapeGuardRun): Step<StepwiseError> {
    // A transaction still open is a new one the migration began after ending ours.
    const replaced = yield* inTransaction();
    // Only after our rollback does the witness tell whether the migration committed anything.
    yield* rollbackQuietly();
    const committed = yield* guard.judge();
    if (failure && committed !== "yes" && !replaced && isAutomaticRollbackError(this.sqliteCodeOf(failure.cause))) {
      return yield* this.migrationFailed(entry, direction, failure.cause, true, "body");
    }
    return transactionEscapedError({ version: entry.version, file: entry.file, direction, committed, ...(failure ? { cause: failure.cause } : {}) });
  }

  /** Commits the transaction that ran `entry`; a failure (a full disk, a deferred foreign key) is rolled back and reported as the migration's. */
  private *commitMigration(entry: R[number], direction: MigrationDirection): Step<void> {
    try {
      yield* commit();
    } catch (cause) {
      yield* rollbackQuietly();
      throw yield* this.migrationFailed(entry, direction, cause, true, "commit");
    }
  }

  /**
   * Applies a SQL migration as one atomic batch with its history row (capability `atomicBatch`, D1).
   * The row goes first, so two processes applying it at once collide on the history's key before
   * either's statements count; the loser finds the row there and gets `null`, to plan again. The row
   * records no duration: it is written before the statements run.
   */
  private *applyAsBatch(entry: R[number], direction: MigrationDirection): Step<AppliedStep | null> {
    this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
    const started = performance.now();
    if (entry.kind !== "sql") this.refuseUnsupportedMigrations([entry], direction);
    const script = scriptOf(entry, direction);
    if (script === null) throw yield* this.migrationFailed(entry, direction, new Error("it has no down section"), true, "body");
    try {
      yield* this.refuseParentRebuild(entry, direction);
    } catch (cause) {
      throw yield* this.migrationFailed(entry, direction, cause, true, "body");
    }
    try {
      const history = direction === "up" ? [] : collectWrites(this.store.failUnlessApplied(entry.version));
      // The history guard's triggers are made after stepwise's own writes and dropped after the script, inside the batch.
      const guarded = this.historyGuard?.wrapBatch ? yield* this.historyGuard.wrapBatch(entry, direction, script) : null;
      const check = this.store.failUnlessRecorded(entry.version, direction);
      yield { op: "batch", statements: [...history, ...collectWrites(this.record(entry, direction, null)), check, ...(guarded?.before ?? [])], script: guarded?.script ?? script };
    } catch (cause) {
      const keys = yield* this.store.readKeys();
      if (keys.some((key) => key.version === entry.version && key.startedAt === null) === (direction === "up")) return null;
      throw yield* this.migrationFailed(entry, direction, this.store.discardedRowError(entry.version, direction, cause), true, "body");
    }
    yield* this.commitTranslated();
    return this.migrated(entry, direction, performance.now() - started);
  }

  /**
   * Runs a `transaction: false` migration. A `started` row naming its owner commits first, so a
   * crash leaves a trace that stops the next run for a person to resolve, instead of a guess.
   */
  private *runWithoutTransaction(entry: R[number], direction: MigrationDirection, settingsBefore: ConnectionSettingsSnapshot): Step<AppliedStep> {
    // Taken before the started row commits, so no process sees the row without the lock held.
    const lock = this.settings.capabilities.fileLocking
      ? ((yield { op: "holdOwnerLock", tableName: this.store.tableName, busyTimeoutMs: this.settings.busyTimeoutMs }) as OwnerLockHandle | null)
      : null;
    try {
      const startedAt = new Date().toISOString();
      const owner = serializeMigrationOwner(currentMigrationOwner(lock?.fileName ?? (this.dialect.readOwnerSession ? yield* this.dialect.readOwnerSession() : null)));
      try {
        // Before the started row commits: a refusal here leaves nothing to resolve.
        yield* this.refuseParentRebuild(entry, direction);
        yield { op: "checkBody", entry, direction };
        if (direction === "up") yield* this.store.insertStarted({ version: entry.version, name: entry.name, checksum: entry.checksum, startedAt, owner });
        else yield* this.store.markStarted(entry.version, startedAt, owner);
        yield* commit();
      } catch (cause) {
        yield* rollbackQuietly();
        throw yield* this.migrationFailed(entry, direction, cause, true);
      }
      this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
      const started = performance.now();
      try {
        yield* this.runGuardedBody(entry, direction, false);
        if (yield* inTransaction()) {
          // Its last statements would commit, or be lost, with stepwise's bookkeeping.
          yield* rollbackQuietly();
          throw new Error("it left a transaction open (BEGIN without COMMIT); stepwise rolled back the statements that transaction held");
        }
        // The history write needs the manager's busy timeout, not `busy_timeout = 0` or `query_only = 1`.
        yield* this.restoreSettings(settingsBefore);
      } catch (cause) {
        throw yield* this.migrationFailed(entry, direction, cause, false, "body");
      }
      const durationMs = performance.now() - started;
      try {
        yield* begin("immediate");
        yield* this.record(entry, direction, durationMs);
        yield* commit();
      } catch (cause) {
        // The started row stays: the next run stops with INCOMPLETE_MIGRATION for "repair --applied".
        yield* rollbackQuietly();
        throw yield* this.migrationFailed(entry, direction, cause, false);
      }
      return this.migrated(entry, direction, durationMs);
    } finally {
      lock?.release();
    }
  }

  /** Runs `entry`'s body with the history table guarded; `inTransaction` is false for a `transaction: false` migration. */
  private *runGuardedBody(entry: R[number], direction: MigrationDirection, inTransaction: boolean): Step<void> {
    const historyGuard = this.historyGuard;
    const guarded = historyGuard !== null && (yield* historyGuard.enter(entry, direction, inTransaction));
    yield* this.runBody(entry, direction);
    if (guarded) yield* historyGuard.leave(entry, direction, inTransaction);
  }

  private *runBody(entry: R[number], direction: MigrationDirection): Step<void> {
    if (entry.kind === "sql") {
      const script = scriptOf(entry, direction);
      // Outside a transaction each statement commits alone, so sending them apart changes nothing and
      // names the one that fails; a script that manages its own transaction goes whole.
      const statements = !entry.transaction && script !== null && this.dialect.splitStatements ? this.dialect.splitStatements(script) : null;
      if (statements && !statements.some((statement) => TRANSACTION_CONTROL.test(statement.text))) {
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
      yield { op: "runBody", entry, direction, progress: () => undefined };
      return;
    }
    const progress = createProgressReporter({
      intervalMs: this.settings.progressIntervalMs,
      report: (measure) => this.emit({ type: "progress", direction, version: entry.version, name: entry.name, ...measure }),
    });
    yield { op: "runBody", entry, direction, progress };
  }

  /** Writes `entry`'s history row for `direction` (`durationMs` `null`: not measured). */
  private *record(entry: R[number], direction: MigrationDirection, durationMs: number | null): Step<void> {
    // Where the history guard reads (PostgreSQL): the table as the body left it, then as stepwise leaves it.
    const guardWrites = entry.transaction ? this.historyGuard?.writes : undefined;
    if (guardWrites) yield* exec(guardWrites.check);
    const mirror = this.settings.capabilities.userVersion;
    const rounded = durationMs === null ? null : Math.round(durationMs);
    if (direction === "down") {
      yield* this.store.deleteRow(entry.version);
      if (mirror) yield* setUserVersion(entry.version - 1);
    } else {
      if (entry.transaction) yield* this.store.insertApplied({ version: entry.version, name: entry.name, checksum: entry.checksum, appliedAt: new Date().toISOString(), durationMs: rounded });
      else yield* this.store.markApplied(entry.version, new Date().toISOString(), rounded ?? 0);
      if (mirror) yield* setUserVersion(entry.version);
    }
    if (guardWrites) yield* exec(guardWrites.capture);
  }

  /** See `refuseParentRebuild` in `foreign-key-rebuild.ts`. */
  private *refuseParentRebuild(entry: R[number], direction: MigrationDirection): Step<void> {
    yield* refuseParentRebuild(entry, direction, this.settings.capabilities.foreignKeySwitch, () => this.dialect.foreignKeysEnforced(), this.referencingTables);
  }

  /**
   * `error` naming where in its file the failing statement starts, for a rolled-back SQL migration
   * whose statement is not known yet: its statements run again one by one, after `before` (what a
   * whole run applied before it), in a transaction rolled back after (`sql-location.ts`).
   */
  private *locateFailedStatement(error: unknown, before: readonly string[]): Step<unknown> {
    if (!(error instanceof StepwiseError && error.is("MIGRATION_FAILED")) || isConnectionClosedError(error) || error.details.location !== null || !error.details.rolledBack) return error;
    const { details } = error;
    const split = this.dialect.splitStatements;
    const entry = this.entries.find((candidate) => candidate.version === details.version);
    if (split === undefined || entry === undefined || entry.kind !== "sql" || this.settings.capabilities.atomicBatch) return error;
    const location = yield* locateByRerun(entry, details.direction, split, before);
    return location === null ? error : withLocation(error, location);
  }

  /** Emits `skipped` for each entry of `previous` a re-plan no longer lists: another connection ran it. */
  private emitSkipped(direction: MigrationDirection, previous: readonly R[number][], stillPending: readonly R[number][]): void {
    const pending = new Set(stillPending);
    for (const entry of previous) {
      if (!pending.has(entry)) this.emit({ type: "skipped", direction, version: entry.version, name: entry.name, reason: "applied-elsewhere" });
    }
  }

  /** Sends an event to `onEvent` and the logger. */
  emit(event: MigrationEvent): void {
    this.settings.onEvent?.(event);
    if (this.settings.logger) this.settings.logger.info(describeEvent(event));
  }

  /** Throws `UNMANAGED_DATABASE` when the database has tables but no history table. */
  *refuseUnmanagedDatabase(): Step<void> {
    // One statement: another process's first migration creates both in one commit.
    const tables = (yield* this.dialect.readSchemaObjects({ types: ["table"] })).map((object) => object.name);
    if (tables.some((name) => this.store.isNamed(name))) return;
    if (tables.length > 0) throw unmanagedDatabaseError(tables);
  }

  /**
   * Refuses, before anything runs, a migration this driver cannot apply as promised: one that needs
   * foreign keys switched off where the storage cannot, or a TypeScript one where each migration is
   * one batch (D1), whose code cannot be made atomic there.
   */
  refuseUnsupportedMigrations(entries: readonly MigrationEntry[], direction: MigrationDirection): void {
    const { capabilities, driverName: driver } = this.settings;
    const needsSwitch = capabilities.foreignKeySwitch ? undefined : entries.find((entry) => entry.disableForeignKeys);
    if (needsSwitch) throw driverCapabilityError({ driver, capability: "foreignKeySwitch", operation: "a disableForeignKeys migration", file: needsSwitch.file, fix: FOREIGN_KEY_SWITCH_FIX });
    const code = capabilities.atomicBatch ? entries.find((entry) => entry.transaction && entry.kind !== "sql") : undefined;
    if (code) throw driverCapabilityError({ driver, capability: "atomicBatch", operation: `a TypeScript migration (${direction})`, file: code.file, fix: BATCHED_CODE_FIX });
  }

  /**
   * Runs `step` with the busy timeout applied and failures translated to typed errors, then restores
   * the caller's busy timeout. Safety nets wrap their own steps in it too.
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
        const holders = (yield { op: "lockHolders" }) as LockHolder[];
        if (holders.length > 0) throw databaseLockedError(error.details.busyTimeoutMs, error.cause, holders, error.details.waitedMs);
      }
      throw error;
    } finally {
      if (previous !== wanted) yield { op: "setBusyTimeout", ms: previous };
    }
  }

  /**
   * Runs `attempt`, waiting (up to the busy timeout) while a `started` row shows another live process
   * running a `transaction: false` migration; only a row whose owner is gone is reported as incomplete.
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
        if (row === null) continue; // finished between our two reads
        const owner = parseMigrationOwner(row.owner);
        const liveness = yield* this.assessOwner(owner);
        if (liveness !== "alive" && liveness !== "unknown") {
          // The owner may have finished between our read and the probe: only the same row still there proves it gone.
          if ((yield* this.store.readStartedRow(details.version))?.owner !== row.owner) continue;
          throw error;
        }
        waitingSince ??= performance.now();
        const waitedMs = Math.round(performance.now() - waitingSince);
        if (waitedMs >= busyTimeoutMs) {
          throw migrationInProgressError({ version: details.version, file: details.file, startedAt: details.startedAt, owner: owner && { pid: owner.pid, host: owner.host }, waitedMs });
        }
        yield { op: "sleep", ms: Math.min(WAIT_POLL_MS, busyTimeoutMs - waitedMs) };
      }
    }
  }

  /** Whether a recorded owner still runs: its owner lock or server session when the driver can probe it, else its pid. */
  *assessOwner(owner: MigrationOwner | null): Step<OwnerLiveness> {
    if (owner?.lockFile && this.dialect.probeOwnerSession) return assessMigrationOwner(owner, yield* this.dialect.probeOwnerSession(owner.lockFile));
    const lock = owner?.lockFile && this.settings.capabilities.fileLocking ? ((yield { op: "probeOwnerLock", fileName: owner.lockFile }) as "held" | "free" | "unknown") : null;
    return assessMigrationOwner(owner, lock);
  }

  /** Drops every table, view, index and trigger in one write section, then applies everything. */
  *reset(): Step<MigrationResult> {
    yield* refuseOpenTransaction(this.settings.driverName, "reset");
    yield* this.withConnectionSettings(
      function* (this: Executor<R>): Step<void> {
        const restoreForeignKeys = yield* this.switchOffForeignKeys();
        try {
          yield* this.beginImmediate();
          // Where foreign keys stay on (Durable Objects, D1), children go first, and the check waits for the commit.
          const enforced = !restoreForeignKeys && this.dialect.name === "sqlite";
          if (enforced) yield* exec("PRAGMA defer_foreign_keys = ON");
          const sorted = (yield* this.dialect.readSchemaObjects()).sort((a, b) => DROP_ORDER[a.type] - DROP_ORDER[b.type]);
          for (const object of enforced ? yield* orderChildrenFirst(sorted) : sorted) yield* exec(this.dialect.dropObjectSql(object));
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
   * shows, a history table stepwise cannot read, another tool's tables (only when something is
   * pending, as `up` refuses them only then), a pending migration this driver cannot apply, and a
   * `transaction: false` migration still running elsewhere (`MIGRATION_IN_PROGRESS`, as `up` reports it).
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

  private *stillRunning(status: MigrationStatus): Step<StepwiseError<"MIGRATION_IN_PROGRESS"> | null> {
    const row = status.problem?.code === "INCOMPLETE_MIGRATION" ? status.migrations.find((migration) => migration.state === "incomplete") : undefined;
    if (!row) return null;
    const started = yield* this.withConnectionSettings(this.store.readStartedRow(row.version));
    const owner = parseMigrationOwner(started?.owner ?? null);
    const liveness = yield* this.assessOwner(owner);
    if (liveness !== "alive" && liveness !== "unknown") return null;
    return migrationInProgressError({ version: row.version, file: row.file, startedAt: row.appliedAt ?? "", owner: owner && { pid: owner.pid, host: owner.host }, waitedMs: 0 });
  }

  /** The failure's `SQLITE_*` code as the driver reads it, or `null`. */
  private sqliteCodeOf(error: unknown): string | null {
    const code = classifySafely(this.settings.classifyError, error).nativeCode;
    return code !== null && code.startsWith("SQLITE_") ? code : null;
  }

  /** The typed error for a failure a user can act on, read through the driver. */
  private translateError(error: unknown): unknown {
    return this.dialect.translateError(error, this.settings.busyTimeoutMs, classifySafely(this.settings.classifyError, error));
  }

  /** The error for `entry`'s failure; `origin` says who ran what failed. */
  private *migrationFailed(entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin: FailureOrigin = "stepwise"): Step<StepwiseError> {
    // Recording nothing would let the next plan run it again; the store writes a trace back instead.
    if (isInstanceSafely(cause, StepwiseError) && cause.is("HISTORY_ROW_MISSING")) return yield* this.store.reportMissingRow(cause, entry, direction, rolledBack, new Date().toISOString());
    if (isInstanceSafely(cause, StepwiseError) && cause.code !== "ASYNC_IN_SYNC_RUNNER") return cause;
    const change = this.historyGuard ? this.historyChange(cause, origin) : null;
    if (change !== null) {
      const historyChanged = !rolledBack && change.startsWith("the table");
      return historyChangedByMigrationError({ version: entry.version, file: entry.file, direction, table: this.store.tableName, change, rolledBack, historyChanged, cause });
    }
    const classification = classifySafely(this.settings.classifyError, cause);
    const described = this.dialect.describeFailure && (yield* this.dialect.describeFailure({ entry, direction, cause, rolledBack, origin, classification, store: this.store }));
    if (described) return described;
    const sqliteCode = this.sqliteCodeOf(cause);
    if (rolledBack && sqliteCode?.startsWith("SQLITE_FULL")) return diskFullError({ version: entry.version, file: entry.file, sqliteCode, cause });
    // A read-only, locked or corrupt database is the environment's fault, not the migration's.
    const environmental = rolledBack && this.isEnvironmental(cause, sqliteCode, origin) && !(yield* this.isQueryOnlyRefusal(sqliteCode)) ? this.translateError(cause) : cause;
    if (isInstanceSafely(environmental, StepwiseError) && environmental.code !== "ASYNC_IN_SYNC_RUNNER") return environmental;
    const foreignKeyRebuild = yield* readForeignKeyRebuildHint(entry, direction, sqliteCode, cause, this.settings.capabilities.foreignKeySwitch);
    const location = origin === "body" ? locateFromFailure(entry, direction, cause) : null;
    return migrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack, foreignKeyRebuild, location });
  }

  /** How a failure says the migration changed the history table under the guard, or `null`. */
  private historyChange(cause: unknown, origin: FailureOrigin): string | null {
    if (isHistoryGuardRefusal(cause)) return "a row inserted, updated or deleted; the write was refused";
    const message = isInstanceSafely(cause, Error) ? cause.message : "";
    // A trigger of the guard gone when it was dropped (inside a D1 batch): the table went with it.
    if (message.includes("no such trigger") && message.includes(GUARD_TABLE_PREFIX)) return "the table dropped or replaced";
    // Stepwise's own history write failed for want of the table or a column: renamed or altered.
    const gone = /no such (?:table|column)|has no column named/.test(message) && message.toLowerCase().includes(this.store.tableName.toLowerCase());
    return origin === "stepwise" && gone ? "the table renamed or altered" : null;
  }

  /**
   * Whether a failure is the environment's rather than the migration's. Never a value that is no
   * `Error` (the app's own value that merely looks like one); and from a body, never a lock, an
   * unopenable or a non-database file: stepwise holds the main database, so those come from something
   * the body reached for (an ATTACHed file, a connection of its own).
   */
  private isEnvironmental(cause: unknown, sqliteCode: string | null, origin: FailureOrigin): boolean {
    if (!isInstanceSafely(cause, Error)) return false;
    if (origin !== "body" || sqliteCode === null) return true;
    const kind = kindOfSqliteCode(sqliteCode);
    return kind !== "locked" && kind !== "cantopen" && kind !== "notadb";
  }

  /** A write refused because a migration ran `PRAGMA query_only = 1`: the migration's failure, not a read-only file. */
  private *isQueryOnlyRefusal(sqliteCode: string | null): Step<boolean> {
    if (sqliteCode !== "SQLITE_READONLY") return false;
    try {
      return (yield* queryValue("PRAGMA query_only")) === 1;
    } catch {
      return false;
    }
  }

  /** Turns enforcement off (a no-op inside a transaction, hence before BEGIN); true when it was on. */
  private *switchOffForeignKeys(): Step<boolean> {
    if (!this.settings.capabilities.foreignKeySwitch) return false;
    if ((yield* queryValue("PRAGMA foreign_keys")) !== 1) return false;
    yield* exec("PRAGMA foreign_keys = OFF");
    return true;
  }

  private *beginImmediate(): Step<void> {
    try {
      yield* begin("immediate");
    } catch (error) {
      throw this.translateError(error);
    }
  }

  private *commitTranslated(): Step<void> {
    try {
      yield* commit();
    } catch (error) {
      throw this.translateError(error);
    }
  }
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
 * `objects` with every table before the tables it references: `reset`'s order where foreign keys stay
 * enforced, since dropping a parent that children still reference fails (and D1 commits each
 * statement alone). Other objects keep their places; a cycle keeps its order.
 */
function* orderChildrenFirst(objects: readonly SchemaObject[]): Step<SchemaObject[]> {
  const tables = objects.filter((object) => object.type === "table");
  const references = new Map<string, Set<string>>();
  for (const table of tables) {
    const rows = yield* query<{ table: string }>(`SELECT "table" FROM pragma_foreign_key_list(?)`, [table.name]);
    references.set(table.name.toLowerCase(), new Set(rows.map((row) => String(row.table).toLowerCase()).filter((name) => name !== table.name.toLowerCase())));
  }
  const ordered: SchemaObject[] = [];
  let left = tables;
  while (left.length > 0) {
    const free = left.filter((table) => !left.some((other) => other !== table && references.get(other.name.toLowerCase())!.has(table.name.toLowerCase())));
    const next = free.length > 0 ? free : left;
    ordered.push(...next);
    left = left.filter((table) => !next.includes(table));
  }
  let index = 0;
  return objects.map((object) => (object.type === "table" ? ordered[index++]! : object));
}

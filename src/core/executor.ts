/** The migration algorithm, written once as generators of operations that a sync or an async runner performs: lock, plan again if another connection committed, run, record, commit. */
import { StepwiseError, type ForeignKeyViolation, type StepwiseErrorDetails } from "./errors.js";
import type { Dialect, FailureOrigin } from "./dialect.js";
import { sqliteDialectFor } from "./dialects/sqlite.js";
import { driverCapabilityError, type DriverCapabilities, type ErrorClassification } from "./driver.js";
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
  usageError,
  copyFailure,
  classifySafely,
  toPlainError,
  kindOfSqliteCode,
  isInstanceSafely,
  resetFailedError,
  incompleteMigrationError,
  historyWriteRefusedError,
  recordNativeError,
  firstLineOf,
  describeThrownValue,
  afterCommitted,
  rolledBackAfter,
  describeCommittedSteps,
} from "./error-factories.js";
import { describeEvent, type MigrationEvent, type MigrationLogger } from "./events.js";
import { readForeignKeyRebuildHint, ReferencingTables, refuseParentRebuild } from "./foreign-key-rebuild.js";
import { HISTORY_GUARD_MARK, historyChangedError, type HistoryGuard } from "./history-guard.js";
import { isHistoryInsertFailure, setUserVersion, type HistoryStore } from "./history.js";
import { assessMigrationOwner, currentMigrationOwner, holdOwnership, parseMigrationOwner, serializeMigrationOwner, ownerDetails, type MigrationOwner, type OwnerLiveness } from "./migration-owner.js";
import { DEFAULT_TRANSACTION_MODE, optionsObject, TRANSACTION_MODES, type AppliedStep, type DownOptions, type MigrationResult, type TransactionMode, type UpOptions } from "./options.js";
import { runCall, text } from "./option-text.js";
import { describeStatus, planDown, planUp, type AppliedMigration, type AppliedMigrationKey, type MigrationPlan, type MigrationStatus } from "./planner.js";
import { createProgressReporter } from "./progress.js";
import type { ConnectionSettingsSnapshot } from "./connection-settings.js";
import type { SchemaObject, SchemaObjectKind } from "./schema-objects.js";
import { findInCauseChain, locateByBatch, locateByRerun, locateFromFailure, NUL_IN_SQL, recordFailedStatement, scriptOf, transactionHeadOf } from "./sql-location.js";
import { begin, callDriver, refuseOpenTransaction, changeCounter, collectWrites, commit, exec, ignoreRejection, inTransaction, query, queryValue, rollbackQuietly, type Step } from "./step.js";
import { GUARD_TABLE_PREFIX, isAutomaticRollbackError, needsEscapeGuard, type EscapeGuardRun } from "./transaction-guard.js";
import type { MigrationDirection, MigrationEntry, MigrationRegistry } from "./types.js";
import { refuseWholeRunObstacles } from "./whole-run-transaction.js";

/** The executor's settings and what the driver declared. */
export interface ExecutorSettings {
  readonly tableName: string;
  readonly busyTimeoutMs: number;
  readonly progressIntervalMs: number | undefined;
  readonly onEvent: ((event: MigrationEvent) => void) | undefined;
  readonly logger: MigrationLogger | null;
  readonly driverName: string;
  readonly capabilities: DriverCapabilities;
  readonly classifyError: (error: unknown) => ErrorClassification;
  /** Default: SQLite's, for the driver's capabilities. */
  readonly dialect?: Dialect;
}

/** A `started` row whose owner may still run it: its migration, and who runs it (`MIGRATION_IN_PROGRESS`'s fields). */
type LiveStartedRow = { version: number; file: string; startedAt: string; who: Pick<StepwiseErrorDetails["MIGRATION_IN_PROGRESS"], "owner" | "serverSession"> };

/** Where a run is in its plan, which a re-plan under the lock may replace. */
interface Walk<E extends MigrationEntry> {
  readonly direction: MigrationDirection;
  /** `transaction: "all"`. */
  readonly all: boolean;
  /** Plans again from the history's keys `applied`, read under the write lock, refusing what this run cannot apply. */
  readonly replan: (applied: AppliedMigrationKey[], locked: true) => Step<MigrationPlan<E>>;
  readonly ran: AppliedStep[];
  /** Taken before the first migration that could change a setting; `null` until then. */
  settingsBefore: ConnectionSettingsSnapshot | null;
  queue: readonly E[];
  /** The queue's last migration that could change a setting, or -1: asked of every pending one on each turn, a 1,000-migration run would read each script a thousand times. */
  lastSetting: number;
  next: number;
  toVersion: number;
  /** The change counter the queue was planned at. */
  counter: number | null;
  ensured: boolean;
  /** Another process applied the entry about to run (its batch collided on the history key). */
  stale: boolean;
  uncommitted: { readonly entry: E; readonly durationMs: number }[];
}

const WAIT_POLL_MS = 25;
/** Errors a body gets from misusing stepwise (an async body under the sync runner, a stepwise call on the connection it runs on): the migration failed, they are its cause. */
const BODY_MISUSE_CODES: ReadonlySet<string> = new Set(["ASYNC_IN_SYNC_RUNNER", "ASYNC_RUN_IN_PROGRESS"]);
const TRANSACTION_CONTROL = /^(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|START|ABORT|PREPARE)\b/i;

const FOREIGN_KEY_SWITCH_FIX =
  'Remove "foreign_keys:off" (disableForeignKeys) and change the table in place (ALTER TABLE ... ADD, RENAME or DROP COLUMN), which keeps every reference to it; or rebuild the tables that reference it in the same migration after "PRAGMA defer_foreign_keys = ON", which checks references when the migration commits (ON DELETE actions still fire when a parent table is dropped).';
const BATCHED_CODE_FIX = "Its code cannot run inside the one batch that applies a migration with its history row; write it as a .sql migration.";

/** `reset` drops what names a table before the table. */
const DROP_ORDER: Readonly<Record<SchemaObjectKind, number>> = { trigger: 0, view: 1, index: 2, table: 3 };

/** The algorithm over one registry and one history table: every method returns a {@link Step} for a runner; none performs I/O itself. */
export class Executor<R extends MigrationRegistry = MigrationRegistry> {
  readonly migrations: R;
  readonly settings: ExecutorSettings;
  readonly dialect: Dialect;
  readonly store: HistoryStore;
  private historyGuard: HistoryGuard | null = null;
  /** Made before the first migration that needs it. */
  private escapeGuard: EscapeGuardRun | null = null;
  /** Whether the history table was there before the current transaction (not created in it, where a rollback takes it along). */
  private historyTableBeforeTransaction = false;
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

  /** Applies pending migrations up to `options.to`; see `MigrationManager.up`. `droppedFirst`: `reset` committed its drops before, which a failure's message says. */
  *up(options: UpOptions = {}, droppedFirst = false): Step<MigrationResult> {
    return yield* this.runPlan("up", options, (applied) => planUp(this.entries, applied, { to: options.to }), droppedFirst);
  }

  /** Reverts applied migrations; see `MigrationManager.down`. */
  *down(options: DownOptions = {}): Step<MigrationResult> {
    // `steps` counts from where the database stood when the call first held the write lock (another process may have applied more since the first read): every later
    // plan aims at the version that one chose.
    let target: DownOptions = options;
    return yield* this.runPlan("down", options, (applied, locked) => {
      const plan = planDown(this.entries, applied, target);
      if (locked) target = { to: plan.toVersion };
      return plan;
    });
  }

  private *runPlan(
    direction: MigrationDirection,
    options: { readonly transaction?: TransactionMode },
    plan: (applied: AppliedMigrationKey[], locked: boolean) => MigrationPlan<R[number]>,
    droppedFirst = false,
  ): Step<MigrationResult> {
    const mode = optionsObject(options, direction).transaction ?? DEFAULT_TRANSACTION_MODE;
    // Any other value read as "each" would commit migration by migration a run the caller meant to be all or nothing.
    if (!TRANSACTION_MODES.includes(mode)) throw usageError(`transaction must be ${TRANSACTION_MODES.map((name) => JSON.stringify(name)).join(" or ")}; got ${JSON.stringify(mode) ?? String(mode)}.`);
    yield* refuseOpenTransaction(this.settings.driverName, direction);
    this.referencingTables.forget();
    const all = mode === "all";
    // Where the database stood when the run first held the write lock: the first read, outside it, may be behind another process's run.
    let fromVersion: number | null = null;
    const replan = function* (this: Executor<R>, applied: AppliedMigrationKey[], locked = false): Step<MigrationPlan<R[number]>> {
      const fresh = plan(applied, locked);
      if (locked) fromVersion ??= fresh.fromVersion;
      if (all && this.settings.capabilities.atomicBatch) {
        const fix = text`Each migration is ${direction === "up" ? "applied" : "reverted"} atomically on its own; run ${runCall(direction)} instead.`;
        throw driverCapabilityError({ driver: this.settings.driverName, capability: "atomicBatch", operation: [runCall(direction, { transaction: "all" })], fix });
      }
      if (all) yield* refuseWholeRunObstacles(this, fresh.steps, direction);
      else this.refuseUnsupportedMigrations(fresh.steps, direction);
      return fresh;
    }.bind(this);
    const ran: AppliedStep[] = [];
    const attempt = function* (this: Executor<R>): Step<MigrationResult> {
      const { steps, toVersion, fromVersion: current } = yield* replan(yield* this.store.readKeys());
      if (steps.length === 0) {
        this.emit({ type: "nothing-pending", direction, currentVersion: current });
        return { direction, fromVersion: fromVersion ?? current, toVersion, steps: ran };
      }
      // No counter yet: the first transaction plans again under the lock.
      const walk: Walk<R[number]> = {
        direction,
        all,
        replan,
        ran,
        queue: steps,
        lastSetting: this.lastSettingIndex(steps, direction),
        toVersion,
        next: 0,
        counter: null,
        settingsBefore: null,
        ensured: false,
        stale: false,
        uncommitted: [],
      };
      const reached = yield* this.walk(walk);
      return { direction, fromVersion: fromVersion ?? current, toVersion: reached, steps: ran };
    };
    try {
      return yield* this.withConnectionSettings(this.waitWhileAnotherProcessMigrates(attempt.bind(this)));
    } catch (error) {
      const committed = [droppedFirst ? "dropped every object of the database" : null, describeCommittedSteps(direction, ran)].filter((part) => part !== null).join(", then ");
      throw committed === "" ? error : afterCommitted(error, committed);
    }
  }

  /** Runs the plan with the run's guards, then puts the connection back as the run found it. */
  private *walk(walk: Walk<R[number]>): Step<number> {
    this.historyGuard = this.dialect.guardHistory?.(this.store) ?? null;
    this.escapeGuard = null;
    let failed = true;
    try {
      for (;;) {
        // What a transaction cannot change (the witness table, foreign_keys) is prepared for the entry expected next.
        const expected = walk.queue[walk.next];
        if (this.needsSettingsSnapshot(walk)) {
          walk.settingsBefore = yield* this.dialect.snapshotConnectionSettings!(this.everyScript());
        }
        const guard = expected !== undefined && this.needsGuard(walk.all || expected, walk.direction);
        if (guard && this.escapeGuard === null) this.escapeGuard = yield* this.dialect.startEscapeGuard!();
        const restoreForeignKeys = expected?.disableForeignKeys ? yield* this.switchOffForeignKeys() : false;
        try {
          if (yield* this.attempt(walk, expected)) {
            failed = false;
            return walk.toVersion;
          }
        } catch (error) {
          yield* this.rollbackAfter(error);
          // Inside the try: the statements run again with foreign keys as the migration had them.
          throw yield* this.locateFailedStatement(error, walk);
        } finally {
          if (restoreForeignKeys) yield* exec("PRAGMA foreign_keys = ON");
        }
      }
    } finally {
      yield* rollbackQuietly();
      yield* this.restoreSettings(walk.settingsBefore, failed);
      const escapeGuard = this.escapeGuard as EscapeGuardRun | null;
      const historyGuard = this.historyGuard as HistoryGuard | null;
      this.escapeGuard = null;
      this.historyGuard = null;
      if (escapeGuard) yield* escapeGuard.close();
      if (historyGuard) yield* historyGuard.remove();
    }
  }

  /** One transaction under the write lock: plans again if another connection committed, runs the next migration (all of them in a whole run), commits; true when done. */
  private *attempt(walk: Walk<R[number]>, expected: R[number] | undefined): Step<boolean> {
    const direction = walk.direction;
    // A whole run never holds a migration with a head: whole-run-transaction.ts refuses it.
    const head = walk.all ? "" : transactionHeadOf(expected, direction, this.dialect);
    try {
      yield* begin("immediate", head);
    } catch (cause) {
      // The head is the migration's SQL: its failure (a typo, a snapshot gone) is the migration's.
      if (head === "") throw cause;
      yield* rollbackQuietly();
      throw yield* this.migrationFailed(expected!, direction, cause, true, "body");
    }
    walk.uncommitted = [];
    const counter = yield* changeCounter();
    // An escape is judged against what was read before stepwise wrote in the transaction.
    if (this.escapeGuard) yield* this.escapeGuard.readStart(counter);
    // Under the write lock: another process may create the history table meanwhile.
    const ensuring = !walk.ensured;
    if (ensuring && direction === "up") yield* this.refuseUnmanagedDatabase();
    const created = ensuring && (yield* this.store.ensure());
    this.historyTableBeforeTransaction = !created;
    walk.ensured = true;
    if (walk.stale || counter === null || counter !== walk.counter) {
      const fresh = yield* walk.replan(created ? [] : yield* this.store.readKeys(ensuring), true);
      const pending = new Set(fresh.steps);
      for (const entry of walk.queue.slice(walk.next)) {
        if (!pending.has(entry)) this.emit({ type: "skipped", direction, version: entry.version, name: entry.name, reason: "applied-elsewhere" });
      }
      Object.assign(walk, { queue: fresh.steps, lastSetting: this.lastSettingIndex(fresh.steps, direction), next: 0, toVersion: fresh.toVersion, counter, stale: false });
      // A migration planned only now may change a setting: the snapshot is taken outside the transaction.
      if (this.needsSettingsSnapshot(walk)) {
        yield* commit();
        return false;
      }
    }
    for (;;) {
      const entry = walk.queue[walk.next];
      if (entry === undefined) {
        yield* this.commitWalk(walk);
        if (walk.all && walk.ran.length === 0) this.emit({ type: "nothing-pending", direction, currentVersion: walk.toVersion });
        return true;
      }
      const guarded = this.needsGuard(entry, direction);
      const beganOtherwise = entry.disableForeignKeys !== Boolean(expected?.disableForeignKeys) || transactionHeadOf(entry, direction, this.dialect) !== head;
      if (!walk.all && (beganOtherwise || (guarded && this.escapeGuard === null))) {
        yield* commit();
        return false;
      }
      if (!entry.transaction) {
        // It puts back the settings its PRAGMAs changed at once: the migrations after it run with the connection as the app set it.
        const step = yield* this.runWithoutTransaction(entry, direction, walk.settingsBefore, walk.ran);
        if (step === null) {
          walk.stale = true;
          return false;
        }
        if (this.escapeGuard) yield* this.escapeGuard.renew();
        return ++walk.next === walk.queue.length;
      }
      const durationMs = this.settings.capabilities.atomicBatch ? yield* this.applyAsBatch(entry, direction) : yield* this.applyBody(entry, direction, guarded);
      if (durationMs === null) {
        walk.stale = true;
        yield* commit();
        return false;
      }
      walk.uncommitted.push({ entry, durationMs });
      walk.next++;
      // In one transaction too: the next migration runs with the connection as the app set it, not as this one's SET or PRAGMA left it.
      if (walk.all) yield* this.restoreSettingsAfter(entry, direction, walk.settingsBefore);
      if (!walk.all) {
        yield* this.commitWalk(walk);
        // A session's SET outlives the transaction (PostgreSQL), as a PRAGMA does: the next migration runs with the connection as the app set it.
        yield* this.restoreSettingsAfter(entry, direction, walk.settingsBefore);
        // Done: another process's later commits change nothing this plan asked for.
        return walk.next === walk.queue.length;
      }
    }
  }

  /** Commits the open transaction; a failure is its last migration's, rolled back. */
  private *commitWalk(walk: Walk<R[number]>): Step<void> {
    const last = walk.uncommitted[walk.uncommitted.length - 1];
    if (last === undefined) return yield* commit();
    try {
      yield* commit();
    } catch (cause) {
      yield* rollbackQuietly();
      const failure = yield* this.migrationFailed(last.entry, walk.direction, cause, true, "commit");
      // A constraint checked only at COMMIT (a deferred foreign key) may have been broken by any migration the transaction held, not only its last: the error says which it held.
      const atCommit = { versions: walk.uncommitted.map(({ entry }) => entry.version) };
      throw isInstanceSafely(failure, StepwiseError) && failure.is("MIGRATION_FAILED") ? copyFailure(failure, { atCommit }) : failure;
    }
    for (const { entry, durationMs } of walk.uncommitted) this.migrated(entry, walk.direction, durationMs, walk.ran);
    walk.uncommitted = [];
  }

  /** Adds `entry`'s committed step to `ran`, then tells the listeners: one that throws stops the run, and what the run committed must still count it. */
  private migrated(entry: R[number], direction: MigrationDirection, durationMs: number, ran: AppliedStep[]): AppliedStep {
    const step = { version: entry.version, name: entry.name, durationMs };
    ran.push(step);
    this.emit({ type: "migrated", direction, ...step });
    return step;
  }

  /**
   * Puts back what `entry` may have changed: in full after a migration that names a setting, else, where SQL reaches code that may change one unnamed (PostgreSQL's functions,
   * triggers), once a cheap probe of the settings that decide where and as whom the next migration runs finds one changed.
   */
  private *restoreSettingsAfter(entry: MigrationEntry, direction: MigrationDirection, before: ConnectionSettingsSnapshot | null): Step<void> {
    const named = this.mayChangeSettings(entry, direction);
    if (named || this.dialect.sqlReachesSettings === true) yield* this.restoreSettings(before, false, !named);
  }

  /** Puts back the settings a migration changed, outside any transaction; after a failure, never hides it. */
  private *restoreSettings(before: ConnectionSettingsSnapshot | null, failed = false, probeFirst = false): Step<void> {
    try {
      if (before && this.dialect.restoreConnectionSettings) yield* this.dialect.restoreConnectionSettings(before, failed, probeFirst);
    } catch (error) {
      if (!failed) throw error;
    }
  }

  /**
   * Whether `entry` names a way to change a connection setting: code; SQL naming a PRAGMA, `set_config`, `pg_settings` (an `UPDATE` of it) or an escaped identifier (`U&"set\005fconfig"`);
   * or SQL with a statement of its own that starts `SET`, `RESET` or `DISCARD`, or a `DO` block or `CALL`.
   */
  private mayChangeSettings(entry: MigrationEntry, direction: MigrationDirection): boolean {
    const script = scriptOf(entry, direction);
    if (entry.kind !== "sql" || /pragma|set_config|attach|pg_settings|u&"/i.test(script ?? "")) return true;
    if (script === null || !/\b(set|reset|discard)\b/i.test(script)) return false;
    return this.dialect.splitStatements?.(script).some((statement) => /^(set|reset|discard|do|call)\b/i.test(statement.text)) ?? true;
  }

  /** The SQL of every migration, up and down, made once: a custom setting a run's SQL changes may be named only by an earlier migration (a function it made). */
  private everyScript(): readonly string[] {
    return (this.scripts ??= this.entries.flatMap((entry) => (["up", "down"] as const).map((direction) => scriptOf(entry, direction) ?? "")));
  }

  private scripts: readonly string[] | undefined;

  /** Whether a migration left to run could change a connection setting while none is snapshotted (any, where SQL reaches code that may). */
  private needsSettingsSnapshot(walk: Walk<R[number]>): boolean {
    return walk.settingsBefore === null && this.dialect.snapshotConnectionSettings !== undefined && walk.lastSetting >= walk.next;
  }

  /** Where `queue`'s last migration that could change a setting is, or -1; any can, where SQL reaches code that may. */
  private lastSettingIndex(queue: readonly R[number][], direction: MigrationDirection): number {
    if (this.dialect.snapshotConnectionSettings === undefined) return -1;
    return this.dialect.sqlReachesSettings === true ? queue.length - 1 : queue.findLastIndex((entry) => this.mayChangeSettings(entry, direction));
  }

  /** Whether `entry` (any, when `true`) runs under the escape guard. */
  private needsGuard(entry: R[number] | true, direction: MigrationDirection): boolean {
    const can = this.dialect.startEscapeGuard !== undefined && this.settings.capabilities.savepoints;
    return can && (entry === true || (entry.transaction && needsEscapeGuard(entry, direction)));
  }

  /** Runs a body in the open transaction, checks what it left (our transaction, the foreign keys) and writes its history row; returns its duration, throws for a rollback. */
  private *applyBody(entry: R[number], direction: MigrationDirection, guarded: boolean): Step<number> {
    this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
    const started = performance.now();
    const guard = guarded ? this.escapeGuard! : null;
    if (guard) yield* guard.enter();
    let failure: { readonly cause: unknown } | null = null;
    // Dangling keys already there (left by an earlier run with foreign keys off, an adopted tool's) are not this migration's to answer for.
    const dangling = entry.disableForeignKeys ? yield* query<ForeignKeyViolation>("PRAGMA foreign_key_check") : null;
    try {
      yield* this.refuseParentRebuild(entry, direction);
      yield* this.runBody(entry, direction, true);
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
      if (dangling) {
        const violations = addedDangling(dangling, yield* query<ForeignKeyViolation>("PRAGMA foreign_key_check"));
        if (violations.length > 0) {
          throw foreignKeyViolationError({ version: entry.version, file: entry.file, direction, violations: violations.map(({ table, rowid, parent }) => ({ table, rowid, parent })) });
        }
      }
      yield* this.record(entry, direction, durationMs);
    } catch (cause) {
      throw yield* this.migrationFailed(entry, direction, cause, true);
    }
    return durationMs;
  }

  /** `TRANSACTION_ESCAPED`, or the body's own failure when SQLite rolled back by itself (a full disk). */
  private *escaped(entry: R[number], direction: MigrationDirection, failure: { readonly cause: unknown } | null, guard: EscapeGuardRun): Step<StepwiseError> {
    // A transaction still open is a new one the migration began after ending ours.
    const replaced = yield* inTransaction();
    // Only after our rollback does the witness tell whether the migration committed anything.
    yield* rollbackQuietly();
    const committed = yield* guard.judge();
    // A lost server ended the transaction, not the migration: the server discards what it left uncommitted, and a client may still report the dead transaction open (a WebSocket's).
    const lost = failure !== null && classifySafely(this.settings.classifyError, failure.cause).kind === "lost";
    if (failure && committed !== "yes" && (lost || (!replaced && isAutomaticRollbackError(this.sqliteCodeOf(failure.cause))))) {
      return yield* this.migrationFailed(entry, direction, failure.cause, true, "body");
    }
    // A table that was there before the transaction and is gone after it: the body dropped or renamed it where the drop stays, whatever became of the transaction.
    if (this.historyTableBeforeTransaction && (yield* this.historyTableGone())) {
      const gone = historyChangedError(this.store.tableName, entry, direction, false, "the table dropped or renamed", failure?.cause);
      return transactionEscapedError({ version: entry.version, file: entry.file, direction, committed, cause: gone });
    }
    // The history guard's triggers were made in our transaction, so a rollback takes them along: only after a commit does their absence say the table went.
    const cause = failure && !(committed !== "yes" && isHistoryGuardVerdict(failure.cause)) ? { cause: failure.cause } : {};
    return transactionEscapedError({ version: entry.version, file: entry.file, direction, committed, ...cause });
  }

  /** Whether the history table is gone, read outside any transaction: dropped or renamed, or something else (a view) under its name; `false` when the read fails (a lost connection). */
  private *historyTableGone(): Step<boolean> {
    try {
      return !(yield* this.store.exists());
    } catch (error) {
      return error instanceof StepwiseError && error.is("HISTORY_TABLE_INVALID");
    }
  }

  /**
   * Applies a SQL migration as one atomic batch with its history row (D1). The row goes first, so two processes collide on the history's key before either's statements
   * count; the loser gets `null`, to plan again. The row records no duration.
   */
  private *applyAsBatch(entry: R[number], direction: MigrationDirection): Step<number | null> {
    this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
    const started = performance.now();
    const script = scriptOf(entry, direction);
    try {
      if (script === null) throw new Error("it has no down section");
      if (script.includes("\0")) throw new Error(NUL_IN_SQL);
      yield* this.refuseParentRebuild(entry, direction);
    } catch (cause) {
      throw yield* this.migrationFailed(entry, direction, cause, true, "body");
    }
    try {
      const history = direction === "up" ? [] : [this.store.failUnlessApplied(entry.version)];
      // The history guard's triggers are made after stepwise's own writes and dropped after the script, inside the batch.
      const guarded = this.historyGuard?.wrapBatch ? yield* this.historyGuard.wrapBatch(entry, direction, script) : null;
      const statements = [...history, ...collectWrites(this.record(entry, direction, null)), this.store.failUnlessRecorded(entry.version, direction), ...(guarded?.before ?? [])];
      yield* callDriver("batch", statements, guarded?.script ?? script);
    } catch (cause) {
      const keys = yield* this.store.readKeys();
      if (keys.some((key) => key.version === entry.version && key.startedAt === null) === (direction === "up")) return null;
      throw (
        (direction === "up" ? yield* this.refusedHistoryRow(entry) : null) ??
        (yield* this.migrationFailed(entry, direction, this.store.discardedRowError(entry.version, direction, cause), true, "body"))
      );
    }
    return performance.now() - started;
  }

  /**
   * `HISTORY_TABLE_INVALID` when the history table refuses `entry`'s row on its own, else `null`. D1's error names no statement of the batch, so the row is tried again alone, in a batch
   * whose last statement always fails (nothing is kept): the row goes first in the migration's batch, so a refusal of it alone was that batch's failure.
   */
  private *refusedHistoryRow(entry: R[number]): Step<StepwiseError<"HISTORY_TABLE_INVALID"> | null> {
    const sentinel = "stepwise: the history row alone";
    try {
      yield* callDriver("batch", collectWrites(this.record(entry, "up", null)), `SELECT * FROM "${sentinel}"`);
    } catch (cause) {
      return firstLineOf(cause).includes(sentinel) ? null : this.refusedHistoryWrite(cause, entry.version, "alone");
    }
    return null;
  }

  /** Whether the history shows `version`'s step in `direction` taken, or being taken, by another process: its row there for an up, gone or started for a down. */
  private *takenElsewhere(version: number, direction: MigrationDirection): Step<boolean> {
    let keys: AppliedMigrationKey[];
    try {
      keys = yield* this.store.readKeys();
    } catch {
      // Unreadable now: the failure that led here is the one to report.
      return false;
    }
    const row = keys.find((key) => key.version === version);
    return direction === "up" ? row !== undefined : row === undefined || row.startedAt !== null;
  }

  /**
   * Runs a `transaction: false` migration; a `started` row naming its owner commits first, so a crash leaves a trace for a person to resolve. Its step joins `ran`; `null` when
   * another process took the step first.
   */
  private *runWithoutTransaction(entry: R[number], direction: MigrationDirection, settingsBefore: ConnectionSettingsSnapshot | null, ran: AppliedStep[]): Step<AppliedStep | null> {
    // Taken before the started row commits, so no process sees the row without the lock held.
    const lock = this.settings.capabilities.fileLocking ? yield* callDriver("holdOwnerLock", this.store.tableName, this.settings.busyTimeoutMs) : null;
    let stopOwning = (): void => undefined;
    try {
      const startedAt = new Date().toISOString();
      const attempt = currentMigrationOwner(lock?.fileName ?? (this.dialect.readOwnerSession ? yield* this.dialect.readOwnerSession() : null));
      const owner = serializeMigrationOwner(attempt);
      stopOwning = holdOwnership(attempt);
      // Before the started row commits: a listener's throw then leaves no row claiming a body that never ran.
      this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
      try {
        // Before the started row commits: a refusal here leaves nothing to resolve.
        yield* this.refuseParentRebuild(entry, direction);
        this.refuseOwnTransactionControl(entry, direction);
        yield { op: "checkBody", entry, direction };
        if (direction === "up") yield* this.store.insertStarted({ version: entry.version, name: entry.name, checksum: entry.checksum, startedAt, owner });
        else yield* this.store.markStarted(entry.version, startedAt, owner);
        yield* commit();
      } catch (cause) {
        yield* rollbackQuietly();
        // Where no lock holds the plan (D1), another process may have taken this step since: planned again, not failed.
        if (yield* this.takenElsewhere(entry.version, direction)) return null;
        throw yield* this.migrationFailed(entry, direction, cause, true);
      }
      const started = performance.now();
      try {
        yield* this.runBody(entry, direction, false, settingsBefore);
        if (yield* inTransaction()) {
          // Its last statements would commit, or be lost, with stepwise's bookkeeping.
          yield* rollbackQuietly();
          throw new Error("it left a transaction open (BEGIN without COMMIT); stepwise rolled back the statements that transaction held");
        }
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
      return this.migrated(entry, direction, durationMs, ran);
    } finally {
      stopOwning();
      lock?.release();
    }
  }

  /** Runs `entry`'s body under the history guard; outside a transaction, puts back the settings it changed (`settingsBefore`) before the guard's check and the history write. */
  private *runBody(entry: R[number], direction: MigrationDirection, transactional: boolean, settingsBefore: ConnectionSettingsSnapshot | null = null): Step<void> {
    const historyGuard = this.historyGuard;
    const guarded = historyGuard !== null && (yield* historyGuard.enter(entry, direction, transactional));
    const script = scriptOf(entry, direction);
    // Outside a transaction each statement commits alone, so sending them apart changes nothing and names the one that fails; a script that manages its own transaction goes whole.
    const statements = !transactional && script !== null && this.dialect.splitStatements ? this.dialect.splitStatements(script) : null;
    if (statements && !statements.some((statement) => TRANSACTION_CONTROL.test(statement.text))) {
      for (const statement of statements) {
        try {
          yield* exec(statement.text);
        } catch (error) {
          recordFailedStatement(error, statement);
          throw error;
        }
      }
    } else {
      const { progressIntervalMs: intervalMs } = this.settings;
      const progress =
        entry.kind === "sql"
          ? () => undefined
          : createProgressReporter({ intervalMs, report: (measure) => this.emit({ type: "progress", direction, version: entry.version, name: entry.name, ...measure }) });
      yield { op: "runBody", entry, direction, progress };
    }
    // They need the manager's busy timeout and role, not the body's `busy_timeout = 0`, `query_only = 1` or `SET ROLE`; a transaction the body left open is refused after.
    if (settingsBefore !== null && !(yield* inTransaction())) yield* this.restoreSettings(settingsBefore);
    if (guarded) yield* historyGuard.leave(entry, direction, transactional);
  }

  /** Writes `entry`'s history row (`durationMs` `null`: not measured). */
  private *record(entry: R[number], direction: MigrationDirection, durationMs: number | null): Step<void> {
    const rounded = durationMs === null ? null : Math.round(durationMs);
    const now = new Date().toISOString();
    if (direction === "down") yield* this.store.deleteRow(entry.version);
    else if (entry.transaction) yield* this.store.insertApplied({ version: entry.version, name: entry.name, checksum: entry.checksum, appliedAt: now, durationMs: rounded });
    else yield* this.store.markApplied(entry.version, now, rounded ?? 0);
    if (this.settings.capabilities.userVersion) yield* setUserVersion(direction === "up" ? entry.version : entry.version - 1);
  }

  /** Where SQL cannot control transactions (no savepoints: D1, Durable Objects), a `transaction: false` migration's own BEGIN or COMMIT would fail after its started row: refused before it. */
  private refuseOwnTransactionControl(entry: R[number], direction: MigrationDirection): void {
    const script = this.settings.capabilities.savepoints || entry.kind !== "sql" ? null : scriptOf(entry, direction);
    if (!script || !this.dialect.splitStatements?.(script).some((statement) => TRANSACTION_CONTROL.test(statement.text))) return;
    throw new Error(
      `refused before it ran: the ${this.settings.driverName} storage refuses a migration's own BEGIN, COMMIT, ROLLBACK and SAVEPOINT, transaction: false or not; remove them (each statement of a transaction: false migration then commits alone; without transaction: false the migration lands whole or not at all)`,
    );
  }

  private *refuseParentRebuild(entry: R[number], direction: MigrationDirection): Step<void> {
    yield* refuseParentRebuild(entry, direction, this.settings.capabilities.foreignKeySwitch, () => this.dialect.foreignKeysEnforced(), this.referencingTables);
  }

  /** `error` naming where its failing statement starts, for a rolled-back SQL migration: its statements run again one by one, after what the transaction applied before it. */
  private *locateFailedStatement(error: unknown, walk: Walk<R[number]>): Step<unknown> {
    if (!(error instanceof StepwiseError && error.is("MIGRATION_FAILED")) || isConnectionClosedError(error) || error.details.location !== null || !error.details.rolledBack) return error;
    const { version, direction } = error.details;
    const entry = this.entries.find((candidate) => candidate.version === version);
    const before = walk.uncommitted.map((applied) => applied.entry).filter((earlier) => earlier !== entry);
    const split = this.dialect.splitStatements;
    if (split === undefined || entry?.kind !== "sql") return error;
    // Each migration is a batch of its own there, committed or not, so nothing of the run is to replay before it.
    if (this.settings.capabilities.atomicBatch) {
      const found = entry.transaction ? yield* locateByBatch(entry, direction, split, error.cause) : null;
      return found === null ? error : copyFailure(error, { location: found });
    }
    if (before.some((earlier) => earlier.kind !== "sql")) return error;
    const location = yield* locateByRerun(
      entry,
      direction,
      split,
      before.map((earlier) => scriptOf(earlier, direction) ?? ""),
      error.cause,
      walk.all ? "" : transactionHeadOf(entry, direction, this.dialect),
    );
    return location === null ? error : copyFailure(error, { location });
  }

  /** Sends an event to `onEvent` and the logger. */
  emit(event: MigrationEvent): void {
    ignoreRejection(this.settings.onEvent?.(event));
    if (this.settings.logger) ignoreRejection(this.settings.logger.info(describeEvent(event)));
  }

  /**
   * Throws `UNMANAGED_DATABASE` when the database has tables or views but no history table: another tool's or the app's own database (a wrong `--db` or `DATABASE_URL`). A history
   * table, even an empty one (after `down --to 0`), is stepwise's, at version 0. `operation`: the command refused, which the message names.
   */
  *refuseUnmanagedDatabase(operation?: "reset"): Step<void> {
    // One statement: another process's first migration creates both in one commit.
    const names = (yield* this.dialect.readSchemaObjects({ types: ["table", "view"] })).map((object) => object.name);
    // Without a snapshot or a scratch database (D1, Durable Objects) baseline's and adopt's schema check has nowhere to replay here, so it runs on a copy; PostgreSQL replays in a schema.
    const { capabilities } = this.settings;
    const throughCopy = this.dialect.name === "sqlite" && !capabilities.snapshot && !capabilities.scratchDatabase;
    if (names.length > 0 && !names.some((name) => this.store.isNamed(name))) throw unmanagedDatabaseError(names, throughCopy, operation);
  }

  /** Refuses, before anything runs, a migration this driver cannot apply as promised: foreign keys off where they cannot be, or code where each migration is one batch (D1). */
  refuseUnsupportedMigrations(entries: readonly MigrationEntry[], direction: MigrationDirection): void {
    const { capabilities, driverName: driver } = this.settings;
    const needsSwitch = capabilities.foreignKeySwitch ? undefined : entries.find((entry) => entry.disableForeignKeys);
    if (needsSwitch) throw driverCapabilityError({ driver, capability: "foreignKeySwitch", operation: "a disableForeignKeys migration", file: needsSwitch.file, fix: FOREIGN_KEY_SWITCH_FIX });
    const code = capabilities.atomicBatch ? entries.find((entry) => entry.transaction && entry.kind !== "sql") : undefined;
    if (code) throw driverCapabilityError({ driver, capability: "atomicBatch", operation: `a TypeScript migration (${direction})`, file: code.file, fix: BATCHED_CODE_FIX });
  }

  /** Runs `step` under the busy timeout with failures translated to typed errors, then restores the caller's busy timeout. */
  *withConnectionSettings<T>(step: Step<T>): Step<T> {
    const wanted = Math.max(0, Math.trunc(this.settings.busyTimeoutMs));
    let previous = wanted;
    let failed = false;
    try {
      previous = yield* callDriver("getBusyTimeout");
      if (previous !== wanted) yield* callDriver("setBusyTimeout", wanted);
      return yield* step;
    } catch (raw) {
      failed = true;
      const error = this.translateError(raw);
      // SQLite does not say who holds the lock; the operating system sometimes does.
      if (error instanceof StepwiseError && error.is("DATABASE_LOCKED") && error.details.holders.length === 0 && this.settings.capabilities.lockHolders) {
        const holders = yield* callDriver("lockHolders");
        if (holders.length > 0) throw databaseLockedError(error.details.busyTimeoutMs, error.cause, holders, error.details.waitedMs);
      }
      throw error;
    } finally {
      if (previous !== wanted) yield* restoreBusyTimeout(previous, failed);
    }
  }

  /** Runs `attempt`, waiting up to the busy timeout while another live process runs a `transaction: false` migration; only a gone owner's row is incomplete. */
  *waitWhileAnotherProcessMigrates<T>(attempt: () => Step<T>): Step<T> {
    let waitingSince: number | null = null;
    const busyTimeoutMs = this.settings.busyTimeoutMs;
    for (;;) {
      try {
        return yield* attempt();
      } catch (error) {
        if (!(error instanceof StepwiseError && error.is("INCOMPLETE_MIGRATION"))) throw error;
        const { details } = error;
        const started = yield* this.readStartedOwner(details.version);
        if (started === null) continue; // finished between our two reads
        if (!started.running) throw error;
        waitingSince ??= performance.now();
        const waitedMs = Math.round(performance.now() - waitingSince);
        if (waitedMs >= busyTimeoutMs) throw migrationInProgressError({ version: details.version, file: details.file, startedAt: details.startedAt, ...started.who, waitedMs });
        const slept: unknown = yield { op: "sleep", ms: Math.min(WAIT_POLL_MS, busyTimeoutMs - waitedMs) };
        // A runtime where the sync runner cannot block (workerd, a browser's main thread) cannot wait either.
        if (slept === false) throw migrationInProgressError({ version: details.version, file: details.file, startedAt: details.startedAt, ...started.who, waitedMs });
      }
    }
  }

  /**
   * The owner of `version`'s `started` row (`who`: its process, and on PostgreSQL its server session) and whether it may still run it; `null` without one, or when the owner finished
   * between the read and the probe: only the same row still there proves a gone owner gone.
   */
  private *readStartedOwner(version: number): Step<{ who: Pick<StepwiseErrorDetails["MIGRATION_IN_PROGRESS"], "owner" | "serverSession">; running: boolean } | null> {
    const row = yield* this.store.readStartedRow(version);
    if (row === null) return null;
    const owner = parseMigrationOwner(row.owner);
    const liveness = yield* this.assessOwner(owner);
    const running = liveness === "alive" || liveness === "unknown";
    if (!running && (yield* this.store.readStartedRow(version))?.owner !== row.owner) return null;
    return { who: ownerDetails(owner), running };
  }

  /** Whether a recorded owner still runs: its owner lock or server session when the driver can probe it, else its pid. */
  *assessOwner(owner: MigrationOwner | null): Step<OwnerLiveness> {
    if (owner?.lockFile && this.dialect.probeOwnerSession) return assessMigrationOwner(owner, yield* this.dialect.probeOwnerSession(owner.lockFile, this.store.tableName));
    const lock = owner?.lockFile && this.settings.capabilities.fileLocking ? yield* callDriver("probeOwnerLock", owner.lockFile) : null;
    return assessMigrationOwner(owner, lock);
  }

  /** Drops every table, view, index and trigger in one write section, then applies everything. */
  *reset(): Step<MigrationResult> {
    yield* refuseOpenTransaction(this.settings.driverName, "reset");
    const drop = function* (this: Executor<R>): Step<void> {
      let dropping: string | null = null;
      const restoreForeignKeys = yield* this.switchOffForeignKeys();
      try {
        yield* begin("immediate");
        // The run up would refuse: a database of someone else's, as a wrong --db or DATABASE_URL names, is not emptied.
        yield* this.refuseUnmanagedDatabase("reset");
        if (this.dialect.name === "sqlite") yield* this.refuseLiveOwner();
        // Where foreign keys stay on (Durable Objects, D1), children go first, and the check waits for the commit.
        const enforced = !restoreForeignKeys && this.dialect.name === "sqlite";
        if (enforced) yield* exec("PRAGMA defer_foreign_keys = ON");
        const { dropObjectSql, dropAllObjectsSql } = this.dialect;
        if (dropAllObjectsSql !== undefined) yield* exec(dropAllObjectsSql);
        const sorted = dropObjectSql ? (yield* this.dialect.readSchemaObjects()).sort((a, b) => DROP_ORDER[a.type] - DROP_ORDER[b.type]) : [];
        const ordered = enforced ? yield* orderChildrenFirst(sorted) : sorted;
        // D1 has no transaction to defer the check to but a batch: one drop failing there would leave the others dropped, the history with them.
        if (this.settings.capabilities.atomicBatch) yield* callDriver("batch", [], ["PRAGMA defer_foreign_keys = ON", ...ordered.map(dropObjectSql!)].join(";\n"));
        else
          for (const object of ordered) {
            dropping = object.name;
            yield* exec(dropObjectSql!(object));
          }
        dropping = null;
        if (this.settings.capabilities.userVersion) yield* setUserVersion(0);
        yield* commit();
      } catch (error) {
        yield* this.rollbackAfter(error);
        throw this.resetFailed(error, dropping);
      } finally {
        if (restoreForeignKeys) yield* exec("PRAGMA foreign_keys = ON");
      }
    };
    yield* this.withConnectionSettings(this.waitWhileAnotherProcessMigrates(() => drop.call(this)));
    try {
      return yield* this.up({}, true);
    } catch (error) {
      // The drops were committed: "nothing of it was kept" is true of the migration, not of the database.
      if (!(isInstanceSafely(error, StepwiseError) && error.is("MIGRATION_FAILED"))) throw error;
      let reached: number | null = null;
      try {
        reached = (yield* this.readKeys()).filter((key) => key.startedAt === null).at(-1)?.version ?? 0;
      } catch {
        // A connection the migration closed has nothing left to read.
      }
      throw copyFailure(error, { afterReset: { reachedVersion: reached } });
    }
  }

  /**
   * Under `reset`'s write lock: a `transaction: false` migration another process still runs would run again after the drops, so it is waited for as `up` waits for it
   * (PostgreSQL's run lock waits already); an interrupted one goes with the rest.
   */
  private *refuseLiveOwner(): Step<void> {
    let live: LiveStartedRow | null;
    try {
      live = yield* this.liveStartedRow();
    } catch {
      // A history table stepwise cannot read names no owner to wait for: reset drops it.
      return;
    }
    if (live !== null) throw incompleteMigrationError({ version: live.version, file: live.file, startedAt: live.startedAt });
  }

  /** The first `started` row whose owner may still run it, and who that is; `null` when there is none. */
  private *liveStartedRow(): Step<LiveStartedRow | null> {
    for (const { version, startedAt } of yield* this.store.readKeys()) {
      if (startedAt === null) continue;
      const started = yield* this.readStartedOwner(version);
      if (started?.running) return { version, file: this.entries.find((entry) => entry.version === version)?.file ?? `migration ${version}`, startedAt, who: started.who };
    }
    return null;
  }

  /**
   * What the run lock `locked` timed out on, as `status` reports it: the session of a `transaction: false` migration whose process is gone holds it, and goes on with the migration, which is
   * `MIGRATION_IN_PROGRESS` (naming that session), as a live owner is on SQLite; any other holder stays `locked`.
   */
  *explainRunLock(locked: StepwiseError<"DATABASE_LOCKED">): Step<StepwiseError> {
    try {
      const live = yield* this.liveStartedRow();
      if (live !== null)
        return migrationInProgressError({ version: live.version, file: live.file, startedAt: live.startedAt, ...live.who, waitedMs: locked.details.waitedMs ?? locked.details.busyTimeoutMs });
    } catch {
      // A history stepwise cannot read explains nothing: the lock's own refusal stands.
    }
    return locked;
  }

  /** The history's planner keys, read under the connection settings. */
  *readKeys(): Step<AppliedMigrationKey[]> {
    return yield* this.withConnectionSettings(this.store.readKeys());
  }

  /** The history's rows, oldest first. Never writes. */
  *history(): Step<AppliedMigration[]> {
    return yield* this.withConnectionSettings(this.store.readAll());
  }

  /** Where the database stands against the registry, with the refusal `up` would meet (`problem`). */
  *status(): Step<MigrationStatus> {
    return yield* this.withConnectionSettings(this.readStatus());
  }

  /** The status as the history stands; `rereads` counts the reads a concurrent run's progress forced, bounded so that a row read differently by two queries cannot loop. */
  private *readStatus(rereads = 0): Step<MigrationStatus> {
    let rows: AppliedMigration[];
    try {
      rows = yield* this.store.readAll();
    } catch (error) {
      if (!(error instanceof StepwiseError) || error.code !== "HISTORY_TABLE_INVALID") throw error;
      return { ...describeStatus(this.migrations, []), problem: toPlainError(error) };
    }
    const status = describeStatus(this.migrations, rows);
    let refusal: StepwiseError | null = null;
    if (status.problem?.code === "INCOMPLETE_MIGRATION") {
      // By the problem's version: the versions a squash replaced show its started row as theirs, and have none of their own.
      const row = status.migrations.find((migration) => migration.version === status.problem!.version)!;
      const started = yield* this.readStartedOwner(row.version);
      // Its owner finished after the history's read (another `up`, a fleet run at once).
      if (started === null && rereads < 3) return yield* this.readStatus(rereads + 1);
      if (started?.running) refusal = migrationInProgressError({ version: row.version, file: row.file, startedAt: row.appliedAt ?? "", ...started.who, waitedMs: 0 });
    } else if (status.problem === null) {
      // By version: status leaves out the versions a squash builds where none is recorded.
      const pendingVersions = new Set(status.migrations.filter((row) => row.state === "pending").map((row) => row.version));
      const pending = this.migrations.filter((entry) => pendingVersions.has(entry.version));
      try {
        if (pending.length > 0 && rows.length === 0) yield* this.refuseUnmanagedDatabase();
        this.refuseUnsupportedMigrations(pending, "up");
      } catch (error) {
        if (!(error instanceof StepwiseError && (error.is("UNMANAGED_DATABASE") || error.is("DRIVER_CAPABILITY_MISSING")))) throw error;
        refusal = error;
      }
    }
    return refusal === null ? status : { ...status, problem: toPlainError(refusal) };
  }

  /**
   * Rolls back after `error`. A write the disk refused (`SQLITE_FULL`, `SQLITE_IOERR_*`) SQLite has rolled back itself, but it leaves the file as the write grew it beside a hot
   * journal until the next read, which a close does not make: one read puts the file back before the failure is reported.
   */
  private *rollbackAfter(error: unknown): Step<void> {
    yield* rollbackQuietly();
    const details = isInstanceSafely(error, StepwiseError) ? (error.details as { sqliteCode?: unknown }) : null;
    const code = details ? details.sqliteCode : this.sqliteCodeOf(error);
    if (this.dialect.name !== "sqlite" || typeof code !== "string" || !/^SQLITE_(FULL|IOERR)/.test(code)) return;
    try {
      yield* queryValue("PRAGMA schema_version");
    } catch {
      // The disk or the connection may still refuse; the next opener rolls the journal back then.
    }
  }

  private sqliteCodeOf(error: unknown): string | null {
    const code = classifySafely(this.settings.classifyError, error).nativeCode;
    return code !== null && code.startsWith("SQLITE_") ? code : null;
  }

  private translateError(error: unknown): unknown {
    return this.dialect.translateError(error, this.settings.busyTimeoutMs, classifySafely(this.settings.classifyError, error));
  }

  /**
   * A failed drop of `reset` (of `object`, when it was a listed one) as `RESET_FAILED`: the database's own refusal. A lock, a full disk or a lost connection keep their codes,
   * and what the database did not say (a bug of stepwise's) stays unexpected.
   */
  private resetFailed(cause: unknown, object: string | null): unknown {
    const translated = isInstanceSafely(cause, StepwiseError) ? cause : this.translateError(cause);
    const { nativeCode } = classifySafely(this.settings.classifyError, cause);
    if (isInstanceSafely(translated, StepwiseError) || isConnectionClosedError(cause) || nativeCode === null) return translated;
    const server = findInCauseChain(cause, (current) => typeof (current as { detail?: unknown }).detail === "string") as { detail: string } | undefined;
    return resetFailedError({ table: this.store.tableName, object, detail: server?.detail ?? null, rolledBack: true, cause, nativeCode });
  }

  /** The error for `entry`'s failure; `origin` says who ran what failed. A rolled-back PostgreSQL migration names the sequences its SQL `setval`s, which the rollback leaves as set. */
  private *migrationFailed(entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin: FailureOrigin = "stepwise"): Step<StepwiseError> {
    const error = yield* this.failureOf(entry, direction, cause, rolledBack, origin);
    const script = this.dialect.sequencesSetBy && rolledBack && error.is("MIGRATION_FAILED") ? scriptOf(entry, direction) : null;
    const sequencesSet = script === null ? [] : this.dialect.sequencesSetBy!(script);
    return sequencesSet.length === 0 ? error : copyFailure(error as StepwiseError<"MIGRATION_FAILED">, { sequencesSet });
  }

  private *failureOf(entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin: FailureOrigin): Step<StepwiseError> {
    // Recording nothing would let the next plan run it again; the store writes a trace back instead.
    if (isInstanceSafely(cause, StepwiseError) && cause.is("HISTORY_ROW_MISSING")) return yield* this.store.reportMissingRow(cause, entry, direction, rolledBack, new Date().toISOString());
    // A body's stepwise error (a walk refused, a call refused) says nothing of the migration: the misuse is its cause, and so is any error after a body outside a transaction kept its
    // writes, unless it says itself what stayed (rolledBack: a failed migration, the history changed).
    const passThrough = (error: unknown): error is StepwiseError =>
      isInstanceSafely(error, StepwiseError) && !BODY_MISUSE_CODES.has(error.code) && (rolledBack || origin !== "body" || "rolledBack" in error.details);
    // A walk's options refused say nothing of the transaction the walk was in (a refused key says it rolls back).
    if (passThrough(cause)) return rolledBack && origin === "body" && cause.is("BATCH_OPTIONS_INVALID") ? rolledBackAfter(cause) : cause;
    const change = this.historyGuard ? this.historyChange(cause, origin) : null;
    if (change !== null) {
      const historyChanged = !rolledBack && change.startsWith("the table");
      return historyChangedByMigrationError({ version: entry.version, file: entry.file, direction, table: this.store.tableName, change, rolledBack, historyChanged, cause });
    }
    // The history table refused stepwise's own row (a constraint, a column type, a trigger): the table is at fault, not the migration's file.
    const refused = rolledBack ? this.refusedHistoryWrite(cause, entry.version, origin === "commit" ? "commit" : "statement") : null;
    if (refused !== null) return refused;
    const classification = classifySafely(this.settings.classifyError, cause);
    const described = this.dialect.describeFailure && (yield* this.dialect.describeFailure({ entry, direction, cause, rolledBack, origin, classification, store: this.store }));
    if (described) return described;
    const sqliteCode = this.sqliteCodeOf(cause);
    if (rolledBack && sqliteCode?.startsWith("SQLITE_FULL")) return diskFullError({ version: entry.version, file: entry.file, sqliteCode, cause });
    // A read-only, locked or corrupt database is the environment's fault, not the migration's. From a body: a lost connection, or a SQLite file that is read-only, full or corrupt;
    // never a lock or an unopenable file, which come from what the body reached for (an ATTACHed file), nor a server's refusal (a privilege, a deadlock), which is the statement's.
    const fromBody = sqliteCode === null ? classification.kind === "lost" : !["locked", "cantopen", "notadb"].includes(kindOfSqliteCode(sqliteCode));
    const fromEnvironment = isInstanceSafely(cause, Error) && (origin !== "body" || fromBody);
    const environmental = rolledBack && fromEnvironment && !(yield* this.isQueryOnlyRefusal(sqliteCode)) ? this.translateError(cause) : cause;
    if (passThrough(environmental)) return environmental;
    const foreignKeyRebuild = yield* readForeignKeyRebuildHint(entry, direction, sqliteCode, cause, this.settings.capabilities.foreignKeySwitch);
    const location = origin === "body" ? locateFromFailure(entry, direction, cause) : null;
    return migrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack, foreignKeyRebuild, location });
  }

  /**
   * `HISTORY_TABLE_INVALID` when `cause` is the history table refusing one of stepwise's own INSERTs (of `version`'s row), not a lock, a full disk or a collision on version; else
   * `null`. `failed`: a `statement` (one of stepwise's INSERTs or another), the `commit` (where a deferred constraint of the history table refuses the row), or the row written
   * `alone`. The caller rolls the write's transaction back.
   */
  refusedHistoryWrite(cause: unknown, version: number | null, failed: "statement" | "commit" | "alone" = "statement"): StepwiseError<"HISTORY_TABLE_INVALID"> | null {
    if (failed === "statement" && !isHistoryInsertFailure(cause)) return null;
    const classification = classifySafely(this.settings.classifyError, cause);
    const refusal = failed === "commit" ? this.store.describeRefusedCommit(cause, classification.nativeCode) : this.store.describeRefusedWrite(cause, classification.nativeCode);
    return refusal === null ? null : recordNativeError(historyWriteRefusedError({ table: this.store.tableName, ...refusal, version, cause }), classification);
  }

  /** How a failure says the migration changed the history table under the guard, or `null`. */
  private historyChange(cause: unknown, origin: FailureOrigin): string | null {
    // A trigger's refusal itself, or an error down its chain (a body may wrap it). PostgreSQL's guard reports its own verdict.
    const refusal = findInCauseChain(cause, ({ message }: { message?: unknown }) => typeof message === "string" && message.includes(HISTORY_GUARD_MARK));
    if (refusal) return "a row inserted, updated or deleted; the write was refused";
    const message = isInstanceSafely(cause, Error) ? describeThrownValue(cause) : "";
    // A trigger of the guard gone when it was dropped (inside a D1 batch): the table went with it.
    if (message.includes("no such trigger") && message.includes(GUARD_TABLE_PREFIX)) return "the table dropped or replaced";
    // Stepwise's own history write failed for want of the table or a column: renamed or altered.
    const gone = /no such (?:table|column)|has no column named/.test(message) && message.toLowerCase().includes(this.store.tableName.toLowerCase());
    return origin === "stepwise" && gone ? "the table renamed or altered" : null;
  }

  /** A write refused after the migration's own `PRAGMA query_only = 1`: its failure, not a read-only file. */
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
    if (!this.settings.capabilities.foreignKeySwitch || (yield* queryValue("PRAGMA foreign_keys")) !== 1) return false;
    yield* exec("PRAGMA foreign_keys = OFF");
    return true;
  }
}

/** `objects` with every table before the tables it references, for `reset` where foreign keys stay enforced; a cycle keeps its order. */
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

/**
 * The dangling keys in `after` that the migration added to those in `before`: none when no child table and parent gained any (a rebuilt child may renumber the rows it kept), else the rows not
 * there before (or all, when a rebuild renumbered them).
 */
function addedDangling(before: readonly ForeignKeyViolation[], after: readonly ForeignKeyViolation[]): readonly ForeignKeyViolation[] {
  const count = (rows: readonly ForeignKeyViolation[]) => {
    const counts = new Map<string, number>();
    for (const { table, parent } of rows) counts.set(`${table}\0${parent}`, (counts.get(`${table}\0${parent}`) ?? 0) + 1);
    return counts;
  };
  const had = count(before);
  if (![...count(after)].some(([pair, n]) => n > (had.get(pair) ?? 0))) return [];
  const seen = new Set(before.map(({ table, parent, rowid }) => `${table}\0${parent}\0${rowid}`));
  const fresh = after.filter(({ table, parent, rowid }) => !seen.has(`${table}\0${parent}\0${rowid}`));
  return fresh.length > 0 ? fresh : after;
}

/** Whether `error` is the history guard's verdict on its triggers in the migration's transaction (not a write it refused). */
function isHistoryGuardVerdict(error: unknown): boolean {
  return error instanceof StepwiseError && error.is("HISTORY_CHANGED_BY_MIGRATION") && error.details.rolledBack;
}

/** Puts the caller's busy timeout back; quietly after a failure, which is the one to report: the state that caused it (a statement a body left running) may refuse this call too. */
function* restoreBusyTimeout(previous: number, quietly: boolean): Step<void> {
  try {
    yield* callDriver("setBusyTimeout", previous);
  } catch (error) {
    if (!quietly) throw error;
  }
}

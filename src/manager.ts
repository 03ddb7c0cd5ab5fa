/**
 * `MigrationManager` applies a generated registry to one better-sqlite3 connection.
 *
 * The algorithm, for each step: take the write lock (`BEGIN IMMEDIATE`, waiting up to the busy
 * timeout), check whether another connection committed since the plan was made (`PRAGMA
 * data_version`) and re-plan from the history if so, run the migration, record it, commit. A
 * migration and its history row therefore commit together or not at all, and several processes
 * migrating one file apply each migration exactly once.
 */
import {
  DatabaseLockedError,
  DiskFullError,
  type EscapedCommit,
  ForeignKeyViolationError,
  HistoryRowMissingError,
  IncompleteMigrationError,
  MigrationFailedError,
  MigrationInProgressError,
  StepwiseError,
  TransactionEscapedError,
  UnmanagedDatabaseError,
  UsageError,
} from "./errors.js";
import type { BackupRecord } from "./backup.js";
import { createMigrationContext, createProgressReporter, type ProgressMeasure } from "./progress.js";
import { DEFAULT_TABLE_NAME, HistoryStore } from "./history-store.js";
import { findLockHolders } from "./lock-holders.js";
import { formatMigrationLabel } from "./migration-file.js";
import { listSchemaObjects, type SchemaObjectKind } from "./schema-objects.js";
import { assessMigrationOwner, currentMigrationOwner, parseMigrationOwner, serializeMigrationOwner, sleepSync } from "./migration-owner.js";
import { holdOwnerLock } from "./owner-lock.js";
import { restoreConnectionSettings, snapshotConnectionSettings } from "./connection-settings.js";
import {
  createCommitWitness,
  dropCommitWitness,
  isAutomaticRollbackError,
  judgeEscapedCommit,
  openBodySavepoint,
  readTransactionStart as readGuardedTransactionStart,
  releaseBodySavepoint,
  type TransactionStart,
} from "./transaction-guard.js";
import { assertWholeRunPossible } from "./whole-run-transaction.js";
import { guardSqlite, isQueryOnlyRefusal, sqliteCodeOf, translateSqliteError } from "./sqlite-errors.js";
import {
  assertValidRegistry,
  describeStatus,
  planDown,
  planUp,
  type AppliedMigration,
  type MigrationPlan,
  type MigrationStatus,
} from "./planner.js";
import type BetterSqlite3 from "better-sqlite3";
import type {
  Database,
  MigrationContext,
  MigrationDirection,
  MigrationEntry,
  MigrationRegistry,
  VersionOf,
} from "./types.js";

/** How often a process waiting for another's `transaction: false` migration looks again. */
const WAIT_POLL_MS = 25;

/** The order `reset` drops objects in: those that name a table before the table itself. */
const DROP_ORDER: Readonly<Record<SchemaObjectKind, number>> = { trigger: 0, view: 1, index: 2, table: 3 };

/** What one `up` or `down` call has done so far, kept across the re-plans after a wait. */
interface Progress {
  readonly ran: AppliedStep[];
  fromVersion: number | null;
}

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/** How long `up` and `down` wait for another connection's write lock before giving up. */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

/** Something the manager did, for apps that want to show or record progress. */
export type MigrationEvent =
  | { readonly type: "migrating"; readonly direction: MigrationDirection; readonly version: number; readonly name: string }
  | {
      readonly type: "migrated";
      readonly direction: MigrationDirection;
      readonly version: number;
      readonly name: string;
      readonly durationMs: number;
    }
  | { readonly type: "skipped"; readonly direction: MigrationDirection; readonly version: number; readonly name: string; readonly reason: "applied-elsewhere" }
  | { readonly type: "nothing-pending"; readonly direction: MigrationDirection; readonly currentVersion: number }
  | ({ readonly type: "progress"; readonly direction: MigrationDirection; readonly version: number; readonly name: string } & ProgressMeasure)
  | { readonly type: "backed-up"; readonly backup: BackupRecord }
  | { readonly type: "verified"; readonly version: number };

/** A minimal logger; `console` fits. */
export interface MigrationLogger {
  info(message: string): void;
}

/** Options for the {@link MigrationManager} constructor. */
export interface MigrationManagerProps {
  /** Name of the history table. Default {@link DEFAULT_TABLE_NAME} (`schema_migrations`). */
  readonly tableName?: string;
  /** Milliseconds to wait for another connection's write lock. Default {@link DEFAULT_BUSY_TIMEOUT_MS}. */
  readonly busyTimeoutMs?: number;
  /** Receives every {@link MigrationEvent}. */
  readonly onEvent?: (event: MigrationEvent) => void;
  /** Receives one human-readable line per event. Default: none; the library never prints by itself. */
  readonly logger?: MigrationLogger | null;
  /** Shortest gap between two `progress` events. Default `DEFAULT_PROGRESS_INTERVAL_MS` (100); 0 sends every one. */
  readonly progressIntervalMs?: number;
}

/**
 * How `up` groups migrations into transactions: `"each"` commits every migration with its history
 * row on its own; `"all"` runs every pending migration in one transaction, all or nothing.
 */
export type TransactionMode = "each" | "all";

/** The transaction mode `up` uses unless told otherwise. */
export const DEFAULT_TRANSACTION_MODE: TransactionMode = "each";

/** Options for {@link MigrationManager.up}. */
export interface UpOptions<V extends number = number> {
  /** Stop after this version. Default: the latest. */
  readonly to?: V;
  /**
   * `"all"` applies every pending migration in one transaction: if any fails, none stays applied.
   * It is refused, before anything runs, when a pending migration has `transaction: false` (SQLite
   * refuses its statements inside a transaction) or needs foreign keys switched off while they are
   * on (the switch would then cover every migration of the run). Default
   * {@link DEFAULT_TRANSACTION_MODE} (`"each"`).
   *
   * @example
   * manager.up({ transaction: "all" });
   */
  readonly transaction?: TransactionMode;
}

/** Options for {@link MigrationManager.planUp}. To also run the plan on an in-memory copy, see `rehearseUp`. */
export interface ManagerPlanUpOptions<V extends number = number> {
  /** Stop after this version. Default: the latest. */
  readonly to?: V;
}

/** Options for {@link MigrationManager.down}: a number of steps or a target version, never both. */
export type DownOptions<V extends number = number> =
  | { readonly steps?: number; readonly to?: undefined }
  | { readonly to: V | 0; readonly steps?: undefined };

/** One migration that ran. */
export interface AppliedStep {
  readonly version: number;
  readonly name: string;
  readonly durationMs: number;
}

/** What `up` or `down` did: plain data. */
export interface MigrationResult {
  readonly direction: MigrationDirection;
  readonly fromVersion: number;
  readonly toVersion: number;
  /** The migrations this call ran, in order; excludes those another process ran meanwhile. */
  readonly steps: readonly AppliedStep[];
  /** The snapshot taken before applying, when `upWithBackup` or `upWithOnlineBackup` ran and something was pending. */
  readonly backup?: BackupRecord;
}

/** Set by the class's static block, which alone may reach its private members; declared first to be in scope then. */
let internalsOf: (manager: MigrationManager<MigrationRegistry>) => ManagerInternals;

/**
 * Applies and reverts the migrations of a generated registry on one connection.
 *
 * @example
 * import Database from "better-sqlite3";
 * import { MigrationManager } from "stepwise";
 * import { migrations } from "../generated/registry.js";
 *
 * const manager = new MigrationManager(new Database("data/app.db"), migrations);
 * manager.up();
 * manager.down({ steps: 1 });
 */
export class MigrationManager<R extends MigrationRegistry = MigrationRegistry> {
  /** The connection passed in; the manager never closes it. */
  readonly db: Database;
  /** The registry passed in, validated on construction. */
  readonly migrations: R;
  private readonly store: HistoryStore;
  private readonly busyTimeoutMs: number;
  private readonly onEvent: ((event: MigrationEvent) => void) | undefined;
  private readonly logger: MigrationLogger | null;
  private readonly progressIntervalMs: number | undefined;
  /** Statements the hot paths run on every call, prepared once per manager. */
  private prepared:
    | { dataVersion: Statement; begin: Statement; commit: Statement; schemaVersion: Statement; userVersion: Statement; totalChanges: Statement }
    | undefined;
  /** Prepared apart from {@link prepared}, because it must run before the busy timeout is set. */
  private busyTimeoutStatement: Statement | undefined;

  /**
   * @throws RegistryInvalidError when the registry breaks the version rules.
   */
  constructor(db: Database, migrations: R, props: MigrationManagerProps = {}) {
    assertValidRegistry(migrations);
    this.db = db;
    this.migrations = migrations;
    this.store = new HistoryStore(db, props.tableName ?? DEFAULT_TABLE_NAME);
    this.busyTimeoutMs = props.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.onEvent = props.onEvent;
    this.logger = props.logger ?? null;
    this.progressIntervalMs = props.progressIntervalMs;
  }

  /**
   * A manager with the same registry and settings on another connection, used to rehearse and replay
   * migrations on in-memory copies through the very code path of a real run.
   */
  withDatabase(db: Database, props: MigrationManagerProps = {}): MigrationManager<R> {
    return new MigrationManager(db, this.migrations, { tableName: this.tableName, busyTimeoutMs: this.busyTimeoutMs, progressIntervalMs: this.progressIntervalMs, ...props });
  }

  /** The history table's name. */
  get tableName(): string {
    return this.store.tableName;
  }

  /**
   * Applies pending migrations in order, each in its own transaction, up to `options.to` (default:
   * the latest). Refuses, changing nothing, when the history does not match the registry.
   */
  up(options: UpOptions<VersionOf<R>> = {}): MigrationResult {
    refuseMovedOption(options, "backup", "upWithBackup(manager, { backup }) or upWithOnlineBackup(manager, { backup })");
    return this.withConnectionSettings(() => {
      const progress: Progress = { ran: [], fromVersion: null };
      return this.waitWhileAnotherProcessMigrates(() => {
        // Read before the history, so a commit by another connection in between forces a re-plan.
        const dataVersion = this.dataVersion();
        const plan = this.planUp({ to: options.to });
        const replan = (applied: ReturnType<HistoryStore["readKeys"]>) => planUp(this.migrations, applied, { to: options.to });
        if ((options.transaction ?? DEFAULT_TRANSACTION_MODE) === "all") return this.executeInOneTransaction(plan, replan);
        return this.execute(plan, dataVersion, replan, progress);
      });
    });
  }

  /**
   * Reverts applied migrations, newest first: `steps` of them (default 1), or every one above `to`.
   * Checks that each has a `down` before running any.
   */
  down(options: DownOptions<VersionOf<R>> = {}): MigrationResult {
    return this.withConnectionSettings(() => {
      const progress: Progress = { ran: [], fromVersion: null };
      return this.waitWhileAnotherProcessMigrates(() => {
        const dataVersion = this.dataVersion();
        const plan = this.planDown(options);
        return this.execute(plan, dataVersion, (applied) => planDown(this.migrations, applied, options), progress);
      });
    });
  }

  /**
   * Drops every table, view, index and trigger (the history table included), then applies every
   * migration. All data is lost, hence the option that has to be spelled out.
   */
  reset(options: { readonly dangerouslyDropAllData: true }): MigrationResult {
    if (options?.dangerouslyDropAllData !== true) {
      throw new UsageError("reset drops all data; pass { dangerouslyDropAllData: true } to confirm");
    }
    this.withConnectionSettings(() => {
      const restoreForeignKeys = this.switchOffForeignKeys();
      try {
        this.beginImmediate();
        const objects = listSchemaObjects(this.db).sort((a, b) => DROP_ORDER[a.type] - DROP_ORDER[b.type]);
        for (const object of objects) {
          // Indexes and triggers go with their tables; dropping them first just avoids order problems.
          this.db.exec(`DROP ${object.type.toUpperCase()} IF EXISTS "${object.name.replace(/"/g, '""')}"`);
        }
        this.store.setUserVersion(0);
        this.commit();
      } catch (error) {
        this.rollbackQuietly();
        throw error;
      } finally {
        restoreForeignKeys?.();
      }
    });
    return this.up();
  }

  /**
   * What `up` would run, without running it. Throws the same refusals `up` would. To also run the
   * plan on an in-memory copy, use `rehearseUp(manager)`.
   */
  planUp(options: ManagerPlanUpOptions<VersionOf<R>> = {}): MigrationPlan<R[number]> {
    refuseMovedOption(options, "rehearse", "rehearseUp(manager, { to })");
    return planUp(this.migrations as readonly R[number][], this.readKeysOrThrow(), { to: options.to });
  }

  /** What `down` would run, without running it. Throws the same refusals `down` would. */
  planDown(options: DownOptions<VersionOf<R>> = {}): MigrationPlan<R[number]> {
    return planDown(this.migrations as readonly R[number][], this.readKeysOrThrow(), options);
  }

  /**
   * Where the database stands against the registry. Never writes and never throws for drift. A
   * `transaction: false` migration that is still running elsewhere is reported as
   * `MIGRATION_IN_PROGRESS`, not as interrupted: the advice for an interrupted one would run it twice.
   */
  status(): MigrationStatus {
    return this.withRunningOwnerProblem(describeStatus(this.migrations, this.readHistoryOrThrow()));
  }

  /** Replaces an INCOMPLETE_MIGRATION problem whose owner provably still runs (its lock is held). */
  private withRunningOwnerProblem(status: MigrationStatus): MigrationStatus {
    if (status.problem?.code !== "INCOMPLETE_MIGRATION") return status;
    const row = status.migrations.find((migration) => migration.state === "incomplete");
    if (!row) return status;
    const owner = parseMigrationOwner(guardSqlite(() => this.store.readStartedRow(row.version), this.busyTimeoutMs)?.owner ?? null);
    if (assessMigrationOwner(owner, this.db) !== "alive") return status;
    const running = new MigrationInProgressError({
      version: row.version,
      file: row.file,
      startedAt: row.appliedAt ?? "",
      owner: owner && { pid: owner.pid, host: owner.host },
      waitedMs: 0,
    });
    return { ...status, problem: { code: running.code, message: running.message } };
  }

  /** The history table's rows, oldest first. Never writes. */
  history(): AppliedMigration[] {
    return this.readHistoryOrThrow();
  }

  /** The newest applied version, or 0 for a fresh database. Never writes. */
  currentVersion(): number {
    return this.status().currentVersion;
  }

  // Reads wait for a writer's lock too, so they run under the configured busy timeout like writes.
  private readKeysOrThrow() {
    return this.withConnectionSettings(() => this.store.readKeys());
  }

  private readHistoryOrThrow(): AppliedMigration[] {
    return this.withConnectionSettings(() => this.store.readAll());
  }

  /** A database with tables but no history predates stepwise; migrating it blindly could clash. */
  private refuseUnmanagedDatabase(): void {
    // One statement (listSchemaObjects reads sqlite_master once, history table included), so the
    // history table and the user tables are seen in the same snapshot: another process's first
    // migration creates both in one commit.
    const tables = listSchemaObjects(this.db, { types: ["table"] }).map((object) => object.name);
    if (tables.some((name) => this.store.isNamed(name))) return;
    if (tables.length > 0) throw new UnmanagedDatabaseError(tables);
  }

  /**
   * A `started` row owned by a live process means a `transaction: false` migration is running
   * elsewhere without holding the lock: wait for it (up to the busy timeout) and plan again, rather
   * than calling it interrupted. Only a row whose owner is gone is reported as incomplete.
   */
  private waitWhileAnotherProcessMigrates(attempt: () => MigrationResult): MigrationResult {
    let waitingSince: number | null = null;
    for (;;) {
      try {
        return attempt();
      } catch (error) {
        if (!(error instanceof IncompleteMigrationError)) throw error;
        const row = this.store.readStartedRow(error.version);
        if (row === null) continue; // finished between our two reads: plan again
        const owner = parseMigrationOwner(row.owner);
        const liveness = assessMigrationOwner(owner, this.db);
        if (liveness !== "alive" && liveness !== "unknown") {
          // The owner may have finished (and released its lock) between our read and the probe; only a
          // row still there, with the same owner, after the probe proves the attempt was abandoned.
          if (this.store.readStartedRow(error.version)?.owner !== row.owner) continue;
          throw error;
        }
        waitingSince ??= performance.now();
        const waitedMs = Math.round(performance.now() - waitingSince);
        if (waitedMs >= this.busyTimeoutMs) {
          throw new MigrationInProgressError({
            version: error.version,
            file: error.file,
            startedAt: error.startedAt,
            owner: owner && { pid: owner.pid, host: owner.host },
            waitedMs,
          });
        }
        sleepSync(Math.min(WAIT_POLL_MS, this.busyTimeoutMs - waitedMs));
      }
    }
  }

  private execute(
    plan: MigrationPlan<R[number]>,
    plannedAtDataVersion: number,
    replan: (applied: ReturnType<HistoryStore["readKeys"]>) => MigrationPlan<R[number]>,
    progress: Progress,
  ): MigrationResult {
    const direction = plan.direction;
    progress.fromVersion ??= plan.fromVersion;
    const ran = progress.ran;
    if (plan.steps.length === 0) {
      this.emit({ type: "nothing-pending", direction, currentVersion: plan.fromVersion });
      return { direction, fromVersion: progress.fromVersion, toVersion: plan.toVersion, steps: ran };
    }
    return this.restoringConnectionSettings((restore) => this.executeSteps(plan, plannedAtDataVersion, replan, progress, restore));
  }

  private executeSteps(
    plan: MigrationPlan<R[number]>,
    plannedAtDataVersion: number,
    replan: (applied: ReturnType<HistoryStore["readKeys"]>) => MigrationPlan<R[number]>,
    progress: Progress,
    restoreConnectionSettingsNow: () => void,
  ): MigrationResult {
    const direction = plan.direction;
    const ran = progress.ran;
    let queue: readonly R[number][] = plan.steps;
    let next = 0;
    let toVersion = plan.toVersion;
    // Read before the plan was: data_version ignores this connection's own commits, so it changes
    // only when another connection commits, and any such commit forces a re-plan under the lock.
    let knownDataVersion = plannedAtDataVersion;
    let ensured = false;

    for (;;) {
      // The pragma must be set outside a transaction, so it follows the entry we expect to run; if a
      // re-plan picks another entry, the attempt is abandoned and made again with the right setting.
      const expected = queue[next];
      const restoreForeignKeys = expected?.disableForeignKeys ? this.switchOffForeignKeys() : null;
      try {
        this.beginImmediate();
        const start = this.readTransactionStart();
        if (!ensured) {
          // Checked under the write lock: outside it, another process may create the history table
          // between reading "no history" and listing the tables.
          if (direction === "up") this.refuseUnmanagedDatabase();
          this.store.ensure();
          ensured = true;
        }
        const dataVersion = this.dataVersion();
        if (dataVersion !== knownDataVersion) {
          // Another connection may have committed since we planned: trust only what the history says now.
          const fresh = replan(this.store.readKeys());
          this.emitSkipped(direction, queue.slice(next), fresh.steps);
          queue = fresh.steps;
          next = 0;
          toVersion = fresh.toVersion;
          knownDataVersion = dataVersion;
        }
        const entry = queue[next];
        if (!entry) {
          this.commit();
          break;
        }
        if (entry.disableForeignKeys !== Boolean(expected?.disableForeignKeys)) {
          this.commit();
          continue;
        }
        if (entry.transaction) {
          ran.push(this.runInTransaction(entry, direction, start));
        } else {
          ran.push(this.runWithoutTransaction(entry, direction, restoreConnectionSettingsNow));
          // Outside a transaction its PRAGMAs took effect at once (foreign_keys = OFF); the migrations
          // after it run with the connection as the app set it, not as this one left it.
          restoreConnectionSettingsNow();
        }
        next++;
        // No re-read here: data_version ignores this connection's own commits, and reading it now
        // would swallow a commit another connection made since ours.
      } catch (error) {
        this.rollbackQuietly();
        throw error;
      } finally {
        restoreForeignKeys?.();
      }
    }
    return { direction, fromVersion: progress.fromVersion!, toVersion, steps: ran };
  }

  /**
   * Runs `action` and puts back every connection setting a migration changed (see
   * `RESTORED_CONNECTION_SETTINGS`), on success and on failure, so the app's connection behaves after
   * `up`/`down` as it did before. Taken only when migrations run, so a no-op start pays nothing.
   * `action` may restore early (outside a transaction), after a step whose settings took effect.
   */
  private restoringConnectionSettings<T>(action: (restoreNow: () => void) => T): T {
    const before = snapshotConnectionSettings(this.db);
    let failed = true;
    try {
      const result = action(() => restoreConnectionSettings(this.db, before));
      failed = false;
      return result;
    } finally {
      // Settings only take effect outside a transaction; every path above has ended its own by now.
      if (this.db.inTransaction) this.rollbackQuietly();
      try {
        restoreConnectionSettings(this.db, before);
      } catch (error) {
        // Never hide the migration's own failure behind a failure to tidy up after it.
        if (!failed) throw error;
      }
    }
  }

  /**
   * Runs the whole plan in one transaction. The history is re-read under the write lock, so another
   * connection's progress is honoured; the refusal is checked again on that fresh plan.
   */
  private executeInOneTransaction(
    plan: MigrationPlan<R[number]>,
    replan: (applied: ReturnType<HistoryStore["readKeys"]>) => MigrationPlan<R[number]>,
  ): MigrationResult {
    const direction = plan.direction;
    const foreignKeysOn = () => this.db.pragma("foreign_keys", { simple: true }) === 1;
    assertWholeRunPossible(plan.steps, foreignKeysOn());
    if (plan.steps.length === 0) {
      this.emit({ type: "nothing-pending", direction, currentVersion: plan.fromVersion });
      return { direction, fromVersion: plan.fromVersion, toVersion: plan.toVersion, steps: [] };
    }
    const ran: AppliedStep[] = [];
    let fresh = plan;
    this.restoringConnectionSettings(() => {
      try {
        this.beginImmediate();
        const start = this.readTransactionStart();
        if (direction === "up") this.refuseUnmanagedDatabase();
        this.store.ensure();
        fresh = replan(this.store.readKeys());
        assertWholeRunPossible(fresh.steps, foreignKeysOn());
        this.emitSkipped(direction, plan.steps, fresh.steps);
        const witness = createCommitWitness(this.db);
        for (const entry of fresh.steps) {
          const durationMs = this.runBodyInOpenTransaction(entry, direction, witness, start);
          // Sets user_version at every step: only the final value is committed, unless a later
          // migration commits by itself, and then the rows it commits agree with user_version.
          this.recordInOpenTransaction(entry, direction, durationMs);
          ran.push({ version: entry.version, name: entry.name, durationMs });
        }
        const last = fresh.steps[fresh.steps.length - 1];
        if (last) this.commitRecordedMigration(last, direction, witness);
        else this.commit();
      } catch (error) {
        this.rollbackQuietly();
        throw error;
      }
    });
    for (const step of ran) this.emit({ type: "migrated", direction, ...step });
    if (ran.length === 0) this.emit({ type: "nothing-pending", direction, currentVersion: fresh.fromVersion });
    return { direction, fromVersion: plan.fromVersion, toVersion: fresh.toVersion, steps: ran };
  }

  /** Emits `skipped` for each entry of `previous` a re-plan no longer lists: another connection ran it. */
  private emitSkipped(direction: MigrationDirection, previous: readonly R[number][], stillPending: readonly R[number][]): void {
    const pending = new Set(stillPending);
    for (const entry of previous) {
      if (!pending.has(entry)) this.emit({ type: "skipped", direction, version: entry.version, name: entry.name, reason: "applied-elsewhere" });
    }
  }

  /**
   * Runs one migration's body inside the already-open transaction (whose commit witness is
   * `witness`) and checks what it left behind: our transaction still open (see
   * `transaction-guard.ts`) and, with foreign keys switched off, no dangling references. Throws the
   * failure already mapped to a stepwise error; the caller rolls back. Returns the body's duration.
   */
  private runBodyInOpenTransaction(entry: R[number], direction: MigrationDirection, witness: string, start: TransactionStart): number {
    this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
    const started = performance.now();
    const changesBeforeBody = this.statements().totalChanges.get() as number;
    const savepoint = openBodySavepoint(this.db);
    let failure: { readonly cause: unknown } | null = null;
    try {
      runMigrationBody(this.db, entry, direction, this.progressFor(entry, direction));
    } catch (cause) {
      failure = { cause };
    }
    if (!this.db.open) throw failure!.cause;
    if (!releaseBodySavepoint(this.db, savepoint)) throw this.escapedOrFailed(entry, direction, failure, () => judgeEscapedCommit(this.db, witness, start, changesBeforeBody));
    if (failure) throw this.migrationFailed(entry, direction, failure.cause, true);
    try {
      if (entry.disableForeignKeys) assertNoForeignKeyViolations(this.db, entry, direction);
    } catch (cause) {
      throw this.migrationFailed(entry, direction, cause, true);
    }
    return performance.now() - started;
  }

  /**
   * The error for a body after which our savepoint is gone. Rolls back first, because only then does
   * the commit witness tell whether the migration committed anything.
   */
  private escapedOrFailed(
    entry: R[number],
    direction: MigrationDirection,
    failure: { readonly cause: unknown } | null,
    judgeCommitted: () => EscapedCommit,
  ): StepwiseError {
    // Our savepoint is gone yet a transaction is open: the migration began a new one after ending ours.
    const replacedTransaction = this.db.inTransaction;
    this.rollbackQuietly();
    const committed = judgeCommitted();
    // Rows it wrote count as "unknown" above, but after an error of this kind SQLite's own rollback is
    // the likely reason our savepoint is gone; only a proven commit outweighs that.
    if (failure && committed !== "yes" && !replacedTransaction && isAutomaticRollbackError(sqliteCodeOf(failure.cause))) {
      // SQLite rolled the transaction back itself (disk full, I/O error): the migration ended nothing.
      return this.migrationFailed(entry, direction, failure.cause, true);
    }
    return new TransactionEscapedError({ version: entry.version, file: entry.file, direction, committed, ...(failure ? { cause: failure.cause } : {}) });
  }

  /** Runs one migration inside the already-open transaction, records it, and commits. */
  private runInTransaction(entry: R[number], direction: MigrationDirection, start: TransactionStart): AppliedStep {
    const witness = createCommitWitness(this.db);
    const durationMs = this.runBodyInOpenTransaction(entry, direction, witness, start);
    this.recordInOpenTransaction(entry, direction, durationMs);
    this.commitRecordedMigration(entry, direction, witness);
    this.emit({ type: "migrated", direction, version: entry.version, name: entry.name, durationMs });
    return { version: entry.version, name: entry.name, durationMs };
  }

  /**
   * Writes `entry`'s history row inside the open transaction. A failure here (the history insert
   * meeting a full disk) is the migration's failure and names it; the caller rolls back.
   */
  private recordInOpenTransaction(entry: R[number], direction: MigrationDirection, durationMs: number): void {
    try {
      this.record(entry, direction, durationMs);
    } catch (cause) {
      throw this.migrationFailed(entry, direction, cause, true);
    }
  }

  /**
   * Commits a transaction that ran `entry` (the last of a whole run). A failure here (a full disk
   * when the pages are written, a deferred foreign key) is the migration's failure and names it; the
   * transaction is rolled back first, so the error's "rolled back" is true.
   */
  private commitRecordedMigration(entry: R[number], direction: MigrationDirection, witness: string): void {
    try {
      dropCommitWitness(this.db, witness);
      this.statements().commit.run();
    } catch (cause) {
      this.rollbackQuietly();
      throw this.migrationFailed(entry, direction, cause, true);
    }
  }

  /**
   * Runs a `transaction: false` migration. A `started` row is committed first, so a crash in the
   * middle leaves a trace that makes the next run stop and ask a person instead of guessing.
   */
  private runWithoutTransaction(entry: R[number], direction: MigrationDirection, restoreConnectionSettingsNow: () => void): AppliedStep {
    // Taken before the started row commits, so no process can ever see the row without the lock held
    // (a crash in between leaves neither). Held until the row is marked applied, or the attempt fails.
    const lock = holdOwnerLock(this.db, this.store.tableName, this.busyTimeoutMs);
    try {
      const startedAt = new Date().toISOString();
      const owner = serializeMigrationOwner(currentMigrationOwner(lock?.fileName ?? null));
      try {
        if (direction === "up") {
          this.store.insertStarted({ version: entry.version, name: entry.name, checksum: entry.checksum, startedAt, owner });
        } else {
          this.store.markStarted(entry.version, startedAt, owner);
        }
        this.statements().commit.run();
      } catch (cause) {
        this.rollbackQuietly();
        throw this.migrationFailed(entry, direction, cause, true);
      }
      this.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
      const started = performance.now();
      try {
        runMigrationBody(this.db, entry, direction, this.progressFor(entry, direction));
        this.refuseTransactionLeftOpen();
        // Its PRAGMAs took effect at once; the history write below needs the manager's busy timeout
        // (and the rest of the connection as it was), not `busy_timeout = 0` or `query_only = 1`.
        restoreConnectionSettingsNow();
      } catch (cause) {
        throw this.migrationFailed(entry, direction, cause, false);
      }
      const durationMs = performance.now() - started;
      try {
        this.statements().begin.run();
        this.record(entry, direction, durationMs);
        this.statements().commit.run();
      } catch (cause) {
        // The body's changes are in the database but not its record: the started row stays, so the
        // next run stops with INCOMPLETE_MIGRATION and a person confirms with "repair --applied".
        this.rollbackQuietly();
        throw this.migrationFailed(entry, direction, cause, false);
      }
      this.emit({ type: "migrated", direction, version: entry.version, name: entry.name, durationMs });
      return { version: entry.version, name: entry.name, durationMs };
    } finally {
      lock?.release();
    }
  }

  /**
   * A `transaction: false` migration that leaves a transaction open (BEGIN without COMMIT) would have
   * its last statements committed, or lost, with stepwise's bookkeeping; neither is what it wrote.
   */
  private refuseTransactionLeftOpen(): void {
    if (!this.db.inTransaction) return;
    this.rollbackQuietly();
    throw new Error("it left a transaction open (BEGIN without COMMIT); stepwise rolled back the statements that transaction held");
  }

  private record(entry: R[number], direction: MigrationDirection, durationMs: number): void {
    const now = new Date().toISOString();
    if (direction === "up") {
      if (entry.transaction) {
        this.store.insertApplied({ version: entry.version, name: entry.name, checksum: entry.checksum, appliedAt: now, durationMs: Math.round(durationMs) });
      } else {
        this.store.markApplied(entry.version, now, Math.round(durationMs));
      }
      this.store.setUserVersion(entry.version);
    } else {
      this.store.delete(entry.version);
      this.store.setUserVersion(entry.version - 1);
    }
  }

  private migrationFailed(entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean): StepwiseError {
    // Recording nothing would let the next plan run it again; the store writes a trace back instead.
    if (cause instanceof HistoryRowMissingError) return this.store.reportMissingRow(cause, entry, direction, rolledBack, new Date().toISOString());
    if (cause instanceof StepwiseError) return cause;
    const sqliteCode = sqliteCodeOf(cause);
    if (rolledBack && sqliteCode?.startsWith("SQLITE_FULL")) return new DiskFullError({ version: entry.version, file: entry.file, sqliteCode, cause });
    // A read-only file or folder, a locked or corrupt database is the environment's fault, not the
    // migration's: report it as such, so nobody goes looking for a bug in the migration.
    const environmental = rolledBack && !isQueryOnlyRefusal(this.db, cause) ? translateSqliteError(cause, this.busyTimeoutMs) : cause;
    if (environmental instanceof StepwiseError) return environmental;
    return new MigrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack });
  }

  /** Turns enforcement off (a no-op inside a transaction, hence done before BEGIN) and returns the undo. */
  private switchOffForeignKeys(): (() => void) | null {
    if (this.db.pragma("foreign_keys", { simple: true }) !== 1) return null;
    this.db.pragma("foreign_keys = OFF");
    return () => {
      if (this.db.open) this.db.pragma("foreign_keys = ON");
    };
  }

  private beginImmediate(): void {
    try {
      this.statements().begin.run();
    } catch (error) {
      throw translateSqliteError(error, this.busyTimeoutMs);
    }
  }

  private commit(): void {
    try {
      this.statements().commit.run();
    } catch (error) {
      throw translateSqliteError(error, this.busyTimeoutMs);
    }
  }

  private rollbackQuietly(): void {
    if (this.db.inTransaction) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // SQLite may already have rolled back (for example after SQLITE_FULL); nothing is left to undo.
      }
    }
  }

  /** The committed state the escape judgement compares against, read right after BEGIN, before stepwise writes. */
  private readTransactionStart(): TransactionStart {
    return readGuardedTransactionStart(this.db);
  }

  private dataVersion(): number {
    return this.statements().dataVersion.get() as number;
  }

  /** `db.pragma()` and `db.exec()` compile their SQL on every call; these run often enough to keep. */
  private statements(): NonNullable<typeof this.prepared> {
    this.prepared ??= {
      dataVersion: this.db.prepare("PRAGMA data_version").pluck(),
      begin: this.db.prepare("BEGIN IMMEDIATE"),
      commit: this.db.prepare("COMMIT"),
      schemaVersion: this.db.prepare("PRAGMA schema_version").pluck(),
      userVersion: this.db.prepare("PRAGMA user_version").pluck(),
      totalChanges: this.db.prepare("SELECT total_changes()").pluck(),
    };
    return this.prepared;
  }

  /** Applies the busy timeout for the duration of one call and restores the caller's setting. */
  private withConnectionSettings<T>(action: () => T): T {
    const wanted = Math.max(0, Math.trunc(this.busyTimeoutMs));
    // Read with its own statement: preparing the others (PRAGMA schema_version, user_version) loads
    // the schema, which waits for another connection's lock under the old timeout, not ours.
    this.busyTimeoutStatement ??= this.db.prepare("PRAGMA busy_timeout").pluck();
    const busyTimeoutStatement = this.busyTimeoutStatement;
    const previous = guardSqlite(() => busyTimeoutStatement.get() as number, this.busyTimeoutMs);
    if (previous !== wanted) this.db.pragma(`busy_timeout = ${wanted}`);
    try {
      return guardSqlite(action, this.busyTimeoutMs);
    } catch (error) {
      // SQLite does not say who holds the lock; the operating system sometimes does.
      if (error instanceof DatabaseLockedError && error.holders.length === 0) {
        const holders = findLockHolders(this.db.name);
        if (holders.length > 0) throw new DatabaseLockedError(error.busyTimeoutMs, error.cause, holders);
      }
      throw error;
    } finally {
      if (previous !== wanted && this.db.open) this.db.pragma(`busy_timeout = ${previous}`);
    }
  }

  private progressFor(entry: MigrationEntry, direction: MigrationDirection): (done: number, total: number | null) => void {
    return createProgressReporter({
      intervalMs: this.progressIntervalMs,
      report: (measure) => this.emit({ type: "progress", direction, version: entry.version, name: entry.name, ...measure }),
    });
  }

  private emit(event: MigrationEvent): void {
    this.onEvent?.(event);
    if (this.logger) this.logger.info(describeEvent(event));
  }

  static {
    internalsOf = (manager) => ({
      emit: (event) => manager.emit(event),
      withConnectionSettings: (action) => manager.withConnectionSettings(action),
      refuseUnmanagedDatabase: () => manager.refuseUnmanagedDatabase(),
    });
  }
}

/**
 * What the safety-net functions (`rehearseUp`, `verifySchema`, `baselineDatabase`, `upWithBackup`…)
 * need from a manager beyond its public surface. They live outside the class so that an app which
 * only migrates does not bundle them; this is how they still report through the manager's events
 * and run under its connection settings.
 */
export interface ManagerInternals {
  /** Sends an event to the manager's `onEvent` and logger. */
  emit(event: MigrationEvent): void;
  /** Runs `action` with the manager's busy timeout, translating SQLite errors as `up` does. */
  withConnectionSettings<T>(action: () => T): T;
  /** Throws `UNMANAGED_DATABASE` when the database has tables but no history, as `up` would. */
  refuseUnmanagedDatabase(): void;
}

/**
 * The manager's internals, for stepwise's own safety-net modules. Exported from this module only,
 * never from the package entry.
 *
 * @internal
 */
export function managerInternals(manager: MigrationManager<MigrationRegistry>): ManagerInternals {
  return internalsOf(manager);
}

/**
 * Options that moved out of the manager into standalone functions still arrive from JavaScript or
 * from spread objects; ignoring them would skip a backup or a rehearsal without a word.
 */
function refuseMovedOption(options: object, name: string, replacement: string): void {
  if ((options as Record<string, unknown>)[name]) {
    throw new UsageError(`The "${name}" option is not taken here any more; call ${replacement} instead (exported by "stepwise").`);
  }
}

/**
 * Applies every pending migration: the one call an app makes at start-up.
 *
 * @example
 * migrate(new Database("data/app.db"), migrations, { logger: console });
 */
export function migrate<R extends MigrationRegistry>(
  db: Database,
  migrations: R,
  options: MigrationManagerProps & UpOptions<VersionOf<R>> & MigrateOptions<R> = {},
): MigrationResult {
  const { to, transaction, verifySchema: verifyFirst, ...props } = options;
  refuseMovedOption(props, "backup", "upWithBackup(new MigrationManager(db, migrations), { backup })");
  if (verifyFirst && typeof verifyFirst !== "function") {
    throw new UsageError(`verifySchema takes the verifySchema function: import { verifySchema } from "stepwise" and pass { verifySchema }.`);
  }
  const manager = new MigrationManager(db, migrations, props);
  verifyFirst?.(manager, { refuseDrift: true });
  return manager.up({ ...(to === undefined ? {} : { to }), ...(transaction === undefined ? {} : { transaction }) });
}

/** Start-up options only {@link migrate} has. */
export interface MigrateOptions<R extends MigrationRegistry = MigrationRegistry> {
  /**
   * Pass stepwise's `verifySchema` to compare the schema with a replay of the applied migrations
   * before applying anything: it refuses with `SCHEMA_DRIFT` on any difference and logs "schema
   * verification passed" otherwise. Costs one in-memory replay per start. A function rather than
   * `true`, so apps that do not verify do not bundle the verification code. Default: no check.
   *
   * @example
   * import { migrate, verifySchema } from "stepwise";
   * migrate(db, migrations, { logger: console, verifySchema });
   */
  readonly verifySchema?: (manager: MigrationManager<R>, options: { readonly refuseDrift: true }) => unknown;
}

/** The one-line text a logger receives for an event. */
export function describeEvent(event: MigrationEvent): string {
  switch (event.type) {
    case "migrating":
      return `${event.direction === "up" ? "applying" : "reverting"} ${formatMigrationLabel(event.version, event.name)}`;
    case "migrated":
      return `${event.direction === "up" ? "applied" : "reverted"} ${formatMigrationLabel(event.version, event.name)} in ${event.durationMs.toFixed(1)} ms`;
    case "skipped":
      return `skipped ${formatMigrationLabel(event.version, event.name)}: another process ${event.direction === "up" ? "applied" : "reverted"} it`;
    case "nothing-pending":
      return event.direction === "up"
        ? `nothing to apply: the database is at version ${event.currentVersion}`
        : `nothing to revert: the database is at version ${event.currentVersion}`;
    case "progress":
      return `${formatMigrationLabel(event.version, event.name)}: ${event.done}${event.total === null ? "" : `/${event.total}`} done`;
    case "backed-up":
      return `backed up version ${event.backup.version} to ${event.backup.path}`;
    case "verified":
      return `schema verification passed at version ${event.version}`;
  }
}

function runMigrationBody(db: Database, entry: MigrationEntry, direction: MigrationDirection, progress: (done: number, total: number | null) => void): void {
  if (entry.kind === "sql") {
    const sql = direction === "up" ? entry.upSql : entry.downSql;
    if (sql === null) throw new Error("it has no down section");
    db.exec(sql);
    return;
  }
  const run = direction === "up" ? entry.module.up : entry.module.down;
  if (typeof run !== "function") throw new Error(`it has no ${direction} function`);
  const context: MigrationContext = createMigrationContext(db, entry, direction, progress);
  let result: unknown;
  try {
    result = run.call(entry.module, db, context);
  } finally {
    // Every later step (release, record, restore) would fail with better-sqlite3's bare TypeError.
    if (!db.open) throw connectionClosedFailure(entry, direction);
  }
  if (result !== undefined && typeof (result as { then?: unknown })?.then === "function") {
    throw new Error(`${direction} returned a promise; migrations must be synchronous, because better-sqlite3 transactions cannot span an await`);
  }
}

/**
 * A migration closed the connection it was given. SQLite rolled back the transaction that was open,
 * but whatever the migration committed before closing stays, and nothing can be checked through a
 * closed connection: so never "rolled back".
 */
function connectionClosedFailure(entry: MigrationEntry, direction: MigrationDirection): MigrationFailedError {
  const cause = new Error(
    "it closed the database connection it was given (db.close()); stepwise could not record it. SQLite rolled back the transaction that was open, " +
      "but anything the migration committed before closing stays. Remove the close() from the migration and open the database again",
  );
  return new MigrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack: false });
}

function assertNoForeignKeyViolations(db: Database, entry: MigrationEntry, direction: MigrationDirection): void {
  const violations = db.pragma("foreign_key_check") as Array<{ table: string; rowid: number | null; parent: string }>;
  if (violations.length > 0) {
    throw new ForeignKeyViolationError({
      version: entry.version,
      file: entry.file,
      direction,
      violations: violations.map((v) => ({ table: v.table, rowid: v.rowid, parent: v.parent })),
    });
  }
}


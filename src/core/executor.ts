/**
 * The executor every manager holds: {@link ExecutorBase}'s algorithm (`up`, the loop shared with
 * `down`, the lock, the history re-read) plus the operations only a manager offers: `down`, `reset`,
 * `status` and `history`. They live
 * here, not in the base, so an app that only applies migrations (`migrate` of an entry whose driver
 * cannot verify a schema) bundles the base alone.
 */
import { StepwiseError } from "./errors.js";
import { toPlainError } from "./plain-error.js";
import { ExecutorBase, type Progress } from "./executor-base.js";
import { sqliteDialectFor } from "./dialects/sqlite.js";
import { ESCAPE_GUARD } from "./escape-guard.js";
import { ATOMIC_BATCH } from "./atomic-batch-strategy.js";
import { IN_TRANSACTION } from "./apply-in-transaction.js";
import type { ExecutorSettings, ExecutorStrategies, Replan } from "./executor-types.js";
import { WHOLE_RUN } from "./whole-run-strategy.js";
import { REFUSE_WHOLE_RUN } from "./whole-run-refusal.js";
import { orderChildrenFirst } from "./drop-order.js";
import { setUserVersion } from "./history.js";
import { parseMigrationOwner } from "./migration-owner.js";
import { describeStatus, planDown, type AppliedMigration, type AppliedMigrationKey, type MigrationStatus } from "./planner.js";
import type { SchemaObjectKind } from "./schema-objects.js";
import { exec, rollbackQuietly, type Step } from "./step.js";
import { refuseOpenTransaction } from "./transaction-open.js";
import type { MigrationRegistry } from "./types.js";
import { DEFAULT_TRANSACTION_MODE, type DownOptions, type MigrationResult } from "./options.js";
import { migrationInProgressError } from "./error-factories.js";

export type { ExecutorSettings };

/** Every strategy: a manager offers each path its driver's capabilities reach, whatever the entry bundles for `migrate`. */
const ALL_STRATEGIES: ExecutorStrategies = { escapeGuard: ESCAPE_GUARD, inTransaction: IN_TRANSACTION, wholeRun: WHOLE_RUN, atomicBatch: ATOMIC_BATCH };

/** {@link ALL_STRATEGIES} for a driver that applies each migration as one batch: there a whole run is refused. */
const BATCH_STRATEGIES: ExecutorStrategies = { ...ALL_STRATEGIES, wholeRun: REFUSE_WHOLE_RUN };

/** The order `reset` drops objects in: those that name a table before the table itself. */
const DROP_ORDER: Readonly<Record<SchemaObjectKind, number>> = { trigger: 0, view: 1, index: 2, table: 3 };

/**
 * The algorithm over one registry and one history table, with every operation a manager offers. Every
 * public method returns a {@link Step} for a runner; none performs I/O itself.
 */
export class Executor<R extends MigrationRegistry = MigrationRegistry> extends ExecutorBase<R> {
  constructor(migrations: R, settings: ExecutorSettings) {
    // A SQLite driver that declares no user_version gets the dialect that never reads it.
    super(migrations, settings, settings.dialect ?? sqliteDialectFor(settings.capabilities), settings.capabilities.atomicBatch ? BATCH_STRATEGIES : ALL_STRATEGIES);
  }

  protected override *recordRevert(entry: R[number], started: { readonly startedAt: string; readonly owner: string } | null): Step<void> {
    if (started) {
      yield* this.store.markStarted(entry.version, started.startedAt, started.owner);
      return;
    }
    yield* this.store.deleteRow(entry.version);
    if (this.settings.capabilities.userVersion) yield* setUserVersion(entry.version - 1);
  }

  /** Reverts applied migrations; see `MigrationManager.down`. */
  *down(options: DownOptions = {}): Step<MigrationResult> {
    yield* refuseOpenTransaction(this.settings.driverName, "down");
    this.referencingTables.forget();
    return yield* this.withConnectionSettings(
      function* (this: Executor<R>): Step<MigrationResult> {
        const progress: Progress = { ran: [], fromVersion: null };
        // `steps` counts from where the call started: every re-plan after the first (each migration, on
        // a driver without a change counter) aims at the version the first plan chose.
        let target: DownOptions = options;
        const replan: Replan<R[number]> = (applied) => {
          const plan = planDown(this.migrations as readonly R[number][], applied, target);
          target = { to: plan.toVersion };
          return plan;
        };
        return yield* this.waitWhileAnotherProcessMigrates(
          function* (this: Executor<R>): Step<MigrationResult> {
            const all = (options.transaction ?? DEFAULT_TRANSACTION_MODE) === "all";
            const { plan, counter } = yield* this.planWithCounter(replan, !all);
            // The same strategy as up's whole run: it reads the plan's direction.
            if (all) return yield* this.strategies.wholeRun(this, plan, replan);
            return yield* this.execute(plan, counter, replan, progress);
          }.bind(this),
        );
      }.call(this),
    );
  }

  /** Drops every table, view, index and trigger, in one write section, then applies everything. */
  *reset(): Step<MigrationResult> {
    yield* refuseOpenTransaction(this.settings.driverName, "reset");
    yield* this.withConnectionSettings(
      function* (this: Executor<R>): Step<void> {
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
}

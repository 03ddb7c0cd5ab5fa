/**
 * What the sync and the async manager share: the constructor (validate the registry, build the
 * {@link Executor}) and every public method, each one step of the executor handed to `run`. The two
 * managers differ only in `run`: `SyncMigrationManager` drives steps with the sync runner and returns
 * values, `AsyncMigrationManager` drives them with the async runner and returns promises. So neither
 * holds a copy of the other's logic, and the algorithm stays in the executor, once.
 */
import { planDown, planUp, type AppliedMigration, type MigrationPlan, type MigrationStatus } from "./planner.js";
import { Executor } from "./executor.js";
import { validateForExecutor } from "./executor-settings.js";
import type { Driver, MaybePromise } from "./driver.js";
import type { Dialect } from "./executor-types.js";
import type { Step } from "./step.js";
import type { MigrationRegistry, VersionOf } from "./types.js";
import type { DownOptions, ManagerPlanUpOptions, MigrationManagerProps, MigrationResult, UpOptions } from "./options.js";
import { usageError } from "./error-factories.js";

/**
 * What a manager needs of its driver before it runs anything: who it is, what it can do, how it
 * reads errors, and the connection the app passed. A driver qualifies; so does the description of a
 * driver that opens its sessions per call (`stepwise-migrate/pg` over a `pg.Pool`).
 */
export type DriverIdentity<Db> = Pick<Driver<Db>, "name" | "dialect" | "capabilities" | "classifyError" | "connection">;

/** How a manager call uses the database, for managers that lock per call. */
export interface RunOptions {
  /**
   * The call may write (up, down, reset): a driver with a run lock (PostgreSQL's advisory lock) takes
   * it for the whole call. SQLite's drivers need none: each migration's `BEGIN IMMEDIATE` serialises.
   */
  readonly exclusive?: boolean;
}

/** The options of a call that may write. */
const WRITES: RunOptions = { exclusive: true };

/**
 * The manager's shared body. `Async` is `false` for a manager whose methods return values and
 * `true` for one whose methods return promises; `D` is the driver type it holds.
 */
export abstract class MigrationManagerBase<Db, R extends MigrationRegistry, Async extends boolean, D extends DriverIdentity<Db> = Driver<Db>> {
  /** The native connection passed in; the manager never closes it. */
  readonly db: Db;
  /** The registry passed in, validated on construction. */
  readonly migrations: R;
  /**
   * The driver's primitives and capabilities. Public for stepwise's safety nets (and other
   * extensions), which run their own steps through {@link run}.
   */
  readonly driver: D;
  /** The algorithm over this registry and history table; its methods return steps for {@link run}. */
  readonly executor: Executor<R>;
  /** The constructor's props, so a copy on another connection keeps the same settings. */
  readonly props: MigrationManagerProps;

  /**
   * @throws `REGISTRY_INVALID` when the registry breaks the version rules.
   * @throws `REGISTRY_DIALECT_MISMATCH` when it was generated for another dialect than the driver's.
   */
  constructor(driver: D, migrations: R, props: MigrationManagerProps = {}, dialect?: Dialect) {
    this.driver = driver;
    this.db = driver.connection;
    this.migrations = migrations;
    this.props = props;
    this.executor = new Executor(migrations, validateForExecutor(driver, migrations, props, dialect));
  }

  /** Runs one of the executor's steps on this manager's driver: synchronously, or as a promise. */
  abstract run<T>(step: Step<T>, options?: RunOptions): MaybePromise<T, Async>;

  /**
   * Makes a step and runs it. A refusal thrown while making it (a moved option, a reset without its
   * confirmation) is thrown by the sync manager and rejected by the async one, as every failure of
   * its run is; making the step inside a wrapping generator would do the same at the cost of one more
   * generator level for every operation of the run.
   */
  protected abstract start<T>(make: () => Step<T>, options?: RunOptions): MaybePromise<T, Async>;

  /**
   * This manager's settings for a copy on another connection: the table and timeouts carry over,
   * the listeners do not (a rehearsal's events are not the app's), and `props` win.
   */
  protected copySettings(props: MigrationManagerProps): MigrationManagerProps {
    const { onEvent: _onEvent, logger: _logger, ...settings } = this.props;
    return { ...settings, tableName: this.tableName, ...props };
  }

  /** The history table's name. */
  get tableName(): string {
    return this.executor.store.tableName;
  }

  /** The busy timeout this manager applies while it works, in milliseconds. */
  get busyTimeoutMs(): number {
    return this.executor.settings.busyTimeoutMs;
  }

  /**
   * Applies pending migrations in order, each in its own transaction, up to `options.to` (default:
   * the latest). Refuses, changing nothing, when the history does not match the registry.
   */
  up(options: UpOptions<VersionOf<R>> = {}): MaybePromise<MigrationResult, Async> {
    return this.start(() => {
      refuseMovedOption(options, "backup", "await upWithBackup(manager, { backup })");
      return this.executor.up(options);
    }, WRITES);
  }

  /**
   * Reverts applied migrations, newest first: `steps` of them (default 1), or every one above `to`.
   * Checks that each has a `down` before running any.
   */
  down(options: DownOptions<VersionOf<R>> = {}): MaybePromise<MigrationResult, Async> {
    return this.run(this.executor.down(options as DownOptions), WRITES);
  }

  /**
   * Drops every table, view, index and trigger (the history table included), then applies every
   * migration. All data is lost, hence the option that has to be spelled out.
   */
  reset(options: { readonly dangerouslyDropAllData: true }): MaybePromise<MigrationResult, Async> {
    return this.start(() => {
      if (options?.dangerouslyDropAllData !== true) {
        throw usageError("reset drops all data; pass { dangerouslyDropAllData: true } to confirm");
      }
      return this.executor.reset();
    }, WRITES);
  }

  /**
   * What `up` would run, without running it. Throws the same refusals `up` would. To also run the
   * plan on an in-memory copy, use `rehearseUp(manager)`.
   */
  planUp(options: ManagerPlanUpOptions<VersionOf<R>> = {}): MaybePromise<MigrationPlan<R[number]>, Async> {
    const { executor, migrations } = this;
    return this.start(() => {
      refuseMovedOption(options, "rehearse", "rehearseUp(manager, { to })");
      return (function* (): Step<MigrationPlan<R[number]>> {
        return planUp(migrations as readonly R[number][], yield* executor.readKeys(), { to: options.to });
      })();
    });
  }

  /** What `down` would run, without running it. Throws the same refusals `down` would. */
  planDown(options: DownOptions<VersionOf<R>> = {}): MaybePromise<MigrationPlan<R[number]>, Async> {
    const { executor, migrations } = this;
    return this.run(
      (function* (): Step<MigrationPlan<R[number]>> {
        return planDown(migrations as readonly R[number][], yield* executor.readKeys(), options);
      })(),
    );
  }

  /**
   * Where the database stands against the registry. Never writes and never throws for drift. A
   * `transaction: false` migration that is still running elsewhere is reported as
   * `MIGRATION_IN_PROGRESS`, not as interrupted: the advice for an interrupted one would run it twice.
   */
  status(): MaybePromise<MigrationStatus, Async> {
    return this.run(this.executor.status());
  }

  /** The history table's rows, oldest first. Never writes. */
  history(): MaybePromise<AppliedMigration[], Async> {
    return this.run(this.executor.history());
  }

  /** The newest applied version, or 0 for a fresh database. Never writes. */
  currentVersion(): MaybePromise<number, Async> {
    const executor = this.executor;
    return this.run(
      (function* (): Step<number> {
        return (yield* executor.status()).currentVersion;
      })(),
    );
  }
}

/**
 * Options that moved out of the manager into standalone functions still arrive from JavaScript or
 * from spread objects; ignoring them would skip a backup or a rehearsal without a word.
 */
export function refuseMovedOption(options: object, name: string, replacement: string): void {
  if ((options as Record<string, unknown>)[name]) {
    throw usageError(`The "${name}" option is not taken here any more; call ${replacement} instead (exported by "stepwise-migrate").`);
  }
}
